//! The CPU kernels a step may run on, chosen by the kernel-selection pass
//! (`passes::select_kernels`) on the CPU backend (flex, f32): convolutions on
//! `resc_kernels`' Winograd or im2col + gemm kernels, with their bias, fused ReLU and
//! fused residual addition applied in the kernel's epilogue, and max pooling on its
//! row-wise pooling. This module holds the kernels' per-step state and runs them on a
//! step's tensors, read in place; which step gets which kernel is the pass's business.
//! On any other backend (CUDA, wgpu; autodiff, for training) no step has one.

use burn::backend::flex::FlexTensor;
use burn::backend::Flex;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use resc_kernels::{Conv2d, Epilogue, MaxPool2d, Tile, Winograd3x3};
use std::any::{Any, TypeId};
use std::sync::Arc;

/// A convolution's weights in a CPU kernel's form.
#[derive(Debug)]
pub(crate) enum CpuConv {
    Winograd(Winograd3x3),
    Gemm(Conv2d),
}

/// A step that runs on `resc_kernels`.
#[derive(Clone, Debug)]
pub(crate) enum HostStep {
    Conv(HostConv),
    MaxPool(MaxPool2d),
}

/// A convolution step that runs on `resc_kernels`: its weights in the kernel's form and
/// its bias.
#[derive(Clone, Debug)]
pub(crate) struct HostConv {
    pub kernel: Arc<CpuConv>,
    pub bias: Option<Arc<Vec<f32>>>,
}

/// True when `B` is the backend whose tensors the CPU kernels read in place (flex).
pub(crate) fn is_host_backend<B: Backend>() -> bool {
    TypeId::of::<B>() == TypeId::of::<Flex>()
}

/// The Winograd tile for a map of `h × w`: F(4×4, 3×3) does 4× fewer multiplications
/// than the direct convolution; on maps smaller than one such tile most of its work
/// would be padding, so they take F(2×2, 3×3) (2.25× fewer).
pub(crate) fn tile_for([_, h, w]: [usize; 3]) -> Tile {
    if h >= 4 && w >= 4 {
        Tile::F4x4
    } else {
        Tile::F2x2
    }
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

pub(super) fn f32_slice(x: &FlexTensor) -> &[f32] {
    x.as_slice::<f32>()
        .expect("kernel selection runs only on f32 tensors")
}

/// `x`, or a contiguous copy where it is a strided view.
pub(super) fn contiguous(x: FlexTensor) -> FlexTensor {
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

/// Tunes the C allocator for tensor work; called once at the start of the commands that
/// run networks (`resc run`, `eval`, `infer`) and of the training benchmarks.
///
/// A training step frees and re-allocates the same large buffers (activations,
/// gradients, im2col and Winograd scratch) every step. glibc's malloc serves blocks above
/// its mmap threshold from fresh `mmap`s and returns the top of the heap to the system
/// above its trim threshold, so every step page-faulted and zero-filled those buffers
/// anew. Serving blocks up to 32 MiB (glibc's largest threshold) from the heap, and never
/// trimming it, keeps the pages: measured on ResNet-20 (b128), the kernel time of a
/// training step fell from ~70 to ~15 ms. The process's peak memory stays what the
/// largest step needs; it is just not handed back between steps. Other allocators (musl,
/// macOS, Windows) are left as they are.
pub fn tune_allocator() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: `mallopt` only sets the allocator's parameters; it is thread-safe.
    unsafe {
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 << 20);
        libc::mallopt(libc::M_TRIM_THRESHOLD, i32::MAX);
        libc::mallopt(libc::M_TOP_PAD, 64 << 20);
    }
}
