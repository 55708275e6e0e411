//! Dead-node elimination: removes every node from which the output cannot be reached
//! (the nodes [`Graph::reaching_output`] leaves out, which the cost report does not count
//! and lowering builds no layer for either).

use super::Pass;
use crate::ir::Graph;

pub const PASS: Pass = Pass {
    name: "dead-nodes",
    description: "remove nodes whose value never reaches the output",
    run,
};

pub fn run(graph: &mut Graph) -> bool {
    if graph.output().is_none() {
        return false;
    }
    let live = graph.reaching_output();
    let dead: Vec<_> = graph.nodes().filter(|id| !live.contains(id)).collect();
    for &id in dead.iter().rev() {
        graph.remove(id);
    }
    !dead.is_empty()
}
