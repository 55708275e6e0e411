//! Property test of `resc fmt`: random but syntactically valid model files (networks and
//! blocks with parameters, lets, stages in both forms, repeats, residuals with shortcut
//! clauses, csp, if statements, calls, pipes, operators, if-expressions, with comments,
//! blank lines and line breaks at random places) are formatted, and
//! - the formatted text parses to the same tree apart from spans;
//! - the comments are the same texts in the same order (trailing space removed);
//! - formatting again changes nothing.
//!
//! The seed is fixed so that `cargo test` is deterministic; explore further with e.g.
//! `PROPTEST_RNG_SEED=7 PROPTEST_CASES=5000 cargo test --test fmt_proptest`.

use proptest::prelude::*;
use resc::fmt::{format, without_spans};
use resc::source::FileId;
use resc::syntax::parse;

mod common;

type Text = BoxedStrategy<String>;

fn pick(options: &'static [&'static str]) -> Text {
    proptest::sample::select(options)
        .prop_map(str::to_string)
        .boxed()
}

/// Names that are not reserved words (a few of them start like one).
fn name() -> Text {
    pick(&[
        "a", "b", "x", "y", "width", "depth", "conv", "bn", "relu", "basic", "n", "k_1", "_t",
        "inner", "iffy", "notes", "orbit", "asx",
    ])
}

fn comment() -> Text {
    pick(&[
        " c",
        "",
        "# nested",
        " trailing   ",
        " x; y { }",
        " ×·é",
        "!",
    ])
}

/// White space between tokens: mostly a space, sometimes a line break, a blank line or
/// a comment (which always ends its line).
fn sep() -> Text {
    prop_oneof![
        6 => Just(" ".to_string()),
        1 => Just("\n    ".to_string()),
        1 => Just("\n\n".to_string()),
        1 => comment().prop_map(|c| format!(" #{c}\n")),
    ]
    .boxed()
}

/// What separates two statements: a line break, a `;`, a comment, or a blank line.
fn stmt_sep() -> Text {
    prop_oneof![
        3 => Just("\n".to_string()),
        2 => Just("; ".to_string()),
        1 => Just("\n\n\n".to_string()),
        1 => comment().prop_map(|c| format!(" #{c}\n")),
        1 => comment().prop_map(|c| format!(";  #{c}\n")),
        1 => comment().prop_map(|c| format!("\n#{c}\n\n")),
    ]
    .boxed()
}

fn literal() -> Text {
    pick(&[
        "0",
        "7",
        "64",
        "1_000",
        "00",
        "9223372036854775807",
        "0.5",
        "1e-5",
        "2.",
        "3E+2",
        "1.25e3",
        "0.0",
        "true",
        "false",
        "\"msg # not a comment\"",
        "\"\"",
        "in",
    ])
}

fn expr() -> Text {
    let leaf = prop_oneof![2 => name(), 2 => literal()];
    leaf.prop_recursive(4, 32, 4, |e| {
        prop_oneof![
            (e.clone(), sep(), binary_op(), e.clone())
                .prop_map(|(a, s, op, b)| format!("{a}{s}{op} {b}")),
            (pick(&["-", "not ", "- "]), e.clone()).prop_map(|(op, x)| format!("{op}{x}")),
            (e.clone(), sep()).prop_map(|(x, s)| format!("({s}{x})")),
            (e.clone(), e.clone()).prop_map(|(x, i)| format!("{x}[{i}]")),
            (name(), args(e.clone())).prop_map(|(f, a)| format!("{f}{a}")),
            (prop::collection::vec(e.clone(), 0..4), any::<bool>()).prop_map(|(items, comma)| {
                let comma = if comma && !items.is_empty() { "," } else { "" };
                format!("[{}{comma}]", items.join(", "))
            }),
            (e.clone(), e.clone(), sep(), e.clone())
                .prop_map(|(c, a, s, b)| format!("if {c} then {a}{s}else {b}")),
            (e.clone(), sep(), call()).prop_map(|(x, s, f)| format!("{x}{s}| {f}")),
        ]
    })
    .boxed()
}

fn binary_op() -> Text {
    pick(&[
        "or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "//", "%", "**", "|",
    ])
}

/// `(arg, name: arg,)`: positional and named arguments in any order.
fn args(e: Text) -> Text {
    let arg = (prop::option::of(name()), e).prop_map(|(n, v)| match n {
        Some(n) => format!("{n}: {v}"),
        None => v,
    });
    (prop::collection::vec(arg, 0..4), any::<bool>(), sep())
        .prop_map(|(args, comma, s)| {
            let comma = if comma && !args.is_empty() { "," } else { "" };
            format!("({}{comma}{s})", args.join(&format!(",{s}")))
        })
        .boxed()
}

/// A layer or block call, with or without arguments.
fn call() -> Text {
    (name(), prop::option::of(args(literal())))
        .prop_map(|(n, a)| format!("{n}{}", a.unwrap_or_default()))
        .boxed()
}

fn shortcut_kind() -> Text {
    let from = prop::option::of(prop_oneof![Just("in".to_string()), name()]);
    (
        pick(&["identity", "projection", "zeropad", "weighted"]),
        prop::option::of(args(literal())),
        from,
    )
        .prop_map(|(k, a, f)| {
            let from = f.map(|f| format!(" from {f}")).unwrap_or_default();
            format!("{k}{}{from}", a.unwrap_or_default())
        })
        .boxed()
}

/// Statements that need no braces.
fn plain_stmt() -> Text {
    prop_oneof![
        3 => (call(), prop::option::of(name())).prop_map(|(c, alias)| match alias {
            Some(a) => format!("{c} as {a}"),
            None => c,
        }),
        2 => (name(), expr()).prop_map(|(n, v)| format!("let {n} = {v}")),
        1 => (expr(), any::<bool>()).prop_map(|(c, m)| {
            if m { format!("assert {c}, \"why\"") } else { format!("assert {c}") }
        }),
        1 => expr().prop_map(|e| format!("input {e}")),
        2 => expr(),
        1 => (expr(), name()).prop_map(|(e, a)| format!("{e} as {a}")),
    ]
    .boxed()
}

/// A statement, nesting bodies up to a few levels.
fn stmt() -> Text {
    plain_stmt()
        .prop_recursive(3, 24, 4, |inner| {
            let body = body(inner.clone());
            // The statement of `repeat n stmt` must not begin with a token that would
            // continue the count.
            let safe = inner
                .clone()
                .prop_filter("starts with a name or keyword", |s| {
                    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                });
            let with = prop::option::of(call())
                .prop_map(|c| c.map(|c| format!(" with shortcut {c}")).unwrap_or_default());
            let index = prop::option::of(name())
                .prop_map(|i| i.map(|i| format!(" as {i}")).unwrap_or_default());
            prop_oneof![
                (name(), body.clone(), with.clone())
                    .prop_map(|(n, b, w)| format!("stage {n} {b}{w}")),
                (name(), sep(), inner.clone(), with)
                    .prop_map(|(n, s, st, w)| format!("stage {n}:{s}{st}{w}")),
                (expr(), index.clone(), body.clone())
                    .prop_map(|(c, i, b)| format!("repeat {c}{i} {b}")),
                (literal(), index.clone(), safe.clone())
                    .prop_map(|(c, i, st)| format!("repeat {c}{i} {st}")),
                (name(), expr(), index.clone(), body.clone())
                    .prop_map(|(n, c, i, b)| format!("let {n} = repeat {c}{i} {b}")),
                (name(), literal(), index, safe)
                    .prop_map(|(n, c, i, st)| format!("let {n} = repeat {c}{i} {st}")),
                (
                    prop::option::of(expr()),
                    body.clone(),
                    prop::option::of((sep(), shortcut_kind(), prop::option::of(shortcut_kind())))
                )
                    .prop_map(|(from, b, clause)| {
                        let from = from.map(|f| format!(" from {f}")).unwrap_or_default();
                        let clause = clause
                            .map(|(s, first, second)| {
                                let second = second.map(|k| format!(" or {k}")).unwrap_or_default();
                                format!("{s}shortcut {first}{second}")
                            })
                            .unwrap_or_default();
                        format!("residual{from} {b}{clause}")
                    }),
                (prop::option::of(args(literal())), body.clone())
                    .prop_map(|(a, b)| format!("csp{} {b}", a.unwrap_or_default())),
                (
                    expr(),
                    body.clone(),
                    prop::option::of(prop_oneof![
                        body.clone().prop_map(|b| format!(" else {b}")),
                        (expr(), body.clone(), prop::option::of(body.clone())).prop_map(
                            |(c, b, e)| {
                                format!(
                                    " else if {c} {b}{}",
                                    e.map(|e| format!(" else {e}")).unwrap_or_default()
                                )
                            }
                        ),
                    ])
                )
                    .prop_map(|(c, b, e)| format!("if {c} {b}{}", e.unwrap_or_default())),
            ]
        })
        .boxed()
}

/// `{ stmts }` with random separators; a statement that begins with `(`, `[` or `-`
/// follows a `;` so that it does not continue the one before.
fn body(stmt: Text) -> Text {
    (
        sep(),
        prop::collection::vec((stmt, stmt_sep()), 0..5),
        sep(),
    )
        .prop_map(|(open, stmts, close)| {
            let mut text = format!("{{{open}");
            let mut previous_sep = String::new();
            for (i, (s, sep)) in stmts.iter().enumerate() {
                if i > 0 {
                    let ambiguous = s.starts_with(['(', '[', '-']);
                    if ambiguous && !previous_sep.starts_with(';') {
                        text.push(';');
                    }
                    text.push_str(&previous_sep);
                }
                text.push_str(s);
                previous_sep = sep.clone();
            }
            format!("{text}{close}}}")
        })
        .boxed()
}

fn param() -> Text {
    let ty = prop::option::of(pick(&[
        "int",
        "float",
        "bool",
        "[int]",
        "start | middle | end",
        "a|b",
    ]));
    (name(), ty, prop::option::of(expr()))
        .prop_map(|(n, t, d)| {
            let t = t.map(|t| format!(": {t}")).unwrap_or_default();
            let d = d.map(|d| format!(" = {d}")).unwrap_or_default();
            format!("{n}{t}{d}")
        })
        .boxed()
}

fn item() -> Text {
    prop_oneof![
        1 => prop::option::of(prop::collection::vec(name(), 0..3)).prop_map(|names| {
            let names = names.map(|n| format!(" ({})", n.join(", "))).unwrap_or_default();
            format!("import \"blocks.resnet\"{names}")
        }),
        4 => (
            pick(&["network", "block"]),
            name(),
            prop::option::of((prop::collection::vec((param(), sep()), 0..4), any::<bool>())),
            body(stmt()),
        )
            .prop_map(|(keyword, n, params, b)| {
                let params = params
                    .map(|(ps, comma)| {
                        let list: Vec<String> = ps.iter().map(|(p, s)| format!("{s}{p}")).collect();
                        let comma = if comma && !list.is_empty() { "," } else { "" };
                        format!("({}{comma})", list.join(","))
                    })
                    .unwrap_or_default();
                format!("{keyword} {n}{params} {b}")
            }),
    ]
    .boxed()
}

fn file() -> Text {
    (sep(), prop::collection::vec((item(), stmt_sep()), 0..4))
        .prop_map(|(start, items)| {
            let mut text = start.trim_start_matches(' ').to_string();
            for (item, sep) in items {
                text.push_str(&item);
                text.push_str(if sep.starts_with(';') { "\n" } else { &sep });
            }
            text
        })
        .boxed()
}

proptest! {
    #![proptest_config(common::proptest_config(128, 0x0f3a_2026))]

    #[test]
    fn formatting_keeps_the_tree_and_the_comments_and_is_idempotent(text in file()) {
        let original = parse(FileId(0), &text);
        prop_assert!(original.is_ok(), "the generator made a file that does not parse:\n{text}\n{original:?}");
        let original = original.unwrap();

        let formatted = format(&original, &text);
        let reparsed = parse(FileId(0), &formatted);
        prop_assert!(reparsed.is_ok(), "the formatted file does not parse:\n--- input\n{text}\n--- output\n{formatted}\n{reparsed:?}");
        let reparsed = reparsed.unwrap();

        let (before, after) = (without_spans(&original), without_spans(&reparsed));
        prop_assert_eq!(&before.comments, &after.comments, "comments differ:\n--- input\n{}\n--- output\n{}", text, formatted);
        prop_assert!(before == after, "the tree changed:\n--- input\n{}\n--- output\n{}", text, formatted);

        let again = format(&reparsed, &formatted);
        prop_assert_eq!(&again, &formatted, "not idempotent:\n--- input\n{}", text);
    }
}
