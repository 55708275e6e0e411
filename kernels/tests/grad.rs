//! The convolution's gradients against f64 references (the adjoints of the direct
//! convolution), for the geometries of residual networks and random ones. Tolerance:
//! 2e-6 of the largest reference value (f32 sums over at most a few thousand terms) for
//! the fixed cases, 1e-5 for random ones (tiny sums whose largest value is itself a
//! cancellation; an indexing error is O(1)).

mod common;

use common::{relative_error, Geometry, Values};
use proptest::prelude::*;
use resc_kernels::Conv2d;

/// `(dx, dw)` of the convolution of `x` by `weight`, from `dy`, in f64.
fn reference(
    x: &[f32],
    weight: &[f32],
    dy: &[f32],
    [n, c_n, h, w]: [usize; 4],
    k_n: usize,
    g: Geometry,
) -> (Vec<f32>, Vec<f32>) {
    let (oh, ow, r) = (g.out(h), g.out(w), g.kernel);
    let mut dx = vec![0.0f64; x.len()];
    let mut dw = vec![0.0f64; weight.len()];
    for img in 0..n {
        for k in 0..k_n {
            for oy in 0..oh {
                for ox in 0..ow {
                    let d = dy[((img * k_n + k) * oh + oy) * ow + ox] as f64;
                    for c in 0..c_n {
                        for i in 0..r {
                            for j in 0..r {
                                let iy = (oy * g.stride + i * g.dilation).wrapping_sub(g.padding);
                                let ix = (ox * g.stride + j * g.dilation).wrapping_sub(g.padding);
                                if iy < h && ix < w {
                                    let xi = ((img * c_n + c) * h + iy) * w + ix;
                                    let wi = ((k * c_n + c) * r + i) * r + j;
                                    dx[xi] += d * weight[wi] as f64;
                                    dw[wi] += d * x[xi] as f64;
                                }
                            }
                        }
                    }
                }
            }
        }
    }
    let f32s = |v: Vec<f64>| v.into_iter().map(|v| v as f32).collect();
    (f32s(dx), f32s(dw))
}

/// The relative errors of `(dx, dw)`.
fn check([n, c_n, h, w]: [usize; 4], k_n: usize, g: Geometry, seed: u64) -> (f32, f32) {
    let mut values = Values(seed | 1);
    let r = g.kernel;
    let x = values.take(n * c_n * h * w);
    let weight = values.take(k_n * c_n * r * r);
    let dy = values.take(n * k_n * g.out(h) * g.out(w));
    let conv = Conv2d::new(
        &weight,
        [k_n, c_n],
        [r, r],
        [g.stride; 2],
        [g.padding; 2],
        [g.dilation; 2],
    );
    // NaN-filled: every value must be written.
    let mut dx = vec![f32::NAN; x.len()];
    let mut dw = vec![f32::NAN; weight.len()];
    conv.backward_data(&dy, [n, h, w], &mut dx);
    conv.backward_weight(&x, &dy, [n, h, w], &mut dw);
    let (want_dx, want_dw) = reference(&x, &weight, &dy, [n, c_n, h, w], k_n, g);
    (relative_error(&dx, &want_dx), relative_error(&dw, &want_dw))
}

fn geometry(kernel: usize, stride: usize, padding: usize, dilation: usize) -> Geometry {
    Geometry {
        kernel,
        stride,
        padding,
        dilation,
    }
}

#[test]
fn residual_network_convolution_gradients_match_the_reference() {
    for (shape, k, g) in [
        ([2, 3, 32, 32], 16, geometry(7, 2, 3, 1)), // an ImageNet stem, smaller
        ([3, 16, 16, 16], 32, geometry(1, 1, 0, 1)), // bottleneck 1×1 (no patches)
        ([2, 16, 15, 15], 32, geometry(1, 2, 0, 1)), // strided projection
        ([2, 16, 16, 16], 32, geometry(3, 2, 1, 1)), // strided 3×3
        ([2, 8, 12, 12], 8, geometry(3, 1, 1, 1)),  // 3×3/1 (Winograd's in training)
        ([1, 8, 9, 9], 8, geometry(3, 1, 2, 2)),    // dilated
        ([7, 6, 8, 8], 8, geometry(5, 1, 2, 1)),    // 5×5 'same', images side by side
        ([1, 4, 70, 70], 4, geometry(3, 1, 1, 1)),  // several blocks of columns
        ([1, 600, 3, 3], 5, geometry(1, 1, 0, 1)),  // deep, short
    ] {
        let (dx, dw) = check(shape, k, g, 5);
        assert!(
            dx < 2e-6 && dw < 2e-6,
            "{shape:?}→{k} {g:?}: dx {dx:e}, dw {dw:e}"
        );
    }
}

proptest! {
    #![proptest_config(common::proptest_config(64, 0x6a7d_2026))]
    #[test]
    fn random_geometries_match(
        n in 1usize..4, c in 1usize..7, k in 1usize..7, h in 1usize..12, w in 1usize..12,
        kernel in 1usize..6, stride in 1usize..4, padding in 0usize..3, dilation in 1usize..3,
        seed in any::<u64>(),
    ) {
        let g = geometry(kernel, stride, padding, dilation);
        prop_assume!(h + 2 * padding > dilation * (kernel - 1) && w + 2 * padding > dilation * (kernel - 1));
        let (dx, dw) = check([n, c, h, w], k, g, seed);
        prop_assert!(dx < 1e-5 && dw < 1e-5, "{:?}: dx {:e}, dw {:e}", g, dx, dw);
    }
}
