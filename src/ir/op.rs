//! The operations of the IR. Every op works on one sample's `[C, H, W]` tensor; the
//! batch dimension is implicit. Composite constructs of the language (blocks, shortcut
//! kinds, SE, CSP) are expanded into these primitives by elaboration.

use serde::Serialize;

/// How a convolution's weights are initialised (used by the back end).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ConvInit {
    /// PyTorch's default (Kaiming-uniform with a = √5).
    Default,
    /// He/"MSRA" normal initialisation, fan-out mode (torchvision ResNets).
    MsraFanOut,
    /// He/"MSRA" normal initialisation, fan-in mode.
    MsraFanIn,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SumWeights {
    /// One learned scalar per input.
    PerInput,
    /// One learned vector (one weight per channel) per input.
    PerChannel,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SumNorm {
    None,
    /// `w = relu(w) / (Σ relu(w) + 1e-4)` (fast normalised fusion).
    Relu,
    /// Softmax across the inputs.
    Softmax,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Op {
    /// The network input; its shape is the sample shape.
    Input {
        shape: [u64; 3],
    },
    /// 2-D convolution. `padding` is explicit (elaboration resolves the default).
    Conv {
        out_channels: u64,
        kernel: [u64; 2],
        stride: [u64; 2],
        padding: [u64; 2],
        dilation: [u64; 2],
        groups: u64,
        bias: bool,
        init: ConvInit,
    },
    /// BatchNorm2d. `affine: false` has no γ/β (DSNet's normalisation).
    /// `zero_init` initialises γ to 0 (a block's last BN).
    BatchNorm {
        eps: f64,
        momentum: f64,
        affine: bool,
        zero_init: bool,
    },
    /// GroupNorm with `groups` groups over the channels, with γ/β.
    GroupNorm {
        groups: u64,
        eps: f64,
    },
    Relu,
    LeakyRelu {
        slope: f64,
    },
    /// PReLU: one slope per channel, or one shared.
    Prelu {
        per_channel: bool,
        init: f64,
    },
    Sigmoid,
    /// Max pooling; `ceil_mode` rounds the output size up as PyTorch's does.
    MaxPool {
        kernel: [u64; 2],
        stride: [u64; 2],
        padding: [u64; 2],
        ceil_mode: bool,
    },
    /// Average pooling; `ceil_mode` rounds the output size up as PyTorch's does.
    AvgPool {
        kernel: [u64; 2],
        stride: [u64; 2],
        padding: [u64; 2],
        count_include_pad: bool,
        ceil_mode: bool,
    },
    /// Global average pooling to `[C, 1, 1]`.
    GlobalAvgPool,
    /// 1-D convolution across the channel axis at every position: one learned filter of
    /// `kernel` taps (odd), zero padding `(kernel − 1)/2` at both ends, no bias, so the
    /// output has the input's shape (ECA's channel interaction, PyTorch's
    /// `Conv1d(1, 1, kernel, padding=(kernel − 1)/2, bias=False)` over `[N, 1, C]`).
    ChannelConv {
        kernel: u64,
    },
    /// Fully connected layer over the flattened input; output `[out, 1, 1]`.
    Linear {
        out_features: u64,
        bias: bool,
    },
    /// Flattens to `[C·H·W, 1, 1]`.
    Flatten,
    Dropout {
        p: f64,
    },
    /// Stochastic depth: drops the whole sample's branch with probability `p` while
    /// training, scaling survivors by 1/(1−p); identity at inference.
    DropPath {
        p: f64,
    },
    /// Element-wise sum of two or more inputs of one shape.
    Add,
    /// Element-wise product of two inputs; the second may be `[C, 1, 1]` (broadcast).
    Mul,
    /// Concatenation along channels.
    Concat,
    /// Channels `start..end` of the input.
    Slice {
        start: u64,
        end: u64,
    },
    /// Nearest-neighbour upsampling by an integer factor.
    Upsample {
        scale: u64,
    },
    /// Option-A shortcut: subsample with `stride` (`x[:, ::s, ::s]`), then add zero
    /// channels before and after.
    ZeroPad {
        stride: u64,
        pad_before: u64,
        pad_after: u64,
    },
    /// Multiplication by one learned scalar λ (weighted residual): initialised to
    /// `init`, trained with its own learning rate `lr`, and, when `bounded`, projected
    /// into (−1, 1) after every step.
    Scale {
        init: f64,
        lr: f64,
        bounded: bool,
    },
    /// Per-channel learned weights α ⊙ x, initialised to `init` (DSNet).
    ChannelScale {
        init: f64,
    },
    /// Multi-input weighted sum `Σ w_j ⊙ x_j`.
    WeightedSum {
        weights: SumWeights,
        norm: SumNorm,
    },
    /// The network output (identity); exactly one per graph.
    Output,
}

impl Op {
    /// A short lowercase name used in automatic node names (`conv1`, `bn2`).
    pub fn kind_name(&self) -> &'static str {
        match self {
            Op::Input { .. } => "input",
            Op::Conv { .. } => "conv",
            Op::BatchNorm { .. } => "bn",
            Op::GroupNorm { .. } => "gn",
            Op::Relu => "relu",
            Op::LeakyRelu { .. } => "leaky_relu",
            Op::Prelu { .. } => "prelu",
            Op::Sigmoid => "sigmoid",
            Op::MaxPool { .. } => "maxpool",
            Op::AvgPool { .. } => "avgpool",
            Op::GlobalAvgPool => "avgpool",
            Op::ChannelConv { .. } => "channel_conv",
            Op::Linear { .. } => "fc",
            Op::Flatten => "flatten",
            Op::Dropout { .. } => "dropout",
            Op::DropPath { .. } => "drop_path",
            Op::Add => "add",
            Op::Mul => "mul",
            Op::Concat => "concat",
            Op::Slice { .. } => "slice",
            Op::Upsample { .. } => "upsample",
            Op::ZeroPad { .. } => "zeropad",
            Op::Scale { .. } => "lambda",
            Op::ChannelScale { .. } => "alpha",
            Op::WeightedSum { .. } => "wsum",
            Op::Output => "output",
        }
    }

    /// How many inputs the op takes: `(min, max)`.
    pub fn arity(&self) -> (usize, usize) {
        match self {
            Op::Input { .. } => (0, 0),
            Op::Add | Op::Concat | Op::WeightedSum { .. } => (2, usize::MAX),
            Op::Mul => (2, 2),
            _ => (1, 1),
        }
    }

    /// Ops that compute nothing at inference time.
    pub fn is_inference_identity(&self) -> bool {
        matches!(self, Op::Dropout { .. } | Op::DropPath { .. } | Op::Output)
    }
}
