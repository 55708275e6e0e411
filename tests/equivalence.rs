//! Numerical equivalence with PyTorch: each fixture of `tests/fixtures/` (written by
//! `tests/reference/make_fixtures.py`) holds a tiny reference model's weights, an input
//! batch and the reference outputs; the `.resnet` file next to it must compute the same
//! within 1e-4 relative, in evaluation mode, and for the training families also in
//! training mode (outputs, gradients, updated running statistics).
//!
//! Every test runs on the CPU (`flex`), and in a build with `--features wgpu` on wgpu too
//! (CI: Mesa's software Vulkan device), in a build with `--features cuda` on CUDA too
//! (a machine with an NVIDIA GPU): the same tests, one module per backend.
#![cfg(feature = "cpu")]

use burn::backend::Autodiff;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use burn_store::{ModuleStore, SafetensorsStore};
use resc::lower::{NameMap, Net, Network};
use std::collections::HashMap;
use std::path::PathBuf;

const TOLERANCE: f32 = 1e-4;

fn fixture_path(family: &str, ext: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/{family}.{ext}"))
}

fn compile(family: &str) -> Network {
    resc::network_from_file(&fixture_path(family, "resnet"), &Default::default())
        .unwrap_or_else(|e| panic!("{e}"))
}

/// torchvision's names (also timm's and akamaster's).
fn torchvision() -> NameMap {
    NameMap::torchvision()
}

/// The fixture file's extra tensors (`__input`, `__eval`, …), by name.
fn extras(family: &str) -> HashMap<String, TensorData> {
    let mut store = SafetensorsStore::from_file(fixture_path(family, "safetensors"));
    let all = store.get_all_snapshots().expect("fixture readable");
    all.iter()
        .filter(|(k, _)| k.starts_with("__"))
        .map(|(k, s)| (k.clone(), s.to_data().expect("fixture tensor readable")))
        .collect()
}

/// The wgpu tests need a Vulkan (Metal, DX12) adapter: without one, they fail saying how
/// to get one (instead of with Burn's panic deep inside the first operation).
fn require_device<B: Backend>() {
    #[cfg(feature = "wgpu")]
    {
        use std::any::TypeId;
        static CHECKED: std::sync::OnceLock<Result<(), String>> = std::sync::OnceLock::new();
        let is_wgpu = TypeId::of::<B>() == TypeId::of::<burn::backend::Wgpu>()
            || TypeId::of::<B>() == TypeId::of::<Autodiff<burn::backend::Wgpu>>();
        if is_wgpu {
            let checked = CHECKED.get_or_init(|| {
                let out = std::process::Command::new(env!("CARGO_BIN_EXE_resc"))
                    .arg("devices")
                    .output()
                    .map_err(|e| e.to_string())?;
                let listed = String::from_utf8_lossy(&out.stdout).to_string();
                if listed.contains("--device 0:") {
                    Ok(())
                } else {
                    Err(listed)
                }
            });
            if let Err(listed) = checked {
                panic!(
                    "the wgpu tests need a Vulkan adapter and `resc devices` lists none:\n{listed}\n\
                     install one (without a GPU: `apt-get install mesa-vulkan-drivers`, Mesa's \
                     software driver), or run `cargo test` without `--features wgpu`"
                );
            }
        }
    }
}

/// Builds the network on `B` and loads the fixture's weights; every tensor of the net
/// must be loaded and every state-dict key used.
fn load<B: Backend>(network: &Network, family: &str, names: &NameMap) -> Net<B> {
    require_device::<B>();
    let device = Default::default();
    let mut net = network.build::<B>(&device);
    let report = net
        .load_safetensors(&fixture_path(family, "safetensors"), names)
        .expect("fixture readable");
    let unexpected: Vec<&String> = report
        .unexpected
        .iter()
        .filter(|k| !k.starts_with("__"))
        .collect();
    assert!(
        report.missing.is_empty()
            && report.mismatched.is_empty()
            && report.errors.is_empty()
            && unexpected.is_empty(),
        "{family}: {}",
        report.render(&network.sources)
    );
    assert_eq!(report.applied.len(), net.param_names().len());
    net
}

/// `max |a − e| ≤ TOLERANCE · max |e|`, with equal shapes.
fn assert_close(actual: &TensorData, expected: &TensorData, what: &str) {
    assert_eq!(actual.shape, expected.shape, "{what}: shapes differ");
    let a: Vec<f32> = actual.to_vec().expect("f32 data");
    let e: Vec<f32> = expected.to_vec().expect("f32 data");
    let scale = e.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let diff = a
        .iter()
        .zip(&e)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(
        diff <= TOLERANCE * scale,
        "{what}: max |difference| {diff:e} exceeds {TOLERANCE:e} × {scale:e}"
    );
}

fn input<B: Backend>(extras: &HashMap<String, TensorData>) -> Tensor<B, 4> {
    Tensor::from_data(extras["__input"].clone(), &Default::default())
}

/// Evaluation mode: the output matches the reference.
fn check_eval<Eval: Backend>(family: &str, names: &NameMap) {
    let network = compile(family);
    let net = load::<Eval>(&network, family, names);
    let extras = extras(family);
    let y = net.forward(input(&extras));
    assert_close(
        &y.into_data(),
        &extras["__eval"],
        &format!("{family}: evaluation output"),
    );
}

/// Training mode: the output, the gradients of `sum(output · R)` and the updated
/// running statistics match the reference.
fn check_train<Eval: Backend>(family: &str, names: &NameMap) {
    type Train<E> = Autodiff<E>;
    let network = compile(family);
    let net = load::<Train<Eval>>(&network, family, names);
    let extras = extras(family);
    let by_key: HashMap<String, String> = net
        .param_names()
        .into_iter()
        .map(|n| (names.key(&n), n))
        .collect();
    let y = net.forward(input(&extras));
    assert_close(
        &y.clone().into_data(),
        &extras["__train"],
        &format!("{family}: training output"),
    );
    let weights: Tensor<Train<Eval>, 2> =
        Tensor::from_data(extras["__loss_weights"].clone(), &Default::default());
    let grads = (y * weights).sum().backward();
    let mut checked = 0;
    for (key, expected) in &extras {
        if let Some(param) = key.strip_prefix("__grad.") {
            let grad = net
                .grad_data(&by_key[param], &grads)
                .expect("gradient reached the parameter");
            assert_close(&grad, expected, &format!("{family}: gradient of {param}"));
            checked += 1;
        } else if let Some(buffer) = key.strip_prefix("__running.") {
            let value = net.tensor_data(&by_key[buffer]).expect("buffer exists");
            assert_close(
                &value,
                expected,
                &format!("{family}: {buffer} after one training step"),
            );
            checked += 1;
        }
    }
    assert!(
        checked >= 4,
        "{family}: only {checked} gradients/statistics in the fixture"
    );
}

/// The tests that run on every backend, instantiated below for each one compiled in.
macro_rules! on_backend {
    ($backend:ty) => {
        use super::*;

        type Eval = $backend;

        #[test]
        fn basic_block_torchvision() {
            check_eval::<Eval>("basic", &torchvision());
            check_train::<Eval>("basic", &torchvision());
        }

        /// The same weights from PyTorch's own format (`torch.save` of the state dict).
        #[test]
        fn basic_block_from_pytorch_pt_file() {
            require_device::<Eval>();
            let network = compile("basic");
            let mut net = network.build::<Eval>(&Default::default());
            let report = net
                .load_pytorch(&fixture_path("basic", "pt"), &torchvision())
                .expect("fixture readable");
            assert!(report.is_exact(), "{}", report.render(&network.sources));
            let extras = extras("basic");
            let y = net.forward(input(&extras));
            assert_close(
                &y.into_data(),
                &extras["__eval"],
                "basic from .pt: evaluation output",
            );
        }

        #[test]
        fn bottleneck_torchvision() {
            check_eval::<Eval>("bottleneck", &torchvision());
        }

        #[test]
        fn resnext_grouped_bottleneck() {
            check_eval::<Eval>("resnext", &torchvision());
        }

        #[test]
        fn option_a_zero_padding() {
            check_eval::<Eval>("zeropad", &torchvision());
        }

        #[test]
        fn pre_activation_bottleneck() {
            check_eval::<Eval>("preact", &NameMap::new());
            check_train::<Eval>("preact", &NameMap::new());
        }

        #[test]
        fn wide_resnet_with_dropout() {
            check_eval::<Eval>("wrn", &NameMap::new());
        }

        #[test]
        fn squeeze_excitation_timm() {
            check_eval::<Eval>("se", &torchvision());
        }

        #[test]
        fn efficient_channel_attention_timm() {
            check_eval::<Eval>("eca", &torchvision());
            check_train::<Eval>("eca", &torchvision());
        }

        #[test]
        fn weighted_residual_lambda() {
            check_eval::<Eval>("weighted", &NameMap::new());
            check_train::<Eval>("weighted", &NameMap::new());
        }

        #[test]
        fn multi_input_weighted_sums() {
            check_eval::<Eval>("wsum", &NameMap::new());
        }

        #[test]
        fn dense_shortcut_dsnet() {
            check_eval::<Eval>("dense", &NameMap::new());
            check_train::<Eval>("dense", &NameMap::new());
        }

        #[test]
        fn iresnet_stages_maxpool_projection() {
            check_eval::<Eval>("iresnet", &NameMap::new());
        }

        #[test]
        fn csp_timm() {
            check_eval::<Eval>("csp", &NameMap::new());
            check_train::<Eval>("csp", &NameMap::new());
        }

        #[test]
        fn drop_path_in_evaluation() {
            check_eval::<Eval>("droppath", &NameMap::new());
        }

        #[test]
        fn remaining_ops() {
            check_eval::<Eval>("ops", &NameMap::new());
        }

        #[test]
        fn pooling_ceil_mode() {
            check_eval::<Eval>("ceil_pools", &NameMap::new());
            check_train::<Eval>("ceil_pools", &NameMap::new());
        }

        /// Weights out and back in: a net saved as safetensors (under torchvision's names) and
        /// as a Burn record loads into a fresh net of the same network, which then computes the
        /// same outputs.
        #[test]
        fn weights_round_trip() {
            require_device::<Eval>();
            let network = compile("bottleneck");
            let device = Default::default();
            let net = network.build::<Eval>(&device);
            let x: Tensor<Eval, 4> = Tensor::random(
                [2, 3, 16, 16],
                burn::tensor::Distribution::Normal(0.0, 1.0),
                &device,
            );
            let expected = net.forward(x.clone()).into_data();
            let dir = std::env::temp_dir().join(format!(
                "resc-weights-{}-{}",
                module_path!().replace("::", "-"),
                std::process::id()
            ));
            std::fs::create_dir_all(&dir).expect("temporary directory");

            let file = dir.join("bottleneck.safetensors");
            net.save_safetensors(&file, &NameMap::torchvision())
                .expect("saved");
            let mut fresh = network.build::<Eval>(&device);
            let report = fresh
                .load_safetensors(&file, &NameMap::torchvision())
                .expect("loaded");
            assert!(report.is_exact(), "{}", report.render(&network.sources));
            assert_close(
                &fresh.forward(x.clone()).into_data(),
                &expected,
                "after a safetensors round trip",
            );

            let record = dir.join("bottleneck");
            net.save_record(&record).expect("saved");
            let fresh = network
                .build::<Eval>(&device)
                .load_record(&record, &device)
                .expect("loaded");
            assert_close(
                &fresh.forward(x).into_data(),
                &expected,
                "after a record round trip",
            );
            std::fs::remove_dir_all(&dir).ok();
        }
    };
}

mod flex {
    on_backend!(burn::backend::Flex);
}

/// On wgpu: Mesa's software Vulkan device (lavapipe) in CI, or any GPU.
#[cfg(feature = "wgpu")]
mod wgpu {
    on_backend!(burn::backend::Wgpu);
}

#[cfg(feature = "cuda")]
mod cuda {
    on_backend!(burn::backend::Cuda);
}

/// The zoo's ResNet-18 and ResNet-50 map onto torchvision's state dicts by name: every
/// key used, every tensor found, every shape equal (keys and shapes from the reference
/// script; the weights themselves are checked by `cargo run --example torchvision`).
#[test]
fn zoo_resnets_map_onto_torchvision_state_dicts() {
    let text = std::fs::read_to_string(fixture_path("torchvision_keys", "json"))
        .expect("fixture readable");
    let all: std::collections::BTreeMap<String, std::collections::BTreeMap<String, Vec<usize>>> =
        serde_json::from_str(&text).expect("valid JSON");
    for (model, shapes) in &all {
        let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("models/{model}.resnet"));
        let network =
            resc::network_from_file(&path, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
        // The model file declares torchvision's names (`names torchvision { … }`).
        assert!(
            network
                .name_maps
                .iter()
                .any(|m| m.framework == "torchvision"),
            "{model} declares its torchvision names"
        );
        let names = network.name_map("torchvision").expect("declared");
        let report = network.check_state_dict(shapes, &names);
        assert!(
            report.is_exact(),
            "{model}: {}",
            report.render(&network.sources)
        );
        let buffers = shapes
            .keys()
            .filter(|k| k.ends_with("num_batches_tracked"))
            .count();
        assert_eq!(report.applied.len(), shapes.len() - buffers, "{model}");
    }
}

/// A state dict that does not fit is reported key by key, each pointing at its layer.
#[test]
fn load_report_names_missing_unexpected_and_mismatched_keys() {
    let network = compile("basic");
    let mut net = network.build::<burn::backend::Flex>(&Default::default());
    // The fixture is in torchvision's names; read with the identity map, the residual
    // layers are missing and torchvision's keys unexpected.
    let report = net
        .load_safetensors(&fixture_path("basic", "safetensors"), &NameMap::new())
        .expect("fixture readable");
    assert!(report
        .missing
        .iter()
        .any(|m| m.key == "layer1.0.residual.conv1.weight"));
    assert!(report
        .unexpected
        .iter()
        .any(|k| k == "layer1.0.conv1.weight"));
    assert!(report.applied.iter().any(|k| k == "conv1.weight"));
    let text = report.render(&network.sources);
    assert!(
        text.contains("missing: `layer2.0.shortcut.conv1.weight`"),
        "{text}"
    );
    assert!(
        text.contains("blocks.resnet:"),
        "the report points into the block's file: {text}"
    );

    // Shapes: the basic fixture's 3×3 convs read into the bottleneck network's 1×1s.
    let network = compile("bottleneck");
    let mut net = network.build::<burn::backend::Flex>(&Default::default());
    let report = net
        .load_safetensors(
            &fixture_path("basic", "safetensors"),
            &NameMap::torchvision(),
        )
        .expect("fixture readable");
    let mismatch = report
        .mismatched
        .iter()
        .find(|m| m.key == "layer1.0.conv1.weight")
        .unwrap_or_else(|| panic!("{}", report.render(&network.sources)));
    assert_eq!(
        (mismatch.expected.as_slice(), mismatch.found.as_slice()),
        (&[8, 8, 1, 1][..], &[8, 8, 3, 3][..])
    );
    assert_eq!(mismatch.name, "layer1.0.residual.conv1.weight");
}
