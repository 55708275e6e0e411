//! Initial values of weights, following PyTorch's conventions so that a freshly built
//! network starts from the same distribution as the reference implementations.

use crate::ir::ConvInit;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};

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
    device: &B::Device,
) -> (Tensor<B, 4>, Option<Tensor<B, 1>>) {
    let receptive = (shape[2] * shape[3]) as f64;
    let fan_in = shape[1] as f64 * receptive;
    let fan_out = shape[0] as f64 * receptive;
    match init {
        ConvInit::Default => {
            let bound = 1.0 / fan_in.sqrt();
            let weight = Tensor::random(shape, Distribution::Uniform(-bound, bound), device);
            let bias = bias
                .then(|| Tensor::random([shape[0]], Distribution::Uniform(-bound, bound), device));
            (weight, bias)
        }
        ConvInit::MsraFanOut | ConvInit::MsraFanIn => {
            let fan = if init == ConvInit::MsraFanOut {
                fan_out
            } else {
                fan_in
            };
            let std = (2.0 / fan).sqrt();
            let weight = Tensor::random(shape, Distribution::Normal(0.0, std), device);
            (weight, bias.then(|| Tensor::zeros([shape[0]], device)))
        }
    }
}

/// A linear layer's weight `[out, in]` and optional bias, uniform in ±1/√in (PyTorch's
/// `Linear` reset).
pub fn linear<B: Backend>(
    in_features: usize,
    out_features: usize,
    bias: bool,
    device: &B::Device,
) -> (Tensor<B, 2>, Option<Tensor<B, 1>>) {
    let bound = 1.0 / (in_features as f64).sqrt();
    let dist = Distribution::Uniform(-bound, bound);
    let weight = Tensor::random([out_features, in_features], dist, device);
    (
        weight,
        bias.then(|| Tensor::random([out_features], dist, device)),
    )
}
