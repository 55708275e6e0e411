//! The UCI optical-recognition digits (1,797 8×8 images, 17 grey levels), built into the
//! binary from `data/digits/digits.csv.gz` (CC BY 4.0; source and licence in
//! `data/digits/README.md`).
//!
//! Fixed, stratified 80/20 split: going through the file in order, every fifth image of
//! each class (its 5th, 10th, … image) is a test image, the others train images — 1,442
//! train and 355 test images, every class in both in the same proportion.

use super::{Dataset, Diagnostic, Split};
use crate::diag::Code;
use flate2::read::GzDecoder;
use std::io::Read as _;

/// The gzip'd CSV: 64 pixel values (0–16, row-major) and the label per line.
const ARCHIVE: &[u8] = include_bytes!("../../data/digits/digits.csv.gz");

/// Images in the file.
pub const IMAGES: usize = 1797;
/// Images in the train split; the other 355 form the test split.
pub const TRAIN: usize = 1442;
/// Every `TEST_EVERY`-th image of a class is a test image.
const TEST_EVERY: usize = 5;
const PIXELS: usize = 64;
const LEVELS: f32 = 16.0;

pub(super) fn load() -> Result<Dataset, Diagnostic> {
    let malformed = |message: String| {
        Diagnostic::error(Code::E0603, message)
            .file("data/digits/digits.csv.gz")
            .note("the file is built into resc; the build is damaged")
    };
    let mut text = String::new();
    GzDecoder::new(ARCHIVE)
        .read_to_string(&mut text)
        .map_err(|e| malformed(format!("cannot decompress the built-in digits: {e}")))?;
    let mut images: Vec<f32> = Vec::with_capacity(IMAGES * PIXELS);
    let mut labels = Vec::with_capacity(IMAGES);
    for (line_index, line) in text.lines().filter(|l| !l.trim().is_empty()).enumerate() {
        let values: Vec<u32> = line
            .split(',')
            .map(|v| v.trim().parse::<u32>())
            .collect::<Result<_, _>>()
            .map_err(|e| malformed(format!("line {}: {e}", line_index + 1)))?;
        if values.len() != PIXELS + 1 || values[..PIXELS].iter().any(|&v| v > 16) {
            return Err(malformed(format!(
                "line {} is not 64 values 0–16 and a label",
                line_index + 1
            )));
        }
        if values[PIXELS] > 9 {
            return Err(Diagnostic::error(
                Code::E0604,
                format!("label {} out of range 0–9", values[PIXELS]),
            )
            .file("data/digits/digits.csv.gz")
            .note(format!("record {line_index}")));
        }
        images.extend(values[..PIXELS].iter().map(|&v| v as f32 / LEVELS));
        labels.push(values[PIXELS]);
    }
    if labels.len() != IMAGES {
        return Err(malformed(format!(
            "{} images instead of {IMAGES}",
            labels.len()
        )));
    }
    let empty = || Split {
        images: Vec::new(),
        labels: Vec::new(),
        shape: [1, 8, 8],
    };
    let (mut train, mut test) = (empty(), empty());
    let mut seen = [0usize; 10];
    for (image, &label) in images.chunks_exact(PIXELS).zip(&labels) {
        seen[label as usize] += 1;
        let split = if seen[label as usize] % TEST_EVERY == 0 {
            &mut test
        } else {
            &mut train
        };
        split.images.extend_from_slice(image);
        split.labels.push(label);
    }
    if train.len() != TRAIN {
        return Err(malformed(format!(
            "{} train images instead of {TRAIN}",
            train.len()
        )));
    }
    let class_names = (0..10).map(|d| d.to_string()).collect();
    Ok(Dataset::new("digits", train, test, class_names))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loads_the_fixed_split() {
        let d = load().unwrap();
        assert_eq!((d.train.len(), d.test.len()), (TRAIN, IMAGES - TRAIN));
        assert_eq!(d.train.shape, [1, 8, 8]);
        assert_eq!(
            d.test.class_counts(10),
            [35, 36, 35, 36, 36, 36, 36, 35, 34, 36]
        );
        // The first image is a 0: row 0 is `0,0,5,13,9,1,0,0`.
        assert_eq!(d.train.labels[0], 0);
        assert_eq!(
            &d.train.image(0)[..8],
            &[0.0, 0.0, 5. / 16., 13. / 16., 9. / 16., 1. / 16., 0.0, 0.0]
        );
        assert!((d.mean[0] - 0.30).abs() < 0.02, "{:?}", d.mean);
    }
}
