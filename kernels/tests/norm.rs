//! Training-mode BatchNorm (+ ReLU) forward and backward against f64 references.
//! Tolerance: 1e-5 of the largest reference value (the outputs are normalised, O(1)).

mod common;

use common::{relative_error, Values};
use proptest::prelude::*;
use resc_kernels::{batch_norm_backward, batch_norm_forward};

struct Reference {
    y: Vec<f32>,
    mean: Vec<f32>,
    var: Vec<f32>,
    dx: Vec<f32>,
    dgamma: Vec<f32>,
    dbeta: Vec<f32>,
}

/// The forward and backward of `relu?(γ·x̂ + β)` in f64, straight from the definitions
/// (the backward as the chain rule through mean and variance, not the closed form the
/// kernel uses).
fn reference(
    x: &[f32],
    dy: &[f32],
    [n, c, plane]: [usize; 3],
    gamma: &[f32],
    beta: &[f32],
    eps: f64,
    relu: bool,
) -> Reference {
    let m = (n * plane) as f64;
    let at = |s: usize, k: usize, i: usize| (s * c + k) * plane + i;
    let mut r = Reference {
        y: vec![0.0; x.len()],
        mean: vec![0.0; c],
        var: vec![0.0; c],
        dx: vec![0.0; x.len()],
        dgamma: vec![0.0; c],
        dbeta: vec![0.0; c],
    };
    for k in 0..c {
        let idx: Vec<usize> = (0..n)
            .flat_map(|s| (0..plane).map(move |i| at(s, k, i)))
            .collect();
        let mean = idx.iter().map(|&i| x[i] as f64).sum::<f64>() / m;
        let var = idx
            .iter()
            .map(|&i| (x[i] as f64 - mean).powi(2))
            .sum::<f64>()
            / m;
        let std = (var + eps).sqrt();
        let (g, b) = (gamma[k] as f64, beta[k] as f64);
        // g_i: the gradient after the ReLU's mask, at the affine output.
        let mut grad = Vec::with_capacity(idx.len());
        for &i in &idx {
            let xhat = (x[i] as f64 - mean) / std;
            let z = g * xhat + b;
            let out = if relu { z.max(0.0) } else { z };
            r.y[i] = out as f32;
            grad.push(if relu && z <= 0.0 { 0.0 } else { dy[i] as f64 });
        }
        // Chain rule: z = g·(x − μ)/σ + b with μ, σ functions of every x.
        let dxhat: Vec<f64> = grad.iter().map(|d| d * g).collect();
        let dvar: f64 = idx
            .iter()
            .zip(&dxhat)
            .map(|(&i, d)| d * (x[i] as f64 - mean) * -0.5 * std.powi(-3))
            .sum();
        let dmean: f64 = dxhat.iter().map(|d| -d / std).sum::<f64>()
            + dvar
                * idx
                    .iter()
                    .map(|&i| -2.0 * (x[i] as f64 - mean))
                    .sum::<f64>()
                / m;
        for (j, &i) in idx.iter().enumerate() {
            r.dx[i] = (dxhat[j] / std + dvar * 2.0 * (x[i] as f64 - mean) / m + dmean / m) as f32;
        }
        r.dgamma[k] = idx
            .iter()
            .zip(&grad)
            .map(|(&i, d)| d * (x[i] as f64 - mean) / std)
            .sum::<f64>() as f32;
        r.dbeta[k] = grad.iter().sum::<f64>() as f32;
        r.mean[k] = mean as f32;
        r.var[k] = var as f32;
    }
    r
}

/// The largest of the relative errors of y, mean, var, dx, dγ, dβ.
fn check([n, c, plane]: [usize; 3], relu: bool, affine: bool, offset: f32, seed: u64) -> f32 {
    let mut values = Values(seed | 1);
    // An offset of the inputs: the statistics must not cancel when the mean is large.
    let x: Vec<f32> = values
        .take(n * c * plane)
        .iter()
        .map(|v| v + offset)
        .collect();
    let dy = values.take(x.len());
    let (gamma, beta) = if affine {
        (values.take(c), values.take(c))
    } else {
        (vec![1.0; c], vec![0.0; c])
    };
    let eps = 1e-5;
    let want = reference(&x, &dy, [n, c, plane], &gamma, &beta, eps as f64, relu);
    let affine_args = |v: &[f32]| -> Option<Vec<f32>> { affine.then(|| v.to_vec()) };
    let (g, b) = (affine_args(&gamma), affine_args(&beta));
    let mut y = vec![f32::NAN; x.len()];
    let stats = batch_norm_forward(
        &x,
        [n, c, plane],
        g.as_deref(),
        b.as_deref(),
        eps,
        relu,
        &mut y,
    );
    let mut dx = vec![f32::NAN; x.len()];
    let (dgamma, dbeta) = batch_norm_backward(
        &dy,
        &x,
        &stats,
        [n, c, plane],
        g.as_deref(),
        b.as_deref(),
        eps,
        relu,
        &mut dx,
    );
    [
        relative_error(&y, &want.y),
        floored_error(&stats.mean, &want.mean),
        relative_error(&stats.var, &want.var),
        relative_error(&dx, &want.dx),
        // The mean, dγ and dβ are sums of O(1) terms that may cancel: their error is
        // measured against 1 where they come out smaller.
        floored_error(&dgamma, &want.dgamma),
        floored_error(&dbeta, &want.dbeta),
    ]
    .into_iter()
    .fold(0.0, f32::max)
}

/// The largest difference relative to the largest reference value or 1.
fn floored_error(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(1.0f32, |m, v| m.max(v.abs()));
    relative_error(got, want) * want.iter().fold(1e-6f32, |m, v| m.max(v.abs())) / scale
}

#[test]
fn residual_network_batch_norms_match_the_reference() {
    for (shape, relu, affine, offset) in [
        ([8, 16, 64], true, true, 0.0),   // ResNet-20's last stage, smaller
        ([2, 4, 1000], false, true, 0.0), // planes of several runs
        ([4, 3, 49], true, false, 0.0),   // no affine parameters
        ([3, 5, 20], false, true, 100.0), // a large mean
        ([1, 2, 1], false, true, 0.0),    // one value per sample
    ] {
        let error = check(shape, relu, affine, offset, 9);
        assert!(
            error < 1e-5,
            "{shape:?} relu {relu} affine {affine}: {error:e}"
        );
    }
}

proptest! {
    #![proptest_config(common::proptest_config(64, 0xb0b0_2026))]
    #[test]
    fn random_shapes_match(
        n in 1usize..6, c in 1usize..6, plane in 1usize..300,
        relu in any::<bool>(), affine in any::<bool>(), seed in any::<u64>(),
    ) {
        // At least two values per channel: one value has no variance to normalise by.
        prop_assume!(n * plane > 1);
        let error = check([n, c, plane], relu, affine, 0.0, seed);
        prop_assert!(error < 1e-5, "{:?}: {:e}", [n, c, plane], error);
    }
}
