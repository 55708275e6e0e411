//! Time and peak memory of one training step (forward + backward, batch 2) of the two
//! very deep zoo networks on the CPU, with and without Burn's gradient checkpointing,
//! plus an evaluation forward pass.
//!
//! ```text
//! cargo bench --bench deep                      # all four configurations, as a table
//! cargo bench --bench deep -- iresnet balanced  # only those whose name contains both words
//! ```
//!
//! Peak memory is the process's high-water mark (`VmHWM`, Linux), so every
//! configuration runs in a child process of its own (this program re-run with
//! `RESC_DEEP_CHILD` set).

use burn::backend::autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use resc::passes::{Goal, Pipeline};
use resc::Network;
use std::process::Command;
use std::time::Instant;

const CHILD: &str = "RESC_DEEP_CHILD";

/// (model file, depth) of the deep networks measured.
const NETWORKS: [(&str, &str); 2] = [
    ("models/wresnet.resnet", "1192"),
    ("models/iresnet-cifar.resnet", "3002"),
];
const STRATEGIES: [&str; 2] = ["none", "balanced"];

/// One measurement, as the child prints it on its last line.
struct Figures {
    forward: f64,
    backward: f64,
    eval: f64,
    peak_mib: f64,
}

fn step<C: CheckpointStrategy>(network: &Network, batch: usize) -> Figures {
    let device = Default::default();
    let [c, h, w] = network.input_shape();
    // As `resc run` does: the training pipeline's weight pass (ReLU fusion into BatchNorms and additions).
    let (net, _) = Pipeline::for_backend::<Autodiff<Flex, C>>(Goal::Training)
        .run_net(network.build::<Autodiff<Flex, C>>(&device));
    let x = Tensor::<Autodiff<Flex, C>, 4>::random(
        [batch, c, h, w],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let start = Instant::now();
    let y = net.forward(x);
    let forward = start.elapsed().as_secs_f64();
    let grads = y.sum().backward();
    let backward = start.elapsed().as_secs_f64() - forward;
    drop(grads);
    drop(net);
    let net = network.build::<Flex>(&device);
    let x = Tensor::<Flex, 4>::random([batch, c, h, w], Distribution::Normal(0.0, 1.0), &device);
    let start = Instant::now();
    let _ = net.forward(x);
    let eval = start.elapsed().as_secs_f64();
    Figures {
        forward,
        backward,
        eval,
        peak_mib: peak_memory_mib().unwrap_or(f64::NAN),
    }
}

fn peak_memory_mib() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024.0)
}

/// The child: measures one configuration and prints its figures on one line.
fn child(spec: &str) {
    let mut parts = spec.split_whitespace();
    let (model, depth, strategy) = (
        parts.next().expect("model"),
        parts.next().expect("depth"),
        parts.next().expect("strategy"),
    );
    let options = resc::driver::Options {
        network: None,
        overrides: vec![format!("depth={depth}")],
    };
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(model);
    let network = resc::network_from_file(&path, &options).unwrap_or_else(|e| panic!("{e}"));
    let f = match strategy {
        "balanced" => step::<BalancedCheckpointing>(&network, 2),
        _ => step::<NoCheckpointing>(&network, 2),
    };
    println!(
        "{} {} {} {} {} {}",
        network.plan().steps.len(),
        f.forward,
        f.backward,
        f.eval,
        f.peak_mib,
        network.name
    );
}

fn main() {
    if let Ok(spec) = std::env::var(CHILD) {
        // As `resc run` does.
        resc::lower::tune_allocator();
        child(&spec);
        return;
    }
    // `cargo bench` passes `--bench`; other arguments are words a configuration must contain.
    let words: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with("--"))
        .collect();
    let exe = std::env::current_exe().expect("the benchmark's own path");
    println!(
        "one training step (forward + backward) and one evaluation forward, batch 2, CPU (flex)"
    );
    println!(
        "{:<16} {:>5} {:>6} {:<9} {:>9} {:>9} {:>8} {:>9}",
        "network", "depth", "steps", "ckpt", "forward", "backward", "eval", "peak"
    );
    for (model, depth) in NETWORKS {
        for strategy in STRATEGIES {
            let spec = format!("{model} {depth} {strategy}");
            if !words.iter().all(|w| spec.contains(w.as_str())) {
                continue;
            }
            let out = Command::new(&exe)
                .env(CHILD, &spec)
                .output()
                .expect("run the measurement");
            let stdout = String::from_utf8_lossy(&out.stdout);
            let line = stdout.lines().last().unwrap_or_default();
            let v: Vec<&str> = line.split_whitespace().collect();
            if !out.status.success() || v.len() < 6 {
                eprintln!(
                    "{spec}: failed ({})\n{}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr)
                );
                continue;
            }
            let secs = |i: usize| v[i].parse::<f64>().unwrap_or(f64::NAN);
            println!(
                "{:<16} {:>5} {:>6} {:<9} {:>8.2}s {:>8.2}s {:>7.2}s {:>5.0} MiB",
                v[5],
                depth,
                v[0],
                strategy,
                secs(1),
                secs(2),
                secs(3),
                secs(4)
            );
        }
    }
}
