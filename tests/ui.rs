//! UI tests: every `tests/ui/**/*.resnet` is compiled, and what a user would see is
//! compared with the file next to it: the rendered diagnostics (`.stderr`) when the
//! model fails, or the `resc check` table (`.stdout`) when it compiles.
//!
//! `RESC_BLESS=1 cargo test --test ui` (re)writes the expected files instead.
//!
//! A first line `# args: --set depth=27 --network foo` passes options as on the command
//! line. Files under a directory named `auxiliary/` are only imported by other tests and
//! are not compiled on their own.

use resc::check::Report;
use resc::diag::{render, ALL_CODES};
use resc::driver::{compile_file, FsLoader, Options};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

const UI_DIR: &str = "tests/ui";
const BLESS_VAR: &str = "RESC_BLESS";

/// Makes the crate root the working directory, so that rendered file names are the
/// stable relative paths `tests/ui/...`. Cargo already runs tests there.
fn at_crate_root() {
    if !Path::new(UI_DIR).is_dir() {
        std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate root exists");
    }
}

/// Every `.resnet` file under `dir`, sorted, skipping `auxiliary/` directories.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            if path.file_name().is_some_and(|n| n != "auxiliary") {
                collect(&path, out);
            }
        } else if path.extension().is_some_and(|e| e == "resnet") {
            out.push(path);
        }
    }
}

fn ui_files() -> Vec<PathBuf> {
    at_crate_root();
    let mut files = Vec::new();
    collect(Path::new(UI_DIR), &mut files);
    files
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
            let report = Report::new(&elaborated.network, &elaborated.graph, &checked.info);
            (report.to_table(), "stdout")
        }
        Err(diags) => {
            if diags.is_empty() {
                return Err("compilation failed without any diagnostic".into());
            }
            (render::to_string(&compilation.sources, diags), "stderr")
        }
    })
}

/// A line diff (longest common subsequence): `-` expected, `+` actual.
fn diff(expected: &str, actual: &str) -> String {
    let a: Vec<&str> = expected.lines().collect();
    let b: Vec<&str> = actual.lines().collect();
    let mut lcs = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for i in (0..a.len()).rev() {
        for j in (0..b.len()).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut out = String::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if i < a.len() && j < b.len() && a[i] == b[j] {
            let _ = writeln!(out, "   {}", a[i]);
            i += 1;
            j += 1;
        } else if i < a.len() && (j == b.len() || lcs[i + 1][j] >= lcs[i][j + 1]) {
            let _ = writeln!(out, " - {}", a[i]);
            i += 1;
        } else {
            let _ = writeln!(out, " + {}", b[j]);
            j += 1;
        }
    }
    out
}

#[test]
fn ui() {
    let bless = std::env::var(BLESS_VAR).is_ok_and(|v| v == "1");
    let files = ui_files();
    assert!(
        files.len() >= 20,
        "expected the UI tests under {UI_DIR}, found {}",
        files.len()
    );
    let mut failures = Vec::new();
    for path in &files {
        let (actual, ext) = match run_one(path) {
            Ok(result) => result,
            Err(why) => {
                failures.push(format!("{}: {why}", path.display()));
                continue;
            }
        };
        let expected_path = path.with_extension(ext);
        let other_path = path.with_extension(if ext == "stdout" { "stderr" } else { "stdout" });
        if bless {
            fs::write(&expected_path, &actual).expect("the expected file is writable");
            if other_path.exists() {
                fs::remove_file(&other_path).expect("the stale expected file is removable");
            }
            continue;
        }
        if other_path.exists() {
            let was = if ext == "stdout" {
                "failed"
            } else {
                "compiled"
            };
            let now = if ext == "stdout" { "compiles" } else { "fails" };
            failures.push(format!(
                "{}: the model {was} before ({} exists) but now {now}:\n{actual}",
                path.display(),
                other_path.display()
            ));
            continue;
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => failures.push(format!(
                "{}: output differs from {} (- expected, + actual):\n{}",
                path.display(),
                expected_path.display(),
                diff(&expected, &actual)
            )),
            Err(_) => failures.push(format!(
                "{}: {} is missing; the output is:\n{actual}",
                path.display(),
                expected_path.display()
            )),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} UI tests failed:\n\n{}\nRun `{BLESS_VAR}=1 cargo test --test ui` to accept the new output.",
        failures.len(),
        files.len(),
        failures.join("\n")
    );
}

/// Every expected file has its test input (a renamed or deleted test leaves none behind).
#[test]
fn no_orphaned_expected_files() {
    fn walk(dir: &Path, orphans: &mut Vec<String>) {
        for entry in fs::read_dir(dir).expect("the UI directory is readable") {
            let path = entry.expect("a readable directory entry").path();
            if path.is_dir() {
                walk(&path, orphans);
            } else if path
                .extension()
                .is_some_and(|e| e == "stderr" || e == "stdout")
                && !path.with_extension("resnet").exists()
            {
                orphans.push(path.display().to_string());
            }
        }
    }
    at_crate_root();
    let mut orphans = Vec::new();
    walk(Path::new(UI_DIR), &mut orphans);
    orphans.sort();
    assert!(
        orphans.is_empty(),
        "expected files without a test input: {orphans:?}"
    );
}

/// Every error code has an explanation for `resc explain` and a test that shows it: a UI
/// test for the codes of the compiler, an integration test (`tests/*.rs`, asserting the
/// code's `[EXXXX]` in what the command printed) for the codes of weights, data and runs.
#[test]
fn every_code_is_explained_and_tested() {
    let files = ui_files();
    let mut expected: Vec<String> = files
        .iter()
        .filter_map(|p| fs::read_to_string(p.with_extension("stderr")).ok())
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
    let d = diff("a\nb\nc\n", "a\nx\nc\n");
    assert_eq!(d, "   a\n - b\n + x\n   c\n");
}
