//! CPU inference kernels for resc's folded networks, on plain `f32` buffers in NCHW
//! layout: no Burn, no IR, no knowledge of model files.
//!
//! Architecture invariant: this crate knows nothing of resc. `resc::lower` decides which
//! steps of an execution plan run here (after the inference passes have folded BN, λ and
//! α into the convolutions) and hands over the weights once, when the plan is built; the
//! kernels keep whatever pre-transformed form of the weights makes them fast.
//!
//! - [`Winograd3x3`]: 3×3, stride-1, padding-1 convolution by Winograd's minimal
//!   filtering F(m×m, 3×3) (Lavin & Gray, 2016), m = 2 or 4: the weights are transformed
//!   once, each tile of the input is transformed, the per-tile products become
//!   (m+2)² matrix products over the channels (the `gemm` crate), and the output
//!   transform applies the [`Epilogue`] (bias, a residual to add, ReLU) while it writes.
//!   F(4×4, 3×3) does 4× fewer multiplications than the direct convolution, F(2×2, 3×3)
//!   2.25× fewer.
//!
//! - [`Conv2d`]: any other convolution with one group (the 7×7 stem, strided and 1×1
//!   convolutions) as matrix products over blocks of output positions, with the same
//!   epilogue applied to each block while it is in cache.
//!
//! - [`MaxPool2d`]: max pooling, rows first (the ResNet stem's 3×3/2 pooling).
//!
//! The kernels run on rayon's thread pool (blocks of tile rows in parallel; each block's
//! matrix products on one thread).

mod direct;
mod eltwise;
mod grad;
mod norm;
mod pool;
mod winograd;

pub use direct::Conv2d;
pub use eltwise::{add_relu, relu_backward};
pub use norm::{batch_norm_backward, batch_norm_forward, BatchStats};
pub use pool::MaxPool2d;
pub use winograd::{Tile, Winograd3x3};

/// What is applied to every output value `z = conv(x)[n, k, y, x]`, in this order:
/// `z + bias[k]`, `+ residual[n, k, y, x]`, then `max(·, 0)` if `relu`.
#[derive(Clone, Copy, Debug, Default)]
pub struct Epilogue<'a> {
    /// One value per output channel.
    pub bias: Option<&'a [f32]>,
    /// A tensor of the output's shape added before the ReLU (a residual's shortcut).
    pub residual: Option<&'a [f32]>,
    pub relu: bool,
}

impl Epilogue<'_> {
    /// Checks a kernel's buffers, each `[actual, expected]` length, and the epilogue's
    /// tensors against `channels` output channels.
    fn check(&self, [x, x_expected]: [usize; 2], [out, out_expected]: [usize; 2], channels: usize) {
        assert_eq!(x, x_expected, "an input of [n, in, h, w]");
        assert_eq!(out, out_expected, "an output of [n, out, oh, ow]");
        if let Some(bias) = self.bias {
            assert_eq!(bias.len(), channels, "one bias per output channel");
        }
        if let Some(residual) = self.residual {
            assert_eq!(residual.len(), out, "a residual of the output's shape");
        }
    }
}

/// Applies the epilogue to `dst`, a run of channel `k`'s outputs that starts at flat
/// output index `at`.
#[inline(always)]
fn apply_epilogue(dst: &mut [f32], k: usize, at: usize, epilogue: Epilogue<'_>) {
    if let Some(bias) = epilogue.bias {
        let b = bias[k];
        dst.iter_mut().for_each(|d| *d += b);
    }
    if let Some(residual) = epilogue.residual {
        let len = dst.len();
        for (d, &v) in dst.iter_mut().zip(&residual[at..][..len]) {
            *d += v;
        }
    }
    if epilogue.relu {
        dst.iter_mut().for_each(|d| *d = d.max(0.0));
    }
}

/// The output pointer, shared by the workers of a kernel (each writes its own part).
#[derive(Clone, Copy)]
struct SharedOut(*mut f32);

// SAFETY: the kernels hand the pointer to workers that write disjoint parts of one
// buffer, which outlives the parallel loop.
unsafe impl Send for SharedOut {}
unsafe impl Sync for SharedOut {}

impl SharedOut {
    fn get(self) -> *mut f32 {
        self.0
    }
}

/// Runs `f` compiled for the widest vector instructions this CPU has (AVX-512, else
/// AVX2 + FMA, else the build's baseline), chosen at run time: `f`'s body, inlined into
/// one of three copies of this function, is vectorised for each. Hot loops call it
/// once per block of work and mark their helpers `#[inline(always)]` so that they are
/// compiled into the copy too.
#[inline(always)]
pub(crate) fn simd<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    {
        if std::arch::is_x86_feature_detected!("avx512f") {
            // SAFETY: the CPU has the features the copy is compiled for.
            return unsafe { x86::v4(f) };
        }
        if std::arch::is_x86_feature_detected!("avx2") && std::arch::is_x86_feature_detected!("fma")
        {
            // SAFETY: as above.
            return unsafe { x86::v3(f) };
        }
    }
    f()
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    /// `f` with AVX-512 (x86-64-v4).
    #[target_feature(enable = "avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    pub(crate) unsafe fn v4<R>(f: impl FnOnce() -> R) -> R {
        f()
    }

    /// `f` with AVX2 and FMA (x86-64-v3).
    #[target_feature(enable = "avx2,fma,bmi1,bmi2,lzcnt,popcnt")]
    pub(crate) unsafe fn v3<R>(f: impl FnOnce() -> R) -> R {
        f()
    }
}
