//! Time and peak memory of one training step (forward + backward, batch 2) of a very
//! deep network on the CPU, with or without Burn's gradient checkpointing, plus an
//! evaluation forward pass.
//!
//! ```text
//! cargo run --example deep -- models/wresnet.resnet 1192 [balanced]
//! cargo run --example deep -- models/iresnet-cifar.resnet 3002 [balanced]
//! ```
//!
//! Peak memory is the process's high-water mark (`VmHWM`, Linux), so run one
//! configuration per process.

use burn::backend::autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use resc::Network;
use std::time::Instant;

fn step<C: CheckpointStrategy>(network: &Network, batch: usize) {
    let device = Default::default();
    let net = network.build::<Autodiff<Flex, C>>(&device);
    let [c, h, w] = network.input_shape();
    let x = Tensor::<Autodiff<Flex, C>, 4>::random(
        [batch, c, h, w],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let start = Instant::now();
    let y = net.forward(x);
    let forward = start.elapsed();
    let grads = y.sum().backward();
    let total = start.elapsed();
    drop(grads);
    println!(
        "training step: forward {:.2} s, backward {:.2} s, total {:.2} s",
        forward.as_secs_f64(),
        (total - forward).as_secs_f64(),
        total.as_secs_f64()
    );
    let net = network.build::<Flex>(&device);
    let x = Tensor::<Flex, 4>::random([batch, c, h, w], Distribution::Normal(0.0, 1.0), &device);
    let start = Instant::now();
    let _ = net.forward(x);
    println!("evaluation forward: {:.2} s", start.elapsed().as_secs_f64());
}

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let model = args.get(1).map_or("models/wresnet.resnet", String::as_str);
    let depth = args.get(2).map_or("1192", String::as_str);
    let checkpointing = args.get(3).map_or("none", String::as_str);
    let options = resc::driver::Options {
        network: None,
        overrides: vec![format!("depth={depth}")],
    };
    let network = resc::compile_file(model.as_ref(), &options).unwrap_or_else(|e| panic!("{e}"));
    println!(
        "{} (depth {depth}): {} steps, {} layers with parameters, batch 2, checkpointing {checkpointing}",
        network.name,
        network.plan().steps.len(),
        network.plan().layers.len()
    );
    match checkpointing {
        "balanced" => step::<BalancedCheckpointing>(&network, 2),
        _ => step::<NoCheckpointing>(&network, 2),
    }
    if let Some(mib) = peak_memory_mib() {
        println!("peak memory: {mib:.0} MiB");
    }
}
