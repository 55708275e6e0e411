//! Kernel selection, the last inference pass: on the CPU backend (flex, f32), the
//! convolutions with one group run on `resc_kernels` instead of Burn's convolution —
//! 3×3 with stride 1 and padding 1 on the Winograd kernel (4× fewer multiplications),
//! the others (the stem, strided and 1×1 convolutions) on blocked im2col + gemm. Their
//! weights are put in the kernel's form once, here, and the bias and fused ReLU that the
//! folding passes left on the step become the kernel's epilogue, applied while the
//! output is in cache. Max pooling (the ResNet stem's) runs on the kernels' row-wise
//! pooling too.
//!
//! A residual addition fused into a conv by `fuse_adds` is done in that epilogue too.
//!
//! The selection runs after every other pass, because folding, branch merging and
//! residual removal rewrite the convolutions' weights; a net whose weights change
//! afterwards (loading a record into it) must be folded again. On any other backend
//! (CUDA; autodiff, for training) the pass changes nothing.

use super::FoldReport;
use crate::lower::host::tile_for;
use crate::lower::host::{is_host_backend, CpuConv, HostConv, HostStep};
use crate::lower::layers::{Conv, Layer};
use crate::lower::plan::{CpuKernel, Kernel};
use crate::lower::Net;
use burn::tensor::backend::Backend;
use resc_kernels::{Conv2d, MaxPool2d, Winograd3x3};
use std::sync::Arc;

/// Builds the CPU kernels of the one-group convolutions and of max pooling, counting
/// the convolutions on Winograd and on gemm into `report`; on the CPU backend only.
pub(super) fn run<B: Backend>(net: Net<B>, report: &mut FoldReport) -> Net<B> {
    if !is_host_backend::<B>() {
        return net;
    }
    let mut plan = net.plan().clone();
    let mut host: Vec<Option<HostStep>> = vec![None; plan.steps.len()];
    let mut counts = [0, 0];
    for (i, step) in plan.steps.iter_mut().enumerate() {
        let shape = step.shape;
        if let &Kernel::MaxPool {
            kernel,
            stride,
            padding,
            ceil_mode,
        } = &step.kernel
        {
            // The host kernel computes floor-mode sizes only: `ceil_mode` stays on Burn's.
            if ceil_mode {
                continue;
            }
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
        let Layer::Conv(conv) = &net.layers[layer] else {
            continue;
        };
        let Some((weight, bias)) = conv_values(conv) else {
            continue;
        };
        let [out, inp, kh, kw] = conv.weight.dims();
        let (kernel, chosen) =
            if [kh, kw] == [3, 3] && *stride == [1, 1] && *padding == [1, 1] && *dilation == [1, 1]
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
    report.winograd += counts[0];
    report.gemm += counts[1];
    Net::from_parts(net.layers, Arc::new(plan)).with_host(host)
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
