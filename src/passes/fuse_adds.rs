//! Residual-addition fusion, on the CPU backend: a residual's addition (and the ReLU
//! after it) is fused into the conv computed last of its two operands (the branch's last
//! conv, or a projection shortcut's): `relu(conv(x) + s)` becomes one step that reads `x`
//! and `s` and adds `s` in the kernel's epilogue (where nothing else reads the conv's
//! output), so the sum is never a separate pass over memory. It runs just before kernel
//! selection, which builds the kernels that do the fused addition; on any other backend
//! it changes nothing (Burn's kernels have no such epilogue).

use super::rewrite::{compact, resolve};
use super::FoldReport;
use crate::lower::host::is_host_backend;
use crate::lower::plan::Kernel;
use crate::lower::Net;
use burn::tensor::backend::Backend;

/// Fuses each residual addition, and a ReLU reading only it, into the one-group
/// convolution that produces one of its two operands, counted into `report`; on the CPU
/// backend only (see the module documentation).
pub(super) fn run<B: Backend>(net: Net<B>, report: &mut FoldReport) -> Net<B> {
    if !is_host_backend::<B>() {
        return net;
    }
    let mut plan = net.plan().clone();
    let n = plan.steps.len();
    let mut kernels: Vec<Kernel> = plan.steps.iter().map(|s| s.kernel.clone()).collect();
    let mut uses = plan.uses.clone();
    let mut alias: Vec<usize> = (0..n).collect();
    let mut residual: Vec<Option<usize>> = vec![None; n];
    let mut fused = 0;
    for i in 0..n {
        let inputs: Vec<usize> = plan.steps[i]
            .inputs
            .iter()
            .map(|&j| resolve(&alias, j))
            .collect();
        match (&plan.steps[i].kernel, &inputs[..]) {
            (Kernel::Add, &[a, b]) if i != plan.output => {
                let ends_branch = |j: usize, s: usize| {
                    matches!(
                        kernels[j],
                        Kernel::Conv {
                            groups: 1,
                            relu: false,
                            ..
                        }
                    ) && residual[j].is_none()
                        && uses[j] == 1
                        && j != plan.output
                        && s < j
                };
                let Some((j, s)) = [(a, b), (b, a)]
                    .into_iter()
                    .find(|&(j, s)| ends_branch(j, s))
                else {
                    continue;
                };
                residual[j] = Some(s);
                alias[i] = j;
                uses[j] = uses[i];
                fused += 1;
            }
            (Kernel::Relu, &[j])
                if residual[j].is_some()
                    && uses[j] == 1
                    && j != plan.output
                    && i != plan.output =>
            {
                if let Kernel::Conv { relu, .. } = &mut kernels[j] {
                    *relu = true;
                }
                alias[i] = j;
                uses[j] = uses[i];
            }
            _ => {}
        }
    }
    if fused == 0 {
        return net;
    }
    for (j, s) in residual.iter().enumerate() {
        if let Some(s) = *s {
            plan.steps[j].inputs.push(s);
        }
    }
    let layers = net.layers.into_iter().map(Some).collect();
    let infos = plan.layers.clone();
    report.adds += fused;
    compact(&plan, kernels, &alias, uses, layers, infos).0
}
