//! Per-pass snapshot tests: each `tests/passes/<pass>/*.resnet` is compiled, the pass named
//! by its folder runs alone, and the IR before and after is compared with the `.ir` file
//! beside it (`tests/common/snapshot.rs`). `RESC_BLESS=1 cargo test --test passes` rewrites
//! the snapshots.
//! A second test runs the whole inference pipeline over every zoo model.

use common::snapshot::{files, Snapshots};
use resc::driver::{compile_file, FsLoader, Options};
use resc::ir::dump;
use resc::passes;
use std::path::Path;

mod common;

#[test]
fn pass_snapshots() {
    // A snapshot per pass, at least.
    let mut snapshots = Snapshots::new("tests/passes", &["ir"], "--test passes").at_least(5);
    for input in &snapshots.inputs() {
        let pass_name = input
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or("");
        let pass = passes::all()
            .into_iter()
            .find(|p| p.name == pass_name)
            .unwrap_or_else(|| panic!("{}: no pass named `{pass_name}`", input.display()));
        let compilation =
            compile_file(input, &Options::default(), &mut FsLoader).expect("readable");
        let mut checked = match compilation.result {
            Ok(c) => c,
            Err(d) => panic!(
                "{} does not check: {}",
                input.display(),
                resc::diag::render::to_string(&compilation.sources, &d)
            ),
        };
        let before = dump(&checked.elaborated.graph);
        let reports = passes::run_pipeline(&mut checked.elaborated.graph, &[pass]);
        let after = dump(&checked.elaborated.graph);
        assert!(
            reports[0].changed,
            "{}: `{pass_name}` changed nothing",
            input.display()
        );
        let actual = format!("before:\n{before}\nafter `{pass_name}`:\n{after}");
        snapshots.compare(input, "ir", &actual);
    }
    snapshots.finish();
}

/// The inference pipeline keeps every zoo model well formed, with the same output shape
/// and parameter count (the structural passes remove no parameters).
#[test]
fn pipeline_over_the_zoo() {
    for model in files(Path::new("models"), "resnet") {
        let compilation =
            compile_file(&model, &Options::default(), &mut FsLoader).expect("readable");
        let mut checked = match compilation.result {
            Ok(checked) => checked,
            // Block libraries define no network (E0213); any other failure is a bug.
            Err(diags) if diags.iter().all(|d| d.code == resc::diag::Code::E0213) => continue,
            Err(diags) => panic!(
                "{} does not compile:\n{}",
                model.display(),
                resc::diag::render::to_string(&compilation.sources, &diags)
            ),
        };
        let before = resc::check::check(&checked.elaborated.graph).expect("checks");
        let params = |info: &resc::check::Info| info.costs.values().map(|c| c.params).sum::<u64>();
        passes::run_pipeline(&mut checked.elaborated.graph, &passes::inference());
        let after = resc::check::check(&checked.elaborated.graph).expect("still checks");
        assert_eq!(params(&before), params(&after), "{}", model.display());
        assert!(
            resc::ir::verify(&checked.elaborated.graph).is_empty(),
            "{}",
            model.display()
        );
    }
}
