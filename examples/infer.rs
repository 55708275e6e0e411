//! Compiles a model file, builds it on the CPU and runs one forward pass on random input.
//!
//! `cargo run --example infer [-- models/resnet20.resnet]`

use burn::backend::Flex;
use burn::tensor::{Distribution, Tensor};
use std::path::Path;

fn main() {
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "models/resnet20.resnet".to_string());
    let network = match resc::compile_file(Path::new(&path), &Default::default()) {
        Ok(network) => network,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(1);
        }
    };
    let device = Default::default();
    // `Flex` runs in evaluation mode (BatchNorm uses its running statistics); an
    // `Autodiff<Flex>` net trains.
    let net = network.build::<Flex>(&device);
    let [c, h, w] = network.input_shape();
    let x = Tensor::<Flex, 4>::random([2, c, h, w], Distribution::Normal(0.0, 1.0), &device);
    let logits = net.forward(x);
    println!(
        "{}: input [2, {c}, {h}, {w}] -> output {:?}",
        network.name,
        logits.dims()
    );
}
