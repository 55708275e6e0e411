//! Inference folding (the weight passes of `Pipeline` with `Goal::Inference`: BN into
//! convs, λ and α into convs, ReLU fused) computes what the unfolded net computes, for every network of the zoo,
//! with random weights and non-trivial BN statistics.
#![cfg(feature = "cpu")]

use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use burn_store::SafetensorsStore;
use common::snapshot::{files, Snapshots};
use resc::lower::{NameMap, Net, Network};
use resc::passes::{Goal, Pipeline};
use std::path::Path;

mod common;

type B = Flex;

/// A deterministic generator (SplitMix64) for the random tensors.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> f32 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 40) as f32 / (1u64 << 24) as f32
    }

    /// Uniform in [lo, hi).
    fn uniform(&mut self, lo: f32, hi: f32) -> f32 {
        lo + (hi - lo) * self.next()
    }
}

/// Replaces every 1-D tensor of `net` (BN γ/β/μ/σ², biases, λ, α, sum weights) with
/// random values in a safetensors state dict, so that folding has something to fold.
fn randomise(net: &mut Net<B>, seed: u64) {
    let mut rng = Rng(seed);
    let mut header = serde_json::Map::new();
    let mut data: Vec<u8> = Vec::new();
    for name in net.param_names() {
        let t = net.tensor_data(&name).expect("a tensor of the net");
        if t.shape.len() != 1 {
            continue;
        }
        let n = t.shape[0];
        let values: Vec<f32> = (0..n)
            .map(|_| match name.rsplit('.').next() {
                Some("running_var") => rng.uniform(0.5, 2.0),
                Some("running_mean") => rng.uniform(-0.5, 0.5),
                Some("weight") if name.contains("bn") => rng.uniform(0.5, 1.5),
                // λ, α and other vectors: both signs, to test folding through a ReLU.
                _ => rng.uniform(-0.9, 0.9),
            })
            .collect();
        let start = data.len();
        data.extend(values.iter().flat_map(|v| v.to_le_bytes()));
        header.insert(
            name.clone(),
            serde_json::json!({"dtype": "F32", "shape": [n], "data_offsets": [start, data.len()]}),
        );
    }
    let mut head = serde_json::Value::Object(header).to_string().into_bytes();
    while head.len() % 8 != 0 {
        head.push(b' ');
    }
    let mut bytes = (head.len() as u64).to_le_bytes().to_vec();
    bytes.extend(head);
    bytes.extend(data);
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let report = net
        .load_from_store(&mut store, &NameMap::new())
        .expect("the state dict reads");
    assert!(report.mismatched.is_empty() && report.unexpected.is_empty());
}

fn compile(file: &str) -> Network {
    resc::network_from_file(Path::new(file), &Default::default()).unwrap_or_else(|e| panic!("{e}"))
}

/// Max |folded − plain| / max |plain| over a batch, and the fold report, for
/// the inference pipeline or (`plain`) the plain-chain pipeline.
fn compare_with(
    network: &Network,
    seed: u64,
    plain_chain: bool,
) -> (f32, resc::passes::FoldReport) {
    let device = Default::default();
    B::seed(&device, seed);
    let mut net = network.build::<B>(&device);
    randomise(&mut net, seed);
    let [c, h, w] = network.input_shape();
    let x = Tensor::<B, 4>::random([1, c, h, w], Distribution::Normal(0.0, 1.0), &device);
    let plain: Vec<f32> = net.forward(x.clone()).into_data().to_vec().unwrap();
    let (folded, report) = if plain_chain {
        Pipeline::for_backend::<B>(Goal::Plain).run_net(net)
    } else {
        Pipeline::for_backend::<B>(Goal::Inference).run_net(net)
    };
    let out: Vec<f32> = folded.forward(x).into_data().to_vec().unwrap();
    assert_eq!(plain.len(), out.len());
    let scale = plain.iter().fold(0f32, |m, v| m.max(v.abs())).max(1e-6);
    let diff = plain
        .iter()
        .zip(&out)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    (diff / scale, report)
}

/// The zoo, smaller: ImageNet-size inputs become 64×64 (the layers, shortcuts and their
/// folding patterns are the same at any size) and the very deep CIFAR nets get their
/// shallowest depth, so that the test runs in CI on two cores.
fn small_zoo() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("resc-fold-zoo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("models")).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "resnet") {
            let text = std::fs::read_to_string(&path).unwrap();
            let text = text
                .replace("input [3, 224, 224]", "input [3, 64, 64]")
                .replace("input [3, 256, 256]", "input [3, 64, 64]");
            std::fs::write(dir.join(path.file_name().unwrap()), text).unwrap();
        }
    }
    dir
}

fn compare(network: &Network, seed: u64) -> (f32, resc::passes::FoldReport) {
    compare_with(network, seed, false)
}

/// Folding and residual removal keep every zoo network's outputs (folding alone is the
/// first half of it).
#[test]
fn folding_keeps_the_outputs_of_every_zoo_network() {
    let zoo = small_zoo();
    let mut checked = 0;
    for file in files(&zoo, "resnet") {
        let text = std::fs::read_to_string(&file).unwrap();
        if !text.lines().any(|l| l.starts_with("network ")) {
            continue; // a library of blocks
        }
        let stem = file.file_stem().unwrap().to_str().unwrap();
        let overrides: &[&str] = match stem {
            "wresnet" => &["depth=22"],
            "iresnet-cifar" => &["depth=20"],
            "wrn" => &["depth=16", "k=2"],
            _ => &[],
        };
        let options = resc::driver::Options {
            network: None,
            overrides: overrides.iter().map(|s| s.to_string()).collect(),
        };
        let network =
            resc::network_from_file(&file, &options).unwrap_or_else(|e| panic!("{stem}: {e}"));
        let (error, report) = compare_with(&network, 7 + checked, true);
        assert!(
            error <= 1e-4,
            "{stem}: folded output differs by {error:e} (relative); {report:?}"
        );
        // All-CNN-C has no BatchNorm: only its ReLUs and dropouts fold away.
        let has_batch_norm = stem != "all-cnn-c";
        assert!(
            report.steps_after < report.steps_before && (report.batch_norms > 0 || !has_batch_norm),
            "{stem}: nothing folded: {report:?}"
        );
        checked += 1;
    }
    let _ = std::fs::remove_dir_all(&zoo);
    assert!(checked >= 20, "the zoo has its networks: {checked}");
}

#[test]
fn folding_removes_bn_relu_and_lambda_steps() {
    // ResNet-20: 19 conv → BN pairs fold; the ReLUs after the first BN of each block,
    // and the stem's, fuse; kernel selection fuses the 7 identity shortcuts' additions
    // and the ReLUs after them into the blocks' second convs. Then (with residual
    // removal) RMNet removes all 9 residuals (identity or option A, on ReLU outputs) and
    // the ReLUs after them fuse too: a plain chain of 19 convs.
    let network = compile("models/resnet20.resnet");
    let (error, report) = compare(&network, 1);
    assert!(error <= 1e-4, "{error:e}");
    assert_eq!(
        (report.batch_norms, report.relus, report.residuals),
        (19, 10, 0)
    );
    assert_eq!((report.winograd, report.gemm, report.adds), (17, 2, 7));
    assert_eq!(
        report.steps_after,
        report.steps_before - 19 - 10 - 7 - 7,
        "{report:?}"
    );
    let (error, report) = compare_with(&network, 1, true);
    assert!(error <= 1e-4, "{error:e}");
    assert_eq!(report.batch_norms, 19, "{report:?}");
    assert_eq!(report.residuals, 9, "{report:?}");
    assert_eq!(report.relus, 19, "{report:?}");
    // Removed: 19 BNs, 19 ReLUs, 9 additions and the 2 zero-pad shortcuts.
    assert_eq!(
        report.steps_after,
        report.steps_before - 19 - 19 - 9 - 2,
        "{report:?}"
    );
    let device = Default::default();
    let (folded, _) = Pipeline::for_backend::<B>(Goal::Plain).run_net(network.build::<B>(&device));
    let kernels = plain_chain(&folded, "ZeroPad");
    assert_eq!(kernels.iter().filter(|k| k.starts_with("Conv")).count(), 19);
    // WResNet-10: λ after conv → BN → ReLU folds when λ ≥ 0 and stays otherwise.
    let network = resc::network_from_file(
        Path::new("models/wresnet.resnet"),
        &resc::driver::Options {
            network: None,
            overrides: vec!["depth=22".into()],
        },
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (error, report) = compare(&network, 3);
    assert!(error <= 1e-4, "{error:e}");
    assert!(report.batch_norms > 0, "{report:?}");
    assert!(
        report.scales > 0 && report.scales < 9,
        "some of the 9 random λ are negative and stay: {report:?}"
    );
    assert_eq!(
        report.residuals, 0,
        "λ·F(x) + x is not a plain residual: {report:?}"
    );
}

/// `resc graph --emit plan --opt --plain` shows the re-parameterised ResNet-20:
/// convolutions only.
#[test]
fn the_plan_after_folding_is_a_plain_chain() {
    let run = |extra: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_resc"))
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .args(["graph", "models/resnet20.resnet", "--emit", "plan"])
            .args(extra)
            .output()
            .expect("resc runs");
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let plain = run(&[]);
    assert_eq!(plain.matches(" = Add").count(), 9, "{plain}");
    let folded = run(&["--opt"]);
    assert!(
        folded.starts_with(
            "# folded: 19 BN and 0 λ/α folded, 0 branch sums merged, 10 ReLU fused, 0 residuals removed; convs on Winograd 17, on gemm 2, 7 additions fused; 72 → 29 steps"
        ),
        "{folded}"
    );
    // The identity shortcuts' additions (and ReLUs) run in the second conv of each block;
    // the two option-A shortcuts are computed after that conv, so their additions stay.
    assert_eq!(folded.matches(" +add +relu(").count(), 7, "{folded}");
    assert_eq!(folded.matches(" = Add").count(), 2, "{folded}");
    assert!(folded.contains(
        "%3 = conv/1 pad 1 winograd F(4,3) +add +relu(%2, %1) [16, 32, 32]  layer1.0.residual.conv2"
    ));
    let folded = run(&["--opt", "--plain"]);
    assert!(
        folded.starts_with(
            "# folded: 19 BN and 0 λ/α folded, 0 branch sums merged, 19 ReLU fused, 9 residuals removed; convs on Winograd 17, on gemm 2, 0 additions fused; 72 → 23 steps"
        ),
        "{folded}"
    );
    assert_eq!(folded.matches(" = Add").count(), 0, "{folded}");
    assert_eq!(folded.matches(" +relu(").count(), 19, "{folded}");
    assert!(folded.contains("conv/2 pad 1 gemm +relu(%7) [48, 16, 16]  layer2.0.residual.conv1"));
    assert!(folded
        .contains("conv/1 pad 1 winograd F(4,3) +relu(%8) [32, 16, 16]  layer2.0.residual.conv2"));
}

/// `--backend wgpu` (or cuda) shows the plan a GPU runs: the same folding, no CPU kernel
/// selection (no Winograd, gemm or fused additions). Needs no device.
#[test]
fn the_plan_for_a_gpu_has_no_cpu_kernels() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_resc"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["graph", "models/resnet20.resnet", "--emit", "plan", "--opt"])
        .args(["--backend", "wgpu"])
        .output()
        .expect("resc runs");
    assert!(out.status.success());
    let plan = String::from_utf8(out.stdout).unwrap();
    assert!(
        plan.starts_with(
            "# backend wgpu: every step on Burn's kernels (no CPU kernel selection)\n# folded: 19 BN and 0 λ/α folded, 0 branch sums merged, 10 ReLU fused, 0 residuals removed; convs on Winograd 0, on gemm 0, 0 additions fused; 72 → 43 steps"
        ),
        "{plan}"
    );
    let steps = plan.lines().skip(2).collect::<Vec<_>>().join("\n");
    assert!(
        !steps.contains("winograd") && !steps.contains(" gemm") && !steps.contains("+add"),
        "{plan}"
    );
    assert_eq!(plan.matches(" = Add").count(), 9, "{plan}");
}

/// RepVGG-A0: every block's branches (3×3 conv → BN, 1×1 conv → BN, and the BN-only
/// identity where the shape stays) merge into one 3×3 conv with the ReLU fused: the
/// plain chain of 22 convolutions the paper deploys, with its 8.30 M parameters
/// (8,309,384: 22 3×3 convs with bias and the classifier), computing the same outputs.
#[test]
fn repvgg_branches_merge_into_one_convolution_per_block() {
    let text = std::fs::read_to_string("models/repvgg-a0.resnet")
        .unwrap()
        .replace("input [3, 224, 224]", "input [3, 64, 64]");
    let file = std::env::temp_dir().join(format!("resc-repvgg-{}.resnet", std::process::id()));
    std::fs::write(&file, text).unwrap();
    let network = compile(file.to_str().unwrap());
    let _ = std::fs::remove_file(&file);
    let device = Default::default();
    let net = network.build::<B>(&device);
    assert_eq!(learned(&net), 9_108_968, "training-time parameters");
    // The authors' names, as the model file declares them.
    let names = network.name_map("repvgg").expect("declared");
    for (ours, theirs) in [
        ("stage0.conv1.weight", "stage0.rbr_dense.conv.weight"),
        (
            "stage1.1.bn1.running_var",
            "stage1.1.rbr_dense.bn.running_var",
        ),
        ("stage3.13.conv2.weight", "stage3.13.rbr_1x1.conv.weight"),
        ("stage2.0.bn2.bias", "stage2.0.rbr_1x1.bn.bias"),
        ("stage2.3.bn3.weight", "stage2.3.rbr_identity.weight"),
        ("linear.weight", "linear.weight"),
    ] {
        assert_eq!(names.key(ours), theirs);
    }

    let (error, report) = compare(&network, 5);
    assert!(error <= 1e-4, "{error:e}; {report:?}");
    // 22 blocks: 44 conv → BN pairs fold, 17 identity BNs merge as centre taps.
    assert_eq!(
        (report.batch_norms, report.branches, report.relus),
        (44, 22, 22),
        "{report:?}"
    );
    let (folded, _) = Pipeline::for_backend::<B>(Goal::Inference).run_net(net);
    assert_eq!(learned(&folded), 8_309_384, "deployed parameters");
    let kernels = plain_chain(&folded, "BatchNorm");
    let convs: Vec<&String> = kernels.iter().filter(|k| k.starts_with("Conv")).collect();
    assert_eq!(convs.len(), 22, "{kernels:#?}");
    assert!(
        convs
            .iter()
            .all(|k| k.contains("padding: [1, 1]") && k.contains("relu: true")),
        "{convs:#?}"
    );
}

/// The learned parameters of `net` (BN running statistics are not parameters).
fn learned(net: &Net<B>) -> usize {
    net.param_names()
        .iter()
        .filter(|n| !n.contains("running_"))
        .map(|n| {
            net.tensor_data(n)
                .expect("a tensor")
                .shape
                .iter()
                .product::<usize>()
        })
        .sum()
}

/// The kernels of `net`'s plan, checking that none is an addition or a `other`.
fn plain_chain(net: &Net<B>, other: &str) -> Vec<String> {
    let kernels: Vec<String> = net
        .plan()
        .steps
        .iter()
        .map(|s| format!("{:?}", s.kernel))
        .collect();
    assert!(
        !kernels
            .iter()
            .any(|k| k.starts_with("Add") || k.starts_with(other)),
        "a plain chain: {kernels:#?}"
    );
    kernels
}

/// Per-pass snapshots of the inference passes: each `tests/inference-passes/*.resnet` is
/// built with seeded random weights and BN statistics, folded (`plain-*` files also lose
/// their residuals, RMNet), and the execution plan before and after is compared with the
/// `.plan` file beside it (`tests/common/snapshot.rs`); the outputs must agree too.
/// `RESC_BLESS=1 cargo test --test fold` rewrites the snapshots.
#[test]
fn inference_pass_snapshots() {
    // A snapshot per inference pass, at least.
    let mut snapshots =
        Snapshots::new("tests/inference-passes", &["plan"], "--test fold").at_least(4);
    for input in snapshots.inputs() {
        // The seed comes from the file's name, so that adding a file changes no other
        // file's weights.
        let name = input.file_name().unwrap_or_default().to_string_lossy();
        let seed = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let network = compile(input.to_str().unwrap());
        let plain = input
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with("plain-"));
        let (error, _) = compare_with(&network, seed, plain);
        assert!(error <= 1e-4, "{}: {error:e}", input.display());
        let device = Default::default();
        let mut net = network.build::<B>(&device);
        randomise(&mut net, seed);
        let before = net.plan().to_string();
        let (after, report) = if plain {
            Pipeline::for_backend::<B>(Goal::Plain).run_net(net)
        } else {
            Pipeline::for_backend::<B>(Goal::Inference).run_net(net)
        };
        let actual = format!("before:\n{before}\nafter: {report}\n{}", after.plan());
        snapshots.compare(&input, "plan", &actual);
    }
    snapshots.finish();
}
