//! Code actions for the fixes the diagnostics suggest: "did you mean `x`?" replaces
//! the misspelt name, and a residual whose branches disagree gets the shortcut clause
//! the hint names (`shortcut identity or projection`), replacing the written clause or
//! inserted after the residual's body.

use super::analysis::Workspace;
use super::diagnostics::FileDiagnostic;
use crate::syntax::ast::{self, Body, Stmt, StmtKind};
use lsp_types::{CodeAction, CodeActionKind, Range, TextEdit, WorkspaceEdit};
use std::collections::HashMap;
use std::path::Path;

/// The quoted parts of a hint: "did you mean `x`?" → `["x"]`.
fn quoted(hint: &str) -> Vec<&str> {
    hint.split('`').skip(1).step_by(2).collect()
}

fn overlaps(a: Range, b: Range) -> bool {
    a.start <= b.end && b.start <= a.end
}

/// The code actions for the diagnostics of `path` that touch `range`.
pub fn code_actions(ws: &Workspace, path: &Path, range: Range) -> Vec<CodeAction> {
    let Some(doc) = ws.documents().find(|d| d.path == path) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for d in doc
        .diagnostics
        .iter()
        .filter(|d| d.path == path && overlaps(d.lsp.range, range))
    {
        for hint in &d.hints {
            if hint.starts_with("did you mean") {
                for suggestion in quoted(hint) {
                    out.push(action(
                        ws,
                        path,
                        format!("Replace with `{suggestion}`"),
                        d,
                        d.lsp.range,
                        suggestion.to_string(),
                        true,
                    ));
                }
            } else if hint.contains("`shortcut ") {
                out.extend(shortcut_actions(ws, path, d, hint));
            }
        }
    }
    out
}

fn action(
    ws: &Workspace,
    path: &Path,
    title: String,
    d: &FileDiagnostic,
    range: Range,
    text: String,
    preferred: bool,
) -> CodeAction {
    let mut changes = HashMap::new();
    changes.insert(ws.uri_of(path), vec![TextEdit::new(range, text)]);
    CodeAction {
        title,
        kind: Some(CodeActionKind::QUICKFIX),
        diagnostics: Some(vec![d.lsp.clone()]),
        edit: Some(WorkspaceEdit::new(changes)),
        command: None,
        is_preferred: Some(preferred),
        disabled: None,
        data: None,
    }
}

/// One action per shortcut clause the hint proposes.
fn shortcut_actions(
    ws: &Workspace,
    path: &Path,
    d: &FileDiagnostic,
    hint: &str,
) -> Vec<CodeAction> {
    let Some(view) = ws.view(path) else {
        return Vec::new();
    };
    // Editing needs offsets that are those of the current text.
    if view.info.text.as_str() != view.current.as_str() {
        return Vec::new();
    }
    let Some((body, clause)) = find_residual(&view.info.ast, d.start, d.end) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for suggestion in quoted(hint)
        .into_iter()
        .filter(|q| q.starts_with("shortcut "))
    {
        let (range, text) = match clause {
            Some(clause) => {
                // Keep a `from` of the written clause.
                let from = clause
                    .first
                    .from
                    .as_ref()
                    .map(|f| format!(" from {}", &view.current.as_str()[f.span.range()]))
                    .unwrap_or_default();
                (
                    view.current
                        .range(clause.span.start as usize, clause.span.end as usize),
                    format!("{suggestion}{from}"),
                )
            }
            None => {
                let at = body.span.end as usize;
                (view.current.range(at, at), format!(" {suggestion}"))
            }
        };
        let preferred = suggestion.ends_with("or projection");
        let title = format!("Use `{suggestion}`");
        out.push(action(ws, path, title, d, range, text, preferred));
    }
    out
}

/// The innermost residual statement whose span contains `[start, end)`.
fn find_residual(file: &ast::File, start: usize, end: usize) -> Found<'_> {
    let mut found = None;
    for item in &file.items {
        if let ast::Item::Network(def) | ast::Item::Block(def) = item {
            search(&def.body, start, end, &mut found);
        }
    }
    found
}

/// A residual's body and shortcut clause.
type Found<'a> = Option<(&'a Body, Option<&'a ast::ShortcutClause>)>;

fn search<'a>(body: &'a Body, start: usize, end: usize, found: &mut Found<'a>) {
    for stmt in &body.stmts {
        let Stmt { kind, span } = stmt;
        if !(span.start as usize <= start && end <= span.end as usize) {
            continue;
        }
        match kind {
            StmtKind::Residual { body, shortcut, .. } => {
                *found = Some((body, shortcut.as_ref()));
                search(body, start, end, found);
            }
            StmtKind::Stage { body, .. }
            | StmtKind::Repeat { body, .. }
            | StmtKind::Csp { body, .. } => search(body, start, end, found),
            StmtKind::If {
                then, otherwise, ..
            } => {
                search(then, start, end, found);
                if let Some(otherwise) = otherwise {
                    search(otherwise, start, end, found);
                }
            }
            StmtKind::Input(_)
            | StmtKind::Let { .. }
            | StmtKind::LetList { .. }
            | StmtKind::Assert { .. }
            | StmtKind::Train { .. }
            | StmtKind::Names { .. }
            | StmtKind::Expr { .. } => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hints_are_read_for_their_quoted_parts() {
        assert_eq!(quoted("did you mean `relu`?"), vec!["relu"]);
        assert_eq!(
            quoted("a shortcut that changes the shape fits here: `shortcut identity or zeropad`, `shortcut identity or projection`"),
            vec!["shortcut identity or zeropad", "shortcut identity or projection"]
        );
    }
}
