//! Issue 21, point 2: blocks that return several tensors, taken apart with
//! `let [a, b] = …`. The test model `tests/ui/ok/multi-output-blocks.resnet` writes an
//! HRNet-style two-branch exchange module as one block (`exchanged`) and the same
//! network unrolled with `let`s (`unrolled`); both must count exactly the same, and
//! exactly what the hand derivation below says.
//!
//! Input [3, 32, 32]. A conv has out·(in/groups)·k² weights (no bias) and
//! out·H'·W'·(in·k²) MACs; a BN 2·C parameters; a linear in·out + out parameters and
//! in·out MACs; relu, add, upsample, concat, avgpool and flatten none of either.
//!
//! | layer                                     | output        | params | MACs       |
//! | ----------------------------------------- | ------------- | -----: | ---------: |
//! | stem conv 3→16, 3×3                       | [16, 32, 32]  |    432 |    442,368 |
//! | bn 16                                     |               |     32 |          0 |
//! | conv 16→32, 3×3, stride 2                 | [32, 16, 16]  |  4,608 |  1,179,648 |
//! | bn 32                                     |               |     64 |          0 |
//! | exchange, high: conv 16→16, 3×3 + bn      | [16, 32, 32]  |  2,336 |  2,359,296 |
//! | exchange, low: conv 32→32, 3×3 + bn       | [32, 16, 16]  |  9,280 |  2,359,296 |
//! | exchange, low→high: conv 32→16, 1×1 + bn  | [16, 16, 16]  |    544 |    131,072 |
//! | exchange, high→low: conv 16→32, 3×3/2 + bn| [32, 16, 16]  |  4,672 |  1,179,648 |
//! | one exchange                              |               | 16,832 |  6,029,312 |
//! | two exchanges                             |               | 33,664 | 12,058,624 |
//! | head: concat [48, 32, 32], avgpool, linear 48→10 | [10, 1, 1] | 490 |       480 |
//!
//! Total: 432 + 32 + 4,608 + 64 + 33,664 + 490 = 39,290 parameters;
//! 442,368 + 1,179,648 + 12,058,624 + 480 = 13,681,120 MACs.

use resc::check::Report;
use resc::driver::{compile_file, FsLoader, Options};
use std::path::Path;

const MODEL: &str = "tests/ui/ok/multi-output-blocks.resnet";

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
fn an_exchange_block_counts_as_the_unrolled_network_and_the_hand_derivation() {
    let exchanged = count("exchanged");
    assert_eq!(exchanged, count("unrolled"));
    assert_eq!(exchanged, (39_290, 13_681_120));
}

/// Each destructured name carries its own shape (what the language server shows).
#[test]
fn each_destructured_name_has_its_own_shape() {
    let options = Options {
        network: Some("exchanged".to_string()),
        ..Options::default()
    };
    let compilation = compile_file(Path::new(MODEL), &options, &mut FsLoader).expect("readable");
    let Ok(checked) = compilation.result else {
        panic!("`exchanged` does not compile")
    };
    let text = std::fs::read_to_string(MODEL).expect("readable");
    let shapes: Vec<(String, String)> = checked
        .elaborated
        .list_shapes
        .names()
        .map(|(span, shape)| {
            let name = &text[span.start as usize..span.end as usize];
            (name.to_string(), shape.to_string())
        })
        .collect();
    let expect = [
        ("h1", "[16, 32, 32]"),
        ("l1", "[32, 16, 16]"),
        ("h2", "[16, 32, 32]"),
        ("l2", "[32, 16, 16]"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(shapes, expect);
}
