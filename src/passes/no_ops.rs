//! No-op elimination: ops that compute their input unchanged, in training and inference
//! alike, are bypassed.

use super::bypass_all;
use super::Pass;
use crate::check;
use crate::ir::{Graph, NodeId, Op};

pub const PASS: Pass = Pass {
    name: "no-ops",
    description: "remove ops that compute the identity (p = 0 dropout, 1×1 stride-1 pooling, full slices, ×1 upsampling, flatten of [C, 1, 1])",
    run,
};

/// Ops that are identities in training and inference alike.
pub fn run(graph: &mut Graph) -> bool {
    let Ok(info) = check::check(graph) else {
        return false;
    };
    let targets: Vec<(NodeId, NodeId)> = graph
        .nodes()
        .filter_map(|id| {
            let input = *graph.inputs(id).first()?;
            let in_shape = info.shapes.get(&input)?;
            let no_op = match &graph.node(id).op {
                Op::Dropout { p } | Op::DropPath { p } => *p == 0.0,
                Op::MaxPool {
                    kernel,
                    stride,
                    padding,
                    ..
                }
                | Op::AvgPool {
                    kernel,
                    stride,
                    padding,
                    ..
                } => kernel == &[1, 1] && stride == &[1, 1] && padding == &[0, 0],
                Op::Slice { start, end } => *start == 0 && *end == in_shape.c,
                Op::Upsample { scale } => *scale == 1,
                Op::ZeroPad {
                    stride,
                    pad_before,
                    pad_after,
                } => *stride == 1 && *pad_before == 0 && *pad_after == 0,
                Op::Flatten => in_shape.h == 1 && in_shape.w == 1,
                Op::GlobalAvgPool => in_shape.h == 1 && in_shape.w == 1,
                _ => false,
            };
            no_op.then_some((id, input))
        })
        .collect();
    bypass_all(graph, &targets)
}
