//! Residual removal by re-parameterisation (RMNet, Meng et al. 2021: "RM Operation"),
//! on a net whose BNs are already folded into its convolutions.
//!
//! A block `relu?(conv2(relu(conv1(x))) + s(x))`, with `s` the identity or the option-A
//! zero-pad shortcut and `x ≥ 0` (it comes out of a ReLU), becomes a plain chain:
//! - conv1 gets `C_in` more output channels whose kernels copy `x` (a 1 at the kernel's
//!   centre): they carry `x` through the ReLU unchanged, since `relu(x) = x` for `x ≥ 0`;
//! - conv2 gets those channels as more inputs, mapped onto its outputs by centre taps (to
//!   the same channel for the identity, shifted by the zero padding for option A), so it
//!   adds `s(x)` itself.
//!
//! A strided conv1 samples the reserved channels at the positions option A keeps
//! (`x[:, :, ::2, ::2]`): with padding `k/2` the centre of window `i` is input `2i`.
//! The result is exact; the net is one addition (and for option A one slice and concat)
//! shorter per block, and wider by `C_in` channels between the two convolutions.

use super::rewrite::{compact, resolve};
use super::FoldReport;
use crate::lower::layers::{Conv, Layer, LayerSpec};
use crate::lower::plan::Kernel;
use crate::lower::Net;
use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// A conv step's geometry, when it is a plain odd square kernel centred by its padding.
fn centred(kernel: &Kernel) -> Option<(usize, bool)> {
    let Kernel::Conv {
        stride: [s, t],
        padding: [p, q],
        dilation,
        groups: 1,
        relu,
        ..
    } = *kernel
    else {
        return None;
    };
    (dilation == [1, 1] && s == t && p == q).then_some((s, relu))
}

/// Removes the residual additions that re-parameterisation makes exact, counting the
/// blocks that became plain into `report`.
pub(super) fn run<B: Backend>(net: Net<B>, report: &mut FoldReport) -> Net<B> {
    let mut plan = net.plan().clone();
    let n = plan.steps.len();
    let mut layers: Vec<Option<Layer<B>>> = net.layers.into_iter().map(Some).collect();
    let mut infos = plan.layers.clone();
    let kernels: Vec<_> = plan.steps.iter().map(|s| s.kernel.clone()).collect();
    let mut uses = plan.uses.clone();
    let mut alias: Vec<usize> = (0..n).collect();
    let mut nonneg = vec![false; n];
    let mut merged = 0;
    for i in 0..n {
        let step = plan.steps[i].clone();
        nonneg[i] = match &kernels[i] {
            Kernel::Relu => true,
            Kernel::Conv { relu, .. } => *relu,
            Kernel::MaxPool { .. } | Kernel::ZeroPad { .. } | Kernel::Add => {
                step.inputs.iter().all(|&j| nonneg[resolve(&alias, j)])
            }
            _ => false,
        };
        if kernels[i] != Kernel::Add || step.inputs.len() != 2 || i == plan.output {
            continue;
        }
        let ins: Vec<usize> = step.inputs.iter().map(|&j| resolve(&alias, j)).collect();
        let Some((c2, c1, x, pad)) =
            (0..2).find_map(|r| block(&plan, &kernels, &uses, &nonneg, ins[r], ins[1 - r]))
        else {
            continue;
        };
        let (Some(l1), Some(l2)) = (plan.steps[c1].layer, plan.steps[c2].layer) else {
            continue;
        };
        let (Some(Layer::Conv(conv1)), Some(Layer::Conv(conv2))) = (&layers[l1], &layers[l2])
        else {
            unreachable!("conv steps hold conv layers");
        };
        // The kernels must be odd squares centred by their padding.
        let is_centred = |c: &Conv<B>, step: usize| {
            let [_, _, kh, kw] = c.weight.dims();
            matches!(kernels[step], Kernel::Conv { padding, .. } if kh == kw && kh % 2 == 1 && padding == [kh / 2, kh / 2])
        };
        if !is_centred(conv1, c1) || !is_centred(conv2, c2) {
            continue;
        }
        let (Some(Layer::Conv(conv1)), Some(Layer::Conv(conv2))) =
            (layers[l1].take(), layers[l2].take())
        else {
            unreachable!("checked above");
        };
        let c_in = plan.steps[x].shape[0];
        let before = pad.map_or(0, |p| p.1);
        let (conv1, conv2) = reserve(conv1, conv2, c_in, before);
        let widened = conv1.weight.dims()[0];
        layers[l1] = Some(Layer::Conv(conv1));
        layers[l2] = Some(Layer::Conv(conv2));
        if let LayerSpec::Conv {
            out_channels, bias, ..
        } = &mut infos[l1].spec
        {
            *out_channels = widened;
            *bias = true;
        }
        if let LayerSpec::Conv { in_channels, .. } = &mut infos[l2].spec {
            *in_channels = widened;
        }
        plan.steps[c1].shape[0] = widened;
        // The addition's value is conv2's; the shortcut no longer reads x.
        alias[i] = c2;
        uses[c2] = uses[i];
        match pad {
            Some((_, _, zero_pad)) => {
                alias[zero_pad] = c2;
                uses[x] -= 1;
            }
            None => uses[x] -= 1,
        }
        nonneg[i] = false;
        merged += 1;
    }
    report.residuals += merged;
    compact(&plan, kernels, &alias, uses, layers, infos).0
}

/// The steps of a block RMNet removes: conv2, conv1, their input `x`, and option A's
/// zero-pad shortcut (`(stride, channels before, step)`) if that is the shortcut.
type Block = (usize, usize, usize, Option<(usize, usize, usize)>);

/// The [`Block`] when `residual` + `shortcut` is one RMNet removes:
/// `residual = conv2(relu(conv1(x)))` with centred kernels, both convs read only here,
/// conv2 without stride or ReLU; `shortcut` is `x ≥ 0` itself, or option A's zero-pad of
/// it (`(stride, channels before, step)`) with the stride of conv1.
fn block(
    plan: &crate::lower::plan::Plan,
    kernels: &[Kernel],
    uses: &[usize],
    nonneg: &[bool],
    residual: usize,
    shortcut: usize,
) -> Option<Block> {
    let (s2, relu2) = centred(&kernels[residual])?;
    if s2 != 1 || relu2 || uses[residual] != 1 {
        return None;
    }
    let [c1] = plan.steps[residual].inputs[..] else {
        return None;
    };
    let (s1, relu1) = centred(&kernels[c1])?;
    if !relu1 || uses[c1] != 1 {
        return None;
    }
    let [x] = plan.steps[c1].inputs[..] else {
        return None;
    };
    if !nonneg[x] {
        return None;
    }
    let pad = if shortcut == x {
        if s1 != 1 {
            return None;
        }
        None
    } else {
        match (&kernels[shortcut], &plan.steps[shortcut].inputs[..]) {
            (
                &Kernel::ZeroPad {
                    stride, pad_before, ..
                },
                &[src],
            ) if src == x && stride == s1 && uses[shortcut] == 1 => {
                Some((stride, pad_before, shortcut))
            }
            _ => return None,
        }
    };
    Some((residual, c1, x, pad))
}

/// conv1 with `c_in` more output channels copying its input at the kernel centre, and
/// conv2 with those channels as more inputs, added to its outputs `before..before+c_in`.
fn reserve<B: Backend>(
    conv1: Conv<B>,
    conv2: Conv<B>,
    c_in: usize,
    before: usize,
) -> (Conv<B>, Conv<B>) {
    let [c1, in1, k1, _] = conv1.weight.dims();
    let [c2, _, k2, _] = conv2.weight.dims();
    let device = conv1.weight.device();
    let centre_taps = |rows: usize, cols: usize, k: usize, at: &dyn Fn(usize) -> Option<usize>| {
        let mut v = vec![0f32; rows * cols * k * k];
        for i in 0..cols {
            if let Some(o) = at(i) {
                v[((o * cols + i) * k + k / 2) * k + k / 2] = 1.0;
            }
        }
        Tensor::<B, 4>::from_data(TensorData::new(v, [rows, cols, k, k]), &device)
    };
    debug_assert_eq!(in1, c_in);
    let copy = centre_taps(c_in, c_in, k1, &|i| Some(i));
    let w1 = Tensor::cat(vec![conv1.weight.val(), copy], 0);
    let b1 = Tensor::cat(
        vec![
            conv1
                .bias
                .map_or_else(|| Tensor::zeros([c1], &device), |b| b.val()),
            Tensor::zeros([c_in], &device),
        ],
        0,
    );
    let add = centre_taps(c2, c_in, k2, &|i| (i + before < c2).then_some(i + before));
    let w2 = Tensor::cat(vec![conv2.weight.val(), add], 1);
    (
        Conv {
            weight: Param::from_tensor(w1),
            bias: Some(Param::from_tensor(b1)),
        },
        Conv {
            weight: Param::from_tensor(w2),
            bias: conv2.bias,
        },
    )
}
