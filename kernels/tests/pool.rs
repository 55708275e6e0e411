//! Max pooling against the window-by-window definition.

mod common;

use proptest::prelude::*;
use resc_kernels::MaxPool2d;

fn reference(x: &[f32], [planes, h, w]: [usize; 3], pool: MaxPool2d) -> Vec<f32> {
    let [oh, ow] = pool.output_size(h, w);
    let mut out = Vec::with_capacity(planes * oh * ow);
    for p in 0..planes {
        for oy in 0..oh {
            for ox in 0..ow {
                let mut m = f32::NEG_INFINITY;
                for i in 0..pool.kernel[0] {
                    for j in 0..pool.kernel[1] {
                        let iy = (oy * pool.stride[0] + i).wrapping_sub(pool.padding[0]);
                        let ix = (ox * pool.stride[1] + j).wrapping_sub(pool.padding[1]);
                        if iy < h && ix < w {
                            m = m.max(x[(p * h + iy) * w + ix]);
                        }
                    }
                }
                out.push(m);
            }
        }
    }
    out
}

fn check(planes: usize, h: usize, w: usize, pool: MaxPool2d) {
    // Distinct values, negative ones included, so that padding must never win.
    let x: Vec<f32> = (0..planes * h * w)
        .map(|i| ((i * 7919) % 1013) as f32 - 700.0)
        .collect();
    let [oh, ow] = pool.output_size(h, w);
    let mut out = vec![f32::NAN; planes * oh * ow];
    pool.forward(&x, [planes, h, w], &mut out);
    assert_eq!(
        out,
        reference(&x, [planes, h, w], pool),
        "{pool:?} on {planes}×{h}×{w}"
    );
}

#[test]
fn the_resnet_stem_pooling_matches() {
    let stem = MaxPool2d {
        kernel: [3, 3],
        stride: [2, 2],
        padding: [1, 1],
    };
    assert_eq!(stem.output_size(112, 112), [56, 56]);
    check(6, 112, 112, stem);
    check(3, 7, 9, stem);
}

proptest! {
    #![proptest_config(common::proptest_config(64, 0x9001_2026))]
    #[test]
    fn random_geometries_match(
        planes in 1usize..4, h in 1usize..14, w in 1usize..14,
        k in 1usize..5, s in 1usize..4, p in 0usize..3,
    ) {
        let pool = MaxPool2d { kernel: [k, k], stride: [s, s], padding: [p, p] };
        prop_assume!(pool.is_supported() && h + 2 * p >= k && w + 2 * p >= k);
        check(planes, h, w, pool);
    }
}
