//! The cost model: exact parameter counts (as `sum(p.numel() for p in
//! model.parameters())` counts them: BN running statistics are buffers, not
//! parameters), multiply-accumulates of convolutions and linear layers (the convention
//! of the papers' FLOP figures), and activation memory.

use crate::ir::{Op, Shape, SumWeights};
use serde::Serialize;

/// Cost of one node, per sample.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Cost {
    /// Learned parameters.
    pub params: u64,
    /// Multiply-accumulates of one forward pass.
    pub macs: u64,
    /// Elements of the node's output (float32: ×4 bytes).
    pub activations: u64,
}

/// Saturating: absurd sizes written by a user must not overflow.
impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Cost) {
        self.params = self.params.saturating_add(other.params);
        self.macs = self.macs.saturating_add(other.macs);
        self.activations = self.activations.saturating_add(other.activations);
    }
}

/// The cost of `op` with the given input shapes and output shape.
pub fn node_cost(op: &Op, inputs: &[Shape], out: Shape) -> Cost {
    let x = inputs.first().copied().unwrap_or(out);
    let (params, macs) = match op {
        Op::Conv {
            kernel,
            groups,
            bias,
            ..
        } => {
            // Saturating, like every count here: absurd sizes must not overflow.
            let per_out = (x.c / groups)
                .saturating_mul(kernel[0])
                .saturating_mul(kernel[1]);
            let weights = out.c.saturating_mul(per_out);
            let params = weights.saturating_add(if *bias { out.c } else { 0 });
            (params, out.numel().saturating_mul(per_out))
        }
        Op::BatchNorm { affine, .. } => (if *affine { x.c.saturating_mul(2) } else { 0 }, 0),
        Op::GroupNorm { .. } => (x.c.saturating_mul(2), 0),
        Op::Prelu { per_channel, .. } => (if *per_channel { x.c } else { 1 }, 0),
        Op::Linear { out_features, bias } => {
            let weights = x.numel().saturating_mul(*out_features);
            (
                weights.saturating_add(if *bias { *out_features } else { 0 }),
                weights,
            )
        }
        Op::Scale { .. } => (1, 0),
        Op::ChannelScale { .. } => (x.c, 0),
        Op::WeightedSum { weights, .. } => {
            let n = inputs.len() as u64;
            match weights {
                SumWeights::PerInput => (n, 0),
                SumWeights::PerChannel => (n.saturating_mul(x.c), 0),
            }
        }
        _ => (0, 0),
    };
    let activations = match op {
        Op::Output => 0,
        _ => out.numel(),
    };
    Cost {
        params,
        macs,
        activations,
    }
}
