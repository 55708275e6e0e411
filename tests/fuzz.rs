//! Fuzz targets (issue 15): hostile input to every entry point that reads what a user,
//! an editor or a download hands to resc, with the properties that must hold on any
//! input — no panic, every failure a coded diagnostic, memory bounded by what was read.
//!
//! - [`data`]: CIFAR binary files, image folders and `--data` specifications through
//!   `resc::data::load`;
//! - [`lsp`]: byte streams and JSON-RPC messages through the language server;
//! - [`set`]: `--set` overrides on the zoo's models;
//! - [`source`]: mutated zoo models through the whole front end, the passes and `fmt`;
//! - [`cli`]: the binary's front-end commands on arguments of every kind.
//!
//! Each target is a proptest with a fixed seed and a fixed number of cases, chosen so
//! that the whole file runs in well under a minute in a debug build on two cores. The
//! inputs that once broke a property sit in `tests/hostile/` (see its README), one folder
//! per entry point, and every file there goes through the same checks on every run.
//!
//! Explore further with e.g. `PROPTEST_RNG_SEED=7 PROPTEST_CASES=2000 cargo test
//! --no-default-features --test fuzz`.

// Results carry `Diagnostic`s, larger than clippy's limit for `Err` values (as in the lib).
#![allow(clippy::result_large_err)]

#[path = "fuzz/alloc.rs"]
mod alloc;
#[path = "fuzz/cli.rs"]
mod cli;
#[path = "fuzz/data.rs"]
mod data;
#[path = "fuzz/lsp.rs"]
mod lsp;
#[path = "fuzz/set.rs"]
mod set;
#[path = "fuzz/source.rs"]
mod source;

use proptest::prop_assert;
use proptest::test_runner::{Config, RngSeed, TestCaseError};
use resc::check::Report;
use resc::diag::{render, Diagnostic};
use resc::driver::{Compilation, Loader};
use resc::source::FileId;
use resc::syntax::ast;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// A target's configuration: `cases` cases from a fixed seed, unless the environment
/// asks for others.
fn config(cases: u32, seed: u64) -> Config {
    let mut config = Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = RngSeed::Fixed(seed);
    }
    config.failure_persistence = None;
    config
}

/// The crate's root directory.
fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The files of `tests/hostile/<target>/`, sorted, with their bytes.
fn hostile(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = root().join("tests/hostile").join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "{} holds no input", dir.display());
    paths
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).expect("a readable corpus file");
            (p, bytes)
        })
        .collect()
}

/// A model of the zoo (`models/`): its path (relative, as the CLI would name it), its
/// text, and the parameters of the networks it defines.
struct ZooModel {
    path: PathBuf,
    text: String,
    params: Vec<String>,
}

/// Serves the zoo's files from memory by path, so that imports resolve; any other path
/// is not found.
struct ZooLoader;

impl Loader for ZooLoader {
    fn read(&mut self, path: &Path) -> std::io::Result<String> {
        zoo()
            .iter()
            .find(|m| m.path == path)
            .map(|m| m.text.clone())
            .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::NotFound, "not in the zoo"))
    }
}

/// Every model of `models/`, sorted by path.
fn zoo() -> &'static [ZooModel] {
    static ZOO: OnceLock<Vec<ZooModel>> = OnceLock::new();
    ZOO.get_or_init(|| {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(root().join("models"))
            .expect("models/ exists")
            .map(|e| e.expect("a directory entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "resnet"))
            .collect();
        paths.sort();
        let models: Vec<ZooModel> = paths
            .into_iter()
            .map(|path| {
                let text = std::fs::read_to_string(&path).expect("a readable model");
                let ast = resc::syntax::parse(FileId(0), &text).expect("the zoo parses");
                let params = ast
                    .items
                    .iter()
                    .filter_map(|item| match item {
                        ast::Item::Network(def) => Some(def),
                        _ => None,
                    })
                    .flat_map(|def| def.params.iter().map(|p| p.name.name.clone()))
                    .collect();
                let path = Path::new("models").join(path.file_name().expect("a file name"));
                ZooModel { path, text, params }
            })
            .collect();
        assert!(models.len() >= 10, "the zoo has {} models", models.len());
        models
    })
}

/// Checks a compilation: a failure is error diagnostics with messages, whose spans lie
/// in the files they name on character boundaries, and which render with their codes;
/// a success has a report, and the optimisation passes run on its graph (they verify
/// the graph and its shapes after every pass in debug builds).
fn check_compilation(compilation: &Compilation) -> Result<(), TestCaseError> {
    let diags = match &compilation.result {
        Ok(checked) => {
            let elaborated = &checked.elaborated;
            let report = Report::new(&elaborated.network, &elaborated.graph, &checked.info);
            prop_assert!(!report.to_table().is_empty());
            let mut graph = elaborated.graph.clone();
            resc::passes::run_pipeline(&mut graph, &resc::passes::all());
            return Ok(());
        }
        Err(diags) => diags,
    };
    prop_assert!(
        diags.iter().any(Diagnostic::is_error),
        "no error in {diags:?}"
    );
    let sources = &compilation.sources;
    for d in diags {
        prop_assert!(!d.message.is_empty(), "an empty message: {d:?}");
        let spans = d.labels.iter().map(|l| l.span);
        for span in spans.chain(d.trace.iter().map(|f| f.span)) {
            prop_assert!((span.file.0 as usize) < sources.files().count(), "{d:?}");
            let text = &sources.get(span.file).text;
            prop_assert!(
                span.start <= span.end && span.end as usize <= text.len(),
                "{d:?}"
            );
            prop_assert!(
                text.is_char_boundary(span.start as usize)
                    && text.is_char_boundary(span.end as usize),
                "{d:?} splits a character"
            );
        }
    }
    let rendered = render::to_string(sources, diags);
    for d in diags {
        let header = format!("[{}]", d.code);
        prop_assert!(rendered.contains(&header), "`{header}` not in:\n{rendered}");
    }
    Ok(())
}
