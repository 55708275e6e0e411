//! Go to definition, find references and rename, for blocks, parameters, `let` names
//! and repetition indices, across imported files. What a name refers to is
//! [`Workspace::resolve`]'s answer: elaboration's where it resolved the name, else the
//! index's.

use super::analysis::{SymbolRef, Workspace};
use super::docs;
use super::index::{DefKind, Loc};
use lsp_types::{Location, Position, Range, TextEdit, WorkspaceEdit};
use std::collections::HashMap;
use std::path::Path;

/// The symbol at byte `offset` of the current text of `path`.
fn symbol_at(ws: &Workspace, path: &Path, offset: usize) -> Option<(SymbolRef, Loc)> {
    let view = ws.view(path)?;
    ws.symbol_at(path, view.to_info(offset)?)
}

fn location(ws: &Workspace, path: &Path, at: Loc) -> Option<Location> {
    let range = ws.view(path)?.to_current(at)?;
    Some(Location::new(ws.uri_of(path), range))
}

pub fn definition(ws: &Workspace, path: &Path, offset: usize) -> Option<Location> {
    let view = ws.view(path)?;
    let at = view.to_info(offset)?;
    // On an import path: the imported file.
    if let Some(import) = view
        .info
        .index
        .imports
        .iter()
        .find(|i| i.path_at.touches(at))
    {
        let target = import.target.as_ref()?;
        let origin = Position::new(0, 0);
        return Some(Location::new(ws.uri_of(target), Range::new(origin, origin)));
    }
    let (symbol, _) = ws.symbol_at(path, at)?;
    let def = ws.def(&symbol)?;
    location(ws, &symbol.path, def.name_at)
}

pub fn references(
    ws: &Workspace,
    path: &Path,
    offset: usize,
    include_declaration: bool,
) -> Vec<Location> {
    let Some((symbol, _)) = symbol_at(ws, path, offset) else {
        return Vec::new();
    };
    ws.occurrences(&symbol)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| include_declaration || *i > 0)
        .filter_map(|(_, (p, at))| location(ws, &p, at))
        .collect()
}

/// Whether the symbol at `offset` can be renamed; its range if so.
pub fn prepare_rename(ws: &Workspace, path: &Path, offset: usize) -> Option<Range> {
    let (symbol, at) = symbol_at(ws, path, offset)?;
    let def = ws.def(&symbol)?;
    if matches!(def.kind, DefKind::Stage | DefKind::Alias | DefKind::Network) {
        return None;
    }
    ws.view(path)?.to_current(at)
}

/// Renames the symbol at `offset` everywhere; `Err` says why it cannot.
pub fn rename(
    ws: &Workspace,
    path: &Path,
    offset: usize,
    new_name: &str,
) -> Result<WorkspaceEdit, String> {
    let valid = new_name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && new_name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !valid || docs::is_keyword(new_name) {
        return Err(format!("`{new_name}` is not a valid name"));
    }
    let Some((symbol, _)) = symbol_at(ws, path, offset) else {
        return Err("there is no block, parameter or `let` name here".into());
    };
    let def = ws.def(&symbol).ok_or("the definition is gone")?;
    if def.kind == DefKind::Block
        && (docs::layer(new_name).is_some() || super::index::FUNCTIONS.contains(&new_name))
    {
        return Err(format!("`{new_name}` is a built-in layer or function; a block of that name could not be called"));
    }
    if matches!(def.kind, DefKind::Stage | DefKind::Alias | DefKind::Network) {
        return Err("only blocks, parameters, `let` names and indices can be renamed".into());
    }
    let mut changes: HashMap<lsp_types::Uri, Vec<TextEdit>> = HashMap::new();
    for (p, at) in ws.occurrences(&symbol) {
        let Some(range) = ws.view(&p).and_then(|v| v.to_current(at)) else {
            return Err(format!(
                "{} has changed since it last parsed; fix its syntax error first",
                p.display()
            ));
        };
        let edits = changes.entry(ws.uri_of(&p)).or_default();
        let edit = TextEdit::new(range, new_name.to_string());
        if !edits.contains(&edit) {
            edits.push(edit);
        }
    }
    Ok(WorkspaceEdit::new(changes))
}
