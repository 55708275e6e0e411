//! Inference passes on a net with its weights: what the structural passes of
//! `src/passes` cannot do because the algebra needs the values.
//!
//! - **BN folding**: `BN(conv(x))` in evaluation mode is a conv with weights
//!   `W·γ/√(σ²+ε)` per output channel and bias `(b − μ)·γ/√(σ²+ε) + β`;
//! - **λ and α folding**: the weighted shortcut's scalar `λ·conv(x)` and DSNet's
//!   per-channel `α ⊙ conv(x)` scale the conv's weights and bias; through a fused ReLU
//!   only where the factors are ≥ 0 (`relu(a·z) = a·relu(z)` needs `a ≥ 0`);
//! - **conv + ReLU fusion**: a ReLU reading a conv's only output runs inside the conv's
//!   step, so the plan has one step and one intermediate tensor fewer.
//!
//! - **branch merging** (RepVGG): a sum of parallel convs, BNs and the identity, all
//!   reading one tensor, is one conv; see `branches`;
//! - **residual removal** (`reparameterise_plain`, RMNet): see `reparam`;
//! - **kernel selection**, last, on the CPU backend: convolutions and max pooling on
//!   `resc_kernels` (Winograd, im2col + gemm), residual additions fused into the
//!   convolutions' epilogue; see `host`.
//!
//! Each fold applies only when the conv's output has no other reader, so every other
//! step sees exactly the values it saw before. The result computes the same function in
//! evaluation mode (up to float rounding) and is not meant for training.

use super::layers::{Conv, Layer, LayerSpec};
use super::net::Net;
use super::plan::{Kernel, LayerInfo, Plan, Step};
use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::Tensor;
use std::sync::Arc;

/// What folding did, for reports and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FoldReport {
    pub batch_norms: usize,
    /// Sums of parallel branches merged into one conv (RepVGG).
    pub branches: usize,
    /// Residual blocks turned into plain conv → ReLU → conv chains (RMNet).
    pub residuals: usize,
    pub scales: usize,
    pub relus: usize,
    /// Convolutions that run on the CPU's Winograd kernel (kernel selection, see `host`).
    pub winograd: usize,
    /// Convolutions that run on the CPU's im2col + gemm kernel (kernel selection).
    pub gemm: usize,
    /// Residual additions fused into the conv computed last of their two operands
    /// (kernel selection).
    pub adds: usize,
    pub steps_before: usize,
    pub steps_after: usize,
}

impl FoldReport {
    /// Adds what a later fold pass did.
    fn absorb(&mut self, again: FoldReport) {
        self.relus += again.relus;
        self.batch_norms += again.batch_norms;
        self.scales += again.scales;
        self.steps_after = again.steps_after;
    }
}

impl std::fmt::Display for FoldReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} BN and {} λ/α folded, {} branch sums merged, {} ReLU fused, {} residuals removed; convs on Winograd {}, on gemm {}, {} additions fused; {} → {} steps",
            self.batch_norms,
            self.scales,
            self.branches,
            self.relus,
            self.residuals,
            self.winograd,
            self.gemm,
            self.adds,
            self.steps_before,
            self.steps_after
        )
    }
}

/// A conv step's state during folding.
struct ConvState {
    layer: usize,
    /// A ReLU already runs inside this step.
    relu: bool,
}

/// Where a folded net is meant to run: kernel selection (`host`) only applies to the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The CPU (Burn's flex backend): convolutions and pooling on `resc_kernels`.
    Cpu,
    /// A GPU backend (cuda, wgpu): Burn's own kernels for every step.
    Gpu,
}

impl Target {
    /// The target a net on backend `B` runs on.
    pub fn of<B: Backend>() -> Target {
        if super::host::is_host_backend::<B>() {
            Target::Cpu
        } else {
            Target::Gpu
        }
    }
}

impl<B: Backend> Net<B> {
    /// The same function in evaluation mode with BN, λ and α folded into convolutions,
    /// parallel branches merged and ReLUs fused into them (see the module documentation),
    /// then, on the CPU backend, kernel selection (`host`: convolutions and pooling on
    /// `resc_kernels`, residual additions fused into the convolutions).
    pub fn fold_for_inference(self) -> (Net<B>, FoldReport) {
        self.fold_for(Target::of::<B>())
    }

    /// [`Net::fold_for_inference`] for `target`: with [`Target::Gpu`], a net on the CPU
    /// shows the plan a GPU backend would run (no kernel selection).
    pub fn fold_for(self, target: Target) -> (Net<B>, FoldReport) {
        let (net, report) = self.fold_and_merge();
        net.with_selected_kernels(report, target)
    }

    /// The last pass, kernel selection (on the CPU only), with its count added to
    /// `report`.
    fn with_selected_kernels(self, mut report: FoldReport, target: Target) -> (Net<B>, FoldReport) {
        let (net, [winograd, gemm, adds]) = match target {
            Target::Cpu => self.select_host_kernels(),
            Target::Gpu => (self, [0, 0, 0]),
        };
        report.winograd = winograd;
        report.gemm = gemm;
        report.adds = adds;
        report.steps_after = net.plan().steps.len();
        (net, report)
    }

    /// Folding and branch merging, without kernel selection.
    fn fold_and_merge(self) -> (Net<B>, FoldReport) {
        let (net, mut report) = self.fold_pass();
        let (net, merged) = net.merge_branches();
        if merged == 0 {
            return (net, report);
        }
        // The ReLUs after the merged sums fuse now.
        let (net, again) = net.fold_pass();
        report.branches = merged;
        report.absorb(again);
        (net, report)
    }

    /// [`Net::fold_for_inference`], then RMNet's residual removal where it is exact (see
    /// `reparam`), then the ReLUs after the removed additions fused: for eligible networks
    /// (post-activation blocks with identity or option-A shortcuts) a plain chain of
    /// convolutions. The convolutions get wider (the reserved channels), so on a
    /// compute-bound CPU this is slower than plain folding; it saves the residuals' memory
    /// traffic and makes the network a chain that any inference engine runs.
    pub fn reparameterise_plain(self) -> (Net<B>, FoldReport) {
        self.reparameterise_plain_for(Target::of::<B>())
    }

    /// [`Net::reparameterise_plain`] for `target` (see [`Net::fold_for`]).
    pub fn reparameterise_plain_for(self, target: Target) -> (Net<B>, FoldReport) {
        let (net, mut report) = self.fold_and_merge();
        let (net, merged) = net.remove_residuals();
        if merged == 0 {
            return net.with_selected_kernels(report, target);
        }
        let (net, again) = net.fold_pass();
        report.residuals = merged;
        report.absorb(again);
        net.with_selected_kernels(report, target)
    }

    /// BN, λ and α folding and ReLU fusion.
    fn fold_pass(self) -> (Net<B>, FoldReport) {
        let plan = self.plan().clone();
        let mut layers: Vec<Option<Layer<B>>> = self.layers.into_iter().map(Some).collect();
        let mut infos: Vec<LayerInfo> = plan.layers.clone();
        let n = plan.steps.len();
        let mut kernels: Vec<Kernel> = plan.steps.iter().map(|s| s.kernel.clone()).collect();
        let mut uses = plan.uses.clone();
        // `alias[i] = j`: step i was folded into step j, which now produces its value.
        let mut alias: Vec<usize> = (0..n).collect();
        let mut convs: Vec<Option<ConvState>> = (0..n).map(|_| None).collect();
        let mut report = FoldReport {
            steps_before: n,
            ..FoldReport::default()
        };
        for (i, step) in plan.steps.iter().enumerate() {
            if let (Kernel::Conv { .. }, Some(layer)) = (&step.kernel, step.layer) {
                convs[i] = Some(ConvState { layer, relu: false });
                continue;
            }
            let [input] = step.inputs[..] else {
                continue;
            };
            let j = resolve(&alias, input);
            // Only a conv whose value nobody else reads, and not the network's output.
            if uses[j] != 1 || j == plan.output || i == plan.output {
                continue;
            }
            let Some(conv) = convs[j].as_mut() else {
                continue;
            };
            let Some(Layer::Conv(c)) = layers[conv.layer].take() else {
                unreachable!("a conv step holds a conv layer");
            };
            let (folded, done) = match (&step.kernel, step.layer.map(|l| (l, &layers[l]))) {
                (&Kernel::BatchNorm { eps, .. }, Some((l, Some(Layer::BatchNorm(bn)))))
                    if !conv.relu =>
                {
                    let inv_std = bn.running_var.value().add_scalar(eps).sqrt().recip();
                    let scale = match &bn.weight {
                        Some(gamma) => gamma.val() * inv_std,
                        None => inv_std,
                    };
                    let mean = bn.running_mean.value();
                    let shift = match &bn.bias {
                        Some(beta) => beta.val() - mean * scale.clone(),
                        None => mean.neg() * scale.clone(),
                    };
                    layers[l] = None;
                    report.batch_norms += 1;
                    (scale_conv(c, scale, Some(shift)), true)
                }
                (Kernel::Scale { .. }, Some((l, Some(Layer::Vector(v)))))
                | (Kernel::ChannelScale, Some((l, Some(Layer::Vector(v))))) => {
                    let factor = v.weight.val();
                    let values: Vec<f32> = factor
                        .clone()
                        .into_data()
                        .convert::<f32>()
                        .to_vec()
                        .unwrap_or_default();
                    if conv.relu && values.iter().any(|&a| a < 0.0 || a.is_nan()) {
                        (c, false)
                    } else {
                        let out = c.weight.dims()[0];
                        let factor = if factor.dims()[0] == out {
                            factor
                        } else {
                            factor.expand([out])
                        };
                        layers[l] = None;
                        report.scales += 1;
                        (scale_conv(c, factor, None), true)
                    }
                }
                (Kernel::Relu, _) if !conv.relu => {
                    conv.relu = true;
                    report.relus += 1;
                    (c, true)
                }
                _ => (c, false),
            };
            layers[conv.layer] = Some(Layer::Conv(folded));
            if done {
                if let LayerSpec::Conv { bias, .. } = &mut infos[conv.layer].spec {
                    *bias |= matches!(step.kernel, Kernel::BatchNorm { .. });
                }
                alias[i] = j;
                uses[j] = uses[i];
            }
        }
        // Fused ReLUs become part of their conv's kernel.
        for (i, conv) in convs.iter().enumerate() {
            if let (Some(ConvState { relu: true, .. }), Kernel::Conv { relu, .. }) =
                (conv, &mut kernels[i])
            {
                *relu = true;
            }
        }
        let (net, steps) = compact(&plan, kernels, &alias, uses, layers, infos);
        report.steps_after = steps;
        (net, report)
    }
}

/// The net without the steps folded into others (`alias[i] != i`) and without the layers
/// taken out (`None`), steps and layers renumbered.
pub(super) fn compact<B: Backend>(
    plan: &Plan,
    kernels: Vec<Kernel>,
    alias: &[usize],
    uses: Vec<usize>,
    layers: Vec<Option<Layer<B>>>,
    infos: Vec<LayerInfo>,
) -> (Net<B>, usize) {
    let n = plan.steps.len();
    let kept: Vec<bool> = (0..n).map(|i| alias[i] == i).collect();
    let mut step_index = vec![usize::MAX; n];
    let mut next = 0;
    for i in 0..n {
        if kept[i] {
            step_index[i] = next;
            next += 1;
        }
    }
    let mut layer_index = vec![usize::MAX; layers.len()];
    let mut new_layers = Vec::new();
    let mut new_infos = Vec::new();
    for (l, layer) in layers.into_iter().enumerate() {
        if let Some(layer) = layer {
            layer_index[l] = new_layers.len();
            new_layers.push(layer);
            new_infos.push(infos[l].clone());
        }
    }
    let mut steps = Vec::with_capacity(next);
    let mut new_uses = Vec::with_capacity(next);
    for i in (0..n).filter(|&i| kept[i]) {
        let old: &Step = &plan.steps[i];
        steps.push(Step {
            kernel: kernels[i].clone(),
            inputs: old
                .inputs
                .iter()
                .map(|&j| step_index[resolve(alias, j)])
                .collect(),
            layer: old.layer.map(|l| layer_index[l]),
            // A folded step's value now comes from its conv, with the folded step's
            // shape (BN, scale and ReLU keep the shape).
            shape: old.shape,
        });
        new_uses.push(uses[i]);
    }
    let new_plan = Plan {
        steps,
        uses: new_uses,
        output: step_index[resolve(alias, plan.output)],
        input_shape: plan.input_shape,
        layers: new_infos,
    };
    (Net::from_parts(new_layers, Arc::new(new_plan)), next)
}

/// Follows `alias` to the step that now produces step `i`'s value.
pub(super) fn resolve(alias: &[usize], mut i: usize) -> usize {
    while alias[i] != i {
        i = alias[i];
    }
    i
}

/// The conv scaled per output channel by `scale`, then shifted by `shift`:
/// `conv'(x) = scale ⊙ conv(x) + shift`.
fn scale_conv<B: Backend>(c: Conv<B>, scale: Tensor<B, 1>, shift: Option<Tensor<B, 1>>) -> Conv<B> {
    let [out, ..] = c.weight.dims();
    let weight = c.weight.val() * scale.clone().reshape([out, 1, 1, 1]);
    let bias = match (c.bias.map(|b| b.val()), shift) {
        (Some(b), Some(s)) => Some(b * scale + s),
        (None, Some(s)) => Some(s),
        (Some(b), None) => Some(b * scale),
        (None, None) => None,
    };
    Conv {
        weight: Param::from_tensor(weight),
        bias: bias.map(Param::from_tensor),
    }
}
