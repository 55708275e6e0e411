//! Checking: shape inference over the whole graph and the cost model (parameters,
//! MACs, activation memory), per node, per stage and in total.
//!
//! Architecture invariant: checking never changes the graph; it returns side tables
//! keyed by node. It runs after elaboration and after every optimisation pass.

mod cost;
mod report;

pub use cost::{node_cost, Cost};
pub use report::{bytes, si, thousands, GroupReport, Report};

use crate::diag::{Diagnostic, TraceFrame};
use crate::ir::{infer_shape, Graph, NodeId, Shape};
use std::collections::HashMap;

/// The facts checking establishes about a graph.
#[derive(Clone, Debug)]
pub struct Info {
    pub shapes: HashMap<NodeId, Shape>,
    pub costs: HashMap<NodeId, Cost>,
}

/// Infers every node's shape and cost. Errors point at the node's source span.
pub fn check(graph: &Graph) -> Result<Info, Vec<Diagnostic>> {
    let mut shapes = HashMap::new();
    let mut costs = HashMap::new();
    let mut diags = Vec::new();
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
                costs.insert(id, node_cost(&node.op, &in_shapes, shape));
                shapes.insert(id, shape);
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
    if diags.is_empty() {
        Ok(Info { shapes, costs })
    } else {
        Err(diags)
    }
}

/// The trace of a node, for diagnostics raised after elaboration.
pub fn trace_of(graph: &Graph, id: NodeId) -> Vec<TraceFrame> {
    graph.node(id).trace.clone()
}
