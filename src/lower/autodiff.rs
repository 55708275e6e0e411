//! Training kernels: convolution and BatchNorm (with the ReLU after it) as operations
//! with their own backward pass on `Autodiff<Flex, C>`, the way Burn extends a backend
//! with custom kernels under autodiff (a [`Backward`] per op), their arithmetic on
//! `resc_kernels`:
//!
//! - conv2d (one group): forward by Winograd F(m×m, 3×3) for 3×3 stride-1 padding-1
//!   convolutions and im2col + gemm otherwise; the input gradient is the transposed
//!   convolution of the output gradient — for 3×3/1/1 the convolution with the flipped,
//!   transposed kernel, so Winograd again — and the weight gradient a matrix product of
//!   the output gradient with the saved input's patches;
//! - BatchNorm in training mode, alone or fused with the ReLU after it: two passes over
//!   the batch forward and two backward, instead of the dozen elementwise ops (each with
//!   its own backward) of the generic formulation in `ops`;
//! - the residual addition fused with the ReLU after it: one pass each way.
//!
//! This is a backend capability: [`available`] says whether `B` has the convolution
//! (flex under autodiff, with or without gradient checkpointing) and [`fused_available`]
//! whether it has the fused elementwise ops (the same, without checkpointing, which
//! recomputes Burn's memory-bound ops instead of keeping their outputs), and `ops` asks
//! where it lowers a convolution, a BatchNorm or a residual addition. Every other backend (flex without autodiff, CUDA, wgpu)
//! keeps Burn's ops.

use super::host::{contiguous, f32_slice, tile_for};
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::NodeId;
use burn::backend::flex::FlexTensor;
use burn::backend::{Autodiff, Flex};
use burn::tensor::backend::Backend;
use burn::tensor::ops::FloatTensor;
use burn::tensor::{Tensor, TensorData, TensorMetadata, TensorPrimitive};
use resc_kernels::{BatchStats, Conv2d, Epilogue, Winograd3x3};
use std::any::{Any, TypeId};

/// True when `B` has the training convolution: flex under autodiff, with either
/// checkpointing strategy.
pub(crate) fn available<B: Backend>() -> bool {
    let b = TypeId::of::<B>();
    b == TypeId::of::<Autodiff<Flex, NoCheckpointing>>()
        || b == TypeId::of::<Autodiff<Flex, BalancedCheckpointing>>()
}

/// True when `B` has the fused elementwise training kernels (BatchNorm(+ReLU), the
/// residual addition + ReLU): flex under autodiff without gradient checkpointing.
/// These ops keep their outputs for the backward; with checkpointing, Burn's own
/// memory-bound ops are recomputed in the backward instead of kept, which is what
/// `--checkpointing` is for (measured, `cargo bench --bench deep`: iResNet-3002's peak
/// stayed at 1.1 GiB with the fused ops, 0.76 GiB without), so there they are not used.
pub(crate) fn fused_available<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Autodiff<Flex, NoCheckpointing>>()
}

/// Calls `$f::<C, B>(args)` with the checkpointing strategy `C` of `B`
/// (which [`available`] checked).
macro_rules! with_strategy {
    ($b:ty, $f:ident($($arg:expr),*)) => {
        if TypeId::of::<$b>() == TypeId::of::<Autodiff<Flex, NoCheckpointing>>() {
            $f::<NoCheckpointing, $b>($($arg),*)
        } else if TypeId::of::<$b>() == TypeId::of::<Autodiff<Flex, BalancedCheckpointing>>() {
            $f::<BalancedCheckpointing, $b>($($arg),*)
        } else {
            unreachable!("the training kernels run only where `available` holds")
        }
    };
}

/// A convolution's geometry (one group).
#[derive(Clone, Copy, Debug)]
pub(crate) struct ConvGeometry {
    pub stride: [usize; 2],
    pub padding: [usize; 2],
    pub dilation: [usize; 2],
}

impl ConvGeometry {
    fn is_winograd(&self, kernel: [usize; 2]) -> bool {
        kernel == [3, 3]
            && self.stride == [1, 1]
            && self.padding == [1, 1]
            && self.dilation == [1, 1]
    }

    /// The im2col + gemm convolution of `weight` (`[K, C, kh, kw]`).
    fn gemm(&self, weight: &FlexTensor) -> Conv2d {
        let [k, c, kh, kw] = dims(weight);
        Conv2d::new(
            f32_slice(weight),
            [k, c],
            [kh, kw],
            self.stride,
            self.padding,
            self.dilation,
        )
    }
}

/// conv2d of `x` (`[N, C, H, W]`) by `weight` (`[K, C, kh, kw]`, one group) plus `bias`
/// (`[K]`), with gradients for all three. `B` must be [`available`].
pub(crate) fn conv2d<B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    geometry: ConvGeometry,
) -> Tensor<B, 4> {
    with_strategy!(B, conv2d_with(x, weight, bias, geometry))
}

fn conv2d_with<C: CheckpointStrategy, B: Backend>(
    x: Tensor<B, 4>,
    weight: Tensor<B, 4>,
    bias: Option<Tensor<B, 1>>,
    geometry: ConvGeometry,
) -> Tensor<B, 4> {
    let x = primitive::<C, B, 4>(x);
    let weight = primitive::<C, B, 4>(weight);
    let y = match bias.map(primitive::<C, B, 1>) {
        Some(bias) => conv_op::<C, 3>([&x, &weight, &bias], geometry),
        None => conv_op::<C, 2>([&x, &weight], geometry),
    };
    from_primitive::<C, B, 4>(y)
}

/// The convolution as a [`Conv`] op of `N` parents: input, weight and, with `N = 3`,
/// the bias.
fn conv_op<C: CheckpointStrategy, const N: usize>(
    parents: [&FloatTensor<Autodiff<Flex, C>>; N],
    geometry: ConvGeometry,
) -> FloatTensor<Autodiff<Flex, C>> {
    let (x, weight) = (parents[0], parents[1]);
    let bias = parents.get(2).map(|b| &b.primitive);
    let forward = || conv_forward(&x.primitive, &weight.primitive, bias, geometry);
    match Conv
        .prepare::<C>(parents.map(|p| p.node.clone()))
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(x), prep.checkpoint(weight), geometry);
            prep.finish(state, forward())
        }
        OpsKind::UnTracked(prep) => prep.finish(forward()),
    }
}

fn conv_forward(
    x: &FlexTensor,
    weight: &FlexTensor,
    bias: Option<&FlexTensor>,
    geometry: ConvGeometry,
) -> FlexTensor {
    let x = contiguous(x.clone());
    let weight = contiguous(weight.clone());
    let bias = bias.map(|b| contiguous(b.clone()));
    let [n, c, h, w] = dims(&x);
    let [k, _, kh, kw] = dims(&weight);
    let epilogue = Epilogue {
        bias: bias.as_ref().map(f32_slice),
        ..Epilogue::default()
    };
    if geometry.is_winograd([kh, kw]) {
        let conv = Winograd3x3::new(tile_for([k, h, w]), f32_slice(&weight), k, c);
        let mut y = vec![0.0f32; n * k * h * w];
        conv.forward(f32_slice(&x), [n, h, w], epilogue, &mut y);
        tensor(y, [n, k, h, w])
    } else {
        let conv = geometry.gemm(&weight);
        let [oh, ow] = conv.output_size(h, w);
        let mut y = vec![0.0f32; n * k * oh * ow];
        conv.forward(f32_slice(&x), [n, h, w], epilogue, &mut y);
        tensor(y, [n, k, oh, ow])
    }
}

/// The gradients of a convolution w.r.t. its input, weight and bias, each computed only
/// where `wanted`.
fn conv_backward(
    x: FlexTensor,
    weight: FlexTensor,
    dy: FlexTensor,
    geometry: ConvGeometry,
    [want_x, want_w, want_b]: [bool; 3],
) -> [Option<FlexTensor>; 3] {
    let x = contiguous(x);
    let weight = contiguous(weight);
    let dy = contiguous(dy);
    let [n, c, h, w] = dims(&x);
    let [k, _, kh, kw] = dims(&weight);
    let [_, _, oh, ow] = dims(&dy);
    let gemm =
        (want_w || (want_x && !geometry.is_winograd([kh, kw]))).then(|| geometry.gemm(&weight));
    let dx = want_x.then(|| {
        let mut dx = vec![0.0f32; n * c * h * w];
        match &gemm {
            Some(conv) if !geometry.is_winograd([kh, kw]) => {
                conv.backward_data(f32_slice(&dy), [n, h, w], &mut dx)
            }
            _ => {
                // The transposed convolution of a 3×3/1/1 convolution is the 3×3/1/1
                // convolution by the kernel flipped in space, with in and out swapped.
                let flipped = flip_transpose(f32_slice(&weight), k, c);
                let conv = Winograd3x3::new(tile_for([c, h, w]), &flipped, c, k);
                conv.forward(f32_slice(&dy), [n, oh, ow], Epilogue::default(), &mut dx);
            }
        }
        tensor(dx, [n, c, h, w])
    });
    let dw = want_w.then(|| {
        let mut dw = vec![0.0f32; k * c * kh * kw];
        let conv = gemm
            .as_ref()
            .expect("built when the weight gradient is wanted");
        conv.backward_weight(f32_slice(&x), f32_slice(&dy), [n, h, w], &mut dw);
        tensor(dw, [k, c, kh, kw])
    });
    let db = want_b.then(|| tensor(channel_sums(f32_slice(&dy), [n, k, oh * ow]), [k]));
    [dx, dw, db]
}

/// `w'[c][k][i][j] = w[k][c][2 − i][2 − j]` for a `[K, C, 3, 3]` kernel.
fn flip_transpose(weight: &[f32], k_n: usize, c_n: usize) -> Vec<f32> {
    let mut flipped = vec![0.0f32; weight.len()];
    for k in 0..k_n {
        for c in 0..c_n {
            let src = &weight[(k * c_n + c) * 9..][..9];
            let dst = &mut flipped[(c * k_n + k) * 9..][..9];
            for (d, s) in dst.iter_mut().zip(src.iter().rev()) {
                *d = *s;
            }
        }
    }
    flipped
}

/// Per-channel sums of an `[n, c, plane]` buffer.
fn channel_sums(x: &[f32], [n, c, plane]: [usize; 3]) -> Vec<f32> {
    (0..c)
        .map(|k| {
            let sum: f64 = (0..n)
                .map(|s| {
                    x[(s * c + k) * plane..][..plane]
                        .iter()
                        .map(|&v| v as f64)
                        .sum::<f64>()
                })
                .sum();
            sum as f32
        })
        .collect()
}

/// A convolution's backward: `N` = 2 parents (input, weight) or 3 (and the bias).
#[derive(Debug)]
struct Conv;

impl<const N: usize> Backward<Flex, N> for Conv {
    type State = (NodeId, NodeId, ConvGeometry);

    fn backward(
        self,
        ops: Ops<Self::State, N>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let dy = grads.consume::<Flex>(&ops.node);
        let (x, weight, geometry) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x);
        let weight = checkpointer.retrieve_node_output::<FlexTensor>(weight);
        let mut wanted = [false; 3];
        for (want, parent) in wanted.iter_mut().zip(&ops.parents) {
            *want = parent.is_some();
        }
        let gradients = conv_backward(x, weight, dy, geometry, wanted);
        for (parent, grad) in ops.parents.into_iter().zip(gradients) {
            if let (Some(node), Some(grad)) = (parent, grad) {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

/// BatchNorm of `x` (`[N, C, H, W]`) in training mode with the batch's statistics,
/// then ReLU when `relu`; `gamma`/`beta` both given or both absent. Returns the output
/// and the batch statistics (biased variance), for the running statistics. `B` must be
/// [`available`] (and should be [`fused_available`]; see there).
pub(crate) fn batch_norm<B: Backend>(
    x: Tensor<B, 4>,
    affine: Option<(Tensor<B, 1>, Tensor<B, 1>)>,
    eps: f64,
    relu: bool,
) -> (Tensor<B, 4>, BatchStats) {
    with_strategy!(B, batch_norm_with(x, affine, eps, relu))
}

/// What a BatchNorm's backward needs besides its input: γ and β (with which the
/// kernel recomputes where a fused ReLU's output was positive), statistics, options.
#[derive(Debug, Clone)]
struct NormState {
    x: NodeId,
    gamma: Option<FlexTensor>,
    beta: Option<FlexTensor>,
    stats: BatchStats,
    eps: f32,
    relu: bool,
}

fn batch_norm_with<C: CheckpointStrategy, B: Backend>(
    x: Tensor<B, 4>,
    affine: Option<(Tensor<B, 1>, Tensor<B, 1>)>,
    eps: f64,
    relu: bool,
) -> (Tensor<B, 4>, BatchStats) {
    let x = primitive::<C, B, 4>(x);
    let affine = affine.map(|(g, b)| (primitive::<C, B, 1>(g), primitive::<C, B, 1>(b)));
    let gamma = affine
        .as_ref()
        .map(|(g, _)| contiguous(g.primitive.clone()));
    let beta = affine
        .as_ref()
        .map(|(_, b)| contiguous(b.primitive.clone()));
    let input = contiguous(x.primitive.clone());
    let [n, c, h, w] = dims(&input);
    let mut y = vec![0.0f32; n * c * h * w];
    let stats = resc_kernels::batch_norm_forward(
        f32_slice(&input),
        [n, c, h * w],
        gamma.as_ref().map(f32_slice),
        beta.as_ref().map(f32_slice),
        eps as f32,
        relu,
        &mut y,
    );
    let y = tensor(y, [n, c, h, w]);
    let state = |x: NodeId| NormState {
        x,
        gamma: gamma.clone(),
        beta: beta.clone(),
        stats: stats.clone(),
        eps: eps as f32,
        relu,
    };
    // Compute-bound: with gradient checkpointing the output is kept, never recomputed
    // (recomputing would need a retro-forward of this op).
    let out = match affine {
        Some((g, b)) => {
            let nodes = [x.node.clone(), g.node.clone(), b.node.clone()];
            match NormAffine.prepare::<C>(nodes).compute_bound().stateful() {
                OpsKind::Tracked(mut prep) => {
                    let s = state(prep.checkpoint(&x));
                    prep.finish(s, y)
                }
                OpsKind::UnTracked(prep) => prep.finish(y),
            }
        }
        None => match NormPlain
            .prepare::<C>([x.node.clone()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(mut prep) => {
                let s = state(prep.checkpoint(&x));
                prep.finish(s, y)
            }
            OpsKind::UnTracked(prep) => prep.finish(y),
        },
    };
    (from_primitive::<C, B, 4>(out), stats)
}

/// The gradients of a BatchNorm w.r.t. its input, γ and β.
fn norm_backward(state: NormState, x: FlexTensor, dy: FlexTensor) -> [FlexTensor; 3] {
    let x = contiguous(x);
    let dy = contiguous(dy);
    let [n, c, h, w] = dims(&x);
    let mut dx = vec![0.0f32; n * c * h * w];
    let (dgamma, dbeta) = resc_kernels::batch_norm_backward(
        f32_slice(&dy),
        f32_slice(&x),
        &state.stats,
        [n, c, h * w],
        state.gamma.as_ref().map(f32_slice),
        state.beta.as_ref().map(f32_slice),
        state.eps,
        state.relu,
        &mut dx,
    );
    [
        tensor(dx, [n, c, h, w]),
        tensor(dgamma, [c]),
        tensor(dbeta, [c]),
    ]
}

#[derive(Debug)]
struct NormAffine;

impl Backward<Flex, 3> for NormAffine {
    type State = NormState;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let dy = grads.consume::<Flex>(&ops.node);
        let x = checkpointer.retrieve_node_output::<FlexTensor>(ops.state.x);
        let gradients = norm_backward(ops.state, x, dy);
        for (parent, grad) in ops.parents.into_iter().zip(gradients) {
            if let Some(node) = parent {
                grads.register::<Flex>(node.id, grad);
            }
        }
    }
}

#[derive(Debug)]
struct NormPlain;

impl Backward<Flex, 1> for NormPlain {
    type State = NormState;

    fn backward(
        self,
        ops: Ops<Self::State, 1>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let dy = grads.consume::<Flex>(&ops.node);
        let x = checkpointer.retrieve_node_output::<FlexTensor>(ops.state.x);
        let [dx, _, _] = norm_backward(ops.state, x, dy);
        let [parent] = ops.parents;
        if let Some(node) = parent {
            grads.register::<Flex>(node.id, dx);
        }
    }
}

/// `max(a + b, 0)`, the residual addition with the ReLU after it, as one op: one pass
/// forward, one backward (the gradient where the output is positive, to both inputs).
/// `B` must be [`available`] (and should be [`fused_available`]; see there).
pub(crate) fn add_relu<B: Backend>(a: Tensor<B, 4>, b: Tensor<B, 4>) -> Tensor<B, 4> {
    with_strategy!(B, add_relu_with(a, b))
}

fn add_relu_with<C: CheckpointStrategy, B: Backend>(
    a: Tensor<B, 4>,
    b: Tensor<B, 4>,
) -> Tensor<B, 4> {
    let a = primitive::<C, B, 4>(a);
    let b = primitive::<C, B, 4>(b);
    let (x, z) = (
        contiguous(a.primitive.clone()),
        contiguous(b.primitive.clone()),
    );
    let shape: [usize; 4] = dims(&x);
    let mut y = vec![0.0f32; shape.iter().product()];
    resc_kernels::add_relu(f32_slice(&x), f32_slice(&z), &mut y);
    let y = tensor(y, shape);
    // Compute-bound as the others: the output is kept (its sign is the backward's mask).
    let out = match AddRelu
        .prepare::<C>([a.node.clone(), b.node.clone()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish(y.clone(), y),
        OpsKind::UnTracked(prep) => prep.finish(y),
    };
    from_primitive::<C, B, 4>(out)
}

#[derive(Debug)]
struct AddRelu;

impl Backward<Flex, 2> for AddRelu {
    /// The op's output.
    type State = FlexTensor;

    fn backward(self, ops: Ops<Self::State, 2>, grads: &mut Gradients, _: &mut Checkpointer) {
        let dy = contiguous(grads.consume::<Flex>(&ops.node));
        let y = contiguous(ops.state);
        let mut dx = vec![0.0f32; f32_slice(&y).len()];
        resc_kernels::relu_backward(f32_slice(&dy), f32_slice(&y), &mut dx);
        let dx = tensor::<4>(dx, dims(&y));
        let [a, b] = ops.parents;
        if let Some(node) = a {
            grads.register::<Flex>(node.id, dx.clone());
        }
        if let Some(node) = b {
            grads.register::<Flex>(node.id, dx);
        }
    }
}

/// The autodiff primitive (flex tensor and graph node) of `x`, whose backend `B` is
/// `Autodiff<Flex, C>`.
fn primitive<C: CheckpointStrategy, B: Backend, const D: usize>(
    x: Tensor<B, D>,
) -> FloatTensor<Autodiff<Flex, C>> {
    cast::<_, Tensor<Autodiff<Flex, C>, D>>(x)
        .into_primitive()
        .tensor()
}

fn from_primitive<C: CheckpointStrategy, B: Backend, const D: usize>(
    x: FloatTensor<Autodiff<Flex, C>>,
) -> Tensor<B, D> {
    cast(Tensor::<Autodiff<Flex, C>, D>::from_primitive(
        TensorPrimitive::Float(x),
    ))
}

/// `value` as the type it is (the callers checked the backend's type).
fn cast<T: 'static, U: 'static>(value: T) -> U {
    let any: Box<dyn Any> = Box::new(value);
    *any.downcast::<U>()
        .expect("the training kernels run only on Autodiff<Flex>")
}

/// The shape of `x`, of the op's rank.
fn dims<const D: usize>(x: &FlexTensor) -> [usize; D] {
    x.shape().dims()
}

fn tensor<const D: usize>(values: Vec<f32>, shape: [usize; D]) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// The custom ops against flex's own autodiff (Burn's conv2d; the generic BatchNorm of
/// `ops` followed by a ReLU; `relu(a + b)`) on random shapes: outputs and the gradients
/// of `Σ y · r` for a random `r`, w.r.t. every input. Tolerance: 1e-4 of the largest
/// reference value (f32 sums in a different order; Winograd's transforms); the addition
/// + ReLU exactly.
#[cfg(test)]
mod tests {
    use super::*;
    use crate::lower::layers::BatchNorm;
    use burn::module::{Param, RunningState};
    use burn::tensor::backend::AutodiffBackend;
    use burn::tensor::module::conv2d as burn_conv2d;
    use burn::tensor::ops::ConvOptions;
    use burn::tensor::{Distribution, ElementConversion};
    use proptest::prelude::*;

    type A = Autodiff<Flex>;
    type Balanced = Autodiff<Flex, BalancedCheckpointing>;

    fn relative<B: Backend, const D: usize>(got: Tensor<B, D>, want: Tensor<B, D>) -> f32 {
        assert_eq!(got.dims(), want.dims());
        let scale = want
            .clone()
            .abs()
            .max()
            .into_scalar()
            .elem::<f32>()
            .max(1e-6);
        (got - want).abs().max().into_scalar().elem::<f32>() / scale
    }

    fn random<B: Backend, const D: usize>(shape: [usize; D], device: &B::Device) -> Tensor<B, D> {
        Tensor::random(shape, Distribution::Normal(0.0, 1.0), device)
    }

    /// The largest relative error of the custom conv2d's output and gradients.
    fn conv_error<B: AutodiffBackend>(
        [n, c, h, w]: [usize; 4],
        [k, kh, kw]: [usize; 3],
        geometry: ConvGeometry,
        with_bias: bool,
        seed: u64,
    ) -> f32 {
        assert!(available::<B>());
        let device = Default::default();
        B::seed(&device, seed);
        let x = random::<B, 4>([n, c, h, w], &device).require_grad();
        let weight = random::<B, 4>([k, c, kh, kw], &device).require_grad();
        let bias = with_bias.then(|| random::<B, 1>([k], &device).require_grad());
        let ours = conv2d(x.clone(), weight.clone(), bias.clone(), geometry);
        let options = ConvOptions::new(geometry.stride, geometry.padding, geometry.dilation, 1);
        let theirs = burn_conv2d(x.clone(), weight.clone(), bias.clone(), options);
        let r = random::<B, 4>(theirs.dims(), &device);
        let mut errors = vec![relative(ours.clone(), theirs.clone())];
        let g_ours = (ours * r.clone()).sum().backward();
        let g_theirs = (theirs * r).sum().backward();
        errors.push(relative(
            x.grad(&g_ours).unwrap(),
            x.grad(&g_theirs).unwrap(),
        ));
        errors.push(relative(
            weight.grad(&g_ours).unwrap(),
            weight.grad(&g_theirs).unwrap(),
        ));
        if let Some(bias) = bias {
            errors.push(relative(
                bias.grad(&g_ours).unwrap(),
                bias.grad(&g_theirs).unwrap(),
            ));
        }
        errors.into_iter().fold(0.0, f32::max)
    }

    fn norm<B: Backend>(c: usize, affine: bool, device: &B::Device) -> BatchNorm<B> {
        let param = |d: Distribution| Param::from_tensor(Tensor::random([c], d, device));
        BatchNorm {
            weight: affine.then(|| param(Distribution::Uniform(0.5, 1.5))),
            bias: affine.then(|| param(Distribution::Normal(0.0, 0.3))),
            running_mean: RunningState::new(Tensor::zeros([c], device)),
            running_var: RunningState::new(Tensor::ones([c], device)),
        }
    }

    /// The largest relative error of the fused BatchNorm(+ReLU)'s output, gradients and
    /// running statistics against the generic BatchNorm then ReLU.
    fn norm_error<B: AutodiffBackend>(
        shape: [usize; 4],
        affine: bool,
        relu: bool,
        seed: u64,
    ) -> f32 {
        let device = Default::default();
        B::seed(&device, seed);
        let ours = norm::<B>(shape[1], affine, &device);
        // A copy with its own parameters and running statistics (a clone would share
        // them).
        let copy = |p: &Option<Param<Tensor<B, 1>>>| {
            p.as_ref()
                .map(|p| Param::from_tensor(Tensor::<B, 1>::from_inner(p.val().inner())))
        };
        let theirs = BatchNorm {
            weight: copy(&ours.weight),
            bias: copy(&ours.bias),
            running_mean: RunningState::new(ours.running_mean.value()),
            running_var: RunningState::new(ours.running_var.value()),
        };
        let x = (random::<B, 4>(shape, &device) + 0.5).require_grad();
        let y_ours = crate::lower::ops::batch_norm_relu(x.clone(), &ours, 1e-5, 0.1, relu);
        let y_theirs = crate::lower::ops::batch_norm_generic(x.clone(), &theirs, 1e-5, 0.1);
        let y_theirs = if relu {
            burn::tensor::activation::relu(y_theirs)
        } else {
            y_theirs
        };
        let r = random::<B, 4>(shape, &device);
        let mut errors = vec![relative(y_ours.clone(), y_theirs.clone())];
        let g_ours = (y_ours * r.clone()).sum().backward();
        let g_theirs = (y_theirs * r).sum().backward();
        errors.push(relative(
            x.grad(&g_ours).unwrap(),
            x.grad(&g_theirs).unwrap(),
        ));
        for (a, b) in [(&ours.weight, &theirs.weight), (&ours.bias, &theirs.bias)] {
            if let (Some(a), Some(b)) = (a, b) {
                errors.push(relative(
                    a.val().grad(&g_ours).unwrap(),
                    b.val().grad(&g_theirs).unwrap(),
                ));
            }
        }
        errors.push(relative(
            ours.running_mean.value_sync(),
            theirs.running_mean.value_sync(),
        ));
        errors.push(relative(
            ours.running_var.value_sync(),
            theirs.running_var.value_sync(),
        ));
        errors.into_iter().fold(0.0, f32::max)
    }

    fn geometry(stride: usize, padding: usize, dilation: usize) -> ConvGeometry {
        ConvGeometry {
            stride: [stride; 2],
            padding: [padding; 2],
            dilation: [dilation; 2],
        }
    }

    #[test]
    fn residual_network_convolutions_match_flex() {
        for (x, k, g) in [
            ([2, 3, 20, 20], [8, 7, 7], geometry(2, 3, 1)), // stem
            ([2, 8, 9, 9], [8, 3, 3], geometry(1, 1, 1)),   // 3×3/1: Winograd both ways
            ([2, 8, 9, 9], [16, 3, 3], geometry(2, 1, 1)),  // strided 3×3
            ([2, 8, 6, 6], [16, 1, 1], geometry(1, 0, 1)),  // 1×1
            ([2, 8, 7, 7], [16, 1, 1], geometry(2, 0, 1)),  // projection
        ] {
            for bias in [false, true] {
                let error = conv_error::<A>(x, k, g, bias, 3);
                assert!(error < 1e-4, "{x:?} {k:?} {g:?} bias {bias}: {error:e}");
            }
        }
    }

    #[test]
    fn gradient_checkpointing_keeps_the_custom_ops_exact() {
        let error = conv_error::<Balanced>([2, 4, 8, 8], [4, 3, 3], geometry(1, 1, 1), true, 5);
        assert!(error < 1e-4, "conv: {error:e}");
        // The fused BatchNorm is not used with checkpointing (see `fused_available`),
        // but is exact there too.
        assert!(!fused_available::<Balanced>() && fused_available::<A>());
        let device = Default::default();
        Balanced::seed(&device, 5);
        let x = random::<Balanced, 4>([3, 4, 5, 5], &device).require_grad();
        let norm = norm::<Balanced>(4, true, &device);
        let affine = (
            norm.weight.clone().unwrap().val(),
            norm.bias.clone().unwrap().val(),
        );
        let (ours, _) = batch_norm(x.clone(), Some(affine), 1e-5, true);
        let theirs = burn::tensor::activation::relu(crate::lower::ops::batch_norm_generic(
            x.clone(),
            &norm,
            1e-5,
            0.1,
        ));
        assert!(relative(ours.clone(), theirs.clone()) < 1e-4);
        let (g_ours, g_theirs) = (ours.sum().backward(), theirs.sum().backward());
        let dx = relative(x.grad(&g_ours).unwrap(), x.grad(&g_theirs).unwrap());
        assert!(dx < 1e-4, "batch norm: {dx:e}");
    }

    proptest! {
        // Fixed cases (deterministic `cargo test`), unless PROPTEST_CASES /
        // PROPTEST_RNG_SEED ask for others.
        #![proptest_config({
            let mut config = ProptestConfig::with_cases(24);
            if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
                config.rng_seed = proptest::test_runner::RngSeed::Fixed(0x16_2026);
            }
            if let Some(cases) = std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()) {
                config.cases = cases;
            }
            config.failure_persistence = None;
            config
        })]
        #[test]
        fn random_convolutions_match_flex(
            n in 1usize..3, c in 1usize..6, k in 1usize..6, h in 1usize..10, w in 1usize..10,
            kernel in 1usize..5, stride in 1usize..3, padding in 0usize..3, dilation in 1usize..3,
            bias in any::<bool>(), seed in any::<u64>(),
        ) {
            let span = dilation * (kernel - 1);
            prop_assume!(h + 2 * padding > span && w + 2 * padding > span);
            let error = conv_error::<A>([n, c, h, w], [k, kernel, kernel], geometry(stride, padding, dilation), bias, seed);
            prop_assert!(error < 1e-4, "{:e}", error);
        }

        #[test]
        fn random_residual_additions_match_flex(
            n in 1usize..4, c in 1usize..6, h in 1usize..9, w in 1usize..9, seed in any::<u64>(),
        ) {
            let device = Default::default();
            A::seed(&device, seed);
            let a = random::<A, 4>([n, c, h, w], &device).require_grad();
            let b = random::<A, 4>([n, c, h, w], &device).require_grad();
            let r = random::<A, 4>([n, c, h, w], &device);
            let ours = add_relu(a.clone(), b.clone());
            let theirs = burn::tensor::activation::relu(a.clone() + b.clone());
            prop_assert!(relative(ours.clone(), theirs.clone()) == 0.0);
            let g_ours = (ours * r.clone()).sum().backward();
            let g_theirs = (theirs * r).sum().backward();
            for t in [&a, &b] {
                let error = relative(t.grad(&g_ours).unwrap(), t.grad(&g_theirs).unwrap());
                prop_assert!(error == 0.0, "{:e}", error);
            }
        }

        #[test]
        fn random_batch_norms_match_flex(
            n in 1usize..5, c in 1usize..6, h in 1usize..8, w in 1usize..8,
            affine in any::<bool>(), relu in any::<bool>(), seed in any::<u64>(),
        ) {
            // With fewer values per channel the normalised output hardly depends on x (two
            // values normalise to ±1 whatever they are), so the input gradient is rounding
            // noise of both implementations.
            prop_assume!(n * h * w >= 8);
            let error = norm_error::<A>([n, c, h, w], affine, relu, seed);
            prop_assert!(error < 1e-4, "{:e}", error);
        }
    }
}
