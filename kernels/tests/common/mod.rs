//! Shared by the kernel tests: deterministic values, the reference convolution, the error.
// Each test binary uses part of this module.
#![allow(dead_code)]

use resc_kernels::Epilogue;

/// A small deterministic generator (xorshift), values in [-1, 1).
pub struct Values(pub u64);

impl Values {
    pub fn take(&mut self, len: usize) -> Vec<f32> {
        (0..len)
            .map(|_| {
                self.0 ^= self.0 << 13;
                self.0 ^= self.0 >> 7;
                self.0 ^= self.0 << 17;
                (self.0 >> 40) as f32 / (1u64 << 23) as f32 - 1.0
            })
            .collect()
    }
}

/// A convolution's geometry: kernel, stride, padding, dilation (square).
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub kernel: usize,
    pub stride: usize,
    pub padding: usize,
    pub dilation: usize,
}

impl Geometry {
    pub fn out(&self, len: usize) -> usize {
        (len + 2 * self.padding).saturating_sub(self.dilation * (self.kernel - 1) + 1) / self.stride
            + 1
    }
}

/// The direct convolution in f64, one group.
pub fn direct(
    x: &[f32],
    weight: &[f32],
    [n, c_n, h, w]: [usize; 4],
    k_n: usize,
    g: Geometry,
    ep: Epilogue<'_>,
) -> Vec<f32> {
    let (oh, ow, r) = (g.out(h), g.out(w), g.kernel);
    let mut out = vec![0.0f32; n * k_n * oh * ow];
    for img in 0..n {
        for k in 0..k_n {
            for oy in 0..oh {
                for ox in 0..ow {
                    let mut acc = ep.bias.map_or(0.0, |b| b[k] as f64);
                    for c in 0..c_n {
                        for i in 0..r {
                            for j in 0..r {
                                let iy = (oy * g.stride + i * g.dilation).wrapping_sub(g.padding);
                                let ix = (ox * g.stride + j * g.dilation).wrapping_sub(g.padding);
                                if iy < h && ix < w {
                                    acc += weight[((k * c_n + c) * r + i) * r + j] as f64
                                        * x[((img * c_n + c) * h + iy) * w + ix] as f64;
                                }
                            }
                        }
                    }
                    let at = ((img * k_n + k) * oh + oy) * ow + ox;
                    if let Some(res) = ep.residual {
                        acc += res[at] as f64;
                    }
                    out[at] = if ep.relu {
                        acc.max(0.0) as f32
                    } else {
                        acc as f32
                    };
                }
            }
        }
    }
    out
}

/// The largest difference relative to the largest reference value.
pub fn relative_error(got: &[f32], want: &[f32]) -> f32 {
    let scale = want.iter().fold(0.0f32, |m, v| m.max(v.abs())).max(1e-6);
    got.iter()
        .zip(want)
        .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()))
        / scale
}

/// The property tests' configuration: `cases` cases from a fixed `seed`, so that
/// `cargo test` is deterministic, unless `PROPTEST_CASES` or `PROPTEST_RNG_SEED` says
/// otherwise (to hunt longer); failing cases are not written to disk.
pub fn proptest_config(cases: u32, seed: u64) -> proptest::test_runner::Config {
    let mut config = proptest::test_runner::Config::default();
    if std::env::var_os("PROPTEST_CASES").is_none() {
        config.cases = cases;
    }
    if std::env::var_os("PROPTEST_RNG_SEED").is_none() {
        config.rng_seed = proptest::test_runner::RngSeed::Fixed(seed);
    }
    config.failure_persistence = None;
    config
}
