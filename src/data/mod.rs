//! Datasets for training and evaluation: where they come from, how they are read, and how
//! they are cut into augmented, normalised batches.
//!
//! Architecture rule: this module is plain Rust (no Burn) and prints nothing; it returns
//! [`Diagnostic`]s (the compiler's, with a file instead of a span) with codes in the E06xx
//! range, and the CLI decides how to show them
//! (exit code 4, `EXIT_DATA`). Images are kept as `f32` in `[0, 1]`, laid out `C×H×W` per
//! image; the [`Loader`] turns them into batches in background threads.
//!
//! Sources:
//! - [`DataSource::Cifar10`] / [`DataSource::Cifar100`]: the official binary format, found in
//!   the directory given, else `$RESC_DATA`, else the user cache directory (see
//!   [`search_dirs`]); `resc data fetch` downloads it ([`fetch`]).
//! - [`DataSource::Digits`]: the UCI optical-recognition digits (1,797 8×8 images) built into
//!   the binary (`data/digits/`).
//! - [`DataSource::Synthetic`]: generated, learnable class patterns plus noise.
//! - [`DataSource::Folder`]: `PATH/train/<class>/*.png|jpg` and `PATH/test/<class>/*`.
//!
//! Typical use (a training loop): parse `--data`, load, and make one [`Loader`] per split;
//! the CLI renders a failure's [`Diagnostic`] and exits with code 4.
//!
//! ```no_run
//! use resc::data::{self, Augment, DataSource, Loader};
//! use std::sync::Arc;
//!
//! let source: DataSource = "digits".parse()?;
//! let dataset = data::load(&source, None)?;
//! let train = Loader::new(
//!     Arc::new(dataset.train.clone()),
//!     128,                                     // batch size
//!     true,                                    // shuffle every epoch
//!     source.default_augment(dataset.shape()), // or the recipe's augmentation
//!     dataset.mean.clone(),
//!     dataset.std.clone(),
//!     42,                                      // seed: same batches for the same seed
//!     2,                                       // background threads
//! );
//! for epoch in 0..3 {
//!     for batch in train.epoch(epoch) {       // resume mid-epoch: train.epoch_from(epoch, k)
//!         let [b, c, h, w] = batch.shape;      // batch.images: b·c·h·w normalised values
//!         assert_eq!(batch.images.len(), b * c * h * w);
//!     }
//! }
//! # Ok::<(), resc::diag::Diagnostic>(())
//! ```

mod augment;
mod cifar;
mod digits;
pub mod fetch;
mod folder;
mod loader;
pub(crate) mod rng;
mod synthetic;

pub use crate::diag::Diagnostic;
pub use augment::{crop, flip_horizontal, normalize, pad, Augment, PadMode};
pub use cifar::Kind as CifarKind;
pub use loader::{Batch, Batches, Loader};
pub use rng::Rng;

use crate::diag::Code;
use std::path::{Path, PathBuf};

/// One part of a dataset (train or test): `len()` images of `shape` = `[C, H, W]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Split {
    /// `N·C·H·W` values in `[0, 1]`, image after image.
    pub images: Vec<f32>,
    /// One label per image, each `< classes`.
    pub labels: Vec<u32>,
    /// `[C, H, W]` of every image.
    pub shape: [usize; 3],
}

impl Split {
    /// The number of images.
    pub fn len(&self) -> usize {
        self.labels.len()
    }

    /// Whether the split holds no image.
    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// The number of values in one image (`C·H·W`).
    pub fn image_len(&self) -> usize {
        self.shape.iter().product()
    }

    /// The values of image `index`.
    pub fn image(&self, index: usize) -> &[f32] {
        let n = self.image_len();
        &self.images[index * n..(index + 1) * n]
    }

    /// How many images each class has (`classes` entries).
    pub fn class_counts(&self, classes: usize) -> Vec<usize> {
        let mut counts = vec![0; classes];
        for &label in &self.labels {
            if let Some(c) = counts.get_mut(label as usize) {
                *c += 1;
            }
        }
        counts
    }

    /// The per-channel mean and (population) standard deviation of the split.
    pub fn channel_stats(&self) -> (Vec<f32>, Vec<f32>) {
        let channels = self.shape[0];
        let plane = self.shape[1] * self.shape[2];
        let mut sum = vec![0f64; channels];
        let mut sum_sq = vec![0f64; channels];
        for image in self.images.chunks_exact(self.image_len().max(1)) {
            for (c, values) in image.chunks_exact(plane.max(1)).enumerate() {
                for &v in values {
                    sum[c] += v as f64;
                    sum_sq[c] += (v as f64) * (v as f64);
                }
            }
        }
        let count = (self.len() * plane).max(1) as f64;
        let mean: Vec<f64> = sum.iter().map(|s| s / count).collect();
        let std = sum_sq
            .iter()
            .zip(&mean)
            .map(|(sq, m)| {
                let var = (sq / count - m * m).max(0.0);
                // A constant channel would divide by zero when normalising.
                if var > 1e-12 {
                    var.sqrt() as f32
                } else {
                    1.0
                }
            })
            .collect();
        (mean.iter().map(|&m| m as f32).collect(), std)
    }
}

/// A dataset: its train and test splits, class names and the train split's statistics.
#[derive(Clone, Debug)]
pub struct Dataset {
    /// A short name (`cifar10`, `digits`, `synthetic`, or the folder's name).
    pub name: String,
    pub train: Split,
    pub test: Split,
    /// One name per class; `labels` index into it.
    pub class_names: Vec<String>,
    /// Per-channel mean of the train split (for normalisation).
    pub mean: Vec<f32>,
    /// Per-channel standard deviation of the train split (never 0).
    pub std: Vec<f32>,
}

impl Dataset {
    /// The number of classes.
    pub fn classes(&self) -> usize {
        self.class_names.len()
    }

    /// The `[C, H, W]` shape of every image.
    pub fn shape(&self) -> [usize; 3] {
        self.train.shape
    }

    /// Builds a dataset and computes the train split's statistics.
    pub fn new(name: &str, train: Split, test: Split, class_names: Vec<String>) -> Dataset {
        let (mean, std) = train.channel_stats();
        Dataset {
            name: name.to_string(),
            train,
            test,
            class_names,
            mean,
            std,
        }
    }
}

/// Where a dataset comes from (`--data`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DataSource {
    Cifar10,
    Cifar100,
    Digits,
    /// Generated data: `classes` learnable patterns of `shape` plus noise.
    Synthetic {
        classes: usize,
        shape: [usize; 3],
        train: usize,
        test: usize,
        seed: u64,
    },
    /// An image folder: `PATH/train/<class>/*` and `PATH/test/<class>/*`.
    Folder(PathBuf),
}

impl DataSource {
    /// The synthetic source `synthetic` names: 10 classes of 3×32×32, 512 train and 128 test
    /// images, seed 0.
    pub const SYNTHETIC_DEFAULT: DataSource = DataSource::Synthetic {
        classes: 10,
        shape: [3, 32, 32],
        train: 512,
        test: 128,
        seed: 0,
    };

    /// A short name for messages and run directories.
    pub fn name(&self) -> String {
        match self {
            DataSource::Cifar10 => "cifar10".into(),
            DataSource::Cifar100 => "cifar100".into(),
            DataSource::Digits => "digits".into(),
            DataSource::Synthetic { .. } => "synthetic".into(),
            DataSource::Folder(path) => path
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "folder".into()),
        }
    }
}

impl DataSource {
    /// The training augmentation that suits the source: CIFAR's pad-4 crop and flip for
    /// CIFAR; pad-1 crops without flips for digits (a mirrored digit is another symbol or
    /// none); pad-⌈H/8⌉ crops and flips for image folders; nothing random for synthetic data
    /// (its patterns are the signal). All normalise. `shape` is the dataset's `[C, H, W]`.
    pub fn default_augment(&self, shape: [usize; 3]) -> Augment {
        match self {
            DataSource::Cifar10 | DataSource::Cifar100 => Augment::cifar(),
            DataSource::Digits => Augment {
                pad: 1,
                crop: true,
                ..Augment::none()
            },
            DataSource::Synthetic { .. } => Augment::none(),
            DataSource::Folder(_) => Augment {
                pad: shape[1].div_ceil(8),
                ..Augment::cifar()
            },
        }
    }
}

impl std::fmt::Display for DataSource {
    /// The text [`FromStr`](std::str::FromStr) reads back: `cifar10`, `digits`,
    /// `synthetic:classes=10,shape=3x32x32,train=512,test=128,seed=0`, or the path.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DataSource::Synthetic {
                classes,
                shape: [c, h, w],
                train,
                test,
                seed,
            } => write!(
                f,
                "synthetic:classes={classes},shape={c}x{h}x{w},train={train},test={test},seed={seed}"
            ),
            DataSource::Folder(path) => write!(f, "{}", path.display()),
            other => f.write_str(&other.name()),
        }
    }
}

impl std::str::FromStr for DataSource {
    type Err = Diagnostic;

    /// `cifar10`, `cifar100`, `digits`, `synthetic`, `synthetic:classes=4,shape=1x8x8,
    /// train=64,test=32,seed=1` (any subset of the keys), or else a folder path.
    fn from_str(text: &str) -> Result<DataSource, Diagnostic> {
        match text {
            "cifar10" | "cifar-10" => Ok(DataSource::Cifar10),
            "cifar100" | "cifar-100" => Ok(DataSource::Cifar100),
            "digits" => Ok(DataSource::Digits),
            "synthetic" => Ok(DataSource::SYNTHETIC_DEFAULT),
            _ => match text.strip_prefix("synthetic:") {
                Some(options) => synthetic::parse_options(options),
                None if text.is_empty() => Err(Diagnostic::error(
                    Code::E0611,
                    "an empty `--data` names no dataset",
                )
                .hint("use cifar10, cifar100, digits, synthetic or a folder path")),
                None => Ok(DataSource::Folder(PathBuf::from(text))),
            },
        }
    }
}

/// Loads a dataset. `data_dir` (`--data-dir`) is where CIFAR is looked for; without it,
/// `$RESC_DATA` and then the user cache directory (see [`search_dirs`]).
pub fn load(source: &DataSource, data_dir: Option<&Path>) -> Result<Dataset, Diagnostic> {
    match source {
        DataSource::Cifar10 => cifar::load(cifar::Kind::Cifar10, &search_dirs(data_dir)),
        DataSource::Cifar100 => cifar::load(cifar::Kind::Cifar100, &search_dirs(data_dir)),
        DataSource::Digits => digits::load(),
        DataSource::Synthetic {
            classes,
            shape,
            train,
            test,
            seed,
        } => synthetic::generate(*classes, *shape, *train, *test, *seed),
        DataSource::Folder(path) => folder::load(path),
    }
}

/// The directories searched for downloaded datasets, in order: `data_dir` alone when given,
/// else `$RESC_DATA` (when set and not empty), then the user cache directory's `resc`
/// folder (`$XDG_CACHE_HOME/resc` or `~/.cache/resc` on Linux).
pub fn search_dirs(data_dir: Option<&Path>) -> Vec<PathBuf> {
    if let Some(dir) = data_dir {
        return vec![dir.to_path_buf()];
    }
    let mut dirs = Vec::new();
    if let Some(dir) = std::env::var_os("RESC_DATA").filter(|d| !d.is_empty()) {
        dirs.push(PathBuf::from(dir));
    }
    if let Some(cache) = dirs::cache_dir() {
        dirs.push(cache.join("resc"));
    }
    dirs
}

/// Where `resc data fetch` puts a download: `data_dir`, else the first of [`search_dirs`].
pub fn default_fetch_dir(data_dir: Option<&Path>) -> Option<PathBuf> {
    search_dirs(data_dir).into_iter().next()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_parse_and_print_back() {
        for text in [
            "cifar10",
            "cifar100",
            "digits",
            "synthetic:classes=3,shape=1x4x5,train=7,test=2,seed=9",
            "some/folder",
        ] {
            let source: DataSource = text.parse().unwrap();
            assert_eq!(source.to_string(), text);
        }
        assert_eq!(
            "synthetic".parse::<DataSource>().unwrap(),
            DataSource::SYNTHETIC_DEFAULT
        );
        assert_eq!("".parse::<DataSource>().unwrap_err().code, Code::E0611);
        let augment = DataSource::Folder("x".into()).default_augment([3, 64, 64]);
        assert_eq!((augment.pad, augment.crop, augment.flip), (8, true, true));
        assert!(!DataSource::Digits.default_augment([1, 8, 8]).flip);
    }

    #[test]
    fn channel_stats() {
        let split = Split {
            images: vec![0.0, 1.0, 0.5, 0.5, 1.0, 0.0, 0.5, 0.5],
            labels: vec![0, 1],
            shape: [2, 1, 2],
        };
        let (mean, std) = split.channel_stats();
        assert_eq!(mean, [0.5, 0.5]);
        assert_eq!(std, [0.5, 1.0]); // the constant channel gets 1, not 0
        assert_eq!(split.class_counts(3), [1, 1, 0]);
    }
}
