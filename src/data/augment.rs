//! Augmentation: pad (zero or reflect) + random crop, horizontal flip, per-channel
//! normalisation — the CIFAR recipe of the ResNet papers, in the same order as
//! torchvision (`RandomCrop(32, padding=4)`, `RandomHorizontalFlip`, `Normalize`): padding
//! and cropping see raw `[0, 1]` values, so a zero-padded border is black before
//! normalisation.
//!
//! The small functions ([`pad`], [`crop`], [`flip_horizontal`], [`normalize`]) state the
//! meaning; [`Augment::apply`] does all of it in one pass over the output image and is
//! tested against their composition.

use super::Rng;
use serde::{Deserialize, Serialize};

impl std::str::FromStr for PadMode {
    type Err = String;

    /// `zero` or `reflect`.
    fn from_str(text: &str) -> Result<PadMode, String> {
        match text {
            "zero" | "zeros" | "constant" => Ok(PadMode::Zero),
            "reflect" => Ok(PadMode::Reflect),
            _ => Err(format!("unknown padding `{text}`: use zero or reflect")),
        }
    }
}

/// How [`pad`] fills the border.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PadMode {
    /// Zeros (black).
    #[default]
    Zero,
    /// The mirror image without repeating the edge (`3 2 | 1 2 3 | 2 1`), like
    /// `numpy.pad(mode="reflect")` and torchvision's `padding_mode="reflect"`.
    Reflect,
}

/// What the [`Loader`](super::Loader) does to each image.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Augment {
    /// Border added on every side before the random crop (only used with `crop`).
    pub pad: usize,
    pub pad_mode: PadMode,
    /// Crop a random `H×W` window out of the padded image.
    pub crop: bool,
    /// Mirror left–right with probability 1/2.
    pub flip: bool,
    /// Subtract the per-channel mean and divide by the standard deviation.
    pub normalize: bool,
}

impl Default for Augment {
    /// [`Augment::none`].
    fn default() -> Augment {
        Augment::none()
    }
}

impl Augment {
    /// Only normalisation (evaluation).
    pub fn none() -> Augment {
        Augment {
            pad: 0,
            pad_mode: PadMode::Zero,
            crop: false,
            flip: false,
            normalize: true,
        }
    }

    /// The standard CIFAR training augmentation: zero-pad 4, random 32×32 crop, flip,
    /// normalise.
    pub fn cifar() -> Augment {
        Augment {
            pad: 4,
            pad_mode: PadMode::Zero,
            crop: true,
            flip: true,
            normalize: true,
        }
    }

    /// Whether the image changes at random (so a generator is needed).
    pub fn is_random(&self) -> bool {
        (self.crop && self.pad > 0) || self.flip
    }

    /// Augments `image` (`shape` = `[C, H, W]`) into `out` (cleared first; same shape),
    /// drawing the crop offsets (top, then left) and then the flip from `rng`.
    pub fn apply(
        &self,
        image: &[f32],
        shape: [usize; 3],
        rng: &mut Rng,
        mean: &[f32],
        std: &[f32],
        out: &mut Vec<f32>,
    ) {
        let [channels, height, width] = shape;
        let (mut top, mut left) = (self.pad, self.pad);
        if self.crop && self.pad > 0 {
            top = rng.below(2 * self.pad + 1);
            left = rng.below(2 * self.pad + 1);
        }
        let flip = self.flip && rng.coin();
        // Offsets of the output window in source coordinates (may be negative).
        let dy = top as isize - self.pad as isize;
        let dx = left as isize - self.pad as isize;
        out.clear();
        out.reserve(channels * height * width);
        for c in 0..channels {
            let plane = &image[c * height * width..(c + 1) * height * width];
            let (m, s) = if self.normalize {
                (
                    mean.get(c).copied().unwrap_or(0.0),
                    std.get(c).copied().unwrap_or(1.0),
                )
            } else {
                (0.0, 1.0)
            };
            for y in 0..height {
                let sy = source_index(y as isize + dy, height, self.pad_mode);
                for x in 0..width {
                    let xo = if flip { width - 1 - x } else { x };
                    let sx = source_index(xo as isize + dx, width, self.pad_mode);
                    let v = match (sy, sx) {
                        (Some(sy), Some(sx)) => plane[sy * width + sx],
                        _ => 0.0,
                    };
                    out.push((v - m) / s);
                }
            }
        }
    }
}

/// The source row/column that padded coordinate `i` (relative to the unpadded image)
/// reads, or `None` for a zero border.
fn source_index(i: isize, n: usize, mode: PadMode) -> Option<usize> {
    if (0..n as isize).contains(&i) {
        return Some(i as usize);
    }
    match mode {
        PadMode::Zero => None,
        PadMode::Reflect => Some(reflect(i, n)),
    }
}

/// Mirror index without edge repetition; borders wider than the image keep reflecting.
fn reflect(i: isize, n: usize) -> usize {
    if n <= 1 {
        return 0;
    }
    let period = 2 * (n as isize - 1);
    let j = i.rem_euclid(period);
    if j < n as isize {
        j as usize
    } else {
        (period - j) as usize
    }
}

/// `image` (`[C, H, W]`) with `pad` added on every side: `[C, H+2·pad, W+2·pad]`.
pub fn pad(image: &[f32], shape: [usize; 3], pad: usize, mode: PadMode) -> Vec<f32> {
    let [channels, height, width] = shape;
    let (ph, pw) = (height + 2 * pad, width + 2 * pad);
    let mut out = Vec::with_capacity(channels * ph * pw);
    for c in 0..channels {
        for y in 0..ph {
            let sy = source_index(y as isize - pad as isize, height, mode);
            for x in 0..pw {
                let sx = source_index(x as isize - pad as isize, width, mode);
                out.push(match (sy, sx) {
                    (Some(sy), Some(sx)) => image[(c * height + sy) * width + sx],
                    _ => 0.0,
                });
            }
        }
    }
    out
}

/// The `size = [h, w]` window of `image` (`[C, H, W]`) whose top-left corner is
/// `(top, left)`; the window must lie inside the image.
pub fn crop(
    image: &[f32],
    shape: [usize; 3],
    top: usize,
    left: usize,
    size: [usize; 2],
) -> Vec<f32> {
    let [channels, height, width] = shape;
    let [h, w] = size;
    assert!(
        top + h <= height && left + w <= width,
        "crop outside the image"
    );
    let mut out = Vec::with_capacity(channels * h * w);
    for c in 0..channels {
        for y in top..top + h {
            let row = (c * height + y) * width;
            out.extend_from_slice(&image[row + left..row + left + w]);
        }
    }
    out
}

/// Mirrors `image` (`[C, H, W]`) left–right in place.
pub fn flip_horizontal(image: &mut [f32], shape: [usize; 3]) {
    let width = shape[2];
    for row in image.chunks_exact_mut(width.max(1)) {
        row.reverse();
    }
}

/// `(x − mean[c]) / std[c]` for every value of channel `c`, in place.
pub fn normalize(image: &mut [f32], shape: [usize; 3], mean: &[f32], std: &[f32]) {
    let plane = shape[1] * shape[2];
    for (c, values) in image.chunks_exact_mut(plane.max(1)).enumerate() {
        for v in values {
            *v = (*v - mean[c]) / std[c];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 1×2×3 image: rows `1 2 3` and `4 5 6`.
    const IMAGE: [f32; 6] = [1., 2., 3., 4., 5., 6.];

    #[test]
    fn zero_pad() {
        let out = pad(&IMAGE, [1, 2, 3], 1, PadMode::Zero);
        #[rustfmt::skip]
        let expected = [
            0., 0., 0., 0., 0.,
            0., 1., 2., 3., 0.,
            0., 4., 5., 6., 0.,
            0., 0., 0., 0., 0.,
        ];
        assert_eq!(out, expected);
    }

    #[test]
    fn reflect_pad() {
        let out = pad(&IMAGE, [1, 2, 3], 1, PadMode::Reflect);
        #[rustfmt::skip]
        let expected = [
            5., 4., 5., 6., 5.,
            2., 1., 2., 3., 2.,
            5., 4., 5., 6., 5.,
            2., 1., 2., 3., 2.,
        ];
        assert_eq!(out, expected);
        // Wider than the image: keeps reflecting (numpy: 3 2 1 2 3 2 1 for pad 2 of 1 2 3).
        let row = pad(&[1., 2., 3.], [1, 1, 3], 2, PadMode::Reflect);
        assert_eq!(&row[2 * 7..3 * 7], &[3., 2., 1., 2., 3., 2., 1.]);
        assert_eq!(reflect(-5, 3), 1);
        assert_eq!(reflect(7, 1), 0);
    }

    #[test]
    fn crop_window() {
        let out = crop(&IMAGE, [1, 2, 3], 0, 1, [2, 2]);
        assert_eq!(out, [2., 3., 5., 6.]);
        let two = [1., 2., 3., 4., 10., 20., 30., 40.];
        assert_eq!(crop(&two, [2, 2, 2], 1, 0, [1, 2]), [3., 4., 30., 40.]);
    }

    #[test]
    fn flip() {
        let mut image = IMAGE;
        flip_horizontal(&mut image, [1, 2, 3]);
        assert_eq!(image, [3., 2., 1., 6., 5., 4.]);
    }

    #[test]
    fn normalize_per_channel() {
        let mut image = [1., 3., 10., 20.];
        normalize(&mut image, [2, 1, 2], &[1., 10.], &[2., 5.]);
        assert_eq!(image, [0., 1., 0., 2.]);
    }

    #[test]
    fn apply_without_randomness_only_normalises() {
        let mut out = Vec::new();
        let mut rng = Rng::new(0);
        Augment::none().apply(&IMAGE, [1, 2, 3], &mut rng, &[1.0], &[0.5], &mut out);
        assert_eq!(out, [0., 2., 4., 6., 8., 10.]);
        let raw = Augment {
            normalize: false,
            ..Augment::none()
        };
        raw.apply(&IMAGE, [1, 2, 3], &mut rng, &[1.0], &[0.5], &mut out);
        assert_eq!(out, IMAGE);
    }

    /// `apply` equals pad → crop at the drawn offsets → flip if drawn → normalise.
    #[test]
    fn apply_matches_the_composition() {
        let shape = [2, 5, 4];
        let image: Vec<f32> = (0..40).map(|v| v as f32 / 40.0).collect();
        let (mean, std) = ([0.3, 0.6], [0.5, 0.25]);
        for mode in [PadMode::Zero, PadMode::Reflect] {
            let augment = Augment {
                pad: 2,
                pad_mode: mode,
                crop: true,
                flip: true,
                normalize: true,
            };
            let (mut flipped, mut kept) = (0, 0);
            for seed in 0..64 {
                let mut out = Vec::new();
                augment.apply(&image, shape, &mut Rng::new(seed), &mean, &std, &mut out);
                let mut rng = Rng::new(seed);
                let (top, left) = (rng.below(5), rng.below(5));
                let flip = rng.coin();
                let padded = pad(&image, shape, 2, mode);
                let mut expected = crop(&padded, [2, 9, 8], top, left, [5, 4]);
                if flip {
                    flip_horizontal(&mut expected, shape);
                    flipped += 1;
                } else {
                    kept += 1;
                }
                normalize(&mut expected, shape, &mean, &std);
                assert_eq!(out, expected, "seed {seed}, {mode:?}");
            }
            assert!(flipped > 10 && kept > 10);
        }
    }
}
