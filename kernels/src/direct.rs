//! The direct convolution (one group, any kernel, stride, padding and dilation) as
//! matrix products over blocks of output columns: `out[n][:, cols] = W · col(x[n], cols)`,
//! where `col` gathers the patches of the block's output positions (im2col; a 1×1
//! convolution with stride 1 and no padding reads the input where it is). The epilogue
//! is applied to each block right after its product, while the block is in cache.

use crate::{apply_epilogue, Epilogue, SharedOut};
use rayon::prelude::*;

/// A convolution with its weights as a `[out, in·kh·kw]` matrix.
#[derive(Clone, Debug)]
pub struct Conv2d {
    pub(crate) out_channels: usize,
    pub(crate) in_channels: usize,
    pub(crate) kernel: [usize; 2],
    pub(crate) stride: [usize; 2],
    pub(crate) padding: [usize; 2],
    pub(crate) dilation: [usize; 2],
    pub(crate) weight: Vec<f32>,
}

impl Conv2d {
    /// `weight` is `[out, in, kh, kw]`, row-major (which is already the matrix).
    pub fn new(
        weight: &[f32],
        [out_channels, in_channels]: [usize; 2],
        kernel: [usize; 2],
        stride: [usize; 2],
        padding: [usize; 2],
        dilation: [usize; 2],
    ) -> Conv2d {
        assert_eq!(
            weight.len(),
            out_channels * in_channels * kernel[0] * kernel[1],
            "a [K, C, kh, kw] kernel"
        );
        assert!(
            stride
                .iter()
                .chain(&dilation)
                .chain(&kernel)
                .all(|&v| v > 0),
            "positive sizes"
        );
        Conv2d {
            out_channels,
            in_channels,
            kernel,
            stride,
            padding,
            dilation,
            weight: weight.to_vec(),
        }
    }

    /// The rows of the weight matrix: `in · kh · kw`.
    pub(crate) fn depth(&self) -> usize {
        self.in_channels * self.kernel[0] * self.kernel[1]
    }

    /// The output map size for an `h × w` input (PyTorch's formula).
    pub fn output_size(&self, h: usize, w: usize) -> [usize; 2] {
        let size = |len: usize, d: usize| {
            let span = self.dilation[d] * (self.kernel[d] - 1) + 1;
            (len + 2 * self.padding[d]).saturating_sub(span) / self.stride[d] + 1
        };
        [size(h, 0), size(w, 1)]
    }

    pub(crate) fn is_pointwise(&self) -> bool {
        self.kernel == [1, 1] && self.stride == [1, 1] && self.padding == [0, 0]
    }

    /// The convolution of `x` (`[n, in, h, w]`) into `out` (`[n, out, oh, ow]`, with
    /// [`Conv2d::output_size`]), with the epilogue applied.
    pub fn forward(
        &self,
        x: &[f32],
        [n, h, w]: [usize; 3],
        epilogue: Epilogue<'_>,
        out: &mut [f32],
    ) {
        let [oh, ow] = self.output_size(h, w);
        let (cols, k_n) = (oh * ow, self.out_channels);
        epilogue.check(
            [x.len(), n * self.in_channels * h * w],
            [out.len(), n * k_n * cols],
            k_n,
        );
        let depth = self.depth();
        // About 256 KiB of gathered patches per block, at least 64 columns, and enough
        // blocks for every thread.
        let per_thread = (n * cols).div_ceil(rayon::current_num_threads());
        let block = ((1 << 16) / depth.max(1))
            .clamp(64, 2048)
            .min(per_thread.max(1));
        let items: Vec<(usize, usize)> = (0..n)
            .flat_map(|img| (0..cols).step_by(block).map(move |c0| (img, c0)))
            .collect();
        let dst = SharedOut(out.as_mut_ptr());
        items
            .into_par_iter()
            .for_each_init(Vec::new, |patches, (img, c0)| {
                let c1 = (c0 + block).min(cols);
                let image = &x[img * self.in_channels * h * w..][..self.in_channels * h * w];
                let (rhs, rhs_rs) = if self.is_pointwise() {
                    (image[c0..].as_ptr(), cols)
                } else {
                    patches.resize(depth * (c1 - c0), 0.0);
                    crate::simd(
                        #[inline(always)]
                        || self.gather(image, [h, w], [oh, ow], c0..c1, patches, c1 - c0),
                    );
                    (patches.as_ptr(), c1 - c0)
                };
                let at = img * k_n * cols + c0;
                // SAFETY: `rhs` holds a [depth × (c1 − c0)] matrix with row stride `rhs_rs`;
                // the destination block (columns c0..c1 of image `img`, every channel)
                // belongs to this item alone, inside `out` (checked above).
                unsafe {
                    gemm::gemm(
                        k_n,
                        c1 - c0,
                        depth,
                        dst.get().add(at),
                        1,
                        cols as isize,
                        false,
                        self.weight.as_ptr(),
                        1,
                        depth as isize,
                        rhs,
                        1,
                        rhs_rs as isize,
                        0.0,
                        1.0,
                        false,
                        false,
                        false,
                        gemm::Parallelism::None,
                    );
                }
                for k in 0..k_n {
                    let row = at + k * cols;
                    // SAFETY: as above, this item's own columns of channel k.
                    let dst =
                        unsafe { std::slice::from_raw_parts_mut(dst.get().add(row), c1 - c0) };
                    apply_epilogue(dst, k, row, epilogue);
                }
            });
    }

    /// im2col of output columns `range` (row-major positions of the output map):
    /// `patches[(c·kh + i)·kw + j][p]` is input `(c, oy·s − pad + i·d, ox·s − pad + j·d)`,
    /// each patch row `ld` values after the previous one.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn gather(
        &self,
        image: &[f32],
        [h, w]: [usize; 2],
        [oh, ow]: [usize; 2],
        range: std::ops::Range<usize>,
        patches: &mut [f32],
        ld: usize,
    ) {
        let len = range.len();
        let [kh, kw] = self.kernel;
        // A stride-1 convolution that keeps the map's size reads, for each kernel tap,
        // the input shifted by a fixed offset: one copy per row of patches.
        let same = self.stride == [1, 1] && [oh, ow] == [h, w];
        for c in 0..self.in_channels {
            let channel = &image[c * h * w..][..h * w];
            for i in 0..kh {
                for j in 0..kw {
                    let row = &mut patches[((c * kh + i) * kw + j) * ld..][..len];
                    if same {
                        let shift = |tap: usize, d: usize| {
                            (tap * self.dilation[d]) as isize - self.padding[d] as isize
                        };
                        gather_shifted(channel, [h, w], [shift(i, 0), shift(j, 1)], &range, row);
                        continue;
                    }
                    let mut p = range.start;
                    while p < range.end {
                        // One output row at a time: oy fixed, ox from p's column on.
                        let (oy, ox0) = (p / ow, p % ow);
                        let run = (ow - ox0).min(range.end - p);
                        let dst = &mut row[p - range.start..][..run];
                        let iy = (oy * self.stride[0] + i * self.dilation[0])
                            .wrapping_sub(self.padding[0]);
                        if iy >= h {
                            dst.fill(0.0);
                        } else {
                            let src = &channel[iy * w..][..w];
                            let x0 = j * self.dilation[1];
                            if self.stride[1] == 1 {
                                // A run of the row, zeros where it reaches into the padding.
                                let (lo, hi, first) = row_span(ox0 + x0, self.padding[1], run, w);
                                dst[..lo].fill(0.0);
                                if hi > lo {
                                    dst[lo..hi].copy_from_slice(&src[first..][..hi - lo]);
                                }
                                dst[hi..].fill(0.0);
                            } else {
                                for (o, d) in dst.iter_mut().enumerate() {
                                    let ix = ((ox0 + o) * self.stride[1] + x0)
                                        .wrapping_sub(self.padding[1]);
                                    *d = if ix < w { src[ix] } else { 0.0 };
                                }
                            }
                        }
                        p += run;
                    }
                }
            }
        }
    }
}

/// `dst[p − start] = channel[oy + dy][ox + dx]` for the output positions `p = oy·w + ox`
/// of `range` (a map of `h × w`), zero where that reaches outside the map.
#[inline(always)]
fn gather_shifted(
    channel: &[f32],
    [h, w]: [usize; 2],
    [dy, dx]: [isize; 2],
    range: &std::ops::Range<usize>,
    dst: &mut [f32],
) {
    let (start, end) = (range.start, range.end);
    // Output rows whose input row is inside the map: positions lo..hi.
    let rows = |oy: isize| (oy.clamp(0, h as isize) as usize * w).clamp(start, end);
    let (lo, hi) = (rows(-dy), rows(h as isize - dy));
    let hi = hi.max(lo);
    dst[..lo - start].fill(0.0);
    dst[hi - start..].fill(0.0);
    if hi == lo {
        return;
    }
    // Input position of output position p: p + offset (within a row; the copy's ends are
    // clipped to the map, and the columns that wrap into a neighbouring row are zeroed
    // below).
    let offset = dy * w as isize + dx;
    let from = (lo as isize + offset).max(0) as usize;
    let to = ((hi as isize + offset) as usize).min(h * w);
    if to > from {
        let at = (from as isize - offset) as usize - start;
        dst[at..][..to - from].copy_from_slice(&channel[from..to]);
    }
    // Columns ox with ox + dx outside 0..w, in every output row of lo..hi.
    let bad = if dx < 0 {
        0..((-dx) as usize).min(w)
    } else {
        w - (dx as usize).min(w)..w
    };
    if bad.is_empty() {
        return;
    }
    for oy in lo / w..=(hi - 1) / w {
        for ox in bad.clone() {
            let p = oy * w + ox;
            if (lo..hi).contains(&p) {
                dst[p - start] = 0.0;
            }
        }
    }
}

/// For a stride-1 run of `run` output columns whose first reads input column
/// `start − pad`: the columns `lo..hi` of the run that fall inside a row of `w`, and the
/// input column of `lo` (meaningful where `lo < hi`).
pub(crate) fn row_span(start: usize, pad: usize, run: usize, w: usize) -> (usize, usize, usize) {
    let lo = pad.saturating_sub(start).min(run);
    let hi = (w + pad).saturating_sub(start).clamp(lo, run);
    (lo, hi, (start + lo).saturating_sub(pad))
}
