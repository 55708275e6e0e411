//! Datasets: the CIFAR readers on files written here in the official format, the built-in
//! digits, image folders, synthetic data, the loader, and `resc data fetch` against a
//! loopback HTTP server serving a tiny CIFAR archive (good, corrupt, cut off).
//!
//! Everything runs in temporary directories; the binary runs with `$RESC_DATA`,
//! `$XDG_CACHE_HOME` and `$HOME` pointed there, so no real data or cache is touched.

use common::text;
use resc::data::{self, Augment, DataSource, Loader};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Arc;

mod common;

const PIXELS: usize = 3 * 32 * 32;

/// Runs `resc` with `args`, its data and cache directories inside `home`.
fn resc(args: &[&str], home: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resc"))
        .args(args)
        .env("RESC_DATA", home.join("resc-data"))
        .env("XDG_CACHE_HOME", home.join("cache"))
        .env("HOME", home)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the resc binary runs")
}

fn assert_exit(out: &Output, code: i32) {
    assert_eq!(out.status.code(), Some(code), "output:\n{}", text(out));
}

fn temp() -> tempfile::TempDir {
    tempfile::tempdir().expect("a temporary directory")
}

/// One record: the label byte(s), then pixels `fill + i`.
fn record(cifar100: bool, label: u8, fill: u8) -> Vec<u8> {
    let mut r = if cifar100 {
        vec![label / 5, label]
    } else {
        vec![label]
    };
    r.extend((0..PIXELS).map(|i| fill.wrapping_add(i as u8)));
    r
}

/// Writes a CIFAR-10 directory (`cifar-10-batches-bin/`) into `dir`: `per_file` records in
/// each of the six files, label `(file + record) % 10`, pixels filled from the file number.
fn write_cifar10(dir: &Path, per_file: usize) -> PathBuf {
    let root = dir.join("cifar-10-batches-bin");
    std::fs::create_dir_all(&root).unwrap();
    let files = [
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
    ];
    for (f, name) in files.iter().enumerate() {
        let bytes: Vec<u8> = (0..per_file)
            .flat_map(|r| record(false, ((f + r) % 10) as u8, f as u8 * 10))
            .collect();
        std::fs::write(root.join(name), bytes).unwrap();
    }
    let names = "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n";
    std::fs::write(root.join("batches.meta.txt"), names).unwrap();
    root
}

fn load_err(source: &DataSource, dir: &Path) -> String {
    match data::load(source, Some(dir)) {
        Ok(_) => panic!("{source:?} in {} loaded", dir.display()),
        Err(e) => e.to_string(),
    }
}

// ---------------------------------------------------------------- CIFAR readers

#[test]
fn cifar10_good_files_load() {
    let dir = temp();
    write_cifar10(dir.path(), 3);
    let d = data::load(&DataSource::Cifar10, Some(dir.path())).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (15, 3));
    assert_eq!(d.train.shape, [3, 32, 32]);
    assert_eq!(d.classes(), 10);
    assert_eq!(d.class_names[9], "truck");
    assert_eq!(&d.train.labels[..6], &[0, 1, 2, 1, 2, 3]);
    assert_eq!(d.test.labels, [5, 6, 7]);
    // Pixels are bytes / 255, red plane first; file 2's records start at 10.
    assert_eq!(d.train.image(3)[0], 10.0 / 255.0);
    assert_eq!(d.train.image(0)[1024], 0.0); // byte 1024 wraps to 0
    assert_eq!(d.mean.len(), 3);
}

#[test]
fn cifar100_good_file_loads_fine_labels() {
    let dir = temp();
    let root = dir.path().join("cifar-100-binary");
    std::fs::create_dir_all(&root).unwrap();
    let train: Vec<u8> = [0u8, 57, 99]
        .iter()
        .flat_map(|&l| record(true, l, 1))
        .collect();
    std::fs::write(root.join("train.bin"), train).unwrap();
    std::fs::write(root.join("test.bin"), record(true, 42, 2)).unwrap();
    let d = data::load(&DataSource::Cifar100, Some(dir.path())).unwrap();
    assert_eq!(d.train.labels, [0, 57, 99]);
    assert_eq!(d.test.labels, [42]);
    assert_eq!(d.classes(), 100);
    assert_eq!(d.test.image(0)[0], 2.0 / 255.0);
}

#[test]
fn truncated_cifar_file_is_a_coded_error_naming_it() {
    let dir = temp();
    let root = write_cifar10(dir.path(), 2);
    let path = root.join("data_batch_3.bin");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes.truncate(bytes.len() - 100);
    std::fs::write(&path, bytes).unwrap();
    let e = load_err(&DataSource::Cifar10, dir.path());
    assert!(e.starts_with("error[E0603]: `"), "{e}");
    assert!(e.contains("data_batch_3.bin"), "{e}");
    assert!(
        e.contains("6046 bytes is not a whole number of 3073-byte records"),
        "{e}"
    );
    assert!(
        e.contains("1 whole records, then 2973 bytes of record 1"),
        "{e}"
    );
    assert!(e.contains("resc data fetch cifar10"), "{e}");
}

#[test]
fn bad_label_is_a_coded_error_naming_file_and_record() {
    let dir = temp();
    let root = write_cifar10(dir.path(), 3);
    let mut bytes = std::fs::read(root.join("test_batch.bin")).unwrap();
    bytes[2 * 3073] = 10; // record 2's label
    std::fs::write(root.join("test_batch.bin"), bytes).unwrap();
    let e = load_err(&DataSource::Cifar10, dir.path());
    assert!(e.starts_with("error[E0604]: record 2 of `"), "{e}");
    assert!(
        e.contains("test_batch.bin` has label 10, out of range 0–9"),
        "{e}"
    );

    let root = dir.path().join("cifar-100-binary");
    std::fs::create_dir_all(&root).unwrap();
    let mut bad = record(true, 0, 0);
    bad[1] = 100; // coarse label 0, fine label 100
    std::fs::write(root.join("train.bin"), bad).unwrap();
    std::fs::write(root.join("test.bin"), record(true, 1, 0)).unwrap();
    let e = load_err(&DataSource::Cifar100, dir.path());
    assert!(
        e.contains("[E0604]") && e.contains("fine label 100, out of range 0–99"),
        "{e}"
    );
}

#[test]
fn missing_cifar_file_is_a_coded_error_naming_it() {
    let dir = temp();
    let root = write_cifar10(dir.path(), 1);
    std::fs::remove_file(root.join("data_batch_5.bin")).unwrap();
    let e = load_err(&DataSource::Cifar10, dir.path());
    assert!(
        e.starts_with("error[E0602]: cannot read cifar10 file"),
        "{e}"
    );
    assert!(e.contains("data_batch_5.bin"), "{e}");
}

/// No data anywhere: the error lists every place searched and how to get the data, and the
/// command exits with the data-error code 4.
#[test]
fn no_data_lists_every_place_searched() {
    let home = temp();
    let out = resc(&["data", "info", "cifar10"], home.path());
    assert_exit(&out, 4);
    let t = text(&out);
    assert!(t.starts_with("error[E0601]: cifar10 not found"), "{t}");
    let env_dir = home.path().join("resc-data");
    let cache = home.path().join("cache").join("resc");
    assert!(
        t.contains(&format!("looked in {}", env_dir.display())),
        "{t}"
    );
    assert!(t.contains(&format!("looked in {}", cache.display())), "{t}");
    assert!(t.contains("resc data fetch cifar10"), "{t}");

    // --data-dir alone is searched when given.
    let out = resc(
        &["data", "info", "cifar100", "--data-dir", "nowhere"],
        home.path(),
    );
    assert_exit(&out, 4);
    let t = text(&out);
    assert!(
        t.contains("looked in nowhere (for cifar-100-binary/)"),
        "{t}"
    );
    assert!(!t.contains("resc-data"), "{t}");
}

#[test]
fn cifar_in_the_cache_directory_is_found() {
    let home = temp();
    write_cifar10(&home.path().join("cache").join("resc"), 1);
    let out = resc(
        &["data", "info", "cifar10", "--format", "json"],
        home.path(),
    );
    assert_exit(&out, 0);
    let info: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(info["train"], 5);
    assert_eq!(info["test"], 1);
    assert_eq!(info["classes"][0], "airplane");
}

// ---------------------------------------------------------------- digits, synthetic

#[test]
fn digits_are_built_in() {
    let d = data::load(&DataSource::Digits, None).unwrap();
    assert_eq!(d.train.len() + d.test.len(), 1797);
    assert_eq!((d.train.len(), d.test.len()), (1442, 355));
    assert_eq!(d.train.shape, [1, 8, 8]);
    let train = d.train.class_counts(10);
    let test = d.test.class_counts(10);
    let all: Vec<usize> = train.iter().zip(&test).map(|(a, b)| a + b).collect();
    assert_eq!(all, [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]);
    // Stratified: every fifth image of a class is a test image.
    assert_eq!(test, [35, 36, 35, 36, 36, 36, 36, 35, 34, 36]);
    assert!(d.train.images.iter().all(|v| (0.0..=1.0).contains(v)));
    assert!(d.train.images.contains(&1.0));

    let home = temp();
    let out = resc(&["data", "info", "digits"], home.path());
    assert_exit(&out, 0);
    let t = text(&out);
    assert!(t.contains("train    1,442 images"), "{t}");
    assert!(t.contains("images   1×8×8"), "{t}");
}

#[test]
fn bad_synthetic_options_are_a_coded_error() {
    let home = temp();
    let out = resc(&["data", "info", "synthetic:classes=three"], home.path());
    assert_exit(&out, 4);
    let t = text(&out);
    assert!(
        t.starts_with("error[E0611]: cannot read `classes=three`"),
        "{t}"
    );
    let out = resc(
        &[
            "data",
            "info",
            "synthetic:classes=3,shape=1x4x4,train=6,test=3",
        ],
        home.path(),
    );
    assert_exit(&out, 0);
    assert!(text(&out).contains("train    6 images"), "{}", text(&out));
}

/// The loader over real data: every image once per epoch, reproducible, and equal whatever
/// the number of worker threads.
#[test]
fn loader_over_digits_is_deterministic() {
    let d = data::load(&DataSource::Digits, None).unwrap();
    let train = Arc::new(d.train.clone());
    let augment = Augment {
        pad: 1,
        ..Augment::cifar()
    };
    let make = |workers| {
        Loader::new(
            train.clone(),
            128,
            true,
            augment,
            d.mean.clone(),
            d.std.clone(),
            5,
            workers,
        )
    };
    let one: Vec<_> = make(1).epoch(2).collect();
    let three: Vec<_> = make(3).epoch(2).collect();
    assert_eq!(one, three);
    assert_eq!(one.len(), 12);
    let mut labels: Vec<u32> = one.iter().flat_map(|b| b.labels.clone()).collect();
    labels.sort();
    let mut expected = d.train.labels.clone();
    expected.sort();
    assert_eq!(labels, expected);
    assert_eq!(one[11].shape, [1442 - 11 * 128, 1, 8, 8]);
    // Normalised with the train statistics: roughly zero mean over an epoch.
    let values: Vec<f32> = one.iter().flat_map(|b| b.images.clone()).collect();
    let mean = values.iter().sum::<f32>() / values.len() as f32;
    assert!(mean.abs() < 0.1, "{mean}");
}

/// The model the quick start trains on digits compiles for 1×8×8 input.
#[test]
fn digits_model_checks() {
    let options = resc::driver::Options {
        network: None,
        overrides: vec![],
    };
    let c = resc::driver::compile_file(
        Path::new("models/digits-resnet.resnet"),
        &options,
        &mut resc::driver::FsLoader,
    )
    .unwrap();
    let checked = c.result.as_ref().expect("digits-resnet checks");
    let report = resc::check::Report::new(
        &checked.elaborated.network,
        &checked.elaborated.graph,
        &checked.info,
    );
    assert_eq!(report.params, 269_434);
}

// ---------------------------------------------------------------- image folders

fn write_png(path: &Path, width: u32, height: u32, grey: bool, value: u8) {
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    if grey {
        image::GrayImage::from_pixel(width, height, image::Luma([value]))
            .save(path)
            .unwrap();
    } else {
        image::RgbImage::from_fn(width, height, |x, _| image::Rgb([value, x as u8, 255]))
            .save(path)
            .unwrap();
    }
}

#[test]
fn image_folder_loads() {
    let dir = temp();
    let root = dir.path().join("shapes");
    write_png(&root.join("train/circle/a.png"), 4, 3, true, 51);
    write_png(&root.join("train/circle/b.png"), 4, 3, true, 102);
    write_png(&root.join("train/square/c.png"), 4, 3, true, 0);
    std::fs::write(root.join("train/square/notes.txt"), "ignored").unwrap();
    write_png(&root.join("test/square/d.png"), 4, 3, true, 255);
    let d = data::load(&DataSource::Folder(root.clone()), None).unwrap();
    assert_eq!(d.name, "shapes");
    assert_eq!(d.class_names, ["circle", "square"]);
    assert_eq!(d.train.shape, [1, 3, 4]);
    assert_eq!(d.train.labels, [0, 0, 1]);
    assert_eq!(d.test.labels, [1]);
    assert_eq!(d.train.image(1)[0], 102.0 / 255.0);
    assert_eq!(d.test.image(0)[5], 1.0);

    // One colour image makes every image RGB (channel planes R, G, B).
    write_png(&root.join("train/square/e.png"), 4, 3, false, 10);
    let d = data::load(&DataSource::Folder(root), None).unwrap();
    assert_eq!(d.train.shape, [3, 3, 4]);
    let e = d.train.image(3);
    assert_eq!((e[0], e[12 + 2], e[24]), (10.0 / 255.0, 2.0 / 255.0, 1.0));
    assert_eq!(d.train.image(0)[12], 51.0 / 255.0); // grey copied to G
}

#[test]
fn jpeg_images_load() {
    let dir = temp();
    let root = dir.path();
    for (split, class, name) in [
        ("train", "a", "x.jpg"),
        ("train", "b", "y.JPEG"),
        ("test", "a", "z.jpg"),
    ] {
        let path = root.join(split).join(class).join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let image = image::RgbImage::from_pixel(6, 5, image::Rgb([200, 100, 50]));
        image
            .save_with_format(&path, image::ImageFormat::Jpeg)
            .unwrap();
    }
    let d = data::load(&DataSource::Folder(root.to_path_buf()), None).unwrap();
    assert_eq!(d.train.shape, [3, 5, 6]);
    assert_eq!(d.train.labels, [0, 1]);
    // JPEG is lossy: the red plane stays close to 200/255.
    assert!((d.test.image(0)[0] - 200.0 / 255.0).abs() < 0.03);
}

#[test]
fn loader_and_batches_can_move_between_threads() {
    fn send_sync<T: Send + Sync>() {}
    fn send<T: Send>() {}
    send_sync::<Loader>();
    send_sync::<data::Dataset>();
    send::<data::Batches>();
    send_sync::<resc::diag::Diagnostic>();
}

#[test]
fn empty_image_folder_is_a_coded_error_naming_it() {
    let dir = temp();
    let root = dir.path();
    write_png(&root.join("train/a/x.png"), 2, 2, true, 1);
    write_png(&root.join("test/a/y.png"), 2, 2, true, 1);
    std::fs::create_dir_all(root.join("train/b")).unwrap();
    let e = load_err(&DataSource::Folder(root.to_path_buf()), root);
    assert!(e.starts_with("error[E0605]: class directory `"), "{e}");
    assert!(e.contains("train/b` holds no image"), "{e}");

    let empty = temp();
    std::fs::create_dir_all(empty.path().join("train")).unwrap();
    let e = load_err(&DataSource::Folder(empty.path().into()), root);
    assert!(
        e.contains("[E0605]") && e.contains("has no class directories"),
        "{e}"
    );

    let missing = dir.path().join("missing");
    let e = load_err(&DataSource::Folder(missing), root);
    assert!(e.starts_with("error[E0601]: dataset folder `"), "{e}");
}

#[test]
fn images_of_different_sizes_are_a_coded_error_naming_the_file() {
    let dir = temp();
    let root = dir.path();
    write_png(&root.join("train/a/x.png"), 4, 4, true, 1);
    write_png(&root.join("train/a/y.png"), 4, 5, true, 1);
    write_png(&root.join("test/a/z.png"), 4, 4, true, 1);
    let e = load_err(&DataSource::Folder(root.to_path_buf()), root);
    assert!(e.starts_with("error[E0607]: `"), "{e}");
    assert!(e.contains("y.png` is 4×5, but `"), "{e}");
}

#[test]
fn undecodable_image_is_a_coded_error_naming_the_file() {
    let dir = temp();
    let root = dir.path();
    write_png(&root.join("train/a/x.png"), 4, 4, true, 1);
    std::fs::write(
        root.join("train/a/broken.png"),
        b"\x89PNG\r\n\x1a\nnot really",
    )
    .unwrap();
    write_png(&root.join("test/a/z.png"), 4, 4, true, 1);
    let e = load_err(&DataSource::Folder(root.to_path_buf()), root);
    assert!(e.starts_with("error[E0606]: cannot decode image `"), "{e}");
    assert!(e.contains("broken.png"), "{e}");
}

// ---------------------------------------------------------------- resc data fetch

/// A tiny `cifar-10-binary.tar.gz`: the official layout with 2 records per file.
fn cifar10_archive() -> Vec<u8> {
    let staging = temp();
    write_cifar10(staging.path(), 2);
    let mut builder = tar::Builder::new(flate2::write::GzEncoder::new(
        Vec::new(),
        flate2::Compression::default(),
    ));
    builder
        .append_dir_all(
            "cifar-10-batches-bin",
            staging.path().join("cifar-10-batches-bin"),
        )
        .unwrap();
    builder.into_inner().unwrap().finish().unwrap()
}

fn md5_hex(bytes: &[u8]) -> String {
    format!("{:x}", md5::compute(bytes))
}

/// Serves `body` (announcing its full length) to each of up to `connections` requests on
/// a loopback port; with `cut`, sends only the first `cut` bytes and closes the connection.
fn serve(body: Vec<u8>, cut: Option<usize>, connections: usize) -> String {
    serve_with("200 OK", body, cut, connections)
}

/// Answers each of up to `connections` requests with `status` and no body.
fn serve_status(status: &'static str, connections: usize) -> String {
    serve_with(status, Vec::new(), None, connections)
}

fn serve_with(
    status: &'static str,
    body: Vec<u8>,
    cut: Option<usize>,
    connections: usize,
) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming().take(connections) {
            let Ok(mut stream) = stream else { continue };
            let mut request = Vec::new();
            let mut byte = [0u8; 1];
            while !request.ends_with(b"\r\n\r\n") && stream.read(&mut byte).unwrap_or(0) == 1 {
                request.push(byte[0]);
            }
            let header = format!(
                "HTTP/1.1 {status}\r\nContent-Length: {}\r\nContent-Type: application/gzip\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(header.as_bytes());
            let _ = stream.write_all(&body[..cut.unwrap_or(body.len())]);
            let _ = stream.flush();
            // Dropping the stream closes the connection, mid-body when cut.
        }
    });
    format!("http://127.0.0.1:{port}/cifar-10-binary.tar.gz")
}

fn fetch(dir: &Path, url: &str, md5: &str) -> Output {
    let dir = dir.to_str().unwrap();
    resc(
        &[
            "data",
            "fetch",
            "cifar10",
            "--data-dir",
            dir,
            "--url",
            url,
            "--md5",
            md5,
        ],
        Path::new(dir),
    )
}

/// Only the dataset directory is left behind: no `.part`, no temporary directory.
fn entries(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn fetch_downloads_verifies_and_unpacks() {
    let archive = cifar10_archive();
    let md5 = md5_hex(&archive);
    let url = serve(archive, None, 2);
    let dir = temp();
    // Leftovers of a killed run are replaced or removed.
    std::fs::create_dir_all(dir.path().join(".resc-unpack-cifar10-99999/x")).unwrap();
    std::fs::write(dir.path().join("cifar-10-batches-bin.tar.gz.part"), b"old").unwrap();
    let out = fetch(dir.path(), &url, &md5);
    assert_exit(&out, 0);
    let t = text(&out);
    assert!(t.contains("MD5 checksum verified"), "{t}");
    assert!(t.contains("ready: "), "{t}");
    assert_eq!(entries(dir.path()), ["cifar-10-batches-bin"]);
    let d = data::load(&DataSource::Cifar10, Some(dir.path())).unwrap();
    assert_eq!((d.train.len(), d.test.len()), (10, 2));
    // Running it again finds the data in place.
    let out = fetch(dir.path(), &url, &md5);
    assert_exit(&out, 0);
    assert!(text(&out).contains("already present"), "{}", text(&out));
}

#[test]
fn fetch_with_a_checksum_mismatch_keeps_nothing() {
    let archive = cifar10_archive();
    let good = md5_hex(&archive);
    let url = serve(archive, None, 2);
    let dir = temp();
    let out = fetch(dir.path(), &url, "0123456789abcdef0123456789abcdef");
    assert_exit(&out, 4);
    let t = text(&out);
    assert!(
        t.contains(&format!(
            "error[E0609]: the archive's MD5 is {good}, not 0123"
        )),
        "{t}"
    );
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));
    assert!(data::load(&DataSource::Cifar10, Some(dir.path())).is_err());
    // A second attempt with the right checksum succeeds.
    assert_exit(&fetch(dir.path(), &url, &good), 0);
    assert_eq!(entries(dir.path()), ["cifar-10-batches-bin"]);
}

#[test]
fn fetch_cut_off_mid_way_keeps_nothing_and_can_be_retried() {
    let archive = cifar10_archive();
    let md5 = md5_hex(&archive);
    let cut = archive.len() / 2;
    let url = serve(archive.clone(), Some(cut), 1);
    let dir = temp();
    let out = fetch(dir.path(), &url, &md5);
    assert_exit(&out, 4);
    let t = text(&out);
    assert!(t.starts_with("downloading "), "{t}");
    assert!(
        t.contains("error[E0608]: the download stopped after"),
        "{t}"
    );
    assert!(t.contains(&format!("of {} bytes", archive.len())), "{t}");
    assert!(entries(dir.path()).is_empty(), "{:?}", entries(dir.path()));

    let url = serve(archive, None, 1);
    assert_exit(&fetch(dir.path(), &url, &md5), 0);
    assert!(data::load(&DataSource::Cifar10, Some(dir.path())).is_ok());
}

#[test]
fn fetch_failure_leaves_existing_data_alone() {
    let dir = temp();
    write_cifar10(dir.path(), 1);
    // Not a gzip'd tar, but with the right checksum: unpacking fails.
    let junk = b"this is not an archive".to_vec();
    let url = serve(junk.clone(), None, 1);
    let out = resc(
        &[
            "data",
            "fetch",
            "cifar10",
            "--force",
            "--data-dir",
            dir.path().to_str().unwrap(),
            "--url",
            &url,
            "--md5",
            &md5_hex(&junk),
        ],
        dir.path(),
    );
    assert_exit(&out, 4);
    assert!(
        text(&out).contains("error[E0610]: cannot unpack"),
        "{}",
        text(&out)
    );
    assert_eq!(entries(dir.path()), ["cifar-10-batches-bin"]);
    let d = data::load(&DataSource::Cifar10, Some(dir.path())).unwrap();
    assert_eq!(d.train.len(), 5);

    // A server that answers 404 Not Found.
    let url = serve_status("404 Not Found", 2);
    let out = fetch(dir.path(), &url, "00");
    assert_exit(&out, 0); // already present: nothing is downloaded
    let empty = temp();
    let out = fetch(empty.path(), &url, "00");
    assert_exit(&out, 4);
    let t = text(&out);
    assert!(
        t.contains("error[E0608]: the server answered 404 Not Found"),
        "{t}"
    );
    assert!(
        entries(empty.path()).is_empty(),
        "{:?}",
        entries(empty.path())
    );
}
