//! Issue 21, point 1: `channels(x)`, `height(x)` and `width(x)` read a tensor's shape
//! during elaboration. An SE block that computes its reduced width from its input
//! (`tests/ui/ok/shape-queries.resnet`, network `by_query`) has exactly the parameters
//! of the same network whose SE blocks are told their width by hand (`by_hand`).

use resc::check::Report;
use resc::driver::{compile_file, FsLoader, Options};
use std::path::Path;

const MODEL: &str = "tests/ui/ok/shape-queries.resnet";

/// The parameters and MACs `resc check --network NETWORK` reports for the test model.
fn count(network: &str) -> (u64, u64) {
    let options = Options {
        network: Some(network.to_string()),
        ..Options::default()
    };
    let compilation = compile_file(Path::new(MODEL), &options, &mut FsLoader).expect("readable");
    let checked = match compilation.result {
        Ok(checked) => checked,
        Err(diags) => panic!("{network} does not compile: {diags:?}"),
    };
    let e = &checked.elaborated;
    assert!(e.warnings.is_empty(), "{network}: {:?}", e.warnings);
    let report = Report::new(&e.network, &e.graph, &checked.info);
    (report.params, report.macs)
}

#[test]
fn an_se_width_read_from_the_input_counts_as_the_hand_written_one() {
    let by_query = count("by_query");
    assert_eq!(by_query, count("by_hand"));
    assert_eq!(by_query.0, 148_676, "parameters of both networks");
}
