//! Checking: shape inference over the whole graph and the cost model (parameters,
//! MACs, activation memory), per node, per stage and in total.
//!
//! Architecture invariant: checking never changes the graph; it returns side tables
//! keyed by node. It runs after elaboration and after every optimisation pass.

mod cost;
mod report;

pub use cost::{node_cost, Cost, Overflow};
pub use report::{bytes, si, thousands, GroupReport, Report};

use crate::diag::{Code, Diagnostic, TraceFrame};
use crate::ir::{infer_shape, Graph, Node, NodeId, Shape, OVERFLOW_HINT};
use std::collections::HashMap;

/// The facts checking establishes about a graph.
#[derive(Clone, Debug)]
pub struct Info {
    pub shapes: HashMap<NodeId, Shape>,
    pub costs: HashMap<NodeId, Cost>,
}

/// Infers every node's shape and cost. Errors point at the node's source span. Every
/// count (a node's, and the network's totals) fits in 64 bits when this succeeds.
pub fn check(graph: &Graph) -> Result<Info, Vec<Diagnostic>> {
    let mut shapes = HashMap::new();
    let mut costs = HashMap::new();
    let mut diags = Vec::new();
    let mut counts = Counts::default();
    for id in graph.nodes() {
        let node = graph.node(id);
        let inputs = graph.inputs(id);
        let Some(in_shapes) = inputs
            .iter()
            .map(|i| shapes.get(i).copied())
            .collect::<Option<Vec<Shape>>>()
        else {
            continue; // An input already failed.
        };
        match infer_shape(&node.op, &in_shapes) {
            Ok(shape) => {
                shapes.insert(id, shape);
                if let Some(cost) = counts.add(node, &in_shapes, shape) {
                    costs.insert(id, cost);
                }
            }
            Err(e) => {
                let mut d = Diagnostic::error(e.code, e.message.clone())
                    .at(node.span, e.message)
                    .with_trace(node.trace.clone());
                if let Some(hint) = e.hint {
                    d = d.hint(hint);
                }
                diags.push(d);
            }
        }
    }
    diags.extend(counts.diagnostic());
    if diags.is_empty() {
        Ok(Info { shapes, costs })
    } else {
        Err(diags)
    }
}

/// The running total of the costs, and the first count that did not fit in 64 bits.
#[derive(Default)]
struct Counts {
    total: Cost,
    first_overflow: Option<Diagnostic>,
    more_overflows: usize,
}

impl Counts {
    /// Adds the cost of `node`; `None` when one of its counts overflows. Only the first
    /// overflow is reported (one far too large parameter usually makes hundreds of
    /// layers overflow), with the number of the others.
    fn add(&mut self, node: &Node, inputs: &[Shape], shape: Shape) -> Option<Cost> {
        let cost = match node_cost(&node.op, inputs, shape) {
            Ok(cost) => cost,
            Err(what) => {
                let message = format!(
                    "the {} of this `{}` does not fit in 64 bits",
                    what.what(),
                    node.op.kind_name()
                );
                let label = match inputs.first() {
                    Some(input) => format!("{input} → {shape}"),
                    None => format!("→ {shape}"),
                };
                self.overflow(node, message, label);
                return None;
            }
        };
        // After an overflow the total means nothing.
        if self.first_overflow.is_none() {
            match self.total.checked_add(cost) {
                Ok(total) => self.total = total,
                Err(what) => {
                    let message = format!(
                        "the network's total {} does not fit in 64 bits",
                        what.what()
                    );
                    let label = format!("the total passes {} here", thousands(u64::MAX));
                    self.overflow(node, message, label);
                }
            }
        }
        Some(cost)
    }

    fn overflow(&mut self, node: &Node, message: String, label: String) {
        if self.first_overflow.is_some() {
            self.more_overflows += 1;
            return;
        }
        let d = Diagnostic::error(Code::E0206, message)
            .at(node.span, label)
            .with_trace(node.trace.clone())
            .hint(OVERFLOW_HINT);
        self.first_overflow = Some(d);
    }

    fn diagnostic(self) -> Option<Diagnostic> {
        let d = self.first_overflow?;
        Some(match self.more_overflows {
            0 => d,
            1 => d.note("the counts of 1 more layer do not fit either"),
            n => d.note(format!("the counts of {n} more layers do not fit either")),
        })
    }
}

/// The trace of a node, for diagnostics raised after elaboration.
pub fn trace_of(graph: &Graph, id: NodeId) -> Vec<TraceFrame> {
    graph.node(id).trace.clone()
}
