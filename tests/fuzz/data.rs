//! Datasets through `resc::data::load`: CIFAR directories whose files are random bytes,
//! whole records with any label bytes, cut or padded records, empty, missing, or
//! directories; image folders whose images are random bytes, damaged PNGs and JPEGs,
//! PNG headers that claim huge sizes, empty files or directories; and `--data`
//! specifications, synthetic ones with sizes that pass every limit or wrap around.
//!
//! Properties: the outcome is a dataset whose labels and sizes agree, from which the
//! training loader makes a batch, or an error with an E06xx code; and the largest
//! single allocation stays within a bound set by the bytes on disk (see [`cifar_bound`]
//! and [`folder_bound`]), whatever sizes the files claim.

use super::alloc::largest_allocation;
use super::{config, hostile};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::TestCaseError;
use resc::data::{self, DataSource, Dataset, Loader};
use std::io::Write;
use std::path::Path;
use std::sync::Arc;

/// CIFAR values are `f32` per pixel byte, and the train split is copied once more
/// for the loader: a few times the bytes on disk, plus room for small buffers.
fn cifar_bound(disk: u64) -> u64 {
    8 * disk + (1 << 20)
}

/// A compressed image may expand: deflate by up to 1,032×, and 1-bit pixels to 4 bytes
/// of RGBA (32×); a claim beyond that cannot be backed by the file's bytes.
fn folder_bound(disk: u64) -> u64 {
    (disk << 16) + (1 << 20)
}

/// Loads `source` and, if that works, checks the dataset and makes a training batch;
/// returns the bytes the largest allocation took.
fn load_and_check(source: &DataSource, data_dir: Option<&Path>) -> Result<u64, TestCaseError> {
    let (outcome, largest) = largest_allocation(|| {
        data::load(source, data_dir).map(|d| {
            let batch = first_batch(source, &d);
            (d, batch)
        })
    });
    match outcome {
        Ok((dataset, batch)) => check_dataset(&dataset, batch)?,
        Err(e) => prop_assert!(
            e.code.as_str().starts_with("E06") && !e.message.is_empty(),
            "not a data error: {e:?}"
        ),
    }
    Ok(largest as u64)
}

/// The first training batch as `run` would make it: shuffled, augmented, normalised.
fn first_batch(source: &DataSource, d: &Dataset) -> Option<(usize, usize)> {
    if d.train.is_empty() {
        return None;
    }
    let augment = source.default_augment(d.shape());
    let loader = Loader::new(
        Arc::new(d.train.clone()),
        3,
        true,
        augment,
        d.mean.clone(),
        d.std.clone(),
        7,
        0,
    );
    let batch = loader.batch(0, 0);
    Some((batch.len(), batch.images.len()))
}

fn check_dataset(d: &Dataset, batch: Option<(usize, usize)>) -> Result<(), TestCaseError> {
    let classes = d.classes() as u32;
    for split in [&d.train, &d.test] {
        prop_assert_eq!(split.shape, d.shape());
        prop_assert_eq!(split.images.len(), split.len() * split.image_len());
        prop_assert!(
            split.labels.iter().all(|&l| l < classes),
            "a label ≥ {classes}"
        );
        prop_assert!(split.images.iter().all(|v| (0.0..=1.0).contains(v)));
    }
    prop_assert_eq!(d.mean.len(), d.shape()[0]);
    prop_assert!(
        d.std.iter().all(|s| s.is_finite() && *s > 0.0),
        "{:?}",
        d.std
    );
    if let Some((images, values)) = batch {
        prop_assert_eq!(images, d.train.len().min(3));
        prop_assert_eq!(values, images * d.train.image_len());
    }
    Ok(())
}

// ---------------------------------------------------------------------------------
// CIFAR.

/// What stands where a CIFAR file should be.
#[derive(Clone, Debug)]
enum CifarEntry {
    Missing,
    Empty,
    Directory,
    Bytes(Vec<u8>),
    /// Records with these (coarse, fine) label bytes, then a cut or extra bytes.
    Records(Vec<(u8, u8)>, Tail),
}

#[derive(Clone, Debug)]
enum Tail {
    Whole,
    Cut(Index),
    Extra(Vec<u8>),
}

/// Labels mostly in range, sometimes just past it or anywhere.
fn label() -> impl Strategy<Value = u8> {
    prop_oneof![40 => 0..10u8, 1 => 10..20u8, 1 => 99..101u8, 1 => any::<u8>()]
}

fn cifar_entry() -> impl Strategy<Value = CifarEntry> {
    let tail = prop_oneof![
        4 => Just(Tail::Whole),
        1 => any::<Index>().prop_map(Tail::Cut),
        1 => prop::collection::vec(any::<u8>(), 1..40).prop_map(Tail::Extra),
    ];
    prop_oneof![
        1 => Just(CifarEntry::Missing),
        1 => Just(CifarEntry::Empty),
        1 => Just(CifarEntry::Directory),
        2 => prop::collection::vec(any::<u8>(), 0..7000).prop_map(CifarEntry::Bytes),
        8 => (prop::collection::vec((label(), label()), 0..3), tail)
            .prop_map(|(labels, tail)| CifarEntry::Records(labels, tail)),
    ]
}

/// Good records in every file, except for up to two files.
fn cifar_entries() -> impl Strategy<Value = Vec<CifarEntry>> {
    let good = (
        prop::collection::vec((0..20u8, 0..10u8), 1..3),
        Just(Tail::Whole),
    )
        .prop_map(|(labels, tail)| CifarEntry::Records(labels, tail));
    (
        prop::collection::vec(good, 6),
        prop::collection::vec((any::<Index>(), cifar_entry()), 0..3),
    )
        .prop_map(|(mut entries, bad)| {
            for (at, entry) in bad {
                let i = at.index(entries.len());
                entries[i] = entry;
            }
            entries
        })
}

fn write_cifar_entry(path: &Path, entry: &CifarEntry, label_bytes: usize) {
    let bytes = match entry {
        CifarEntry::Missing => return,
        CifarEntry::Directory => {
            std::fs::create_dir_all(path).expect("a directory");
            return;
        }
        CifarEntry::Empty => Vec::new(),
        CifarEntry::Bytes(bytes) => bytes.clone(),
        CifarEntry::Records(labels, tail) => {
            let mut bytes = Vec::new();
            for (n, &(coarse, fine)) in labels.iter().enumerate() {
                if label_bytes == 2 {
                    bytes.push(coarse);
                }
                bytes.push(fine);
                bytes.extend((0..3072).map(|i| (i * 7 + n) as u8));
            }
            match tail {
                Tail::Whole => {}
                Tail::Cut(at) => bytes.truncate(at.index(bytes.len() + 1)),
                Tail::Extra(extra) => bytes.extend_from_slice(extra),
            }
            bytes
        }
    };
    std::fs::write(path, bytes).expect("a written file");
}

/// The bytes of the regular files under `dir`.
fn disk_bytes(dir: &Path) -> u64 {
    let mut total = 0;
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        match std::fs::symlink_metadata(&path) {
            Ok(m) if m.is_dir() => total += disk_bytes(&path),
            Ok(m) if m.is_file() => total += m.len(),
            _ => {}
        }
    }
    total
}

/// Writes a CIFAR directory into a new temporary directory and loads it.
fn check_cifar(
    cifar100: bool,
    nested: bool,
    entries: &[CifarEntry],
    names: Option<&str>,
) -> Result<(), TestCaseError> {
    let (source, kind) = if cifar100 {
        (DataSource::Cifar100, data::CifarKind::Cifar100)
    } else {
        (DataSource::Cifar10, data::CifarKind::Cifar10)
    };
    let temp = tempfile::tempdir().expect("a temporary directory");
    let dir = if nested {
        temp.path().join(kind.dir_name())
    } else {
        temp.path().to_path_buf()
    };
    std::fs::create_dir_all(&dir).expect("a directory");
    let files = kind.train_files().iter().chain(kind.test_files());
    for (name, entry) in files.zip(entries.iter().cycle()) {
        write_cifar_entry(&dir.join(name), entry, kind.label_bytes());
    }
    if let Some(names) = names {
        let file = if cifar100 {
            "fine_label_names.txt"
        } else {
            "batches.meta.txt"
        };
        std::fs::write(dir.join(file), names).expect("a names file");
    }
    let largest = load_and_check(&source, Some(temp.path()))?;
    let disk = disk_bytes(temp.path());
    prop_assert!(
        largest <= cifar_bound(disk),
        "{largest} bytes allocated at once for {disk} bytes on disk"
    );
    Ok(())
}

fn names_text() -> impl Strategy<Value = Option<String>> {
    prop_oneof![
        2 => Just(None),
        1 => Just(Some((0..10).map(|c| format!("c{c}\n")).collect())),
        1 => ".{0,60}".prop_map(Some),
    ]
}

proptest! {
    #![proptest_config(config(256, 0xc1fa_2026))]

    #[test]
    fn cifar_files_load_or_fail_with_a_code(
        cifar100 in any::<bool>(),
        nested in any::<bool>(),
        entries in cifar_entries(),
        names in names_text(),
    ) {
        check_cifar(cifar100, nested, &entries, names.as_deref())?;
    }
}

/// Every file of `tests/hostile/cifar/` in the place of every CIFAR-10 and CIFAR-100
/// file.
#[test]
fn hostile_cifar_files() {
    for (path, bytes) in hostile("cifar") {
        for cifar100 in [false, true] {
            let entries = [CifarEntry::Bytes(bytes.clone())];
            if let Err(e) = check_cifar(cifar100, true, &entries, None) {
                panic!("{} (cifar100: {cifar100}): {e}", path.display());
            }
        }
    }
}

/// What cannot be a file in the corpus: a directory, an endless device and a FIFO
/// where a CIFAR file or the names file should be. Each is an error (or, for the names
/// file, ignored), never a hang or a read without end.
#[cfg(unix)]
#[test]
fn cifar_files_that_are_not_regular_files() {
    let kind = data::CifarKind::Cifar10;
    let good: Vec<u8> = std::iter::once(3)
        .chain((0..3072).map(|i| i as u8))
        .collect();
    for (what, target) in [
        ("data_batch_3.bin", "dir"),
        ("test_batch.bin", "zero"),
        ("data_batch_1.bin", "fifo"),
        ("batches.meta.txt", "zero"),
        ("batches.meta.txt", "fifo"),
    ] {
        let temp = tempfile::tempdir().unwrap();
        let dir = temp.path().join(kind.dir_name());
        std::fs::create_dir_all(&dir).unwrap();
        for name in kind.train_files().iter().chain(kind.test_files()) {
            std::fs::write(dir.join(name), &good).unwrap();
        }
        let path = dir.join(what);
        let _ = std::fs::remove_file(&path);
        match target {
            "dir" => std::fs::create_dir(&path).unwrap(),
            "zero" if Path::new("/dev/zero").exists() => {
                std::os::unix::fs::symlink("/dev/zero", &path).unwrap()
            }
            "fifo" => {
                let status = std::process::Command::new("mkfifo").arg(&path).status();
                if !status.is_ok_and(|s| s.success()) {
                    continue; // No mkfifo here.
                }
            }
            _ => continue,
        }
        let loaded = data::load(&DataSource::Cifar10, Some(temp.path()));
        match (what, loaded) {
            ("batches.meta.txt", Ok(d)) => assert_eq!(d.class_names[0], "airplane"),
            (_, Err(e)) => assert_eq!(e.code.as_str(), "E0602", "{what} → {target}: {e}"),
            (_, Ok(_)) => panic!("{what} → {target} loaded"),
        }
    }
}

// ---------------------------------------------------------------------------------
// Image folders.

/// What stands where an image should be.
#[derive(Clone, Debug)]
enum ImageEntry {
    /// A real image (the dataset's size unless given), then damaged.
    Image {
        jpeg: bool,
        grey: bool,
        size: Option<(u32, u32)>,
        damage: Damage,
    },
    /// A PNG whose header claims `width × height` of a colour type and bit depth,
    /// followed by a little real pixel data.
    Claim {
        width: u32,
        height: u32,
        colour: u8,
        depth: u8,
        data: usize,
    },
    Bytes(Vec<u8>),
    Empty,
    Directory,
}

#[derive(Clone, Debug)]
enum Damage {
    None,
    Flip(Vec<(Index, u8)>),
    Cut(Index),
}

fn dimension() -> impl Strategy<Value = u32> {
    prop_oneof![
        Just(0u32),
        Just(1),
        Just(13_000),
        Just(100_000),
        Just(1 << 31),
        Just(u32::MAX),
        any::<u32>(),
    ]
}

fn image_entry() -> impl Strategy<Value = ImageEntry> {
    let damage = prop_oneof![
        10 => Just(Damage::None),
        2 => prop::collection::vec((any::<Index>(), any::<u8>()), 1..6).prop_map(Damage::Flip),
        1 => any::<Index>().prop_map(Damage::Cut),
    ];
    let size = prop::option::weighted(0.05, (0..5u32, 0..5u32));
    prop_oneof![
        14 => (any::<bool>(), any::<bool>(), size, damage).prop_map(|(jpeg, grey, size, damage)| {
            ImageEntry::Image { jpeg, grey, size, damage }
        }),
        2 => (dimension(), dimension(), prop::sample::select(&[0u8, 2, 3, 4, 6, 5][..]),
              prop::sample::select(&[1u8, 2, 4, 8, 16, 3][..]), 0..3000usize)
            .prop_map(|(width, height, colour, depth, data)| {
                ImageEntry::Claim { width, height, colour, depth, data }
            }),
        1 => prop::collection::vec(any::<u8>(), 0..300).prop_map(ImageEntry::Bytes),
        1 => Just(ImageEntry::Empty),
        1 => Just(ImageEntry::Directory),
    ]
}

/// The CRC-32 of PNG chunks (ISO 3309, reflected, polynomial 0xEDB88320).
fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &b in bytes {
        crc ^= b as u32;
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
    out.extend_from_slice(&(data.len() as u32).to_be_bytes());
    let start = out.len();
    out.extend_from_slice(kind);
    out.extend_from_slice(data);
    let crc = crc32(&out[start..]);
    out.extend_from_slice(&crc.to_be_bytes());
}

/// A PNG with a valid header (checksums included) claiming `width × height`, and
/// `data` zero bytes of compressed pixel rows.
pub fn png_claiming(width: u32, height: u32, colour: u8, depth: u8, data: usize) -> Vec<u8> {
    let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
    let mut header = Vec::new();
    header.extend_from_slice(&width.to_be_bytes());
    header.extend_from_slice(&height.to_be_bytes());
    header.extend_from_slice(&[depth, colour, 0, 0, 0]);
    chunk(&mut png, b"IHDR", &header);
    if colour == 3 {
        chunk(&mut png, b"PLTE", &[0, 0, 0, 255, 255, 255]);
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::fast());
    z.write_all(&vec![0u8; data]).expect("in memory");
    chunk(&mut png, b"IDAT", &z.finish().expect("in memory"));
    chunk(&mut png, b"IEND", &[]);
    png
}

fn encode(jpeg: bool, grey: bool, (width, height): (u32, u32)) -> Vec<u8> {
    let image = if grey {
        image::DynamicImage::ImageLuma8(image::GrayImage::from_fn(width, height, |x, y| {
            image::Luma([(x * 40 + y * 7) as u8])
        }))
    } else {
        image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(width, height, |x, y| {
            image::Rgb([x as u8 * 50, y as u8 * 30, 200])
        }))
    };
    let format = if jpeg {
        image::ImageFormat::Jpeg
    } else {
        image::ImageFormat::Png
    };
    let mut bytes = std::io::Cursor::new(Vec::new());
    match image.write_to(&mut bytes, format) {
        Ok(()) => bytes.into_inner(),
        Err(_) => Vec::new(), // A size the encoder refuses (0×0): an empty file.
    }
}

fn write_image(path: &Path, entry: &ImageEntry, size: (u32, u32)) {
    if path.exists() {
        return; // A class listed twice: the first one's image stays.
    }
    let bytes = match entry {
        ImageEntry::Directory => {
            std::fs::create_dir_all(path).expect("a directory");
            return;
        }
        ImageEntry::Empty => Vec::new(),
        ImageEntry::Bytes(bytes) => bytes.clone(),
        ImageEntry::Claim {
            width,
            height,
            colour,
            depth,
            data,
        } => png_claiming(*width, *height, *colour, *depth, *data),
        ImageEntry::Image {
            jpeg,
            grey,
            size: own,
            damage,
        } => {
            let mut bytes = encode(*jpeg, *grey, own.unwrap_or(size));
            match damage {
                Damage::None => {}
                Damage::Flip(flips) if !bytes.is_empty() => {
                    for (at, value) in flips {
                        let i = at.index(bytes.len());
                        bytes[i] = *value;
                    }
                }
                Damage::Flip(_) => {}
                Damage::Cut(at) => bytes.truncate(at.index(bytes.len() + 1)),
            }
            bytes
        }
    };
    std::fs::write(path, bytes).expect("a written image");
}

/// One image folder: class directories (by index into a few names) holding images.
type Folder = Vec<(usize, Vec<(ImageEntry, &'static str)>)>;

fn extension() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["png", "png", "png", "jpg", "jpeg", "PNG", "txt"][..])
}

/// Mostly one to three classes of one to three images each, sometimes none.
fn folder() -> impl Strategy<Value = Folder> {
    let images = prop::collection::vec((image_entry(), extension()), 0..4).boxed();
    prop_oneof![
        1 => prop::collection::vec((0..3usize, images.clone()), 0..3),
        8 => prop::collection::vec(images.prop_filter("an image", |i| !i.is_empty()), 1..4)
            .prop_map(|classes| classes.into_iter().enumerate().collect()),
    ]
}

fn write_folder(root: &Path, split: &str, folder: &Folder, size: (u32, u32)) {
    std::fs::create_dir_all(root.join(split)).expect("a split directory");
    for (class, images) in folder {
        let dir = root.join(split).join(["cat", "dog", "é 🙂"][*class]);
        std::fs::create_dir_all(&dir).expect("a class directory");
        for (n, (entry, extension)) in images.iter().enumerate() {
            write_image(&dir.join(format!("{n}.{extension}")), entry, size);
        }
    }
}

fn check_folder(train: &Folder, test: &Folder, size: (u32, u32)) -> Result<(), TestCaseError> {
    let temp = tempfile::tempdir().expect("a temporary directory");
    let root = temp.path().join("images");
    write_folder(&root, "train", train, size);
    write_folder(&root, "test", test, size);
    let largest = load_and_check(&DataSource::Folder(root), None)?;
    let disk = disk_bytes(temp.path());
    prop_assert!(
        largest <= folder_bound(disk),
        "{largest} bytes allocated at once for {disk} bytes on disk"
    );
    Ok(())
}

proptest! {
    #![proptest_config(config(192, 0x1a6e_2026))]

    #[test]
    fn image_folders_load_or_fail_with_a_code(
        train in folder(),
        test in folder(),
        size in (1..6u32, 1..6u32),
    ) {
        check_folder(&train, &test, size)?;
    }
}

/// Every file of `tests/hostile/images/` as the only image of a one-class folder, under
/// its own extension, and next to a good image of its size class.
#[test]
fn hostile_images() {
    for (path, bytes) in hostile("images") {
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("png");
        let temp = tempfile::tempdir().unwrap();
        let root = temp.path().join("hostile");
        for split in ["train", "test"] {
            let dir = root.join(split).join("a");
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("x.{extension}")), &bytes).unwrap();
        }
        std::fs::write(root.join("train/a/y.png"), encode(false, true, (2, 2))).unwrap();
        let checked = load_and_check(&DataSource::Folder(root), None);
        let disk = disk_bytes(temp.path());
        match checked {
            Ok(largest) => assert!(
                largest <= folder_bound(disk),
                "{}: {largest} bytes allocated at once for {disk} bytes on disk",
                path.display()
            ),
            Err(e) => panic!("{}: {e}", path.display()),
        }
    }
}

// ---------------------------------------------------------------------------------
// `--data` specifications.

/// Numbers for sizes: small ones, and ones whose products pass any limit or wrap
/// around `usize`, or that are no `usize` at all.
#[rustfmt::skip]
const NUMBERS: &[&str] = &[
    "0", "1", "2", "3", "5", "8", "16", "4294967296", "2147483648", "9223372036854775809",
    "18446744073709551615", "18446744073709551616", "-1", "", "x", "1e3", "٣", " 4 ", "1_0",
];

fn spec() -> impl Strategy<Value = String> {
    let number = prop::sample::select(NUMBERS);
    let shape = prop::collection::vec(number.clone(), 1..5).prop_flat_map(|dims| {
        prop::sample::select(&["x", "X", "×", "*"][..]).prop_map(move |sep| dims.join(sep))
    });
    let key = prop::sample::select(
        &[
            "classes",
            "train",
            "test",
            "seed",
            "colour",
            "",
            " classes ",
            "CLASSES",
        ][..],
    );
    let part = prop_oneof![
        4 => (key, number).prop_map(|(k, v)| format!("{k}={v}")),
        2 => shape.prop_map(|s| format!("shape={s}")),
        1 => "\\PC{0,8}",
    ];
    // Small sizes first (later keys win), so that what loads loads quickly.
    prop_oneof![
        6 => prop::collection::vec(part, 0..6)
            .prop_map(|p| format!("synthetic:train=6,test=3,shape=1x4x4,{}", p.join(","))),
        1 => prop::sample::select(
            &["cifar10", "cifar-100", "digits", "synthetic", "", "synthetic:", "synthetic:,,"][..],
        )
        .prop_map(str::to_string),
        1 => "synthetic\\PC{0,12}",
    ]
}

proptest! {
    #![proptest_config(config(256, 0xda7a_2026))]

    /// `--data` text parses to a source or a coded error; a synthetic source loads or
    /// is refused before its size is allocated.
    #[test]
    fn data_specs_parse_and_load(text in spec()) {
        match text.parse::<DataSource>() {
            Err(e) => prop_assert_eq!(e.code.as_str(), "E0611", "{}", e),
            Ok(source @ DataSource::Synthetic { .. }) => {
                let largest = load_and_check(&source, None)?;
                prop_assert!(largest <= 64 << 20, "{largest} bytes allocated at once");
            }
            Ok(_) => {}
        }
    }
}

/// Every file of `tests/hostile/data-specs/` as a `--data` argument (its text without
/// the final line break); synthetic sources are loaded.
#[test]
fn hostile_data_specs() {
    for (path, bytes) in hostile("data-specs") {
        let text = String::from_utf8(bytes).expect("a specification is text");
        let text = text.strip_suffix('\n').unwrap_or(&text);
        match text.parse::<DataSource>() {
            Ok(source @ DataSource::Synthetic { .. }) => {
                if let Err(e) = load_and_check(&source, None) {
                    panic!("{}: {e}", path.display());
                }
            }
            Ok(_) => {} // Other sources do not depend on the text.
            Err(e) => assert_eq!(e.code.as_str(), "E0611", "{}: {e}", path.display()),
        }
    }
}
