//! The built-in layers and tensor functions: their signatures (with documentation, for
//! hover and completion) and their expansion into IR ops.

use super::args::{Bound, Dflt, PTy, Sig, TensorArg, P};
use super::value::Value;
use super::Elab;
use crate::diag::{Code, Diagnostic};
use crate::ir::{ConvInit, Op, SumNorm, SumWeights};
use crate::source::Span;
use std::collections::HashSet;

pub(super) const fn p(name: &'static str, ty: PTy, default: Dflt, doc: &'static str) -> P {
    P {
        name,
        ty,
        default,
        doc,
    }
}

pub(super) const fn sig(name: &'static str, params: &'static [P], doc: &'static str) -> Sig {
    Sig {
        name,
        params,
        tensors: false,
        doc,
    }
}

const fn tensor_sig(name: &'static str, params: &'static [P], doc: &'static str) -> Sig {
    Sig {
        name,
        params,
        tensors: true,
        doc,
    }
}

pub(super) const INITS: &[&str] = &["default", "msra", "msra_fan_in"];
pub(super) const NORMS: &[&str] = &["none", "relu", "softmax"];
pub(super) const WEIGHTS: &[&str] = &["per_input", "per_channel", "none"];

/// Every built-in layer and tensor function.
pub(super) static LAYERS: &[Sig] = &[
    sig("conv", &[
        p("out", PTy::Int, Dflt::Required, "output channels"),
        p("k", PTy::IntPair, Dflt::Int(3), "kernel size (k or [kh, kw])"),
        p("stride", PTy::IntPair, Dflt::Int(1), "stride"),
        p("padding", PTy::IntPair, Dflt::Derived, "zero padding; default dilation·(k−1)/2 ('same' for odd k)"),
        p("dilation", PTy::IntPair, Dflt::Int(1), "dilation"),
        p("groups", PTy::Int, Dflt::Int(1), "groups (ResNeXt cardinality); must divide both channel counts"),
        p("bias", PTy::Bool, Dflt::Bool(false), "add a learned bias (off: a BN usually follows)"),
        p("init", PTy::Enum(INITS), Dflt::Sym("default"), "weight initialisation: default (PyTorch), msra (He, fan-out), msra_fan_in"),
    ], "2-D convolution `[C, H, W] → [out, H', W']`, no bias by default."),
    sig("bn", &[
        p("eps", PTy::Float, Dflt::Float(1e-5), "added to the variance"),
        p("momentum", PTy::Float, Dflt::Float(0.1), "running-statistics momentum (PyTorch convention)"),
        p("affine", PTy::Bool, Dflt::Bool(true), "learn γ and β"),
        p("zero_init", PTy::Bool, Dflt::Bool(false), "initialise γ to 0 (a block's last BN)"),
    ], "BatchNorm2d over the channels."),
    sig("groupnorm", &[
        p("groups", PTy::Int, Dflt::Int(32), "number of groups; must divide the channels"),
        p("eps", PTy::Float, Dflt::Float(1e-5), "added to the variance"),
    ], "GroupNorm with learned γ and β, a drop-in replacement for BN."),
    sig("relu", &[], "Rectified linear unit."),
    sig("leaky_relu", &[
        p("slope", PTy::Float, Dflt::Float(0.01), "negative slope"),
    ], "Leaky ReLU."),
    sig("prelu", &[
        p("per_channel", PTy::Bool, Dflt::Bool(true), "one slope per channel (else one shared)"),
        p("init", PTy::Float, Dflt::Float(0.25), "initial slope"),
    ], "Parametric ReLU (He et al. 2015)."),
    sig("sigmoid", &[], "Logistic sigmoid."),
    sig("maxpool", &[
        p("k", PTy::IntPair, Dflt::Required, "window size"),
        p("stride", PTy::IntPair, Dflt::Derived, "stride; default the window size"),
        p("padding", PTy::IntPair, Dflt::Int(0), "padding (at most half the window)"),
        p("ceil_mode", PTy::Bool, Dflt::Bool(false), "round the output size up, as PyTorch's `ceil_mode` (a window must still start inside the input or its left padding)"),
    ], "Max pooling."),
    sig("avgpool", &[
        p("k", PTy::IntPair, Dflt::Derived, "window size; omitted: global average pooling to [C, 1, 1]"),
        p("stride", PTy::IntPair, Dflt::Derived, "stride; default the window size"),
        p("padding", PTy::IntPair, Dflt::Int(0), "padding"),
        p("count_include_pad", PTy::Bool, Dflt::Bool(true), "count padded zeros in the average"),
        p("ceil_mode", PTy::Bool, Dflt::Bool(false), "round the output size up, as PyTorch's `ceil_mode` (a window must still start inside the input or its left padding)"),
    ], "Average pooling; without `k`, global average pooling."),
    sig("global_avgpool", &[], "Global average pooling to `[C, 1, 1]`."),
    sig("linear", &[
        p("out", PTy::Int, Dflt::Required, "output features"),
        p("bias", PTy::Bool, Dflt::Bool(true), "add a learned bias"),
    ], "Fully connected layer over the flattened input; output `[out, 1, 1]`."),
    sig("flatten", &[], "Flattens to `[C·H·W, 1, 1]`."),
    sig("dropout", &[
        p("p", PTy::Float, Dflt::Float(0.5), "drop probability in [0, 1)"),
    ], "Dropout (identity at inference)."),
    sig("drop_path", &[
        p("p", PTy::Float, Dflt::Required, "probability of dropping the branch, in [0, 1)"),
    ], "Stochastic depth: drops the whole branch per sample while training, scaling by 1/(1−p); identity at inference."),
    sig("se", &[
        p("reduction", PTy::Int, Dflt::Int(16), "channel reduction ratio r"),
        p("divisor", PTy::Int, Dflt::Int(8), "round the reduced width to a multiple of this (timm's make_divisible)"),
        p("rd", PTy::Int, Dflt::Derived, "the reduced width, overriding reduction/divisor"),
    ], "Squeeze-and-excitation: global pool → 1×1 conv (C/r, bias) → ReLU → 1×1 conv (C, bias) → sigmoid, scaling the channels."),
    sig("eca", &[
        p("k", PTy::Int, Dflt::Derived, "odd kernel size of the 1-D convolution over the channels; omitted: t = floor(|log2(C) + 1| / 2), k = t if t is odd else t + 1, at least 3 (timm's adaptive size)"),
    ], "Efficient channel attention (ECA-Net): global pool → 1-D conv of k taps across the channels (zero padding (k−1)/2, no bias) → sigmoid, scaling the channels."),
    sig("upsample", &[
        p("scale", PTy::Int, Dflt::Int(2), "integer factor"),
    ], "Nearest-neighbour upsampling."),
    sig("chunk", &[
        p("n", PTy::Int, Dflt::Required, "number of equal channel chunks"),
        p("index", PTy::Int, Dflt::Required, "which chunk, from 0"),
    ], "One of `n` equal chunks of the channels."),
    tensor_sig("add", &[], "Element-wise sum of tensors of one shape: `add(a, b, …)` or `add(xs)` for a list."),
    tensor_sig("mul", &[], "Element-wise product `mul(a, b)`; `b` may be `[C, 1, 1]`."),
    tensor_sig("concat", &[], "Concatenation along channels: `concat(a, b, …)` or `concat(xs)` for a list."),
    tensor_sig("sum", &[
        p("weights", PTy::Enum(WEIGHTS), Dflt::Sym("per_input"), "per_input: a learned scalar per input; per_channel: a learned vector per input; none: plain sum"),
        p("norm", PTy::Enum(NORMS), Dflt::Sym("none"), "normalisation of the weights: none, relu (w/(Σw+1e-4)), softmax"),
    ], "Multi-input weighted sum `Σ w_j ⊙ x_j` of earlier tensors of one shape, given one by one or as a list (`sum(xs)`) (Darknet/YOLOv4, BiFPN)."),
];

/// Documentation of a built-in, for hover and completion.
#[derive(Clone, Debug)]
pub struct LayerDoc {
    pub name: &'static str,
    pub doc: &'static str,
    /// `(name, default, doc)` for each parameter.
    pub params: Vec<(&'static str, String, &'static str)>,
}

/// The documentation of every built-in layer and tensor function.
pub fn layer_docs() -> Vec<LayerDoc> {
    LAYERS.iter().map(sig_doc).collect()
}

/// The documentation of one signature.
pub(super) fn sig_doc(s: &Sig) -> LayerDoc {
    LayerDoc {
        name: s.name,
        doc: s.doc,
        params: s
            .params
            .iter()
            .map(|p| {
                let default = match p.default {
                    Dflt::Required => "required".to_string(),
                    Dflt::Derived => "derived".to_string(),
                    Dflt::Int(i) => i.to_string(),
                    Dflt::Float(x) => x.to_string(),
                    Dflt::Bool(b) => b.to_string(),
                    Dflt::Sym(s) => s.to_string(),
                };
                (p.name, default, p.doc)
            })
            .collect(),
    }
}

pub(super) fn find_layer(name: &str) -> Option<&'static Sig> {
    LAYERS.iter().find(|s| s.name == name)
}

/// The built-in layers whose output has the shape of their input.
const SHAPE_KEEPING: &[&str] = &[
    "bn",
    "groupnorm",
    "relu",
    "leaky_relu",
    "prelu",
    "sigmoid",
    "dropout",
    "drop_path",
    "se",
    "eca",
];

/// True for a built-in layer whose output has the shape of its input. After an error in
/// such a layer, elaboration goes on with its input, so the layers after it are checked.
pub(super) fn keeps_shape(name: &str) -> bool {
    SHAPE_KEEPING.contains(&name)
}

/// Names that other frameworks give the built-ins, in lower case.
const FOREIGN_NAMES: &[(&str, &str)] = &[
    ("conv2d", "conv"),
    ("convolution", "conv"),
    ("batchnorm", "bn"),
    ("batchnorm2d", "bn"),
    ("batch_norm", "bn"),
    ("batchnormalization", "bn"),
    ("group_norm", "groupnorm"),
    ("gn", "groupnorm"),
    ("leakyrelu", "leaky_relu"),
    ("max_pool", "maxpool"),
    ("maxpool2d", "maxpool"),
    ("max_pool2d", "maxpool"),
    ("avg_pool", "avgpool"),
    ("avgpool2d", "avgpool"),
    ("avg_pool2d", "avgpool"),
    ("adaptiveavgpool2d", "avgpool"),
    ("adaptive_avg_pool2d", "avgpool"),
    ("global_avg_pool", "global_avgpool"),
    ("fc", "linear"),
    ("dense", "linear"),
    ("droppath", "drop_path"),
    ("stochastic_depth", "drop_path"),
    ("squeeze_excite", "se"),
    ("ecamodule", "eca"),
    ("efficient_channel_attention", "eca"),
    ("cat", "concat"),
];

/// The built-in that a name from another framework, or a differently capitalised one,
/// stands for: `BatchNorm2d` → `bn`, `ReLU` → `relu`.
pub(super) fn builtin_for(name: &str) -> Option<&'static str> {
    let lower = name.to_ascii_lowercase();
    if let Some(sig) = find_layer(&lower) {
        return Some(sig.name);
    }
    FOREIGN_NAMES
        .iter()
        .find(|(foreign, _)| *foreign == lower)
        .map(|(_, ours)| *ours)
}

/// Every symbol the built-ins accept.
pub(super) fn builtin_symbols() -> HashSet<String> {
    let mut symbols: HashSet<String> = [INITS, NORMS, WEIGHTS]
        .iter()
        .flat_map(|list| list.iter().map(|s| s.to_string()))
        .collect();
    for s in super::shortcut::SHORTCUT_SYMBOLS
        .iter()
        .chain(super::recipe::RECIPE_SYMBOLS)
    {
        symbols.insert(s.to_string());
    }
    symbols
}

fn to_pair(v: [i64; 2]) -> [u64; 2] {
    [v[0].max(0) as u64, v[1].max(0) as u64]
}

impl Elab<'_> {
    /// An integer argument that must be at least `min`.
    pub(super) fn int_at_least(&mut self, b: &Bound, name: &str, min: i64) -> Option<u64> {
        let value = b.int(name)?;
        if value < min {
            self.report(
                Diagnostic::error(
                    Code::E0210,
                    format!(
                        "`{name}` of `{}` must be at least {min}, found {value}",
                        b.sig.name
                    ),
                )
                .at(b.span(name), format!("must be ≥ {min}")),
            );
            return None;
        }
        Some(value as u64)
    }

    /// A pair argument whose components must be at least `min`.
    pub(super) fn pair_at_least(&mut self, b: &Bound, name: &str, min: i64) -> Option<[u64; 2]> {
        let value = b.pair(name)?;
        if value.iter().any(|&v| v < min) {
            self.report(
                Diagnostic::error(
                    Code::E0210,
                    format!(
                        "`{name}` of `{}` must be at least {min}, found {}",
                        b.sig.name,
                        if value[0] == value[1] {
                            value[0].to_string()
                        } else {
                            format!("[{}, {}]", value[0], value[1])
                        }
                    ),
                )
                .at(b.span(name), format!("must be ≥ {min}")),
            );
            return None;
        }
        Some(to_pair(value))
    }

    /// A probability argument in [0, 1).
    pub(super) fn probability(&mut self, b: &Bound, name: &str) -> Option<f64> {
        let p = b.float(name)?;
        if !(0.0..1.0).contains(&p) {
            self.report(
                Diagnostic::error(
                    Code::E0210,
                    format!("`{name}` of `{}` must be in [0, 1), found {p}", b.sig.name),
                )
                .at(b.span(name), "not a probability below 1"),
            );
            return None;
        }
        Some(p)
    }

    /// The window of `maxpool` and `avgpool`: the kernel `k`, the stride (the kernel's
    /// when not given) and the padding, checked in that order.
    fn pool_window(&mut self, b: &Bound) -> Option<([u64; 2], [u64; 2], [u64; 2])> {
        let kernel = self.pair_at_least(b, "k", 1)?;
        let stride = if b.has("stride") {
            self.pair_at_least(b, "stride", 1)?
        } else {
            kernel
        };
        Some((kernel, stride, self.pair_at_least(b, "padding", 0)?))
    }

    /// Applies a built-in layer to `input`.
    pub(super) fn apply_layer(
        &mut self,
        b: &Bound,
        input: Value,
        span: Span,
        alias: Option<&str>,
    ) -> Value {
        let Some(op) = self.layer_op(b, &input) else {
            return match b.sig.name {
                "se" => self.squeeze_excite(b, input, span, alias),
                "eca" => self.channel_attention(b, input, span, alias),
                "global_avgpool" => self.add_node(Op::GlobalAvgPool, &[input], span, alias),
                _ => Value::Poison,
            };
        };
        self.add_node(op, &[input], span, alias)
    }

    /// The op of a single-node layer; `None` for composite layers or after an error.
    fn layer_op(&mut self, b: &Bound, input: &Value) -> Option<Op> {
        Some(match b.sig.name {
            "conv" => {
                let out = self.int_at_least(b, "out", 1);
                let k = self.pair_at_least(b, "k", 1);
                let stride = self.pair_at_least(b, "stride", 1);
                let dilation = self.pair_at_least(b, "dilation", 1);
                let groups = self.int_at_least(b, "groups", 1);
                let (out, k, stride, dilation, groups) = (out?, k?, stride?, dilation?, groups?);
                let padding = if b.has("padding") {
                    self.pair_at_least(b, "padding", 0)?
                } else {
                    [
                        dilation[0].saturating_mul(k[0] - 1) / 2,
                        dilation[1].saturating_mul(k[1] - 1) / 2,
                    ]
                };
                let init = match b.sym("init") {
                    Some("msra") => ConvInit::MsraFanOut,
                    Some("msra_fan_in") => ConvInit::MsraFanIn,
                    _ => ConvInit::Default,
                };
                Op::Conv {
                    out_channels: out,
                    kernel: k,
                    stride,
                    padding,
                    dilation,
                    groups,
                    bias: b.bool("bias")?,
                    init,
                }
            }
            "bn" => Op::BatchNorm {
                eps: b.float("eps")?,
                momentum: b.float("momentum")?,
                affine: b.bool("affine")?,
                zero_init: b.bool("zero_init")?,
            },
            "groupnorm" => Op::GroupNorm {
                groups: self.int_at_least(b, "groups", 1)?,
                eps: b.float("eps")?,
            },
            "relu" => Op::Relu,
            "leaky_relu" => Op::LeakyRelu {
                slope: b.float("slope")?,
            },
            "prelu" => Op::Prelu {
                per_channel: b.bool("per_channel")?,
                init: b.float("init")?,
            },
            "sigmoid" => Op::Sigmoid,
            "maxpool" => {
                let (kernel, stride, padding) = self.pool_window(b)?;
                Op::MaxPool {
                    kernel,
                    stride,
                    padding,
                    ceil_mode: b.bool("ceil_mode")?,
                }
            }
            "avgpool" if !b.has("k") => Op::GlobalAvgPool,
            "avgpool" => {
                let (kernel, stride, padding) = self.pool_window(b)?;
                Op::AvgPool {
                    kernel,
                    stride,
                    padding,
                    count_include_pad: b.bool("count_include_pad")?,
                    ceil_mode: b.bool("ceil_mode")?,
                }
            }
            "linear" => Op::Linear {
                out_features: self.int_at_least(b, "out", 1)?,
                bias: b.bool("bias")?,
            },
            "flatten" => Op::Flatten,
            "dropout" => Op::Dropout {
                p: self.probability(b, "p")?,
            },
            "drop_path" => Op::DropPath {
                p: self.probability(b, "p")?,
            },
            "upsample" => Op::Upsample {
                scale: self.int_at_least(b, "scale", 1)?,
            },
            "chunk" => {
                let n = self.int_at_least(b, "n", 1)?;
                let index = self.int_at_least(b, "index", 0)?;
                let channels = self.shape_of(input)?.c;
                if channels % n != 0 || index >= n {
                    let why = if index >= n {
                        format!(
                            "chunk {index} does not exist: there are {n} chunks, numbered from 0"
                        )
                    } else {
                        format!("{channels} channels cannot be cut into {n} equal chunks")
                    };
                    self.report(Diagnostic::error(Code::E0305, why.clone()).at(b.call_span, why));
                    return None;
                }
                let size = channels / n;
                Op::Slice {
                    start: index * size,
                    end: (index + 1) * size,
                }
            }
            _ => return None,
        })
    }

    /// Squeeze-and-excitation, expanded into primitives named `fc1`/`fc2` as timm does.
    fn squeeze_excite(
        &mut self,
        b: &Bound,
        input: Value,
        span: Span,
        alias: Option<&str>,
    ) -> Value {
        let Some(shape) = self.shape_of(&input) else {
            return Value::Poison;
        };
        let rd = if b.has("rd") {
            self.int_at_least(b, "rd", 1)
        } else {
            match (
                self.int_at_least(b, "reduction", 1),
                self.int_at_least(b, "divisor", 1),
            ) {
                (Some(r), Some(d)) => Some(make_divisible(shape.c as f64 / r as f64, d)),
                _ => None,
            }
        };
        let Some(rd) = rd else { return Value::Poison };
        let fc = |out| Op::Conv {
            out_channels: out,
            kernel: [1, 1],
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
            groups: 1,
            bias: true,
            init: ConvInit::Default,
        };
        self.channel_gate(alias.unwrap_or("se"), input, span, |elab, pooled| {
            let reduced = elab.add_node(fc(rd), &[pooled], span, Some("fc1"));
            let act = elab.add_node(Op::Relu, &[reduced], span, Some("act"));
            elab.add_node(fc(shape.c), &[act], span, Some("fc2"))
        })
    }

    /// `input · sigmoid(logits(pool(input)))` under the name `name`: the channel gate of
    /// squeeze-and-excitation and ECA, `logits` mapping the pooled `[C, 1, 1]` to `[C, 1, 1]`.
    fn channel_gate(
        &mut self,
        name: &str,
        input: Value,
        span: Span,
        logits: impl FnOnce(&mut Self, Value) -> Value,
    ) -> Value {
        self.names.push_numbered(name);
        let pooled = self.add_node(
            Op::GlobalAvgPool,
            std::slice::from_ref(&input),
            span,
            Some("pool"),
        );
        let logits = logits(self, pooled);
        let gate = self.add_node(Op::Sigmoid, &[logits], span, Some("gate"));
        let out = self.add_node(Op::Mul, &[input, gate], span, Some("scale"));
        self.names.pop();
        out
    }

    /// Efficient channel attention, expanded into primitives named as timm's `EcaModule`
    /// names them (the filter is `conv`, so its weight is `….conv.weight`).
    fn channel_attention(
        &mut self,
        b: &Bound,
        input: Value,
        span: Span,
        alias: Option<&str>,
    ) -> Value {
        let Some(shape) = self.shape_of(&input) else {
            return Value::Poison;
        };
        let kernel = if b.has("k") {
            let Some(k) = self.int_at_least(b, "k", 1) else {
                return Value::Poison;
            };
            if k % 2 == 0 {
                self.report(
                    Diagnostic::error(
                        Code::E0210,
                        format!("`k` of `eca` must be odd, found {k}"),
                    )
                    .at(b.span("k"), "an even kernel")
                    .hint(format!(
                        "the filter is padded by (k − 1)/2 on both sides, which keeps the channel count only for odd k: use `k: {}` or `k: {}`",
                        k - 1,
                        k + 1
                    )),
                );
                return Value::Poison;
            }
            k
        } else {
            adaptive_eca_kernel(shape.c)
        };
        self.channel_gate(alias.unwrap_or("eca"), input, span, |elab, pooled| {
            elab.add_node(Op::ChannelConv { kernel }, &[pooled], span, Some("conv"))
        })
    }

    /// `add`, `mul`, `concat` and `sum` over explicit tensors.
    pub(super) fn apply_tensor_fn(&mut self, b: &Bound, span: Span, alias: Option<&str>) -> Value {
        let tensors: Vec<Value> = b.tensors.iter().map(|t| t.value.clone()).collect();
        if tensors.len() < 2 || (b.sig.name == "mul" && tensors.len() != 2) {
            self.report(
                Diagnostic::error(
                    Code::E0204,
                    format!(
                        "`{}` needs {} tensors, found {}",
                        b.sig.name,
                        if b.sig.name == "mul" {
                            "exactly 2"
                        } else {
                            "at least 2"
                        },
                        tensors.len()
                    ),
                )
                .at(
                    span,
                    "give the tensors as positional arguments or as one list",
                )
                .hint(format!(
                    "e.g. `{}(a, b)` with `let a = …` naming earlier values",
                    b.sig.name
                )),
            );
            return Value::Poison;
        }
        if let Some(bad) = self.mismatched_operand(b) {
            return bad;
        }
        if b.sig.name == "sum"
            && b.sym("weights") == Some("none")
            && b.has("norm")
            && b.sym("norm") != Some("none")
        {
            let norm = b.sym("norm").unwrap_or_default();
            self.report(
                Diagnostic::error(
                    Code::E0203,
                    format!("`norm: {norm}` has no weights to normalise: `weights: none` is a plain sum"),
                )
                .at(b.span("norm"), "normalises nothing")
                .also(b.span("weights"), "no weights")
                .hint("drop `norm`, or learn weights with `weights: per_input` or `weights: per_channel`"),
            );
        }
        let op = match b.sig.name {
            "add" => Op::Add,
            "mul" => Op::Mul,
            "concat" => Op::Concat,
            _ => match b.sym("weights") {
                Some("none") => Op::Add,
                weights => Op::WeightedSum {
                    weights: if weights == Some("per_channel") {
                        SumWeights::PerChannel
                    } else {
                        SumWeights::PerInput
                    },
                    norm: match b.sym("norm") {
                        Some("relu") => SumNorm::Relu,
                        Some("softmax") => SumNorm::Softmax,
                        _ => SumNorm::None,
                    },
                },
            },
        };
        self.add_node(op, &tensors, span, alias)
    }

    /// Reports an operand whose shape differs from the first one, pointing at both.
    fn mismatched_operand(&mut self, b: &Bound) -> Option<Value> {
        let shapes: Vec<Option<_>> = b.tensors.iter().map(|t| self.shape_of(&t.value)).collect();
        let first = shapes.first().copied().flatten()?;
        for (i, shape) in shapes.iter().enumerate().skip(1) {
            let Some(shape) = shape else { continue };
            let bad = match b.sig.name {
                "concat" => shape.h != first.h || shape.w != first.w,
                "mul" => *shape != first && !(shape.c == first.c && shape.h == 1 && shape.w == 1),
                _ => *shape != first,
            };
            if bad {
                let what = if b.sig.name == "concat" {
                    "concatenated tensors must have the same height and width"
                } else {
                    "the operands must have the same shape"
                };
                self.report(
                    Diagnostic::error(Code::E0302, format!("`{}`: {what}", b.sig.name))
                        .at(b.tensors[i].span, operand_label(&b.tensors[i], shape))
                        .also(b.tensors[0].span, operand_label(&b.tensors[0], first))
                        .hint("resize one operand first, e.g. with `conv(C, k: 1, stride: s)`, `upsample(2)` or `maxpool`"),
                );
                return Some(Value::Poison);
            }
        }
        None
    }
}

/// "this is 64×8×8", or "element 1 is 64×8×8" for a tensor taken from a list.
fn operand_label(operand: &TensorArg, shape: impl std::fmt::Display) -> String {
    match operand.element {
        Some(i) => format!("element {i} is {shape}"),
        None => format!("this is {shape}"),
    }
}

/// timm's adaptive ECA kernel size for `channels` channels (`gamma = 2`, `beta = 1`):
/// `t = floor(|log2(C) + 1| / 2)`, the next odd number from `t`, at least 3.
pub(super) fn adaptive_eca_kernel(channels: u64) -> u64 {
    let t = (((channels as f64).log2() + 1.0).abs() / 2.0).floor() as u64;
    let odd = if t % 2 == 1 { t } else { t + 1 };
    odd.max(3)
}

/// timm's `make_divisible(v, divisor)` with `round_limit = 0`.
pub(super) fn make_divisible(v: f64, divisor: u64) -> u64 {
    let d = divisor as f64;
    (((v + d / 2.0) / d).floor() * d).max(d) as u64
}
