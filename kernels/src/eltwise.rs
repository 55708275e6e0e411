//! Elementwise training kernels: the residual addition fused with the ReLU after it,
//! and the ReLU's backward (the gradient where the output was positive).

use rayon::prelude::*;

/// Values per parallel item: large enough to amortise the scheduling.
const CHUNK: usize = 1 << 14;

/// `out = max(a + b, 0)`.
pub fn add_relu(a: &[f32], b: &[f32], out: &mut [f32]) {
    assert!(
        a.len() == out.len() && b.len() == out.len(),
        "operands of one shape"
    );
    out.par_chunks_mut(CHUNK)
        .zip(a.par_chunks(CHUNK).zip(b.par_chunks(CHUNK)))
        .for_each(|(out, (a, b))| {
            crate::simd(
                #[inline(always)]
                || {
                    for ((o, &a), &b) in out.iter_mut().zip(a).zip(b) {
                        *o = (a + b).max(0.0);
                    }
                },
            )
        });
}

/// `dx = dy` where `y > 0`, else 0: the gradient through a ReLU whose output is `y`.
pub fn relu_backward(dy: &[f32], y: &[f32], dx: &mut [f32]) {
    assert!(
        dy.len() == dx.len() && y.len() == dx.len(),
        "operands of one shape"
    );
    dx.par_chunks_mut(CHUNK)
        .zip(dy.par_chunks(CHUNK).zip(y.par_chunks(CHUNK)))
        .for_each(|(dx, (dy, y))| {
            crate::simd(
                #[inline(always)]
                || {
                    for ((d, &g), &y) in dx.iter_mut().zip(dy).zip(y) {
                        *d = if y > 0.0 { g } else { 0.0 };
                    }
                },
            )
        });
}
