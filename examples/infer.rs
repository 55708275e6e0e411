//! Compiles a model file, builds it and runs one evaluation forward pass on random input.
//!
//! ```text
//! cargo run --example infer [-- models/resnet20.resnet [cpu|cuda]]
//! cargo run --example infer --features cuda -- models/resnet50.resnet cuda
//! ```

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use resc::Network;
use std::path::Path;

/// Builds the network on `B` and prints the output shape for a batch of 2.
fn run<B: Backend>(network: &Network) {
    let device = B::Device::default();
    // A backend without autodiff runs in evaluation mode (BatchNorm uses its running
    // statistics, dropout is off); `Autodiff<B>` trains.
    let net = network.build::<B>(&device);
    let [c, h, w] = network.input_shape();
    let x = Tensor::<B, 4>::random([2, c, h, w], Distribution::Normal(0.0, 1.0), &device);
    let logits = net.forward(x);
    println!(
        "{}: input [2, {c}, {h}, {w}] -> output {:?}",
        network.name,
        logits.dims()
    );
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let path = args.get(1).map_or("models/resnet20.resnet", String::as_str);
    let network = match resc::network_from_file(Path::new(path), &Default::default()) {
        Ok(network) => network,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    match args.get(2).map_or("cpu", String::as_str) {
        "cpu" => run::<burn::backend::Flex>(&network),
        #[cfg(feature = "cuda")]
        "cuda" => run::<burn::backend::Cuda>(&network),
        #[cfg(not(feature = "cuda"))]
        "cuda" => {
            eprintln!("error: this build has no CUDA backend; rebuild with `--features cuda`");
            std::process::exit(2);
        }
        other => {
            eprintln!("error: unknown backend `{other}` (expected cpu or cuda)");
            std::process::exit(2);
        }
    }
}
