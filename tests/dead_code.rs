//! Issue 21, point 3: a tensor computed and never used is a warning (E0216), and its
//! nodes are not counted. The issue's two networks (`tests/ui/warn/`) counted every
//! node: 27,648 and 722 parameters; 2,304 and 146 reach the output. The `dead-nodes`
//! pass removes exactly the nodes the report leaves out.

use resc::check::{self, Report};
use resc::diag::Code;
use resc::driver::{compile_file, Checked, FsLoader, Options};
use resc::passes;
use std::path::Path;

fn checked(path: &str) -> Checked {
    let compilation =
        compile_file(Path::new(path), &Options::default(), &mut FsLoader).expect("readable");
    match compilation.result {
        Ok(checked) => checked,
        Err(diags) => panic!("{path} does not compile: {diags:?}"),
    }
}

#[test]
fn the_issues_networks_count_only_what_reaches_the_output() {
    let cases = [
        (
            "tests/ui/warn/E0216-accumulate-in-repeat.resnet",
            27_648,
            2_304,
        ),
        ("tests/ui/warn/E0216-unused-let.resnet", 722, 146),
    ];
    for (path, every_node, live) in cases {
        let mut checked = checked(path);
        let e = &checked.elaborated;
        let all: u64 = checked.info.costs.values().map(|c| c.params).sum();
        assert_eq!(all, every_node, "{path}: the issue's count of every node");
        let report = Report::new(&e.network, &e.graph, &checked.info);
        assert_eq!(report.params, live, "{path}");
        let codes: Vec<Code> = e.warnings.iter().map(|w| w.code).collect();
        assert_eq!(codes, [Code::E0216], "{path}: one warning");
        assert!(!e.warnings[0].is_error(), "{path}: a warning, not an error");

        // The dead-node pass agrees with the report: it removes what the report leaves
        // out, and the report of the pruned graph is the same.
        let dce = passes::all()
            .into_iter()
            .find(|p| p.name == "dead-nodes")
            .expect("the dead-node pass");
        let graph = &mut checked.elaborated.graph;
        assert!((dce.run)(graph), "{path}: dead nodes to remove");
        let info = check::check(graph).expect("the pruned graph checks");
        let all: u64 = info.costs.values().map(|c| c.params).sum();
        assert_eq!(all, live, "{path}: after dead-node removal");
        let pruned = Report::new(&checked.elaborated.network, graph, &info);
        assert_eq!(
            (pruned.nodes, pruned.macs),
            (report.nodes, report.macs),
            "{path}"
        );
    }
}

/// The fix the warning suggests: the repetitions collected with `let parts = repeat …`
/// and summed; every conv counts, and nothing is reported.
#[test]
fn a_collected_accumulation_is_live() {
    let checked = checked("tests/ui/ok/collect-repeat.resnet");
    let e = &checked.elaborated;
    assert!(e.warnings.is_empty(), "{:?}", e.warnings);
    let report = Report::new(&e.network, &e.graph, &checked.info);
    let all: u64 = checked.info.costs.values().map(|c| c.params).sum();
    assert_eq!(report.params, all);
    assert_eq!(report.params, 12 * 2_304 + 3 * 16 * 16);
}

/// The zoo has no unused tensors: no model warns.
#[test]
fn no_zoo_model_warns() {
    let mut paths: Vec<_> = std::fs::read_dir("models")
        .expect("models/")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "resnet"))
        .collect();
    paths.sort();
    for path in paths {
        let compilation =
            compile_file(&path, &Options::default(), &mut FsLoader).expect("readable");
        if let Ok(checked) = compilation.result {
            let warnings = &checked.elaborated.warnings;
            assert!(warnings.is_empty(), "{}: {warnings:?}", path.display());
        }
    }
}
