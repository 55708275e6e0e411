//! Tensors computed and never used: E0216, a warning, like rustc's unused variables.
//!
//! A `let` that names a tensor (or a list of tensors) is *used* when one of its tensors
//! reaches the network's output ([`Graph::reaching_output`]) or, inside a block, the
//! block's result: a block instantiated where nothing needs its result is one unused
//! value at the `let` that names the call, not one warning per `let` in the block. A
//! `let` in a block or a `repeat` body is elaborated once per instance; it is reported
//! once, at its source, and only when no instance is used. Names that start with `_`
//! are meant to be unused and are never reported.

use super::value::Value;
use crate::diag::{Code, Diagnostic};
use crate::ir::{Graph, NodeId};
use crate::source::Span;
use crate::syntax::ast::Ident;
use std::collections::{HashMap, HashSet};

/// The `let`s elaborated so far, and the block instances they were elaborated in.
#[derive(Debug, Default)]
pub(super) struct UnusedLets {
    /// In the order first elaborated, which is the order of the warnings.
    sites: Vec<LetSite>,
    by_span: HashMap<Span, usize>,
    blocks: Vec<BlockInstance>,
    /// The block instance being elaborated; `None` in the network's own body.
    current: Option<usize>,
}

/// One `let` in the source.
#[derive(Debug)]
struct LetSite {
    name: Ident,
    span: Span,
    /// The tensors of each instance, and the block instance it was elaborated in.
    instances: Vec<(Option<usize>, Vec<NodeId>)>,
    /// A `let` in a `repeat` body that shadows a name bound outside the repetition:
    /// `repeat n { let acc = add(acc, …) }` does not update the outer `acc`.
    shadows_outside_repeat: bool,
    /// `let name = repeat …`: the name holds a list of tensors.
    collects: bool,
}

/// One instantiation of a block: the index of its first node (elaboration only adds
/// nodes, so a node of the instance has an index at least this), and its result.
#[derive(Debug)]
struct BlockInstance {
    first: usize,
    result: Vec<NodeId>,
}

/// What a `let` bound, for [`UnusedLets::record`].
pub(super) struct LetBinding<'v> {
    pub name: &'v Ident,
    pub span: Span,
    pub value: &'v Value,
    pub shadows_outside_repeat: bool,
    pub collects: bool,
}

impl UnusedLets {
    /// Records one elaboration of a `let`; a value without tensors is not recorded.
    pub fn record(&mut self, binding: LetBinding<'_>) {
        let mut tensors = Vec::new();
        tensors_of(binding.value, &mut tensors);
        if tensors.is_empty() {
            return;
        }
        let index = *self.by_span.entry(binding.span).or_insert_with(|| {
            self.sites.push(LetSite {
                name: binding.name.clone(),
                span: binding.span,
                instances: Vec::new(),
                shadows_outside_repeat: false,
                collects: binding.collects,
            });
            self.sites.len() - 1
        });
        let site = &mut self.sites[index];
        site.shadows_outside_repeat |= binding.shadows_outside_repeat;
        site.instances.push((self.current, tensors));
    }

    /// Starts a block instance whose first node will have the index `first_node`;
    /// returns what [`UnusedLets::leave_block`] restores.
    pub fn enter_block(&mut self, first_node: usize) -> Option<usize> {
        self.blocks.push(BlockInstance {
            first: first_node,
            result: Vec::new(),
        });
        self.current.replace(self.blocks.len() - 1)
    }

    /// Ends the current block instance with its result.
    pub fn leave_block(&mut self, outer: Option<usize>, result: &Value) {
        if let Some(block) = self.current.and_then(|b| self.blocks.get_mut(b)) {
            tensors_of(result, &mut block.result);
        }
        self.current = outer;
    }

    /// The warnings for the `let`s no instance of which is used.
    pub fn warnings(&self, graph: &Graph) -> Vec<Diagnostic> {
        let live = graph.reaching_output();
        let mut reaching_result: HashMap<usize, HashSet<NodeId>> = HashMap::new();
        let mut warnings = Vec::new();
        for site in &self.sites {
            if site.name.name.starts_with('_') {
                continue;
            }
            let used = site.instances.iter().any(|(block, tensors)| {
                tensors.iter().any(|t| live.contains(t))
                    || block.is_some_and(|b| {
                        let reaching = reaching_result
                            .entry(b)
                            .or_insert_with(|| self.reaching_block_result(graph, b));
                        tensors.iter().any(|t| reaching.contains(t))
                    })
            });
            if !used {
                warnings.push(site.warning());
            }
        }
        warnings
    }

    /// The nodes of block instance `b` whose value reaches its result.
    fn reaching_block_result(&self, graph: &Graph, b: usize) -> HashSet<NodeId> {
        let block = &self.blocks[b];
        let mut reaching = HashSet::new();
        let mut stack = block.result.clone();
        while let Some(id) = stack.pop() {
            if id.index() >= block.first && reaching.insert(id) {
                stack.extend(graph.inputs(id));
            }
        }
        reaching
    }
}

impl LetSite {
    fn warning(&self) -> Diagnostic {
        let name = &self.name.name;
        let (what, label) = if self.collects {
            (
                format!("the tensors of `{name}` are never used"),
                format!("`{name}` is collected here, but nothing that reaches the output reads it"),
            )
        } else {
            (
                format!("the tensor `{name}` is never used"),
                format!("`{name}` is computed here, but nothing that reaches the output reads it"),
            )
        };
        let mut d = Diagnostic::warning(Code::E0216, what).at(self.span, label);
        if self.shadows_outside_repeat {
            d = d
                .note(format!(
                    "inside `repeat`, `let {name} = …` binds a new `{name}` for one repetition: \
                     the next repetition and the statements after the loop still see the `{name}` bound before it"
                ))
                .hint(
                    "to accumulate over the repetitions, collect their results and add them: \
                     `let parts = repeat n { … }`, then `sum(parts, weights: none)`",
                );
        }
        d.note(
            "an unused tensor costs nothing: its layers are not counted in the parameters and MACs",
        )
        .hint(format!(
            "if it is meant to be unused, prefix the name with `_` to silence this: `_{name}`"
        ))
    }
}

/// The tensors of a value, in order: itself, or the tensors of a list.
fn tensors_of(value: &Value, out: &mut Vec<NodeId>) {
    match value {
        Value::Tensor(id) => out.push(*id),
        Value::List(items) => items.iter().for_each(|item| tensors_of(item, out)),
        _ => {}
    }
}
