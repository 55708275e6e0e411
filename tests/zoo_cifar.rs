//! The CIFAR and paper-family model zoo (`models/*.resnet`) against the reference
//! implementations and the papers.
//!
//! Where reference code exists the parameter count and the multiply-accumulates of
//! convolutions and linear layers must match it to the unit: akamaster's CIFAR ResNets
//! (option A), KaimingHe/resnet-1k-layers (pre-activation ResNet-164/1001) and
//! szagoruyko/wide-residual-networks (WRN). The figures were measured with PyTorch by
//! `tests/reference/param_counts.py` and saved in `tests/reference/param_counts.json`;
//! they are repeated here so that a change in either place fails. Models without
//! reference code (weighted residuals, stochastic depth, the YOLO-style fusion, DSNet,
//! the CIFAR iResNet, All-CNN-C) are pinned to counts derived by hand in their headers and here.

mod common;

use common::*;
use resc::diag::{render, Code};
use resc::driver::Checked;
use resc::ir::{NodeId, Op, SumNorm, SumWeights};

/// Model file, `--set` overrides, the reference model, its parameters and its MACs
/// (CIFAR-10: 32×32 input, 10 classes).
const ZOO: &[(&str, &[&str], &str, u64, u64)] = &[
    (
        "resnet56",
        &[],
        "akamaster resnet56 (option A)",
        853_018,
        125_485_696,
    ),
    (
        "resnet110",
        &[],
        "akamaster resnet110 (option A)",
        1_727_962,
        252_887_680,
    ),
    (
        "preact-resnet164",
        &[],
        "resnet-1k-layers pre-act ResNet-164",
        1_703_258,
        244_500_992,
    ),
    (
        "preact-resnet1001",
        &[],
        "resnet-1k-layers pre-act ResNet-1001",
        10_327_706,
        1_487_849_984,
    ),
    (
        "wrn-16-8",
        &[],
        "szagoruyko WRN-16-8",
        10_961_370,
        1_548_145_664,
    ),
    (
        "wrn-28-10",
        &[],
        "szagoruyko WRN-28-10",
        36_479_194,
        5_243_328_768,
    ),
    (
        "wrn-40-4",
        &[],
        "szagoruyko WRN-40-4",
        8_949_210,
        1_298_582_016,
    ),
    (
        "wrn",
        &[],
        "szagoruyko WRN-28-10",
        36_479_194,
        5_243_328_768,
    ),
    (
        "wrn",
        &["depth=28", "k=10"],
        "szagoruyko WRN-28-10",
        36_479_194,
        5_243_328_768,
    ),
    (
        "wrn",
        &["depth=16", "k=8"],
        "szagoruyko WRN-16-8",
        10_961_370,
        1_548_145_664,
    ),
    (
        "wrn",
        &["depth=40", "k=4"],
        "szagoruyko WRN-40-4",
        8_949_210,
        1_298_582_016,
    ),
    (
        "wrn",
        &["depth=16", "k=4"],
        "szagoruyko WRN-16-4",
        2_748_890,
        392_612_352,
    ),
    // No reference code: derived by hand in the model's header (and equal to a
    // PyTorch nn.Sequential of the paper's Table 2, model C).
    (
        "all-cnn-c",
        &[],
        "Springenberg et al. 2015 All-CNN-C",
        1_369_738,
        270_798_336,
    ),
];

#[test]
fn every_model_has_the_reference_parameter_count_and_macs() {
    assert_matches_references(ZOO.iter().copied(), shape(3, 32, 32), shape(10, 1, 1));
}

/// CIFAR-100 changes only the classifier: (F + 1)·90 parameters more, F the pooled
/// width (256 for the pre-activation nets, 64k for WRN-n-k). PyTorch's figures.
#[test]
fn cifar100_only_changes_the_classifier() {
    for (file, overrides, params) in [
        ("preact-resnet164", &[][..], 1_726_388),
        ("preact-resnet1001", &[], 10_350_836),
        ("wrn-16-8", &[], 11_007_540),
        ("wrn-28-10", &[], 36_536_884),
        ("wrn-40-4", &[], 8_972_340),
        ("wrn", &["depth=16", "k=4"], 2_772_020),
    ] {
        let mut overrides = overrides.to_vec();
        overrides.push("classes=100");
        let (_, report) = compile(file, &overrides);
        assert_eq!(report.output, Some(shape(100, 1, 1)), "{file}");
        assert_eq!(report.params, params, "{file} {overrides:?}");
    }
}

/// The fixed-size WRN files are the parametric one at their depth and width: same node
/// names, same parameters and MACs.
#[test]
fn fixed_wrn_files_equal_the_parametric_wrn() {
    for (file, depth, k) in [
        ("wrn-16-8", 16, 8),
        ("wrn-28-10", 28, 10),
        ("wrn-40-4", 40, 4),
    ] {
        let (fixed, fixed_report) = compile(file, &[]);
        let depth = format!("depth={depth}");
        let k = format!("k={k}");
        let (parametric, parametric_report) = compile("wrn", &[depth.as_str(), k.as_str()]);
        let names = |c: &Checked| -> Vec<String> {
            let g = &c.elaborated.graph;
            g.nodes().map(|id| g.node(id).name.clone()).collect()
        };
        assert_eq!(names(&fixed), names(&parametric), "{file}");
        assert_eq!(fixed_report.params, parametric_report.params, "{file}");
        assert_eq!(fixed_report.macs, parametric_report.macs, "{file}");
    }
}

/// `--set depth=27` leaves (27 − 4)/6 inexact: one E0206 at the `let`'s division.
#[test]
fn wrn_depth_27_is_one_inexact_division_at_the_let() {
    let compilation = compile_model("wrn", &["depth=27"]);
    let diags = match &compilation.result {
        Ok(_) => panic!("wrn.resnet with depth=27 compiled, but 27 is not 6n + 4"),
        Err(diags) => diags,
    };
    let rendered = render::to_string(&compilation.sources, diags);
    assert_eq!(
        diags.len(),
        1,
        "expected exactly one diagnostic:\n{rendered}"
    );
    assert_eq!(diags[0].code, Code::E0206, "{rendered}");
    let span = diags[0].primary_span().expect("a primary span");
    assert!(
        compilation
            .sources
            .get(span.file)
            .name
            .ends_with("wrn.resnet"),
        "the error points into {}",
        compilation.sources.get(span.file).name
    );
    assert_eq!(
        compilation.sources.snippet(span),
        "(depth - 4) / 6",
        "{rendered}"
    );
    let text = &compilation.sources.get(span.file).text;
    let line_start = text[..span.start as usize].rfind('\n').map_or(0, |i| i + 1);
    assert_eq!(
        text[line_start..span.start as usize].trim(),
        "let n =",
        "the division is the one of `let n`"
    );
    assert!(rendered.contains("23 / 6"), "{rendered}");
}

/// Pre-activation units: BN → ReLU → conv1 → BN → ReLU → conv3 → BN → ReLU → conv1, add,
/// nothing after the add. A stage's first unit takes its strided 1×1 projection (no BN)
/// from the pre-activated value; every other unit adds x itself.
#[test]
fn preact_shortcuts_read_the_pre_activated_value() {
    let (checked, report) = compile("preact-resnet164", &[]);
    let graph = &checked.elaborated.graph;
    let shortcut: Vec<NodeId> = named(graph, ".shortcut.");
    let names: Vec<&str> = shortcut.iter().map(|&id| name(graph, id)).collect();
    assert_eq!(
        names,
        [
            "layer1.0.shortcut.conv1",
            "layer2.0.shortcut.conv1",
            "layer3.0.shortcut.conv1"
        ]
    );
    for (&id, stage) in shortcut.iter().zip(["layer1", "layer2", "layer3"]) {
        assert_eq!(input_name(graph, id), format!("{stage}.0.relu1"));
        let stride = if stage == "layer1" { 1 } else { 2 };
        assert!(
            matches!(graph.node(id).op, Op::Conv { kernel: [1, 1], stride: [s, _], bias: false, .. } if s == stride),
            "{stage}: {:?}",
            graph.node(id).op
        );
    }
    // The first 1×1 conv of a downsampling unit carries the stride.
    let first = node(graph, "layer2.0.residual.conv1");
    assert!(matches!(
        graph.node(first).op,
        Op::Conv {
            kernel: [1, 1],
            stride: [2, 2],
            ..
        }
    ));
    // Identity units add the previous unit's sum, with nothing after it.
    let add = node(graph, "layer2.1.add1");
    let inputs: Vec<&str> = graph
        .inputs(add)
        .into_iter()
        .map(|i| name(graph, i))
        .collect();
    assert_eq!(inputs, ["layer2.1.residual.conv3", "layer2.0.add1"]);
    assert_eq!(
        graph.users(add).len(),
        2,
        "x feeds the next unit's BN and its add"
    );
    // 9n + 2 layers: 3 convs per unit, the stem conv and the classifier.
    let layers = find(graph, |op| is_conv(op) || is_linear(op))
        .into_iter()
        .filter(|&id| !name(graph, id).contains(".shortcut."))
        .count();
    assert_eq!(layers, 164);
    assert_eq!(
        stage_params(&report),
        [
            ("layer1".to_string(), 81_952),
            ("layer2".to_string(), 326_272),
            ("layer3".to_string(), 1_291_520)
        ]
    );
}

/// szagoruyko's WRN: the 1×1 shortcut conv reads o1 = ReLU(BN(x)), has no BN, and exists
/// only where the width changes (so WRN-n-1 keeps group0's first shortcut the identity).
#[test]
fn wrn_shortcuts_are_bn_free_convs_on_o1() {
    let (checked, _) = compile("wrn-28-10", &[]);
    let graph = &checked.elaborated.graph;
    let shortcut: Vec<NodeId> = named(graph, ".shortcut.");
    let names: Vec<&str> = shortcut.iter().map(|&id| name(graph, id)).collect();
    assert_eq!(
        names,
        [
            "group0.0.shortcut.conv1",
            "group1.0.shortcut.conv1",
            "group2.0.shortcut.conv1"
        ]
    );
    for &id in &shortcut {
        let block = name(graph, id)
            .split(".shortcut")
            .next()
            .unwrap_or_default()
            .to_string();
        assert_eq!(input_name(graph, id), format!("{block}.relu1"));
    }
    // No BN after the stem conv; the head is BN → ReLU → pool → linear with bias.
    let all = nodes(graph);
    assert_eq!(name(graph, all[1]), "conv0");
    assert_eq!(name(graph, all[2]), "group0.0.bn1");
    let fc = *find(graph, is_linear).first().expect("a classifier");
    assert!(matches!(
        graph.node(fc).op,
        Op::Linear {
            out_features: 10,
            bias: true
        }
    ));

    let (k1, _) = compile("wrn", &["depth=16", "k=1"]);
    let graph = &k1.elaborated.graph;
    let shortcut: Vec<&str> = nodes(graph)
        .into_iter()
        .map(|id| name(graph, id))
        .filter(|n| n.contains(".shortcut."))
        .collect();
    assert_eq!(
        shortcut,
        ["group1.0.shortcut.conv1", "group2.0.shortcut.conv1"]
    );
}

/// WRN-n-k-dropout puts the dropout between the two convs of every block.
#[test]
fn wrn_dropout_sits_between_the_convs() {
    let (checked, report) = compile("wrn", &["depth=16", "k=8", "dropout=0.3"]);
    let graph = &checked.elaborated.graph;
    let dropouts = find(
        graph,
        |op| matches!(op, Op::Dropout { p } if (*p - 0.3).abs() < 1e-12),
    );
    assert_eq!(dropouts.len(), 6, "one per block, 3 groups of 2");
    for &id in &dropouts {
        let input = input_name(graph, id);
        assert!(input.ends_with(".residual.relu1"), "dropout after {input}");
        let users = graph.users(id);
        assert_eq!(users.len(), 1);
        assert!(name(graph, users[0]).ends_with(".residual.conv2"));
    }
    assert_eq!(report.params, 10_961_370, "dropout adds no parameters");
}

/// Weighted residual networks at the paper's deepest setting, n = 198: 6n + 4 = 1192
/// layers; one λ per unit (initialised to 0, its own learning rate, projected);
/// no shortcut layers at all.
#[test]
fn wresnet_1192_checks() {
    let (checked, report) = compile("wresnet", &["depth=1192"]);
    let graph = &checked.elaborated.graph;
    assert_eq!(report.output, Some(shape(10, 1, 1)));
    let layers = find(graph, |op| is_conv(op) || is_linear(op)).len();
    assert_eq!(layers, 1192);
    let lambdas = find(graph, |op| matches!(op, Op::Scale { .. }));
    assert_eq!(lambdas.len(), 3 * 198);
    for &id in &lambdas {
        assert!(
            matches!(graph.node(id).op, Op::Scale { init, lr, bounded: true } if init == 0.0 && lr == 0.001),
            "{:?}",
            graph.node(id).op
        );
    }
    assert!(!nodes(graph)
        .into_iter()
        .any(|id| name(graph, id).contains(".shortcut.")));
    // Each stage halves the map by a stride-2 conv before its units (two of them).
    let strided = find(graph, |op| matches!(op, Op::Conv { stride: [2, 2], .. }));
    let strided: Vec<&str> = strided.into_iter().map(|id| name(graph, id)).collect();
    assert_eq!(
        strided,
        ["stage2.downsample.conv1", "stage3.downsample.conv1"]
    );
    // 24,346 + 97,219·n: stem 464, downsampling 4,672 + 18,560, classifier 650; a unit
    // 2 convs + 2 BNs + λ: 4,673 / 18,561 / 73,985 at 16/32/64 channels.
    assert_eq!(report.params, 24_346 + 97_219 * 198);
    assert_eq!(report.params, 19_273_708);
    assert_eq!(
        stage_params(&report),
        [
            ("conv1".to_string(), 464),
            ("stage1".to_string(), 4_673 * 198),
            ("stage2".to_string(), 4_672 + 18_561 * 198),
            ("stage3".to_string(), 18_560 + 73_985 * 198),
        ]
    );
    // The smallest network of the paper, n = 1: 10 layers.
    let (small, report) = compile("wresnet", &["depth=10"]);
    let graph = &small.elaborated.graph;
    assert_eq!(find(graph, |op| is_conv(op) || is_linear(op)).len(), 10);
    assert_eq!(report.params, 24_346 + 97_219);
}

/// WResNet-d: dropout on the residual, p = 0.2 / 0.4 / 0.6 in the three stages.
#[test]
fn wresnet_d_drops_residuals_per_stage() {
    let (checked, report) = compile("wresnet", &["depth=58", "drop=[0.2, 0.4, 0.6]"]);
    let graph = &checked.elaborated.graph;
    let mut by_stage = [0usize; 3];
    for id in find(graph, |op| matches!(op, Op::Dropout { .. })) {
        let Op::Dropout { p } = graph.node(id).op else {
            unreachable!()
        };
        let stage = ["stage1", "stage2", "stage3"]
            .iter()
            .position(|s| name(graph, id).starts_with(s))
            .expect("dropout inside a stage");
        assert!(
            (p - [0.2, 0.4, 0.6][stage]).abs() < 1e-12,
            "{}: p = {p}",
            name(graph, id)
        );
        // It acts on the residual, before λ.
        let users = graph.users(id);
        assert!(matches!(graph.node(users[0]).op, Op::Scale { .. }));
        by_stage[stage] += 1;
    }
    assert_eq!(by_stage, [9, 9, 9]);
    assert_eq!(report.params, 24_346 + 97_219 * 9);
    // Without WResNet-d there is no dropout node at all.
    let (plain, _) = compile("wresnet", &["depth=58"]);
    assert!(find(&plain.elaborated.graph, |op| matches!(
        op,
        Op::Dropout { .. }
    ))
    .is_empty());
}

#[test]
fn wresnet_rejects_depths_that_are_not_6n_plus_4() {
    let compilation = compile_model("wresnet", &["depth=1190"]);
    let Err(diags) = &compilation.result else {
        panic!("depth 1190 compiled");
    };
    assert!(diags.iter().any(|d| d.code == Code::E0214));
}

/// Stochastic depth: one drop-path per residual branch, death rate (l/L)·0.5 for block
/// l = 1 … 54 in order; transition shortcuts average-pool and append zero channels.
#[test]
fn stochastic_depth_decays_linearly_over_54_blocks() {
    let (checked, report) = compile("resnet110-stochastic-depth", &[]);
    let graph = &checked.elaborated.graph;
    assert_eq!(report.output, Some(shape(10, 1, 1)));
    let drops = find(graph, |op| matches!(op, Op::DropPath { .. }));
    assert_eq!(drops.len(), 54);
    for (l, &id) in drops.iter().enumerate() {
        let Op::DropPath { p } = graph.node(id).op else {
            unreachable!()
        };
        let expected = 0.5 * (l + 1) as f64 / 54.0;
        assert!(
            (p - expected).abs() < 1e-12,
            "block {}: p = {p}, expected {expected}",
            l + 1
        );
        assert!(name(graph, id).ends_with(".residual.drop_path1"));
        // On the residual branch, just before the add.
        let users = graph.users(id);
        assert_eq!(users.len(), 1);
        assert!(matches!(graph.node(users[0]).op, Op::Add));
    }
    let pads: Vec<(String, Op)> = find(graph, |op| matches!(op, Op::ZeroPad { .. }))
        .into_iter()
        .map(|id| (input_name(graph, id), graph.node(id).op.clone()))
        .collect();
    assert_eq!(pads.len(), 2);
    for ((input, op), (stage, extra)) in pads.iter().zip([("layer2", 16), ("layer3", 32)]) {
        assert_eq!(input, &format!("{stage}.0.avgpool1"));
        assert_eq!(
            op,
            &Op::ZeroPad {
                stride: 1,
                pad_before: 0,
                pad_after: extra
            }
        );
    }
    // ResNet-110 (option A) is 1,727,962; the official code's conv biases add
    // 16 + 18·(2·16 + 2·32 + 2·64) = 4,048.
    assert_eq!(report.params, 1_727_962 + 4_048);
    assert_eq!(report.params, 1_732_010);
    assert_eq!(
        report.macs, 252_887_680,
        "biases add no MACs in this model of cost"
    );
    assert_eq!(find(graph, |op| is_conv(op) || is_linear(op)).len(), 110);
}

/// Multi-input weighted fusion: sum(p3, p4↑2, p5↑4) with one relu-normalised weight
/// vector per input.
#[test]
fn yolo_style_fuses_three_maps_per_channel() {
    let (checked, report) = compile("yolo-style-weighted", &[]);
    let graph = &checked.elaborated.graph;
    assert_eq!(report.input, Some(shape(3, 256, 256)));
    assert_eq!(
        report.output,
        Some(shape(255, 32, 32)),
        "3 anchors × (5 + 80 classes)"
    );
    let sums = find(graph, |op| matches!(op, Op::WeightedSum { .. }));
    assert_eq!(sums.len(), 1);
    let fused = sums[0];
    assert_eq!(name(graph, fused), "neck.fused");
    assert_eq!(
        graph.node(fused).op,
        Op::WeightedSum {
            weights: SumWeights::PerChannel,
            norm: SumNorm::Relu
        }
    );
    let inputs: Vec<&str> = graph
        .inputs(fused)
        .into_iter()
        .map(|i| name(graph, i))
        .collect();
    assert_eq!(inputs.len(), 3);
    assert!(inputs[0].starts_with("neck.lateral"), "{inputs:?}");
    for input in &inputs {
        assert_eq!(
            checked.info.shapes[&graph.inputs(fused)[0]],
            shape(64, 32, 32),
            "{input}"
        );
    }
    let upsamples: Vec<Op> = graph.inputs(fused)[1..]
        .iter()
        .map(|&i| graph.node(i).op.clone())
        .collect();
    assert_eq!(
        upsamples,
        [Op::Upsample { scale: 2 }, Op::Upsample { scale: 4 }]
    );
    assert_eq!(checked.info.costs[&fused].params, 3 * 64);
    // Hand count in the model's header.
    assert_eq!(
        report.params,
        464 + 9_888 + 39_232 + 238_592 + 952_320 + 2_492_928 + 57_728 + 192 + 53_567
    );
    assert_eq!(report.params, 3_844_911);
}

/// DSNet-50: ResNet-50 with `with shortcut dense` on every stage. A stage of n units
/// has n(n − 1)/2 (unit, earlier map) pairs, each an affine-free BN and an α vector.
#[test]
fn dsnet50_adds_one_alpha_per_unit_and_earlier_map() {
    let (checked, report) = compile("dsnet50", &[]);
    let graph = &checked.elaborated.graph;
    assert_eq!(report.output, Some(shape(1000, 1, 1)));
    let alphas = find(graph, |op| matches!(op, Op::ChannelScale { .. }));
    assert_eq!(alphas.len(), 3 + 6 + 15 + 3);
    for &id in &alphas {
        assert!(matches!(graph.node(id).op, Op::ChannelScale { init } if init == 1.0));
        let bn = graph.inputs(id)[0];
        assert!(matches!(
            graph.node(bn).op,
            Op::BatchNorm { affine: false, .. }
        ));
    }
    // Unit 2 of layer1 adds its branch and the normalised outputs of units 0 and 1.
    let add = node(graph, "layer1.2.add1");
    let normalised: Vec<String> = graph.inputs(add)[1..]
        .iter()
        .map(|&a| input_name(graph, graph.inputs(a)[0]))
        .collect();
    assert_eq!(normalised, ["layer1.0.relu1", "layer1.1.relu1"]);
    // The first unit of every stage keeps its projection shortcut.
    let shortcuts: Vec<&str> = nodes(graph)
        .into_iter()
        .map(|id| name(graph, id))
        .filter(|n| n.contains(".shortcut."))
        .collect();
    assert_eq!(shortcuts.len(), 8, "{shortcuts:?}");
    let overhead = 3 * 256 + 6 * 512 + 15 * 1024 + 3 * 2048;
    assert_eq!(overhead, 25_344);
    assert_eq!(report.params, 25_557_032 + overhead);
    assert_eq!(
        report.macs, 4_089_184_256,
        "ResNet-50's MACs: α products are not counted"
    );
}

/// iResNet at the paper's 3002 layers on CIFAR: 1000 bottlenecks (333-334-333) plus the
/// stem conv and the classifier on the main path; one projection per stage.
#[test]
fn iresnet_cifar_3002_checks() {
    let (checked, report) = compile("iresnet-cifar", &["depth=3002"]);
    let graph = &checked.elaborated.graph;
    assert_eq!(report.output, Some(shape(10, 1, 1)));
    let layers: Vec<NodeId> = find(graph, |op| is_conv(op) || is_linear(op));
    let (shortcut, main): (Vec<NodeId>, Vec<NodeId>) = layers
        .into_iter()
        .partition(|&id| name(graph, id).contains(".shortcut."));
    assert_eq!(main.len(), 3002);
    assert_eq!(shortcut.len(), 3);
    let pools: Vec<&str> = find(graph, |op| matches!(op, Op::MaxPool { .. }))
        .into_iter()
        .map(|id| name(graph, id))
        .collect();
    // Only the Start blocks of the two downsampling stages pool, on their shortcut.
    assert_eq!(pools.len(), 2, "{pools:?}");
    for (pool, stage) in pools.iter().zip(["layer2.0.", "layer3.0."]) {
        assert!(
            pool.starts_with(stage) && pool.contains(".shortcut."),
            "{pools:?}"
        );
    }
    for (stage, blocks) in [("layer1", 333), ("layer2", 334), ("layer3", 333)] {
        let convs = main
            .iter()
            .filter(|&&id| name(graph, id).starts_with(stage))
            .count();
        assert_eq!(convs, 3 * blocks, "{stage}");
    }
    // One End block per stage: BN → ReLU after its add, the only ReLUs on the main path.
    let last = ["layer1.332", "layer2.333", "layer3.332"];
    for end in last {
        let relu = format!("{end}.relu1");
        assert!(
            nodes(graph).into_iter().any(|id| name(graph, id) == relu),
            "{relu}"
        );
    }
    // Per stage 5w·C_in + 47w² + 44w + (n − 3)(17w² + 12w).
    let stage = |w: u64, c_in: u64, n: u64| {
        5 * w * c_in + 47 * w * w + 44 * w + (n - 3) * (17 * w * w + 12 * w)
    };
    assert_eq!(
        stage_params(&report),
        [
            ("conv1".to_string(), 464),
            ("layer1".to_string(), stage(16, 16, 333)),
            ("layer2".to_string(), stage(32, 64, 334)),
            ("layer3".to_string(), stage(64, 128, 333)),
        ]
    );
    assert_eq!(report.params, 30_933_786);
    // The same layout at ResNet-164's depth: 18 bottlenecks per stage.
    let (shallow, report) = compile("iresnet-cifar", &["depth=164"]);
    let graph = &shallow.elaborated.graph;
    let main = find(graph, |op| is_conv(op) || is_linear(op))
        .into_iter()
        .filter(|&id| !name(graph, id).contains(".shortcut."))
        .count();
    assert_eq!(main, 164);
    assert_eq!(
        report.params,
        464 + stage(16, 16, 18) + stage(32, 64, 18) + stage(64, 128, 18) + 2_570
    );
}
