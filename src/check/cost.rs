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

/// A count of the cost model that does not fit in 64 bits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Overflow {
    Params,
    Macs,
    ActivationBytes,
}

impl Overflow {
    /// What overflowed, as a message names it.
    pub fn what(self) -> &'static str {
        match self {
            Overflow::Params => "number of parameters",
            Overflow::Macs => "number of multiply-accumulates",
            Overflow::ActivationBytes => "activation memory in bytes",
        }
    }
}

impl Cost {
    /// The sum of two costs; `Err` names the first count that does not fit in 64 bits,
    /// counting activations as float32 bytes (×4).
    pub fn checked_add(self, other: Cost) -> Result<Cost, Overflow> {
        let activations = self.activations.checked_add(other.activations);
        Ok(Cost {
            params: (self.params.checked_add(other.params)).ok_or(Overflow::Params)?,
            macs: (self.macs.checked_add(other.macs)).ok_or(Overflow::Macs)?,
            activations: activations
                .filter(|a| a.checked_mul(4).is_some())
                .ok_or(Overflow::ActivationBytes)?,
        })
    }
}

/// Saturating, for sums of costs that [`crate::check::check`] has already found to fit.
impl std::ops::AddAssign for Cost {
    fn add_assign(&mut self, other: Cost) {
        self.params = self.params.saturating_add(other.params);
        self.macs = self.macs.saturating_add(other.macs);
        self.activations = self.activations.saturating_add(other.activations);
    }
}

/// The cost of `op` with the given input shapes and output shape (shapes as
/// [`crate::ir::infer_shape`] returns them: their element counts fit in 64 bits).
/// `Err` names the count that does not fit in 64 bits.
pub fn node_cost(op: &Op, inputs: &[Shape], out: Shape) -> Result<Cost, Overflow> {
    let x = inputs.first().copied().unwrap_or(out);
    let params = |n: Option<u64>| n.ok_or(Overflow::Params);
    let (params, macs) = match op {
        Op::Conv {
            kernel,
            groups,
            bias,
            ..
        } => {
            let per_out = params(
                (x.c / groups)
                    .checked_mul(kernel[0])
                    .and_then(|n| n.checked_mul(kernel[1])),
            )?;
            let weights = params(out.c.checked_mul(per_out))?;
            let all = params(weights.checked_add(if *bias { out.c } else { 0 }))?;
            let macs = out.numel().checked_mul(per_out).ok_or(Overflow::Macs)?;
            (all, macs)
        }
        Op::BatchNorm { affine, .. } => (
            if *affine {
                params(x.c.checked_mul(2))?
            } else {
                0
            },
            0,
        ),
        Op::GroupNorm { .. } => (params(x.c.checked_mul(2))?, 0),
        Op::Prelu { per_channel, .. } => (if *per_channel { x.c } else { 1 }, 0),
        Op::Linear { out_features, bias } => {
            let weights = params(x.numel().checked_mul(*out_features))?;
            let all = params(weights.checked_add(if *bias { *out_features } else { 0 }))?;
            (all, weights)
        }
        Op::Scale { .. } => (1, 0),
        Op::ChannelScale { .. } => (x.c, 0),
        // One filter of `kernel` taps slid over the channels at every position: counted
        // like a convolution's weights and multiply-accumulates.
        Op::ChannelConv { kernel } => (
            *kernel,
            out.numel().checked_mul(*kernel).ok_or(Overflow::Macs)?,
        ),
        Op::WeightedSum { weights, .. } => {
            let n = inputs.len() as u64;
            match weights {
                SumWeights::PerInput => (n, 0),
                SumWeights::PerChannel => (params(n.checked_mul(x.c))?, 0),
            }
        }
        _ => (0, 0),
    };
    let activations = match op {
        Op::Output => 0,
        _ => out.numel(),
    };
    Cost::default().checked_add(Cost {
        params,
        macs,
        activations,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Counts past 64 bits are errors (issue 15: they saturated at 2⁶⁴ − 1).
    #[test]
    fn counts_that_overflow_are_errors() {
        let conv = Op::Conv {
            out_channels: 1 << 40,
            kernel: [3, 3],
            stride: [1, 1],
            padding: [1, 1],
            dilation: [1, 1],
            groups: 1,
            bias: false,
            init: crate::ir::ConvInit::Default,
        };
        let wide = Shape::new(1 << 40, 1, 1);
        assert_eq!(node_cost(&conv, &[wide], wide), Err(Overflow::Params));
        let narrow = Shape::new(1, 1 << 20, 1 << 20);
        let out = Shape::new(1 << 40, 1 << 20, 1 << 20);
        assert_eq!(node_cost(&conv, &[narrow], out), Err(Overflow::Macs));
        let linear = Op::Linear {
            out_features: 1 << 40,
            bias: true,
        };
        assert_eq!(node_cost(&linear, &[wide], wide), Err(Overflow::Params));
        let relu = Shape::new(1 << 62, 1, 1);
        assert_eq!(
            node_cost(&Op::Relu, &[relu], relu),
            Err(Overflow::ActivationBytes)
        );
        let half = Cost {
            params: u64::MAX / 2 + 1,
            macs: 0,
            activations: 0,
        };
        assert_eq!(half.checked_add(half), Err(Overflow::Params));
        assert_eq!(
            node_cost(&conv, &[Shape::new(1, 1, 1)], Shape::new(1 << 40, 1, 1)),
            Ok(Cost {
                params: 9 << 40,
                macs: 9 << 40,
                activations: 1 << 40,
            })
        );
    }
}
