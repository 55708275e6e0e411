//! BN, λ and α folding, and conv + ReLU fusion: the first weight pass, and the one run
//! again after every pass that exposes new folds (a merged branch sum's ReLU, a removed
//! residual's ReLU).
//!
//! - **BN folding**: `BN(conv(x))` in evaluation mode is a conv with weights
//!   `W·γ/√(σ²+ε)` per output channel and bias `(b − μ)·γ/√(σ²+ε) + β`;
//! - **λ and α folding**: the weighted shortcut's scalar `λ·conv(x)` and DSNet's
//!   per-channel `α ⊙ conv(x)` scale the conv's weights and bias; through a fused ReLU
//!   only where the factors are ≥ 0 (`relu(a·z) = a·relu(z)` needs `a ≥ 0`);
//! - **conv + ReLU fusion**: a ReLU reading a conv's only output runs inside the conv's
//!   step, so the plan has one step and one intermediate tensor fewer.
//!
//! Each fold applies only when the conv's output has no other reader, so every other
//! step sees exactly the values it saw before. The result computes the same function in
//! evaluation mode (up to float rounding) and is not meant for training.

use super::rewrite::{compact, resolve};
use super::FoldReport;
use crate::lower::layers::{Conv, Layer, LayerSpec};
use crate::lower::plan::{Kernel, LayerInfo};
use crate::lower::Net;
use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// A conv step's state during folding.
struct ConvState {
    layer: usize,
    /// A ReLU already runs inside this step.
    relu: bool,
}

/// BN, λ and α folding and ReLU fusion, counted into `report`.
pub(super) fn run<B: Backend>(net: Net<B>, report: &mut FoldReport) -> Net<B> {
    let plan = net.plan().clone();
    let mut layers: Vec<Option<Layer<B>>> = net.layers.into_iter().map(Some).collect();
    let mut infos: Vec<LayerInfo> = plan.layers.clone();
    let n = plan.steps.len();
    let mut kernels: Vec<Kernel> = plan.steps.iter().map(|s| s.kernel.clone()).collect();
    let mut uses = plan.uses.clone();
    // `alias[i] = j`: step i was folded into step j, which now produces its value.
    let mut alias: Vec<usize> = (0..n).collect();
    let mut convs: Vec<Option<ConvState>> = (0..n).map(|_| None).collect();
    for (i, step) in plan.steps.iter().enumerate() {
        if let (&Kernel::Conv { relu, .. }, Some(layer)) = (&step.kernel, step.layer) {
            // A ReLU fused by an earlier run of this pass stays in the way of a BN or
            // a scale after it.
            convs[i] = Some(ConvState { layer, relu });
            continue;
        }
        let [input] = step.inputs[..] else {
            continue;
        };
        let j = resolve(&alias, input);
        // Only a conv whose value nobody else reads, and not the network's output.
        if uses[j] != 1 || j == plan.output || i == plan.output {
            continue;
        }
        let Some(conv) = convs[j].as_mut() else {
            continue;
        };
        let Some(Layer::Conv(c)) = layers[conv.layer].take() else {
            unreachable!("a conv step holds a conv layer");
        };
        let (folded, done) = match (&step.kernel, step.layer.map(|l| (l, &layers[l]))) {
            (
                &Kernel::BatchNorm {
                    eps, relu: false, ..
                },
                Some((l, Some(Layer::BatchNorm(bn)))),
            ) if !conv.relu => {
                let inv_std = bn.running_var.value().add_scalar(eps).sqrt().recip();
                let scale = match &bn.weight {
                    Some(gamma) => gamma.val() * inv_std,
                    None => inv_std,
                };
                let mean = bn.running_mean.value();
                let shift = match &bn.bias {
                    Some(beta) => beta.val() - mean * scale.clone(),
                    None => mean.neg() * scale.clone(),
                };
                layers[l] = None;
                report.batch_norms += 1;
                (scale_conv(c, scale, Some(shift)), true)
            }
            (Kernel::Scale { .. }, Some((l, Some(Layer::Vector(v)))))
            | (Kernel::ChannelScale, Some((l, Some(Layer::Vector(v))))) => {
                let factor = v.weight.val();
                let values: Vec<f32> = factor
                    .clone()
                    .into_data()
                    .convert::<f32>()
                    .to_vec()
                    .unwrap_or_default();
                if conv.relu && values.iter().any(|&a| a < 0.0 || a.is_nan()) {
                    (c, false)
                } else {
                    let out = c.weight.dims()[0];
                    let factor = if factor.dims()[0] == out {
                        factor
                    } else {
                        factor.expand([out])
                    };
                    layers[l] = None;
                    report.scales += 1;
                    (scale_conv(c, factor, None), true)
                }
            }
            (Kernel::Relu, _) if !conv.relu => {
                conv.relu = true;
                report.relus += 1;
                (c, true)
            }
            _ => (c, false),
        };
        layers[conv.layer] = Some(Layer::Conv(folded));
        if done {
            if let LayerSpec::Conv { bias, .. } = &mut infos[conv.layer].spec {
                *bias |= matches!(step.kernel, Kernel::BatchNorm { .. });
            }
            alias[i] = j;
            uses[j] = uses[i];
        }
    }
    // Fused ReLUs become part of their conv's kernel.
    for (i, conv) in convs.iter().enumerate() {
        if let (Some(ConvState { relu: true, .. }), Kernel::Conv { relu, .. }) =
            (conv, &mut kernels[i])
        {
            *relu = true;
        }
    }
    compact(&plan, kernels, &alias, uses, layers, infos).0
}

/// The conv scaled per output channel by `scale`, then shifted by `shift`:
/// `conv'(x) = scale ⊙ conv(x) + shift`.
fn scale_conv<B: Backend>(c: Conv<B>, scale: Tensor<B, 1>, shift: Option<Tensor<B, 1>>) -> Conv<B> {
    let [out, ..] = c.weight.dims();
    let weight = c.weight.val() * scale.clone().reshape([out, 1, 1, 1]);
    let bias = match (c.bias.map(|b| b.val()), shift) {
        (Some(b), Some(s)) => Some(b * scale + s),
        (None, Some(s)) => Some(s),
        (Some(b), None) => Some(b * scale),
        (None, None) => None,
    };
    Conv {
        weight: Param::from_tensor(weight),
        bias: bias.map(Param::from_tensor),
    }
}
