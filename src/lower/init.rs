//! Initial values of weights, following PyTorch's conventions so that a freshly built
//! network starts from the same distribution as the reference implementations.
//!
//! The values are drawn on the host from a seeded SplitMix64 stream per layer (see
//! `Net::new`), never from the backend's generator: the same seed gives the same initial
//! weights on the CPU, CUDA and wgpu, so runs on different backends start alike.

use crate::data::rng::Rng;
use crate::ir::ConvInit;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// `n` values uniform in `[-bound, bound)`.
fn uniform(rng: &mut Rng, n: usize, bound: f64) -> Vec<f32> {
    (0..n)
        .map(|_| ((2.0 * f64::from(rng.uniform()) - 1.0) * bound) as f32)
        .collect()
}

/// `n` values normal with mean 0 and standard deviation `std`.
fn normal(rng: &mut Rng, n: usize, std: f64) -> Vec<f32> {
    (0..n)
        .map(|_| (f64::from(rng.normal()) * std) as f32)
        .collect()
}

fn tensor<B: Backend, const D: usize>(
    values: Vec<f32>,
    shape: [usize; D],
    device: &B::Device,
) -> Tensor<B, D> {
    Tensor::from_data(TensorData::new(values, shape), device)
}

/// A convolution's weight `[out, in/groups, kh, kw]` and optional bias `[out]`.
///
/// - `Default`: PyTorch's `Conv2d` reset (Kaiming-uniform with a = √5), i.e. weight and
///   bias uniform in ±1/√fan_in.
/// - `MsraFanOut` / `MsraFanIn`: He-normal with std √(2/fan) (torchvision's ResNets use
///   fan-out); the bias starts at zero.
///
/// PyTorch's fan-in is `in/groups · kh · kw` and its fan-out `out · kh · kw`.
pub fn conv<B: Backend>(
    shape: [usize; 4],
    bias: bool,
    init: ConvInit,
    rng: &mut Rng,
    device: &B::Device,
) -> (Tensor<B, 4>, Option<Tensor<B, 1>>) {
    let n = shape.iter().product();
    let receptive = (shape[2] * shape[3]) as f64;
    let fan_in = shape[1] as f64 * receptive;
    let fan_out = shape[0] as f64 * receptive;
    match init {
        ConvInit::Default => {
            let bound = 1.0 / fan_in.sqrt();
            let weight = tensor(uniform(rng, n, bound), shape, device);
            let bias = bias.then(|| tensor(uniform(rng, shape[0], bound), [shape[0]], device));
            (weight, bias)
        }
        ConvInit::MsraFanOut | ConvInit::MsraFanIn => {
            let fan = if init == ConvInit::MsraFanOut {
                fan_out
            } else {
                fan_in
            };
            let std = (2.0 / fan).sqrt();
            let weight = tensor(normal(rng, n, std), shape, device);
            (weight, bias.then(|| Tensor::zeros([shape[0]], device)))
        }
    }
}

/// The filter `[1, 1, kernel]` of a one-channel 1-D convolution without bias (ECA's),
/// as PyTorch's `Conv1d` reset draws it: Kaiming-uniform with a = √5, i.e. uniform in
/// ±1/√fan_in with fan_in = 1 · kernel (the `Default` of [`conv`]).
pub fn conv1d<B: Backend>(kernel: usize, rng: &mut Rng, device: &B::Device) -> Tensor<B, 3> {
    let bound = 1.0 / (kernel as f64).sqrt();
    tensor(uniform(rng, kernel, bound), [1, 1, kernel], device)
}

/// A linear layer's weight `[out, in]` and optional bias, uniform in ±1/√in (PyTorch's
/// `Linear` reset).
pub fn linear<B: Backend>(
    in_features: usize,
    out_features: usize,
    bias: bool,
    rng: &mut Rng,
    device: &B::Device,
) -> (Tensor<B, 2>, Option<Tensor<B, 1>>) {
    let bound = 1.0 / (in_features as f64).sqrt();
    let weight = tensor(
        uniform(rng, out_features * in_features, bound),
        [out_features, in_features],
        device,
    );
    let bias = bias.then(|| tensor(uniform(rng, out_features, bound), [out_features], device));
    (weight, bias)
}
