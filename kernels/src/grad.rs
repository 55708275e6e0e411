//! The gradients of [`Conv2d`] for training: the input gradient (the transposed
//! convolution of the output gradient) and the weight gradient (a matrix product of the
//! output gradient with the gathered patches of the saved input).
//!
//! Both work on the same blocks of output columns as the forward pass:
//! - input gradient: `cols = Wᵀ · dy[n][:, block]` (a `[in·kh·kw, block]` matrix), then
//!   col2im adds every patch value back to the input position it was gathered from.
//!   Patches of neighbouring columns overlap, so one image is one work item;
//! - weight gradient: `dW += dy[n][:, block] · col(x[n], block)ᵀ`, each thread summing
//!   its share of the blocks into its own `[out, in·kh·kw]` matrix, the matrices added
//!   at the end (in a fixed order: the result does not depend on scheduling).
//!
//! A 1×1 convolution with stride 1 and no padding needs no patches: its input gradient
//! is `Wᵀ · dy[n]` written in place, its weight gradient `dy[n] · x[n]ᵀ`.

use crate::direct::row_span;
use crate::Conv2d;
use rayon::prelude::*;

impl Conv2d {
    /// Output columns per block: about 256 KiB of patches, at least 64 columns.
    fn block_columns(&self, depth: usize, cols: usize) -> usize {
        ((1 << 16) / depth.max(1)).clamp(64, 2048).min(cols.max(1))
    }

    /// The input gradient `dx` (`[n, in, h, w]`, overwritten) of the convolution of an
    /// `[n, in, h, w]` input, from the output gradient `dy` (`[n, out, oh, ow]`).
    pub fn backward_data(&self, dy: &[f32], [n, h, w]: [usize; 3], dx: &mut [f32]) {
        let [oh, ow] = self.output_size(h, w);
        let (cols, k_n, c_n) = (oh * ow, self.out_channels, self.in_channels);
        assert_eq!(
            dy.len(),
            n * k_n * cols,
            "an output gradient of [n, out, oh, ow]"
        );
        assert_eq!(
            dx.len(),
            n * c_n * h * w,
            "an input gradient of [n, in, h, w]"
        );
        let depth = self.depth();
        let block = self.block_columns(depth, cols);
        let threads = rayon::current_num_threads();
        // Images in parallel when there are enough of them, else each product in parallel.
        let (outer, inner) = if n >= threads || threads == 1 {
            (true, gemm::Parallelism::None)
        } else {
            (false, gemm::Parallelism::Rayon(threads))
        };
        let image = |(img, dx): (usize, &mut [f32]), patches: &mut Vec<f32>| {
            let dy = &dy[img * k_n * cols..][..k_n * cols];
            if self.is_pointwise() {
                // SAFETY: dx is [in × cols] (h·w = cols here), dy [out × cols], the weight
                // [out × in] read transposed.
                unsafe { self.weight_t_times(dy, cols, 0, cols, dx.as_mut_ptr(), cols, inner) };
                return;
            }
            dx.fill(0.0);
            for c0 in (0..cols).step_by(block) {
                let c1 = (c0 + block).min(cols);
                patches.resize(depth * (c1 - c0), 0.0);
                // SAFETY: `patches` holds [depth × (c1 − c0)].
                unsafe {
                    self.weight_t_times(dy, cols, c0, c1 - c0, patches.as_mut_ptr(), c1 - c0, inner)
                };
                crate::simd(
                    #[inline(always)]
                    || self.scatter(patches, [h, w], [oh, ow], c0..c1, dx),
                );
            }
        };
        let per_image = c_n * h * w;
        if outer {
            dx.par_chunks_mut(per_image.max(1))
                .enumerate()
                .for_each_init(Vec::new, |patches, item| image(item, patches));
        } else {
            let mut patches = Vec::new();
            for item in dx.chunks_mut(per_image.max(1)).enumerate() {
                image(item, &mut patches);
            }
        }
    }

    /// The weight gradient `dw` (`[out, in, kh, kw]`, overwritten) from the saved input
    /// `x` (`[n, in, h, w]`) and the output gradient `dy` (`[n, out, oh, ow]`).
    pub fn backward_weight(&self, x: &[f32], dy: &[f32], [n, h, w]: [usize; 3], dw: &mut [f32]) {
        let [oh, ow] = self.output_size(h, w);
        let (cols, k_n, c_n) = (oh * ow, self.out_channels, self.in_channels);
        assert_eq!(x.len(), n * c_n * h * w, "an input of [n, in, h, w]");
        assert_eq!(
            dy.len(),
            n * k_n * cols,
            "an output gradient of [n, out, oh, ow]"
        );
        let depth = self.depth();
        assert_eq!(
            dw.len(),
            k_n * depth,
            "a weight gradient of [out, in, kh, kw]"
        );
        // Work items of one image's block of columns, or, where a whole image has fewer
        // columns than a block, of several images' columns side by side: the products'
        // inner dimension (the columns) should be long, as their other two are small.
        let block = self.block_columns(depth, cols);
        // About 512 KiB of patches when images are put side by side.
        let target = (1 << 17) / depth.max(1);
        let images = if self.is_pointwise() || block < cols {
            1
        } else {
            (target / cols.max(1)).clamp(1, n.max(1))
        };
        let items: Vec<(usize, usize, usize)> = (0..n)
            .step_by(images)
            .flat_map(|img| {
                let imgs = images.min(n - img);
                (0..cols).step_by(block).map(move |c0| (img, imgs, c0))
            })
            .collect();
        let threads = rayon::current_num_threads().max(1);
        let chunk = items.len().div_ceil(threads).max(1);
        // One accumulator per chunk of items (one chunk per thread).
        let partial: Vec<Vec<f32>> = items
            .par_chunks(chunk)
            .map(|chunk| {
                let mut acc = vec![0.0f32; k_n * depth];
                let (mut patches, mut grads) = (Vec::new(), Vec::new());
                for &(img, imgs, c0) in chunk {
                    let c1 = (c0 + block).min(cols);
                    let len = c1 - c0;
                    let wide = imgs * len;
                    let image = |i: usize| &x[(img + i) * c_n * h * w..][..c_n * h * w];
                    let (rhs, rhs_cs) = if self.is_pointwise() {
                        (image(0)[c0..].as_ptr(), cols)
                    } else {
                        patches.resize(depth * wide, 0.0);
                        for i in 0..imgs {
                            let part = &mut patches[i * len..];
                            crate::simd(
                                #[inline(always)]
                                || self.gather(image(i), [h, w], [oh, ow], c0..c1, part, wide),
                            );
                        }
                        (patches.as_ptr(), wide)
                    };
                    let (lhs, lhs_rs) = if imgs == 1 {
                        (dy[img * k_n * cols + c0..].as_ptr(), cols)
                    } else {
                        // The images' output gradients side by side: [out × imgs·cols].
                        grads.resize(k_n * wide, 0.0);
                        for i in 0..imgs {
                            let src = &dy[(img + i) * k_n * cols..][..k_n * cols];
                            for (k, row) in src.chunks_exact(cols).enumerate() {
                                grads[k * wide + i * cols..][..cols].copy_from_slice(row);
                            }
                        }
                        (grads.as_ptr(), wide)
                    };
                    // SAFETY: lhs is the [out × wide] output gradient (row stride lhs_rs),
                    // rhs the [depth × wide] patches read transposed (column stride
                    // `rhs_cs`), acc [out × depth].
                    unsafe {
                        gemm::gemm(
                            k_n,
                            depth,
                            wide,
                            acc.as_mut_ptr(),
                            k_n as isize,
                            1,
                            true,
                            lhs,
                            1,
                            lhs_rs as isize,
                            rhs,
                            rhs_cs as isize,
                            1,
                            1.0,
                            1.0,
                            false,
                            false,
                            false,
                            gemm::Parallelism::None,
                        );
                    }
                }
                acc
            })
            .collect();
        // The accumulators are [depth × out] (the product's output column-major, which
        // keeps the gemm from packing the patches transposed).
        dw.fill(0.0);
        for acc in &partial {
            for (k, row) in dw.chunks_exact_mut(depth).enumerate() {
                for (d, v) in row.iter_mut().enumerate() {
                    *v += acc[d * k_n + k];
                }
            }
        }
    }

    /// `dst[depth × len] = Wᵀ · dy[:, c0..c0 + len]` (`dy` of row stride `cols`, `dst`
    /// of row stride `dst_rs`).
    ///
    /// # Safety
    /// `dst` must hold `depth` rows of `len` values at row stride `dst_rs`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn weight_t_times(
        &self,
        dy: &[f32],
        cols: usize,
        c0: usize,
        len: usize,
        dst: *mut f32,
        dst_rs: usize,
        parallelism: gemm::Parallelism,
    ) {
        let depth = self.depth();
        debug_assert!(dy.len() >= self.out_channels * cols && c0 + len <= cols);
        gemm::gemm(
            depth,
            len,
            self.out_channels,
            dst,
            1,
            dst_rs as isize,
            false,
            self.weight.as_ptr(),
            depth as isize,
            1,
            dy[c0..].as_ptr(),
            1,
            cols as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            parallelism,
        );
    }

    /// col2im, the adjoint of [`Conv2d::gather`]: adds every value of `patches` (output
    /// columns `range`) to the input position it was gathered from.
    #[inline(always)]
    fn scatter(
        &self,
        patches: &[f32],
        [h, w]: [usize; 2],
        [_, ow]: [usize; 2],
        range: std::ops::Range<usize>,
        image: &mut [f32],
    ) {
        let len = range.len();
        let [kh, kw] = self.kernel;
        for c in 0..self.in_channels {
            let channel = &mut image[c * h * w..][..h * w];
            for i in 0..kh {
                for j in 0..kw {
                    let row = &patches[((c * kh + i) * kw + j) * len..][..len];
                    let mut p = range.start;
                    while p < range.end {
                        let (oy, ox0) = (p / ow, p % ow);
                        let run = (ow - ox0).min(range.end - p);
                        let iy = (oy * self.stride[0] + i * self.dilation[0])
                            .wrapping_sub(self.padding[0]);
                        if iy < h {
                            let dst = &mut channel[iy * w..][..w];
                            let x0 = j * self.dilation[1];
                            let src = &row[p - range.start..][..run];
                            if self.stride[1] == 1 {
                                let (lo, hi, first) = row_span(ox0 + x0, self.padding[1], run, w);
                                if hi > lo {
                                    let dst = &mut dst[first..][..hi - lo];
                                    for (d, &v) in dst.iter_mut().zip(&src[lo..hi]) {
                                        *d += v;
                                    }
                                }
                            } else {
                                for (o, &v) in src.iter().enumerate() {
                                    let ix = ((ox0 + o) * self.stride[1] + x0)
                                        .wrapping_sub(self.padding[1]);
                                    if ix < w {
                                        dst[ix] += v;
                                    }
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
