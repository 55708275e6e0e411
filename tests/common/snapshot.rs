//! One snapshot harness for the tests whose expected output is a file committed beside
//! their input, as in rustc's UI tests: `tests/ui` (`.stderr` or `.stdout`),
//! `tests/passes` (`.ir`) and `tests/inference-passes` (`.plan`).
//!
//! A test lists its inputs with [`Snapshots::inputs`], hands each actual output to
//! [`Snapshots::compare`] (or a reason it could not produce one to [`Snapshots::fail`]),
//! and ends with [`Snapshots::finish`], which also looks for orphans and then reports
//! every failure at once, each with a line diff.
//!
//! `RESC_BLESS=1`, and only that value, writes the actual outputs over the expected files
//! and deletes the expected files whose input is gone; with any other value the test only
//! compares, so that a stray `RESC_BLESS=0` or `=false` cannot rewrite snapshots.

use std::collections::BTreeSet;
use std::fmt::{Display, Write as _};
use std::fs;
use std::path::{Path, PathBuf};

/// The variable that rewrites the snapshots.
pub const BLESS_VAR: &str = "RESC_BLESS";

/// Whether this run rewrites the snapshots: `RESC_BLESS=1` exactly.
pub fn blessing() -> bool {
    std::env::var_os(BLESS_VAR).is_some_and(|v| v == "1")
}

/// Makes the crate root the working directory, so that input paths (and the file names
/// that diagnostics render) are the stable relative paths `tests/...`. Cargo already runs
/// tests there; this only matters when a test binary is started by hand.
pub fn at_crate_root() {
    if !Path::new("tests").is_dir() {
        std::env::set_current_dir(env!("CARGO_MANIFEST_DIR")).expect("the crate root exists");
    }
}

/// Every file ending in `.ext` under `dir`, recursively, sorted by path.
pub fn files(dir: &Path, ext: &str) -> Vec<PathBuf> {
    files_skipping(dir, ext, &[])
}

/// Every file ending in `.ext` under `dir`, recursively, sorted by path, without entering
/// the directories whose name is in `skip_dirs`.
pub fn files_skipping(dir: &Path, ext: &str, skip_dirs: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    walk(dir, &mut |path| {
        if path.is_dir() {
            return path
                .file_name()
                .is_none_or(|name| !skip_dirs.iter().any(|skip| name == *skip));
        }
        if path.extension().is_some_and(|e| e == ext) {
            out.push(path.to_path_buf());
        }
        false
    });
    out.sort();
    out
}

/// Calls `visit` on every entry under `dir`, in sorted order; a directory is entered when
/// `visit` returns true for it.
fn walk(dir: &Path, visit: &mut dyn FnMut(&Path) -> bool) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|entry| entry.expect("a readable directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if visit(&path) && path.is_dir() {
            walk(&path, visit);
        }
    }
}

/// A line diff of `expected` and `actual`: ` - ` marks an expected line that is missing,
/// ` + ` an actual line that is new, and `   ` a line both share. Runs of unchanged lines
/// are cut to three lines of context around each change, and every group of changes
/// starts with the line numbers where it starts.
pub fn diff(expected: &str, actual: &str) -> String {
    let diff = similar::TextDiff::from_lines(expected, actual);
    let mut out = String::new();
    for group in diff.grouped_ops(3) {
        let (old, new) = (group[0].old_range().start, group[0].new_range().start);
        let _ = writeln!(
            out,
            "@@ expected line {}, actual line {} @@",
            old + 1,
            new + 1
        );
        for change in group.iter().flat_map(|op| diff.iter_changes(op)) {
            let mark = match change.tag() {
                similar::ChangeTag::Equal => "   ",
                similar::ChangeTag::Delete => " - ",
                similar::ChangeTag::Insert => " + ",
            };
            let line = change.to_string_lossy();
            let line = line.strip_suffix('\n').unwrap_or(&line);
            let end = if change.missing_newline() {
                " (no newline at the end)"
            } else {
                ""
            };
            let _ = writeln!(out, "{mark}{line}{end}");
        }
    }
    out
}

/// A folder of snapshot tests: each input `*.resnet` under `dir` (outside the skipped
/// directories) has one expected output beside it, with one of the extensions `outputs`.
pub struct Snapshots {
    dir: PathBuf,
    outputs: &'static [&'static str],
    skip_dirs: &'static [&'static str],
    /// The fewest inputs the folder holds (a wrong path or a lost folder finds none).
    min_inputs: usize,
    /// The `cargo test` arguments that run these snapshots, for the bless hint.
    command: &'static str,
    bless: bool,
    checked: BTreeSet<PathBuf>,
    failures: Vec<String>,
}

impl Snapshots {
    /// The snapshots under `dir` (relative to the crate root), whose expected files end in
    /// one of `outputs` and which `cargo test {command}` runs.
    pub fn new(dir: &str, outputs: &'static [&'static str], command: &'static str) -> Self {
        at_crate_root();
        Snapshots {
            dir: PathBuf::from(dir),
            outputs,
            skip_dirs: &[],
            min_inputs: 1,
            command,
            bless: blessing(),
            checked: BTreeSet::new(),
            failures: Vec::new(),
        }
    }

    /// Leaves out the directories called one of `names` (files that other tests import).
    pub fn skipping(mut self, names: &'static [&'static str]) -> Self {
        self.skip_dirs = names;
        self
    }

    /// Expects at least `n` inputs: [`Snapshots::inputs`] panics with fewer.
    pub fn at_least(mut self, n: usize) -> Self {
        self.min_inputs = n;
        self
    }

    /// The inputs, sorted by path.
    pub fn inputs(&self) -> Vec<PathBuf> {
        let inputs = files_skipping(&self.dir, "resnet", self.skip_dirs);
        assert!(
            inputs.len() >= self.min_inputs,
            "expected at least {} inputs under {}, found {}",
            self.min_inputs,
            self.dir.display(),
            inputs.len()
        );
        inputs
    }

    /// Compares `actual` with the file beside `input` that ends in `.ext` (one of the
    /// suite's outputs), or writes it there when blessing. Another expected file beside
    /// the same input means the kind of output changed (a model that failed now compiles):
    /// a failure, or a deletion when blessing.
    pub fn compare(&mut self, input: &Path, ext: &str, actual: &str) {
        assert!(self.outputs.contains(&ext), "`.{ext}` is not an output");
        self.checked.insert(input.to_path_buf());
        let expected_path = input.with_extension(ext);
        let others: Vec<PathBuf> = (self.outputs.iter())
            .filter(|&&other| other != ext)
            .map(|other| input.with_extension(other))
            .filter(|other| other.exists())
            .collect();
        if self.bless {
            fs::write(&expected_path, actual)
                .unwrap_or_else(|e| panic!("cannot write {}: {e}", expected_path.display()));
            for other in &others {
                fs::remove_file(other)
                    .unwrap_or_else(|e| panic!("cannot delete {}: {e}", other.display()));
            }
            return;
        }
        if let Some(other) = others.first() {
            return self.fail(
                input,
                format!(
                    "{} exists, but the output now goes to {}:\n{actual}",
                    other.display(),
                    expected_path.display()
                ),
            );
        }
        match fs::read_to_string(&expected_path) {
            Ok(expected) if expected == actual => {}
            Ok(expected) => self.fail(
                input,
                format!(
                    "the output differs from {} (- expected, + actual):\n{}",
                    expected_path.display(),
                    diff(&expected, actual)
                ),
            ),
            Err(_) => self.fail(
                input,
                format!(
                    "{} is missing; the output is:\n{actual}",
                    expected_path.display()
                ),
            ),
        }
    }

    /// Records that `input` failed without an output to compare.
    pub fn fail(&mut self, input: &Path, why: impl Display) {
        self.checked.insert(input.to_path_buf());
        self.failures.push(format!("{}: {why}", input.display()));
    }

    /// Checks that every input was compared and that every expected file has its input
    /// (a renamed or deleted test leaves none behind; blessing deletes such files), then
    /// panics with all the failures, if any.
    pub fn finish(mut self) {
        let inputs = self.inputs();
        for input in &inputs {
            if !self.checked.contains(input) {
                self.failures
                    .push(format!("{}: the test did not check it", input.display()));
            }
        }
        for orphan in self.orphans(&inputs) {
            if self.bless {
                fs::remove_file(&orphan)
                    .unwrap_or_else(|e| panic!("cannot delete {}: {e}", orphan.display()));
            } else {
                self.failures.push(format!(
                    "{}: an expected output without its test input {}",
                    orphan.display(),
                    orphan.with_extension("resnet").display()
                ));
            }
        }
        if self.failures.is_empty() {
            return;
        }
        let set = match std::env::var(BLESS_VAR) {
            Ok(value) if !self.bless => format!(" ({BLESS_VAR} is `{value}`; only `1` blesses)"),
            _ => String::new(),
        };
        panic!(
            "{} failure(s) in the {} snapshot tests under {}:\n\n{}\n\
             Run `{BLESS_VAR}=1 cargo test {}` to accept the new outputs{set}.",
            self.failures.len(),
            inputs.len(),
            self.dir.display(),
            self.failures.join("\n"),
            self.command
        );
    }

    /// The expected files anywhere under the suite's folder that belong to no input.
    fn orphans(&self, inputs: &[PathBuf]) -> Vec<PathBuf> {
        let inputs: BTreeSet<&PathBuf> = inputs.iter().collect();
        let mut orphans = Vec::new();
        walk(&self.dir, &mut |path| {
            let is_output = path
                .extension()
                .is_some_and(|e| self.outputs.iter().any(|o| e == *o));
            if is_output && !inputs.contains(&path.with_extension("resnet")) {
                orphans.push(path.to_path_buf());
            }
            true
        });
        orphans
    }
}
