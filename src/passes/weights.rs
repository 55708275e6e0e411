//! The weight half of the pass manager: running [`WeightPass`]es over a lowered net, and
//! compiling a model file through a whole [`Pipeline`] into a [`Network`].

use super::{
    fold_norms, fuse_adds, fuse_relus, merge_branches, remove_residuals, select_kernels, Goal,
    PassReport, Pipeline, Target, WeightPass,
};
use crate::driver::{self, FsLoader, Options};
use crate::lower::{self, CompileError, Net, Network};
use burn::tensor::backend::Backend;
use std::path::Path;

/// What the weight passes did, for reports and tests.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FoldReport {
    pub batch_norms: usize,
    /// Sums of parallel branches merged into one conv (RepVGG).
    pub branches: usize,
    /// Residual blocks turned into plain conv → ReLU → conv chains (RMNet).
    pub residuals: usize,
    pub scales: usize,
    pub relus: usize,
    /// Convolutions that run on the CPU's Winograd kernel (`select_kernels`).
    pub winograd: usize,
    /// Convolutions that run on the CPU's im2col + gemm kernel (kernel selection).
    pub gemm: usize,
    /// Residual additions fused into the conv computed last of their two operands
    /// (`fuse_adds`).
    pub adds: usize,
    pub steps_before: usize,
    pub steps_after: usize,
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

impl Target {
    /// The target a net on backend `B` runs on.
    pub fn of<B: Backend>() -> Target {
        if lower::host::is_host_backend::<B>() {
            Target::Cpu
        } else {
            Target::Gpu
        }
    }
}

impl WeightPass {
    /// Runs the pass on `net`, counting what it did into `report`.
    pub fn run<B: Backend>(self, net: Net<B>, report: &mut FoldReport) -> Net<B> {
        match self {
            WeightPass::FoldNorms => fold_norms::run(net, report),
            WeightPass::MergeBranches => merge_branches::run(net, report),
            WeightPass::RemoveResiduals => remove_residuals::run(net, report),
            WeightPass::FuseAdds => fuse_adds::run(net, report),
            WeightPass::SelectKernels => select_kernels::run(net, report),
            WeightPass::FuseRelus => fuse_relus::run(net, report),
        }
    }
}

impl Pipeline {
    /// The pipeline for `goal` on the backend `B` runs on.
    pub fn for_backend<B: Backend>(goal: Goal) -> Pipeline {
        Pipeline::new(goal, Target::of::<B>())
    }

    /// Runs the weight passes on `net` (a net whose weights are final: kernel selection
    /// puts them in the CPU kernels' form, and a record loaded afterwards would not
    /// reach the kernels). With [`Goal::Training`] only the plan changes (BatchNorm + ReLU
    /// fusion), never a weight: a record loads into the net before or after.
    pub fn run_net<B: Backend>(&self, net: Net<B>) -> (Net<B>, FoldReport) {
        let mut report = FoldReport {
            steps_before: net.plan().steps.len(),
            ..FoldReport::default()
        };
        let net = self
            .weight_passes()
            .into_iter()
            .fold(net, |net, pass| pass.run(net, &mut report));
        report.steps_after = net.plan().steps.len();
        (net, report)
    }

    /// Compiles the model file at `path` (with `--set`-style overrides in `options`),
    /// runs the graph passes on it, and makes the network to build; the weight passes run
    /// on the built net ([`Pipeline::run_net`]).
    pub fn network(
        &self,
        path: &Path,
        options: &Options,
    ) -> Result<(Network, Vec<PassReport>), CompileError> {
        let mut compilation = match driver::compile_file(path, options, &mut FsLoader) {
            Ok(compilation) => compilation,
            Err(e) => return Err(CompileError::unreadable(path, &e)),
        };
        let reports = match &mut compilation.result {
            Ok(checked) => self.optimise(checked),
            Err(_) => Vec::new(),
        };
        lower::network_from_compilation(compilation).map(|network| (network, reports))
    }
}
