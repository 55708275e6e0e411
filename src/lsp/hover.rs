//! Hover: on a layer, block call, stage or name, its output shape, parameters and
//! MACs (the first evaluation of code inside a block, with the number of
//! evaluations); on a built-in, keyword or shortcut kind, its documentation.

use super::analysis::{FactsView, SymbolRef, View, Workspace};
use super::docs;
use super::facts::{FileFacts, Region, RegionKind};
use super::index::{DefKind, Loc, Target};
use lsp_types::{Hover, HoverContents, MarkupContent, MarkupKind, Range};
use std::path::Path;

pub use crate::check::thousands;

/// `4.09e9` → `4.09 G`.
pub fn si(n: u64) -> String {
    let x = n as f64;
    for (scale, prefix) in [(1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "k")] {
        if x >= scale {
            return format!("{:.2} {prefix}", x / scale);
        }
    }
    n.to_string()
}

/// The output of a statement for hints and hovers: the shapes of the tensors of its
/// value where that is a list of tensors (a block that returns several), else the
/// shape of its (first) evaluation's last node.
pub fn statement_output(file: &FileFacts, region: &Region) -> Option<String> {
    match file.lists.get(&region.at) {
        Some(shapes) => Some(
            shapes
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join(", "),
        ),
        None => region.evals.first().map(|e| e.output.to_string()),
    }
}

/// The facts of a statement: its output ([`statement_output`]), parameters and MACs.
pub fn statement_markdown(file: &FileFacts, region: &Region) -> Option<String> {
    let Some(shapes) = file.lists.get(&region.at) else {
        return region_markdown(region);
    };
    let shapes: Vec<String> = shapes.iter().map(|s| format!("`{s}`")).collect();
    let shapes = shapes.join(", ");
    Some(match region_markdown(region) {
        Some(facts) => match facts.split_once(" · ") {
            Some((_, rest)) => format!("→ {shapes} · {rest}"),
            None => format!("→ {shapes}"),
        },
        None => format!("→ {shapes}"),
    })
}

/// The facts of a region: its (first) output shape, parameters and MACs.
pub fn region_markdown(region: &Region) -> Option<String> {
    let first = region.evals.first()?;
    let mut out = format!(
        "→ `{}` · {} params · {} MACs",
        first.output,
        thousands(first.params),
        si(first.macs)
    );
    let n = region.evals.len();
    if n > 1 {
        let params: u64 = region.evals.iter().map(|e| e.params).sum();
        let macs: u64 = region.evals.iter().map(|e| e.macs).sum();
        out.push_str(&format!(
            "\n\n(first of {n} instances; all together {} params, {} MACs)",
            thousands(params),
            si(macs)
        ));
    }
    Some(out)
}

fn markdown(text: String, range: Option<Range>) -> Hover {
    Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: text,
        }),
        range,
    }
}

/// The identifier around byte `offset` of `text`.
pub fn word_at(text: &str, offset: usize) -> Option<(usize, usize)> {
    let bytes = text.as_bytes();
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let offset = offset.min(bytes.len());
    let mut start = offset;
    while start > 0 && is_word(bytes[start - 1]) {
        start -= 1;
    }
    let mut end = offset;
    while end < bytes.len() && is_word(bytes[end]) {
        end += 1;
    }
    (start < end).then_some((start, end))
}

/// The hover at byte `offset` of the current text of `path`.
pub fn hover(ws: &Workspace, path: &Path, offset: usize) -> Option<Hover> {
    let facts = ws.facts(path);
    if let Some(view) = ws.view(path) {
        if let Some(hover) = on_symbol(ws, &view, facts.as_ref(), path, offset) {
            return Some(hover);
        }
    }
    let current = ws.current_text(path)?;
    if let Some((start, end)) = word_at(current.as_str(), offset) {
        if let Some(doc) = docs::keyword(&current.as_str()[start..end]) {
            return Some(markdown(doc.to_string(), Some(current.range(start, end))));
        }
    }
    // Anywhere else in a statement: that statement's facts.
    let facts = facts?;
    let region = facts.file.statement_at(facts.to_facts(offset)?)?;
    let (start, end) = facts.to_current(region.at)?;
    Some(markdown(
        statement_markdown(facts.file, region)?,
        Some(current.range(start, end)),
    ))
}

/// The facts of the region with range `at` (in the parsed text of `view`).
fn facts_of(view: &View<'_>, facts: Option<&FactsView<'_>>, at: Loc) -> Option<String> {
    let (start, end) = view.to_current_bytes(at)?;
    let region = facts?.region(start, end)?;
    region_markdown(region)
}

fn join(parts: impl IntoIterator<Item = Option<String>>) -> Option<String> {
    let parts: Vec<String> = parts.into_iter().flatten().collect();
    (!parts.is_empty()).then(|| parts.join("\n\n---\n\n"))
}

fn on_symbol(
    ws: &Workspace,
    view: &View<'_>,
    facts: Option<&FactsView<'_>>,
    path: &Path,
    offset: usize,
) -> Option<Hover> {
    let at = view.to_info(offset)?;
    let index = &view.info.index;
    if let Some(r) = index.ref_at(at) {
        let range = view.to_current(r.at);
        let call_facts = r.call.and_then(|c| facts_of(view, facts, c));
        // A name elaboration resolved is described by its definition, whatever the
        // index guessed it to be.
        if let Some(symbol) = ws.resolved(path, r.at) {
            let text = join([
                describe(ws, &symbol, path),
                call_facts.or_else(|| value_facts(ws, &symbol, facts)),
            ]);
            return text.map(|t| markdown(t, range));
        }
        let text = match &r.target {
            Target::Layer(name) => {
                join([docs::layer(name).map(docs::builtin_markdown), call_facts])
            }
            Target::Builtin(name) => {
                join([docs::shortcut(name).map(docs::builtin_markdown), call_facts])
            }
            Target::Function(name) => docs::function(name),
            Target::BuiltinArg { builtin, param } => {
                docs::shortcut(builtin).and_then(|d| docs::builtin_param_markdown(d, param))
            }
            Target::Arg { callee, param } if docs::layer(callee).is_some() => {
                docs::layer(callee).and_then(|d| docs::builtin_param_markdown(d, param))
            }
            Target::Block(name)
            | Target::Arg { param: name, .. }
            | Target::Imported { name, .. } => match ws.resolve(path, r) {
                Some(symbol) => join([describe(ws, &symbol, path), call_facts]),
                None => Some(format!(
                    "`{name}`: an enumeration value, or an unknown name"
                )),
            },
            Target::Local(_) => ws.resolve(path, r).and_then(|symbol| {
                join([
                    describe(ws, &symbol, path),
                    call_facts.or_else(|| value_facts(ws, &symbol, facts)),
                ])
            }),
        };
        return text.map(|t| markdown(t, range));
    }
    let def = index.def_at(at)?;
    let symbol = SymbolRef {
        path: path.to_path_buf(),
        def,
    };
    let d = &index.defs[def];
    let range = view.to_current(d.name_at);
    let extra = match d.kind {
        DefKind::Network => facts.map(|f| {
            let n = &f.facts.network;
            let shape =
                |s: Option<crate::ir::Shape>| s.map_or_else(|| "-".to_string(), |s| s.to_string());
            format!(
                "input `{}` → output `{}` · {} nodes · {} params · {} MACs",
                shape(n.input),
                shape(n.output),
                thousands(n.nodes as u64),
                thousands(n.params),
                si(n.macs)
            )
        }),
        DefKind::Block => None,
        _ => value_facts(ws, &symbol, facts),
    };
    join([describe(ws, &symbol, path), extra]).map(|t| markdown(t, range))
}

/// The facts of the statement that defines a value (`let`, stage, alias).
fn value_facts(
    ws: &Workspace,
    symbol: &SymbolRef,
    facts: Option<&FactsView<'_>>,
) -> Option<String> {
    let def = ws.def(symbol)?;
    if !matches!(def.kind, DefKind::Let | DefKind::Stage | DefKind::Alias) {
        return None;
    }
    let view = ws.view(&symbol.path)?;
    let facts = facts?;
    // A name of `let [a, b] = …` has a tensor of its own, not the statement's value.
    if let Some((start, end)) = view.to_current_bytes(def.name_at) {
        if let Some(shape) = facts.name_shape(start, end) {
            return Some(format!("→ `{shape}`"));
        }
    }
    let (start, end) = view.to_current_bytes(def.full)?;
    let region = facts.region(start, end)?;
    let mut text = statement_markdown(facts.file, region)?;
    if region.kind == RegionKind::Stage {
        text = format!("stage output {text}");
    }
    Some(text)
}

/// A definition's signature and, for blocks and networks, the comment above it.
fn describe(ws: &Workspace, symbol: &SymbolRef, from: &Path) -> Option<String> {
    let def = ws.def(symbol)?;
    let file = ws.file(&symbol.path)?;
    let owner = def.owner.and_then(|o| file.index.defs.get(o));
    let mut out = format!("```resnet\n{}\n```", def.detail);
    match (&def.kind, owner) {
        (DefKind::Param, Some(owner)) => out.push_str(&format!("\nparameter of `{}`", owner.name)),
        (DefKind::Let, _) => out = format!("```resnet\n{}\n```", def.detail),
        (DefKind::Block | DefKind::Network, _) => {
            let comment = leading_comment(file, def.full.start as usize);
            if !comment.is_empty() {
                out.push('\n');
                out.push_str(&comment);
            }
            if symbol.path != from {
                out.push_str(&format!("\n\ndefined in {}", symbol.path.display()));
            }
        }
        _ => {}
    }
    Some(out)
}

/// The `#` comment lines directly above byte `start`.
fn leading_comment(file: &super::analysis::FileInfo, start: usize) -> String {
    let text = file.text.as_str();
    let mut line = file.text.line_of(start);
    let mut lines = Vec::new();
    while line > 0 {
        line -= 1;
        let range = file.text.line_range(line);
        let trimmed = text[range].trim();
        match trimmed.strip_prefix('#') {
            Some(comment) => lines.push(comment.trim().to_string()),
            None => break,
        }
    }
    lines.reverse();
    lines.join("\n")
}
