//! Common sub-expression elimination for parameter-free, deterministic ops: two nodes
//! with the same op reading the same inputs compute the same value, so one is enough.
//! Ops with parameters or state (conv, BN, …) are never merged: two BNs reading one
//! tensor have separate weights.

use super::bypass;
use super::Pass;
use crate::ir::{Graph, NodeId, Op};
use std::collections::HashMap;

pub const PASS: Pass = Pass {
    name: "cse",
    description: "merge parameter-free ops that compute the same value from the same inputs",
    run,
};

fn mergeable(op: &Op) -> bool {
    matches!(
        op,
        Op::Relu
            | Op::LeakyRelu { .. }
            | Op::Sigmoid
            | Op::MaxPool { .. }
            | Op::AvgPool { .. }
            | Op::GlobalAvgPool
            | Op::Flatten
            | Op::Add
            | Op::Mul
            | Op::Concat
            | Op::Slice { .. }
            | Op::Upsample { .. }
            | Op::ZeroPad { .. }
    )
}

pub fn run(graph: &mut Graph) -> bool {
    let mut seen: HashMap<(String, Vec<NodeId>), NodeId> = HashMap::new();
    let mut changed = false;
    let order: Vec<NodeId> = graph.nodes().collect();
    for id in order {
        let op = &graph.node(id).op;
        if !mergeable(op) {
            continue;
        }
        // Inputs are read after earlier merges rewired them, so chains collapse in one run.
        let key = (format!("{op:?}"), graph.inputs(id));
        match seen.get(&key) {
            Some(&first) => {
                bypass(graph, id, first);
                changed = true;
            }
            None => {
                seen.insert(key, id);
            }
        }
    }
    changed
}
