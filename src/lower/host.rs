//! Kernel selection, the last inference pass: on the CPU backend (flex, f32), the
//! convolutions with one group run on `resc_kernels` instead of Burn's convolution —
//! 3×3 with stride 1 and padding 1 on the Winograd kernel (4× fewer multiplications),
//! the others (the stem, strided and 1×1 convolutions) on blocked im2col + gemm. Their
//! weights are put in the kernel's form once, here, and the bias and fused ReLU that the
//! folding passes left on the step become the kernel's epilogue, applied while the
//! output is in cache. Max pooling (the ResNet stem's) runs on the kernels' row-wise
//! pooling too.
//!
//! Before the kernels are built, a residual's addition (and the ReLU after it) is fused
//! into the conv computed last of its two operands (the branch's last conv, or a
//! projection shortcut's): `relu(conv(x) + s)` becomes one step that reads `x` and `s`
//! and adds `s` in the epilogue (where nothing else reads the conv's output), so the sum
//! is never a separate pass over memory.
//!
//! The selection runs after every other pass, because folding, branch merging and
//! residual removal rewrite the convolutions' weights; a net whose weights change
//! afterwards (loading a record into it) must be folded again. On any other backend
//! (CUDA; autodiff, for training) the pass changes nothing.

use super::fold::{compact, resolve};
use super::layers::{Conv, Layer};
use super::net::{HostConv, HostStep, Net};
use super::plan::{CpuKernel, Kernel};
use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use resc_kernels::{Conv2d, Epilogue, MaxPool2d, Tile, Winograd3x3};
use std::any::{Any, TypeId};
use std::sync::Arc;

/// A convolution's weights in a CPU kernel's form.
#[derive(Debug)]
pub(super) enum CpuConv {
    Winograd(Winograd3x3),
    Gemm(Conv2d),
}

/// The Winograd tile for a map of `h × w`: F(4×4, 3×3) does 4× fewer multiplications
/// than the direct convolution; on maps smaller than one such tile most of its work
/// would be padding, so they take F(2×2, 3×3) (2.25× fewer).
fn tile_for([_, h, w]: [usize; 3]) -> Tile {
    if h >= 4 && w >= 4 {
        Tile::F4x4
    } else {
        Tile::F2x2
    }
}

/// True when `B` is the backend whose tensors the CPU kernels read in place (flex).
pub(super) fn is_host_backend<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Flex>()
}

impl<B: Backend> Net<B> {
    /// Fuses residual additions and picks the CPU kernels (see the module
    /// documentation); returns the net and how many convolutions now run on Winograd,
    /// how many on gemm, and how many additions were fused.
    pub(super) fn select_host_kernels(self) -> (Net<B>, [usize; 3]) {
        if !is_host_backend::<B>() {
            return (self, [0, 0, 0]);
        }
        let (net, adds) = self.fuse_residual_adds();
        let (net, [winograd, gemm]) = net.build_host_kernels();
        (net, [winograd, gemm, adds])
    }

    /// Fuses each residual addition, and a ReLU reading only it, into the one-group
    /// convolution that produces one of its two operands (see the module documentation).
    fn fuse_residual_adds(self) -> (Net<B>, usize) {
        let mut plan = self.plan().clone();
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
            return (self, 0);
        }
        for (j, s) in residual.iter().enumerate() {
            if let Some(s) = *s {
                plan.steps[j].inputs.push(s);
            }
        }
        let layers = self.layers.into_iter().map(Some).collect();
        let infos = plan.layers.clone();
        let (net, _) = compact(&plan, kernels, &alias, uses, layers, infos);
        (net, fused)
    }

    /// Builds the CPU kernels of the one-group convolutions; returns the net and how
    /// many run on Winograd and on gemm.
    fn build_host_kernels(self) -> (Net<B>, [usize; 2]) {
        let mut plan = self.plan().clone();
        let mut host: Vec<Option<HostStep>> = vec![None; plan.steps.len()];
        let mut counts = [0, 0];
        for (i, step) in plan.steps.iter_mut().enumerate() {
            let shape = step.shape;
            if let &Kernel::MaxPool {
                kernel,
                stride,
                padding,
            } = &step.kernel
            {
                let pool = MaxPool2d {
                    kernel,
                    stride,
                    padding,
                };
                host[i] = pool.is_supported().then_some(HostStep::MaxPool(pool));
                continue;
            }
            let (
                Kernel::Conv {
                    stride,
                    padding,
                    dilation,
                    groups: 1,
                    cpu,
                    ..
                },
                Some(layer),
            ) = (&mut step.kernel, step.layer)
            else {
                continue;
            };
            let Layer::Conv(conv) = &self.layers[layer] else {
                continue;
            };
            let Some((weight, bias)) = conv_values(conv) else {
                continue;
            };
            let [out, inp, kh, kw] = conv.weight.dims();
            let (kernel, chosen) = if [kh, kw] == [3, 3]
                && *stride == [1, 1]
                && *padding == [1, 1]
                && *dilation == [1, 1]
            {
                let tile = tile_for(shape);
                counts[0] += 1;
                let winograd = Winograd3x3::new(tile, &weight, out, inp);
                (CpuConv::Winograd(winograd), CpuKernel::Winograd(tile))
            } else {
                counts[1] += 1;
                let gemm = Conv2d::new(&weight, [out, inp], [kh, kw], *stride, *padding, *dilation);
                (CpuConv::Gemm(gemm), CpuKernel::Gemm)
            };
            *cpu = Some(chosen);
            host[i] = Some(HostStep::Conv(HostConv {
                kernel: Arc::new(kernel),
                bias: bias.map(Arc::new),
            }));
        }
        let layers = self.layers;
        (
            Net::from_parts(layers, Arc::new(plan)).with_host(host),
            counts,
        )
    }
}

/// A conv's weights and bias as `f32`s (`None` if the backend stores another type).
fn conv_values<B: Backend>(conv: &Conv<B>) -> Option<(Vec<f32>, Option<Vec<f32>>)> {
    let weight = conv.weight.val().into_data().into_vec::<f32>().ok()?;
    let bias = match &conv.bias {
        Some(b) => Some(b.val().into_data().into_vec::<f32>().ok()?),
        None => None,
    };
    Some((weight, bias))
}

/// Runs a selected convolution on `x` (`[N, C, H, W]`, f32 on the CPU); `shape` is the
/// step's output shape `[K, OH, OW]`.
pub(super) fn conv<B: Backend>(
    host: &HostConv,
    x: Tensor<B, 4>,
    residual: Option<Tensor<B, 4>>,
    shape: [usize; 3],
    relu: bool,
) -> Tensor<B, 4> {
    let [n, _, h, w] = x.dims();
    let residual = residual.map(|r| contiguous(flex_tensor(r)));
    let epilogue = Epilogue {
        bias: host.bias.as_deref().map(Vec::as_slice),
        residual: residual.as_ref().map(f32_slice),
        relu,
    };
    on_host(x, shape, |input, out| match &*host.kernel {
        CpuConv::Winograd(conv) => conv.forward(input, [n, h, w], epilogue, out),
        CpuConv::Gemm(conv) => conv.forward(input, [n, h, w], epilogue, out),
    })
}

/// Runs a max pooling on `x` (`[N, C, H, W]`, f32 on the CPU) into the step's output
/// shape `[C, OH, OW]`.
pub(super) fn max_pool<B: Backend>(
    pool: &MaxPool2d,
    x: Tensor<B, 4>,
    shape: [usize; 3],
) -> Tensor<B, 4> {
    let [n, c, h, w] = x.dims();
    on_host(x, shape, |input, out| {
        pool.forward(input, [n * c, h, w], out)
    })
}

/// Runs `kernel` on `x`'s values, read in place (no copy even when other steps still
/// hold the tensor), into a new tensor of `N` samples of `shape`.
fn on_host<B: Backend>(
    x: Tensor<B, 4>,
    [c, h, w]: [usize; 3],
    kernel: impl FnOnce(&[f32], &mut [f32]),
) -> Tensor<B, 4> {
    let n = x.dims()[0];
    let x = contiguous(flex_tensor(x));
    let mut out = vec![0.0f32; n * c * h * w];
    kernel(f32_slice(&x), &mut out);
    let y = Tensor::<Flex, 4>::from_data(TensorData::new(out, [n, c, h, w]), &Default::default());
    let any: Box<dyn Any> = Box::new(y);
    *any.downcast::<Tensor<B, 4>>()
        .expect("kernel selection runs only on the flex backend")
}

fn f32_slice(x: &FlexTensor) -> &[f32] {
    x.as_slice::<f32>()
        .expect("kernel selection runs only on f32 tensors")
}

/// `x`, or a contiguous copy where it is a strided view.
fn contiguous(x: FlexTensor) -> FlexTensor {
    if x.as_slice::<f32>().is_some() {
        x
    } else {
        x.to_contiguous()
    }
}

/// The flex tensor behind `x` (kernel selection checked that `B` is flex).
fn flex_tensor<B: Backend>(x: Tensor<B, 4>) -> FlexTensor {
    let any: Box<dyn Any> = Box::new(x);
    let x = any
        .downcast::<Tensor<Flex, 4>>()
        .expect("kernel selection runs only on the flex backend");
    x.into_primitive().tensor()
}
