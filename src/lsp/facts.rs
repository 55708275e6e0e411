//! Facts about the source text from a checked graph: for every statement and every
//! call, the output shape, parameters and MACs of each of its evaluations.
//!
//! Nodes know where they were written (`span`) and through which block calls they were
//! reached (`trace`). A node belongs to every statement or call (a *region*) that
//! contains its span or one of its trace frames. One evaluation of a region creates a
//! contiguous run of nodes (elaboration adds nodes in evaluation order), so a new
//! evaluation starts where the run breaks, where the outer trace changes (another call
//! site of the enclosing block), or where the run's first node comes round again (the
//! next repetition of a `repeat`). One pass over the nodes fills every region.

use super::index::Loc;
use crate::check::{Info, Report};
use crate::elab::ListShapes;
use crate::ir::{Graph, Node, NodeId, Op, Shape};
use crate::source::{FileId, Span};
use crate::syntax::ast::{self, Call, ShortcutKind, Stmt, StmtKind};
use crate::syntax::visit::{walk_call, walk_stmt, Visitor};
use std::collections::HashMap;
use std::path::PathBuf;

/// One evaluation of a region.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Eval {
    /// The shape of the last node of the evaluation: the region's result.
    pub output: Shape,
    pub params: u64,
    pub macs: u64,
    pub nodes: u32,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RegionKind {
    /// A statement; `input`, `stage` and `repeat` are told apart for hints and hovers.
    Stmt,
    Input,
    Stage,
    Repeat,
    /// A call (of a layer, a block, a shortcut kind) inside a statement.
    Call,
}

#[derive(Clone, Debug)]
pub struct Region {
    pub at: Loc,
    pub kind: RegionKind,
    pub parent: Option<usize>,
    pub evals: Vec<Eval>,
}

/// The regions of one file, with the text they were computed from.
#[derive(Clone, Debug, Default)]
pub struct FileFacts {
    pub text: String,
    pub regions: Vec<Region>,
    /// Region indices sorted by start (outer before inner at equal starts).
    sorted: Vec<usize>,
    /// The outermost region with exactly this range.
    by_loc: HashMap<Loc, usize>,
    /// The shape of each name a `let [ … ]` bound to a tensor, by the name's range.
    pub names: HashMap<Loc, Shape>,
    /// The shapes of each statement whose value is a list of tensors (a block that
    /// returns several, `[a, b]`), by the statement's range.
    pub lists: HashMap<Loc, Vec<Shape>>,
}

/// Totals of the whole network.
#[derive(Clone, Debug)]
pub struct NetworkFacts {
    pub name: String,
    pub input: Option<Shape>,
    pub output: Option<Shape>,
    pub params: u64,
    pub macs: u64,
    pub nodes: usize,
}

/// The facts of one successful compilation, by file.
#[derive(Clone, Debug)]
pub struct Facts {
    pub files: HashMap<PathBuf, FileFacts>,
    pub network: NetworkFacts,
}

impl FileFacts {
    /// The outermost region with exactly range `at`.
    pub fn region(&self, at: Loc) -> Option<&Region> {
        self.by_loc.get(&at).map(|&i| &self.regions[i])
    }

    /// The innermost region that contains `[start, end)`.
    fn innermost(&self, start: u32, end: u32) -> Option<usize> {
        let after = self
            .sorted
            .partition_point(|&i| self.regions[i].at.start <= start);
        let mut current = self.sorted.get(after.checked_sub(1)?).copied();
        while let Some(i) = current {
            let at = self.regions[i].at;
            if at.start <= start && end <= at.end {
                return Some(i);
            }
            current = self.regions[i].parent;
        }
        None
    }

    /// The innermost statement with facts that contains `offset`.
    pub fn statement_at(&self, offset: usize) -> Option<&Region> {
        let offset = offset as u32;
        let mut current = self.innermost(offset, offset);
        while let Some(i) = current {
            let region = &self.regions[i];
            if region.kind != RegionKind::Call && !region.evals.is_empty() {
                return Some(region);
            }
            current = region.parent;
        }
        None
    }

    /// Statements with at least one evaluation, or with a list of tensors as value.
    pub fn statements(&self) -> impl Iterator<Item = &Region> {
        self.regions.iter().filter(|r| {
            r.kind != RegionKind::Call && (!r.evals.is_empty() || self.lists.contains_key(&r.at))
        })
    }
}

/// Per-region bookkeeping while the nodes are scanned.
#[derive(Clone, Copy, Default)]
struct Tracker {
    /// Position (in topological order) of the last node counted.
    last: Option<usize>,
    /// The first node of the current evaluation, the level it matched at, and whether
    /// it sits inside a `repeat` of the region itself.
    first: Option<(NodeId, usize, bool)>,
}

impl Facts {
    /// Scans the checked graph of a compilation. `files` lists every parsed file with
    /// its path and text.
    pub fn build(
        files: &[(&ast::File, PathBuf, &str)],
        graph: &Graph,
        info: &Info,
        network: &str,
        list_shapes: &ListShapes,
    ) -> Facts {
        let mut tables: HashMap<FileId, (PathBuf, FileFacts)> = HashMap::new();
        for (file, path, text) in files {
            tables.insert(file.file, (path.clone(), collect_regions(file, text)));
        }
        for (span, shape) in list_shapes.names() {
            if let Some((_, table)) = tables.get_mut(&span.file) {
                table.names.insert(span.into(), shape);
            }
        }
        for (span, shapes) in list_shapes.statements() {
            if let Some((_, table)) = tables.get_mut(&span.file) {
                table.lists.insert(span.into(), shapes.to_vec());
            }
        }
        let mut trackers: HashMap<FileId, Vec<Tracker>> = tables
            .iter()
            .map(|(id, (_, t))| (*id, vec![Tracker::default(); t.regions.len()]))
            .collect();
        // The block instantiations that led to each node, innermost first (a node's
        // trace also names its repetitions, which are not regions of their own).
        let calls: HashMap<NodeId, Vec<Span>> = graph
            .nodes()
            .map(|id| {
                let trace = &graph.node(id).trace;
                let spans = trace.iter().filter(|f| !f.repetition).map(|f| f.span);
                (id, spans.collect())
            })
            .collect();
        for (pos, id) in graph.nodes().enumerate() {
            let node = graph.node(id);
            if matches!(node.op, Op::Output) {
                continue;
            }
            let Some(&shape) = info.shapes.get(&id) else {
                continue;
            };
            let cost = info.costs.get(&id).copied().unwrap_or_default();
            let seen = Seen {
                pos,
                id,
                node,
                calls: &calls,
                graph,
                eval: Eval {
                    output: shape,
                    params: cost.params,
                    macs: cost.macs,
                    nodes: 1,
                },
            };
            let mut lower_repeat = false;
            let trace = &calls[&id];
            for level in 0..=trace.len() {
                let span = if level == 0 {
                    node.span
                } else {
                    trace[level - 1]
                };
                let (Some((_, table)), Some(tracker)) =
                    (tables.get_mut(&span.file), trackers.get_mut(&span.file))
                else {
                    continue;
                };
                let mut passed_repeat = false;
                let mut current = table.innermost(span.start, span.end);
                while let Some(i) = current {
                    // A `repeat` repeats its first node by itself, and so do the
                    // regions around it.
                    passed_repeat |= table.regions[i].kind == RegionKind::Repeat;
                    observe(
                        &mut table.regions[i],
                        &mut tracker[i],
                        &seen,
                        level,
                        lower_repeat || passed_repeat,
                    );
                    current = table.regions[i].parent;
                }
                lower_repeat |= passed_repeat;
            }
        }
        let report = Report::new(network, graph, info);
        Facts {
            files: tables.into_values().collect(),
            network: NetworkFacts {
                name: network.to_string(),
                input: report.input,
                output: report.output,
                params: report.params,
                macs: report.macs,
                nodes: report.nodes,
            },
        }
    }
}

/// The node being scanned.
struct Seen<'a> {
    pos: usize,
    id: NodeId,
    node: &'a Node,
    /// Every node's block-instantiation spans, innermost first.
    calls: &'a HashMap<NodeId, Vec<Span>>,
    graph: &'a Graph,
    eval: Eval,
}

fn leaf(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Counts `seen` (which matched the region at trace level `level`) in the region.
fn observe(
    region: &mut Region,
    tracker: &mut Tracker,
    seen: &Seen<'_>,
    level: usize,
    internal_repeat: bool,
) {
    if tracker.last == Some(seen.pos) {
        return;
    }
    let continues = match (tracker.last, tracker.first) {
        (Some(last), Some((first_id, first_level, first_internal))) if last + 1 == seen.pos => {
            let first = seen.graph.node(first_id);
            let node = seen.node;
            let (first_calls, calls) = (&seen.calls[&first_id], &seen.calls[&seen.id]);
            let same_outer = first_calls[first_level..] == calls[level..];
            // The first node of the evaluation again: the next repetition, unless the
            // region repeats it by itself.
            let again = !first_internal
                && first_level == level
                && first.span == node.span
                && first_calls[..first_level] == calls[..level]
                && leaf(&first.name) == leaf(&node.name);
            same_outer && !again
        }
        _ => false,
    };
    if continues {
        if let Some(eval) = region.evals.last_mut() {
            eval.output = seen.eval.output;
            eval.params += seen.eval.params;
            eval.macs += seen.eval.macs;
            eval.nodes += 1;
        }
    } else {
        region.evals.push(seen.eval);
        tracker.first = Some((seen.id, level, internal_repeat));
    }
    tracker.last = Some(seen.pos);
}

/// Every statement and call of a file, as regions with parent links.
fn collect_regions(file: &ast::File, text: &str) -> FileFacts {
    let mut regions = Vec::new();
    RegionCollector {
        regions: &mut regions,
    }
    .visit_file(file);
    let mut sorted: Vec<usize> = (0..regions.len()).collect();
    sorted.sort_by_key(|&i| {
        let at: Loc = regions[i].at;
        (at.start, std::cmp::Reverse(at.end), i)
    });
    let mut stack: Vec<usize> = Vec::new();
    for &i in &sorted {
        let at = regions[i].at;
        while let Some(&top) = stack.last() {
            if regions[top].at.contains(at) {
                break;
            }
            stack.pop();
        }
        regions[i].parent = stack.last().copied();
        stack.push(i);
    }
    let mut by_loc = HashMap::new();
    for &i in &sorted {
        by_loc.entry(regions[i].at).or_insert(i);
    }
    FileFacts {
        text: text.to_string(),
        regions,
        sorted,
        by_loc,
        names: HashMap::new(),
        lists: HashMap::new(),
    }
}

fn push(regions: &mut Vec<Region>, span: Span, kind: RegionKind) {
    regions.push(Region {
        at: span.into(),
        kind,
        parent: None,
        evals: Vec::new(),
    });
}

/// Collects the regions of a file: every statement, and every call in a statement's
/// expressions (a layer, block or function call, or a name: names produce no nodes, but
/// are cheap to include and keep the walk simple). A stage's `with shortcut` and a
/// residual's shortcut kinds are regions, but not their arguments (options, which
/// produce no nodes), nor `csp`'s arguments or parameter defaults.
struct RegionCollector<'r> {
    regions: &'r mut Vec<Region>,
}

impl<'ast> Visitor<'ast> for RegionCollector<'_> {
    fn visit_def(&mut self, def: &'ast ast::Def) {
        self.visit_body(&def.body);
    }

    fn visit_stmt(&mut self, stmt: &'ast Stmt) {
        let kind = match &stmt.kind {
            StmtKind::Stage { .. } => RegionKind::Stage,
            StmtKind::Repeat { .. } => RegionKind::Repeat,
            StmtKind::Input(_) => RegionKind::Input,
            _ => RegionKind::Stmt,
        };
        push(self.regions, stmt.span, kind);
        match &stmt.kind {
            StmtKind::Stage {
                body,
                with_shortcut,
                ..
            } => {
                if let Some(call) = with_shortcut {
                    push(self.regions, call.span, RegionKind::Call);
                }
                self.visit_body(body);
            }
            StmtKind::Csp { body, .. } => self.visit_body(body),
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_shortcut_kind(&mut self, kind: &'ast ShortcutKind) {
        push(self.regions, kind.call.span, RegionKind::Call);
    }

    fn visit_call(&mut self, call: &'ast Call) {
        push(self.regions, call.span, RegionKind::Call);
        walk_call(self, call);
    }
}
