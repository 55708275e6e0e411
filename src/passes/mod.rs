//! Optimisation: every rewrite that keeps what a network computes is a pass here, one
//! file per pass, and [`Pipeline`] is the one pass manager that runs them in order.
//! `resc check --passes`, `resc graph --opt`, `resc infer`, `resc export` and training
//! all build a pipeline for their [`Goal`] and [`Target`] and run it; nothing else
//! rewrites a network.
//!
//! Two kinds of pass, run in this order:
//! - **graph passes** ([`Pass`], `fn(&mut Graph) -> bool`: did it change the graph?)
//!   rewrite the IR before lowering and need no weights, so the front end has them
//!   without Burn. After every pass (in debug builds, and so in every test) the IR
//!   verifier and shape inference run again and the output shape must be unchanged.
//! - **weight passes** ([`WeightPass`], with the `cpu` feature) rewrite a lowered
//!   [`Net`](crate::lower::Net) with its weights, for evaluation mode: BN, λ and α
//!   folding (`fold_norms`), RepVGG's branch merging (`merge_branches`), RMNet's residual
//!   removal (`remove_residuals`), and on the CPU the fusion of residual additions into
//!   convolutions (`fuse_adds`) and kernel selection (`select_kernels`, last: it builds
//!   the kernels from the final weights). Training has one weight pass, which changes
//!   the plan only: the fusion of ReLUs into the BatchNorms and residual additions
//!   before them (`fuse_relus`).
//!
//! Module direction: graph passes use `ir` and `check`; weight passes use `lower`, which
//! never uses this module — lowering only lowers (builds and runs a plan).

mod canonical;
mod cse;
mod dce;
mod eval_identities;
mod no_ops;

#[cfg(feature = "cpu")]
mod fold_norms;
#[cfg(feature = "cpu")]
mod fuse_adds;
#[cfg(feature = "cpu")]
mod fuse_relus;
#[cfg(feature = "cpu")]
mod merge_branches;
#[cfg(feature = "cpu")]
mod remove_residuals;
#[cfg(feature = "cpu")]
mod rewrite;
#[cfg(feature = "cpu")]
mod select_kernels;

use crate::check;
use crate::driver::Checked;
use crate::ir::{self, Graph, NodeId};
use serde::Serialize;

/// One graph pass.
#[derive(Clone, Copy)]
pub struct Pass {
    pub name: &'static str,
    pub description: &'static str,
    pub run: fn(&mut Graph) -> bool,
}

/// What one graph pass did.
#[derive(Clone, Debug, Serialize)]
pub struct PassReport {
    pub pass: &'static str,
    pub changed: bool,
    pub nodes_before: usize,
    pub nodes_after: usize,
}

/// Graph passes valid for training and inference.
pub fn structural() -> Vec<Pass> {
    vec![no_ops::PASS, canonical::PASS, cse::PASS, dce::PASS]
}

/// Graph passes for an inference-only graph: the structural ones after removing what is
/// an identity at inference only.
pub fn inference() -> Vec<Pass> {
    let mut passes = vec![eval_identities::PASS];
    passes.extend(structural());
    passes
}

/// Every graph pass, for lookup by name (the inference pipeline holds each one).
pub fn all() -> Vec<Pass> {
    inference()
}

/// What an optimised network is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Goal {
    /// Training (and evaluating a checkpoint with the training graph): only the graph
    /// passes that are identities in training too, and one weight pass that changes no
    /// weight (ReLUs fused into the BatchNorms and residual additions before them).
    Training,
    /// Inference: every graph pass, then the weight passes (folding, branch merging and,
    /// on the CPU, add fusion and kernel selection).
    Inference,
    /// Inference as a plain chain where that is exact: [`Goal::Inference`] with RMNet's
    /// residual removal after branch merging (`resc export --plain`, `graph --plain`).
    Plain,
}

/// Where an optimised net is meant to run: the CPU's own kernels (add fusion, kernel
/// selection) apply only to the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// The CPU (Burn's flex backend): convolutions and pooling on `resc_kernels`.
    Cpu,
    /// A GPU backend (cuda, wgpu): Burn's own kernels for every step.
    Gpu,
}

/// One weight pass (see the module documentation); [`WeightPass::run`] needs the `cpu`
/// feature.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightPass {
    FoldNorms,
    MergeBranches,
    RemoveResiduals,
    FuseAdds,
    SelectKernels,
    FuseRelus,
}

impl WeightPass {
    pub fn name(self) -> &'static str {
        match self {
            WeightPass::FoldNorms => "fold-norms",
            WeightPass::MergeBranches => "merge-branches",
            WeightPass::RemoveResiduals => "remove-residuals",
            WeightPass::FuseAdds => "fuse-adds",
            WeightPass::SelectKernels => "select-kernels",
            WeightPass::FuseRelus => "fuse-relus",
        }
    }

    pub fn description(self) -> &'static str {
        match self {
            WeightPass::FoldNorms => {
                "fold BN, λ and α into the convolutions before them; fuse ReLUs into them"
            }
            WeightPass::MergeBranches => {
                "merge sums of parallel convs, BNs and the identity into one conv (RepVGG)"
            }
            WeightPass::RemoveResiduals => {
                "turn residual blocks into plain conv chains where that is exact (RMNet)"
            }
            WeightPass::FuseAdds => {
                "fuse residual additions (and the ReLU after them) into a convolution (CPU)"
            }
            WeightPass::SelectKernels => {
                "run convolutions and max pooling on the CPU kernels (Winograd, gemm)"
            }
            WeightPass::FuseRelus => {
                "fuse each ReLU into the BatchNorm or residual addition before it (training: one op with its own backward)"
            }
        }
    }
}

/// The pass manager: the graph passes and weight passes for one goal and target, in
/// order.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Pipeline {
    pub goal: Goal,
    pub target: Target,
}

impl Pipeline {
    pub fn new(goal: Goal, target: Target) -> Pipeline {
        Pipeline { goal, target }
    }

    /// The graph passes, in order.
    pub fn graph_passes(&self) -> Vec<Pass> {
        match self.goal {
            Goal::Training => structural(),
            Goal::Inference | Goal::Plain => inference(),
        }
    }

    /// The weight passes, in order: folding runs again after each pass that can expose
    /// new folds (a merged sum's ReLU, a removed residual's ReLU).
    pub fn weight_passes(&self) -> Vec<WeightPass> {
        use WeightPass::*;
        let mut passes = match self.goal {
            Goal::Training => return vec![FuseRelus],
            Goal::Inference => vec![FoldNorms, MergeBranches, FoldNorms],
            Goal::Plain => vec![
                FoldNorms,
                MergeBranches,
                FoldNorms,
                RemoveResiduals,
                FoldNorms,
            ],
        };
        if self.target == Target::Cpu {
            passes.extend([FuseAdds, SelectKernels]);
        }
        passes
    }

    /// Runs the graph passes on a checked model and checks the result again (shapes and
    /// costs of the optimised graph).
    pub fn optimise(&self, checked: &mut Checked) -> Vec<PassReport> {
        let reports = run_pipeline(&mut checked.elaborated.graph, &self.graph_passes());
        if let Ok(info) = check::check(&checked.elaborated.graph) {
            checked.info = info;
        }
        reports
    }
}

/// Runs graph passes in order, re-verifying the graph after every pass in debug builds.
pub fn run_pipeline(graph: &mut Graph, pipeline: &[Pass]) -> Vec<PassReport> {
    let output_shape = shape_of_output(graph);
    pipeline
        .iter()
        .map(|pass| {
            let nodes_before = graph.node_count();
            let changed = (pass.run)(graph);
            if cfg!(debug_assertions) {
                let problems = ir::verify(graph);
                assert!(
                    problems.is_empty(),
                    "after pass `{}`: {problems:#?}",
                    pass.name
                );
                assert_eq!(
                    shape_of_output(graph),
                    output_shape,
                    "pass `{}` changed the output shape",
                    pass.name
                );
            }
            PassReport {
                pass: pass.name,
                changed,
                nodes_before,
                nodes_after: graph.node_count(),
            }
        })
        .collect()
}

fn shape_of_output(graph: &Graph) -> Option<ir::Shape> {
    let info = check::check(graph).ok()?;
    graph.output().and_then(|o| info.shapes.get(&o).copied())
}

/// Removes `id` after making its users read `replacement`.
fn bypass(graph: &mut Graph, id: NodeId, replacement: NodeId) {
    graph.replace_uses(id, replacement);
    graph.remove(id);
}

/// Bypasses each target, reading its input afresh: in a chain of no-ops the input of a
/// later one was rewired when the earlier one was removed.
fn bypass_all(graph: &mut Graph, targets: &[(NodeId, NodeId)]) -> bool {
    for &(id, _) in targets {
        if let Some(&input) = graph.inputs(id).first() {
            bypass(graph, id, input);
        }
    }
    !targets.is_empty()
}

#[cfg(feature = "cpu")]
mod weights;
#[cfg(feature = "cpu")]
pub use weights::FoldReport;
