//! Array and image files: what `resc infer` reads (`.npy`, safetensors, PNG/JPEG images)
//! and what `infer` and `export` write (`.npy`, safetensors), as float32 values and a
//! shape. Errors are one-line reasons; the commands turn them into diagnostics.

use crate::train::checkpoint;
use burn_store::{ModuleStore, SafetensorsStore};
use std::path::Path;

/// An image as `[C, H, W]` values in [0, 1]: grey for one channel, RGB for three.
pub(super) fn read_image(path: &Path, [c, h, w]: [usize; 3]) -> Result<Vec<f32>, String> {
    let img = image::open(path).map_err(|e| e.to_string())?;
    if (img.width() as usize, img.height() as usize) != (w, h) {
        return Err(format!(
            "a {}×{} image; the model reads {w}×{h} (resize it first)",
            img.width(),
            img.height()
        ));
    }
    let planes: Vec<Vec<f32>> = match c {
        1 => vec![img
            .to_luma8()
            .pixels()
            .map(|p| f32::from(p.0[0]) / 255.0)
            .collect()],
        3 => {
            let rgb = img.to_rgb8();
            (0..3)
                .map(|k| rgb.pixels().map(|p| f32::from(p.0[k]) / 255.0).collect())
                .collect()
        }
        _ => return Err(format!("the model reads {c} channels; images have 1 or 3")),
    };
    Ok(planes.concat())
}

/// Subtracts `mean` and divides by `std` per channel of images `[C, H·W]` laid end to end
/// (`mean`, `std`: empty, one value, or one per channel).
pub(super) fn normalise(
    values: &mut [f32],
    channels: usize,
    plane: usize,
    mean: &[f32],
    std: &[f32],
) -> Result<(), String> {
    let per_channel = |v: &[f32], default: f32, what: &str| -> Result<Vec<f32>, String> {
        match v.len() {
            0 => Ok(vec![default; channels]),
            1 => Ok(vec![v[0]; channels]),
            n if n == channels => Ok(v.to_vec()),
            n => Err(format!(
                "--{what} has {n} values; the model has {channels} channels"
            )),
        }
    };
    let mean = per_channel(mean, 0.0, "mean")?;
    let std = per_channel(std, 1.0, "std")?;
    if std.iter().any(|s| *s == 0.0 || !s.is_finite()) {
        return Err("--std must be finite and non-zero".into());
    }
    if mean.iter().any(|m| !m.is_finite()) {
        return Err("--mean must be finite".into());
    }
    for (i, v) in values.iter_mut().enumerate() {
        let c = (i / plane.max(1)) % channels;
        *v = (*v - mean[c]) / std[c];
    }
    Ok(())
}

/// The only tensor of a safetensors file (or the one named `input`), as f32.
pub(super) fn read_safetensors(path: &Path) -> Result<(Vec<f32>, Vec<usize>), String> {
    let bytes = std::fs::read(path).map_err(|e| e.to_string())?;
    let mut store = SafetensorsStore::from_bytes(Some(bytes));
    let all = store
        .get_all_snapshots()
        .map_err(|e| format!("not a safetensors file ({e})"))?;
    let snapshot = match all.len() {
        0 => return Err("the file holds no tensor".into()),
        1 => all.values().next().expect("one tensor"),
        _ => all.get("input").ok_or_else(|| {
            let mut keys: Vec<&String> = all.keys().collect();
            keys.sort();
            format!("{} tensors and none named `input`: {keys:?}", all.len())
        })?,
    };
    let data = snapshot.to_data().map_err(|e| e.to_string())?;
    let shape = data.shape.to_vec();
    let values = data
        .convert::<f32>()
        .to_vec::<f32>()
        .map_err(|e| format!("{e:?}"))?;
    Ok((values, shape))
}

/// A NumPy `.npy` array of little-endian float32 or float64 in C order.
pub(super) fn read_npy(bytes: &[u8]) -> Result<(Vec<f32>, Vec<usize>), String> {
    let malformed = |why: &str| format!("not a .npy array ({why})");
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err(malformed("no NumPy magic"));
    }
    let (len, start): (usize, usize) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        _ => return Err(malformed("unknown version")),
    };
    let header = bytes
        .get(start..start.saturating_add(len))
        .and_then(|h| std::str::from_utf8(h).ok())
        .ok_or_else(|| malformed("truncated header"))?;
    let field = |key: &str| -> Option<&str> {
        let at = header.find(&format!("'{key}'"))? + key.len() + 2;
        let rest = header[at..].trim_start().strip_prefix(':')?.trim_start();
        Some(rest)
    };
    let descr = field("descr").ok_or_else(|| malformed("no descr"))?;
    let size = if descr.starts_with("'<f4'") {
        4
    } else if descr.starts_with("'<f8'") {
        8
    } else {
        return Err(format!(
            "unsupported dtype {} (float32 or float64, little-endian)",
            descr.split(',').next().unwrap_or(descr)
        ));
    };
    if field("fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("a Fortran-order array (save it in C order)".into());
    }
    let shape_text = field("shape").ok_or_else(|| malformed("no shape"))?;
    let inner = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or_else(|| malformed("bad shape"))?;
    let shape = inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<usize>().map_err(|_| malformed("bad shape")))
        .collect::<Result<Vec<_>, _>>()?;
    // The header's claim is checked against the file before anything is allocated.
    let data = &bytes[start + len..];
    let count = shape.iter().try_fold(1usize, |n, &d| n.checked_mul(d));
    if count.and_then(|c| c.checked_mul(size)) != Some(data.len()) {
        return Err(format!(
            "truncated or padded data: the header claims shape {shape:?} of {size}-byte values, the file holds {} bytes",
            data.len()
        ));
    }
    let values = if size == 4 {
        data.chunks_exact(4)
            .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            .collect()
    } else {
        data.chunks_exact(8)
            .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
            .collect()
    };
    Ok((values, shape))
}

/// Writes a float32 `[rows, cols]` array as `.npy` or safetensors (tensor `output`),
/// chosen by the file's extension.
pub(super) fn write_2d(path: &Path, values: &[f32], shape: &[usize; 2]) -> Result<(), String> {
    let bytes = match path.extension().and_then(|e| e.to_str()) {
        Some("npy") => npy_bytes(values, shape),
        Some("safetensors") => safetensors_bytes(values, shape),
        _ => return Err("the output must end in .npy or .safetensors".into()),
    };
    checkpoint::write_atomic(path, &bytes).map_err(|e| e.to_string())
}

fn npy_bytes(values: &[f32], shape: &[usize; 2]) -> Vec<u8> {
    npy_with_shape(values, &format!("({}, {})", shape[0], shape[1]))
}

/// A float32 `.npy` file of `values` whose header says `shape` (a Python tuple).
fn npy_with_shape(values: &[f32], shape: &str) -> Vec<u8> {
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // Pad so that the data starts at a multiple of 64 bytes, ending with a newline.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    out
}

fn safetensors_bytes(values: &[f32], shape: &[usize; 2]) -> Vec<u8> {
    tensors_to_safetensors(
        vec![("output".into(), shape.to_vec(), values.to_vec())],
        None,
    )
    .expect("one f32 tensor of the stated shape serialises")
}

/// Named f32 tensors (and optional metadata) as a safetensors file.
pub(super) fn tensors_to_safetensors(
    tensors: Vec<(String, Vec<usize>, Vec<f32>)>,
    metadata: Option<std::collections::HashMap<String, String>>,
) -> Result<Vec<u8>, String> {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .into_iter()
        .map(|(name, shape, values)| {
            let data = values.iter().flat_map(|v| v.to_le_bytes()).collect();
            (name, shape, data)
        })
        .collect();
    let views = bytes
        .iter()
        .map(|(name, shape, data)| {
            safetensors::tensor::TensorView::new(safetensors::Dtype::F32, shape.clone(), data)
                .map(|v| (name.as_str(), v))
                .map_err(|e| format!("{name}: {e}"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    safetensors::serialize(views, metadata).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn npy_round_trips_and_bad_files_are_named() {
        let values = [1.5f32, -2.0, 0.25, 8.0, 0.0, 3.0];
        let bytes = npy_bytes(&values, &[2, 3]);
        assert_eq!(
            (10 + u16::from_le_bytes([bytes[8], bytes[9]]) as usize) % 64,
            0
        );
        let (read, shape) = read_npy(&bytes).unwrap();
        assert_eq!((read.as_slice(), shape), (&values[..], vec![2, 3]));
        assert!(read_npy(b"not numpy").unwrap_err().contains("magic"));
        let truncated = &bytes[..bytes.len() - 3];
        assert!(read_npy(truncated).unwrap_err().contains("truncated"));
        // A header claiming more values than the file holds (here 2^58 + 1 rows, whose
        // byte count wraps around 2^64 to exactly the file's size) is an error, not an
        // allocation of exabytes.
        let huge = npy_with_shape(&[0.0; 64], "(288230376151711745, 1, 8, 8)");
        let err = read_npy(&huge).unwrap_err();
        assert!(
            err.contains("claims shape [288230376151711745, 1, 8, 8]"),
            "{err}"
        );
        let mut f16 = bytes.clone();
        let at = f16.windows(3).position(|w| w == b"<f4").unwrap();
        f16[at + 2] = b'2';
        assert!(read_npy(&f16).unwrap_err().contains("unsupported dtype"));
    }

    #[test]
    fn normalisation_is_per_channel() {
        // Two channels of 2×1: [1, 2 | 3, 4].
        let mut v = vec![1.0, 2.0, 3.0, 4.0];
        normalise(&mut v, 2, 2, &[1.0, 3.0], &[1.0, 0.5]).unwrap();
        assert_eq!(v, vec![0.0, 1.0, 0.0, 2.0]);
        // Two images of one channel each: the same mean for both.
        let mut v = vec![1.0, 2.0, 3.0, 4.0];
        normalise(&mut v, 1, 2, &[1.0], &[]).unwrap();
        assert_eq!(v, vec![0.0, 1.0, 2.0, 3.0]);
        let mut v = vec![1.0; 6];
        assert!(normalise(&mut v, 3, 2, &[0.5, 0.5], &[]).is_err());
    }
}

/// Fuzz targets (issue 15): whatever the bytes, the readers return a value or a reason,
/// never panic, and allocate nothing a header claims beyond what the file holds. A fixed
/// seed and case count keep them deterministic and within a few seconds in CI; raise
/// `PROPTEST_CASES` to hunt longer.
#[cfg(test)]
mod fuzz {
    use super::*;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, RngSeed};

    fn config() -> Config {
        Config {
            cases: 256,
            rng_seed: RngSeed::Fixed(15),
            failure_persistence: None,
            ..Config::default()
        }
    }

    fn file_with(bytes: &[u8], name: &str) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("a temporary directory");
        std::fs::write(dir.path().join(name), bytes).expect("written");
        dir
    }

    proptest! {
        #![proptest_config(config())]

        /// Arbitrary bytes, and a valid array with bytes flipped, cut or appended.
        #[test]
        fn npy_reader_never_panics(
            noise in prop::collection::vec(any::<u8>(), 0..300),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
            cut in 0usize..40,
        ) {
            let _ = read_npy(&noise);
            let mut good = npy_with_shape(&[0.5; 12], "(3, 4)");
            let i = at.index(good.len());
            good[i] = byte;
            let _ = read_npy(&good);
            good.truncate(good.len().saturating_sub(cut));
            let _ = read_npy(&good);
            good.extend(&noise);
            let _ = read_npy(&good);
        }

        /// Shapes claiming any number of values, overflowing or not.
        #[test]
        fn npy_shape_claims_are_checked(dims in prop::collection::vec(any::<u64>(), 0..5)) {
            let shape = format!(
                "({})",
                dims.iter().map(|d| format!("{d},")).collect::<String>()
            );
            let bytes = npy_with_shape(&[1.0; 4], &shape);
            if let Ok((values, shape)) = read_npy(&bytes) {
                prop_assert_eq!(values.len(), shape.iter().product::<usize>());
            }
        }

        /// Safetensors files: arbitrary bytes, and a valid file with a corrupted header
        /// (lengths and offsets claiming more than the file holds).
        #[test]
        fn safetensors_reader_never_panics(
            noise in prop::collection::vec(any::<u8>(), 0..200),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            let dir = file_with(&noise, "x.safetensors");
            let _ = read_safetensors(&dir.path().join("x.safetensors"));
            let mut good = tensors_to_safetensors(
                vec![("input".into(), vec![1, 2, 2], vec![1.0, 2.0, 3.0, 4.0])],
                None,
            )
            .expect("serialises");
            let i = at.index(good.len());
            good[i] = byte;
            std::fs::write(dir.path().join("x.safetensors"), &good).expect("written");
            let _ = read_safetensors(&dir.path().join("x.safetensors"));
        }

        /// Images: arbitrary bytes behind .png and .jpg names, and a valid PNG mutated.
        #[test]
        fn image_reader_never_panics(
            noise in prop::collection::vec(any::<u8>(), 0..200),
            at in any::<prop::sample::Index>(),
            byte in any::<u8>(),
        ) {
            for name in ["x.png", "x.jpg"] {
                let dir = file_with(&noise, name);
                let _ = read_image(&dir.path().join(name), [1, 8, 8]);
            }
            let mut png = Vec::new();
            image::GrayImage::new(8, 8)
                .write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
                .expect("encodes");
            let i = at.index(png.len());
            png[i] = byte;
            let dir = file_with(&png, "x.png");
            let _ = read_image(&dir.path().join("x.png"), [3, 8, 8]);
        }
    }
}
