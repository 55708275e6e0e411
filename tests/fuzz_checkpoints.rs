//! Fuzz targets for checkpoint loading (issue 15): a run's `state.json`, its `latest`
//! pointer and a saved model (`model.mpk`, Burn's MessagePack record) with bytes flipped,
//! cut or replaced load or fail with a reason — never a panic or an abort. Fixed seed and
//! case count: deterministic and a few seconds in CI (`PROPTEST_CASES` hunts longer).
#![cfg(feature = "cpu")]

use burn::backend::Flex;
use proptest::prelude::*;
use proptest::test_runner::{Config, RngSeed};
use resc::train::checkpoint::{self, State};
use std::path::Path;
use std::sync::OnceLock;

fn config() -> Config {
    Config {
        cases: 64,
        rng_seed: RngSeed::Fixed(15),
        failure_persistence: None,
        ..Config::default()
    }
}

/// The tiny test network's saved record, made once.
fn record() -> &'static [u8] {
    static BYTES: OnceLock<Vec<u8>> = OnceLock::new();
    BYTES.get_or_init(|| {
        let network = tiny();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model");
        network
            .build::<Flex>(&Default::default())
            .save_record(&path)
            .unwrap();
        std::fs::read(path.with_extension("mpk")).unwrap()
    })
}

fn tiny() -> resc::Network {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/run/tiny.resnet");
    resc::network_from_file(&path, &Default::default()).unwrap()
}

proptest! {
    #![proptest_config(config())]

    /// A model record with a byte changed, cut short, or replaced by noise.
    #[test]
    fn model_records_load_or_fail(
        at in any::<prop::sample::Index>(),
        byte in any::<u8>(),
        cut in any::<prop::sample::Index>(),
        noise in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        let good = record();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("model.mpk");
        let mut flipped = good.to_vec();
        flipped[at.index(good.len())] = byte;
        let cut_short = &good[..cut.index(good.len())];
        for bytes in [&flipped[..], cut_short, &noise[..]] {
            std::fs::write(&path, bytes).unwrap();
            let _ = tiny().build::<Flex>(&Default::default()).load_record(&path, &Default::default());
        }
    }

    /// A run directory whose `latest` pointer and `state.json` hold anything.
    #[test]
    fn run_states_load_or_fail(
        pointer in "[ -~]{0,20}",
        state in prop::collection::vec(any::<u8>(), 0..200),
    ) {
        let run = tempfile::tempdir().unwrap();
        let saved = State {
            epoch: 1,
            batch: 0,
            iteration: 12,
            metrics: Vec::new(),
            partial: (0.0, 0, 0),
            files: Default::default(),
        };
        checkpoint::save(run.path(), &saved, |dir| {
            std::fs::write(dir.join("model.mpk"), b"weights").map_err(|e| e.to_string())
        })
        .unwrap();
        let root = run.path().join("checkpoints");
        std::fs::write(root.join("iter-12/state.json"), &state).unwrap();
        let _ = checkpoint::latest(run.path());
        std::fs::write(root.join("latest"), &pointer).unwrap();
        let _ = checkpoint::latest(run.path());
        let _ = checkpoint::model_file(run.path());
    }
}
