//! `resc export FILE --weights W --out model.safetensors`: the optimised inference
//! network — BN, λ and α folded into the convolutions, and with `--plain` residuals
//! removed where that is exact — as a safetensors file of its weights, with the execution plan in the file's
//! metadata (`resc.plan`), so that other tools can load the folded weights.
//!
//! ONNX is not written: no maintained Rust crate builds ONNX graphs (Burn and tract read
//! ONNX, they do not write it), and hand-writing the protobuf schema is not worth its
//! maintenance here.

use super::infer_cmd::{tensors_to_safetensors, WeightsArgs};
use super::{ModelArgs, EXIT_IO, EXIT_OK};
use crate::train::checkpoint;
use std::collections::HashMap;
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub(super) struct ExportArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    weights: WeightsArgs,
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
    let network = match super::run_cmd::compile(&args.model, &args.model.set) {
        Ok(n) => n,
        Err(code) => return code,
    };
    let device = Default::default();
    let net = network.build::<B>(&device);
    let net = match args.weights.apply(&network, net, &device) {
        Ok(net) => net,
        Err(code) => return code,
    };
    let (net, summary) = if args.no_fold {
        (net, "not folded".to_string())
    } else {
        let (net, r) = if args.plain {
            net.reparameterise_plain()
        } else {
            net.fold_for_inference()
        };
        (net, r.to_string())
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
