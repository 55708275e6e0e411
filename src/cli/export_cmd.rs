//! `resc export FILE --weights W --out model.safetensors`: the optimised inference
//! network — BN, λ and α folded into the convolutions, and with `--plain` residuals
//! removed where that is exact — as a safetensors file of its weights, with the execution plan in the file's
//! metadata (`resc.plan`), so that other tools can load the folded weights.
//!
//! ONNX is not written: no maintained Rust crate builds ONNX graphs (Burn and tract read
//! ONNX, they do not write it), and hand-writing the protobuf schema is not worth its
//! maintenance here.

use super::arrays::tensors_to_safetensors;
use super::backend::{BackendArgs, OnBackend};
use super::infer_cmd::WeightsArgs;
use super::{fail, Exit, ModelArgs, EXIT_IO, EXIT_OK};
use crate::diag::{Code, Diagnostic};
use crate::lower::Network;
use crate::passes::{Goal, Pipeline};
use crate::train::checkpoint;
use burn::tensor::backend::Backend;
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
    #[command(flatten)]
    backend: BackendArgs,
}

pub(super) fn run(args: &ExportArgs) -> i32 {
    match export(args) {
        Ok(()) => EXIT_OK,
        Err(code) => code,
    }
}

fn export(args: &ExportArgs) -> Result<(), Exit> {
    let network = super::run_cmd::compile(&args.model, &args.model.set, Goal::Inference)?;
    args.backend.check_memory(&network, 1)?;
    let (tensors, summary, plan) = args.backend.run(Fold {
        network: &network,
        args,
    })?;
    let count = tensors.len();
    let metadata = HashMap::from([
        (
            "resc.model".to_string(),
            args.model.file.display().to_string(),
        ),
        ("resc.network".to_string(), network.name.clone()),
        ("resc.folding".to_string(), summary.clone()),
        ("resc.plan".to_string(), plan),
    ]);
    tensors_to_safetensors(tensors, Some(metadata))
        .and_then(|bytes| checkpoint::write_atomic(&args.out, &bytes).map_err(|e| e.to_string()))
        .map_err(|e| {
            fail(
                Diagnostic::error(Code::E0703, format!("cannot write the export: {e}"))
                    .file(&args.out),
                EXIT_IO,
            )
        })?;
    println!(
        "{}: {count} tensors ({summary}) written to {}",
        network.name,
        args.out.display()
    );
    Ok(())
}

/// The weights (name, shape, values), the folding summary and the plan.
type Folded = (Vec<(String, Vec<usize>, Vec<f32>)>, String, String);

/// `resc export`'s folding on the backend `--backend` chooses (the exported plan is the
/// one that backend runs: the CPU's kernel selection only with `--backend cpu`).
struct Fold<'a> {
    network: &'a Network,
    args: &'a ExportArgs,
}

impl OnBackend for Fold<'_> {
    type Output = Folded;

    fn run<B: Backend>(self, device: &B::Device) -> Result<Folded, Exit> {
        let Fold { network, args } = self;
        let net = network.build::<B>(device);
        let net = args.weights.apply(network, net, device)?;
        let (net, summary) = if args.no_fold {
            (net, "not folded".to_string())
        } else {
            let goal = if args.plain {
                Goal::Plain
            } else {
                Goal::Inference
            };
            let (net, r) = Pipeline::for_backend::<B>(goal).run_net(net);
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
            .collect();
        Ok((tensors, summary, net.plan().to_string()))
    }
}
