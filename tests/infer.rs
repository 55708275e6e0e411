//! `resc infer`: PyTorch's weights and input give PyTorch's logits; every bad input is a
//! coded error naming the file (and, for weights that do not fit, the layer's source).
#![cfg(feature = "cpu")]

use burn::tensor::TensorData;
use burn_store::{ModuleStore, SafetensorsStore};
use common::text;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

mod common;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn resc(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_resc"))
        .current_dir(root())
        .args(args)
        .output()
        .expect("resc runs")
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("resc-infer-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// A float32 `.npy` file, as NumPy writes it.
fn write_npy(path: &Path, values: &[f32], shape: &[usize]) {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let mut header = format!(
        "{{'descr': '<f4', 'fortran_order': False, 'shape': ({},), }}",
        dims.join(", ")
    );
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend((header.len() as u16).to_le_bytes());
    bytes.extend(header.as_bytes());
    bytes.extend(values.iter().flat_map(|v| v.to_le_bytes()));
    std::fs::write(path, bytes).unwrap();
}

fn fixture_tensor(name: &str) -> TensorData {
    let mut store = SafetensorsStore::from_file(root().join("tests/fixtures/basic.safetensors"));
    let all = store.get_all_snapshots().unwrap();
    all[name].to_data().unwrap()
}

/// `resc infer` on the `basic` fixture (torchvision names) with `input` and `extra`.
fn infer_basic(input: &Path, extra: &[&str]) -> Output {
    let mut args = vec![
        "infer",
        "tests/fixtures/basic.resnet",
        "--weights",
        "tests/fixtures/basic.safetensors",
        "--names",
        "torchvision",
        "--input",
        input.to_str().unwrap(),
    ];
    args.extend(extra);
    resc(&args)
}

#[test]
fn pytorch_weights_and_input_give_pytorch_logits() {
    let input = fixture_tensor("__input");
    let npy = temp("basic-input.npy");
    write_npy(&npy, &input.to_vec::<f32>().unwrap(), &input.shape);
    let out_npy = temp("basic-out.npy");
    let out = infer_basic(
        &npy,
        &["--output", out_npy.to_str().unwrap(), "--format", "json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("warning[E0502]"),
        "the fixture's extra tensors are reported as unused: {}",
        text(&out)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let got: Vec<f32> = v["logits"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| {
            r.as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_f64().unwrap() as f32)
        })
        .collect();
    let want: Vec<f32> = fixture_tensor("__eval").to_vec().unwrap();
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f32, |m, x| m.max(x.abs()));
    for (g, w) in got.iter().zip(&want) {
        assert!((g - w).abs() <= 1e-4 * scale, "{g} vs PyTorch {w}");
    }
    let top = &v["top"][0];
    assert_eq!(top.as_array().unwrap().len(), 5);
    // The .npy output holds the same logits after its 64-byte-aligned header.
    let bytes = std::fs::read(&out_npy).unwrap();
    let len = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let written: Vec<f32> = bytes[10 + len..]
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    assert_eq!(written, got);

    // The same as safetensors, read back with burn-store.
    let out_st = temp("basic-out.safetensors");
    let out = infer_basic(&npy, &["--output", out_st.to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("basic-input.npy") || text(&out).contains("input 0"));
    let mut store = SafetensorsStore::from_file(&out_st);
    let all = store.get_all_snapshots().unwrap();
    let data: Vec<f32> = all["output"].to_data().unwrap().to_vec().unwrap();
    assert_eq!(data, got);

    // Without folding BN into the convolutions: the same logits.
    let out = infer_basic(&npy, &["--no-fold", "--format", "json"]);
    assert!(out.status.success(), "{}", text(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let unfolded = v["logits"].as_array().unwrap().iter().flat_map(|r| {
        r.as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap() as f32)
    });
    for (u, w) in unfolded.zip(&want) {
        assert!((u - w).abs() <= 1e-4 * scale, "{u} vs PyTorch {w}");
    }
}

#[test]
fn weights_that_do_not_fit_point_at_the_layers() {
    // Without `--names torchvision` the keys of a torchvision state dict are not found.
    let npy = temp("wrong-names.npy");
    write_npy(&npy, &vec![0.0; 3 * 16 * 16], &[3, 16, 16]);
    let out = resc(&[
        "infer",
        "tests/fixtures/basic.resnet",
        "--weights",
        "tests/fixtures/basic.safetensors",
        "--input",
        npy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0502]"), "{t}");
    assert!(
        t.contains("┌─ models/blocks.resnet:9:9"),
        "at the layer: {t}"
    );
    assert!(t.contains("--names torchvision"), "{t}");

    // A framework the model file does not name.
    let out = resc(&[
        "infer",
        "tests/fixtures/basic.resnet",
        "--weights",
        "tests/fixtures/basic.safetensors",
        "--names",
        "caffe",
        "--input",
        npy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("error[E0506]: `--names caffe`: basic declares no `names caffe"),
        "{}",
        text(&out)
    );

    // A missing weights file.
    let out = resc(&[
        "infer",
        "tests/fixtures/basic.resnet",
        "--weights",
        "no/such/weights.safetensors",
        "--input",
        npy.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert!(text(&out).contains("error[E0501]"), "{}", text(&out));
    assert!(text(&out).contains("no/such/weights.safetensors"));
}

#[test]
fn bad_inputs_are_coded_errors_naming_the_file() {
    let model = "tests/fixtures/run/tiny.resnet"; // [1, 8, 8]
    let infer = |input: &Path, extra: &[&str]| {
        let mut args = vec![
            "infer",
            model,
            "--random-init",
            "--input",
            input.to_str().unwrap(),
        ];
        args.extend(extra);
        resc(&args)
    };
    // Truncated .npy.
    let npy = temp("truncated.npy");
    write_npy(&npy, &[0.5; 64], &[1, 8, 8]);
    let bytes = std::fs::read(&npy).unwrap();
    std::fs::write(&npy, &bytes[..bytes.len() - 10]).unwrap();
    let out = infer(&npy, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("error[E0503]") && t.contains("truncated.npy"),
        "{t}"
    );

    // The wrong shape.
    let npy = temp("shape.npy");
    write_npy(&npy, &[0.5; 3 * 8 * 8], &[3, 8, 8]);
    let out = infer(&npy, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("error[E0504]") && t.contains("[1, 3, 8, 8]"),
        "{t}"
    );

    // An image of the model's size runs; one of another size is named.
    let png = temp("digit.png");
    image::GrayImage::from_fn(8, 8, |x, y| image::Luma([((x + y) * 16) as u8]))
        .save(&png)
        .unwrap();
    let out = infer(&png, &["--mean", "0.5", "--std", "0.25", "--top", "2"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("warning[E0510]: --random-init"),
        "warns about random weights: {t}"
    );
    assert!(
        t.contains("digit.png: ") && t.matches('%').count() == 2,
        "{t}"
    );
    let big = temp("big.png");
    image::GrayImage::new(9, 8).save(&big).unwrap();
    let out = infer(&big, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0503]") && t.contains("9×8"), "{t}");

    // Two arrays, or a --mean of the wrong length, are usage errors with a code.
    let out = infer(&npy, &["--input", npy.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error[E0508]"), "{}", text(&out));
    let out = infer(&png, &["--mean", "0.5,0.5"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error[E0508]"), "{}", text(&out));

    // NaN inputs are refused (they gave finite logits folded, NaN unfolded), and so is
    // a NaN mean.
    let nan = temp("nan.npy");
    let mut values = vec![0.5f32; 64];
    values[9] = f32::NAN;
    write_npy(&nan, &values, &[1, 8, 8]);
    let out = infer(&nan, &[]);
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0503]") && t.contains("index 9"), "{t}");
    let out = infer(&png, &["--mean", "nan"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error[E0508]"), "{}", text(&out));

    // An output file of another format is a usage error, before any work.
    let out = infer(&png, &["--output", "logits.txt"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error[E0508]"), "{}", text(&out));

    // A network far too large for memory (360 GB of weights) is refused before
    // anything is allocated (the process aborted).
    let out = resc(&[
        "infer",
        "models/digits-resnet.resnet",
        "--set",
        "width=100000",
        "--random-init",
        "--input",
        png.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[E0509]") && t.contains("GiB"), "{t}");

    // No weights at all is a usage error.
    let out = resc(&["infer", model, "--input", png.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
}

#[cfg(not(feature = "cuda"))]
#[test]
fn cuda_without_the_feature_is_a_coded_error() {
    let png = temp("cuda.png");
    image::GrayImage::new(8, 8).save(&png).unwrap();
    let out = resc(&[
        "infer",
        "tests/fixtures/run/tiny.resnet",
        "--random-init",
        "--input",
        png.to_str().unwrap(),
        "--backend",
        "cuda",
    ]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("error[E0505]"), "{}", text(&out));
}

/// `resc export`: the folded weights and the plan, readable by any safetensors reader.
#[test]
fn export_writes_the_folded_weights_and_plan() {
    let out = temp("resnet20-folded.safetensors");
    let run = resc(&[
        "export",
        "models/resnet20.resnet",
        "--random-init",
        "--plain",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(run.status.success(), "{}", text(&run));
    assert!(
        text(&run).contains(
            "19 BN and 0 λ/α folded, 0 branch sums merged, 19 ReLU fused, 9 residuals removed"
        ),
        "{}",
        text(&run)
    );
    let bytes = std::fs::read(&out).unwrap();
    let (_, meta) = safetensors::SafeTensors::read_metadata(&bytes).unwrap();
    let meta = meta.metadata().clone().expect("metadata");
    assert!(
        meta["resc.plan"].contains("conv/2 pad 1 gemm +relu"),
        "{meta:?}"
    );
    assert_eq!(meta["resc.network"], "resnet20");
    let tensors = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let names = tensors.names();
    assert!(
        names.iter().all(|n| !n.contains("bn")),
        "BN folded away: {names:?}"
    );
    // 19 convs with bias, and the classifier's weight and bias.
    assert_eq!(names.len(), 19 * 2 + 2, "{names:?}");
    let conv1 = tensors.tensor("layer2.0.residual.conv1.weight").unwrap();
    assert_eq!(
        conv1.shape(),
        &[48, 16, 3, 3],
        "16 channels reserved for the shortcut"
    );

    // A missing weights file is the same coded error as for infer.
    let run = resc(&[
        "export",
        "models/resnet20.resnet",
        "--weights",
        "missing.safetensors",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(3), "{}", text(&run));
    assert!(text(&run).contains("error[E0501]"));
}

/// `n` floats uniform in [0, 1) from SplitMix64 seeded with the FNV-1a hash of `key`, as
/// `tests/reference/make_fixtures.py` (`generated`) computes them.
fn generated(key: &str, n: usize) -> Vec<f32> {
    let mut h: u64 = 0xCBF2_9CE4_8422_2325;
    for b in key.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01B3);
    }
    (1..=n as u64)
        .map(|i| {
            let mut z = h.wrapping_add(i.wrapping_mul(0x9E37_79B9_7F4A_7C15));
            z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 24) as f32
        })
        .collect()
}

/// The state-dict entry `key` of `shape` as the reference script makes it
/// (`generated_tensor`): convolution and linear weights uniform in ±√(3/fan_in), BN γ in
/// [0.5, 1.5), biases and running means in ±0.2, running variances in [0.5, 1.5), the
/// input in ±1. Computed in f64 and rounded, as PyTorch's float32 arithmetic on the
/// float32 draws rounds them (to within an ulp).
fn generated_tensor(key: &str, shape: &[usize]) -> Vec<f32> {
    let n: usize = shape.iter().product();
    let u = generated(key, n);
    let map = |f: &dyn Fn(f32) -> f32| u.iter().map(|&v| f(v)).collect::<Vec<f32>>();
    if key == "__input" {
        map(&|v| 2.0 * v - 1.0)
    } else if key.ends_with("running_var") {
        map(&|v| 0.5 + v)
    } else if key.ends_with("running_mean") || key.ends_with("bias") {
        map(&|v| 0.2 * (2.0 * v - 1.0))
    } else if shape.len() == 1 {
        map(&|v| 0.5 + v)
    } else {
        let bound = (3.0 / (n / shape[0]) as f64).sqrt();
        u.iter()
            .map(|&v| ((2.0 * v - 1.0) as f64 * bound) as f32)
            .collect()
    }
}

/// A float32 safetensors file of `tensors` (name, shape, values).
fn write_safetensors(path: &Path, tensors: &[(String, Vec<usize>, Vec<f32>)]) {
    let bytes: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
        .iter()
        .map(|(k, s, v)| {
            let b = v.iter().flat_map(|x| x.to_le_bytes()).collect();
            (k.clone(), s.clone(), b)
        })
        .collect();
    let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = bytes
        .iter()
        .map(|(k, s, b)| {
            let view = safetensors::tensor::TensorView::new(safetensors::Dtype::F32, s.clone(), b)
                .expect("a consistent tensor");
            (k.clone(), view)
        })
        .collect();
    safetensors::serialize_to_file(views, None, path).expect("written");
}

/// torchvision's ResNet-18 with a generated state dict (every key of torchvision's
/// `resnet18`, from `tests/fixtures/torchvision_keys.json`) through `resc infer --names
/// torchvision --backend BACKEND` gives the logits PyTorch computed for the same weights
/// and input (`tests/fixtures/resnet18_generated.safetensors`), within 1e-4 relative.
fn torchvision_resnet18_gives_pytorchs_logits(backend: &str) {
    let keys: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(root().join("tests/fixtures/torchvision_keys.json")).unwrap(),
    )
    .unwrap();
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = keys["resnet18"]
        .as_object()
        .expect("resnet18's keys")
        .iter()
        .filter(|(k, _)| !k.ends_with("num_batches_tracked"))
        .map(|(k, shape)| {
            let shape: Vec<usize> = serde_json::from_value(shape.clone()).unwrap();
            (k.clone(), shape.clone(), generated_tensor(k, &shape))
        })
        .collect();
    assert_eq!(
        tensors.len(),
        102,
        "resnet18's parameters and BN statistics"
    );
    let weights = temp(&format!("resnet18-{backend}.safetensors"));
    write_safetensors(&weights, &tensors);
    let input = temp(&format!("resnet18-{backend}-input.safetensors"));
    let x = generated_tensor("__input", &[1, 3, 224, 224]);
    write_safetensors(&input, &[("x".into(), vec![1, 3, 224, 224], x)]);
    let output = temp(&format!("resnet18-{backend}-logits.npy"));
    let out = resc(&[
        "infer",
        "models/resnet18.resnet",
        "--weights",
        weights.to_str().unwrap(),
        "--names",
        "torchvision",
        "--input",
        input.to_str().unwrap(),
        "--output",
        output.to_str().unwrap(),
        "--backend",
        backend,
    ]);
    assert!(out.status.success(), "{}", text(&out));
    let bytes = std::fs::read(&output).unwrap();
    let header = u16::from_le_bytes([bytes[8], bytes[9]]) as usize;
    let got: Vec<f32> = bytes[10 + header..]
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let mut store =
        SafetensorsStore::from_file(root().join("tests/fixtures/resnet18_generated.safetensors"));
    let want: Vec<f32> = store.get_all_snapshots().unwrap()["__logits"]
        .to_data()
        .unwrap()
        .to_vec()
        .unwrap();
    assert_eq!(got.len(), want.len());
    let scale = want.iter().fold(0f32, |m, v| m.max(v.abs()));
    let diff = got
        .iter()
        .zip(&want)
        .fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    assert!(
        diff <= 1e-4 * scale,
        "{backend}: max |resc − PyTorch| = {diff:e} over logits up to {scale}"
    );
    for f in [weights, input, output] {
        let _ = std::fs::remove_file(f);
    }
}

#[test]
fn torchvision_resnet18_gives_pytorchs_logits_on_the_cpu() {
    torchvision_resnet18_gives_pytorchs_logits("cpu");
}

/// The GPU path: the same on wgpu (CI: Mesa's software Vulkan device).
#[cfg(feature = "wgpu")]
#[test]
fn torchvision_resnet18_gives_pytorchs_logits_on_wgpu() {
    torchvision_resnet18_gives_pytorchs_logits("wgpu");
}

/// State dicts in half, bfloat16 or double precision (as PyTorch users save them) load
/// as float32 and give the float32 file's outputs; integer tensors are a coded error at
/// the layer (E0502), never a panic.
#[test]
fn weights_in_other_dtypes_load_or_are_coded_errors() {
    let model = "tests/fixtures/run/tiny.resnet";
    let exported = temp("dtypes-f32-export.safetensors");
    let out = resc(&[
        "export",
        model,
        "--random-init",
        "--no-fold",
        "--out",
        exported.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out));
    // Values on a grid of 1/64 in [−2, 2]: exact in every float type.
    let bytes = std::fs::read(&exported).unwrap();
    let file = safetensors::SafeTensors::deserialize(&bytes).unwrap();
    let tensors: Vec<(String, Vec<usize>, Vec<f32>)> = file
        .tensors()
        .into_iter()
        .map(|(name, view)| {
            let values = view
                .data()
                .chunks_exact(4)
                .map(|c| {
                    let v = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
                    ((v * 64.0).round() / 64.0).clamp(-2.0, 2.0)
                })
                .collect();
            (name, view.shape().to_vec(), values)
        })
        .collect();
    let f16_bits = |v: f32| -> [u8; 2] {
        // Exact for 0 and for normal values with at most 11 significant bits.
        let b = v.to_bits();
        let sign = ((b >> 16) & 0x8000) as u16;
        if v == 0.0 {
            return sign.to_le_bytes();
        }
        let exp = ((b >> 23) & 0xff) as i32 - 127 + 15;
        let mant = ((b >> 13) & 0x3ff) as u16;
        (sign | ((exp as u16) << 10) | mant).to_le_bytes()
    };
    let write = |name: &str, dtype: safetensors::Dtype, encode: &dyn Fn(f32) -> Vec<u8>| {
        let path = temp(name);
        let data: Vec<(String, Vec<usize>, Vec<u8>)> = tensors
            .iter()
            .map(|(k, s, v)| {
                (
                    k.clone(),
                    s.clone(),
                    v.iter().flat_map(|x| encode(*x)).collect(),
                )
            })
            .collect();
        let views: Vec<(String, safetensors::tensor::TensorView<'_>)> = data
            .iter()
            .map(|(k, s, b)| {
                let view = safetensors::tensor::TensorView::new(dtype, s.clone(), b).unwrap();
                (k.clone(), view)
            })
            .collect();
        safetensors::serialize_to_file(views, None, &path).unwrap();
        path
    };
    let f32_file = write("w-f32.safetensors", safetensors::Dtype::F32, &|v| {
        v.to_le_bytes().to_vec()
    });
    let f64_file = write("w-f64.safetensors", safetensors::Dtype::F64, &|v| {
        f64::from(v).to_le_bytes().to_vec()
    });
    let f16_file = write("w-f16.safetensors", safetensors::Dtype::F16, &|v| {
        f16_bits(v).to_vec()
    });
    let bf16_file = write("w-bf16.safetensors", safetensors::Dtype::BF16, &|v| {
        ((v.to_bits() >> 16) as u16).to_le_bytes().to_vec()
    });
    let i64_file = write("w-i64.safetensors", safetensors::Dtype::I64, &|v| {
        (v as i64).to_le_bytes().to_vec()
    });
    let input = temp("dtypes-input.npy");
    let x: Vec<f32> = (0..64).map(|i| (i as f32 / 32.0) - 1.0).collect();
    write_npy(&input, &x, &[1, 1, 8, 8]);
    let logits = |weights: &Path| -> Output {
        resc(&[
            "infer",
            model,
            "--weights",
            weights.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
            "--format",
            "json",
        ])
    };
    let reference = logits(&f32_file);
    assert!(reference.status.success(), "{}", text(&reference));
    for file in [&f64_file, &f16_file, &bf16_file] {
        let out = logits(file);
        assert!(out.status.success(), "{}: {}", file.display(), text(&out));
        assert_eq!(out.stdout, reference.stdout, "{}", file.display());
    }
    let out = logits(&i64_file);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("error[E0502]") && t.contains("I64") && !t.contains("panicked"),
        "{t}"
    );
}

/// `--output` writes through a uniquely named temporary file: a bare relative name works
/// (it is written in the current directory and reported as written), and a file of the
/// user's named like the old temporary file (`out.tmp`) is left alone.
#[test]
fn outputs_are_written_beside_the_users_files_without_touching_them() {
    let dir = temp("relative-output");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("out.tmp"), "the user's notes").unwrap();
    let png = dir.join("in.png");
    image::GrayImage::new(8, 8).save(&png).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_resc"))
        .current_dir(&dir)
        .args([
            "infer",
            root()
                .join("tests/fixtures/run/tiny.resnet")
                .to_str()
                .unwrap(),
            "--random-init",
            "--input",
            "in.png",
            "--output",
            "out.npy",
        ])
        .output()
        .expect("resc runs");
    assert!(out.status.success(), "{}", text(&out));
    assert!(dir.join("out.npy").is_file());
    assert_eq!(
        std::fs::read_to_string(dir.join("out.tmp")).unwrap(),
        "the user's notes"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
