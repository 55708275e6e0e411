//! `--set` overrides on the zoo's models through `resc::driver::compile_text`: names of
//! the network's parameters and others, values of every kind and of no kind (huge and
//! odd numbers, NaN and infinities, lists nested deeply or not closed, expressions,
//! non-ASCII text, white space and line breaks), `=` missing or repeated.
//!
//! Properties: the compilation ends, with a network or with errors whose spans lie in
//! the files they name and which render with their codes.

use super::{check_compilation, config, hostile, zoo, ZooLoader};
use proptest::prelude::*;
use resc::driver::{compile_text, Options};

#[rustfmt::skip]
const NAMES: &[&str] = &[
    "", " depth ", "DEPTH", "dépth", "🙂", "depth\n", "depth.x", "--network", "classes ",
    "x y", "=",
];

#[rustfmt::skip]
const VALUES: &[&str] = &[
    // Numbers, in and out of range, and what is almost one.
    "0", "1", "2", "3", "8", "10", "16", "20", "26", "28", "-1", "-7", "-0", "+5", "1_0",
    "1__0", "_1", "1_", "0x10", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "99999999999999999999", "4294967296", "0.0", "0.5", "1.", "-.5",
    ".", "-", "1e-5", "1e300", "1e999", "-1e999", "0.1e-400", "1e", "NaN", "nan", "inf",
    "-inf", "infinity", "１２", "٣",
    // Booleans and symbols.
    "true", "false", "True", "basic", "bottleneck", "both", "a_b", "_", "x1", "é", "🙂",
    // Lists.
    "[]", "[ ]", "[,]", "[1,,2]", "[1, 2", "1, 2]", "[3, 4, 6, 3]", "[[1], [2]]", "[[1, 2]]",
    "[true, 0.5, x]", "][",
    // Expressions, as the language would read them.
    "2+3", "(1)", "depth*2", "-(-1)", "if true then 1 else 2", "len([1])",
    // White space and nothing.
    "", " ", " 3 ", "\t3", "3\n", "\n", "\r\n4",
];

/// A value: one of the above, a list of them, or lists nested `n` deep.
fn value() -> impl Strategy<Value = String> {
    let plain = prop::sample::select(VALUES).prop_map(str::to_string);
    prop_oneof![
        8 => (0..70i64).prop_map(|n| n.to_string()),
        2 => (0..20u32).prop_map(|n| format!("0.{n}")),
        8 => plain.clone(),
        2 => prop::collection::vec(plain, 0..5).prop_map(|items| format!("[{}]", items.join(", "))),
        1 => prop_oneof![1..40usize, Just(5000)]
            .prop_map(|n| format!("{}1{}", "[".repeat(n), "]".repeat(n))),
        1 => "\\PC{0,12}",
    ]
}

/// One `--set` argument for a network whose parameters are `params`.
fn override_text(params: Vec<String>) -> impl Strategy<Value = String> {
    let name = prop_oneof![
        6 => prop::sample::select(params),
        1 => prop::sample::select(NAMES).prop_map(str::to_string),
    ];
    prop_oneof![
        20 => (name.clone(), value()).prop_map(|(n, v)| format!("{n}={v}")),
        1 => name,
        1 => (value(), value()).prop_map(|(a, b)| format!("{a}={b}={a}")),
        1 => "\\PC{0,16}",
    ]
}

/// A model of the zoo and one to three overrides for it, sometimes a `--network`.
fn case() -> impl Strategy<Value = (usize, Vec<String>, Option<String>)> {
    let with_params: Vec<usize> = (0..zoo().len())
        .filter(|&m| !zoo()[m].params.is_empty())
        .collect();
    prop::sample::select(with_params).prop_flat_map(|model| {
        let params = zoo()[model].params.clone();
        let network = prop::option::weighted(
            0.1,
            prop::sample::select(vec!["", "nope", "basic", "wrn", "resnet20", "é"]),
        )
        .prop_map(|n| n.map(str::to_string));
        (
            Just(model),
            prop::collection::vec(override_text(params), 1..3),
            network,
        )
    })
}

proptest! {
    #![proptest_config(config(384, 0x5e70_2026))]

    #[test]
    fn overrides_compile_or_fail_with_codes((model, overrides, network) in case()) {
        let model = &zoo()[model];
        let options = Options { network, overrides };
        let compilation = compile_text(&model.path, model.text.clone(), &options, &mut ZooLoader);
        check_compilation(&compilation)?;
    }
}

/// Every file of `tests/hostile/set/` as one override (its text without the final line
/// break) on every model of the zoo that has the parameter it names.
#[test]
fn hostile_overrides() {
    for (path, bytes) in hostile("set") {
        let text = String::from_utf8(bytes).expect("overrides are text");
        let text = text.strip_suffix('\n').unwrap_or(&text).to_string();
        let name = text.split('=').next().unwrap_or_default().trim();
        for model in zoo().iter().filter(|m| m.params.iter().any(|p| p == name)) {
            let options = Options {
                network: None,
                overrides: vec![text.clone()],
            };
            let compilation =
                compile_text(&model.path, model.text.clone(), &options, &mut ZooLoader);
            if let Err(e) = check_compilation(&compilation) {
                panic!("{} on {}: {e}", path.display(), model.path.display());
            }
        }
    }
}
