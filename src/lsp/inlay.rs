//! Inlay hints: the output shape at the end of every line where a layer, block call
//! or stage statement ends (`→ [256, 56, 56]`). Where several statements end on one
//! line, the hint shows the last one's output, which is the tensor after the line. A
//! statement whose value is several tensors (`let [high, low] = exchange(…)`) shows
//! each one's shape, in order (`→ [32, 16, 16], [64, 8, 8]`).

use super::analysis::Workspace;
use super::facts::{Region, RegionKind};
use super::hover::{si, statement_output, thousands};
use lsp_types::{InlayHint, InlayHintKind, InlayHintLabel, InlayHintTooltip};
use std::collections::BTreeMap;
use std::path::Path;

/// The hints of the current text of `path` on lines `first..=last` (all when `None`).
pub fn inlay_hints(ws: &Workspace, path: &Path, lines: Option<(usize, usize)>) -> Vec<InlayHint> {
    let Some(facts) = ws.facts(path) else {
        return Vec::new();
    };
    let text = facts.current;
    // For each line, the statement ending last on it (the outer one at a tie).
    let mut best: BTreeMap<usize, (&Region, usize, usize)> = BTreeMap::new();
    for region in facts.file.statements() {
        if region.kind == RegionKind::Input {
            continue;
        }
        let Some((start, end)) = facts.to_current(region.at) else {
            continue;
        };
        let line = text.line_of(end);
        if lines.is_some_and(|(first, last)| line < first || line > last) {
            continue;
        }
        let better = match best.get(&line) {
            None => true,
            Some(&(_, s, e)) => end > e || (end == e && start < s),
        };
        if better {
            best.insert(line, (region, start, end));
        }
    }
    best.into_iter()
        .filter_map(|(line, (region, _, _))| {
            let output = statement_output(facts.file, region)?;
            let range = text.line_range(line);
            let end = range.start + text.as_str()[range].trim_end().len();
            let mut tooltip = match region.evals.first() {
                Some(first) => format!(
                    "{} params · {} MACs",
                    thousands(first.params),
                    si(first.macs)
                ),
                None => "no layers of its own".to_string(),
            };
            if region.evals.len() > 1 {
                tooltip.push_str(&format!(" (first of {} instances)", region.evals.len()));
            }
            Some(InlayHint {
                position: text.position(end),
                label: InlayHintLabel::String(format!("→ {output}")),
                kind: Some(InlayHintKind::TYPE),
                text_edits: None,
                tooltip: Some(InlayHintTooltip::String(tooltip)),
                padding_left: Some(true),
                padding_right: None,
                data: None,
            })
        })
        .collect()
}
