//! Max pooling (PyTorch's `max_pool2d` without dilation or ceil mode: padding never
//! wins), one plane per task: each output row is the maximum of its k input rows
//! (contiguous, vectorised), then of the k columns of each window. As `f32::max` does,
//! a NaN loses against a number.

use rayon::prelude::*;

/// A max pooling's geometry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MaxPool2d {
    pub kernel: [usize; 2],
    pub stride: [usize; 2],
    pub padding: [usize; 2],
}

impl MaxPool2d {
    /// The output size for an `h × w` input.
    pub fn output_size(&self, h: usize, w: usize) -> [usize; 2] {
        let size = |len: usize, d: usize| {
            (len + 2 * self.padding[d]).saturating_sub(self.kernel[d]) / self.stride[d] + 1
        };
        [size(h, 0), size(w, 1)]
    }

    /// Whether every window holds at least one input value (PyTorch requires padding
    /// ≤ kernel / 2, which guarantees it).
    pub fn is_supported(&self) -> bool {
        (0..2).all(|d| {
            self.kernel[d] > 0 && self.stride[d] > 0 && 2 * self.padding[d] <= self.kernel[d]
        })
    }

    /// Pools `x` (`[planes, h, w]`, a batch's N·C planes) into `out` (`[planes, oh, ow]`).
    pub fn forward(&self, x: &[f32], [planes, h, w]: [usize; 3], out: &mut [f32]) {
        assert!(self.is_supported(), "padding at most half the window");
        let [oh, ow] = self.output_size(h, w);
        assert_eq!(x.len(), planes * h * w, "input of [planes, h, w]");
        assert_eq!(out.len(), planes * oh * ow, "output of [planes, oh, ow]");
        if h == 0 || w == 0 {
            return;
        }
        out.par_chunks_mut(oh * ow)
            .zip(x.par_chunks(h * w))
            .for_each_init(Vec::new, |rows, (out, plane)| {
                rows.resize(w, 0.0);
                for (oy, dst) in out.chunks_mut(ow).enumerate() {
                    // The window's input rows, clipped to the image.
                    let top = (oy * self.stride[0]).saturating_sub(self.padding[0]);
                    let bottom = (oy * self.stride[0] + self.kernel[0])
                        .saturating_sub(self.padding[0])
                        .min(h);
                    rows.copy_from_slice(&plane[top * w..][..w]);
                    for iy in top + 1..bottom {
                        for (m, &v) in rows.iter_mut().zip(&plane[iy * w..][..w]) {
                            *m = m.max(v);
                        }
                    }
                    for (ox, d) in dst.iter_mut().enumerate() {
                        let left = (ox * self.stride[1]).saturating_sub(self.padding[1]);
                        let right = (ox * self.stride[1] + self.kernel[1])
                            .saturating_sub(self.padding[1])
                            .min(w);
                        *d = rows[left..right]
                            .iter()
                            .fold(f32::NEG_INFINITY, |m, &v| m.max(v));
                    }
                }
            });
    }
}
