//! The kernels: one function per IR op on batched `[N, C, H, W]` tensors.
//!
//! Formulations are chosen by measurement on the CPU backend (see `benches/ops.rs`):
//! flex has a fast path for `[N, C, L] op [N, C, 1]` but not for the broadcast
//! `[N, C, H, W] op [1, C, 1, 1]`, so every per-channel operation (BatchNorm, GroupNorm's
//! affine, PReLU, α-scaling, SE's channel product) works on the `[N, C, H·W]` view with
//! its per-channel vector expanded to `[N, C, 1]`.
//!
//! Training behaviour (batch statistics, dropout) is chosen, as in burn-nn, by whether
//! the backend records gradients (`B::ad_enabled`).

use super::autodiff::{self, ConvGeometry};
use super::layers::{BatchNorm, GroupNorm, Linear};
use burn::module::Param;
use burn::tensor::activation;
use burn::tensor::backend::Backend;
use burn::tensor::module::{avg_pool2d, conv1d, conv2d, max_pool2d};
use burn::tensor::ops::{ConvOptions, PadMode};
use burn::tensor::{Distribution, Slice, Tensor, TensorData};

/// Expands a per-channel vector `[C]` (or a scalar `[1]`) to `[N, C, 1]`.
fn per_channel<B: Backend>(v: Tensor<B, 1>, n: usize, c: usize) -> Tensor<B, 3> {
    let v = if v.dims()[0] == 1 && c != 1 {
        v.reshape([1, 1, 1]).repeat_dim(1, c)
    } else {
        v.reshape([1, c, 1])
    };
    v.repeat_dim(0, n)
}

/// The `[N, C, H·W]` view of a batch.
fn flat<B: Backend>(x: Tensor<B, 4>) -> (Tensor<B, 3>, [usize; 4]) {
    let d = x.dims();
    (x.reshape([d[0], d[1], d[2] * d[3]]), d)
}

pub fn conv<B: Backend>(
    x: Tensor<B, 4>,
    weight: &Param<Tensor<B, 4>>,
    bias: Option<&Param<Tensor<B, 1>>>,
    stride: [usize; 2],
    padding: [usize; 2],
    dilation: [usize; 2],
    groups: usize,
) -> Tensor<B, 4> {
    let [_, _, kh, kw] = weight.dims();
    if [kh, kw] == [1, 1]
        && stride == [1, 1]
        && padding == [0, 0]
        && groups == 1
        && B::name(&x.device()).contains("cubecl")
    {
        return pointwise(x, weight.val(), bias.map(Param::val));
    }
    if groups == 1 && autodiff::available::<B>() {
        let geometry = ConvGeometry {
            stride,
            padding,
            dilation,
        };
        return autodiff::conv2d(x, weight.val(), bias.map(Param::val), geometry);
    }
    let options = ConvOptions::new(stride, padding, dilation, groups);
    conv2d(x, weight.val(), bias.map(Param::val), options)
}

/// A 1×1 stride-1 convolution as one matrix product, `[O, C] × [C, N·H·W]`, used on the
/// CubeCL backends (cuda, wgpu): there burn-cubecl 0.21 autotunes `conv2d` among kernels
/// one of which, `conv_im2col_1x1`, computes wrong outputs for some shapes (measured on
/// Mesa's Vulkan driver: 8→16 and 16→8 channels at 16×16 off by 10% of the output's
/// range), and autotuning picks by timing — so the results depended on the machine's
/// load. The matrix product computes the same sums and its kernels agree.
fn pointwise<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let o = weight.dims()[0];
    let columns = x.swap_dims(0, 1).reshape([c, n * h * w]);
    let y = weight
        .reshape([o, c])
        .matmul(columns)
        .reshape([o, n, h, w])
        .swap_dims(0, 1);
    match bias {
        Some(b) => y + b.reshape([1, o, 1, 1]),
        None => y,
    }
}

/// BatchNorm2d on the `[N, C, H·W]` view. Training uses the batch statistics (biased
/// variance for normalising) and updates the running statistics with PyTorch's rule:
/// `r ← (1 − m)·r + m·s`, with the unbiased batch variance for `running_var`.
pub fn batch_norm<B: Backend>(
    x: Tensor<B, 4>,
    bn: &BatchNorm<B>,
    eps: f64,
    momentum: f64,
) -> Tensor<B, 4> {
    batch_norm_relu(x, bn, eps, momentum, false)
}

/// [`batch_norm`], then ReLU when `relu`: one fused op where the backend has the
/// training kernels (see `autodiff`).
pub fn batch_norm_relu<B: Backend>(
    x: Tensor<B, 4>,
    bn: &BatchNorm<B>,
    eps: f64,
    momentum: f64,
    relu: bool,
) -> Tensor<B, 4> {
    if B::ad_enabled(&x.device()) && autodiff::fused_available::<B>() {
        let affine = match (&bn.weight, &bn.bias) {
            (Some(gamma), Some(beta)) => Some(Some((gamma.val(), beta.val()))),
            (None, None) => Some(None),
            _ => None,
        };
        if let Some(affine) = affine {
            let [n, c, h, w] = x.dims();
            let device = x.device();
            let (y, stats) = autodiff::batch_norm(x, affine, eps, relu);
            let per_channel = |v: Vec<f32>| {
                Tensor::<B, 1>::from_data(TensorData::new(v, [c]), &device).reshape([1, c, 1])
            };
            let [mean, var] = [stats.mean, stats.var].map(per_channel);
            update_running(bn, mean, var, n * h * w, momentum);
            return y;
        }
    }
    let y = batch_norm_generic(x, bn, eps, momentum);
    if relu {
        activation::relu(y)
    } else {
        y
    }
}

pub(super) fn batch_norm_generic<B: Backend>(
    x: Tensor<B, 4>,
    bn: &BatchNorm<B>,
    eps: f64,
    momentum: f64,
) -> Tensor<B, 4> {
    let (x, d) = flat(x);
    let [n, c, h, w] = d;
    let train = B::ad_enabled(&x.device());
    let y = if train {
        let mean = x.clone().mean_dim(2).mean_dim(0);
        let centered = x - mean.clone().repeat_dim(0, n);
        let var = centered.clone().square().mean_dim(2).mean_dim(0);
        update_running(bn, mean.clone(), var.clone(), n * h * w, momentum);
        let inv_std = var.add_scalar(eps).sqrt().recip();
        let scale = match &bn.weight {
            Some(gamma) => gamma.val().reshape([1, c, 1]) * inv_std,
            None => inv_std,
        };
        let y = centered * scale.repeat_dim(0, n);
        match &bn.bias {
            Some(beta) => y + per_channel(beta.val(), n, c),
            None => y,
        }
    } else {
        let mean = bn.running_mean.value();
        let inv_std = bn.running_var.value().add_scalar(eps).sqrt().recip();
        let scale = match &bn.weight {
            Some(gamma) => gamma.val() * inv_std,
            None => inv_std,
        };
        let shift = match &bn.bias {
            Some(beta) => beta.val() - mean * scale.clone(),
            None => mean.neg() * scale.clone(),
        };
        x * per_channel(scale, n, c) + per_channel(shift, n, c)
    };
    y.reshape(d)
}

fn update_running<B: Backend>(
    bn: &BatchNorm<B>,
    mean: Tensor<B, 3>,
    var: Tensor<B, 3>,
    count: usize,
    momentum: f64,
) {
    let c = mean.dims()[1];
    let unbiased = if count > 1 {
        count as f64 / (count - 1) as f64
    } else {
        1.0
    };
    let mean = mean.detach().reshape([c]);
    let var = var.detach().reshape([c]).mul_scalar(unbiased);
    let old_mean = bn.running_mean.value_sync();
    let old_var = bn.running_var.value_sync();
    let device = old_mean.device();
    bn.running_mean
        .update(old_mean.mul_scalar(1.0 - momentum) + mean.to_device(&device).mul_scalar(momentum));
    bn.running_var
        .update(old_var.mul_scalar(1.0 - momentum) + var.to_device(&device).mul_scalar(momentum));
}

/// GroupNorm: statistics per sample over each group of channels, then γ/β per channel.
pub fn group_norm<B: Backend>(
    x: Tensor<B, 4>,
    gn: &GroupNorm<B>,
    groups: usize,
    eps: f64,
) -> Tensor<B, 4> {
    let d = x.dims();
    let [n, c, h, w] = d;
    let g = x.reshape([n, groups, c / groups * h * w]);
    let mean = g.clone().mean_dim(2);
    let centered = g - mean;
    let var = centered.clone().square().mean_dim(2);
    let normed = (centered * var.add_scalar(eps).sqrt().recip()).reshape([n, c, h * w]);
    let y = normed * per_channel(gn.weight.val(), n, c) + per_channel(gn.bias.val(), n, c);
    y.reshape(d)
}

/// PReLU `max(0, x) + a·min(0, x)` with one slope per channel or one shared.
pub fn prelu<B: Backend>(x: Tensor<B, 4>, slope: &Param<Tensor<B, 1>>) -> Tensor<B, 4> {
    let (x, d) = flat(x);
    let a = per_channel(slope.val(), d[0], d[1]);
    let y = activation::relu(x.clone()) - activation::relu(x.neg()) * a;
    y.reshape(d)
}

/// Burn's pooling kernel. (The maximum of the k·k strided views measured 5× slower on
/// flex, forward and backward: strided slices copy slowly.) `ceil_mode` as PyTorch's.
pub fn max_pool<B: Backend>(
    x: Tensor<B, 4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    ceil_mode: bool,
) -> Tensor<B, 4> {
    let [h, w] = [x.dims()[2], x.dims()[3]];
    let y = max_pool2d(x, kernel, stride, padding, [1, 1], ceil_mode);
    drop_padding_windows(y, [h, w], stride, padding)
}

/// Average pooling; `count_include_pad` and `ceil_mode` as PyTorch's.
pub fn avg_pool<B: Backend>(
    x: Tensor<B, 4>,
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
    count_include_pad: bool,
    ceil_mode: bool,
) -> Tensor<B, 4> {
    let [h, w] = [x.dims()[2], x.dims()[3]];
    let y = if ceil_mode && count_include_pad {
        // Burn's forward counts, as PyTorch does, the positions of a window inside the
        // padded input (not its overhang past the right padding), but its backward divides
        // by k·k. Explicit zero padding and `count_include_pad: false` count the same
        // positions both ways.
        let x = if padding == [0, 0] {
            x
        } else {
            let [ph, pw] = padding;
            x.pad([(ph, ph), (pw, pw)], PadMode::Constant(0.0))
        };
        avg_pool2d(x, kernel, stride, [0, 0], false, true)
    } else {
        avg_pool2d(x, kernel, stride, padding, count_include_pad, ceil_mode)
    };
    drop_padding_windows(y, [h, w], stride, padding)
}

/// Drops a last row or column of windows that starts in the right padding. Burn's
/// `ceil_mode` rounds the output size up without PyTorch's rule that every window starts
/// inside the input or its left padding (`(out − 1)·stride < in + padding`); the windows
/// before it are the same.
fn drop_padding_windows<B: Backend>(
    y: Tensor<B, 4>,
    input: [usize; 2],
    stride: [usize; 2],
    padding: [usize; 2],
) -> Tensor<B, 4> {
    let [n, c, oh, ow] = y.dims();
    let keep = |out: usize, d: usize| {
        if out > 1 && (out - 1) * stride[d] >= input[d] + padding[d] {
            out - 1
        } else {
            out
        }
    };
    let (kh, kw) = (keep(oh, 0), keep(ow, 1));
    if (kh, kw) == (oh, ow) {
        return y;
    }
    y.slice([0..n, 0..c, 0..kh, 0..kw])
}

pub fn global_avg_pool<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let (x, [n, c, _, _]) = flat(x);
    x.mean_dim(2).reshape([n, c, 1, 1])
}

/// ECA's 1-D convolution across the channels at every position: the `[N, C, H, W]`
/// batch is viewed as `N·H·W` sequences `[1, C]` and convolved with the filter `[1, 1, k]`
/// (zero padding `(k − 1)/2`, no bias), as PyTorch's `Conv1d(1, 1, k)` does on the
/// pooled `[N, 1, C]` in timm's `EcaModule`.
pub fn channel_conv<B: Backend>(x: Tensor<B, 4>, weight: &Param<Tensor<B, 3>>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let k = weight.dims()[2];
    let options = ConvOptions::new([1], [(k - 1) / 2], [1], 1);
    if h * w == 1 {
        let y = conv1d(x.reshape([n, 1, c]), weight.val(), None, options);
        return y.reshape([n, c, 1, 1]);
    }
    let rows = x.permute([0, 2, 3, 1]).reshape([n * h * w, 1, c]);
    let y = conv1d(rows, weight.val(), None, options);
    y.reshape([n, h, w, c]).permute([0, 3, 1, 2])
}

/// A linear layer over the flattened sample; output `[N, out, 1, 1]`.
pub fn linear<B: Backend>(x: Tensor<B, 4>, layer: &Linear<B>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    let x = x.reshape([n, c * h * w]);
    let y = x.matmul(layer.weight.val().transpose());
    let out = y.dims()[1];
    let y = match &layer.bias {
        Some(b) => y + b.val().reshape([1, out]).repeat_dim(0, n),
        None => y,
    };
    y.reshape([n, out, 1, 1])
}

pub fn flatten<B: Backend>(x: Tensor<B, 4>) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    x.reshape([n, c * h * w, 1, 1])
}

/// Inverted dropout: while training, zeroes each element with probability `p` and
/// scales the rest by 1/(1 − p).
pub fn dropout<B: Backend>(x: Tensor<B, 4>, p: f64) -> Tensor<B, 4> {
    if p <= 0.0 || !B::ad_enabled(&x.device()) {
        return x;
    }
    if p >= 1.0 {
        return x.zeros_like();
    }
    let mask = Tensor::random(x.shape(), Distribution::Bernoulli(1.0 - p), &x.device());
    x * mask.div_scalar(1.0 - p)
}

/// Stochastic depth: while training, drops each sample's whole tensor with probability
/// `p` and scales the survivors by 1/(1 − p).
pub fn drop_path<B: Backend>(x: Tensor<B, 4>, p: f64) -> Tensor<B, 4> {
    if p <= 0.0 || !B::ad_enabled(&x.device()) {
        return x;
    }
    if p >= 1.0 {
        return x.zeros_like();
    }
    let d = x.dims();
    let [n, c, h, w] = d;
    let mask: Tensor<B, 2> = Tensor::random([n, 1], Distribution::Bernoulli(1.0 - p), &x.device());
    let mask = mask.div_scalar(1.0 - p).repeat_dim(1, c * h * w);
    (x.reshape([n, c * h * w]) * mask).reshape(d)
}

pub fn add<B: Backend>(inputs: Vec<Tensor<B, 4>>) -> Tensor<B, 4> {
    let mut it = inputs.into_iter();
    let first = it
        .next()
        .expect("the verifier guarantees at least two inputs");
    it.fold(first, |acc, t| acc + t)
}

/// `max(a + b, 0)`: one op where the backend has the training kernels (see `autodiff`).
pub fn add_relu<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 4> {
    if B::ad_enabled(&a.device()) && autodiff::fused_available::<B>() {
        autodiff::add_relu(a, b)
    } else {
        activation::relu(a + b)
    }
}

/// `a ⊙ b`, where `b` may be `[N, C, 1, 1]` (a per-channel gate, as in SE).
pub fn mul<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 4> {
    let bd = b.dims();
    if bd[2] == 1 && bd[3] == 1 && a.dims() != bd {
        let (a, d) = flat(a);
        let b = b.reshape([bd[0], bd[1], 1]);
        return (a * b).reshape(d);
    }
    a * b
}

pub fn concat<B: Backend>(inputs: Vec<Tensor<B, 4>>) -> Tensor<B, 4> {
    Tensor::cat(inputs, 1)
}

pub fn slice<B: Backend>(x: Tensor<B, 4>, start: usize, end: usize) -> Tensor<B, 4> {
    x.narrow(1, start, end - start)
}

/// Nearest-neighbour upsampling by an integer factor: every pixel becomes an s×s block.
pub fn upsample<B: Backend>(x: Tensor<B, 4>, scale: usize) -> Tensor<B, 4> {
    if scale == 1 {
        return x;
    }
    let [n, c, h, w] = x.dims();
    let x: Tensor<B, 6> = x.reshape([n, c, h, 1, w, 1]);
    x.expand([n, c, h, scale, w, scale])
        .reshape([n, c, h * scale, w * scale])
}

/// Option-A shortcut: `x[:, :, ::s, ::s]`, then zero channels before and after.
pub fn zero_pad<B: Backend>(
    x: Tensor<B, 4>,
    stride: usize,
    before: usize,
    after: usize,
) -> Tensor<B, 4> {
    let x = if stride > 1 {
        let every = Slice::new(0, None, stride as isize);
        x.slice([Slice::full(), Slice::full(), every, every])
    } else {
        x
    };
    if before == 0 && after == 0 {
        return x;
    }
    let [n, _, h, w] = x.dims();
    let device = x.device();
    let mut parts = Vec::with_capacity(3);
    if before > 0 {
        parts.push(Tensor::zeros([n, before, h, w], &device));
    }
    parts.push(x);
    if after > 0 {
        parts.push(Tensor::zeros([n, after, h, w], &device));
    }
    Tensor::cat(parts, 1)
}

/// λ·x with one learned scalar. (A plain broadcast of the `[1, 1, 1, 1]` scalar is as
/// fast as the flattened `[N, C·H·W] ⊙ [N, 1]` form on flex, unlike per-channel vectors.)
pub fn scale<B: Backend>(x: Tensor<B, 4>, lambda: &Param<Tensor<B, 1>>) -> Tensor<B, 4> {
    x * lambda.val().reshape([1, 1, 1, 1])
}

/// α ⊙ x with one learned weight per channel.
pub fn channel_scale<B: Backend>(x: Tensor<B, 4>, alpha: &Param<Tensor<B, 1>>) -> Tensor<B, 4> {
    let (x, d) = flat(x);
    (x * per_channel(alpha.val(), d[0], d[1])).reshape(d)
}

/// `Σ_j w_j ⊙ x_j` with `w` of shape `[k]` (one scalar per input) or `[k, C]` (one
/// vector per input), normalised across the inputs as the op says.
pub fn weighted_sum<B: Backend>(
    inputs: Vec<Tensor<B, 4>>,
    weights: Tensor<B, 2>,
    norm: crate::ir::SumNorm,
) -> Tensor<B, 4> {
    use crate::ir::SumNorm;
    let w = match norm {
        SumNorm::None => weights,
        SumNorm::Relu => {
            let r = activation::relu(weights);
            let total = r.clone().sum_dim(0).add_scalar(1e-4);
            let k = r.dims()[0];
            r / total.repeat_dim(0, k)
        }
        SumNorm::Softmax => activation::softmax(weights, 0),
    };
    let cols = w.dims()[1];
    let mut acc: Option<Tensor<B, 4>> = None;
    for (j, x) in inputs.into_iter().enumerate() {
        let (x3, d) = flat(x);
        let wj: Tensor<B, 1> = w.clone().narrow(0, j, 1).reshape([cols]);
        let term = (x3 * per_channel(wj, d[0], d[1])).reshape(d);
        acc = Some(match acc {
            Some(a) => a + term,
            None => term,
        });
    }
    acc.expect("the verifier guarantees at least two inputs")
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::backend::{Autodiff, Flex};
    use burn::module::RunningState;
    use burn::nn::BatchNormConfig;
    use burn::tensor::ElementConversion;

    const C: usize = 6;

    /// Our BatchNorm and burn-nn's, with the same random γ, β and running statistics.
    fn pair<B: Backend>(device: &B::Device) -> (BatchNorm<B>, burn::nn::BatchNorm<B>) {
        let gamma: Tensor<B, 1> = Tensor::random([C], Distribution::Uniform(0.5, 1.5), device);
        let beta: Tensor<B, 1> = Tensor::random([C], Distribution::Normal(0.0, 0.3), device);
        let mean: Tensor<B, 1> = Tensor::random([C], Distribution::Normal(0.0, 0.3), device);
        let var: Tensor<B, 1> = Tensor::random([C], Distribution::Uniform(0.5, 1.5), device);
        let ours = BatchNorm {
            weight: Some(Param::from_tensor(gamma.clone())),
            bias: Some(Param::from_tensor(beta.clone())),
            running_mean: RunningState::new(mean.clone()),
            running_var: RunningState::new(var.clone()),
        };
        let mut theirs = BatchNormConfig::new(C).init(device);
        theirs.gamma = Param::from_tensor(gamma);
        theirs.beta = Param::from_tensor(beta);
        theirs.running_mean = RunningState::new(mean);
        theirs.running_var = RunningState::new(var);
        (ours, theirs)
    }

    fn max_diff<B: Backend, const D: usize>(a: Tensor<B, D>, b: Tensor<B, D>) -> f32 {
        assert_eq!(a.dims(), b.dims());
        (a - b).abs().max().into_scalar().elem::<f32>()
    }

    #[test]
    fn batch_norm_matches_burn_nn_in_evaluation() {
        let device = Default::default();
        Flex::seed(&device, 11);
        let (ours, theirs) = pair::<Flex>(&device);
        let x: Tensor<Flex, 4> =
            Tensor::random([3, C, 5, 7], Distribution::Normal(0.5, 2.0), &device);
        let diff = max_diff(batch_norm(x.clone(), &ours, 1e-5, 0.1), theirs.forward(x));
        assert!(diff < 1e-5, "evaluation outputs differ by {diff}");
    }

    #[test]
    fn batch_norm_matches_burn_nn_in_training() {
        type A = Autodiff<Flex>;
        let device = Default::default();
        A::seed(&device, 12);
        let (ours, theirs) = pair::<A>(&device);
        let [n, h, w] = [3, 5, 7];
        let x: Tensor<A, 4> =
            Tensor::random([n, C, h, w], Distribution::Normal(0.5, 2.0), &device).require_grad();
        let weights: Tensor<A, 4> =
            Tensor::random([n, C, h, w], Distribution::Normal(0.0, 1.0), &device);
        let old_var = theirs.running_var.value();

        let y_ours = batch_norm(x.clone(), &ours, 1e-5, 0.1);
        let y_theirs = theirs.forward(x.clone());
        assert!(
            max_diff(y_ours.clone(), y_theirs.clone()) < 1e-5,
            "training outputs differ"
        );

        let g_ours = (y_ours * weights.clone()).sum().backward();
        let g_theirs = (y_theirs * weights).sum().backward();
        let dx = max_diff(x.grad(&g_ours).unwrap(), x.grad(&g_theirs).unwrap());
        assert!(dx < 1e-5, "input gradients differ by {dx}");
        let gamma_ours = ours.weight.as_ref().unwrap().val().grad(&g_ours).unwrap();
        let dg = max_diff(gamma_ours, theirs.gamma.val().grad(&g_theirs).unwrap());
        assert!(dg < 1e-4, "γ gradients differ by {dg}");

        let dm = max_diff(
            ours.running_mean.value_sync(),
            theirs.running_mean.value_sync(),
        );
        assert!(dm < 1e-6, "running means differ by {dm}");
        // PyTorch (and resc) update the running variance with the unbiased batch
        // variance; burn-nn uses the biased one.
        let unbiased = x
            .inner()
            .swap_dims(0, 1)
            .reshape([C, n * h * w])
            .var(1)
            .reshape([C]);
        let expected = old_var.inner() * 0.9 + unbiased * 0.1;
        let dv = max_diff(ours.running_var.value_sync().inner(), expected);
        assert!(dv < 1e-5, "running variances differ by {dv}");
    }
}
