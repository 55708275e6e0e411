//! The direct (im2col + matrix product) convolution against the reference, for the
//! geometries of residual networks and random ones.

mod common;

use common::{direct, relative_error, Geometry, Values};
use proptest::prelude::*;
use resc_kernels::{Conv2d, Epilogue};

fn check(
    [n, c_n, h, w]: [usize; 4],
    k_n: usize,
    g: Geometry,
    relu: bool,
    residual: bool,
    seed: u64,
) -> f32 {
    let mut values = Values(seed | 1);
    let r = g.kernel;
    let x = values.take(n * c_n * h * w);
    let weight = values.take(k_n * c_n * r * r);
    let bias = values.take(k_n);
    let res = values.take(n * k_n * g.out(h) * g.out(w));
    let ep = Epilogue {
        bias: Some(&bias),
        residual: residual.then_some(&res[..]),
        relu,
    };
    let conv = Conv2d::new(
        &weight,
        [k_n, c_n],
        [r, r],
        [g.stride; 2],
        [g.padding; 2],
        [g.dilation; 2],
    );
    assert_eq!(conv.output_size(h, w), [g.out(h), g.out(w)]);
    let mut out = vec![f32::NAN; res.len()];
    conv.forward(&x, [n, h, w], ep, &mut out);
    relative_error(&out, &direct(&x, &weight, [n, c_n, h, w], k_n, g, ep))
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
fn residual_network_convolutions_match_the_reference() {
    for (shape, k, g) in [
        ([2, 3, 32, 32], 16, geometry(7, 2, 3, 1)), // an ImageNet stem, smaller
        ([2, 16, 16, 16], 32, geometry(1, 1, 0, 1)), // bottleneck 1×1
        ([2, 16, 15, 15], 32, geometry(1, 2, 0, 1)), // strided projection
        ([2, 16, 16, 16], 32, geometry(3, 2, 1, 1)), // strided 3×3
        ([1, 8, 9, 9], 8, geometry(3, 1, 2, 2)),    // dilated
        ([1, 600, 3, 3], 5, geometry(1, 1, 0, 1)),  // deep, short: one block of columns
    ] {
        let error = check(shape, k, g, true, true, 3);
        assert!(error < 2e-6, "{shape:?}→{k} {g:?}: {error:e}");
    }
}

proptest! {
    #![proptest_config(common::proptest_config(64, 0xd1ec_2026))]
    #[test]
    fn random_geometries_match(
        n in 1usize..3, c in 1usize..7, k in 1usize..7, h in 1usize..12, w in 1usize..12,
        kernel in 1usize..6, stride in 1usize..4, padding in 0usize..3, dilation in 1usize..3,
        relu in any::<bool>(), residual in any::<bool>(), seed in any::<u64>(),
    ) {
        let g = geometry(kernel, stride, padding, dilation);
        // Only geometries with at least one output position.
        prop_assume!(h + 2 * padding > dilation * (kernel - 1) && w + 2 * padding > dilation * (kernel - 1));
        let error = check([n, c, h, w], k, g, relu, residual, seed);
        // Random cases include tiny sums whose largest value is itself a cancellation:
        // 1e-5 of it (an indexing error is O(1)).
        prop_assert!(error < 1e-5, "{:?}: {:e}", g, error);
    }
}
