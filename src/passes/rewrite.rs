//! Rewriting a lowered net's plan: the bookkeeping that the weight passes share. A pass
//! walks the plan's steps in order, folds some steps into earlier ones (`alias[i] = j`:
//! step `j` now produces step `i`'s value) and takes some layers out; [`compact`] then
//! renumbers what is left into a new plan.

use crate::lower::plan::{Kernel, LayerInfo, Plan, Step};
use crate::lower::{Layer, Net};
use burn::tensor::backend::Backend;
use std::sync::Arc;

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
