//! Winograd against the direct 3×3 convolution (f64 accumulation), for both tile sizes,
//! odd and even map sizes, one to several images, every epilogue.

use proptest::prelude::*;
mod common;

use common::{direct, relative_error, Geometry, Values};
use resc_kernels::{Epilogue, Tile, Winograd3x3};

const SAME_3X3: Geometry = Geometry {
    kernel: 3,
    stride: 1,
    padding: 1,
    dilation: 1,
};

/// The error bound of a tile: F(4×4, 3×3)'s transforms have coefficients up to 8 and
/// 1/24, and round about 5× more than F(2×2, 3×3)'s (Lavin & Gray 2016, §5).
fn bound(tile: Tile) -> f32 {
    match tile {
        Tile::F2x2 => 2e-6,
        Tile::F4x4 => 1e-5,
    }
}

fn check(
    tile: Tile,
    [n, c_n, h, w]: [usize; 4],
    k_n: usize,
    relu: bool,
    residual: bool,
    seed: u64,
) -> f32 {
    let mut values = Values(seed | 1);
    let x = values.take(n * c_n * h * w);
    let weight = values.take(k_n * c_n * 9);
    let bias = values.take(k_n);
    let res = values.take(n * k_n * h * w);
    let ep = Epilogue {
        bias: Some(&bias),
        residual: residual.then_some(&res[..]),
        relu,
    };
    let conv = Winograd3x3::new(tile, &weight, k_n, c_n);
    let mut out = vec![f32::NAN; n * k_n * h * w];
    conv.forward(&x, [n, h, w], ep, &mut out);
    relative_error(
        &out,
        &direct(&x, &weight, [n, c_n, h, w], k_n, SAME_3X3, ep),
    )
}

#[test]
fn both_tiles_match_the_direct_convolution_on_typical_layers() {
    for tile in [Tile::F2x2, Tile::F4x4] {
        for (shape, k) in [
            ([2, 16, 8, 8], 16),
            ([1, 64, 14, 14], 32),
            ([3, 8, 7, 7], 24),
            ([2, 32, 32, 32], 16),
            ([5, 4, 1, 1], 3),
            ([1, 3, 5, 9], 2),
            ([0, 4, 5, 5], 3),
        ] {
            let error = check(tile, shape, k, false, false, 7);
            assert!(error < bound(tile), "{tile:?} {shape:?}→{k}: {error:e}");
        }
    }
}

#[test]
fn the_epilogue_adds_bias_and_residual_before_the_relu() {
    for tile in [Tile::F2x2, Tile::F4x4] {
        let error = check(tile, [2, 8, 9, 6], 8, true, true, 11);
        assert!(error < bound(tile), "{tile:?}: {error:e}");
        let error = check(tile, [2, 8, 9, 6], 8, true, false, 12);
        assert!(error < bound(tile), "{tile:?}: {error:e}");
    }
}

#[test]
fn many_blocks_cover_every_tile_row_once() {
    // 70 images of 4×4 with few channels: many blocks of tile rows across images.
    for tile in [Tile::F2x2, Tile::F4x4] {
        let error = check(tile, [70, 2, 4, 4], 3, true, true, 5);
        assert!(error < bound(tile), "{tile:?}: {error:e}");
    }
}

proptest! {
    #![proptest_config(common::proptest_config(48, 0x3a3a_2026))]
    #[test]
    fn random_shapes_match(
        n in 1usize..4, c in 1usize..9, k in 1usize..9, h in 1usize..13, w in 1usize..13,
        f4 in any::<bool>(), relu in any::<bool>(), residual in any::<bool>(), seed in any::<u64>(),
    ) {
        let tile = if f4 { Tile::F4x4 } else { Tile::F2x2 };
        let error = check(tile, [n, c, h, w], k, relu, residual, seed);
        prop_assert!(error < bound(tile), "{:?}: {:e}", tile, error);
    }
}
