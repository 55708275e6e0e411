//! Dead-node elimination: removes every node from which the output cannot be reached.

use super::Pass;
use crate::ir::{Graph, Op};
use std::collections::HashSet;

pub const PASS: Pass = Pass {
    name: "dead-nodes",
    description: "remove nodes whose value never reaches the output",
    run,
};

pub fn run(graph: &mut Graph) -> bool {
    let Some(output) = graph.output() else {
        return false;
    };
    let mut live = HashSet::new();
    let mut stack = vec![output];
    while let Some(id) = stack.pop() {
        if live.insert(id) {
            stack.extend(graph.inputs(id));
        }
    }
    let dead: Vec<_> = graph
        .nodes()
        .filter(|id| !live.contains(id) && !matches!(graph.node(*id).op, Op::Input { .. }))
        .collect();
    for &id in dead.iter().rev() {
        graph.remove(id);
    }
    !dead.is_empty()
}
