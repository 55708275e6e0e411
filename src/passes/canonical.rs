//! Canonical ordering of commutative sums: the operands of `Add` are ordered by their
//! position in the graph, so that equal sums look equal to later passes (and to CSE).

use super::Pass;
use crate::ir::{Graph, NodeId, Op};
use std::collections::HashMap;

pub const PASS: Pass = Pass {
    name: "canonical-sums",
    description: "order the operands of commutative sums by position in the graph",
    run,
};

pub fn run(graph: &mut Graph) -> bool {
    let position: HashMap<NodeId, usize> = graph.nodes().enumerate().map(|(i, n)| (n, i)).collect();
    let adds: Vec<NodeId> = graph
        .nodes()
        .filter(|&id| matches!(graph.node(id).op, Op::Add))
        .collect();
    let mut changed = false;
    for id in adds {
        let inputs = graph.inputs(id);
        let mut sorted = inputs.clone();
        sorted.sort_by_key(|n| position[n]);
        if sorted != inputs {
            graph.set_inputs(id, &sorted);
            changed = true;
        }
    }
    changed
}
