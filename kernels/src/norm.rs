//! BatchNorm in training mode, optionally fused with the ReLU after it, forward and
//! backward, on `[n, c, plane]` buffers.
//!
//! Channels run in parallel; each channel takes two passes over its `n` planes forward
//! (the sums, in f64, then the normalised output) and two backward (the sums of the
//! masked gradient and of its product with x̂, then the input gradient):
//!
//! `dx = γ/σ · (g − Σg/M − x̂ · Σ(g·x̂)/M)`, `dγ = Σ(g·x̂)`, `dβ = Σg`, with
//! `M = n · plane`, `σ = √(var + eps)`, `x̂ = (x − mean)/σ`, and `g = dy` where the output
//! is positive (all of `dy` without the ReLU).

use crate::SharedOut;
use rayon::prelude::*;

/// The batch statistics of a training-mode BatchNorm, one value per channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchStats {
    pub mean: Vec<f32>,
    /// The biased variance (divided by `n · plane`), which normalises.
    pub var: Vec<f32>,
}

/// `y = γ·(x − mean)/√(var + eps) + β` with the batch's statistics, then `max(y, 0)`
/// when `relu`; `gamma`/`beta` `None` mean 1/0. Returns the statistics.
pub fn batch_norm_forward(
    x: &[f32],
    [n, c, plane]: [usize; 3],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
    relu: bool,
    y: &mut [f32],
) -> BatchStats {
    check([x.len(), y.len()], [n, c, plane], [gamma, beta]);
    let count = (n * plane).max(1) as f64;
    let out = SharedOut(y.as_mut_ptr());
    let (mean, var): (Vec<f32>, Vec<f32>) = (0..c)
        .into_par_iter()
        .map(|k| {
            // Shifted by the channel's first value, so that E[x²] − mean² does not cancel
            // when the mean is large against the spread.
            let shift0 = x.get(k * plane).copied().unwrap_or(0.0);
            let (mut sum, mut squares) = (0.0f64, 0.0f64);
            for s in 0..n {
                let (a, b) = runs(&x[(s * c + k) * plane..][..plane], |_, v| {
                    let d = v - shift0;
                    (d, d * d)
                });
                sum += a;
                squares += b;
            }
            let centred = sum / count;
            let mean = shift0 as f64 + centred;
            let var = (squares / count - centred * centred).max(0.0);
            let scale = gamma.map_or(1.0, |g| g[k] as f64) / (var + eps as f64).sqrt();
            let shift = beta.map_or(0.0, |b| b[k] as f64) - mean * scale;
            let (scale, shift) = (scale as f32, shift as f32);
            for s in 0..n {
                let at = (s * c + k) * plane;
                // SAFETY: channel k's planes belong to this item alone, inside y
                // (checked above).
                let dst = unsafe { std::slice::from_raw_parts_mut(out.get().add(at), plane) };
                for (d, &v) in dst.iter_mut().zip(&x[at..][..plane]) {
                    let z = v * scale + shift;
                    *d = if relu { z.max(0.0) } else { z };
                }
            }
            (mean as f32, var as f32)
        })
        .unzip();
    BatchStats { mean, var }
}

/// The gradients of [`batch_norm_forward`]: writes `dx` and returns `(dγ, dβ)`. `y` is
/// the forward's output, whose sign masks `dy` when `relu`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    dy: &[f32],
    x: &[f32],
    y: &[f32],
    stats: &BatchStats,
    [n, c, plane]: [usize; 3],
    gamma: Option<&[f32]>,
    eps: f32,
    relu: bool,
    dx: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    check([x.len(), dx.len()], [n, c, plane], [gamma, None]);
    assert_eq!(dy.len(), x.len(), "an output gradient of the input's shape");
    assert!(
        !relu || y.len() == x.len(),
        "the forward's output, for the ReLU's mask"
    );
    assert!(
        stats.mean.len() == c && stats.var.len() == c,
        "one statistic per channel"
    );
    let count = (n * plane).max(1) as f64;
    let out = SharedOut(dx.as_mut_ptr());
    let masked = |at: usize, i: usize| -> f32 {
        if relu && y[at + i] <= 0.0 {
            0.0
        } else {
            dy[at + i]
        }
    };
    (0..c)
        .into_par_iter()
        .map(|k| {
            let mean = stats.mean[k];
            let inv_std = 1.0 / (stats.var[k] as f64 + eps as f64).sqrt();
            // Σg and Σg·(x − mean), then the x̂ form of the latter.
            let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
            for s in 0..n {
                let at = (s * c + k) * plane;
                let (a, b) = runs(&x[at..][..plane], |i, v| {
                    (masked(at, i), masked(at, i) * (v - mean))
                });
                sum_g += a;
                sum_gx += b;
            }
            let dgamma = sum_gx * inv_std;
            let g_scale = gamma.map_or(1.0, |g| g[k] as f64) * inv_std;
            // dx = g_scale·g − g_scale·Σg/M − g_scale·(x − mean)·inv_std·dγ/M
            let (a, b) = (g_scale as f32, (g_scale * dgamma * inv_std / count) as f32);
            let shift = (-g_scale * sum_g / count) as f32;
            for s in 0..n {
                let at = (s * c + k) * plane;
                // SAFETY: channel k's planes belong to this item alone, inside dx
                // (checked above).
                let dst = unsafe { std::slice::from_raw_parts_mut(out.get().add(at), plane) };
                for (i, d) in dst.iter_mut().enumerate() {
                    *d = a * masked(at, i) + shift - b * (x[at + i] - mean);
                }
            }
            (dgamma as f32, sum_g as f32)
        })
        .unzip()
}

/// The sums of `f(i, x[i])`'s two terms over a plane: f32 within runs of 256, f64
/// across them.
fn runs(plane: &[f32], f: impl Fn(usize, f32) -> (f32, f32)) -> (f64, f64) {
    let (mut sum, mut other) = (0.0f64, 0.0f64);
    for (r, run) in plane.chunks(256).enumerate() {
        let (a, b) = run
            .iter()
            .enumerate()
            .fold((0.0f32, 0.0f32), |(a, b), (i, &v)| {
                let (p, q) = f(r * 256 + i, v);
                (a + p, b + q)
            });
        sum += a as f64;
        other += b as f64;
    }
    (sum, other)
}

fn check([x, y]: [usize; 2], [n, c, plane]: [usize; 3], affine: [Option<&[f32]>; 2]) {
    assert_eq!(x, n * c * plane, "an input of [n, c, plane]");
    assert_eq!(y, x, "an output of the input's shape");
    for v in affine.into_iter().flatten() {
        assert_eq!(v.len(), c, "one affine parameter per channel");
    }
}
