//! ReLU fusion, for training: a ReLU that alone reads a BatchNorm's output becomes part
//! of the BatchNorm's step (`Kernel::BatchNorm { relu: true }`), and one that alone reads
//! a two-input addition (a residual's) becomes `Kernel::AddRelu`. On a backend with the
//! training kernels each pair is one op with one backward — for BatchNorm two passes
//! over memory forward and two backward instead of the separate ops' six — and the
//! intermediate value is never kept for the ReLU's backward. Exact on every backend (one
//! without the kernels runs the two ops as before); the layers are unchanged, so a
//! checkpoint saved from a fused net loads into an unfused one and back.

use super::rewrite::{compact, resolve};
use super::FoldReport;
use crate::lower::plan::Kernel;
use crate::lower::Net;
use burn::tensor::backend::Backend;

/// Fuses each ReLU into the BatchNorm or two-input addition it alone reads, counted into
/// `report.relus`.
pub(super) fn run<B: Backend>(net: Net<B>, report: &mut FoldReport) -> Net<B> {
    let plan = net.plan().clone();
    let n = plan.steps.len();
    let mut kernels: Vec<Kernel> = plan.steps.iter().map(|s| s.kernel.clone()).collect();
    let mut uses = plan.uses.clone();
    let mut alias: Vec<usize> = (0..n).collect();
    let mut fused = 0;
    for i in 0..n {
        let step = &plan.steps[i];
        let (Kernel::Relu, &[input]) = (&step.kernel, &step.inputs[..]) else {
            continue;
        };
        let j = resolve(&alias, input);
        if uses[j] != 1 || j == plan.output {
            continue;
        }
        match &mut kernels[j] {
            Kernel::BatchNorm {
                relu: relu @ false, ..
            } => *relu = true,
            kernel @ Kernel::Add if plan.steps[j].inputs.len() == 2 => *kernel = Kernel::AddRelu,
            _ => continue,
        }
        alias[i] = j;
        uses[j] = uses[i];
        fused += 1;
    }
    if fused == 0 {
        return net;
    }
    let layers = net.layers.into_iter().map(Some).collect();
    let infos = plan.layers.clone();
    report.relus += fused;
    compact(&plan, kernels, &alias, uses, layers, infos).0
}
