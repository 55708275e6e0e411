//! `resc infer FILE --weights W --input X`: one evaluation-mode forward pass (BN on its
//! running statistics, no dropout), with the outputs written to a file and the top
//! classes printed.
//!
//! Weights: a safetensors state dict (names as in the model file, or `--names
//! torchvision`), a `resc run` directory or checkpoint (`model.mpk`). Inputs: a
//! safetensors or `.npy` array `[N, C, H, W]` / `[C, H, W]`, or image files (PNG, JPEG)
//! of the model's size.

use super::arrays;
use super::backend::{BackendArgs, OnBackend};
use super::{fail, Exit, Format, ModelArgs, EXIT_DIAGNOSTICS, EXIT_IO, EXIT_OK, EXIT_USAGE};
use crate::diag::{render, Code, Diagnostic, Severity};
use crate::lower::{LoadReport, Net, Network};
use crate::passes::{Goal, Pipeline};
use crate::train::checkpoint;
use burn::tensor::backend::Backend;
use burn::tensor::{Tensor, TensorData};
use serde_json::json;
use std::path::{Path, PathBuf};

/// Where the weights come from (`resc infer`, `resc export`).
#[derive(clap::Args, Debug)]
pub(super) struct WeightsArgs {
    /// A safetensors state dict, a `resc run` directory, a checkpoint directory or a
    /// `model.mpk`.
    #[arg(long, value_name = "W", required_unless_present = "random_init")]
    pub(super) weights: Option<PathBuf>,
    /// How the state dict names its tensors: `resc` (the model file's own names), a
    /// framework the model file declares with `names FRAMEWORK { … }`, or `torchvision`.
    #[arg(long, default_value = "resc", value_name = "FRAMEWORK")]
    pub(super) names: String,
    /// Use the model's random initialisation (no weights): for smoke tests.
    #[arg(long, conflicts_with = "weights")]
    pub(super) random_init: bool,
}

impl WeightsArgs {
    /// `net` with the weights loaded, or as initialised with `--random-init` (warned).
    pub(super) fn apply<B: Backend>(
        &self,
        network: &Network,
        net: Net<B>,
        device: &B::Device,
    ) -> Result<Net<B>, Exit> {
        match &self.weights {
            None => {
                super::warn(Diagnostic::warning(
                    Code::E0510,
                    "--random-init: the outputs come from randomly initialised weights",
                ));
                Ok(net)
            }
            Some(w) => load_weights(network, net, w, &self.names, device),
        }
    }
}

#[derive(clap::Args, Debug)]
pub(super) struct InferArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    weights: WeightsArgs,
    /// An array file (`.safetensors`, `.npy`: [N, C, H, W] or [C, H, W]) or image files
    /// (`.png`, `.jpg`) of the model's input size; repeat for a batch of images.
    #[arg(long, value_name = "X", required = true)]
    input: Vec<PathBuf>,
    /// Per-channel mean subtracted from images (scaled to [0, 1]) before the forward pass.
    #[arg(long, value_delimiter = ',', value_name = "M,M,M")]
    mean: Vec<f32>,
    /// Per-channel standard deviation images are divided by.
    #[arg(long, value_delimiter = ',', value_name = "S,S,S")]
    std: Vec<f32>,
    /// Write the outputs (logits, [N, classes]) to a `.safetensors` or `.npy` file.
    #[arg(long, value_name = "OUT")]
    output: Option<PathBuf>,
    /// Run the network as written, without folding BN, λ and α into the convolutions.
    #[arg(long)]
    no_fold: bool,
    /// Classes shown per input.
    #[arg(long, default_value_t = 5)]
    top: usize,
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
    #[command(flatten)]
    backend: BackendArgs,
}

pub(super) fn run(args: &InferArgs) -> i32 {
    match infer(args) {
        Ok(()) => EXIT_OK,
        Err(code) => code,
    }
}

fn infer(args: &InferArgs) -> Result<(), Exit> {
    // A usage error before any work: the outputs' format comes from the extension.
    if let Some(path) = &args.output {
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("npy" | "safetensors")
        ) {
            return Err(fail(
                Diagnostic::error(Code::E0508, "`--output` must end in .npy or .safetensors")
                    .file(path),
                EXIT_USAGE,
            ));
        }
    }
    let network = super::run_cmd::compile(&args.model, &args.model.set, Goal::Inference)?;
    args.backend.check_memory(&network, 1)?;
    let input = read_input(args, network.input_shape())?;
    let logits = args.backend.run(Forward {
        network: &network,
        args,
        input,
    })?;
    if let Some(path) = &args.output {
        arrays::write_2d(path, &logits.values, &logits.shape).map_err(|e| {
            fail(
                Diagnostic::error(Code::E0703, format!("cannot write the outputs: {e}")).file(path),
                EXIT_IO,
            )
        })?;
    }
    report(args, &logits);
    Ok(())
}

/// The logits of one forward pass: values and `[N, classes]`.
struct Logits {
    values: Vec<f32>,
    shape: [usize; 2],
}

/// `resc infer`'s forward pass on the backend `--backend` chooses.
struct Forward<'a> {
    network: &'a Network,
    args: &'a InferArgs,
    input: Input,
}

impl OnBackend for Forward<'_> {
    type Output = Logits;

    fn run<B: Backend>(self, device: &B::Device) -> Result<Logits, Exit> {
        let Forward {
            network,
            args,
            input,
        } = self;
        let net = network.build::<B>(device);
        let net = args.weights.apply(network, net, device)?;
        // Evaluation mode: BN, λ and α fold into the convolutions (same outputs, faster).
        let net = if args.no_fold {
            net
        } else {
            Pipeline::for_backend::<B>(Goal::Inference).run_net(net).0
        };
        let x = Tensor::<B, 4>::from_data(TensorData::new(input.values, input.shape), device);
        let y = net.forward(x);
        let [n, k] = y.dims();
        let values: Vec<f32> = y.into_data().convert::<f32>().to_vec().unwrap_or_default();
        Ok(Logits {
            values,
            shape: [n, k],
        })
    }
}

/// Loads `weights` into `net`: a state dict must fill every tensor of the net, with the
/// right shapes (E0502, at the layers' source); unused keys are warnings.
fn load_weights<B: Backend>(
    network: &Network,
    mut net: Net<B>,
    weights: &Path,
    names: &str,
    device: &B::Device,
) -> Result<Net<B>, Exit> {
    let Some(map) = network.name_map(names) else {
        let mut known: Vec<&str> = network
            .name_maps
            .iter()
            .map(|m| m.framework.as_str())
            .collect();
        known.extend(["resc", "torchvision"]);
        return Err(fail(
            Diagnostic::error(
                Code::E0506,
                format!(
                    "`--names {names}`: {} declares no `names {names} {{ … }}`",
                    network.name
                ),
            )
            .note(format!("known: {}", known.join(", "))),
            EXIT_USAGE,
        ));
    };
    let unreadable = |what: String| {
        fail(
            Diagnostic::error(Code::E0501, format!("cannot read the weights: {what}"))
                .file(weights),
            EXIT_IO,
        )
    };
    if !weights.exists() {
        return Err(unreadable("no such file or directory".into()));
    }
    let record = if weights.is_dir() {
        Some(checkpoint::model_file(weights).map_err(unreadable)?)
    } else if weights.extension().is_some_and(|e| e == "mpk") {
        Some(weights.to_path_buf())
    } else {
        None
    };
    if let Some(record) = record {
        if !record.is_file() {
            return Err(unreadable(format!(
                "a directory without a checkpoint (looked for {})",
                record.display()
            )));
        }
        return net
            .load_record(&record, device)
            .map_err(|e| unreadable(format!("{}: {e}", record.display())));
    }
    let report = net
        .load_safetensors(weights, &map)
        .map_err(|e| unreadable(format!("not a safetensors file ({e})")))?;
    let diags = load_diagnostics(&report, weights);
    if !diags.is_empty() {
        eprint!("{}", render::to_string(&network.sources, &diags));
    }
    if crate::diag::has_errors(&diags) {
        return Err(EXIT_DIAGNOSTICS);
    }
    Ok(net)
}

/// The load report as diagnostics: each missing or mismatched tensor at the layer that
/// owns it (E0502), unused keys as one warning.
pub(super) fn load_diagnostics(report: &LoadReport, weights: &Path) -> Vec<Diagnostic> {
    let file = weights.display();
    let mut diags = Vec::new();
    // One diagnostic per layer (a BN has four tensors), the first few layers in full.
    let mut layers: Vec<(crate::source::Span, Vec<&str>)> = Vec::new();
    for m in &report.missing {
        match layers.iter_mut().find(|(span, _)| *span == m.span) {
            Some((_, keys)) => keys.push(&m.key),
            None => layers.push((m.span, vec![&m.key])),
        }
    }
    const SHOWN: usize = 6;
    for (i, (span, keys)) in layers.iter().enumerate().take(SHOWN) {
        // `layer1.0.bn1.weight`, `layer1.0.bn1.bias` → `layer1.0.bn1` (weight, bias).
        let mut owners: Vec<&str> = Vec::new();
        let mut tensors: Vec<&str> = Vec::new();
        for key in keys {
            let (owner, tensor) = key.rsplit_once('.').unwrap_or(("", key));
            if !owners.contains(&owner) {
                owners.push(owner);
            }
            if !tensors.contains(&tensor) {
                tensors.push(tensor);
            }
        }
        let mut d = Diagnostic::error(
            Code::E0502,
            format!(
                "{file} has no `{}` for `{}`",
                tensors.join("`, `"),
                owners.join("`, `")
            ),
        )
        .at(*span, "this layer's weights are missing");
        if i == 0 {
            d = d.hint("`--names torchvision` reads torchvision/timm names; `resc graph FILE --emit text` lists the model's");
        }
        diags.push(d);
    }
    if layers.len() > SHOWN {
        let tensors: usize = layers[SHOWN..].iter().map(|l| l.1.len()).sum();
        diags.push(Diagnostic::error(
            Code::E0502,
            format!(
                "and {} more layers without weights ({tensors} tensors)",
                layers.len() - SHOWN
            ),
        ));
    }
    for m in &report.mismatched {
        diags.push(
            Diagnostic::error(
                Code::E0502,
                format!(
                    "`{}` is {:?} in {file}, the model's `{}` is {:?}",
                    m.key, m.found, m.name, m.expected
                ),
            )
            .at(m.span, format!("this layer expects {:?}", m.expected)),
        );
    }
    for e in &report.errors {
        diags.push(Diagnostic::error(Code::E0502, e.clone()));
    }
    if !report.unexpected.is_empty() {
        let mut keys: Vec<&str> = report.unexpected.iter().map(String::as_str).collect();
        let more = keys.len().saturating_sub(8);
        keys.truncate(8);
        let mut d = Diagnostic::error(
            Code::E0502,
            format!(
                "{} tensors of {file} are not used by the model: {}{}",
                report.unexpected.len(),
                keys.join(", "),
                if more > 0 {
                    format!(" and {more} more")
                } else {
                    String::new()
                }
            ),
        );
        d.severity = Severity::Warning;
        diags.push(d);
    }
    diags
}

/// An input batch: values (row-major) and `[N, C, H, W]`.
struct Input {
    values: Vec<f32>,
    shape: [usize; 4],
}

fn read_input(args: &InferArgs, expected: [usize; 3]) -> Result<Input, Exit> {
    let bad = |path: &Path, why: String| {
        fail(
            Diagnostic::error(Code::E0503, format!("cannot read the input: {why}")).file(path),
            EXIT_IO,
        )
    };
    let ext = |p: &Path| {
        p.extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .unwrap_or_default()
    };
    let images = args
        .input
        .iter()
        .all(|p| matches!(ext(p).as_str(), "png" | "jpg" | "jpeg"));
    let input = if images {
        let mut values = Vec::new();
        for path in &args.input {
            values.extend(arrays::read_image(path, expected).map_err(|e| bad(path, e))?);
        }
        let plane = expected[1] * expected[2];
        arrays::normalise(&mut values, expected[0], plane, &args.mean, &args.std)
            .map_err(|e| fail(Diagnostic::error(Code::E0508, e), EXIT_USAGE))?;
        Input {
            values,
            shape: [args.input.len(), expected[0], expected[1], expected[2]],
        }
    } else {
        if args.input.len() != 1 {
            return Err(fail(
                Diagnostic::error(
                    Code::E0508,
                    "give one array file, or several image files (.png, .jpg)",
                ),
                EXIT_USAGE,
            ));
        }
        let path = &args.input[0];
        let (values, shape) = match ext(path).as_str() {
            "safetensors" => arrays::read_safetensors(path),
            "npy" => std::fs::read(path)
                .map_err(|e| e.to_string())
                .and_then(|bytes| arrays::read_npy(&bytes)),
            other => Err(format!(
                "unknown input format `.{other}` (expected .safetensors, .npy, .png or .jpg)"
            )),
        }
        .map_err(|e| bad(path, e))?;
        let shape = match shape[..] {
            [c, h, w] => [1, c, h, w],
            [n, c, h, w] => [n, c, h, w],
            _ => {
                return Err(bad(
                    path,
                    format!("an array of shape {shape:?} (expected [N, C, H, W] or [C, H, W])"),
                ))
            }
        };
        Input { values, shape }
    };
    // NaN or ±inf would give NaN logits unfolded but finite ones folded: refuse them.
    let bad_values = input.values.iter().filter(|v| !v.is_finite()).count();
    if bad_values > 0 {
        let first = input
            .values
            .iter()
            .position(|v| !v.is_finite())
            .unwrap_or(0);
        return Err(fail(
            Diagnostic::error(
                Code::E0503,
                format!(
                    "the input holds {bad_values} values that are NaN or infinite (the first at index {first})"
                ),
            )
            .file(&args.input[0]),
            EXIT_IO,
        ));
    }
    if input.shape[1..] != expected[..] || input.shape[0] == 0 {
        return Err(fail(
            Diagnostic::error(
                Code::E0504,
                format!(
                    "the input is {:?}; `{}` reads [N, {}, {}, {}]",
                    input.shape,
                    args.model.file.display(),
                    expected[0],
                    expected[1],
                    expected[2]
                ),
            ),
            EXIT_DIAGNOSTICS,
        ));
    }
    Ok(input)
}

/// Prints the top classes of every input (softmax probabilities).
fn report(args: &InferArgs, logits: &Logits) {
    let [n, k] = logits.shape;
    let mut rows = Vec::new();
    for i in 0..n {
        let row = &logits.values[i * k..(i + 1) * k];
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let exp: Vec<f64> = row.iter().map(|v| f64::from(v - max).exp()).collect();
        let total: f64 = exp.iter().sum();
        let mut order: Vec<usize> = (0..k).collect();
        order.sort_by(|&a, &b| exp[b].total_cmp(&exp[a]).then(a.cmp(&b)));
        order.truncate(args.top.max(1));
        rows.push(
            order
                .into_iter()
                .map(|c| (c, exp[c] / total))
                .collect::<Vec<_>>(),
        );
    }
    match args.format {
        Format::Json => {
            let json = json!({
                "shape": logits.shape,
                "logits": logits.values.chunks(k.max(1)).collect::<Vec<_>>(),
                "top": rows.iter().map(|r| r.iter().map(|(c, p)| json!({"class": c, "probability": p})).collect::<Vec<_>>()).collect::<Vec<_>>(),
            });
            println!("{json}");
        }
        Format::Human => {
            let names: Vec<String> = args.input.iter().map(|p| p.display().to_string()).collect();
            for (i, row) in rows.iter().enumerate() {
                let label = if names.len() == n {
                    names[i].clone()
                } else {
                    format!("input {i}")
                };
                let top: Vec<String> = row
                    .iter()
                    .map(|(c, p)| format!("{c} ({:.1}%)", 100.0 * p))
                    .collect();
                println!("{label}: {}", top.join(", "));
            }
            if let Some(path) = &args.output {
                println!("logits [{n}, {k}] written to {}", path.display());
            }
        }
    }
}
