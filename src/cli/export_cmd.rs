//! `resc export FILE --weights W --out model.safetensors`: the optimised inference
//! network — BN, λ and α folded into the convolutions, and with `--plain` residuals
//! removed where that is exact — as a safetensors file of its weights, with the execution plan in the file's
//! metadata (`resc.plan`), so that other tools can load the folded weights.
//!
//! ONNX is not written: no maintained Rust crate builds ONNX graphs (Burn and tract read
//! ONNX, they do not write it), and hand-writing the protobuf schema is not worth its
//! maintenance here.

use super::infer_cmd::{load_weights, tensors_to_safetensors};
use super::{ModelArgs, EXIT_DIAGNOSTICS, EXIT_IO, EXIT_OK};
use crate::driver::Options;
use crate::lower;
use crate::train::checkpoint;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub(super) struct ExportArgs {
    #[command(flatten)]
    model: ModelArgs,
    /// A safetensors state dict, a `resc run` directory, a checkpoint directory or a
    /// `model.mpk`.
    #[arg(long, value_name = "W", required_unless_present = "random_init")]
    weights: Option<PathBuf>,
    /// How the state dict names its tensors: `resc`, a framework the model file declares
    /// with `names FRAMEWORK { … }`, or `torchvision`.
    #[arg(long, default_value = "resc", value_name = "FRAMEWORK")]
    names: String,
    /// Export the model's random initialisation (no weights): for tests.
    #[arg(long, conflicts_with = "weights")]
    random_init: bool,
    /// The safetensors file to write.
    #[arg(long, value_name = "OUT")]
    out: PathBuf,
    /// Export the network as written, without folding.
    #[arg(long)]
    no_fold: bool,
    /// Also remove residuals by re-parameterisation (RMNet) where that is exact: a plain
    /// chain of (wider) convolutions.
    #[arg(long, conflicts_with = "no_fold")]
    plain: bool,
}

type B = burn::backend::Flex;

pub(super) fn run(args: &ExportArgs) -> i32 {
    let options = Options {
        network: args.model.network.clone(),
        overrides: args.model.set.clone(),
    };
    let network = match lower::compile_file(&args.model.file, &options) {
        Ok(n) => n,
        Err(e) => {
            eprint!("{e}");
            return if e.diagnostics.is_empty() {
                eprintln!();
                EXIT_IO
            } else {
                EXIT_DIAGNOSTICS
            };
        }
    };
    let device = Default::default();
    let net = network.build::<B>(&device);
    let net = match &args.weights {
        None => net,
        Some(w) => match load_weights(&network, net, w, &args.names, &device) {
            Ok(net) => net,
            Err(code) => return code,
        },
    };
    let (net, summary) = if args.no_fold {
        (net, "not folded".to_string())
    } else {
        let (net, r) = if args.plain {
            net.reparameterise_plain()
        } else {
            net.fold_for_inference()
        };
        let summary = format!(
            "{} BN and {} λ/α folded, {} ReLU fused, {} residuals removed; {} → {} steps",
            r.batch_norms, r.scales, r.relus, r.residuals, r.steps_before, r.steps_after
        );
        (net, summary)
    };
    let tensors = net
        .param_names()
        .into_iter()
        .filter_map(|name| {
            let data = net.tensor_data(&name)?;
            let shape = data.shape.to_vec();
            let values = data.convert::<f32>().to_vec::<f32>().ok()?;
            Some((name, shape, values))
        })
        .collect::<Vec<_>>();
    let count = tensors.len();
    let metadata = HashMap::from([
        (
            "resc.model".to_string(),
            args.model.file.display().to_string(),
        ),
        ("resc.network".to_string(), network.name.clone()),
        ("resc.folding".to_string(), summary.clone()),
        ("resc.plan".to_string(), net.plan().to_string()),
    ]);
    let written = tensors_to_safetensors(tensors, Some(metadata))
        .and_then(|bytes| checkpoint::write_atomic(&args.out, &bytes).map_err(|e| e.to_string()));
    match written {
        Ok(()) => {
            println!(
                "{}: {count} tensors ({summary}) written to {}",
                network.name,
                args.out.display()
            );
            EXIT_OK
        }
        Err(e) => {
            eprintln!("error[E0703]: cannot write {}: {e}", args.out.display());
            EXIT_IO
        }
    }
}
