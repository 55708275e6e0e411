//! Inference identities: dropout and drop_path compute their input unchanged at
//! inference time (and only then), so an inference graph bypasses them.

use super::bypass_all;
use super::Pass;
use crate::ir::{Graph, NodeId, Op};

pub const PASS: Pass = Pass {
    name: "eval-identities",
    description: "remove dropout and drop_path, which are identities at inference",
    run,
};

/// Dropout and drop_path, which are identities at inference.
pub fn run(graph: &mut Graph) -> bool {
    let targets: Vec<(NodeId, NodeId)> = graph
        .nodes()
        .filter(|&id| matches!(graph.node(id).op, Op::Dropout { .. } | Op::DropPath { .. }))
        .filter_map(|id| Some((id, *graph.inputs(id).first()?)))
        .collect();
    bypass_all(graph, &targets)
}
