//! BatchNorm + ReLU fusion, for training: a ReLU that alone reads a BatchNorm's output
//! becomes part of the BatchNorm's step (`Kernel::BatchNorm { relu: true }`), so that on
//! a backend with the training kernels the pair is one op with one backward — two
//! passes over memory forward and two backward instead of the separate ops' six — and
//! the BatchNorm's output is never kept for the ReLU's backward. Exact on every backend
//! (one without the kernels runs the two ops as before); the layers are unchanged, so a
//! checkpoint saved from a fused net loads into an unfused one and back.

use super::rewrite::{compact, resolve};
use super::FoldReport;
use crate::lower::plan::Kernel;
use crate::lower::Net;
use burn::tensor::backend::Backend;

/// Fuses each ReLU into the BatchNorm it alone reads, counted into `report.relus`.
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
        if let Kernel::BatchNorm {
            relu: relu @ false, ..
        } = &mut kernels[j]
        {
            if uses[j] == 1 && j != plan.output {
                *relu = true;
                alias[i] = j;
                uses[j] = uses[i];
                fused += 1;
            }
        }
    }
    if fused == 0 {
        return net;
    }
    let layers = net.layers.into_iter().map(Some).collect();
    let infos = plan.layers.clone();
    report.relus += fused;
    compact(&plan, kernels, &alias, uses, layers, infos).0
}
