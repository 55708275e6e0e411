//! UI tests: every `tests/ui/**/*.resnet` is compiled, and what a user would see is
//! compared with the file next to it: the rendered diagnostics (`.stderr`) when the
//! model fails, or the `resc check` table (`.stdout`) when it compiles.
//!
//! `RESC_BLESS=1 cargo test --test ui` (re)writes the expected files instead, and deletes
//! those whose input is gone (`tests/common/snapshot.rs`).
//!
//! A first line `# args: --set depth=27 --network foo` passes options as on the command
//! line. Files under a directory named `auxiliary/` are only imported by other tests and
//! are not compiled on their own.

use common::snapshot::{self, Snapshots};
use resc::check::Report;
use resc::diag::{render, ALL_CODES};
use resc::driver::{compile_file, FsLoader, Options};
use std::fs;
use std::path::{Path, PathBuf};

mod common;

const UI_DIR: &str = "tests/ui";

/// The UI tests: `tests/ui/**/*.resnet` outside `auxiliary/`, with a `.stderr` or a
/// `.stdout` beside each.
fn suite() -> Snapshots {
    Snapshots::new(UI_DIR, &["stderr", "stdout"], "--test ui")
        .skipping(&["auxiliary"])
        .at_least(20)
}

fn ui_files() -> Vec<PathBuf> {
    suite().inputs()
}

/// Reads the `# args:` directive of the first line into compile options.
fn options(text: &str) -> Result<Options, String> {
    let mut options = Options::default();
    if text.lines().skip(1).any(|l| l.starts_with("# args:")) {
        return Err("`# args:` must be the first line".into());
    }
    let Some(args) = text.lines().next().and_then(|l| l.strip_prefix("# args:")) else {
        return Ok(options);
    };
    let mut words = args.split_whitespace();
    while let Some(flag) = words.next() {
        let value = words
            .next()
            .ok_or_else(|| format!("`{flag}` needs a value"))?;
        match flag {
            "--set" => options.overrides.push(value.to_string()),
            "--network" => options.network = Some(value.to_string()),
            other => return Err(format!("unknown flag `{other}` in `# args:`")),
        }
    }
    Ok(options)
}

/// What the compiler shows for one file, and the extension of the file that holds it.
fn run_one(path: &Path) -> Result<(String, &'static str), String> {
    let text = fs::read_to_string(path).map_err(|e| format!("cannot read: {e}"))?;
    let options = options(&text)?;
    let compilation =
        compile_file(path, &options, &mut FsLoader).map_err(|e| format!("cannot compile: {e}"))?;
    Ok(match &compilation.result {
        Ok(checked) => {
            let elaborated = &checked.elaborated;
            if let Some(error) = elaborated.warnings.iter().find(|d| d.is_error()) {
                return Err(format!("an error among the warnings: {}", error.message));
            }
            let warnings = render::to_string(&compilation.sources, &elaborated.warnings);
            let report = Report::new(&elaborated.network, &elaborated.graph, &checked.info);
            (format!("{warnings}{}", report.to_table()), "stdout")
        }
        Err(diags) => {
            if diags.is_empty() {
                return Err("compilation failed without any diagnostic".into());
            }
            (render::to_string(&compilation.sources, diags), "stderr")
        }
    })
}

#[test]
fn ui() {
    let mut suite = suite();
    for path in &suite.inputs() {
        match run_one(path) {
            Ok((actual, ext)) => suite.compare(path, ext, &actual),
            Err(why) => suite.fail(path, why),
        }
    }
    suite.finish();
}

/// Every code has an explanation for `resc explain` and a test that shows it: a UI
/// test for the codes of the compiler (an error's `.stderr`, a warning's `.stdout`), an
/// integration test (`tests/*.rs`, asserting the code's `[EXXXX]` in what the command
/// printed) for the codes of weights, data and runs.
#[test]
fn every_code_is_explained_and_tested() {
    let files = ui_files();
    let mut expected: Vec<String> = files
        .iter()
        .flat_map(|p| ["stderr", "stdout"].map(|ext| p.with_extension(ext)))
        .filter_map(|p| fs::read_to_string(p).ok())
        .collect();
    for entry in fs::read_dir("tests").expect("tests/ is readable") {
        let path = entry.expect("a readable directory entry").path();
        if path.extension().is_some_and(|e| e == "rs") && !path.ends_with("ui.rs") {
            expected.push(fs::read_to_string(&path).expect("a readable test file"));
        }
    }
    let mut problems = Vec::new();
    for code in ALL_CODES {
        let name = code.as_str();
        let explanation = code.explanation();
        if !explanation.starts_with(&format!("# {name}")) || explanation.trim().lines().count() < 3
        {
            problems.push(format!(
                "{name}: the explanation must start with `# {name}` and say more"
            ));
        }
        let tag = format!("[{name}]");
        if !expected.iter().any(|text| text.contains(&tag)) {
            problems.push(format!(
                "{name}: no UI test under {UI_DIR} nor test in tests/*.rs shows `{tag}`"
            ));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn args_directive() {
    let o =
        options("# args: --set depth=27 --network foo --set classes=10\nnetwork foo {}").unwrap();
    assert_eq!(
        o.overrides,
        vec!["depth=27".to_string(), "classes=10".to_string()]
    );
    assert_eq!(o.network.as_deref(), Some("foo"));
    let none = options("# a comment\n").unwrap();
    assert!(none.overrides.is_empty() && none.network.is_none());
    assert!(options("# args: --set").is_err());
    assert!(options("# args: --bogus x").is_err());
    assert!(options("# a model\n# args: --set depth=20\n").is_err());
}

#[test]
fn diff_marks_changed_lines() {
    let d = snapshot::diff("a\nb\nc\n", "a\nx\nc\n");
    assert_eq!(
        d,
        "@@ expected line 1, actual line 1 @@\n   a\n - b\n + x\n   c\n"
    );
    let far = snapshot::diff(
        "1\n2\n3\n4\n5\n6\n7\n8\n9\n",
        "1\n2\n3\n4\n5\n6\n7\n8\nnine",
    );
    assert_eq!(
        far,
        "@@ expected line 6, actual line 6 @@\n   6\n   7\n   8\n - 9\n + nine (no newline at the end)\n"
    );
}
