//! A readable text form of the graph, one node per line, for snapshots and debugging:
//! `%4 layer1.0.residual.conv1 = conv 3×3 → 64 (%3)`.

use super::{Graph, Op};
use std::collections::HashMap;
use std::fmt::Write;

/// One line per node in topological order. Node numbers are positions in that order,
/// so a dump does not depend on how the graph was edited.
pub fn dump(graph: &Graph) -> String {
    let index: HashMap<_, _> = graph.nodes().enumerate().map(|(i, n)| (n, i)).collect();
    let mut out = String::new();
    for id in graph.nodes() {
        let node = graph.node(id);
        let inputs: Vec<String> = graph
            .inputs(id)
            .iter()
            .map(|i| format!("%{}", index[i]))
            .collect();
        let _ = writeln!(
            out,
            "%{} {} = {} ({})",
            index[&id],
            node.name,
            describe(&node.op),
            inputs.join(", ")
        );
    }
    out
}

/// The op with its attributes, compactly.
pub fn describe(op: &Op) -> String {
    match op {
        Op::Input { shape } => format!("input [{}, {}, {}]", shape[0], shape[1], shape[2]),
        Op::Conv {
            out_channels,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            bias,
            ..
        } => {
            let mut s = format!("conv {}×{} → {out_channels}", kernel[0], kernel[1]);
            if stride != &[1, 1] {
                let _ = write!(s, " stride {}", stride[0]);
            }
            if padding != &[kernel[0] / 2, kernel[1] / 2] {
                let _ = write!(s, " pad {}", padding[0]);
            }
            if dilation != &[1, 1] {
                let _ = write!(s, " dilation {}", dilation[0]);
            }
            if *groups > 1 {
                let _ = write!(s, " groups {groups}");
            }
            if *bias {
                s.push_str(" +bias");
            }
            s
        }
        Op::BatchNorm {
            affine, zero_init, ..
        } => {
            format!(
                "bn{}{}",
                if *affine { "" } else { " no-affine" },
                if *zero_init { " zero-γ" } else { "" }
            )
        }
        Op::MaxPool {
            kernel,
            stride,
            padding,
            ceil_mode,
        } => format!(
            "maxpool {} stride {} pad {}{}",
            kernel[0],
            stride[0],
            padding[0],
            if *ceil_mode { " ceil" } else { "" }
        ),
        Op::AvgPool {
            kernel,
            stride,
            padding,
            ceil_mode,
            ..
        } => format!(
            "avgpool {} stride {} pad {}{}",
            kernel[0],
            stride[0],
            padding[0],
            if *ceil_mode { " ceil" } else { "" }
        ),
        Op::Linear { out_features, .. } => format!("linear → {out_features}"),
        Op::Dropout { p } => format!("dropout {p}"),
        Op::DropPath { p } => format!("drop_path {p}"),
        Op::Slice { start, end } => format!("slice {start}..{end}"),
        Op::Upsample { scale } => format!("upsample ×{scale}"),
        Op::ZeroPad {
            stride,
            pad_before,
            pad_after,
        } => format!("zeropad stride {stride} +{pad_before}/+{pad_after}"),
        Op::Scale { init, .. } => format!("λ (init {init})"),
        Op::ChannelScale { init } => format!("α (init {init})"),
        Op::ChannelConv { kernel } => format!("channel conv k {kernel}"),
        Op::WeightedSum { weights, norm } => format!("wsum {weights:?} {norm:?}"),
        other => other.kind_name().to_string(),
    }
}
