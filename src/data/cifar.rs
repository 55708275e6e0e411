//! CIFAR-10 and CIFAR-100 in the official binary format
//! (<https://www.cs.toronto.edu/~kriz/cifar.html>).
//!
//! A file is a sequence of records: the label byte(s) then 3,072 pixel bytes, the red, green
//! and blue 32×32 planes in row-major order — already `C×H×W`. CIFAR-10 has one label byte
//! (`data_batch_1.bin` … `data_batch_5.bin`, `test_batch.bin`, class names in
//! `batches.meta.txt`); CIFAR-100 has a coarse (0–19) and a fine (0–99) label byte
//! (`train.bin`, `test.bin`, names in `fine_label_names.txt`); resc uses the fine labels.

use super::{Dataset, Diagnostic, Split};
use crate::diag::Code;
use std::io::Read;
use std::path::{Path, PathBuf};

const PIXELS: usize = 3 * 32 * 32;

/// Which CIFAR.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Cifar10,
    Cifar100,
}

impl Kind {
    /// The name users type (`cifar10`).
    pub fn name(self) -> &'static str {
        match self {
            Kind::Cifar10 => "cifar10",
            Kind::Cifar100 => "cifar100",
        }
    }

    /// The directory the official archive unpacks to.
    pub fn dir_name(self) -> &'static str {
        match self {
            Kind::Cifar10 => "cifar-10-batches-bin",
            Kind::Cifar100 => "cifar-100-binary",
        }
    }

    pub fn train_files(self) -> &'static [&'static str] {
        match self {
            Kind::Cifar10 => &[
                "data_batch_1.bin",
                "data_batch_2.bin",
                "data_batch_3.bin",
                "data_batch_4.bin",
                "data_batch_5.bin",
            ],
            Kind::Cifar100 => &["train.bin"],
        }
    }

    pub fn test_files(self) -> &'static [&'static str] {
        match self {
            Kind::Cifar10 => &["test_batch.bin"],
            Kind::Cifar100 => &["test.bin"],
        }
    }

    /// The bytes before the pixels of each record.
    pub fn label_bytes(self) -> usize {
        match self {
            Kind::Cifar10 => 1,
            Kind::Cifar100 => 2,
        }
    }

    /// The size of one record.
    pub fn record_len(self) -> usize {
        self.label_bytes() + PIXELS
    }

    pub fn classes(self) -> usize {
        match self {
            Kind::Cifar10 => 10,
            Kind::Cifar100 => 100,
        }
    }

    fn names_file(self) -> &'static str {
        match self {
            Kind::Cifar10 => "batches.meta.txt",
            Kind::Cifar100 => "fine_label_names.txt",
        }
    }
}

const CIFAR10_NAMES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];

/// The dataset directory inside `dir`, if `dir` holds one: `dir/<dir_name>/`, or `dir`
/// itself when it holds the first train file.
pub fn find_in(kind: Kind, dir: &Path) -> Option<PathBuf> {
    let nested = dir.join(kind.dir_name());
    if nested.is_dir() {
        return Some(nested);
    }
    dir.join(kind.train_files()[0])
        .is_file()
        .then(|| dir.to_path_buf())
}

/// Loads CIFAR from the first of `dirs` that holds it.
pub(super) fn load(kind: Kind, dirs: &[PathBuf]) -> Result<Dataset, Diagnostic> {
    let Some(dir) = dirs.iter().find_map(|d| find_in(kind, d)) else {
        return Err(not_found(kind, dirs));
    };
    let train = read_split(kind, &dir, kind.train_files())?;
    let test = read_split(kind, &dir, kind.test_files())?;
    Ok(Dataset::new(
        kind.name(),
        train,
        test,
        class_names(kind, &dir),
    ))
}

fn not_found(kind: Kind, dirs: &[PathBuf]) -> Diagnostic {
    let mut error = Diagnostic::error(Code::E0601, format!("{} not found", kind.name()));
    if dirs.is_empty() {
        error = error.note("no directory to search: no --data-dir, $RESC_DATA, or cache directory");
    }
    for dir in dirs {
        error = error.note(format!(
            "looked in {} (for {}/)",
            dir.display(),
            kind.dir_name()
        ));
    }
    error.hint(format!(
        "download it with `resc data fetch {}` (add `--data-dir DIR` to choose where), \
         or point --data-dir or $RESC_DATA at the directory holding {}/",
        kind.name(),
        kind.dir_name()
    ))
}

fn read_split(kind: Kind, dir: &Path, files: &[&str]) -> Result<Split, Diagnostic> {
    let mut split = Split {
        images: Vec::new(),
        labels: Vec::new(),
        shape: [3, 32, 32],
    };
    for name in files {
        read_file(kind, &dir.join(name), &mut split)?;
    }
    Ok(split)
}

/// Appends the records of one binary file to `split`.
pub(super) fn read_file(kind: Kind, path: &Path, split: &mut Split) -> Result<(), Diagnostic> {
    // A regular file of any size: the records take memory in proportion to it.
    let bytes = read_regular(path, u64::MAX).map_err(|e| {
        Diagnostic::error(
            Code::E0602,
            format!("cannot read {} file `{}`: {e}", kind.name(), path.display()),
        )
        .file(path)
        .hint(format!(
            "download the dataset again: `resc data fetch {}`",
            kind.name()
        ))
    })?;
    let record = kind.record_len();
    if bytes.is_empty() || bytes.len() % record != 0 {
        return Err(Diagnostic::error(
            Code::E0603,
            format!(
                "`{}` is truncated or malformed: {} bytes is not a whole number of {}-byte records",
                path.display(),
                bytes.len(),
                record
            ),
        )
        .file(path)
        .note(format!(
            "{} whole records, then {} bytes of record {}",
            bytes.len() / record,
            bytes.len() % record,
            bytes.len() / record
        ))
        .hint(format!(
            "download the dataset again: `resc data fetch {}`",
            kind.name()
        )));
    }
    split.images.reserve(bytes.len() / record * PIXELS);
    split.labels.reserve(bytes.len() / record);
    for (index, chunk) in bytes.chunks_exact(record).enumerate() {
        let (labels, pixels) = chunk.split_at(kind.label_bytes());
        let label = check_label(kind, labels, path, index)?;
        split.labels.push(label);
        split
            .images
            .extend(pixels.iter().map(|&b| b as f32 / 255.0));
    }
    Ok(())
}

/// The bytes of a regular file, at most `limit`. Anything else is an error before it is
/// opened: a FIFO would block the open, and a device such as `/dev/zero` never ends.
fn read_regular(path: &Path, limit: u64) -> std::io::Result<Vec<u8>> {
    if !std::fs::metadata(path)?.is_file() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(limit)
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The fine label of a record (the only label of CIFAR-10), checked.
fn check_label(kind: Kind, labels: &[u8], path: &Path, index: usize) -> Result<u32, Diagnostic> {
    let bad = |what: &str, label: u8, classes: usize| {
        Err(Diagnostic::error(
            Code::E0604,
            format!(
                "record {index} of `{}` has {what} {label}, out of range 0–{}",
                path.display(),
                classes - 1
            ),
        )
        .file(path)
        .note(format!(
            "record {index} starts at byte {}",
            index * kind.record_len()
        ))
        .hint(format!(
            "the file is corrupt or not {}: download it again with `resc data fetch {}`",
            kind.name(),
            kind.name()
        )))
    };
    match kind {
        Kind::Cifar10 if labels[0] as usize >= 10 => bad("label", labels[0], 10),
        Kind::Cifar10 => Ok(labels[0] as u32),
        Kind::Cifar100 if labels[0] as usize >= 20 => bad("coarse label", labels[0], 20),
        Kind::Cifar100 if labels[1] as usize >= 100 => bad("fine label", labels[1], 100),
        Kind::Cifar100 => Ok(labels[1] as u32),
    }
}

/// Class names from the names file when it lists one per class, else built-in ones.
fn class_names(kind: Kind, dir: &Path) -> Vec<String> {
    // One short line per class: a file larger than the limit is not a names file.
    const LIMIT: u64 = 64 << 10;
    let from_file: Vec<String> = read_regular(&dir.join(kind.names_file()), LIMIT + 1)
        .ok()
        .filter(|bytes| bytes.len() as u64 <= LIMIT)
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .map(|text| {
            text.lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .map(String::from)
                .collect()
        })
        .unwrap_or_default();
    if from_file.len() == kind.classes() {
        return from_file;
    }
    match kind {
        Kind::Cifar10 => CIFAR10_NAMES.iter().map(|s| s.to_string()).collect(),
        Kind::Cifar100 => (0..100).map(|c| format!("class{c}")).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(kind: Kind, label: u8, fill: u8) -> Vec<u8> {
        let mut r = vec![label; kind.label_bytes()];
        if kind == Kind::Cifar100 {
            r[0] = label / 5;
        }
        r.extend((0..PIXELS).map(|i| fill.wrapping_add(i as u8)));
        r
    }

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("resc-cifar-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn reads_records_and_checks_them() {
        let dir = temp_dir("unit");
        let path = dir.join("x.bin");
        let mut bytes = record(Kind::Cifar100, 42, 7);
        bytes.extend(record(Kind::Cifar100, 99, 0));
        std::fs::write(&path, &bytes).unwrap();
        let mut split = Split {
            images: vec![],
            labels: vec![],
            shape: [3, 32, 32],
        };
        read_file(Kind::Cifar100, &path, &mut split).unwrap();
        assert_eq!(split.labels, [42, 99]);
        assert_eq!(split.images[0], 7.0 / 255.0);
        assert_eq!(split.images[PIXELS + 255], 1.0);

        bytes.pop();
        std::fs::write(&path, &bytes).unwrap();
        let e = read_file(Kind::Cifar100, &path, &mut split).unwrap_err();
        assert_eq!(e.code, Code::E0603);
        assert_eq!(e.notes, ["1 whole records, then 3073 bytes of record 1"]);

        std::fs::write(&path, record(Kind::Cifar10, 10, 0)).unwrap();
        let e = read_file(Kind::Cifar10, &path, &mut split).unwrap_err();
        assert_eq!(e.code, Code::E0604);
        assert!(e.message.starts_with("record 0 of"), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
