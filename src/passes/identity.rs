//! Identity elimination: ops that compute their input unchanged are bypassed.

use super::bypass;
use crate::check;
use crate::ir::{Graph, NodeId, Op};

/// Ops that are identities in training and inference alike.
pub fn run_no_ops(graph: &mut Graph) -> bool {
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

/// Dropout and drop_path, which are identities at inference.
pub fn run_eval(graph: &mut Graph) -> bool {
    let targets: Vec<(NodeId, NodeId)> = graph
        .nodes()
        .filter(|&id| matches!(graph.node(id).op, Op::Dropout { .. } | Op::DropPath { .. }))
        .filter_map(|id| Some((id, *graph.inputs(id).first()?)))
        .collect();
    bypass_all(graph, &targets)
}

/// Bypasses each target, reading its input afresh: in a chain of no-ops the input of a
/// later one was rewired when the earlier one was removed.
fn bypass_all(graph: &mut Graph, targets: &[(NodeId, NodeId)]) -> bool {
    for &(id, _) in targets {
        if let Some(&input) = graph.inputs(id).first() {
            bypass(graph, id, input);
        }
    }
    !targets.is_empty()
}
