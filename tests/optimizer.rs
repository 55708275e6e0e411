//! `resc run`'s optimiser against `torch.optim.SGD`: a few SGD steps (Nesterov momentum,
//! weight decay on conv/linear weights only, λ at its own rate projected into (−1, 1),
//! a multistep schedule by iteration) on the tiny model of `tests/fixtures/optim.resnet`
//! give PyTorch's parameters and BN statistics (fixture written by
//! `tests/reference/make_optim_fixture.py`) within 1e-5.
#![cfg(feature = "cpu")]

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Int, Tensor, TensorData};
use burn_store::{ModuleStore, SafetensorsStore};
use resc::data::DataSource;
use resc::lower::NameMap;
use resc::train::{Schedule, TrainConfig, Trainer};
use std::collections::HashMap;
use std::path::PathBuf;

type B = Autodiff<Flex>;

const STEPS: usize = 5;

fn fixture(ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/optim.{ext}"))
}

fn tensors() -> HashMap<String, TensorData> {
    let mut store = SafetensorsStore::from_file(fixture("safetensors"));
    let all = store.get_all_snapshots().expect("fixture readable");
    all.iter()
        .map(|(k, s)| (k.clone(), s.to_data().expect("fixture tensor readable")))
        .collect()
}

fn config() -> TrainConfig {
    let source: DataSource = "synthetic".parse().expect("a data source");
    let mut c = TrainConfig::defaults("tests/fixtures/optim.resnet", &source, [2, 6, 6]);
    c.lr = 0.1;
    c.momentum = 0.9;
    c.nesterov = true;
    c.weight_decay = 5e-4;
    c.decay_bn_bias = false;
    c.lambda_lr = None; // the model's own: `weighted(lr: 0.01)`
    c.epochs = 1;
    c.warmup_epochs = 0.0;
    c.schedule = Schedule::Multistep {
        milestones: vec![3],
        gamma: 0.1,
        by_iteration: true,
    };
    c
}

/// Compares every parameter and running statistic with `<prefix><name>`.
fn compare(trainer: &Trainer<B>, expected: &HashMap<String, TensorData>, prefix: &str) {
    let net = trainer.net();
    let names = net.param_names();
    assert_eq!(names.len(), 13, "{names:?}");
    for name in names {
        let actual: Vec<f32> = net
            .tensor_data(&name)
            .expect("a tensor of the net")
            .to_vec()
            .unwrap();
        let want: Vec<f32> = expected[&format!("{prefix}{name}")].to_vec().unwrap();
        assert_eq!(actual.len(), want.len(), "{name}");
        let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
        let diff = actual
            .iter()
            .zip(&want)
            .fold(0f32, |m, (a, e)| m.max((a - e).abs()));
        assert!(
            diff <= 1e-5 * scale,
            "{prefix}{name}: max difference {diff:e} (scale {scale})\n  resc    {actual:?}\n  PyTorch {want:?}"
        );
    }
}

#[test]
fn sgd_nesterov_weight_decay_and_multistep_match_pytorch() {
    let network = resc::network_from_file(&fixture("resnet"), &Default::default())
        .unwrap_or_else(|e| panic!("{e}"));
    let device = Default::default();
    let mut net = network.build::<B>(&device);
    let report = net
        .load_safetensors(&fixture("safetensors"), &NameMap::new())
        .expect("fixture readable");
    assert!(
        report.missing.is_empty() && report.mismatched.is_empty(),
        "{}",
        report.render(&network.sources)
    );
    let data = tensors();
    let mut trainer = Trainer::new(net, &config(), STEPS);
    for i in 0..STEPS {
        let x = Tensor::<B, 4>::from_data(data[&format!("__x{i}")].clone(), &device);
        let y = Tensor::<B, 1, Int>::from_data(data[&format!("__y{i}")].clone(), &device);
        trainer.step(x, y);
        if i == 0 {
            compare(&trainer, &data, "__step1.");
        }
    }
    assert!(
        (trainer.lr() - 0.01).abs() < 1e-12,
        "the 4th and 5th steps ran at lr × 0.1"
    );
    compare(&trainer, &data, "__after.");
    let lambda = trainer.lambdas();
    assert_eq!(lambda.len(), 1);
    assert!(
        lambda[0] != 0.0 && lambda[0].abs() < 1.0,
        "λ moved: {lambda:?}"
    );
}
