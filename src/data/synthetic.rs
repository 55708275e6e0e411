//! Generated data for smoke tests and benchmarks: each class is a random pattern
//! (left–right symmetric, so flipping keeps it), and each image is its class's pattern plus
//! Gaussian noise (σ = 0.25), clipped to `[0, 1]`. Labels cycle through the classes, so the
//! classes are balanced. Everything depends only on the seed; the test split shares the
//! train split's patterns but draws its own noise.

use super::{DataSource, Dataset, Diagnostic, Rng, Split};
use crate::diag::Code;

/// The most values (`images × C×H×W`) a synthetic split may hold (4 GiB of `f32`); the
/// class patterns (`classes × C×H×W`) are held to the same limit.
const MAX_VALUES: usize = 1 << 30;

/// The most classes a synthetic dataset may have: each has a pattern and a name.
const MAX_CLASSES: usize = 1 << 20;

/// Generates the dataset `DataSource::Synthetic` describes.
pub(super) fn generate(
    classes: usize,
    shape: [usize; 3],
    train: usize,
    test: usize,
    seed: u64,
) -> Result<Dataset, Diagnostic> {
    let invalid = |what: String| {
        Err(
            Diagnostic::error(Code::E0611, format!("invalid synthetic dataset: {what}"))
                .hint("e.g. `synthetic:classes=10,shape=3x32x32,train=512,test=128,seed=0`"),
        )
    };
    if classes == 0 || classes > MAX_CLASSES {
        return invalid(format!(
            "{classes} classes (from 1 to {MAX_CLASSES} are possible)"
        ));
    }
    // A product past `usize` would wrap around to a small size in release builds.
    let Some(image_len) = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d)) else {
        return invalid(format!("image shape {shape:?} is too large"));
    };
    if image_len == 0 {
        return invalid(format!("image shape {shape:?} is empty"));
    }
    if classes.saturating_mul(image_len) > MAX_VALUES {
        return invalid(format!(
            "{classes} class patterns of {shape:?} is too large"
        ));
    }
    if train == 0 || test == 0 {
        return invalid("both splits need at least one image".into());
    }
    if train.max(test).saturating_mul(image_len) > MAX_VALUES {
        return invalid(format!(
            "{} images of {shape:?} is too large",
            train.max(test)
        ));
    }
    let patterns: Vec<Vec<f32>> = (0..classes)
        .map(|c| pattern(shape, &mut Rng::stream(&[seed, 0x5041_5454, c as u64])))
        .collect();
    let split = |count: usize, key: u64| {
        let mut rng = Rng::stream(&[seed, key]);
        let mut images = Vec::with_capacity(count * image_len);
        let mut labels = Vec::with_capacity(count);
        for i in 0..count {
            let label = i % classes;
            images.extend(
                patterns[label]
                    .iter()
                    .map(|&p| (p + 0.25 * rng.normal()).clamp(0.0, 1.0)),
            );
            labels.push(label as u32);
        }
        Split {
            images,
            labels,
            shape,
        }
    };
    let class_names = (0..classes).map(|c| format!("class{c}")).collect();
    Ok(Dataset::new(
        "synthetic",
        split(train, 0x5452_4149),
        split(test, 0x5445_5354),
        class_names,
    ))
}

/// A random, left–right symmetric `shape` pattern with values in `[0, 1)`.
fn pattern(shape: [usize; 3], rng: &mut Rng) -> Vec<f32> {
    let width = shape[2];
    let mut out = vec![0.0; shape.iter().product()];
    for row in out.chunks_exact_mut(width) {
        for x in 0..width.div_ceil(2) {
            let v = rng.uniform();
            row[x] = v;
            row[width - 1 - x] = v;
        }
    }
    out
}

/// Parses the options of `synthetic:classes=4,shape=1x8x8,train=64,test=32,seed=1`.
pub(super) fn parse_options(text: &str) -> Result<DataSource, Diagnostic> {
    let DataSource::Synthetic {
        mut classes,
        mut shape,
        mut train,
        mut test,
        mut seed,
    } = DataSource::SYNTHETIC_DEFAULT
    else {
        unreachable!("the default synthetic source is synthetic")
    };
    let bad = |part: &str| {
        Diagnostic::error(
            Code::E0611,
            format!("cannot read `{part}` in `synthetic:{text}`"),
        )
        .note("keys: classes, shape (C×H×W as `3x32x32`), train, test, seed")
        .hint("e.g. `synthetic:classes=4,shape=1x8x8,train=64,test=32,seed=1`")
    };
    for part in text.split(',').filter(|p| !p.trim().is_empty()) {
        let (key, value) = part.split_once('=').ok_or_else(|| bad(part))?;
        let value = value.trim();
        let number = || value.parse::<usize>().map_err(|_| bad(part));
        match key.trim() {
            "classes" => classes = number()?,
            "train" => train = number()?,
            "test" => test = number()?,
            "seed" => seed = value.parse::<u64>().map_err(|_| bad(part))?,
            "shape" => {
                let dims: Vec<usize> = value
                    .split(['x', 'X', '×'])
                    .map(|d| d.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad(part))?;
                shape = dims.try_into().map_err(|_| bad(part))?;
            }
            _ => return Err(bad(part)),
        }
    }
    Ok(DataSource::Synthetic {
        classes,
        shape,
        train,
        test,
        seed,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_reproducible_and_in_range() {
        let a = generate(4, [1, 6, 5], 40, 12, 3).unwrap();
        let b = generate(4, [1, 6, 5], 40, 12, 3).unwrap();
        let c = generate(4, [1, 6, 5], 40, 12, 4).unwrap();
        assert_eq!(a.train, b.train);
        assert_ne!(a.train, c.train);
        assert_eq!(a.classes(), 4);
        assert_eq!(a.train.len(), 40);
        assert_eq!(a.test.len(), 12);
        assert_eq!(a.train.class_counts(4), [10; 4]);
        assert!(a.train.images.iter().all(|v| (0.0..=1.0).contains(v)));
        assert_eq!(a.mean.len(), 1);
        // Symmetric: each row reads the same both ways before noise, so class means are.
        assert_ne!(a.train.image(0), a.train.image(4));
    }

    /// Learnable: the nearest class mean of the train split classifies the test split.
    #[test]
    fn nearest_class_mean_separates_the_classes() {
        let d = generate(5, [3, 8, 8], 100, 50, 1).unwrap();
        let n = d.train.image_len();
        let mut means = vec![vec![0f32; n]; 5];
        for i in 0..d.train.len() {
            let label = d.train.labels[i] as usize;
            for (m, v) in means[label].iter_mut().zip(d.train.image(i)) {
                *m += v / 20.0;
            }
        }
        let correct = (0..d.test.len())
            .filter(|&i| {
                let x = d.test.image(i);
                let dist =
                    |m: &Vec<f32>| -> f32 { m.iter().zip(x).map(|(a, b)| (a - b).powi(2)).sum() };
                let best = (0..5)
                    .min_by(|&a, &b| dist(&means[a]).total_cmp(&dist(&means[b])))
                    .unwrap();
                best == d.test.labels[i] as usize
            })
            .count();
        assert_eq!(correct, 50);
    }

    #[test]
    fn options() {
        let s: DataSource = "synthetic:classes=4,shape=1x8x8,train=64,seed=2"
            .parse()
            .unwrap();
        assert_eq!(
            s,
            DataSource::Synthetic {
                classes: 4,
                shape: [1, 8, 8],
                train: 64,
                test: 128,
                seed: 2
            }
        );
        let e = "synthetic:shape=8x8".parse::<DataSource>().unwrap_err();
        assert_eq!(e.code, Code::E0611);
        let e = "synthetic:colour=red".parse::<DataSource>().unwrap_err();
        assert!(e
            .to_string()
            .starts_with("error[E0611]: cannot read `colour=red`"));
        let e = generate(0, [1, 2, 2], 1, 1, 0).unwrap_err();
        assert_eq!(e.code, Code::E0611);
    }

    /// Sizes whose product wraps around `usize`, and class counts whose patterns and
    /// names alone would fill the memory, are errors (issue 15).
    #[test]
    fn sizes_past_the_limits_are_errors() {
        let huge = (1usize << 63) + 1;
        for (classes, shape) in [
            (2, [huge, 2, 1]),
            (2, [1 << 32, 1 << 32, 1]),
            (u32::MAX as usize, [1, 1, 1]),
            (1 << 19, [1, 64, 64]),
        ] {
            let e = generate(classes, shape, 1, 1, 0).unwrap_err();
            assert_eq!(e.code, Code::E0611, "{classes} {shape:?}");
        }
    }
}
