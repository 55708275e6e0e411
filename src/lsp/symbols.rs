//! Document symbols: the outline of a file (its networks with their stages, and its
//! blocks).

use super::analysis::Workspace;
use super::index::{Def, DefKind};
use lsp_types::{DocumentSymbol, SymbolKind};
use std::path::Path;

pub fn document_symbols(ws: &Workspace, path: &Path) -> Vec<DocumentSymbol> {
    let Some(view) = ws.view(path) else {
        return Vec::new();
    };
    let defs = &view.info.index.defs;
    #[allow(deprecated)] // `deprecated` is a required field of the struct.
    let symbol = |def: &Def, kind: SymbolKind, children: Option<Vec<DocumentSymbol>>| {
        Some(DocumentSymbol {
            name: def.name.clone(),
            detail: Some(def.detail.clone()),
            kind,
            tags: None,
            deprecated: None,
            range: view.to_current(def.full)?,
            selection_range: view.to_current(def.name_at)?,
            children,
        })
    };
    let mut out = Vec::new();
    for (i, def) in defs.iter().enumerate() {
        let kind = match def.kind {
            DefKind::Network => SymbolKind::MODULE,
            DefKind::Block => SymbolKind::FUNCTION,
            _ => continue,
        };
        let stages: Vec<DocumentSymbol> = defs
            .iter()
            .filter(|d| d.owner == Some(i) && d.kind == DefKind::Stage)
            .filter_map(|d| symbol(d, SymbolKind::NAMESPACE, None))
            .collect();
        if let Some(s) = symbol(def, kind, Some(stages)) {
            out.push(s);
        }
    }
    out
}
