//! Property tests: random and mutated model text goes through parse → elaborate →
//! check without a panic, and every failure is a non-empty list of diagnostics whose
//! spans lie inside the files they name.
//!
//! The seed is fixed so that `cargo test` is deterministic; explore further with
//! e.g. `PROPTEST_RNG_SEED=7 PROPTEST_CASES=20000 cargo test --test proptest`.

use proptest::prelude::*;
use proptest::sample::Index;
use resc::diag::{render, Diagnostic};
use resc::driver::{compile_text, Loader, Options};
use resc::source::{FileId, SourceMap, Span};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

mod common;

/// Serves files from memory; a path it does not hold is "not found".
struct MemLoader(HashMap<PathBuf, String>);

impl Loader for MemLoader {
    fn read(&mut self, path: &Path) -> std::io::Result<String> {
        self.0.get(path).cloned().ok_or_else(|| {
            std::io::Error::new(std::io::ErrorKind::NotFound, "not in the test's file set")
        })
    }
}

/// The models the mutations start from, and their texts by path for a loader that
/// serves them unchanged (so that a mutated file's imports still resolve and
/// elaboration is reached).
struct Seeds {
    files: Vec<(PathBuf, String)>,
    by_path: HashMap<PathBuf, String>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        for dir in [
            "models",
            "tests/ui/ok",
            "tests/ui/ok/auxiliary",
            "tests/ui/shape",
        ] {
            let mut paths: Vec<PathBuf> = std::fs::read_dir(root.join(dir))
                .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
                .map(|e| e.expect("a directory entry").path())
                .filter(|p| p.extension().is_some_and(|e| e == "resnet"))
                .collect();
            paths.sort();
            for path in paths {
                let text = std::fs::read_to_string(&path).expect("a readable model");
                let relative = path
                    .strip_prefix(root)
                    .expect("under the crate root")
                    .to_path_buf();
                files.push((relative, text));
            }
        }
        assert!(
            files.len() >= 10,
            "expected the zoo under models/, found {} files",
            files.len()
        );
        let by_path = files.iter().cloned().collect();
        Seeds { files, by_path }
    })
}

/// Checks the properties on one span: a known file, inside its text, on character
/// boundaries.
fn check_span(
    sources: &SourceMap,
    span: Span,
    what: &str,
    d: &Diagnostic,
) -> Result<(), TestCaseError> {
    let count = sources.files().count();
    prop_assert!(
        (span.file.0 as usize) < count,
        "{what} of {:?} names file {}",
        d,
        span.file.0
    );
    let text = &sources.get(span.file).text;
    prop_assert!(span.start <= span.end, "{what} of {d:?} is reversed");
    prop_assert!(
        span.end as usize <= text.len(),
        "{what} of {d:?} ends past the file ({} bytes)",
        text.len()
    );
    prop_assert!(
        text.is_char_boundary(span.start as usize) && text.is_char_boundary(span.end as usize),
        "{what} of {d:?} splits a character"
    );
    Ok(())
}

fn check_diagnostics(sources: &SourceMap, diags: &[Diagnostic]) -> Result<(), TestCaseError> {
    prop_assert!(!diags.is_empty(), "a failure without diagnostics");
    prop_assert!(
        diags.iter().any(Diagnostic::is_error),
        "a failure without an error: {diags:?}"
    );
    for d in diags {
        prop_assert!(!d.message.is_empty(), "an empty message: {d:?}");
        let primary = d.primary_span();
        prop_assert!(primary.is_some(), "no primary span: {d:?}");
        for label in &d.labels {
            check_span(sources, label.span, "a label", d)?;
        }
        for frame in &d.trace {
            check_span(sources, frame.span, "a trace frame", d)?;
        }
    }
    // Rendering must not fail either (it falls back to a plain line on a bad span).
    let text = render::to_string(sources, diags);
    for d in diags {
        let header = format!("error[{}]", d.code);
        prop_assert!(
            text.contains(&header),
            "`{header}` not rendered in:\n{text}"
        );
    }
    Ok(())
}

/// Parses and compiles `text` as `path`, checking the properties.
fn check_text(path: &Path, text: &str, loader: &mut MemLoader) -> Result<(), TestCaseError> {
    let mut sources = SourceMap::new();
    let file = sources.add(path.display().to_string(), text);
    if let Err(diags) = resc::syntax::parse(file, text) {
        check_diagnostics(&sources, &diags)?;
        for d in &diags {
            prop_assert_eq!(d.primary_span().map(|s| s.file), Some(FileId(0)));
        }
    }
    let compilation = compile_text(path, text.to_string(), &Options::default(), loader);
    if let Err(diags) = &compilation.result {
        check_diagnostics(&compilation.sources, diags)?;
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// (a) Token soup.

/// Tokens of the language and some that are not, weighted towards the real ones.
#[rustfmt::skip]
const TOKENS: &[&str] = &[
    "network", "block", "import", "input", "let", "assert", "stage", "repeat", "residual",
    "shortcut", "from", "with", "csp", "as", "if", "then", "else", "and", "or", "not", "true",
    "false", "in", "conv", "bn", "relu", "maxpool", "avgpool", "linear", "flatten", "dropout",
    "drop_path", "se", "groupnorm", "upsample", "chunk", "add", "mul", "concat", "sum", "identity",
    "zeropad", "projection", "maxpool_projection", "weighted", "dense", "min", "max", "len",
    "make_divisible", "int", "float", "bool", "x", "y", "n", "i", "width", "depth", "basic", "k",
    "stride", "groups", "out", "0", "1", "2", "3", "7", "16", "64", "224", "0.5", "1e-5", "2.",
    "-1", "1_000", "99999999999999999999", "1e999", "9223372036854775807", "(", ")", "{", "}", "[",
    "]", ",", ":", ";", "|", "=", "#", "+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">",
    ">=", "\"", "\"blocks.resnet\"", "\"msg\"", "\n", "\n", "é", "×",
];

fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(TOKENS)
}

fn separator() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&[" ", " ", " ", "", "\n", "\t"][..])
}

/// Random tokens, half of the time inside a network skeleton so that elaboration
/// sees them too.
fn soup() -> impl Strategy<Value = String> {
    (
        prop::collection::vec((token(), separator()), 0..80),
        any::<bool>(),
    )
        .prop_map(|(tokens, wrap)| {
            let body: String = tokens.iter().map(|(t, s)| format!("{t}{s}")).collect();
            if wrap {
                format!("network net(depth: int = 20) {{\n    input [3, 32, 32]\n{body}\n}}\n")
            } else {
                body
            }
        })
}

// ---------------------------------------------------------------------------------
// (b) Mutations of real models.

#[derive(Clone, Debug)]
enum Mutation {
    DeleteToken(Index),
    DuplicateToken(Index),
    ReplaceToken(Index, &'static str),
    InsertToken(Index, &'static str),
    SwapTokens(Index, Index),
    DeleteChars(Index, usize),
    ChangeNumber(Index, &'static str),
}

/// Numbers that stress the arithmetic: zero, one, odd sizes, huge values.
#[rustfmt::skip]
const NUMBERS: &[&str] = &[
    "0", "1", "2", "3", "5", "7", "13", "100", "4096", "1000000", "4294967296",
    "9223372036854775807", "99999999999999999999", "0.0", "0.999", "1.5", "1e300", "-1", "-7",
];

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        any::<Index>().prop_map(Mutation::DeleteToken),
        any::<Index>().prop_map(Mutation::DuplicateToken),
        (any::<Index>(), token()).prop_map(|(i, t)| Mutation::ReplaceToken(i, t)),
        (any::<Index>(), token()).prop_map(|(i, t)| Mutation::InsertToken(i, t)),
        (any::<Index>(), any::<Index>()).prop_map(|(i, j)| Mutation::SwapTokens(i, j)),
        (any::<Index>(), 1..40usize).prop_map(|(i, n)| Mutation::DeleteChars(i, n)),
        (any::<Index>(), prop::sample::select(NUMBERS))
            .prop_map(|(i, n)| Mutation::ChangeNumber(i, n)),
        (any::<Index>(), prop::sample::select(NUMBERS))
            .prop_map(|(i, n)| Mutation::ChangeNumber(i, n)),
    ]
}

/// Splits text into tokens: runs of white space, runs of name characters, and single
/// other characters. Joining the tokens gives the text back.
fn tokens(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let class = |c: char| {
        if c.is_whitespace() {
            0
        } else if c.is_alphanumeric() || c == '_' || c == '.' {
            1
        } else {
            2
        }
    };
    for c in text.chars() {
        match out.last_mut() {
            Some(last) if class(c) != 2 && last.chars().next().map(class) == Some(class(c)) => {
                last.push(c)
            }
            _ => out.push(c.to_string()),
        }
    }
    out
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut toks = tokens(text);
    if toks.is_empty() {
        return text.to_string();
    }
    match mutation {
        Mutation::DeleteToken(i) => {
            toks.remove(i.index(toks.len()));
        }
        Mutation::DuplicateToken(i) => {
            let at = i.index(toks.len());
            toks.insert(at, toks[at].clone());
        }
        Mutation::ReplaceToken(i, t) => {
            let at = i.index(toks.len());
            toks[at] = t.to_string();
        }
        Mutation::InsertToken(i, t) => {
            let at = i.index(toks.len() + 1);
            toks.insert(at, format!(" {t} "));
        }
        Mutation::SwapTokens(i, j) => {
            let (a, b) = (i.index(toks.len()), j.index(toks.len()));
            toks.swap(a, b);
        }
        Mutation::DeleteChars(i, n) => {
            let chars: Vec<char> = text.chars().collect();
            let at = i.index(chars.len());
            let end = (at + n).min(chars.len());
            return chars[..at].iter().chain(&chars[end..]).collect();
        }
        Mutation::ChangeNumber(i, n) => {
            let numbers: Vec<usize> = (0..toks.len())
                .filter(|&k| toks[k].starts_with(|c: char| c.is_ascii_digit()))
                .collect();
            if !numbers.is_empty() {
                toks[numbers[i.index(numbers.len())]] = n.to_string();
            }
        }
    }
    toks.concat()
}

proptest! {
    #![proptest_config(common::proptest_config(256, 0x7e5c_2026))]

    /// (a) Random token sequences: no panic; every failure is diagnostics with valid spans.
    #[test]
    fn token_soup_never_panics(text in soup()) {
        check_text(Path::new("fuzz.resnet"), &text, &mut MemLoader(HashMap::new()))?;
    }

    /// (b) Real models with one to three random mutations.
    #[test]
    fn mutated_models_never_panic(seed in any::<Index>(), mutations in prop::collection::vec(mutation(), 1..4)) {
        let seeds = seeds();
        let (path, original) = &seeds.files[seed.index(seeds.files.len())];
        let text = mutations.iter().fold(original.clone(), |t, m| apply(&t, m));
        check_text(path, &text, &mut MemLoader(seeds.by_path.clone()))?;
    }
}

/// The seeds are what they claim to be: the zoo's networks and the passing UI tests
/// compile, the shape-error UI tests fail, so the mutations start from real models.
#[test]
fn seeds_compile() {
    let seeds = seeds();
    for (path, text) in &seeds.files {
        let loader = &mut MemLoader(seeds.by_path.clone());
        let compilation = compile_text(path, text.clone(), &Options::default(), loader);
        let ok = compilation.result.is_ok();
        let defines_network = text.lines().any(|l| l.starts_with("network "));
        if path.starts_with("tests/ui/shape") {
            assert!(!ok, "{} should fail", path.display());
        } else if !text.starts_with("# args:") {
            // UI tests with `# args:` depend on their options; the others compile
            // unless they are block libraries.
            assert_eq!(ok, defines_network, "{}", path.display());
        }
    }
}

#[test]
fn tokens_round_trip() {
    let text = "network n(d: int = 20) {\n  conv(64, k: 3) # 3×3\n}\n";
    assert_eq!(tokens(text).concat(), text);
    assert!(tokens(text).contains(&"conv".to_string()));
    assert!(tokens(text).contains(&"64".to_string()));
}

/// Inputs that once broke an invariant, or that sit on an edge: each must give
/// diagnostics (or compile) without a panic.
#[test]
fn edge_cases() {
    let cases = [
        "",
        "#",
        "network",
        "network n {}",
        "network n { input [3, 0, 0] }",
        "network n { input [3, 32, 32]; conv(9223372036854775807, k: 9223372036854775807) }",
        "network n { input [3, 32, 32]; conv(16, k: 3, dilation: 9223372036854775807) }",
        "network n { input [3, 32, 32]; upsample(9223372036854775807); upsample(9223372036854775807) }",
        "network n { input [3, 32, 32]; maxpool(k: 9223372036854775807, padding: 4611686018427387904) }",
        "network n { input [3, 32, 32]; linear(9223372036854775807); linear(9223372036854775807) }",
        "network n { input [9223372036854775807, 9223372036854775807, 9223372036854775807]; flatten; linear(2) }",
        "network n { input [3, 32, 32]; repeat 100000000 relu }",
        "network n { input [3, 32, 32]; foo; repeat 4294967296 relu }",
        "network n { input [3, 32, 32]; repeat 100000 repeat 100000 { let x = 1 } }",
        "network n { input [3, 32, 32]; let x = -(-9223372036854775807 - 1) }",
        "network n { input [3, 32, 32]; let x = 9223372036854775807 * 2 }",
        "network n { input [3, 32, 32]; let x = -9223372036854775807 - 1; let y = x // -1 }",
        "network n { input [3, 32, 32]; let x = -9223372036854775807 - 1; let y = x % -1; let z = abs(x) }",
        "network n { input [3, 32, 32]; let x = round(1e300) + 1 }",
        "network n { input [3, 32, 32]; let l = [1, 2]; let y = l[-9223372036854775807 - 1] }",
        "network n { input [3, 32, 32]; conv(16, k: [3, 3, 3]) }",
        "network n { input [3, 32, 32]; chunk(9223372036854775807, 0) }",
        "network n { input [3, 32, 32]; se(rd: 9223372036854775807) }",
        "network n { input [3, 32, 32]; csp(split: 0.5, out: 9223372036854775807) { relu } }",
        "network n { input [3, 32, 32]; make_divisible(1e300, 8) }",
    ];
    let mut failures = Vec::new();
    for text in cases {
        let result = std::panic::catch_unwind(|| {
            check_text(
                Path::new("edge.resnet"),
                text,
                &mut MemLoader(HashMap::new()),
            )
            .map_err(|e| e.to_string())
        });
        match result {
            Ok(Ok(())) => {}
            Ok(Err(e)) => failures.push(format!("{text}\n  {e}")),
            Err(_) => failures.push(format!("{text}\n  panicked")),
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
