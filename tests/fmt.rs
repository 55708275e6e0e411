//! `resc fmt`: expected layouts (input → output), the zoo (every model is already in
//! canonical layout, formatting keeps its tree and is idempotent), and the command
//! line (`--check`, rewriting in place, files that do not parse).
//!
//! The random-input property test is `tests/fmt_proptest.rs`.

use resc::fmt::{format, without_spans};
use resc::source::FileId;
use resc::syntax::{ast, parse};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn parsed(text: &str) -> ast::File {
    parse(FileId(0), text).unwrap_or_else(|d| panic!("does not parse: {d:#?}\n{text}"))
}

/// `input` formats to `expected`; `expected` is a fixed point; both parse to the same
/// tree with the same comments.
fn check(input: &str, expected: &str) {
    let original = parsed(input);
    let formatted = format(&original, input);
    assert_eq!(
        formatted, expected,
        "\n--- got:\n{formatted}\n--- expected:\n{expected}"
    );
    let reparsed = parsed(&formatted);
    assert!(
        without_spans(&original) == without_spans(&reparsed),
        "the tree changed:\n{formatted}"
    );
    assert_eq!(format(&reparsed, &formatted), formatted, "not idempotent");
}

/// Spaces around operators, `name: value`, no space before `(`, 4-space indentation.
#[test]
fn spacing() {
    check(
        r#"network   n ( classes:int=10 ){input[3,32,32]
conv(16,k:3,stride:2)as conv1
bn;relu
let x=1+2*3
linear(classes)}
"#,
        r#"network n(classes: int = 10) {
    input [3, 32, 32]
    conv(16, k: 3, stride: 2) as conv1
    bn; relu
    let x = 1 + 2 * 3
    linear(classes)
}
"#,
    );
}

/// Comments before items, between and after parameters, on the `{` line, trailing (aligned on consecutive lines of similar length), in an empty body, inside a statement (moved before it), between `}` and `shortcut` (moved into the body), after the last statement and at the end of the file.
#[test]
fn comments_everywhere() {
    check(
        r#"# file header

# about the block
block b(width: int, # the width
    # before stride
    stride: int = 1 # last param
    # after the last parameter
) { # the block
    # first
    conv(width, stride: stride) # trailing
    bn   # aligned?
    relu # aligned!
    residual {
        # nothing but a comment
    }
    stage empty {}
    conv(width,
         # inside the arguments
         k: 3)
    residual {
        relu
    } # between the brace and the shortcut
    shortcut projection
    # after the last statement
}
# trailing the file
"#,
        r#"# file header

# about the block
block b(
    width: int,  # the width
    # before stride
    stride: int = 1,  # last param
    # after the last parameter
) {  # the block
    # first
    conv(width, stride: stride)  # trailing
    bn    # aligned?
    relu  # aligned!
    residual {
        # nothing but a comment
    }
    stage empty {}
    # inside the arguments
    conv(width, k: 3)
    residual {
        relu
        # between the brace and the shortcut
    } shortcut projection
    # after the last statement
}
# trailing the file
"#,
    );
}

/// At most one blank line between statements, none at the start or end of a body, exactly one between items.
#[test]
fn blank_lines() {
    check(
        r#"network n {


    input [3, 8, 8]



    relu
    # c

    bn

}



block b { relu }
block c { bn }
"#,
        r#"network n {
    input [3, 8, 8]

    relu
    # c

    bn
}

block b { relu }

block c { bn }
"#,
    );
}

/// Simple calls written on one line stay on one line (as many as fit); other statements get a line each.
#[test]
fn runs() {
    check(
        r#"block b {
    conv(64, k: 3); bn; relu
    conv(64, k: 3)
    bn
    let a = 1; let b = 2
    conv(256, k: 3, stride: 2, padding: 1, dilation: 1, groups: 1, bias: false); bn(eps: 1e-5, momentum: 0.1); relu; maxpool(k: 3)
}
"#,
        r#"block b {
    conv(64, k: 3); bn; relu
    conv(64, k: 3)
    bn
    let a = 1
    let b = 2
    conv(256, k: 3, stride: 2, padding: 1, dilation: 1, groups: 1, bias: false)
    bn(eps: 1e-5, momentum: 0.1); relu; maxpool(k: 3)
}
"#,
    );
}

/// `stage s:` and `repeat n stmt` keep their form; one-line bodies stay on one line; `csp()` loses its empty parentheses.
#[test]
fn forms() {
    check(
        r#"block b(n: int) {
    stage s: repeat n basic(64)
    stage t { conv(3); bn }
    stage u {
        relu
    }
    repeat 2 as i { conv(i) }
    residual from in { relu } shortcut identity or projection(bn: false) from in
    stage d { repeat 3 basic(64) } with shortcut dense
    csp() { relu }
}
"#,
        r#"block b(n: int) {
    stage s: repeat n basic(64)
    stage t { conv(3); bn }
    stage u {
        relu
    }
    repeat 2 as i { conv(i) }
    residual from in { relu } shortcut identity or projection(bn: false) from in
    stage d { repeat 3 basic(64) } with shortcut dense
    csp { relu }
}
"#,
    );
}

/// `let ys = repeat …` keeps its form, with braces or without.
#[test]
fn collecting_repeat() {
    check(
        r#"block b(n: int) {
    let x = in
    let ys   =   repeat n as i {x | conv(8, k: 3, dilation: i + 1)}
    let zs = repeat 2   conv(8)
    let ws = repeat n {
        conv(8); bn
        relu
    }
    sum(ys, weights: none)
}
"#,
        r#"block b(n: int) {
    let x = in
    let ys = repeat n as i { x | conv(8, k: 3, dilation: i + 1) }
    let zs = repeat 2 conv(8)
    let ws = repeat n {
        conv(8); bn
        relu
    }
    sum(ys, weights: none)
}
"#,
    );
}

/// `let [a, b] = …` (a space after each comma, none inside the brackets, a trailing
/// comma dropped), and a list of tensors as a block's last statement: no `;` before a
/// list of two or more (it cannot be an index; `semicolons` shows the one before `[x]`).
#[test]
fn destructuring_and_multi_output_blocks() {
    check(
        r#"block exchange(low:tensor){
    let high=in|conv(16,k:3)
    let low=low|conv(32,k:3)
    [ high|relu ,low|relu ]
}
block one { let x = in | conv(8); [x] }
network n {input [16,16,16]
let  [ h , l , ]=exchange(in_map(),low:y)
let [_,  _rest]  =  [1,2]
    let [first] = [h]
}
"#,
        r#"block exchange(low: tensor) {
    let high = in | conv(16, k: 3)
    let low = low | conv(32, k: 3)
    [high | relu, low | relu]
}

block one { let x = in | conv(8); [x] }

network n {
    input [16, 16, 16]
    let [h, l] = exchange(in_map(), low: y)
    let [_, _rest] = [1, 2]
    let [first] = [h]
}
"#,
    );
}

/// Exactly the parentheses that precedence needs.
#[test]
fn parens() {
    check(
        r#"block b { let x = ((1 + 2)) * (3) - (4 - 5) - (-6) + (not a) * 2; let y = (a or b) and not (c and d); let z = (if a then 1 else 2) + 1; let w = -(a + b)[0] + (-a)[1] + (a[0])[1]; let v = 1 - (2 - 3); let u = (1 - 2) - 3 }
"#,
        r#"block b {
    let x = (1 + 2) * 3 - (4 - 5) - -6 + (not a) * 2
    let y = (a or b) and not (c and d)
    let z = (if a then 1 else 2) + 1
    let w = -(a + b)[0] + (-a)[1] + a[0][1]
    let v = 1 - (2 - 3)
    let u = 1 - 2 - 3
}
"#,
    );
}

/// `**` is right-associative and binds tighter than unary minus on its left: parentheses
/// only where the tree needs them, and none around a negated exponent.
#[test]
fn powers() {
    check(
        r#"block b { let a = 2**(j-i); let b = (2 ** 3) ** 2; let c = 2 ** (3 ** 2); let d = (-2) ** 2; let e = -(2 ** 2); let f = 2 ** -1; let g = 2 ** (-1 * k); let h = (a[0] ** 2)[1] + (2 * 3) ** x[0] }
"#,
        r#"block b {
    let a = 2 ** (j - i)
    let b = (2 ** 3) ** 2
    let c = 2 ** 3 ** 2
    let d = (-2) ** 2
    let e = -2 ** 2
    let f = 2 ** -1
    let g = 2 ** (-1 * k)
    let h = (a[0] ** 2)[1] + (2 * 3) ** x[0]
}
"#,
    );
}

/// Shape queries are calls like any other: `channels(in) // r` keeps its spacing and
/// needs no parentheses inside a larger expression; a long pipe breaks before each `|`.
#[test]
fn shape_queries() {
    check(
        r#"block se(r:int=16){let s=in|global_avgpool|conv(channels(in)//r,k:1)|relu|conv(channels(in),k:1)|sigmoid
mul(in,s)
let grow=(height(in)>8) and width(in)>8}
"#,
        r#"block se(r: int = 16) {
    let s = in
        | global_avgpool
        | conv(channels(in) // r, k: 1)
        | relu
        | conv(channels(in), k: 1)
        | sigmoid
    mul(in, s)
    let grow = height(in) > 8 and width(in) > 8
}
"#,
    );
}

/// Number literals keep their spelling.
#[test]
fn literals() {
    check(
        r#"block b { let a = 1e-5; let b = 2.; let c = 1_000; let d = 3E+2; let e = 0.50; let f = (1e-5) }
"#,
        r#"block b { let a = 1e-5; let b = 2.; let c = 1_000; let d = 3E+2; let e = 0.50; let f = 1e-5 }
"#,
    );
}

/// A `;` only where the next statement would otherwise continue this one (not before a
/// list of two or more, which cannot be an index), and where a nested stage would
/// otherwise take a `with` clause.
#[test]
fn semicolons() {
    check(
        r#"block b { relu; (x) | bn; let y = a; -y; [1, 2]; [3]
 stage a: stage b: relu;; with shortcut dense }
"#,
        r#"block b {
    relu
    x | bn
    let y = a;
    -y
    [1, 2];
    [3]
    stage a: stage b: relu;; with shortcut dense
}
"#,
    );
}

/// `else { if … }` becomes `else if`; one-line bodies stay.
#[test]
fn if_statements() {
    check(
        r#"block b(role: start | middle | end = middle) {
    if role != start { bn }
    if role == start { relu } else { if role == end { bn } else { relu; bn } }
    if a {
        bn
    } else {}
}
"#,
        r#"block b(role: start | middle | end = middle) {
    if role != start { bn }
    if role == start { relu } else if role == end { bn } else { relu; bn }
    if a {
        bn
    } else {}
}
"#,
    );
}

/// Lines over 100 columns break: operators fill lines, `else` and `|` go to new lines, brackets put one item per line.
#[test]
fn long_lines() {
    check(
        r#"network n(depth: int = 50, classes: int = 1000, width_multiplier: float = 1.0, groups: int = 1) {
    assert depth == 50 or depth == 101 or depth == 152 or depth == 200 or depth == 302 or depth == 404, "unsupported depth"
    let layers = if depth == 101 then [3, 4, 23, 3] else if depth == 152 then [3, 8, 36, 3] else [3, 4, 6, 3]
    stage layer1: repeat layers[0] as i bottleneck(64, stride: if i == 0 then 2 else 1, role: if i == 0 then start else middle)
    let y = x | conv(64, k: 3, stride: 2) | bn(eps: 0.001) | relu | conv(64, k: 3) | bn(zero_init: true) | relu
}
"#,
        r#"network n(depth: int = 50, classes: int = 1000, width_multiplier: float = 1.0, groups: int = 1) {
    assert depth == 50 or depth == 101 or depth == 152 or depth == 200 or depth == 302
        or depth == 404,
        "unsupported depth"
    let layers = if depth == 101 then [3, 4, 23, 3]
        else if depth == 152 then [3, 8, 36, 3]
        else [3, 4, 6, 3]
    stage layer1: repeat layers[0] as i bottleneck(
        64,
        stride: if i == 0 then 2 else 1,
        role: if i == 0 then start else middle,
    )
    let y = x
        | conv(64, k: 3, stride: 2)
        | bn(eps: 0.001)
        | relu
        | conv(64, k: 3)
        | bn(zero_init: true)
        | relu
}
"#,
    );
}

/// Comments inside `train { … }` and `names { … }` stay where they are (issue 15: they
/// moved above the statement): on their own lines between entries, with a blank line
/// before them where the source has one, trailing an entry, and before the `}`. Entries
/// that share a source line keep sharing it.
#[test]
fn comments_in_train_and_names_stay_in_place() {
    check(
        r#"network n {
    train {
        # the optimiser
        optimizer: sgd, lr: 0.1,   # the paper's
        momentum: 0.9

        # the schedule
        schedule: cosine, epochs: 30 # short
        # end of the recipe
    }
    names torchvision {
        # the stem
        "conv1.conv1" -> "conv1" # renamed
        "conv1.bn1" -> "bn1",
        # the blocks
        "*.*.residual.**" -> "*.*.**"
    # after the rules
    }
    names tf { "a" -> "b" # only one
    }
    input [3, 8, 8]
}
"#,
        r#"network n {
    train {
        # the optimiser
        optimizer: sgd, lr: 0.1,  # the paper's
        momentum: 0.9,

        # the schedule
        schedule: cosine, epochs: 30,  # short
        # end of the recipe
    }
    names torchvision {
        # the stem
        "conv1.conv1" -> "conv1"  # renamed
        "conv1.bn1" -> "bn1"
        # the blocks
        "*.*.residual.**" -> "*.*.**"
        # after the rules
    }
    names tf {
        "a" -> "b"  # only one
    }
    input [3, 8, 8]
}
"#,
    );
}

/// A comment before the `{` moves before the statement, one inside an entry before
/// the entry's line; those on the `{` line and after the `}` stay trailing.
#[test]
fn comments_around_and_inside_train_entries() {
    check(
        r#"network n {
    train # before the brace
    { # on the brace
        lr: 0.1, epochs: [1, # inside a value
           2]
    } # after
}
"#,
        r#"network n {
    # before the brace
    train {  # on the brace
        # inside a value
        lr: 0.1, epochs: [1, 2],
    }  # after
}
"#,
    );
}

/// Without comments, `train` and `names` keep their layouts.
#[test]
fn train_and_names_without_comments() {
    check(
        "network n {\n    train { lr: 0.1, epochs: 3 }\n    names tf { \"a\" -> \"b\" }\n}\n",
        "network n {\n    train { lr: 0.1, epochs: 3 }\n    names tf { \"a\" -> \"b\" }\n}\n",
    );
}

/// Consecutive imports keep the source's blank lines; an item after them gets one.
#[test]
fn imports() {
    check(
        r#"import "a.resnet"
import "b.resnet" (x, y)

import "c.resnet" ()
network n { input [3, 8, 8] }
"#,
        r#"import "a.resnet"
import "b.resnet" (x, y)

import "c.resnet" ()

network n { input [3, 8, 8] }
"#,
    );
}

/// Trailing comments line up on consecutive lines of similar length; a comment from
/// a shortcut clause moves to the end of the residual's body, without a blank line.
#[test]
fn trailing_comment_alignment_and_comments_in_a_shortcut_clause() {
    check(
        r#"block b {
    residual {
        relu
    } shortcut projection(
        # why
        bn: false) # t
    x | conv(64, k: 3, stride: 2, padding: 1, dilation: 1) | bn(eps: 0.001, momentum: 0.1) | relu # long
    let a = 1 # one
    let bb = 2 # two
}
"#,
        r#"block b {
    residual {
        relu
        # why
    } shortcut projection(bn: false)  # t
    x | conv(64, k: 3, stride: 2, padding: 1, dilation: 1) | bn(eps: 0.001, momentum: 0.1) | relu  # long
    let a = 1   # one
    let bb = 2  # two
}
"#,
    );
}

#[test]
fn empty_files_and_files_of_comments() {
    check("", "");
    check("\n\n", "");
    check(
        "# only a comment   \n\n\n# and another",
        "# only a comment\n\n# and another\n",
    );
}

#[test]
fn comment_after_the_open_brace_of_a_residual_and_in_the_head() {
    check(
        "block b {\n    residual from in # where from\n    { # the branch\n        relu\n    }\n}\n",
        "block b {\n    # where from\n    residual from in {  # the branch\n        relu\n    }\n}\n",
    );
}

#[test]
fn network_without_parameters_loses_empty_parentheses() {
    check("network n() {\n}\n", "network n {}\n");
}

// ---------------------------------------------------------------------------------
// The zoo.

fn zoo() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("models/ exists")
        .map(|e| e.expect("a directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "resnet"))
        .collect();
    files.sort();
    assert!(files.len() >= 10, "the zoo has models");
    files
}

#[test]
fn zoo_formatting_keeps_the_tree_and_is_idempotent() {
    for path in zoo() {
        let text = std::fs::read_to_string(&path).expect("a readable model");
        let original = parsed(&text);
        let once = format(&original, &text);
        let reparsed = parsed(&once);
        assert!(
            without_spans(&original) == without_spans(&reparsed),
            "{}: the tree changed",
            path.display()
        );
        let twice = format(&reparsed, &once);
        assert_eq!(twice, once, "{}: not idempotent", path.display());
    }
}

// ---------------------------------------------------------------------------------
// The command line.

fn resc(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resc"))
        .args(args)
        .current_dir(dir)
        .output()
        .expect("the resc binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("UTF-8 output")
}

/// A fresh scratch directory for one test.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resc-fmt-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("sub")).expect("a scratch directory");
    dir
}

#[test]
fn zoo_passes_fmt_check() {
    let out = resc(
        &["fmt", "--check", "models"],
        Path::new(env!("CARGO_MANIFEST_DIR")),
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "`resc fmt models/` would change:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert_eq!(text(&out.stdout), "");
}

#[test]
fn check_lists_files_that_would_change_and_changes_nothing() {
    let dir = scratch("check");
    let messy = "block b {relu}\n";
    std::fs::write(dir.join("sub/messy.resnet"), messy).unwrap();
    std::fs::write(dir.join("tidy.resnet"), "block b { relu }\n").unwrap();
    std::fs::write(dir.join("notes.txt"), "not a model {").unwrap();
    let out = resc(&["fmt", "--check", "."], &dir);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "would reformat: ./sub/messy.resnet\n");
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/messy.resnet")).unwrap(),
        messy
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn fmt_rewrites_in_place_and_leaves_files_that_do_not_parse() {
    let dir = scratch("write");
    std::fs::write(dir.join("a.resnet"), "network n{input [3,8,8];relu}").unwrap();
    let broken = "network n { conv(16, }\n";
    std::fs::write(dir.join("sub/broken.resnet"), broken).unwrap();
    let out = resc(&["fmt", "a.resnet", "sub"], &dir);
    assert_eq!(
        out.status.code(),
        Some(1),
        "a file that does not parse is an error"
    );
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("E0101"),
        "the syntax error is shown:\n{stderr}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("a.resnet")).unwrap(),
        "network n { input [3, 8, 8]; relu }\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("sub/broken.resnet")).unwrap(),
        broken
    );
    let leftovers: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(leftovers.is_empty(), "temporary files left: {leftovers:?}");

    let out = resc(&["fmt", "--check", "a.resnet"], &dir);
    assert_eq!(out.status.code(), Some(0), "formatted files pass --check");
    let out = resc(&["fmt", "missing.resnet"], &dir);
    assert_eq!(
        out.status.code(),
        Some(3),
        "a file that cannot be read is an I/O error"
    );
    std::fs::remove_dir_all(&dir).unwrap();
}
