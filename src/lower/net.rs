//! [`Net`]: the Burn module of a lowered network and its executor.
//!
//! The parameters sit in a flat `Vec` of [`Layer`]s; the [`Plan`] (skipped by Burn's
//! module machinery) lists the steps in topological order. The executor runs the steps
//! in a loop — no recursion, whatever the depth — and drops every intermediate tensor
//! right after its last reader, moving it into that reader so that backends can reuse
//! its buffer.

use super::host::HostStep;
use super::layers::Layer;
use super::ops;
use super::plan::{Kernel, Plan, Step};
use burn::module::{Module, ModuleVisitor, Param, ParamId, RunningState};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{Tensor, TensorData};
use std::sync::Arc;

/// A lowered network.
#[derive(Module, Debug)]
pub struct Net<B: Backend> {
    /// One entry per IR node with parameters, in topological order.
    pub layers: Vec<Layer<B>>,
    #[module(skip)]
    plan: Arc<Plan>,
    /// Per step: the CPU kernel chosen for it by kernel selection, if any (see `host`).
    #[module(skip)]
    host: Arc<Vec<Option<HostStep>>>,
}

/// The learned scalar λ of a weighted residual, for optimisers that treat it apart.
#[derive(Clone, Debug)]
pub struct ScaleParam {
    /// The IR node's name (`layer1.0.lambda1`).
    pub name: String,
    pub id: ParamId,
    /// λ's own learning rate.
    pub lr: f64,
    /// Whether λ is projected into (−1, 1) after every step.
    pub bounded: bool,
}

impl<B: Backend> Net<B> {
    /// Creates the network's layers with their initial values, drawn from `seed`: layer
    /// `i` from its own stream `(seed, i)`, on the host, so that a seed gives the same
    /// weights on every backend.
    pub fn new(plan: Arc<Plan>, seed: u64, device: &B::Device) -> Net<B> {
        let layers = plan
            .layers
            .iter()
            .enumerate()
            .map(|(i, l)| {
                let mut rng = crate::data::rng::Rng::stream(&[seed, i as u64]);
                l.spec.build(&mut rng, device)
            })
            .collect();
        Net::from_parts(layers, plan)
    }

    /// A net from its layers and the plan that uses them (layer `i` of the plan is
    /// `layers[i]`).
    pub fn from_parts(layers: Vec<Layer<B>>, plan: Arc<Plan>) -> Net<B> {
        debug_assert_eq!(layers.len(), plan.layers.len());
        Net {
            layers,
            plan,
            host: Arc::new(Vec::new()),
        }
    }

    /// The net with CPU kernels for some steps (indexed by step).
    pub(crate) fn with_host(mut self, host: Vec<Option<HostStep>>) -> Net<B> {
        self.host = Arc::new(host);
        self
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }

    /// Logits: the network output flattened per sample, `[N, C·H·W]` (`[N, classes]`
    /// for a classifier).
    pub fn forward(&self, x: Tensor<B, 4>) -> Tensor<B, 2> {
        let y = self.forward_map(x);
        let [n, c, h, w] = y.dims();
        y.reshape([n, c * h * w])
    }

    /// The network output as a batch of maps `[N, C, H, W]`.
    pub fn forward_map(&self, x: Tensor<B, 4>) -> Tensor<B, 4> {
        let plan = &*self.plan;
        if B::ad_enabled(&x.device()) {
            self.join_parameter_graphs();
        }
        let mut values: Vec<Option<Tensor<B, 4>>> = Vec::with_capacity(plan.steps.len());
        let mut remaining = plan.uses.clone();
        let mut input = Some(x);
        for (i, step) in plan.steps.iter().enumerate() {
            let mut args = Vec::with_capacity(step.inputs.len());
            for &j in &step.inputs {
                remaining[j] -= 1;
                let value = if remaining[j] == 0 {
                    values[j].take()
                } else {
                    values[j].clone()
                };
                args.push(value.expect("a step reads only earlier, still live steps"));
            }
            let out = self.run(i, step, args, &mut input);
            let keep = remaining[i] > 0 || i == plan.output;
            values.push(keep.then_some(out));
        }
        values[plan.output]
            .take()
            .expect("the plan has an output step")
    }

    /// Puts every parameter into one autodiff graph before the forward pass.
    ///
    /// Burn's autodiff (0.21) gives each parameter its own graph and merges graphs when
    /// an op reads two of them; a merge keeps an arbitrary one of the two and moves the
    /// other's nodes into it, so merging each parameter into the growing graph of the
    /// forward pass costs O(graph size) half the time: O(n²) for n layers (18 s of a
    /// 23 s training step of the 1192-layer net). One op reading a scalar of every
    /// parameter merges them all while the graphs are still single nodes.
    fn join_parameter_graphs(&self) {
        struct Gather<B: Backend>(Vec<Tensor<B, 1>>);
        impl<B: Backend> ModuleVisitor<B> for Gather<B> {
            fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
                let t = param.val();
                if t.is_require_grad() {
                    let n = t.shape().num_elements();
                    self.0.push(t.reshape([n]).narrow(0, 0, 1));
                }
            }
        }
        let mut gather = Gather(Vec::new());
        self.visit(&mut gather);
        if gather.0.len() > 1 {
            drop(Tensor::cat(gather.0, 0));
        }
    }

    /// Runs one step on its arguments (ordered by port).
    fn run(
        &self,
        index: usize,
        step: &Step,
        mut args: Vec<Tensor<B, 4>>,
        input: &mut Option<Tensor<B, 4>>,
    ) -> Tensor<B, 4> {
        let layer = step.layer.map(|i| &self.layers[i]);
        let mut one = || args.pop().expect("the verifier checks arities");
        match (&step.kernel, layer) {
            (Kernel::Input, _) => input.take().expect("one input step"),
            (Kernel::Output, _) => one(),
            (
                &Kernel::Conv {
                    stride,
                    padding,
                    dilation,
                    groups,
                    relu,
                    ..
                },
                Some(Layer::Conv(c)),
            ) => {
                // A second input is a residual fused into the conv (kernel selection).
                let residual = (step.inputs.len() == 2).then(&mut one);
                let x = one();
                if let Some(HostStep::Conv(host)) = self.host.get(index).and_then(Option::as_ref) {
                    return super::host::conv(host, x, residual, step.shape, relu);
                }
                let y = ops::conv(
                    x,
                    &c.weight,
                    c.bias.as_ref(),
                    stride,
                    padding,
                    dilation,
                    groups,
                );
                let y = match residual {
                    Some(r) => y + r,
                    None => y,
                };
                if relu {
                    burn::tensor::activation::relu(y)
                } else {
                    y
                }
            }
            (
                &Kernel::BatchNorm {
                    eps,
                    momentum,
                    relu,
                },
                Some(Layer::BatchNorm(bn)),
            ) => ops::batch_norm_relu(one(), bn, eps, momentum, relu),
            (&Kernel::GroupNorm { groups, eps }, Some(Layer::GroupNorm(gn))) => {
                ops::group_norm(one(), gn, groups, eps)
            }
            (Kernel::Relu, _) => burn::tensor::activation::relu(one()),
            (&Kernel::LeakyRelu { slope }, _) => burn::tensor::activation::leaky_relu(one(), slope),
            (Kernel::Prelu, Some(Layer::Vector(p))) => ops::prelu(one(), &p.weight),
            (Kernel::Sigmoid, _) => burn::tensor::activation::sigmoid(one()),
            (
                &Kernel::MaxPool {
                    kernel,
                    stride,
                    padding,
                    ceil_mode,
                },
                _,
            ) => match self.host.get(index).and_then(Option::as_ref) {
                Some(HostStep::MaxPool(pool)) => super::host::max_pool(pool, one(), step.shape),
                _ => ops::max_pool(one(), kernel, stride, padding, ceil_mode),
            },
            (
                &Kernel::AvgPool {
                    kernel,
                    stride,
                    padding,
                    count_include_pad,
                    ceil_mode,
                },
                _,
            ) => ops::avg_pool(one(), kernel, stride, padding, count_include_pad, ceil_mode),
            (Kernel::GlobalAvgPool, _) => ops::global_avg_pool(one()),
            (Kernel::ChannelConv, Some(Layer::ChannelConv(f))) => {
                ops::channel_conv(one(), &f.weight)
            }
            (Kernel::Linear, Some(Layer::Linear(l))) => ops::linear(one(), l),
            (Kernel::Flatten, _) => ops::flatten(one()),
            (&Kernel::Dropout { p }, _) => ops::dropout(one(), p),
            (&Kernel::DropPath { p }, _) => ops::drop_path(one(), p),
            (Kernel::Add, _) => ops::add(args),
            (Kernel::AddRelu, _) => {
                let b = one();
                let a = args.pop().expect("a fused addition has two inputs");
                ops::add_relu(a, b)
            }
            (Kernel::Mul, _) => {
                let b = one();
                let a = args.pop().expect("mul has two inputs");
                ops::mul(a, b)
            }
            (Kernel::Concat, _) => ops::concat(args),
            (&Kernel::Slice { start, end }, _) => ops::slice(one(), start, end),
            (&Kernel::Upsample { scale }, _) => ops::upsample(one(), scale),
            (
                &Kernel::ZeroPad {
                    stride,
                    pad_before,
                    pad_after,
                },
                _,
            ) => ops::zero_pad(one(), stride, pad_before, pad_after),
            (Kernel::Scale { .. }, Some(Layer::Vector(l))) => ops::scale(one(), &l.weight),
            (Kernel::ChannelScale, Some(Layer::Vector(a))) => ops::channel_scale(one(), &a.weight),
            (&Kernel::WeightedSum { norm, .. }, Some(Layer::Vector(w))) => {
                let k = w.weight.dims()[0];
                ops::weighted_sum(args, w.weight.val().reshape([k, 1]), norm)
            }
            (&Kernel::WeightedSum { norm, .. }, Some(Layer::Matrix(w))) => {
                ops::weighted_sum(args, w.weight.val(), norm)
            }
            (kernel, _) => unreachable!("the plan pairs {kernel:?} with the wrong layer kind"),
        }
    }

    /// The source names of every parameter and buffer, `{node}.{tensor}`
    /// (`layer1.0.residual.conv1.weight`, `…bn1.running_mean`), in layer order.
    pub fn param_names(&self) -> Vec<String> {
        self.plan
            .layers
            .iter()
            .flat_map(|l| {
                l.spec
                    .tensor_names()
                    .into_iter()
                    .map(move |t| format!("{}.{t}", l.name))
            })
            .collect()
    }

    /// The index of the layer built from the IR node `node`.
    pub fn layer_index(&self, node: &str) -> Option<usize> {
        self.plan.layers.iter().position(|l| l.name == node)
    }

    /// Burn's module path (`layers.3.Conv.weight`) of a source name
    /// (`layer1.0.residual.conv1.weight`).
    pub fn module_path(&self, name: &str) -> Option<String> {
        let (node, tensor) = name.rsplit_once('.')?;
        let i = self.layer_index(node)?;
        let info = &self.plan.layers[i];
        info.spec
            .tensor_names()
            .contains(&tensor)
            .then(|| format!("layers.{i}.{}.{tensor}", self.layers[i].variant()))
    }

    /// The λ parameters of the weighted residuals, for their own optimiser.
    pub fn scale_params(&self) -> Vec<ScaleParam> {
        self.plan
            .steps
            .iter()
            .filter_map(|step| match (&step.kernel, step.layer) {
                (&Kernel::Scale { lr, bounded }, Some(i)) => match &self.layers[i] {
                    Layer::Vector(w) => Some(ScaleParam {
                        name: self.plan.layers[i].name.clone(),
                        id: w.weight.id,
                        lr,
                        bounded,
                    }),
                    _ => None,
                },
                _ => None,
            })
            .collect()
    }
}

/// One tensor of a layer, by kind.
enum TensorRef<'a, B: Backend> {
    Vector(&'a Param<Tensor<B, 1>>),
    Matrix(&'a Param<Tensor<B, 2>>),
    Filter(&'a Param<Tensor<B, 3>>),
    Kernel(&'a Param<Tensor<B, 4>>),
    Running(&'a RunningState<Tensor<B, 1>>),
}

impl<B: Backend> Net<B> {
    /// The tensor of a layer by its source name (`layer1.0.residual.bn1.running_var`).
    fn tensor_ref(&self, name: &str) -> Option<TensorRef<'_, B>> {
        let (node, tensor) = name.rsplit_once('.')?;
        let layer = &self.layers[self.layer_index(node)?];
        Some(match (layer, tensor) {
            (Layer::Conv(c), "weight") => TensorRef::Kernel(&c.weight),
            (Layer::Conv(c), "bias") => TensorRef::Vector(c.bias.as_ref()?),
            (Layer::BatchNorm(b), "weight") => TensorRef::Vector(b.weight.as_ref()?),
            (Layer::BatchNorm(b), "bias") => TensorRef::Vector(b.bias.as_ref()?),
            (Layer::BatchNorm(b), "running_mean") => TensorRef::Running(&b.running_mean),
            (Layer::BatchNorm(b), "running_var") => TensorRef::Running(&b.running_var),
            (Layer::GroupNorm(g), "weight") => TensorRef::Vector(&g.weight),
            (Layer::GroupNorm(g), "bias") => TensorRef::Vector(&g.bias),
            (Layer::Linear(l), "weight") => TensorRef::Matrix(&l.weight),
            (Layer::Linear(l), "bias") => TensorRef::Vector(l.bias.as_ref()?),
            (Layer::Vector(v), "weight") => TensorRef::Vector(&v.weight),
            (Layer::Matrix(m), "weight") => TensorRef::Matrix(&m.weight),
            (Layer::ChannelConv(f), "weight") => TensorRef::Filter(&f.weight),
            _ => return None,
        })
    }

    /// The shape of a parameter or buffer, by source name, without reading its values.
    pub fn tensor_dims(&self, name: &str) -> Option<Vec<usize>> {
        Some(match self.tensor_ref(name)? {
            TensorRef::Vector(p) => p.val().dims().to_vec(),
            TensorRef::Matrix(p) => p.val().dims().to_vec(),
            TensorRef::Filter(p) => p.val().dims().to_vec(),
            TensorRef::Kernel(p) => p.val().dims().to_vec(),
            TensorRef::Running(r) => r.value_sync().dims().to_vec(),
        })
    }

    /// The current value of a parameter or buffer, by source name.
    pub fn tensor_data(&self, name: &str) -> Option<TensorData> {
        Some(match self.tensor_ref(name)? {
            TensorRef::Vector(p) => p.val().into_data(),
            TensorRef::Matrix(p) => p.val().into_data(),
            TensorRef::Filter(p) => p.val().into_data(),
            TensorRef::Kernel(p) => p.val().into_data(),
            TensorRef::Running(r) => r.value_sync().into_data(),
        })
    }
}

impl<B: AutodiffBackend> Net<B> {
    /// The gradient of a parameter, by source name, if the backward pass reached it.
    pub fn grad_data(&self, name: &str, grads: &B::Gradients) -> Option<TensorData> {
        match self.tensor_ref(name)? {
            TensorRef::Vector(p) => p.val().grad(grads).map(|g| g.into_data()),
            TensorRef::Matrix(p) => p.val().grad(grads).map(|g| g.into_data()),
            TensorRef::Filter(p) => p.val().grad(grads).map(|g| g.into_data()),
            TensorRef::Kernel(p) => p.val().grad(grads).map(|g| g.into_data()),
            TensorRef::Running(_) => None,
        }
    }
}
