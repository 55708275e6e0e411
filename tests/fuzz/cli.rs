//! The `resc` binary's front-end commands (`check`, `graph`, `explain`, `fmt`, `data
//! info`, `lsp`) on arguments of every kind: models of the zoo, damaged copies of them,
//! paths that are missing, directories or devices, `--set` overrides, flags with values
//! they do not take, flags that do not exist, and non-ASCII text.
//!
//! Properties (issue 15: "no `panicked at` and no exit 134 from any command on any
//! input"): the process exits by itself with one of the documented codes (0 to 4),
//! and says nothing about a panic.
//!
//! Every process runs with its data and cache directories in a temporary directory,
//! and `fmt` only ever sees copies, so nothing of the checkout or the user is touched.

use super::{config, hostile, root, zoo};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use std::path::Path;
use std::process::{Command, Stdio};

/// Runs `resc` with `args` in the crate root, with `home` as its data and cache
/// directories and no input, and checks how it ended.
fn check_run(args: &[String], home: &Path) -> Result<(), TestCaseError> {
    let out = Command::new(env!("CARGO_BIN_EXE_resc"))
        .args(args)
        .env("RESC_DATA", home.join("data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("HOME", home)
        .current_dir(root())
        .stdin(Stdio::null())
        .output()
        .expect("the resc binary runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    prop_assert!(
        out.status.code().is_some_and(|c| (0..=4).contains(&c)),
        "{args:?} ended with {:?}:\n{stderr}",
        out.status
    );
    prop_assert!(
        !stderr.contains("panicked at"),
        "{args:?} panicked:\n{stderr}"
    );
    Ok(())
}

/// A file argument: `{model}` stands for a zoo model, `{copy}` for a copy of one (that
/// `fmt` may rewrite), `{damaged}` for a copy with a line left out.
#[rustfmt::skip]
const FILES: &[&str] = &[
    "{model}", "{model}", "{copy}", "{damaged}", "models", "missing.resnet", "", "-",
    "/dev/null", "/dev/zero", "tests/hostile/models/empty.resnet", "é 🙂.resnet",
];

#[rustfmt::skip]
const FLAGS: &[&str] = &[
    "--format", "human", "json", "xml", "--emit", "dot", "text", "plan", "--opt", "--plain",
    "--passes", "--network", "nope", "--set", "depth=20", "classes=0", "--set=k=2", "--",
    "--help", "-h", "--version", "--foo", "🙂", "--data-dir", "--check",
];

#[rustfmt::skip]
const DATA: &[&str] = &[
    "digits", "synthetic", "synthetic:classes=3,shape=1x4x4,train=6,test=3", "cifar10",
    "cifar100", "synthetic:shape=0x1x1", "synthetic:classes=99999999999999999999",
    "synthetic:train=18446744073709551615", "", "models", "/dev/null",
];

#[rustfmt::skip]
const CODES: &[&str] = &["E0101", "e0209", "E0606", "E9999", "E", "E01011", "", "🙂", "0101"];

fn command() -> impl Strategy<Value = Vec<&'static str>> {
    let file = prop::sample::select(FILES);
    let flags = prop::collection::vec(prop::sample::select(FLAGS), 0..5);
    prop_oneof![
        3 => (prop::sample::select(&["check", "graph"][..]), file.clone(), flags.clone())
            .prop_map(|(c, f, flags)| [vec![c, f], flags].concat()),
        1 => (prop::sample::select(CODES), flags.clone())
            .prop_map(|(code, flags)| [vec!["explain", code], flags].concat()),
        1 => (file, flags.clone()).prop_map(|(f, flags)| [vec!["fmt", f], flags].concat()),
        1 => (prop::sample::select(DATA), flags.clone())
            .prop_map(|(d, flags)| [vec!["data", "info", d], flags].concat()),
        1 => flags.clone().prop_map(|flags| [vec!["lsp"], flags].concat()),
        1 => flags,
    ]
}

/// Writes the copies a command may name and returns its arguments.
fn arguments(words: &[&str], model: &super::ZooModel, home: &Path) -> Vec<String> {
    let copy = home.join(model.path.file_name().expect("a file name"));
    std::fs::write(&copy, &model.text).expect("a copy");
    let damaged = home.join("damaged.resnet");
    let mut lines: Vec<&str> = model.text.lines().collect();
    lines.remove(lines.len() / 2);
    std::fs::write(&damaged, lines.join("\n")).expect("a damaged copy");
    let is_fmt = words.first() == Some(&"fmt");
    words
        .iter()
        .map(|word| match *word {
            // `fmt` rewrites what it is given: only ever copies.
            "{model}" | "{copy}" if is_fmt => copy.display().to_string(),
            "{model}" => model.path.display().to_string(),
            "{copy}" => copy.display().to_string(),
            "{damaged}" => damaged.display().to_string(),
            "models" | "tests/hostile/models/empty.resnet" if is_fmt => {
                damaged.display().to_string()
            }
            other => other.to_string(),
        })
        .collect()
}

proptest! {
    #![proptest_config(config(128, 0xc11a_2026))]

    #[test]
    fn front_end_commands_end_with_a_documented_code(
        words in command(),
        model in 0..zoo().len(),
    ) {
        let home = tempfile::tempdir().expect("a temporary directory");
        let args = arguments(&words, &zoo()[model], home.path());
        check_run(&args, home.path())?;
    }
}

/// Every model of `tests/hostile/models/` through `check`, `graph --emit text --opt`
/// and `fmt --check` (on a copy).
#[test]
fn hostile_models_through_the_binary() {
    let home = tempfile::tempdir().unwrap();
    for (path, bytes) in hostile("models") {
        let copy = home.path().join(path.file_name().unwrap());
        std::fs::write(&copy, &bytes).unwrap();
        let copy = copy.display().to_string();
        for args in [
            vec!["check", &copy],
            vec!["graph", &copy, "--emit", "text", "--opt"],
            vec!["fmt", "--check", &copy],
        ] {
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            if let Err(e) = check_run(&args, home.path()) {
                panic!("{}: {e}", path.display());
            }
        }
    }
}
