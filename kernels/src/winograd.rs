//! Winograd F(m×m, 3×3) convolution (stride 1, padding 1, one group).
//!
//! With `a = m + 2`, an output tile `Y` (m×m) of one output channel is
//! `Aᵀ [Σ_c (G g_kc Gᵀ) ⊙ (Bᵀ d_c B)] A`, where `d_c` is the a×a input patch of channel
//! `c` and `g_kc` the 3×3 kernel. Gathering the a² positions `ξ` of the transformed
//! tiles turns the channel sum into a² matrix products `M_ξ = U_ξ · V_ξ`
//! (`U_ξ`: out × in channels, the transformed weights; `V_ξ`: in channels × tiles).
//!
//! Work is split into blocks of whole tile rows (across images, so that small maps still
//! give matrix products wide enough to be efficient); a block's transformed input and
//! products stay in the core's cache. The transforms work on contiguous runs over all
//! the block's tiles (the patches' columns are gathered into planes first), so they
//! vectorise.

use crate::{apply_epilogue, Epilogue, SharedOut};
use rayon::prelude::*;

/// The output tile size of the Winograd transform.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tile {
    /// F(2×2, 3×3): 16 products per 4 outputs, transforms with ±1 only (most accurate).
    F2x2,
    /// F(4×4, 3×3): 36 products per 16 outputs (fastest for wide maps).
    F4x4,
}

/// The transform matrices, row-major: `bt` a×a, `g` a×3, `at` m×a.
struct Matrices {
    m: usize,
    bt: &'static [f64],
    g: &'static [f64],
    at: &'static [f64],
}

const F2: Matrices = Matrices {
    m: 2,
    #[rustfmt::skip]
    bt: &[
        1.0, 0.0, -1.0, 0.0,
        0.0, 1.0, 1.0, 0.0,
        0.0, -1.0, 1.0, 0.0,
        0.0, 1.0, 0.0, -1.0,
    ],
    #[rustfmt::skip]
    g: &[
        1.0, 0.0, 0.0,
        0.5, 0.5, 0.5,
        0.5, -0.5, 0.5,
        0.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    at: &[
        1.0, 1.0, 1.0, 0.0,
        0.0, 1.0, -1.0, -1.0,
    ],
};

const F4: Matrices = Matrices {
    m: 4,
    #[rustfmt::skip]
    bt: &[
        4.0, 0.0, -5.0, 0.0, 1.0, 0.0,
        0.0, -4.0, -4.0, 1.0, 1.0, 0.0,
        0.0, 4.0, -4.0, -1.0, 1.0, 0.0,
        0.0, -2.0, -1.0, 2.0, 1.0, 0.0,
        0.0, 2.0, -1.0, -2.0, 1.0, 0.0,
        0.0, 4.0, 0.0, -5.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    g: &[
        1.0 / 4.0, 0.0, 0.0,
        -1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0,
        -1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0,
        1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0,
        1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0,
        0.0, 0.0, 1.0,
    ],
    #[rustfmt::skip]
    at: &[
        1.0, 1.0, 1.0, 1.0, 1.0, 0.0,
        0.0, 1.0, -1.0, 2.0, -2.0, 0.0,
        0.0, 1.0, 1.0, 4.0, 4.0, 0.0,
        0.0, 1.0, -1.0, 8.0, -8.0, 1.0,
    ],
};

/// The non-zero coefficients of each row of a matrix: `(column, value)`.
type Terms = Vec<Vec<(usize, f32)>>;

fn terms(matrix: &[f64], cols: usize) -> Terms {
    matrix
        .chunks(cols)
        .map(|row| {
            row.iter()
                .enumerate()
                .filter(|(_, &v)| v != 0.0)
                .map(|(j, &v)| (j, v as f32))
                .collect()
        })
        .collect()
}

/// A 3×3 convolution with its weights in the Winograd domain.
#[derive(Clone, Debug)]
pub struct Winograd3x3 {
    tile: Tile,
    out_channels: usize,
    in_channels: usize,
    /// `U[ξ][k][c]`, ξ = a·row + column of the transformed kernel.
    u: Vec<f32>,
    bt: Terms,
    at: Terms,
}

impl Winograd3x3 {
    /// Transforms `weight` (`[out, in, 3, 3]`, row-major) once.
    pub fn new(tile: Tile, weight: &[f32], out_channels: usize, in_channels: usize) -> Self {
        assert_eq!(
            weight.len(),
            out_channels * in_channels * 9,
            "a [K, C, 3, 3] kernel"
        );
        let mats = tile.matrices();
        let a = mats.m + 2;
        let (k_n, c_n) = (out_channels, in_channels);
        let mut u = vec![0.0f32; a * a * k_n * c_n];
        for k in 0..k_n {
            for c in 0..c_n {
                let g = &weight[(k * c_n + c) * 9..][..9];
                // G g Gᵀ in f64, so that the transform adds no rounding of its own.
                let mut gg = vec![0.0f64; a * 3];
                for r in 0..a {
                    for j in 0..3 {
                        gg[r * 3 + j] = (0..3)
                            .map(|i| mats.g[r * 3 + i] * g[i * 3 + j] as f64)
                            .sum();
                    }
                }
                for r in 0..a {
                    for s in 0..a {
                        let v: f64 = (0..3).map(|j| gg[r * 3 + j] * mats.g[s * 3 + j]).sum();
                        u[((r * a + s) * k_n + k) * c_n + c] = v as f32;
                    }
                }
            }
        }
        Winograd3x3 {
            tile,
            out_channels,
            in_channels,
            u,
            bt: terms(mats.bt, a),
            at: terms(mats.at, a),
        }
    }

    /// The convolution of `x` (`[n, in, h, w]`) into `out` (`[n, out, h, w]`), with the
    /// epilogue applied.
    pub fn forward(
        &self,
        x: &[f32],
        [n, h, w]: [usize; 3],
        epilogue: Epilogue<'_>,
        out: &mut [f32],
    ) {
        epilogue.check(
            [x.len(), n * self.in_channels * h * w],
            [out.len(), n * self.out_channels * h * w],
            self.out_channels,
        );
        if out.is_empty() {
            return;
        }
        let geometry = Geometry::new(self, n, h, w);
        let rows = n * geometry.tile_rows;
        let blocks: Vec<(usize, usize)> = (0..rows)
            .step_by(geometry.rows_per_block)
            .map(|r| (r, (r + geometry.rows_per_block).min(rows)))
            .collect();
        let dst = SharedOut(out.as_mut_ptr());
        blocks
            .into_par_iter()
            .for_each_init(Scratch::default, |scratch, (r0, r1)| {
                crate::simd(
                    #[inline(always)]
                    || self.block(&geometry, x, r0..r1, epilogue, dst, scratch),
                );
            });
    }

    #[inline(always)]
    fn block(
        &self,
        geo: &Geometry,
        x: &[f32],
        rows: std::ops::Range<usize>,
        epilogue: Epilogue<'_>,
        out: SharedOut,
        scratch: &mut Scratch,
    ) {
        let a2 = geo.a * geo.a;
        let t = rows.len() * geo.tiles_per_row;
        let (c_n, k_n) = (self.in_channels, self.out_channels);
        scratch.v.resize(a2 * c_n * t, 0.0);
        scratch.m.resize(a2 * k_n * t, 0.0);
        self.input_transform(geo, x, rows.clone(), scratch);
        for xi in 0..a2 {
            // SAFETY: the slices hold [K×C], [C×t] and [K×t] row-major matrices.
            unsafe {
                gemm::gemm(
                    k_n,
                    t,
                    c_n,
                    scratch.m.as_mut_ptr().add(xi * k_n * t),
                    1,
                    t as isize,
                    false,
                    self.u.as_ptr().add(xi * k_n * c_n),
                    1,
                    c_n as isize,
                    scratch.v.as_ptr().add(xi * c_n * t),
                    1,
                    t as isize,
                    0.0,
                    1.0,
                    false,
                    false,
                    false,
                    gemm::Parallelism::None,
                );
            }
        }
        self.output_transform(geo, rows, epilogue, out, scratch);
    }

    /// Transforms every tile of the block's tile rows (all channels) into `V[ξ][c][tile]`.
    ///
    /// Each input row of a tile row is split into its m interleaved column planes, once
    /// as they are and once shifted by one tile (the patch of tile `tx` covers columns
    /// `tx·m .. tx·m + a` of the padded row, a ≤ 2m): then every term of the transforms
    /// is a contiguous run over all the block's tiles.
    #[inline(always)]
    fn input_transform(
        &self,
        geo: &Geometry,
        x: &[f32],
        rows: std::ops::Range<usize>,
        s: &mut Scratch,
    ) {
        let (m, a, tx_n) = (geo.m, geo.a, geo.tiles_per_row);
        let (h, w, c_n) = (geo.h, geo.w, self.in_channels);
        let t = rows.len() * tx_n;
        let padded_len = (tx_n + 1) * m;
        s.padded.resize(padded_len, 0.0);
        // planes[i][j][tile]: padded column tx·m + j of input row i of the tile's patch.
        s.planes.resize(a * a * t, 0.0);
        s.h.resize(a * a * t, 0.0);
        for c in 0..c_n {
            for (ri, r) in rows.clone().enumerate() {
                let (img, ty) = (r / geo.tile_rows, r % geo.tile_rows);
                let channel = &x[(img * c_n + c) * h * w..][..h * w];
                for i in 0..a {
                    // Input row `ty·m + i − 1` (padding 1), zero outside the image, with
                    // one column of padding in front.
                    let iy = (ty * m + i).wrapping_sub(1);
                    s.padded.fill(0.0);
                    if iy < h {
                        s.padded[1..=w].copy_from_slice(&channel[iy * w..][..w]);
                    }
                    for j in 0..a {
                        let dst = &mut s.planes[(i * a + j) * t + ri * tx_n..][..tx_n];
                        for (tx, d) in dst.iter_mut().enumerate() {
                            *d = s.padded[tx * m + j];
                        }
                    }
                }
            }
            // Columns: h[i][b] = Σ_j Bᵀ[b][j] · planes[i][j]; rows: V[a][b][c] = Σ_i Bᵀ[a][i] · h[i][b].
            for i in 0..a {
                for (b, row) in self.bt.iter().enumerate() {
                    let dst = &mut s.h[(i * a + b) * t..][..t];
                    combine(dst, row, |j| &s.planes[(i * a + j) * t..][..t]);
                }
            }
            for (ra, row) in self.bt.iter().enumerate() {
                for b in 0..a {
                    let xi = ra * a + b;
                    let dst = &mut s.v[(xi * c_n + c) * t..][..t];
                    combine(dst, row, |i| &s.h[(i * a + b) * t..][..t]);
                }
            }
        }
    }

    /// Transforms the block's products back and writes its output rows with the
    /// epilogue applied.
    #[inline(always)]
    fn output_transform(
        &self,
        geo: &Geometry,
        rows: std::ops::Range<usize>,
        epilogue: Epilogue<'_>,
        out: SharedOut,
        s: &mut Scratch,
    ) {
        let (m, a, tx_n) = (geo.m, geo.a, geo.tiles_per_row);
        let (h, w, k_n) = (geo.h, geo.w, self.out_channels);
        let t = rows.len() * tx_n;
        s.h.resize(m * a * t, 0.0);
        s.y.resize(m * m * t, 0.0);
        for k in 0..k_n {
            // Rows: S[p][b] = Σ_a Aᵀ[p][a] · M[a][b]; columns: Y[p][q] = Σ_b Aᵀ[q][b] · S[p][b].
            for (p, row) in self.at.iter().enumerate() {
                for b in 0..a {
                    let dst = &mut s.h[(p * a + b) * t..][..t];
                    combine(dst, row, |ra| &s.m[((ra * a + b) * k_n + k) * t..][..t]);
                }
            }
            for p in 0..m {
                for (q, row) in self.at.iter().enumerate() {
                    let dst = &mut s.y[(p * m + q) * t..][..t];
                    combine(dst, row, |b| &s.h[(p * a + b) * t..][..t]);
                }
            }
            for (ri, r) in rows.clone().enumerate() {
                let (img, ty) = (r / geo.tile_rows, r % geo.tile_rows);
                for p in 0..m.min(h - ty * m) {
                    let at = ((img * k_n + k) * h + ty * m + p) * w;
                    // SAFETY: `forward` checked that `out` holds [n, out, h, w]; this
                    // output row belongs to tile row `r` alone, which one worker handles.
                    let dst = unsafe { std::slice::from_raw_parts_mut(out.get().add(at), w) };
                    // Column q of every tile, straight into the row (the last tile may
                    // reach past the row's end).
                    for q in 0..m.min(w) {
                        let ys = &s.y[(p * m + q) * t + ri * tx_n..][..tx_n];
                        for (d, &v) in dst[q..].iter_mut().step_by(m).zip(ys) {
                            *d = v;
                        }
                    }
                    apply_epilogue(dst, k, at, epilogue);
                }
            }
        }
    }
}

impl Tile {
    fn matrices(self) -> &'static Matrices {
        match self {
            Tile::F2x2 => &F2,
            Tile::F4x4 => &F4,
        }
    }
}

/// `dst = Σ coef · src(j)` over a row's non-zero terms (every row has at least one), in
/// one pass over `dst` for rows of up to four terms (all of F(2×2)'s and F(4×4)'s but
/// two), else term by term.
#[inline(always)]
fn combine<'s>(dst: &mut [f32], row: &[(usize, f32)], src: impl Fn(usize) -> &'s [f32]) {
    let len = dst.len();
    let term = |i: usize| (&src(row[i].0)[..len], row[i].1);
    match row.len() {
        1 => {
            let (a, ca) = term(0);
            for (d, &a) in dst.iter_mut().zip(a) {
                *d = ca * a;
            }
        }
        2 => {
            let [(a, ca), (b, cb)] = [term(0), term(1)];
            for ((d, &a), &b) in dst.iter_mut().zip(a).zip(b) {
                *d = ca * a + cb * b;
            }
        }
        3 => {
            let [(a, ca), (b, cb), (c, cc)] = [term(0), term(1), term(2)];
            for (((d, &a), &b), &c) in dst.iter_mut().zip(a).zip(b).zip(c) {
                *d = ca * a + cb * b + cc * c;
            }
        }
        4 => {
            let [(a, ca), (b, cb), (c, cc), (e, ce)] = [term(0), term(1), term(2), term(3)];
            for ((((d, &a), &b), &c), &e) in dst.iter_mut().zip(a).zip(b).zip(c).zip(e) {
                *d = ca * a + cb * b + cc * c + ce * e;
            }
        }
        _ => {
            let (a, ca) = term(0);
            for (d, &a) in dst.iter_mut().zip(a) {
                *d = ca * a;
            }
            for i in 1..row.len() {
                let (a, ca) = term(i);
                for (d, &a) in dst.iter_mut().zip(a) {
                    *d += ca * a;
                }
            }
        }
    }
}

/// How a map is cut into tiles and blocks.
struct Geometry {
    m: usize,
    a: usize,
    h: usize,
    w: usize,
    tiles_per_row: usize,
    /// Tile rows per image.
    tile_rows: usize,
    rows_per_block: usize,
}

impl Geometry {
    fn new(conv: &Winograd3x3, n: usize, h: usize, w: usize) -> Geometry {
        let m = conv.tile.matrices().m;
        let a = m + 2;
        let tiles_per_row = w.div_ceil(m);
        let tile_rows = h.div_ceil(m);
        // About 1 MiB of transformed input and products per block (one core's L2), and
        // at least 64 tiles so that the matrix products are wide enough.
        let per_tile = a * a * (conv.in_channels + conv.out_channels) * 4;
        let tiles = ((1 << 20) / per_tile.max(1)).max(64);
        // Enough blocks to keep every thread busy.
        let rows = (n * tile_rows).max(1);
        let per_thread = rows.div_ceil(rayon::current_num_threads());
        let rows_per_block = tiles.div_ceil(tiles_per_row).clamp(1, per_thread);
        Geometry {
            m,
            a,
            h,
            w,
            tiles_per_row,
            tile_rows,
            rows_per_block,
        }
    }
}

/// One worker's buffers, reused from block to block.
#[derive(Default)]
struct Scratch {
    v: Vec<f32>,
    m: Vec<f32>,
    padded: Vec<f32>,
    planes: Vec<f32>,
    h: Vec<f32>,
    y: Vec<f32>,
}
