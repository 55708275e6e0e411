//! Tests of the features on a workspace of in-memory documents (the loader serves
//! open documents, so imports between them need no files on disk).

use super::analysis::Workspace;
use super::facts::RegionKind;
use super::*;
use lsp_types::{InlayHintLabel, Position, Range, TextDocumentContentChangeEvent, Uri};
use std::path::PathBuf;
use std::str::FromStr;

const BLOCKS: &str = "\
# The basic block.
block basic(width: int, stride: int = 1) {
    residual {
        conv(width, k: 3, stride: stride); bn; relu
        conv(width, k: 3); bn
    } shortcut identity or projection
    relu
}
";

const NET: &str = "\
import \"blocks.resnet\"

network tiny(classes: int = 10) {
    input [3, 32, 32]
    conv(16, k: 3); bn; relu
    stage s1: repeat 2 basic(16)
    stage s2 {
        basic(32, stride: 2)
        basic(32)
    }
    let pooled = avgpool
    flatten; linear(classes) as fc
}
";

fn uri(name: &str) -> Uri {
    Uri::from_str(&format!("file:///virtual/{name}")).unwrap()
}

fn path(name: &str) -> PathBuf {
    PathBuf::from(format!("/virtual/{name}"))
}

fn workspace(files: &[(&str, &str)]) -> Workspace {
    let mut ws = Workspace::new();
    for (name, text) in files {
        ws.open(uri(name), text.to_string(), 1);
    }
    ws.flush();
    ws
}

/// The byte offset of the `nth` occurrence of `needle` in `text`.
fn at(text: &str, needle: &str, nth: usize) -> usize {
    text.match_indices(needle)
        .nth(nth)
        .unwrap_or_else(|| panic!("`{needle}` #{nth} not found"))
        .0
}

fn hints(ws: &Workspace, name: &str) -> Vec<(u32, String)> {
    inlay_hints(ws, &path(name), None)
        .into_iter()
        .map(|h| match h.label {
            InlayHintLabel::String(s) => (h.position.line, s),
            InlayHintLabel::LabelParts(_) => panic!("plain labels expected"),
        })
        .collect()
}

fn hover_text(ws: &Workspace, name: &str, offset: usize) -> String {
    let hover = hover::hover(ws, &path(name), offset).expect("a hover");
    match hover.contents {
        lsp_types::HoverContents::Markup(m) => m.value,
        other => panic!("markdown expected, got {other:?}"),
    }
}

#[test]
fn inlay_hints_show_the_shape_after_each_line() {
    let ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", NET)]);
    let expected: Vec<(u32, String)> = [
        (4, "[16, 32, 32]"),
        (5, "[16, 32, 32]"),
        (7, "[32, 16, 16]"),
        (8, "[32, 16, 16]"),
        (9, "[32, 16, 16]"),
        (10, "[32, 1, 1]"),
        (11, "[10, 1, 1]"),
    ]
    .iter()
    .map(|&(line, shape)| (line, format!("→ {shape}")))
    .collect();
    assert_eq!(hints(&ws, "net.resnet"), expected);
    // The block shows its first instance.
    let expected: Vec<(u32, String)> = [
        (3, "[16, 32, 32]"),
        (4, "[16, 32, 32]"),
        (5, "[16, 32, 32]"),
        (6, "[16, 32, 32]"),
    ]
    .iter()
    .map(|&(line, shape)| (line, format!("→ {shape}")))
    .collect();
    assert_eq!(hints(&ws, "blocks.resnet"), expected);
    // The hint sits at the end of its line.
    let first = &inlay_hints(&ws, &path("net.resnet"), None)[0];
    assert_eq!(first.position, Position::new(4, 28));
}

#[test]
fn evaluations_are_counted_per_instance() {
    let ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", NET)]);
    let blocks = ws
        .facts(&path("blocks.resnet"))
        .expect("facts from the importer");
    let relu = at(BLOCKS, "relu\n}", 0);
    let region = blocks.file.statement_at(relu).unwrap();
    assert_eq!(region.evals.len(), 4, "two repetitions and two calls");
    let net = ws.facts(&path("net.resnet")).unwrap();
    let call = at(NET, "basic(16)", 0);
    let region = net.region(call, call + "basic(16)".len()).unwrap();
    assert_eq!(region.evals.len(), 2, "the two repetitions of the call");
    // One basic block at 16 channels: two 3×3 convs and two BNs.
    assert_eq!(region.evals[0].params, 2 * (16 * 16 * 9) + 2 * 32);
    let stage = net.file.statement_at(at(NET, "repeat 2", 0)).unwrap();
    assert_eq!(stage.kind, RegionKind::Repeat);
    assert_eq!(stage.evals.len(), 1);
    assert_eq!(stage.evals[0].params, 2 * region.evals[0].params);
}

#[test]
fn hover_shows_shapes_costs_and_docs() {
    let ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", NET)]);
    let text = hover_text(&ws, "net.resnet", at(NET, "basic(32, stride", 0) + 2);
    assert!(
        text.contains("block basic(width: int, stride: int = 1)"),
        "{text}"
    );
    assert!(text.contains("The basic block."), "{text}");
    assert!(text.contains("→ `[32, 16, 16]`"), "{text}");
    assert!(text.contains("defined in /virtual/blocks.resnet"), "{text}");
    let text = hover_text(&ws, "net.resnet", at(NET, "linear", 0));
    assert!(text.contains("Fully connected layer"), "{text}");
    assert!(text.contains("→ `[10, 1, 1]` · 330 params"), "{text}");
    let text = hover_text(&ws, "net.resnet", at(NET, "s2", 0));
    assert!(text.contains("stage output → `[32, 16, 16]`"), "{text}");
    let text = hover_text(&ws, "net.resnet", at(NET, "tiny", 0));
    assert!(
        text.contains("input `[3, 32, 32]` → output `[10, 1, 1]`"),
        "{text}"
    );
    let text = hover_text(&ws, "net.resnet", at(NET, "pooled", 0));
    assert!(
        text.contains("let pooled = avgpool") && text.contains("`[32, 1, 1]`"),
        "{text}"
    );
    let text = hover_text(&ws, "blocks.resnet", at(BLOCKS, "relu\n}", 0));
    assert!(text.contains("first of 4 instances"), "{text}");
    let text = hover_text(&ws, "blocks.resnet", at(BLOCKS, "projection", 0));
    assert!(text.contains("Option B"), "{text}");
    let text = hover_text(&ws, "blocks.resnet", at(BLOCKS, "residual", 0));
    assert!(text.contains("y = F(x) + S(x)"), "{text}");
    let text = hover_text(&ws, "blocks.resnet", at(BLOCKS, "stride: stride", 0) + 9);
    assert!(
        text.contains("stride: int = 1") && text.contains("parameter of `basic`"),
        "{text}"
    );
}

#[test]
fn definitions_and_references_cross_imports() {
    let ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", NET)]);
    let def = navigation::definition(&ws, &path("net.resnet"), at(NET, "basic(32)", 0)).unwrap();
    assert_eq!(def.uri, uri("blocks.resnet"));
    assert_eq!(
        def.range,
        Range::new(Position::new(1, 6), Position::new(1, 11))
    );
    let refs = navigation::references(&ws, &path("blocks.resnet"), at(BLOCKS, "basic", 1), true);
    let in_net = refs.iter().filter(|l| l.uri == uri("net.resnet")).count();
    assert_eq!((refs.len(), in_net), (4, 3));
    // The named argument `stride: 2` refers to the parameter.
    let refs = navigation::references(
        &ws,
        &path("blocks.resnet"),
        at(BLOCKS, "stride: int", 0),
        false,
    );
    assert_eq!(refs.len(), 2, "{refs:?}");
    let def = navigation::definition(&ws, &path("net.resnet"), at(NET, "classes)", 0)).unwrap();
    assert_eq!(def.range.start, Position::new(2, 13));
    let import = navigation::definition(&ws, &path("net.resnet"), 9).unwrap();
    assert_eq!(import.uri, uri("blocks.resnet"));
}

#[test]
fn rename_changes_every_file() {
    let ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", NET)]);
    let edit =
        navigation::rename(&ws, &path("net.resnet"), at(NET, "basic(16)", 0), "unit").unwrap();
    let changes = edit.changes.unwrap();
    assert_eq!(changes[&uri("blocks.resnet")].len(), 1);
    assert_eq!(changes[&uri("net.resnet")].len(), 3);
    let edit = navigation::rename(
        &ws,
        &path("blocks.resnet"),
        at(BLOCKS, "stride: int", 0),
        "step",
    )
    .unwrap();
    let changes = edit.changes.unwrap();
    assert_eq!(changes[&uri("blocks.resnet")].len(), 2);
    assert_eq!(changes[&uri("net.resnet")].len(), 1);
    assert!(navigation::rename(
        &ws,
        &path("net.resnet"),
        at(NET, "basic(16)", 0),
        "residual"
    )
    .is_err());
    assert!(navigation::rename(&ws, &path("net.resnet"), at(NET, "basic(16)", 0), "conv").is_err());
    assert!(navigation::rename(&ws, &path("net.resnet"), at(NET, "basic(16)", 0), "2x").is_err());
}

const MISMATCH: &str = "\
network bad {
    input [3, 32, 32]
    conv(16)
    residual {
        conv(32, stride: 2); bn
    }
    relu
}
";

#[test]
fn diagnostics_and_the_projection_fix() {
    let mut ws = Workspace::new();
    ws.open(uri("bad.resnet"), MISMATCH.to_string(), 1);
    let published = ws.flush();
    assert_eq!(published.len(), 1);
    let d = &published[0].diagnostics[0];
    assert_eq!(
        d.code,
        Some(lsp_types::NumberOrString::String("E0301".into()))
    );
    assert_eq!(d.range.start, Position::new(3, 4));
    assert!(
        d.message
            .contains("help: a shortcut that changes the shape fits here"),
        "{}",
        d.message
    );
    assert!(d
        .related_information
        .as_ref()
        .is_some_and(|r| !r.is_empty()));
    let actions = actions::code_actions(&ws, &path("bad.resnet"), d.range);
    let titles: Vec<&str> = actions.iter().map(|a| a.title.as_str()).collect();
    assert!(
        titles.contains(&"Use `shortcut identity or projection`"),
        "{titles:?}"
    );
    let fix = actions
        .iter()
        .find(|a| a.title == "Use `shortcut identity or projection`")
        .unwrap();
    assert_eq!(fix.is_preferred, Some(true));
    let edit = &fix.edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri("bad.resnet")][0];
    assert_eq!(edit.new_text, " shortcut identity or projection");
    assert_eq!(edit.range.start, Position::new(5, 5));
    // Applying it fixes the model.
    let change = TextDocumentContentChangeEvent {
        range: Some(edit.range),
        range_length: None,
        text: edit.new_text.clone(),
    };
    ws.change(&uri("bad.resnet"), vec![change], 2);
    let published = ws.flush();
    assert_eq!(published[0].diagnostics, vec![]);
    assert_eq!(published[0].version, Some(2));
}

#[test]
fn did_you_mean_becomes_a_replacement() {
    let text = "network n {\n    input [3, 8, 8]\n    conv(4); bn; relux\n}\n";
    let ws = workspace(&[("typo.resnet", text)]);
    let doc = ws.document(&uri("typo.resnet")).unwrap();
    let d = &doc.diagnostics[0];
    let code = d.lsp.code.clone();
    assert!(
        matches!(code, Some(lsp_types::NumberOrString::String(c)) if c == "E0201" || c == "E0202")
    );
    assert!(
        d.lsp.message.contains("help: did you mean `relu`?"),
        "{}",
        d.lsp.message
    );
    let actions = actions::code_actions(&ws, &path("typo.resnet"), d.lsp.range);
    assert_eq!(actions.len(), 1);
    let edit = &actions[0].edit.as_ref().unwrap().changes.as_ref().unwrap()[&uri("typo.resnet")][0];
    assert_eq!(edit.new_text, "relu");
}

#[test]
fn a_parse_error_keeps_the_last_good_parse() {
    let mut ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", NET)]);
    // Break the syntax at the top of the file, after the import.
    let broken = NET.replacen("network tiny", "network tiny (", 1);
    let change = TextDocumentContentChangeEvent {
        range: None,
        range_length: None,
        text: broken.clone(),
    };
    ws.change(&uri("net.resnet"), vec![change], 2);
    let published = ws.flush();
    let mine = published
        .iter()
        .find(|p| p.uri == uri("net.resnet"))
        .unwrap();
    assert_eq!(
        mine.diagnostics[0].code,
        Some(lsp_types::NumberOrString::String("E0101".into()))
    );
    // Hover, hints and navigation still work below the edit, shifted by one byte.
    let text = hover_text(&ws, "net.resnet", at(&broken, "linear", 0));
    assert!(text.contains("→ `[10, 1, 1]`"), "{text}");
    assert_eq!(hints(&ws, "net.resnet").len(), 7);
    let def =
        navigation::definition(&ws, &path("net.resnet"), at(&broken, "basic(32)", 0)).unwrap();
    assert_eq!(def.uri, uri("blocks.resnet"));
}

/// A `let` inside a stage stays visible after it (a stage is no scope), which the index
/// alone gets wrong (it takes the parameter); the block nobody calls is not elaborated.
const STAGED: &str = "\
block unused(c: int) { conv(c) }
network staged(w: int = 2) {
    input [3, 8, 8]
    stage s1 { let w = 4; conv(w) }
    conv(w)
}
";

/// The position of byte `offset` of an ASCII `text`.
fn position(text: &str, offset: usize) -> Position {
    let before = &text[..offset];
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    Position::new(
        before.matches('\n').count() as u32,
        (offset - line_start) as u32,
    )
}

#[test]
fn navigation_follows_elaboration_and_falls_back_on_the_index() {
    let ws = workspace(&[("staged.resnet", STAGED)]);
    let file = path("staged.resnet");
    let inner = position(STAGED, at(STAGED, "w = 4", 0));
    let def = navigation::definition(&ws, &file, at(STAGED, "w)\n}", 0)).unwrap();
    assert_eq!(def.range.start, inner);
    let refs = navigation::references(&ws, &file, at(STAGED, "w = 4", 0), true);
    let lines: Vec<u32> = refs.iter().map(|l| l.range.start.line).collect();
    assert_eq!(lines, [3, 3, 4]);
    let text = hover_text(&ws, "staged.resnet", at(STAGED, "w)\n}", 0));
    assert!(text.contains("let w = 4"), "{text}");
    let edit = navigation::rename(&ws, &file, at(STAGED, "w)\n}", 0), "width").unwrap();
    assert_eq!(edit.changes.unwrap()[&uri("staged.resnet")].len(), 3);
    // The parameter `w` is used nowhere.
    let refs = navigation::references(&ws, &file, at(STAGED, "w: int", 0), false);
    assert!(refs.is_empty(), "{refs:?}");
    // Elaboration never reached the unused block: the index answers there.
    let def = navigation::definition(&ws, &file, at(STAGED, "c) }", 0)).unwrap();
    assert_eq!(def.range.start, position(STAGED, at(STAGED, "c: int", 0)));
}

#[test]
fn editing_an_import_rechecks_its_importers() {
    let mut ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", NET)]);
    let broken = BLOCKS.replace("conv(width, k: 3); bn", "conv(width, k: 3, groups: 3); bn");
    let change = TextDocumentContentChangeEvent {
        range: None,
        range_length: None,
        text: broken,
    };
    ws.change(&uri("blocks.resnet"), vec![change], 2);
    let published = ws.flush();
    let blocks = published
        .iter()
        .find(|p| p.uri == uri("blocks.resnet"))
        .unwrap();
    assert!(
        !blocks.diagnostics.is_empty(),
        "the importer's check reports in the block's file"
    );
    let code = blocks.diagnostics[0].code.clone();
    assert!(matches!(code, Some(lsp_types::NumberOrString::String(c)) if c.starts_with("E03")));
}

#[test]
fn completion_offers_what_fits_the_cursor() {
    let text = NET.replace("    flatten;", "    basic(8, )\n    flatten;");
    let ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", &text)]);
    let labels = |offset: usize| -> Vec<String> {
        completion::completion(&ws, &path("net.resnet"), offset, true)
            .into_iter()
            .map(|i| i.label)
            .collect()
    };
    let inside = at(&text, "basic(8, )", 0) + "basic(8, ".len();
    let params = labels(inside);
    assert!(
        params.contains(&"stride".to_string()) && params.contains(&"width".to_string()),
        "{params:?}"
    );
    let top = labels(at(&text, "flatten", 0));
    for expected in ["conv", "basic", "residual", "pooled", "classes"] {
        assert!(top.contains(&expected.to_string()), "{expected} in {top:?}");
    }
    let items = completion::completion(&ws, &path("net.resnet"), at(&text, "flatten", 0), true);
    let conv = items.iter().find(|i| i.label == "conv").unwrap();
    assert_eq!(conv.insert_text.as_deref(), Some("conv(${1:out})"));
    let basic = items.iter().find(|i| i.label == "basic").unwrap();
    assert_eq!(basic.insert_text.as_deref(), Some("basic(${1:width})"));
    let blocks =
        completion::completion(&ws, &path("blocks.resnet"), at(BLOCKS, "identity", 0), true);
    // Exactly the documented shortcut kinds, in their order (`docs` pins that list).
    let kinds: Vec<&str> = blocks.iter().map(|i| i.label.as_str()).collect();
    let documented: Vec<&str> = docs::shortcut_kinds().map(|d| d.name).collect();
    assert_eq!(kinds, documented);
}

/// `**` and a list of tensors given to `sum` go through hover and inlay hints; the hover
/// of a `let` keeps the parentheses that its value's meaning needs.
#[test]
fn powers_and_tensor_lists_in_hover_and_hints() {
    let text = "network n {
    input [3, 8, 8]
    let w = (-2) ** 2 * 2 ** (3 - 1)
    let a = conv(w, k: 1)
    let b = a | conv(w, k: 1)
    let xs = [a, b]
    sum(xs, weights: none) as s
    avgpool; flatten; linear(10)
}
";
    let ws = workspace(&[("pow.resnet", text)]);
    let hover = hover_text(&ws, "pow.resnet", at(text, "w =", 0));
    assert!(
        hover.contains("let w = (-2) ** 2 * 2 ** (3 - 1)"),
        "{hover}"
    );
    let hover = hover_text(&ws, "pow.resnet", at(text, "sum", 0));
    assert!(hover.contains("→ `[16, 8, 8]`"), "{hover}");
    let hints = hints(&ws, "pow.resnet");
    assert!(
        hints.contains(&(6, "→ [16, 8, 8]".to_string())),
        "{hints:?}"
    );
}

/// Shape queries (`channels(in)`) are documented functions in hover and completion, and
/// the layer that uses one shows the width it computed.
#[test]
fn shape_queries_in_hover_and_completion() {
    let text = "block half() {
    conv(channels(in) // 2, k: 1)
}
network n {
    input [3, 8, 8]
    conv(16, k: 1); half
    avgpool; flatten; linear(10)
}
";
    let ws = workspace(&[("q.resnet", text)]);
    let hover = hover_text(&ws, "q.resnet", at(text, "channels", 0));
    assert!(
        hover.contains("channels(x)") && hover.contains("number of channels"),
        "{hover}"
    );
    let hints = hints(&ws, "q.resnet");
    assert!(hints.contains(&(1, "→ [8, 8, 8]".to_string())), "{hints:?}");
    let inside = at(text, "// 2", 0);
    let items = completion::completion(&ws, &path("q.resnet"), inside, true);
    let channels = items
        .iter()
        .find(|i| i.label == "channels")
        .expect("offered");
    assert_eq!(channels.insert_text.as_deref(), Some("channels(${1})"));
}

/// `let parts = repeat …` defines `parts` for hover and inlay hints; an unused tensor
/// is published as a faded warning (E0216).
#[test]
fn collected_repetitions_and_unused_tensors() {
    let text = "network n {
    input [8, 8, 8]
    let x = conv(8, k: 1)
    let parts = repeat 2 as i { x | conv(8, k: 3) }
    let unused = x | conv(8, k: 3)
    sum(parts, weights: none)
    avgpool
}
";
    let mut ws = Workspace::new();
    ws.open(uri("acc.resnet"), text.to_string(), 1);
    let published = ws.flush();
    let d = &published[0].diagnostics;
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(d[0].severity, Some(lsp_types::DiagnosticSeverity::WARNING));
    assert_eq!(
        d[0].code,
        Some(lsp_types::NumberOrString::String("E0216".into()))
    );
    assert_eq!(d[0].range.start, Position::new(4, 4));
    assert_eq!(d[0].tags, Some(vec![lsp_types::DiagnosticTag::UNNECESSARY]));
    let hover = hover_text(&ws, "acc.resnet", at(text, "parts", 1));
    assert!(hover.contains("let parts = repeat 2 as i"), "{hover}");
    let hints = hints(&ws, "acc.resnet");
    assert!(hints.contains(&(5, "→ [8, 8, 8]".to_string())), "{hints:?}");
}

/// A block that returns two tensors, taken apart with `let [high, low] = …`: the hints
/// of both statements list both shapes, each name hovers with its own shape (where it
/// is defined and where it is used), and completion offers the names.
#[test]
fn destructured_names_in_hover_hints_and_completion() {
    let text = "block exchange(low: tensor) {
    let high = in | conv(8, k: 3)
    let low = low | conv(16, k: 3)
    [high, low]
}
network n {
    input [8, 16, 16]
    let h = conv(8, k: 3)
    let l = h | conv(16, k: 3, stride: 2)
    let [high, low] = exchange(h, low: l)
    concat(high, low | upsample(2))
    avgpool; flatten; linear(10)
}
";
    let ws = workspace(&[("x.resnet", text)]);
    let hints = hints(&ws, "x.resnet");
    let both = "→ [8, 16, 16], [16, 8, 8]".to_string();
    assert!(hints.contains(&(3, both.clone())), "{hints:?}");
    assert!(hints.contains(&(9, both)), "{hints:?}");
    assert!(
        hints.contains(&(10, "→ [24, 16, 16]".to_string())),
        "{hints:?}"
    );
    let defined = hover_text(&ws, "x.resnet", at(text, "low] =", 0));
    assert!(
        defined.contains("let [high, low] = exchange(h, low: l)  (element 1)")
            && defined.contains("→ `[16, 8, 8]`"),
        "{defined}"
    );
    let used = hover_text(&ws, "x.resnet", at(text, "high, low |", 0));
    assert!(used.contains("→ `[8, 16, 16]`"), "{used}");
    let statement = hover_text(&ws, "x.resnet", at(text, "exchange(h", 0) - 2);
    assert!(
        statement.contains("→ `[8, 16, 16]`, `[16, 8, 8]`"),
        "{statement}"
    );
    let items = completion::completion(&ws, &path("x.resnet"), at(text, "avgpool", 0), true);
    let labels: Vec<&str> = items.iter().map(|i| i.label.as_str()).collect();
    assert!(
        labels.contains(&"high") && labels.contains(&"low"),
        "{labels:?}"
    );
    let docs = docs::keyword("let").expect("documented");
    assert!(docs.contains("let [a, b] = value"), "{docs}");
}

#[test]
fn outline_lists_networks_stages_and_blocks() {
    let ws = workspace(&[("blocks.resnet", BLOCKS), ("net.resnet", NET)]);
    let outline = symbols::document_symbols(&ws, &path("net.resnet"));
    assert_eq!(outline.len(), 1);
    let stages: Vec<&str> = outline[0]
        .children
        .iter()
        .flatten()
        .map(|s| s.name.as_str())
        .collect();
    assert_eq!(
        (outline[0].name.as_str(), stages),
        ("tiny", vec!["s1", "s2"])
    );
    let outline = symbols::document_symbols(&ws, &path("blocks.resnet"));
    assert_eq!(outline[0].name, "basic");
    assert!(
        ws.document(&uri("blocks.resnet"))
            .unwrap()
            .diagnostics
            .is_empty(),
        "a library has no E0213"
    );
}

/// A block whose body is one statement, repeated from one call site: consecutive
/// evaluations of that statement touch, and are told apart by their first node.
const WEIGHTED: &str = "\
block unit(width: int) {
    residual {
        conv(width, k: 3); bn; relu
        conv(width, k: 3); bn; relu
    } shortcut weighted
}

network w(n: int = 3) {
    input [3, 8, 8]
    conv(4, k: 3); bn; relu
    stage one { repeat n unit(4) }
    stage two { conv(8, k: 3, stride: 2); repeat n unit(8) }
    avgpool; linear(10)
}
";

#[test]
fn touching_evaluations_are_told_apart() {
    let ws = workspace(&[("w.resnet", WEIGHTED)]);
    let facts = ws.facts(&path("w.resnet")).unwrap();
    let residual = facts
        .file
        .statement_at(at(WEIGHTED, "residual", 0))
        .unwrap();
    assert_eq!(residual.evals.len(), 6, "three units in each of two stages");
    // Two 3×3 convs, two BNs and λ.
    assert_eq!(residual.evals[0].params, 2 * (4 * 4 * 9) + 2 * 8 + 1);
    assert_eq!(residual.evals[3].output.to_string(), "[8, 4, 4]");
    let repeat = facts
        .file
        .statement_at(at(WEIGHTED, "repeat n unit(8)", 0))
        .unwrap();
    assert_eq!(repeat.evals.len(), 1);
    assert_eq!(repeat.evals[0].params, 3 * (2 * (8 * 8 * 9) + 2 * 16 + 1));
    let call = at(WEIGHTED, "unit(4)", 0);
    assert_eq!(
        facts
            .region(call, call + "unit(4)".len())
            .unwrap()
            .evals
            .len(),
        3
    );
    let text = hover_text(&ws, "w.resnet", at(WEIGHTED, "weighted", 0));
    assert!(text.contains("first of 6 instances"), "{text}");
}

/// Runs a server on `messages` (JSON values) and returns what it wrote, one JSON value
/// per framed message.
fn serve(messages: Vec<serde_json::Value>) -> Vec<serde_json::Value> {
    let (tx, rx) = std::sync::mpsc::channel();
    for message in messages {
        let message: Message = serde_json::from_value(message).expect("a JSON-RPC message");
        tx.send(transport::Incoming::Message(message)).unwrap();
    }
    tx.send(transport::Incoming::Closed).unwrap();
    let mut server = Server::new(Vec::new());
    server.run(&rx);
    let mut out = Vec::new();
    let mut rest = server.out.as_slice();
    while let Some(start) = rest.windows(4).position(|w| w == b"\r\n\r\n") {
        let header = std::str::from_utf8(&rest[..start]).unwrap();
        let length: usize = header
            .trim_start_matches("Content-Length: ")
            .parse()
            .unwrap();
        let body = &rest[start + 4..start + 4 + length];
        out.push(serde_json::from_slice(body).unwrap());
        rest = &rest[start + 4 + length..];
    }
    out
}

/// Documents with characters of 2, 3 and 4 bytes (`é`, `λ`, `→`: one UTF-16 unit each;
/// `🙂`, `𝔽`: two) next to names, in comments and where a parse fails.
const NON_ASCII: &[&str] = &[
    "network x() {\n    é\n}",
    "network x() {\n    conv(é\n}",
    "# 🙂 é → λ\nblock b(w: int) { conv(w, k: 3); bn; relu } # 𝔽\n\
     network n(c: int = 10) {\n    input [3, 8, 8]  # 🙂🙂\n    b(4) # 🙂\n    \
     stage s { b(4) } # λ𝔽\n    assert c > 0, \"🙂é\"; avgpool; flatten; linear(c) as fc # é\n}\n",
    "# é\nnetwork n() {\n    input [3, 8, 8]\n    conv(4, k: 3)\n    🙂\n}\n",
];

/// Every request that takes a position or a range, at every position of every line
/// (including columns inside a surrogate pair and past the end of the line), answers
/// without an internal error: positions are UTF-16 code units, and none of them may
/// land inside a character.
#[test]
fn every_position_of_non_ascii_text_is_answered() {
    use serde_json::json;
    for (n, text) in NON_ASCII.iter().enumerate() {
        let uri = format!("file:///virtual/utf{n}.resnet");
        let doc = json!({ "uri": uri });
        let mut messages = vec![
            json!({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                   "params": {"capabilities": {}}}),
            json!({"jsonrpc": "2.0", "method": "textDocument/didOpen", "params": {
                "textDocument": {"uri": uri, "languageId": "resnet", "version": 1, "text": text}}}),
        ];
        let mut id = 1;
        let lines: Vec<&str> = text.split('\n').collect();
        for line in 0..=lines.len() {
            let units = lines.get(line).map_or(0, |l| l.encode_utf16().count());
            for character in 0..=units + 1 {
                let position = json!({ "line": line, "character": character });
                let range = json!({ "start": { "line": 0, "character": 0 }, "end": position });
                let at = json!({ "textDocument": doc, "position": position });
                let requests = [
                    ("textDocument/hover", at.clone()),
                    ("textDocument/completion", at.clone()),
                    ("textDocument/definition", at.clone()),
                    ("textDocument/prepareRename", at.clone()),
                    (
                        "textDocument/references",
                        json!({ "textDocument": doc, "position": position,
                                "context": { "includeDeclaration": true } }),
                    ),
                    (
                        "textDocument/rename",
                        json!({ "textDocument": doc, "position": position, "newName": "z" }),
                    ),
                    (
                        "textDocument/inlayHint",
                        json!({ "textDocument": doc, "range": range }),
                    ),
                    (
                        "textDocument/codeAction",
                        json!({ "textDocument": doc, "range": range,
                                "context": { "diagnostics": [] } }),
                    ),
                ];
                for (method, params) in requests {
                    messages.push(
                        json!({"jsonrpc": "2.0", "id": id, "method": method, "params": params}),
                    );
                    id += 1;
                }
            }
        }
        messages.push(
            json!({"jsonrpc": "2.0", "id": id, "method": "textDocument/formatting",
            "params": {"textDocument": doc, "options": {"tabSize": 4, "insertSpaces": true}}}),
        );
        messages.push(json!({"jsonrpc": "2.0", "id": id + 1,
            "method": "textDocument/documentSymbol", "params": {"textDocument": doc}}));
        let sent: Vec<serde_json::Value> = messages.clone();
        let answers = serve(messages);
        let mut answered = 0;
        for answer in answers.iter().filter(|a| a.get("id").is_some()) {
            answered += 1;
            // Rename may refuse (`RequestFailed`); nothing may fail inside resc.
            let code = answer["error"]["code"].as_i64();
            assert!(
                code.is_none() || code == Some(ErrorCode::RequestFailed as i64),
                "{answer}\nfor {}\nin {text:?}",
                sent.iter().find(|m| m["id"] == answer["id"]).unwrap()
            );
        }
        assert_eq!(answered, id as usize + 2, "every request is answered");
    }
}

/// Incremental edits whose ranges end inside a surrogate pair or past a line round
/// to character boundaries instead of splitting a character.
#[test]
fn edits_inside_a_surrogate_pair_keep_the_text_whole() {
    let mut ws = workspace(&[("e.resnet", "# 🙂🙂\nnetwork n() {}\n")]);
    let change = |line, from, to, text: &str| TextDocumentContentChangeEvent {
        range: Some(Range::new(
            Position::new(line, from),
            Position::new(line, to),
        )),
        range_length: None,
        text: text.to_string(),
    };
    // Column 3 lies inside the first emoji (units 2..4); 5 inside the second.
    ws.change(&uri("e.resnet"), vec![change(0, 3, 5, "x")], 2);
    assert_eq!(
        ws.current_text(&path("e.resnet")).unwrap().as_str(),
        "# x🙂\nnetwork n() {}\n"
    );
    ws.change(&uri("e.resnet"), vec![change(0, 99, 120, "é")], 3);
    assert_eq!(
        ws.current_text(&path("e.resnet")).unwrap().as_str(),
        "# x🙂é\nnetwork n() {}\n"
    );
    ws.flush();
    let position = ws
        .current_text(&path("e.resnet"))
        .unwrap()
        .position("# x🙂é".len());
    assert_eq!(position, Position::new(0, 6));
}

/// Ranges sent to the editor count UTF-16 units: a hint after an emoji, a diagnostic
/// on one, and a hover on the name that follows one.
#[test]
fn ranges_after_non_ascii_count_utf16_units() {
    let ws = workspace(&[("u.resnet", NON_ASCII[2]), ("bad.resnet", NON_ASCII[3])]);
    let hint = inlay_hints(&ws, &path("u.resnet"), None)
        .into_iter()
        .find(|h| h.position.line == 4)
        .expect("a hint after `b(4) # 🙂`");
    assert_eq!(
        hint.position,
        Position::new(4, "    b(4) # 🙂".encode_utf16().count() as u32)
    );
    let bad = ws.document(&uri("bad.resnet")).unwrap();
    assert_eq!(bad.diagnostics[0].lsp.range.start, Position::new(4, 4));
    let hover = hover::hover(&ws, &path("u.resnet"), at(NON_ASCII[2], "fc", 0)).unwrap();
    let before = "    assert c > 0, \"🙂é\"; avgpool; flatten; linear(c) as ";
    assert_eq!(
        hover.range.map(|r| r.start),
        Some(Position::new(6, before.encode_utf16().count() as u32))
    );
    let first = hover::hover(&ws, &path("u.resnet"), at(NON_ASCII[2], "b(w", 0)).unwrap();
    assert_eq!(first.range.map(|r| r.start), Some(Position::new(1, 6)));
}

/// The server answers the requests that follow bad headers (issue 15: each bad
/// header used to leave every later request with a parse error).
#[test]
fn requests_after_bad_headers_are_answered() {
    let frame = |body: &str| format!("Content-Length: {}\r\n\r\n{body}", body.len());
    let init = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"capabilities":{}}}"#;
    let lost = r#"{"jsonrpc":"2.0","id":2,"method":"shutdown"}"#;
    let mut input = frame(init).into_bytes();
    for header in [
        "Content-Type: application/json",
        "Content-Length: abc",
        "Content-Length: -5",
        "Content-Length: 184467440737095516160",
        "Content-Length: 7",
    ] {
        input.extend_from_slice(format!("{header}\r\n\r\n{lost}").as_bytes());
    }
    input.extend_from_slice(b"Content-\xffLength: 3\r\n\r\n{}");
    input.extend_from_slice(frame(r#"{"jsonrpc":"2.0","id":42,"method":"shutdown"}"#).as_bytes());
    input.extend_from_slice(frame(r#"{"jsonrpc":"2.0","method":"exit"}"#).as_bytes());
    let (tx, rx) = std::sync::mpsc::channel();
    transport::read_loop(std::io::Cursor::new(input), tx);
    let mut server = Server::new(Vec::new());
    assert_eq!(server.run(&rx), 0, "exit after shutdown");
    let out = String::from_utf8(server.out).unwrap();
    assert!(
        out.contains(r#"{"jsonrpc":"2.0","id":42,"result":null}"#),
        "{out}"
    );
    assert_eq!(
        out.matches("-32700").count(),
        6,
        "one error per bad message: {out}"
    );
}
