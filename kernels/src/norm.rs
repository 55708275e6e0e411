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
                let xs = &x[(s * c + k) * plane..][..plane];
                let (a, b) = sums([xs, xs, xs], |v, _, _| {
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
    // The gradient through the ReLU (`y` is its output): zero where it was not positive.
    let masked = |d: f32, y: f32| if relu && y <= 0.0 { 0.0 } else { d };
    // Without the ReLU, `y` is not read: `dy` stands in for it.
    let y = if relu { y } else { dy };
    (0..c)
        .into_par_iter()
        .map(|k| {
            let mean = stats.mean[k];
            let inv_std = 1.0 / (stats.var[k] as f64 + eps as f64).sqrt();
            // Σg and Σg·(x − mean), then the x̂ form of the latter.
            let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
            for s in 0..n {
                let at = (s * c + k) * plane;
                let [dy, y, x] = [dy, y, x].map(|t| &t[at..][..plane]);
                let (a, b) = sums([dy, y, x], |d, y, x| {
                    let g = masked(d, y);
                    (g, g * (x - mean))
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
                let [dy, y, x] = [dy, y, x].map(|t| &t[at..][..plane]);
                for (((d, &g), &y), &x) in dst.iter_mut().zip(dy).zip(y).zip(x) {
                    *d = a * masked(g, y) + shift - b * (x - mean);
                }
            }
            (dgamma as f32, sum_g as f32)
        })
        .unzip()
}

/// The sums of `f(u[i], v[i], w[i])`'s two terms over three planes of one length: in
/// eight f32 lanes (which the compiler vectorises) within runs of 256 values, in f64
/// across runs.
fn sums([u, v, w]: [&[f32]; 3], f: impl Fn(f32, f32, f32) -> (f32, f32)) -> (f64, f64) {
    const LANES: usize = 8;
    let (mut first, mut second) = (0.0f64, 0.0f64);
    for ((u, v), w) in u.chunks(256).zip(v.chunks(256)).zip(w.chunks(256)) {
        let (mut a, mut b) = ([0.0f32; LANES], [0.0f32; LANES]);
        let whole = u.len() / LANES * LANES;
        for ((u, v), w) in u[..whole]
            .chunks_exact(LANES)
            .zip(v[..whole].chunks_exact(LANES))
            .zip(w[..whole].chunks_exact(LANES))
        {
            for l in 0..LANES {
                let (p, q) = f(u[l], v[l], w[l]);
                a[l] += p;
                b[l] += q;
            }
        }
        for ((&u, &v), &w) in u[whole..].iter().zip(&v[whole..]).zip(&w[whole..]) {
            let (p, q) = f(u, v, w);
            a[0] += p;
            b[0] += q;
        }
        first += a.iter().sum::<f32>() as f64;
        second += b.iter().sum::<f32>() as f64;
    }
    (first, second)
}

fn check([x, y]: [usize; 2], [n, c, plane]: [usize; 3], affine: [Option<&[f32]>; 2]) {
    assert_eq!(x, n * c * plane, "an input of [n, c, plane]");
    assert_eq!(y, x, "an output of the input's shape");
    for v in affine.into_iter().flatten() {
        assert_eq!(v.len(), c, "one affine parameter per channel");
    }
}
