//! The ImageNet model zoo (`models/*.resnet`) against the reference implementations.
//!
//! Every model must report the parameter count of the code it reproduces, to the unit,
//! and its multiply-accumulates of convolutions and linear layers at 224×224. The
//! expected figures were measured with PyTorch (torchvision 0.29.2, timm 1.0.31, and
//! the iResNet authors' code) by `tests/reference/param_counts.py`; they are in
//! `tests/reference/param_counts.json`, repeated here so that a change in either place
//! shows up as a failure rather than silently moving the target.

mod common;

use common::*;
use resc::driver::Checked;
use resc::ir::Shape;

/// The zoo: model file, the reference model, its parameters and its MACs.
const ZOO: &[(&str, &str, u64, u64)] = &[
    (
        "resnet18",
        "torchvision resnet18",
        11_689_512,
        1_814_073_344,
    ),
    (
        "resnet34",
        "torchvision resnet34",
        21_797_672,
        3_663_761_408,
    ),
    (
        "resnet50",
        "torchvision resnet50",
        25_557_032,
        4_089_184_256,
    ),
    (
        "resnet101",
        "torchvision resnet101",
        44_549_160,
        7_801_405_440,
    ),
    (
        "resnet152",
        "torchvision resnet152",
        60_192_808,
        11_513_626_624,
    ),
    (
        "resnext50-32x4d",
        "torchvision resnext50_32x4d",
        25_028_904,
        4_230_479_872,
    ),
    (
        "wide-resnet50-2",
        "torchvision wide_resnet50_2",
        68_883_240,
        11_398_021_120,
    ),
    (
        "densenet121",
        "torchvision densenet121",
        7_978_856,
        2_834_161_664,
    ),
    ("seresnet50", "timm seresnet50", 28_088_024, 4_091_699_200),
    // ECA's 1-D channel convolutions add k = 5 or 7 weights per block (16 blocks: 86)
    // and count as convolutions: C·k MACs each.
    (
        "ecaresnet50d",
        "timm ecaresnet50d",
        25_576_350,
        4_328_912_640,
    ),
    // The same network without ECA; its avg-down pools use `ceil_mode` as timm's do.
    ("resnet50d", "timm resnet50d", 25_576_264, 4_328_824_832),
    ("cspresnet50", "timm cspresnet50", 21_616_168, 3_458_752_512),
    (
        "iresnet50",
        "iduta/iresnet iresnet50",
        25_557_032,
        4_127_719_424,
    ),
];

#[test]
fn every_model_has_the_reference_parameter_count_and_macs() {
    let zoo = ZOO
        .iter()
        .map(|&(file, reference, params, macs)| (file, &[][..], reference, params, macs));
    assert_matches_references(zoo, shape(3, 224, 224), shape(1000, 1, 1));
}

#[test]
fn resnet50_costs_about_4_1_gmacs() {
    let (_, report) = compile("resnet50", &[]);
    assert_eq!(report.params, 25_557_032);
    let gmacs = report.macs as f64 / 1e9;
    assert!(
        (gmacs - 4.09).abs() / 4.09 < 0.01,
        "resnet50 reports {gmacs} GMACs, expected about 4.09"
    );
}

/// The per-stage parameters of ResNet-50 (torchvision's `layer1` … `layer4`).
#[test]
fn resnet50_stages_have_torchvision_parameter_counts() {
    let (_, report) = compile("resnet50", &[]);
    let stages: Vec<(&str, u64)> = report
        .groups
        .iter()
        .filter(|g| g.is_stage)
        .map(|g| (g.name.as_str(), g.params))
        .collect();
    assert_eq!(
        stages,
        [
            ("conv1", 9_536),
            ("layer1", 215_808),
            ("layer2", 1_219_584),
            ("layer3", 7_098_368),
            ("layer4", 14_964_736)
        ]
    );
}

/// timm's CrossStage parameter counts, per stage (see notes/reference-architectures.md).
#[test]
fn cspresnet50_stages_have_timm_parameter_counts() {
    let (_, report) = compile("cspresnet50", &[]);
    let stages: Vec<u64> = report
        .groups
        .iter()
        .filter(|g| g.is_stage)
        .map(|g| g.params)
        .collect();
    assert_eq!(stages, [9_536, 227_840, 1_053_952, 5_913_088, 13_386_752]);
}

/// Fewer classes shrink only the classifier: (F + 1)·990 parameters fewer, F the pooled
/// width. The 10-class figures are PyTorch's.
#[test]
fn the_class_count_only_changes_the_classifier() {
    for (file, params) in [
        ("resnet18", 11_181_642),
        ("resnet50", 23_528_522),
        ("densenet121", 6_964_106),
        ("seresnet50", 26_059_514),
        ("ecaresnet50d", 23_547_840),
        ("resnet50d", 23_547_754),
        ("cspresnet50", 20_601_418),
        ("iresnet50", 23_528_522),
    ] {
        let (_, report) = compile(file, &["classes=10"]);
        assert_eq!(
            report.output,
            Some(shape(10, 1, 1)),
            "{file}: output with 10 classes"
        );
        assert_eq!(report.params, params, "{file}: parameters with 10 classes");
    }
}

/// The parametric iResNet at the official depths. 50/101/152 equal torchvision's ResNets
/// of the same depth: iResNet moves BNs around but keeps their number (n per stage of n
/// blocks) and its max-pool projection has the projection's conv and BN. The deeper ones
/// follow from the same per-block count with the official stage lengths.
#[test]
fn parametric_iresnet_matches_the_official_depths() {
    for (depth, params) in [
        (50, 25_557_032),
        (101, 44_549_160),
        (152, 60_192_808),
        (200, 64_673_832),
        (302, 96_585_512),
        (404, 124_524_328),
        (1001, 255_597_864),
    ] {
        let set = format!("depth={depth}");
        let (_, report) = compile("iresnet", &[&set]);
        assert_eq!(
            report.output,
            Some(shape(1000, 1, 1)),
            "iresnet depth {depth}: output"
        );
        assert_eq!(report.params, params, "iresnet depth {depth}: parameters");
    }
}

/// `iresnet` at depth 50 is `iresnet50`, node for node.
#[test]
fn parametric_iresnet_50_is_iresnet50() {
    let (fixed, fixed_report) = compile("iresnet50", &[]);
    let (parametric, parametric_report) = compile("iresnet", &["depth=50"]);
    let names = |c: &Checked| -> Vec<String> {
        let graph = &c.elaborated.graph;
        graph
            .nodes()
            .map(|id| graph.node(id).name.clone())
            .collect()
    };
    assert_eq!(names(&fixed), names(&parametric));
    assert_eq!(fixed_report.params, parametric_report.params);
    assert_eq!(fixed_report.macs, parametric_report.macs);
}

/// iResNet-404 (the paper's deepest ImageNet net) elaborates and checks; its stages
/// keep ResNet's output shapes.
#[test]
fn iresnet_404_checks() {
    let (_, report) = compile("iresnet", &["depth=404"]);
    let shapes: Vec<(String, Option<Shape>)> = stage_shapes(&report);
    let expected = [
        ("conv1", shape(64, 112, 112)),
        ("layer1", shape(256, 56, 56)),
        ("layer2", shape(512, 28, 28)),
        ("layer3", shape(1024, 14, 14)),
        ("layer4", shape(2048, 7, 7)),
    ];
    let expected: Vec<(String, Option<Shape>)> = expected
        .iter()
        .map(|(n, s)| (n.to_string(), Some(*s)))
        .collect();
    assert_eq!(shapes, expected);
}

#[test]
fn parametric_iresnet_rejects_other_depths() {
    let rendered = compile_error("iresnet", &["depth=77"]);
    assert!(
        rendered.contains("E0214"),
        "expected an assertion failure, got:\n{rendered}"
    );
    assert!(
        rendered.contains("iResNet depths are 50, 101, 152"),
        "got:\n{rendered}"
    );
}

/// iResNet's shortcut: the Start block of every stage pools (3×3, stride 2) before its
/// 1×1 projection; no other block has a shortcut layer; the End block of every stage ends
/// with BN → ReLU after its add; the stem has no max-pool.
#[test]
fn iresnet50_uses_max_pool_projections_and_res_stages() {
    let (checked, _) = compile("iresnet50", &[]);
    let graph = &checked.elaborated.graph;
    let names: Vec<String> = graph
        .nodes()
        .map(|id| graph.node(id).name.clone())
        .collect();
    let shortcut_layers: Vec<&str> = names
        .iter()
        .filter(|n| n.contains(".shortcut."))
        .map(String::as_str)
        .collect();
    let mut expected = Vec::new();
    for stage in ["layer1", "layer2", "layer3", "layer4"] {
        for layer in ["maxpool1", "conv1", "bn1"] {
            expected.push(format!("{stage}.0.shortcut.{layer}"));
        }
    }
    assert_eq!(shortcut_layers, expected);
    assert!(
        !names.iter().any(|n| n.starts_with("conv1.maxpool")),
        "the iResNet stem has no max-pool"
    );
    for end in ["layer1.2", "layer2.3", "layer3.5", "layer4.2"] {
        for layer in ["bn3", "relu1"] {
            let name = format!("{end}.{layer}");
            assert!(names.contains(&name), "the End block lacks {name}");
        }
    }
    // The first Middle block of a stage has a ReLU but no BN before its residual.
    assert!(names.contains(&"layer3.1.relu0".to_string()));
    assert!(!names.contains(&"layer3.1.bn0".to_string()));
    assert!(names.contains(&"layer3.2.bn0".to_string()));
    // A Start block normalises inside its residual; an End block after its add.
    assert!(names.contains(&"layer3.0.residual.bn3".to_string()));
    assert!(names.contains(&"layer3.5.bn3".to_string()));
}
