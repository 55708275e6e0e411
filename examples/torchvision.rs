//! Loads torchvision ResNets' state dicts into the zoo's models and compares the logits
//! with PyTorch's. The weights (random, about 150 MB) come from the reference script:
//!
//! ```text
//! python tests/reference/make_fixtures.py --full /tmp/tv
//! cargo run --example torchvision -- /tmp/tv
//! ```

use burn::backend::Flex;
use burn::tensor::{Tensor, TensorData};
use burn_store::{ModuleStore, SafetensorsStore};
use resc::lower::NameMap;
use std::path::Path;

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/tv".to_string());
    let mut failed = false;
    for model in ["resnet18", "resnet50"] {
        let weights = Path::new(&dir).join(format!("{model}.safetensors"));
        let network = resc::network_from_file(
            Path::new(&format!("models/{model}.resnet")),
            &Default::default(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let device = Default::default();
        let mut net = network.build::<Flex>(&device);
        let report = net
            .load_safetensors(&weights, &NameMap::torchvision())
            .expect("weights readable");
        let extra = |key: &str| -> TensorData {
            let mut store = SafetensorsStore::from_file(&weights);
            let snapshot = store.get_snapshot(key).expect("readable").expect("present");
            snapshot.to_data().expect("data")
        };
        let unexpected = report
            .unexpected
            .iter()
            .filter(|k| !k.starts_with("__"))
            .count();
        let x = Tensor::<Flex, 4>::from_data(extra("__input"), &device);
        let y: Vec<f32> = net.forward(x).into_data().to_vec().expect("f32");
        let expected: Vec<f32> = extra("__eval").to_vec().expect("f32");
        let scale = expected.iter().fold(0f32, |m, v| m.max(v.abs()));
        let diff = y
            .iter()
            .zip(&expected)
            .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        println!(
            "{model}: loaded {} tensors, {} missing, {unexpected} unexpected, {} mismatched; \
             max |logit difference| {diff:.3e} (relative {:.3e})",
            report.applied.len(),
            report.missing.len(),
            report.mismatched.len(),
            diff / scale
        );
        failed |= !report.missing.is_empty() || unexpected > 0 || diff > 1e-4 * scale;
    }
    std::process::exit(i32::from(failed));
}
