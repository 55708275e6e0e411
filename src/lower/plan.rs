//! The execution plan: the IR's nodes in topological order, each with its kernel, the
//! steps it reads, the layer that holds its parameters, and how many later steps read
//! its output (so the executor can free each tensor after its last use).

use super::layers::LayerSpec;
use crate::ir::{Graph, NodeId, Op, Shape, SumNorm, SumWeights};
use crate::source::Span;
use resc_kernels::Tile;
use std::collections::HashMap;

/// What one step computes. Sizes are `usize`; shapes come from the checker.
#[derive(Clone, Debug, PartialEq)]
pub enum Kernel {
    Input,
    Conv {
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
        groups: usize,
        /// A ReLU fused into the step (inference folding).
        relu: bool,
        /// Run by this kernel of `resc_kernels` (kernel selection, the last inference
        /// pass, on the CPU backend), not by Burn's convolution. Kernel selection may
        /// also give the step a second input: a residual added before the ReLU.
        cpu: Option<CpuKernel>,
    },
    BatchNorm {
        eps: f64,
        momentum: f64,
        /// A ReLU fused into the step (the training pass `fuse-relus`): one op with
        /// its own backward where the backend has the training kernels.
        relu: bool,
    },
    GroupNorm {
        groups: usize,
        eps: f64,
    },
    Relu,
    LeakyRelu {
        slope: f64,
    },
    Prelu,
    Sigmoid,
    MaxPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        ceil_mode: bool,
    },
    AvgPool {
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        count_include_pad: bool,
        ceil_mode: bool,
    },
    GlobalAvgPool,
    /// ECA's 1-D convolution across the channels (its filter in the step's layer).
    ChannelConv,
    Linear,
    Flatten,
    Dropout {
        p: f64,
    },
    DropPath {
        p: f64,
    },
    Add,
    /// `max(a + b, 0)`: a two-input addition with the ReLU after it fused in (the
    /// training pass `fuse-relus`), one op with its own backward where the backend has
    /// the training kernels.
    AddRelu,
    Mul,
    Concat,
    Slice {
        start: usize,
        end: usize,
    },
    Upsample {
        scale: usize,
    },
    ZeroPad {
        stride: usize,
        pad_before: usize,
        pad_after: usize,
    },
    /// λ·x; `lr` and `bounded` are for the optimiser (own learning rate, projection
    /// into (−1, 1) after each step).
    Scale {
        lr: f64,
        bounded: bool,
    },
    ChannelScale,
    WeightedSum {
        per_channel: bool,
        norm: SumNorm,
    },
    Output,
}

/// The CPU kernels that kernel selection picks for convolutions.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CpuKernel {
    /// Winograd F(m×m, 3×3) with this output tile.
    Winograd(Tile),
    /// Blocked im2col and matrix products, the epilogue fused.
    Gemm,
}

/// One step of the plan.
#[derive(Clone, Debug)]
pub struct Step {
    pub kernel: Kernel,
    /// Indices of the steps whose outputs this step reads, by port.
    pub inputs: Vec<usize>,
    /// The layer holding this step's parameters, if any.
    pub layer: Option<usize>,
    /// The output shape of one sample `[C, H, W]`.
    pub shape: [usize; 3],
}

/// A parameterised layer's source: its IR node name, span and how to build it.
#[derive(Clone, Debug)]
pub struct LayerInfo {
    pub name: String,
    pub span: Span,
    pub spec: LayerSpec,
}

/// The whole plan.
#[derive(Clone, Debug)]
pub struct Plan {
    pub steps: Vec<Step>,
    /// How many times each step's output is read by later steps (a step reading the
    /// same value twice counts twice).
    pub uses: Vec<usize>,
    /// The step holding the network output.
    pub output: usize,
    pub input_shape: [usize; 3],
    pub layers: Vec<LayerInfo>,
}

fn dims(s: Shape) -> [usize; 3] {
    [s.c as usize, s.h as usize, s.w as usize]
}

fn pair(v: [u64; 2]) -> [usize; 2] {
    [v[0] as usize, v[1] as usize]
}

impl Plan {
    /// Builds the plan of a checked graph. `shapes` must hold every node's shape (the
    /// checker guarantees it for a graph that passed checking). Dead nodes (whose value
    /// never reaches the output) get no step and no layer, as the `dead-nodes` pass
    /// would remove them and the cost report does not count them; the live layers keep
    /// their names.
    pub fn new(graph: &Graph, shapes: &HashMap<NodeId, Shape>) -> Plan {
        let mut index: HashMap<NodeId, usize> = HashMap::new();
        let mut steps = Vec::new();
        let mut layers = Vec::new();
        let mut output = 0;
        let mut input_shape = [0; 3];
        let live = graph.reaching_output();
        for id in graph.nodes().filter(|id| live.contains(id)) {
            let node = graph.node(id);
            let inputs: Vec<usize> = graph.inputs(id).iter().map(|i| index[i]).collect();
            let in_shapes: Vec<[usize; 3]> =
                inputs.iter().map(|&i| steps_shape(&steps, i)).collect();
            let shape = dims(shapes[&id]);
            let (kernel, spec) = lower_op(&node.op, &in_shapes, shape);
            let layer = spec.map(|spec| {
                layers.push(LayerInfo {
                    name: node.name.clone(),
                    span: node.span,
                    spec,
                });
                layers.len() - 1
            });
            match kernel {
                Kernel::Output => output = steps.len(),
                Kernel::Input => input_shape = shape,
                _ => {}
            }
            index.insert(id, steps.len());
            steps.push(Step {
                kernel,
                inputs,
                layer,
                shape,
            });
        }
        let mut uses = vec![0; steps.len()];
        for step in &steps {
            for &i in &step.inputs {
                uses[i] += 1;
            }
        }
        Plan {
            steps,
            uses,
            output,
            input_shape,
            layers,
        }
    }
}

fn steps_shape(steps: &[Step], i: usize) -> [usize; 3] {
    steps[i].shape
}

/// The kernel of an op and, when it has parameters, how to build its layer.
fn lower_op(op: &Op, inputs: &[[usize; 3]], out: [usize; 3]) -> (Kernel, Option<LayerSpec>) {
    let x = inputs.first().copied().unwrap_or(out);
    match *op {
        Op::Input { .. } => (Kernel::Input, None),
        Op::Conv {
            out_channels,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            bias,
            init,
        } => (
            Kernel::Conv {
                stride: pair(stride),
                padding: pair(padding),
                dilation: pair(dilation),
                groups: groups as usize,
                relu: false,
                cpu: None,
            },
            Some(LayerSpec::Conv {
                in_channels: x[0],
                out_channels: out_channels as usize,
                kernel: pair(kernel),
                groups: groups as usize,
                bias,
                init,
            }),
        ),
        Op::BatchNorm {
            eps,
            momentum,
            affine,
            zero_init,
        } => (
            Kernel::BatchNorm {
                eps,
                momentum,
                relu: false,
            },
            Some(LayerSpec::BatchNorm {
                channels: x[0],
                affine,
                zero_init,
            }),
        ),
        Op::GroupNorm { groups, eps } => (
            Kernel::GroupNorm {
                groups: groups as usize,
                eps,
            },
            Some(LayerSpec::GroupNorm { channels: x[0] }),
        ),
        Op::Relu => (Kernel::Relu, None),
        Op::LeakyRelu { slope } => (Kernel::LeakyRelu { slope }, None),
        Op::Prelu { per_channel, init } => (
            Kernel::Prelu,
            Some(LayerSpec::Vector {
                len: if per_channel { x[0] } else { 1 },
                value: init,
            }),
        ),
        Op::Sigmoid => (Kernel::Sigmoid, None),
        Op::MaxPool {
            kernel,
            stride,
            padding,
            ceil_mode,
        } => (
            Kernel::MaxPool {
                kernel: pair(kernel),
                stride: pair(stride),
                padding: pair(padding),
                ceil_mode,
            },
            None,
        ),
        Op::AvgPool {
            kernel,
            stride,
            padding,
            count_include_pad,
            ceil_mode,
        } => (
            Kernel::AvgPool {
                kernel: pair(kernel),
                stride: pair(stride),
                padding: pair(padding),
                count_include_pad,
                ceil_mode,
            },
            None,
        ),
        Op::GlobalAvgPool => (Kernel::GlobalAvgPool, None),
        Op::ChannelConv { kernel } => (
            Kernel::ChannelConv,
            Some(LayerSpec::ChannelConv {
                kernel: kernel as usize,
            }),
        ),
        Op::Linear { out_features, bias } => (
            Kernel::Linear,
            Some(LayerSpec::Linear {
                in_features: x[0] * x[1] * x[2],
                out_features: out_features as usize,
                bias,
            }),
        ),
        Op::Flatten => (Kernel::Flatten, None),
        Op::Dropout { p } => (Kernel::Dropout { p }, None),
        Op::DropPath { p } => (Kernel::DropPath { p }, None),
        Op::Add => (Kernel::Add, None),
        Op::Mul => (Kernel::Mul, None),
        Op::Concat => (Kernel::Concat, None),
        Op::Slice { start, end } => (
            Kernel::Slice {
                start: start as usize,
                end: end as usize,
            },
            None,
        ),
        Op::Upsample { scale } => (
            Kernel::Upsample {
                scale: scale as usize,
            },
            None,
        ),
        Op::ZeroPad {
            stride,
            pad_before,
            pad_after,
        } => (
            Kernel::ZeroPad {
                stride: stride as usize,
                pad_before: pad_before as usize,
                pad_after: pad_after as usize,
            },
            None,
        ),
        Op::Scale { init, lr, bounded } => (
            Kernel::Scale { lr, bounded },
            Some(LayerSpec::Vector {
                len: 1,
                value: init,
            }),
        ),
        Op::ChannelScale { init } => (
            Kernel::ChannelScale,
            Some(LayerSpec::Vector {
                len: x[0],
                value: init,
            }),
        ),
        Op::WeightedSum { weights, norm } => {
            let per_channel = weights == SumWeights::PerChannel;
            let spec = if per_channel {
                LayerSpec::Matrix {
                    rows: inputs.len(),
                    cols: x[0],
                    value: 1.0,
                }
            } else {
                LayerSpec::Vector {
                    len: inputs.len(),
                    value: 1.0,
                }
            };
            (Kernel::WeightedSum { per_channel, norm }, Some(spec))
        }
        Op::Output => (Kernel::Output, None),
    }
}

impl std::fmt::Display for Plan {
    /// One line per step: `%i = kernel(%inputs) [C, H, W]  layer`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for (i, step) in self.steps.iter().enumerate() {
            let inputs: Vec<String> = step.inputs.iter().map(|j| format!("%{j}")).collect();
            let kernel = match &step.kernel {
                Kernel::Conv {
                    stride,
                    padding,
                    dilation,
                    groups,
                    relu,
                    cpu,
                } => {
                    let mut k = format!("conv/{}", stride[0]);
                    if padding[0] > 0 {
                        k += &format!(" pad {}", padding[0]);
                    }
                    if dilation[0] > 1 {
                        k += &format!(" dilation {}", dilation[0]);
                    }
                    if *groups > 1 {
                        k += &format!(" groups {groups}");
                    }
                    match cpu {
                        Some(CpuKernel::Winograd(Tile::F2x2)) => k += " winograd F(2,3)",
                        Some(CpuKernel::Winograd(Tile::F4x4)) => k += " winograd F(4,3)",
                        Some(CpuKernel::Gemm) => k += " gemm",
                        None => {}
                    }
                    if step.inputs.len() == 2 {
                        // The residual's addition runs in the conv (kernel selection).
                        k += " +add";
                    }
                    if *relu {
                        k += " +relu";
                    }
                    k
                }
                Kernel::BatchNorm {
                    eps,
                    momentum,
                    relu,
                } => {
                    let k = format!("BatchNorm {{ eps: {eps:?}, momentum: {momentum:?} }}");
                    if *relu {
                        k + " +relu"
                    } else {
                        k
                    }
                }
                // `ceil_mode` only where set, so that floor-mode plans read as before.
                Kernel::MaxPool {
                    kernel,
                    stride,
                    padding,
                    ceil_mode,
                } => format!(
                    "MaxPool {{ kernel: {kernel:?}, stride: {stride:?}, padding: {padding:?}{} }}",
                    if *ceil_mode { ", ceil_mode: true" } else { "" }
                ),
                Kernel::AvgPool {
                    kernel,
                    stride,
                    padding,
                    count_include_pad,
                    ceil_mode,
                } => format!(
                    "AvgPool {{ kernel: {kernel:?}, stride: {stride:?}, padding: {padding:?}, \
                     count_include_pad: {count_include_pad}{} }}",
                    if *ceil_mode { ", ceil_mode: true" } else { "" }
                ),
                other => {
                    let text = format!("{other:?}");
                    text.split_whitespace().collect::<Vec<_>>().join(" ")
                }
            };
            write!(f, "%{i} = {kernel}({}) {:?}", inputs.join(", "), step.shape)?;
            if let Some(l) = step.layer {
                write!(f, "  {}", self.layers[l].name)?;
            }
            writeln!(f)?;
        }
        writeln!(f, "output %{}", self.output)
    }
}
