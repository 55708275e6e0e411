//! Model text: the zoo's models with byte ranges deleted, duplicated, moved or
//! replaced by tokens and random text, through the whole front end
//! (`driver::compile_text`: parse, imports, elaboration, shapes, costs), the report and
//! the optimisation passes when it compiles, and `fmt` when it parses.
//!
//! `tests/proptest.rs` mutates tokens and checks the front end's diagnostics, and
//! `tests/fmt_proptest.rs` formats generated files; this target adds the passes and
//! the report on what still compiles, and formatting of damaged real models.
//!
//! Properties: those of [`super::check_compilation`]; and a file that parses formats
//! to text that parses to the same tree (comments included), and formatting that text
//! again changes nothing.

use super::{check_compilation, config, hostile, zoo, ZooLoader};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use resc::driver::{compile_text, Options};
use resc::fmt::{format, without_spans};
use resc::source::FileId;
use resc::syntax::parse;
use std::path::Path;

#[derive(Clone, Debug)]
enum Mutation {
    /// Deletes up to `len` bytes from `at`.
    Delete(Index, usize),
    /// Inserts text at `at`.
    Insert(Index, String),
    /// Copies up to `len` bytes from `from` to `to`.
    Duplicate(Index, usize, Index),
    /// Moves up to `len` bytes from `from` to `to`.
    Move(Index, usize, Index),
    /// Deletes, duplicates or swaps whole lines (more of what results still parses).
    DeleteLine(Index),
    DuplicateLine(Index),
    SwapLines(Index, Index),
    /// Adds a comment or blank lines at the end of a line.
    EndLine(Index, &'static str),
}

/// Tokens, punctuation and characters of every UTF-8 length, to insert.
#[rustfmt::skip]
pub const PIECES: &[&str] = &[
    "{", "}", "(", ")", "[", "]", ",", ";", ":", "=", "|", "#", "\"", "\n", "\r\n", " ",
    "network", "block", "import", "input", "let", "assert", "stage", "repeat", "residual",
    "shortcut", "with", "csp", "as", "if", "then", "else", "in", "identity", "projection",
    "dense", "weighted", "conv", "bn", "relu", "linear", "concat", "add", "0", "1", "-1",
    "1e999", "9223372036854775807", "é", "🙂", "𝔽", "\u{0}", "\t",
];

fn insertion() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => prop::collection::vec(prop::sample::select(PIECES), 1..4).prop_map(|p| p.join(" ")),
        1 => "\\PC{1,8}",
    ]
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let endings = prop::sample::select(&[" # é 🙂", "  #", "\n\n", " ; ", "\r\n#x\n"][..]);
    prop_oneof![
        (any::<Index>(), 1..64usize).prop_map(|(at, len)| Mutation::Delete(at, len)),
        (any::<Index>(), insertion()).prop_map(|(at, text)| Mutation::Insert(at, text)),
        (any::<Index>(), 1..200usize, any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Duplicate(from, len, to)),
        (any::<Index>(), 1..200usize, any::<Index>())
            .prop_map(|(from, len, to)| Mutation::Move(from, len, to)),
        any::<Index>().prop_map(Mutation::DeleteLine),
        any::<Index>().prop_map(Mutation::DuplicateLine),
        (any::<Index>(), any::<Index>()).prop_map(|(a, b)| Mutation::SwapLines(a, b)),
        (any::<Index>(), endings).prop_map(|(at, end)| Mutation::EndLine(at, end)),
    ]
}

/// The character boundary at or before byte `at` of `text`.
fn boundary(text: &str, at: usize) -> usize {
    let mut at = at.min(text.len());
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

/// The byte range `at..at + len` of `text`, both ends on character boundaries.
fn span(text: &str, at: &Index, len: usize) -> std::ops::Range<usize> {
    let start = boundary(text, at.index(text.len() + 1));
    start..boundary(text, start + len)
}

fn apply(text: &str, mutation: &Mutation) -> String {
    let mut lines: Vec<String> = text.split_inclusive('\n').map(str::to_string).collect();
    if lines.is_empty() {
        lines.push(String::new());
    }
    let line = |at: &Index| at.index(lines.len());
    match mutation {
        Mutation::DeleteLine(at) => {
            lines.remove(line(at));
            return lines.concat();
        }
        Mutation::DuplicateLine(at) => {
            let at = line(at);
            lines.insert(at, lines[at].clone());
            return lines.concat();
        }
        Mutation::SwapLines(a, b) => {
            let (a, b) = (line(a), line(b));
            lines.swap(a, b);
            return lines.concat();
        }
        Mutation::EndLine(at, end) => {
            let at = line(at);
            let body = lines[at].trim_end_matches('\n').to_string();
            let newline = if lines[at].ends_with('\n') { "\n" } else { "" };
            lines[at] = format!("{body}{end}{newline}");
            return lines.concat();
        }
        _ => {}
    }
    let mut out = text.to_string();
    match mutation {
        Mutation::Delete(at, len) => out.replace_range(span(text, at, *len), ""),
        Mutation::Insert(at, piece) => {
            out.insert_str(boundary(text, at.index(text.len() + 1)), piece)
        }
        Mutation::Duplicate(from, len, to) => {
            let piece = &text[span(text, from, *len)];
            out.insert_str(boundary(text, to.index(text.len() + 1)), piece);
        }
        Mutation::Move(from, len, to) => {
            let range = span(text, from, *len);
            let piece = text[range.clone()].to_string();
            out.replace_range(range, "");
            let to = boundary(&out, to.index(out.len() + 1));
            out.insert_str(to, &piece);
        }
        _ => unreachable!("line mutations are applied above"),
    }
    out
}

/// Compiles `text` as `path` and formats it if it parses.
fn check_text(path: &Path, text: &str) -> Result<(), TestCaseError> {
    let compilation = compile_text(path, text.to_string(), &Options::default(), &mut ZooLoader);
    check_compilation(&compilation)?;
    let Ok(tree) = parse(FileId(0), text) else {
        return Ok(());
    };
    let formatted = format(&tree, text);
    let reparsed = parse(FileId(0), &formatted);
    prop_assert!(
        reparsed.is_ok(),
        "the formatted text does not parse:\n--- input\n{text}\n--- output\n{formatted}\n{reparsed:?}"
    );
    let reparsed = reparsed.unwrap_or_else(|_| unreachable!());
    let (before, after) = (without_spans(&tree), without_spans(&reparsed));
    prop_assert_eq!(
        &before.comments,
        &after.comments,
        "comments differ:\n--- input\n{}",
        text
    );
    prop_assert!(
        before == after,
        "the tree changed:\n--- input\n{}\n--- output\n{}",
        text,
        formatted
    );
    let again = format(&reparsed, &formatted);
    prop_assert_eq!(&again, &formatted, "not idempotent:\n--- input\n{}", text);
    Ok(())
}

proptest! {
    #![proptest_config(config(384, 0x50c3_2026))]

    #[test]
    fn mutated_models_compile_and_format(
        model in 0..zoo().len(),
        mutations in prop::collection::vec(mutation(), 1..3),
    ) {
        let model = &zoo()[model];
        let text = mutations.iter().fold(model.text.clone(), |t, m| apply(&t, m));
        check_text(&model.path, &text)?;
    }
}

/// Every file of `tests/hostile/models/`, as if it were in `models/` (so that its
/// imports find the zoo's block libraries).
#[test]
fn hostile_models() {
    for (path, bytes) in hostile("models") {
        let text = String::from_utf8(bytes).expect("models are UTF-8");
        let name = path.file_name().expect("a file name");
        if let Err(e) = check_text(&Path::new("models").join(name), &text) {
            panic!("{}: {e}", path.display());
        }
    }
}
