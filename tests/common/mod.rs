//! Helpers shared by the integration tests: compile a model of `models/` and look at its
//! graph (the zoo tests), read what the `resc` binary printed, configure the property
//! tests, and the snapshot harness ([`snapshot`]) of the tests whose expected outputs are
//! files. Each test crate uses a subset, hence the `dead_code` allowance.
#![allow(dead_code)]

pub mod snapshot;

use resc::check::Report;
use resc::diag::render;
use resc::driver::{compile_file, Checked, Compilation, FsLoader, Options};
use resc::ir::{Graph, NodeId, Op, Shape};
use std::path::Path;
use std::process::Output;

/// Compiles `models/<file>.resnet` with `--set` overrides, whatever the outcome.
pub fn compile_model(file: &str, overrides: &[&str]) -> Compilation {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let path = root.join("models").join(format!("{file}.resnet"));
    let options = Options {
        network: None,
        overrides: overrides.iter().map(|s| s.to_string()).collect(),
    };
    compile_file(&path, &options, &mut FsLoader)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// Compiles `models/<file>.resnet` with `--set` overrides; panics with the rendered
/// diagnostics if it does not compile.
pub fn compile(file: &str, overrides: &[&str]) -> (Checked, Report) {
    let compilation = compile_model(file, overrides);
    match compilation.result {
        Ok(checked) => {
            let report = Report::new(
                &checked.elaborated.network,
                &checked.elaborated.graph,
                &checked.info,
            );
            (checked, report)
        }
        Err(diags) => panic!(
            "models/{file}.resnet {overrides:?} does not compile:\n{}",
            render::to_string(&compilation.sources, &diags)
        ),
    }
}

/// The diagnostics of a model that must not compile, rendered.
pub fn compile_error(file: &str, overrides: &[&str]) -> String {
    let compilation = compile_model(file, overrides);
    match compilation.result {
        Ok(_) => panic!("models/{file}.resnet {overrides:?} compiled, but it must be rejected"),
        Err(diags) => render::to_string(&compilation.sources, &diags),
    }
}

/// What a run of the `resc` binary printed: its standard output, then its standard error.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The property tests' configuration: `cases` cases from a fixed `seed`, so that
/// `cargo test` is deterministic, unless `PROPTEST_CASES` or `PROPTEST_RNG_SEED` says
/// otherwise; failing cases are not written to disk.
pub fn proptest_config(cases: u32, seed: u64) -> proptest::test_runner::Config {
    let mut config = proptest::test_runner::Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(seed);
    }
    config.failure_persistence = None;
    config
}

pub fn shape(c: u64, h: u64, w: u64) -> Shape {
    Shape { c, h, w }
}

/// Every node of the graph, in insertion order.
pub fn nodes(graph: &Graph) -> Vec<NodeId> {
    graph.nodes().collect()
}

pub fn name(graph: &Graph, id: NodeId) -> &str {
    &graph.node(id).name
}

/// The ids of the nodes whose op satisfies `pred`.
pub fn find(graph: &Graph, pred: impl Fn(&Op) -> bool) -> Vec<NodeId> {
    nodes(graph)
        .into_iter()
        .filter(|&id| pred(&graph.node(id).op))
        .collect()
}

/// The nodes whose name contains `part` (`.shortcut.`), in insertion order.
pub fn named(graph: &Graph, part: &str) -> Vec<NodeId> {
    nodes(graph)
        .into_iter()
        .filter(|&id| name(graph, id).contains(part))
        .collect()
}

/// The node called `full_name`; panics if there is none.
pub fn node(graph: &Graph, full_name: &str) -> NodeId {
    nodes(graph)
        .into_iter()
        .find(|&id| name(graph, id) == full_name)
        .unwrap_or_else(|| panic!("no node `{full_name}`"))
}

pub fn is_conv(op: &Op) -> bool {
    matches!(op, Op::Conv { .. })
}

pub fn is_linear(op: &Op) -> bool {
    matches!(op, Op::Linear { .. })
}

/// The name of a node's only input.
pub fn input_name(graph: &Graph, id: NodeId) -> String {
    let inputs = graph.inputs(id);
    assert_eq!(
        inputs.len(),
        1,
        "{} has {} inputs",
        name(graph, id),
        inputs.len()
    );
    name(graph, inputs[0]).to_string()
}

/// Parameters of the stages the user wrote, in order.
pub fn stage_params(report: &Report) -> Vec<(String, u64)> {
    report
        .groups
        .iter()
        .filter(|g| g.is_stage)
        .map(|g| (g.name.clone(), g.params))
        .collect()
}

/// Output shapes of the stages the user wrote, in order.
pub fn stage_shapes(report: &Report) -> Vec<(String, Option<Shape>)> {
    report
        .groups
        .iter()
        .filter(|g| g.is_stage)
        .map(|g| (g.name.clone(), g.output))
        .collect()
}

/// Asserts that every `(file, overrides, reference, params, MACs)` compiles with the
/// given input and output shapes and the reference's parameters and MACs, listing
/// every model that differs.
pub fn assert_matches_references<'a>(
    zoo: impl IntoIterator<Item = (&'a str, &'a [&'a str], &'a str, u64, u64)>,
    input: Shape,
    output: Shape,
) {
    let mut wrong = Vec::new();
    for (file, overrides, reference, params, macs) in zoo {
        let (_, report) = compile(file, overrides);
        assert_eq!(report.input, Some(input), "{file}: input");
        assert_eq!(report.output, Some(output), "{file}: output");
        if report.params != params || report.macs != macs {
            wrong.push(format!(
                "{file} {overrides:?} ({reference}): params {} (expected {params}), MACs {} (expected {macs})",
                report.params, report.macs
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "models that differ from their reference:\n{}",
        wrong.join("\n")
    );
}
