//! The parameterised layers of a lowered network, one Burn module per IR node that
//! owns parameters or running statistics. Hyper-parameters (strides, eps, …) live in
//! the execution plan, not here: these structs hold tensors only, so that Burn's
//! records and the weight stores see exactly the parameters.
//!
//! Field names follow PyTorch (`weight`, `bias`, `running_mean`, `running_var`) and
//! tensors use PyTorch's layouts (a linear weight is `[out, in]`), so a PyTorch state
//! dict maps onto a layer by its node name alone.

use super::init;
use crate::data::rng::Rng;
use burn::module::{Module, Param, RunningState};
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;

/// A 2-D convolution's weight `[out, in/groups, kh, kw]` and optional bias `[out]`.
#[derive(Module, Debug)]
pub struct Conv<B: Backend> {
    pub weight: Param<Tensor<B, 4>>,
    pub bias: Option<Param<Tensor<B, 1>>>,
}

/// BatchNorm2d: optional affine `weight`/`bias` (γ/β) and the running statistics.
#[derive(Module, Debug)]
pub struct BatchNorm<B: Backend> {
    pub weight: Option<Param<Tensor<B, 1>>>,
    pub bias: Option<Param<Tensor<B, 1>>>,
    pub running_mean: RunningState<Tensor<B, 1>>,
    pub running_var: RunningState<Tensor<B, 1>>,
}

/// GroupNorm's γ/β, one per channel.
#[derive(Module, Debug)]
pub struct GroupNorm<B: Backend> {
    pub weight: Param<Tensor<B, 1>>,
    pub bias: Param<Tensor<B, 1>>,
}

/// A fully connected layer, weight `[out, in]` as in PyTorch.
#[derive(Module, Debug)]
pub struct Linear<B: Backend> {
    pub weight: Param<Tensor<B, 2>>,
    pub bias: Option<Param<Tensor<B, 1>>>,
}

/// One learned tensor named `weight`: PReLU slopes, the λ of a weighted residual, the
/// per-channel α of DSNet, the weights of a multi-input sum.
#[derive(Module, Debug)]
pub struct Weight<B: Backend, const D: usize> {
    pub weight: Param<Tensor<B, D>>,
}

/// Every parameterised layer. The variant name appears in Burn's module paths
/// (`layers.3.Conv.weight`); [`super::Net::param_names`] gives the source names.
#[derive(Module, Debug)]
pub enum Layer<B: Backend> {
    Conv(Conv<B>),
    BatchNorm(BatchNorm<B>),
    GroupNorm(GroupNorm<B>),
    Linear(Linear<B>),
    /// A tensor of rank 1: PReLU slopes `[C]` or `[1]`, λ `[1]`, α `[C]`, per-input sum
    /// weights `[k]`.
    Vector(Weight<B, 1>),
    /// A tensor of rank 2: per-channel sum weights `[k, C]`.
    Matrix(Weight<B, 2>),
    /// A 1-D convolution's filter `[1, 1, k]` (ECA's convolution across the channels).
    ChannelConv(Weight<B, 3>),
}

impl<B: Backend> Layer<B> {
    /// The layer's variant name, as it appears in Burn's module paths.
    pub fn variant(&self) -> &'static str {
        match self {
            Layer::Conv(_) => "Conv",
            Layer::BatchNorm(_) => "BatchNorm",
            Layer::GroupNorm(_) => "GroupNorm",
            Layer::Linear(_) => "Linear",
            Layer::Vector(_) => "Vector",
            Layer::Matrix(_) => "Matrix",
            Layer::ChannelConv(_) => "ChannelConv",
        }
    }
}

/// How a layer's tensors are created; the plan keeps one per layer.
#[derive(Clone, Debug, PartialEq)]
pub enum LayerSpec {
    Conv {
        in_channels: usize,
        out_channels: usize,
        kernel: [usize; 2],
        groups: usize,
        bias: bool,
        init: crate::ir::ConvInit,
    },
    BatchNorm {
        channels: usize,
        affine: bool,
        zero_init: bool,
    },
    GroupNorm {
        channels: usize,
    },
    Linear {
        in_features: usize,
        out_features: usize,
        bias: bool,
    },
    /// A vector filled with `value`.
    Vector {
        len: usize,
        value: f64,
    },
    /// A matrix filled with `value`.
    Matrix {
        rows: usize,
        cols: usize,
        value: f64,
    },
    /// One filter `[1, 1, kernel]` of a 1-D convolution across the channels, no bias.
    ChannelConv {
        kernel: usize,
    },
}

impl LayerSpec {
    /// The names of the layer's tensors, in PyTorch's state-dict order.
    pub fn tensor_names(&self) -> Vec<&'static str> {
        match self {
            LayerSpec::Conv { bias: true, .. } | LayerSpec::Linear { bias: true, .. } => {
                vec!["weight", "bias"]
            }
            LayerSpec::Conv { .. } | LayerSpec::Linear { .. } => vec!["weight"],
            LayerSpec::BatchNorm { affine: true, .. } => {
                vec!["weight", "bias", "running_mean", "running_var"]
            }
            LayerSpec::BatchNorm { .. } => vec!["running_mean", "running_var"],
            LayerSpec::GroupNorm { .. } => vec!["weight", "bias"],
            LayerSpec::Vector { .. } | LayerSpec::Matrix { .. } | LayerSpec::ChannelConv { .. } => {
                vec!["weight"]
            }
        }
    }

    /// The shape of one of the layer's tensors (named as [`Self::tensor_names`] names them).
    pub fn tensor_shape(&self, tensor: &str) -> Option<Vec<usize>> {
        if !self.tensor_names().contains(&tensor) {
            return None;
        }
        Some(match *self {
            LayerSpec::Conv {
                in_channels,
                out_channels,
                kernel,
                groups,
                ..
            } => match tensor {
                "weight" => vec![out_channels, in_channels / groups, kernel[0], kernel[1]],
                _ => vec![out_channels],
            },
            LayerSpec::BatchNorm { channels, .. } | LayerSpec::GroupNorm { channels } => {
                vec![channels]
            }
            LayerSpec::Linear {
                in_features,
                out_features,
                ..
            } => match tensor {
                "weight" => vec![out_features, in_features],
                _ => vec![out_features],
            },
            LayerSpec::Vector { len, .. } => vec![len],
            LayerSpec::Matrix { rows, cols, .. } => vec![rows, cols],
            LayerSpec::ChannelConv { kernel } => vec![1, 1, kernel],
        })
    }

    /// Creates the layer with its initial values on `device`, random ones drawn from
    /// `rng`.
    pub fn build<B: Backend>(&self, rng: &mut Rng, device: &B::Device) -> Layer<B> {
        match *self {
            LayerSpec::Conv {
                in_channels,
                out_channels,
                kernel,
                groups,
                bias,
                init,
            } => {
                let shape = [out_channels, in_channels / groups, kernel[0], kernel[1]];
                let (weight, bias) = init::conv(shape, bias, init, rng, device);
                Layer::Conv(Conv {
                    weight: Param::from_tensor(weight),
                    bias: bias.map(Param::from_tensor),
                })
            }
            LayerSpec::BatchNorm {
                channels,
                affine,
                zero_init,
            } => {
                let gamma = if zero_init { 0.0 } else { 1.0 };
                let param = |v: f64| Param::from_tensor(Tensor::full([channels], v, device));
                Layer::BatchNorm(BatchNorm {
                    weight: affine.then(|| param(gamma)),
                    bias: affine.then(|| param(0.0)),
                    running_mean: RunningState::new(Tensor::zeros([channels], device)),
                    running_var: RunningState::new(Tensor::ones([channels], device)),
                })
            }
            LayerSpec::GroupNorm { channels } => Layer::GroupNorm(GroupNorm {
                weight: Param::from_tensor(Tensor::ones([channels], device)),
                bias: Param::from_tensor(Tensor::zeros([channels], device)),
            }),
            LayerSpec::Linear {
                in_features,
                out_features,
                bias,
            } => {
                let (weight, bias) = init::linear(in_features, out_features, bias, rng, device);
                Layer::Linear(Linear {
                    weight: Param::from_tensor(weight),
                    bias: bias.map(Param::from_tensor),
                })
            }
            LayerSpec::Vector { len, value } => Layer::Vector(Weight {
                weight: Param::from_tensor(Tensor::full([len], value, device)),
            }),
            LayerSpec::Matrix { rows, cols, value } => Layer::Matrix(Weight {
                weight: Param::from_tensor(Tensor::full([rows, cols], value, device)),
            }),
            LayerSpec::ChannelConv { kernel } => Layer::ChannelConv(Weight {
                weight: Param::from_tensor(init::conv1d(kernel, rng, device)),
            }),
        }
    }
}
