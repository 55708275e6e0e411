//! Completion: layer names, shortcut kinds, the blocks in scope, keywords, the names
//! in scope and the built-in functions (`max`, `channels`, …); inside the argument list of a call, the parameter names of the
//! callee. Calls and parameters come with snippets for their arguments.
//!
//! The context is read from the text before the cursor (it rarely parses while
//! someone types); names in scope come from the last good parse.

use super::analysis::Workspace;
use super::docs;
use super::index::DefKind;
use crate::elab::LayerDoc;
use lsp_types::{
    CompletionItem, CompletionItemKind, Documentation, InsertTextFormat, MarkupContent, MarkupKind,
};
use std::path::Path;

#[derive(Debug, PartialEq)]
enum Context {
    /// After `shortcut` or `shortcut … or`.
    ShortcutKind,
    /// Inside the parentheses of a call of `callee`; `name_position` when an argument
    /// name may be written here (right after `(` or `,`).
    Args {
        callee: String,
        name_position: bool,
        given: Vec<String>,
    },
    Statement,
}

fn is_word(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

fn last_word(text: &str) -> &str {
    let trimmed = text.trim_end();
    // The word starts after the last other character, which may be wider than a byte.
    let start = trimmed
        .char_indices()
        .rfind(|&(_, c)| !is_word(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    &trimmed[start..]
}

fn context(before: &str) -> Context {
    let word = last_word(before);
    let since_brace = before.rfind('}').map_or(before, |i| &before[i..]);
    if word == "shortcut" || (word == "or" && since_brace.contains("shortcut")) {
        return Context::ShortcutKind;
    }
    // The innermost unclosed `(` of the current statement.
    let mut depth = 0i32;
    for (i, c) in before.char_indices().rev() {
        match c {
            ')' | ']' => depth += 1,
            '[' => depth -= 1,
            '(' if depth == 0 => {
                let callee = last_word(&before[..i]);
                if callee.is_empty() {
                    return Context::Statement;
                }
                let inside = &before[i + 1..];
                let tail = inside.rsplit(',').next().unwrap_or(inside);
                let given = inside
                    .split(',')
                    .filter_map(|a| a.split_once(':').map(|(n, _)| n.trim().to_string()))
                    .collect();
                return Context::Args {
                    callee: callee.to_string(),
                    name_position: tail.trim().is_empty(),
                    given,
                };
            }
            '(' => depth -= 1,
            '{' | '}' => break,
            _ => {}
        }
        if depth < 0 {
            break;
        }
    }
    Context::Statement
}

fn markdown(text: String) -> Option<Documentation> {
    Some(Documentation::MarkupContent(MarkupContent {
        kind: MarkupKind::Markdown,
        value: text,
    }))
}

/// Escapes text for a snippet placeholder.
fn escape(text: &str) -> String {
    text.replace('\\', "\\\\")
        .replace('$', "\\$")
        .replace('}', "\\}")
}

struct Items {
    snippets: bool,
    list: Vec<CompletionItem>,
}

impl Items {
    fn add(
        &mut self,
        label: &str,
        kind: CompletionItemKind,
        detail: Option<String>,
        doc: Option<String>,
        snippet: Option<String>,
    ) {
        let snippet = snippet.filter(|_| self.snippets);
        self.list.push(CompletionItem {
            label: label.to_string(),
            kind: Some(kind),
            detail,
            documentation: doc.and_then(markdown),
            insert_text_format: Some(if snippet.is_some() {
                InsertTextFormat::SNIPPET
            } else {
                InsertTextFormat::PLAIN_TEXT
            }),
            insert_text: snippet,
            ..CompletionItem::default()
        });
    }

    /// A call with placeholders for the required arguments, written positionally.
    fn call(
        &mut self,
        name: &str,
        required: &[String],
        kind: CompletionItemKind,
        detail: Option<String>,
        doc: Option<String>,
    ) {
        let snippet = (!required.is_empty()).then(|| {
            let args: Vec<String> = required
                .iter()
                .enumerate()
                .map(|(i, p)| format!("${{{}:{}}}", i + 1, escape(p)))
                .collect();
            format!("{name}({})", args.join(", "))
        });
        self.add(name, kind, detail, doc, snippet);
    }

    fn builtin_params(&mut self, doc: &LayerDoc, given: &[String]) {
        for (name, default, text) in &doc.params {
            if given.iter().any(|g| g == name) {
                continue;
            }
            let placeholder = match default.as_str() {
                "required" | "derived" => String::new(),
                d => escape(d),
            };
            let snippet = format!("{name}: ${{1:{placeholder}}}");
            self.add(
                name,
                CompletionItemKind::PROPERTY,
                Some(format!("default: {default}")),
                Some(text.to_string()),
                Some(snippet),
            );
        }
    }
}

pub fn completion(
    ws: &Workspace,
    path: &Path,
    offset: usize,
    snippets: bool,
) -> Vec<CompletionItem> {
    let Some(text) = ws.current_text(path) else {
        return Vec::new();
    };
    let text = text.as_str();
    let offset = offset.min(text.len());
    let mut start = offset;
    while start > 0 && text[..start].ends_with(is_word) {
        start -= 1;
    }
    let mut items = Items {
        snippets,
        list: Vec::new(),
    };
    match context(&text[..start]) {
        Context::ShortcutKind => {
            for doc in docs::shortcut_kinds() {
                items.add(
                    doc.name,
                    CompletionItemKind::ENUM_MEMBER,
                    None,
                    Some(docs::builtin_markdown(doc)),
                    None,
                );
            }
        }
        Context::Args {
            callee,
            name_position,
            given,
        } => {
            if name_position {
                params_of(ws, path, &callee, &given, &mut items);
            }
            names_in_scope(ws, path, start, &mut items);
            functions(&mut items);
        }
        Context::Statement => {
            for doc in docs::all_layers() {
                let required: Vec<String> = doc
                    .params
                    .iter()
                    .filter(|p| p.1 == "required")
                    .map(|p| p.0.to_string())
                    .collect();
                items.call(
                    doc.name,
                    &required,
                    CompletionItemKind::FUNCTION,
                    Some("layer".into()),
                    Some(docs::builtin_markdown(doc)),
                );
            }
            for (name, symbol) in ws.blocks_in_scope(path) {
                let Some(file) = ws.file(&symbol.path) else {
                    continue;
                };
                let required: Vec<String> = file
                    .index
                    .params_of(symbol.def)
                    .filter(|p| !p.detail.contains(" = "))
                    .map(|p| p.name.clone())
                    .collect();
                let detail = ws.def(&symbol).map(|d| d.detail.clone());
                items.call(&name, &required, CompletionItemKind::CLASS, detail, None);
            }
            keywords(&mut items);
            names_in_scope(ws, path, start, &mut items);
            functions(&mut items);
        }
    }
    items.list
}

fn params_of(ws: &Workspace, path: &Path, callee: &str, given: &[String], items: &mut Items) {
    if let Some(doc) = docs::layer(callee).or_else(|| docs::shortcut(callee)) {
        items.builtin_params(doc, given);
        return;
    }
    let Some(block) = ws.block_in_scope(path, callee) else {
        return;
    };
    let Some(file) = ws.file(&block.path) else {
        return;
    };
    for param in file.index.params_of(block.def) {
        if given.contains(&param.name) {
            continue;
        }
        let default = param
            .detail
            .split_once(" = ")
            .map(|(_, d)| escape(d))
            .unwrap_or_default();
        let snippet = format!("{}: ${{1:{default}}}", param.name);
        items.add(
            &param.name,
            CompletionItemKind::PROPERTY,
            Some(param.detail.clone()),
            None,
            Some(snippet),
        );
    }
}

fn names_in_scope(ws: &Workspace, path: &Path, offset: usize, items: &mut Items) {
    let Some(view) = ws.view(path) else { return };
    let Some(at) = view.to_info(offset) else {
        return;
    };
    let index = &view.info.index;
    let owner = index.owner_at(at);
    for def in &index.defs {
        let kind = match def.kind {
            DefKind::Param => CompletionItemKind::VARIABLE,
            DefKind::Let | DefKind::Index => CompletionItemKind::VARIABLE,
            _ => continue,
        };
        if def.owner == owner
            && def.visible.touches(at)
            && !items.list.iter().any(|i| i.label == def.name)
        {
            items.add(&def.name, kind, Some(def.detail.clone()), None, None);
        }
    }
}

/// The built-in functions (`max`, `channels`, …), which give values in arguments and
/// after `let name =`.
fn functions(items: &mut Items) {
    for (name, _, _) in docs::FUNCTIONS {
        if items.list.iter().any(|i| i.label == *name) {
            continue;
        }
        let snippet = format!("{name}(${{1}})");
        items.add(
            name,
            CompletionItemKind::FUNCTION,
            Some("function".into()),
            docs::function(name),
            Some(snippet),
        );
    }
}

fn keywords(items: &mut Items) {
    let snippets: &[(&str, &str)] = &[
        (
            "residual",
            "residual {\n\t$0\n} shortcut identity or projection",
        ),
        ("stage", "stage ${1:name} {\n\t$0\n}"),
        ("repeat", "repeat ${1:n} as ${2:i} {\n\t$0\n}"),
        ("let", "let ${1:name} = $0"),
        ("input", "input [${1:3}, ${2:224}, ${3:224}]"),
        ("assert", "assert ${1:condition}, \"${2:message}\""),
        ("csp", "csp(split: ${1:0.5}) {\n\t$0\n}"),
        (
            "train",
            "train {\n\toptimizer: ${1:sgd}, lr: ${2:0.1}, epochs: ${3:200}, batch: ${4:128}\n\t$0\n}",
        ),
        ("block", "block ${1:name}(${2}) {\n\t$0\n}"),
        (
            "network",
            "network ${1:name}(${2}) {\n\tinput [${3:3}, ${4:224}, ${5:224}]\n\t$0\n}",
        ),
        ("import", "import \"${1:file.resnet}\""),
    ];
    for (word, snippet) in snippets {
        let doc = docs::keyword(word).map(str::to_string);
        items.add(
            word,
            CompletionItemKind::KEYWORD,
            None,
            doc,
            Some(snippet.to_string()),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contexts_from_the_text_before_the_cursor() {
        assert_eq!(
            context("residual { conv(64) } shortcut "),
            Context::ShortcutKind
        );
        assert_eq!(context("} shortcut identity or "), Context::ShortcutKind);
        assert_eq!(context("x = a or "), Context::Statement);
        assert_eq!(
            context("    conv(64, k: 3, "),
            Context::Args {
                callee: "conv".into(),
                name_position: true,
                given: vec!["k".into()]
            }
        );
        assert_eq!(
            context("bottleneck(128, stride: "),
            Context::Args {
                callee: "bottleneck".into(),
                name_position: false,
                given: vec!["stride".into()]
            }
        );
        assert_eq!(
            context("conv(max(a, b), "),
            Context::Args {
                callee: "conv".into(),
                name_position: true,
                given: vec![]
            }
        );
        assert_eq!(context("stage s {\n    conv(64)\n    "), Context::Statement);
        // The character before the word may be wider than a byte (issue 15).
        assert_eq!(context("network x() {\n    é"), Context::Statement);
        assert_eq!(last_word("a 🙂b_1"), "b_1");
        assert_eq!(last_word("é"), "");
    }
}
