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
//!
//! The backward reads only `dy` and `x`: where the ReLU's output was positive is
//! recomputed from `x` with the forward's own per-channel scale and shift (the same f32
//! arithmetic, so the same mask bit for bit), so the output need not be kept.

use crate::SharedOut;
use rayon::prelude::*;

/// The batch statistics of a training-mode BatchNorm, one value per channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchStats {
    pub mean: Vec<f32>,
    /// The biased variance (divided by `n · plane`), which normalises.
    pub var: Vec<f32>,
}

/// Channel k's `y = x·scale + shift`: `scale = γ/√(var + eps)`, `shift = β − mean·scale`,
/// from the f32 statistics (forward and backward compute it alike).
fn affine(
    stats: (f32, f32),
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
    k: usize,
) -> (f32, f32) {
    let (mean, var) = (stats.0 as f64, stats.1 as f64);
    let scale = gamma.map_or(1.0, |g| g[k] as f64) / (var + eps as f64).sqrt();
    let shift = beta.map_or(0.0, |b| b[k] as f64) - mean * scale;
    (scale as f32, shift as f32)
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
            crate::simd(
                #[inline(always)]
                || {
                    // Shifted by the channel's first value, so that E[x²] − mean² does not
                    // cancel when the mean is large against the spread.
                    let shift0 = x.get(k * plane).copied().unwrap_or(0.0);
                    let (mut sum, mut squares) = (0.0f64, 0.0f64);
                    for s in 0..n {
                        let xs = &x[(s * c + k) * plane..][..plane];
                        let (a, b) = sums([xs, xs], |v, _| {
                            let d = v - shift0;
                            (d, d * d)
                        });
                        sum += a;
                        squares += b;
                    }
                    let centred = sum / count;
                    let stats = (
                        (shift0 as f64 + centred) as f32,
                        (squares / count - centred * centred).max(0.0) as f32,
                    );
                    let (scale, shift) = affine(stats, gamma, beta, eps, k);
                    for s in 0..n {
                        let at = (s * c + k) * plane;
                        // SAFETY: channel k's planes belong to this item alone, inside y
                        // (checked above).
                        let dst =
                            unsafe { std::slice::from_raw_parts_mut(out.get().add(at), plane) };
                        for (d, &v) in dst.iter_mut().zip(&x[at..][..plane]) {
                            let z = v * scale + shift;
                            *d = if relu { z.max(0.0) } else { z };
                        }
                    }
                    stats
                },
            )
        })
        .unzip();
    BatchStats { mean, var }
}

/// The gradients of [`batch_norm_forward`] (called with the same `gamma`, `beta`, `eps`
/// and `relu`): writes `dx` and returns `(dγ, dβ)`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    dy: &[f32],
    x: &[f32],
    stats: &BatchStats,
    [n, c, plane]: [usize; 3],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
    relu: bool,
    dx: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    check([x.len(), dx.len()], [n, c, plane], [gamma, beta]);
    assert_eq!(dy.len(), x.len(), "an output gradient of the input's shape");
    assert!(
        stats.mean.len() == c && stats.var.len() == c,
        "one statistic per channel"
    );
    let count = (n * plane).max(1) as f64;
    let out = SharedOut(dx.as_mut_ptr());
    (0..c)
        .into_par_iter()
        .map(|k| {
            let (mean, var) = (stats.mean[k], stats.var[k]);
            let channel = Channel {
                k,
                planes: [n, c, plane],
                mean,
                inv_std: 1.0 / (var as f64 + eps as f64).sqrt(),
                gamma: gamma.map_or(1.0, |g| g[k] as f64),
                affine: affine((mean, var), gamma, beta, eps, k),
                count,
            };
            crate::simd(
                #[inline(always)]
                || {
                    if relu {
                        channel.backward::<true>(dy, x, out)
                    } else {
                        channel.backward::<false>(dy, x, out)
                    }
                },
            )
        })
        .unzip()
}

/// One channel of a BatchNorm's backward.
struct Channel {
    k: usize,
    planes: [usize; 3],
    mean: f32,
    inv_std: f64,
    gamma: f64,
    /// The forward's scale and shift, for the ReLU's mask.
    affine: (f32, f32),
    count: f64,
}

impl Channel {
    /// Writes channel k of `dx` (through `out`) and returns `(dγ, dβ)`; `RELU` masks
    /// `dy` where the forward's output was not positive.
    #[inline(always)]
    fn backward<const RELU: bool>(&self, dy: &[f32], x: &[f32], out: SharedOut) -> (f32, f32) {
        let [n, c, plane] = self.planes;
        let (k, mean, inv_std) = (self.k, self.mean, self.inv_std);
        let (scale, shift) = self.affine;
        // The gradient through the ReLU: zero where the output was not positive.
        let masked = |d: f32, x: f32| {
            if RELU && x * scale + shift <= 0.0 {
                0.0
            } else {
                d
            }
        };
        // Σg and Σg·(x − mean), then the x̂ form of the latter.
        let (mut sum_g, mut sum_gx) = (0.0f64, 0.0f64);
        for s in 0..n {
            let at = (s * c + k) * plane;
            let [dy, x] = [dy, x].map(|t| &t[at..][..plane]);
            let (a, b) = sums([dy, x], |d, x| {
                let g = masked(d, x);
                (g, g * (x - mean))
            });
            sum_g += a;
            sum_gx += b;
        }
        let dgamma = sum_gx * inv_std;
        let g_scale = self.gamma * inv_std;
        // dx = g_scale·g − g_scale·Σg/M − g_scale·(x − mean)·inv_std·dγ/M
        let (a, b) = (
            g_scale as f32,
            (g_scale * dgamma * inv_std / self.count) as f32,
        );
        let offset = (-g_scale * sum_g / self.count) as f32;
        for s in 0..n {
            let at = (s * c + k) * plane;
            // SAFETY: channel k's planes belong to this item alone, inside dx (checked
            // by the caller).
            let dst = unsafe { std::slice::from_raw_parts_mut(out.get().add(at), plane) };
            let [dy, x] = [dy, x].map(|t| &t[at..][..plane]);
            for ((d, &g), &x) in dst.iter_mut().zip(dy).zip(x) {
                *d = a * masked(g, x) + offset - b * (x - mean);
            }
        }
        (dgamma as f32, sum_g as f32)
    }
}

/// The sums of `f(u[i], v[i])`'s two terms over two planes of one length: in
/// eight f32 lanes (which the compiler vectorises) within runs of 256 values, in f64
/// across runs.
#[inline(always)]
fn sums([u, v]: [&[f32]; 2], f: impl Fn(f32, f32) -> (f32, f32)) -> (f64, f64) {
    const LANES: usize = 8;
    let (mut first, mut second) = (0.0f64, 0.0f64);
    for (u, v) in u.chunks(256).zip(v.chunks(256)) {
        let (mut a, mut b) = ([0.0f32; LANES], [0.0f32; LANES]);
        let whole = u.len() / LANES * LANES;
        for (u, v) in u[..whole]
            .chunks_exact(LANES)
            .zip(v[..whole].chunks_exact(LANES))
        {
            for l in 0..LANES {
                let (p, q) = f(u[l], v[l]);
                a[l] += p;
                b[l] += q;
            }
        }
        for (&u, &v) in u[whole..].iter().zip(&v[whole..]) {
            let (p, q) = f(u, v);
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
