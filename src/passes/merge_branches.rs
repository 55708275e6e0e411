//! Merging parallel linear branches into one convolution (RepVGG, Ding et al. 2021:
//! "structural re-parameterisation"), on a net whose BNs are already folded.
//!
//! A sum `Σ_b branch_b(x)` of branches that all read the same `x` and are each
//! - a conv (BN folded into it, no fused ReLU) with an odd square kernel centred by its
//!   padding, all with one stride and one group count,
//! - a BN of `x` (RepVGG's identity branch), or
//! - `x` itself,
//!
//! is one conv: the kernels zero-padded to the largest size and added, the BN and the
//! identity as taps at the kernel centre (`γ/√(σ²+ε)` and `1`), the biases and the BN's
//! shift added. Centred kernels with one stride see windows with one centre, so the
//! sum is exact (up to float rounding). A RepVGG block becomes `relu(conv3×3(x))`.

use super::rewrite::{compact, resolve};
use super::FoldReport;
use crate::lower::layers::{Conv, Layer, LayerSpec};
use crate::lower::plan::{Kernel, Plan};
use crate::lower::Net;
use burn::module::Param;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};

/// One summand of a mergeable sum.
enum Branch {
    /// A conv step and its layer.
    Conv { step: usize, layer: usize },
    /// A BN step reading `x`, its layer and ε.
    Norm { step: usize, layer: usize, eps: f64 },
    /// `x` itself.
    Identity,
}

/// What every conv branch must share: stride, groups.
type Geometry = ([usize; 2], usize);

/// Merges every sum of parallel linear branches into one conv, counted into `report`.
pub(super) fn run<B: Backend>(net: Net<B>, report: &mut FoldReport) -> Net<B> {
    let plan = net.plan().clone();
    let n = plan.steps.len();
    let mut layers: Vec<Option<Layer<B>>> = net.layers.into_iter().map(Some).collect();
    let mut infos = plan.layers.clone();
    let mut kernels: Vec<Kernel> = plan.steps.iter().map(|s| s.kernel.clone()).collect();
    let mut uses = plan.uses.clone();
    let mut alias: Vec<usize> = (0..n).collect();
    let mut merged = 0;
    for i in 0..n {
        if kernels[i] != Kernel::Add {
            continue;
        }
        let ins: Vec<usize> = plan.steps[i]
            .inputs
            .iter()
            .map(|&j| resolve(&alias, j))
            .collect();
        let Some((x, branches, (stride, groups))) = classify(&plan, &kernels, &uses, &layers, &ins)
        else {
            continue;
        };
        let size = branches
            .iter()
            .filter_map(|b| match b {
                Branch::Conv { layer, .. } => Some(conv_of(&layers, *layer).weight.dims()[2]),
                _ => None,
            })
            .max()
            .unwrap_or(1);
        let [c_out, ..] = plan.steps[i].shape;
        let c_in = plan.steps[x].shape[0];
        let per_group = c_in / groups;
        let mut weight = vec![0f32; c_out * per_group * size * size];
        let mut bias = vec![0f32; c_out];
        let mut first: Option<(usize, usize)> = None;
        let mut device = None;
        for branch in &branches {
            match *branch {
                Branch::Conv { step, layer } => {
                    let Some(Layer::Conv(conv)) = layers[layer].take() else {
                        unreachable!("classified as a conv");
                    };
                    device.get_or_insert_with(|| conv.weight.device());
                    add_kernel(&mut weight, &mut bias, conv, size);
                    first.get_or_insert((step, layer));
                    alias[step] = first.map_or(step, |f| f.0);
                }
                Branch::Norm { layer, eps, .. } => {
                    let Some(Layer::BatchNorm(bn)) = layers[layer].take() else {
                        unreachable!("classified as a BN");
                    };
                    let (scale, shift) = bn_affine(bn, eps);
                    add_centre(&mut weight, per_group, size, &scale);
                    for (b, s) in bias.iter_mut().zip(shift) {
                        *b += s;
                    }
                }
                Branch::Identity => add_centre(&mut weight, per_group, size, &vec![1.0; c_out]),
            }
        }
        let (Some((c0, l0)), Some(device)) = (first, device) else {
            unreachable!("a mergeable sum has a conv branch");
        };
        // The BN branches' values are the merged conv's now.
        for branch in &branches {
            if let Branch::Norm { step, .. } = *branch {
                alias[step] = c0;
            }
        }
        let conv = Conv {
            weight: Param::from_tensor(Tensor::from_data(
                TensorData::new(weight, [c_out, per_group, size, size]),
                &device,
            )),
            bias: Some(Param::from_tensor(Tensor::from_data(
                TensorData::new(bias, [c_out]),
                &device,
            ))),
        };
        layers[l0] = Some(Layer::Conv(conv));
        if let LayerSpec::Conv {
            kernel, bias: b, ..
        } = &mut infos[l0].spec
        {
            *kernel = [size, size];
            *b = true;
        }
        kernels[c0] = Kernel::Conv {
            stride,
            padding: [size / 2, size / 2],
            dilation: [1, 1],
            groups,
            relu: false,
            cpu: None,
        };
        alias[i] = c0;
        uses[c0] = uses[i];
        uses[x] -= branches.len() - 1;
        merged += 1;
    }
    report.branches += merged;
    compact(&plan, kernels, &alias, uses, layers, infos).0
}

/// `x` and the branches when the sum of `inputs` is one RepVGG merges (see the module
/// documentation), with the conv branches' shared stride and groups.
fn classify<B: Backend>(
    plan: &Plan,
    kernels: &[Kernel],
    uses: &[usize],
    layers: &[Option<Layer<B>>],
    inputs: &[usize],
) -> Option<(usize, Vec<Branch>, Geometry)> {
    // `x` is what the conv branches read; every conv branch must read the same one.
    let mut x = None;
    let mut geometry: Option<Geometry> = None;
    for &j in inputs {
        if let (
            &Kernel::Conv {
                stride,
                padding,
                dilation: [1, 1],
                groups,
                relu: false,
                ..
            },
            Some(layer),
            [input],
        ) = (&kernels[j], plan.steps[j].layer, &plan.steps[j].inputs[..])
        {
            let [_, _, kh, kw] = conv_of(layers, layer).weight.dims();
            let centred = kh == kw && kh % 2 == 1 && padding == [kh / 2, kh / 2];
            if !centred || uses[j] != 1 || j == plan.output {
                return None;
            }
            if *x.get_or_insert(*input) != *input {
                return None;
            }
            if *geometry.get_or_insert((stride, groups)) != (stride, groups) {
                return None;
            }
        }
    }
    let (x, (stride, groups)) = (x?, geometry?);
    let mut branches = Vec::with_capacity(inputs.len());
    for &j in inputs {
        let step = &plan.steps[j];
        let branch = match (&kernels[j], step.layer, &step.inputs[..]) {
            _ if j == x => Branch::Identity,
            (
                Kernel::Conv {
                    relu: false,
                    dilation: [1, 1],
                    ..
                },
                Some(layer),
                _,
            ) => Branch::Conv { step: j, layer },
            (
                &Kernel::BatchNorm {
                    eps, relu: false, ..
                },
                Some(layer),
                &[input],
            ) if input == x && uses[j] == 1 && j != plan.output => Branch::Norm {
                step: j,
                layer,
                eps,
            },
            _ => return None,
        };
        branches.push(branch);
    }
    // The BN and identity branches keep x's shape: the conv branches must too.
    let keeps_shape = stride == [1, 1] && plan.steps[x].shape == plan.steps[inputs[0]].shape;
    if branches.iter().any(|b| !matches!(b, Branch::Conv { .. })) && !keeps_shape {
        return None;
    }
    (branches.len() >= 2).then_some((x, branches, (stride, groups)))
}

fn conv_of<B: Backend>(layers: &[Option<Layer<B>>], layer: usize) -> &Conv<B> {
    match &layers[layer] {
        Some(Layer::Conv(conv)) => conv,
        _ => unreachable!("a conv step holds a conv layer"),
    }
}

/// Adds `conv`'s kernel, zero-padded to `size`×`size` around its centre, and its bias.
fn add_kernel<B: Backend>(weight: &mut [f32], bias: &mut [f32], conv: Conv<B>, size: usize) {
    let [out, per_group, k, _] = conv.weight.dims();
    let w: Vec<f32> = conv
        .weight
        .val()
        .into_data()
        .convert::<f32>()
        .to_vec()
        .expect("f32 weights");
    let off = (size - k) / 2;
    for o in 0..out {
        for c in 0..per_group {
            for a in 0..k {
                for b in 0..k {
                    weight[((o * per_group + c) * size + a + off) * size + b + off] +=
                        w[((o * per_group + c) * k + a) * k + b];
                }
            }
        }
    }
    if let Some(b) = conv.bias {
        let b: Vec<f32> = b
            .val()
            .into_data()
            .convert::<f32>()
            .to_vec()
            .expect("f32 bias");
        for (acc, v) in bias.iter_mut().zip(b) {
            *acc += v;
        }
    }
}

/// Adds `scale[o]` at the kernel centre of output `o` for its own input channel
/// (channel `o` is input `o % per_group` of its group).
fn add_centre(weight: &mut [f32], per_group: usize, size: usize, scale: &[f32]) {
    for (o, s) in scale.iter().enumerate() {
        let c = o % per_group;
        weight[((o * per_group + c) * size + size / 2) * size + size / 2] += s;
    }
}

/// An evaluation-mode BN as `scale ⊙ x + shift`.
fn bn_affine<B: Backend>(bn: crate::lower::layers::BatchNorm<B>, eps: f64) -> (Vec<f32>, Vec<f32>) {
    let vec = |t: Tensor<B, 1>| -> Vec<f32> {
        t.into_data()
            .convert::<f32>()
            .to_vec()
            .expect("f32 statistics")
    };
    let var = vec(bn.running_var.value());
    let mean = vec(bn.running_mean.value());
    let gamma = bn.weight.map(|g| vec(g.val()));
    let beta = bn.bias.map(|b| vec(b.val()));
    let scale: Vec<f32> = var
        .iter()
        .enumerate()
        .map(|(c, v)| gamma.as_ref().map_or(1.0, |g| g[c]) / (v + eps as f32).sqrt())
        .collect();
    let shift = mean
        .iter()
        .zip(&scale)
        .enumerate()
        .map(|(c, (m, s))| beta.as_ref().map_or(0.0, |b| b[c]) - m * s)
        .collect();
    (scale, shift)
}
