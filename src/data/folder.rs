//! Image-folder datasets: `PATH/train/<class>/*.png|jpg|jpeg` and `PATH/test/<class>/*`.
//!
//! Class names are the train split's directory names, sorted; the test split may leave a
//! class out but not add one. Files are read in sorted order; other extensions are ignored.
//! Every image must have the size of the first; images become 1 channel when every image
//! is grey, else 3 (RGB; alpha is dropped).

use super::{Dataset, Diagnostic, Split};
use crate::diag::Code;
use std::path::{Path, PathBuf};

/// One decoded image: its size, whether it has colour, and its RGB planes (`3×H×W`).
struct Decoded {
    width: u32,
    height: u32,
    colour: bool,
    planes: Vec<u8>,
}

pub(super) fn load(root: &Path) -> Result<Dataset, Diagnostic> {
    if !root.is_dir() {
        return Err(Diagnostic::error(
            Code::E0601,
            format!("dataset folder `{}` not found", root.display()),
        )
        .file(root)
        .note("`--data` takes cifar10, cifar100, digits, synthetic, or a folder holding train/<class>/ and test/<class>/")
        .hint("check the path, or use one of the built-in names"));
    }
    let train_dir = root.join("train");
    let test_dir = root.join("test");
    let class_names = class_dirs(&train_dir)?;
    for name in class_dirs(&test_dir)? {
        if !class_names.contains(&name) {
            return Err(Diagnostic::error(
                Code::E0605,
                format!("test class `{name}` has no train directory"),
            )
            .file(test_dir.join(&name))
            .note(format!("train classes: {}", class_names.join(", ")))
            .hint("rename or remove the test directory, or add its train images"));
        }
    }
    let mut first: Option<(PathBuf, u32, u32)> = None;
    let (train, train_colour) = read_split(&train_dir, &class_names, false, &mut first)?;
    let (test, test_colour) = read_split(&test_dir, &class_names, true, &mut first)?;
    let channels = if train_colour || test_colour { 3 } else { 1 };
    let name = root
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "folder".into());
    Ok(Dataset::new(
        &name,
        to_split(train, channels),
        to_split(test, channels),
        class_names,
    ))
}

/// The sorted names of the class directories in `dir`.
fn class_dirs(dir: &Path) -> Result<Vec<String>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::error(Code::E0605, format!("cannot list `{}`: {e}", dir.display()))
            .file(dir)
            .hint("an image folder needs train/<class>/ and test/<class>/ directories of images")
    })?;
    let mut names = Vec::new();
    for entry in entries.flatten() {
        if entry.path().is_dir() {
            names.push(entry.file_name().to_string_lossy().into_owned());
        }
    }
    names.sort();
    if names.is_empty() {
        return Err(Diagnostic::error(
            Code::E0605,
            format!("`{}` has no class directories", dir.display()),
        )
        .file(dir)
        .hint("put each class's images in its own directory: train/<class>/*.png"));
    }
    Ok(names)
}

/// The image files of one class directory, sorted.
fn image_files(dir: &Path) -> Result<Vec<PathBuf>, Diagnostic> {
    let entries = std::fs::read_dir(dir).map_err(|e| {
        Diagnostic::error(Code::E0605, format!("cannot list `{}`: {e}", dir.display())).file(dir)
    })?;
    let mut files: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.is_file()
                && p.extension().is_some_and(|e| {
                    let e = e.to_string_lossy().to_ascii_lowercase();
                    e == "png" || e == "jpg" || e == "jpeg"
                })
        })
        .collect();
    files.sort();
    Ok(files)
}

type Images = Vec<(Decoded, u32)>;

fn read_split(
    dir: &Path,
    classes: &[String],
    optional_classes: bool,
    first: &mut Option<(PathBuf, u32, u32)>,
) -> Result<(Images, bool), Diagnostic> {
    let mut images = Vec::new();
    let mut colour = false;
    for (label, class) in classes.iter().enumerate() {
        let class_dir = dir.join(class);
        if optional_classes && !class_dir.is_dir() {
            continue;
        }
        let files = image_files(&class_dir)?;
        if files.is_empty() {
            return Err(Diagnostic::error(
                Code::E0605,
                format!("class directory `{}` holds no image", class_dir.display()),
            )
            .file(&class_dir)
            .note("images are files ending in .png, .jpg or .jpeg")
            .hint("add images or remove the directory"));
        }
        for file in files {
            let image = decode(&file)?;
            match first {
                None => *first = Some((file.clone(), image.width, image.height)),
                Some((first_file, w, h)) if (*w, *h) != (image.width, image.height) => {
                    return Err(Diagnostic::error(
                        Code::E0607,
                        format!(
                            "`{}` is {}×{}, but `{}` is {w}×{h}",
                            file.display(),
                            image.width,
                            image.height,
                            first_file.display()
                        ),
                    )
                    .file(&file)
                    .note("every image of a dataset must have the same width and height")
                    .hint("resize the images beforehand"));
                }
                Some(_) => {}
            }
            colour |= image.colour;
            images.push((image, label as u32));
        }
    }
    Ok((images, colour))
}

/// The most bytes a decoded image may take: the image crate's default allocation limit.
const MAX_DECODED_BYTES: u64 = 512 << 20;

/// How many times its size a file may expand to when decoded: deflate expands by up to
/// 1,032×, and 1-bit palette pixels become 4 bytes (32×). A header that claims more
/// is not backed by the file's bytes, and is refused before memory is set aside for it.
const MAX_EXPANSION: u64 = 1 << 16;

fn decode(path: &Path) -> Result<Decoded, Diagnostic> {
    use image::ImageDecoder;
    let fail = |e: String| {
        Diagnostic::error(
            Code::E0606,
            format!("cannot decode image `{}`: {e}", path.display()),
        )
        .file(path)
        .hint("re-export the image as PNG or JPEG, or remove it")
    };
    let file_len = std::fs::metadata(path)
        .map_err(|e| fail(e.to_string()))?
        .len();
    let decoder = image::ImageReader::open(path)
        .map_err(|e| fail(e.to_string()))?
        .with_guessed_format()
        .map_err(|e| fail(e.to_string()))?
        .into_decoder()
        .map_err(|e| fail(e.to_string()))?;
    let claimed = decoder.total_bytes();
    let (width, height) = decoder.dimensions();
    let claim = format!("its header claims {width}×{height} pixels ({claimed} bytes decoded)");
    if claimed > MAX_DECODED_BYTES {
        return Err(fail(format!(
            "{claim}, more than the {} MiB resc decodes an image to",
            MAX_DECODED_BYTES >> 20
        )));
    }
    if claimed > file_len.saturating_mul(MAX_EXPANSION) {
        return Err(fail(format!(
            "{claim}, more than its {file_len} bytes can hold: the file is cut short or its header damaged"
        )));
    }
    let image = image::DynamicImage::from_decoder(decoder).map_err(|e| fail(e.to_string()))?;
    let colour = image.color().has_color();
    let rgb = image.to_rgb8();
    let (width, height) = rgb.dimensions();
    let plane = width as usize * height as usize;
    let mut planes = vec![0u8; 3 * plane];
    for (i, pixel) in rgb.pixels().enumerate() {
        for c in 0..3 {
            planes[c * plane + i] = pixel.0[c];
        }
    }
    Ok(Decoded {
        width,
        height,
        colour,
        planes,
    })
}

fn to_split(images: Images, channels: usize) -> Split {
    let (width, height) = images
        .first()
        .map(|(d, _)| (d.width as usize, d.height as usize))
        .unwrap_or((0, 0));
    let keep = channels * width * height;
    let mut values = Vec::with_capacity(images.len() * keep);
    let mut labels = Vec::with_capacity(images.len());
    for (image, label) in images {
        values.extend(image.planes[..keep].iter().map(|&b| b as f32 / 255.0));
        labels.push(label);
    }
    Split {
        images: values,
        labels,
        shape: [channels, height, width],
    }
}
