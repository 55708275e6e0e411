//! Training throughput of resc on the CPU (`Autodiff<Flex>`): forward + backward + SGD
//! step through the project's `Trainer` on random data, for one model per run, so that
//! `benches/training_vs_pytorch.sh` can interleave it with PyTorch on the same threads.
//!
//! `cargo bench --bench training -- MODEL BATCH SIZE STEPS [--set k=v ...]`
//! prints `resc MODEL images/s` (one warm-up step is not timed).

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Int, Tensor, TensorData};
use resc::data::DataSource;
use resc::passes::{Goal, Pipeline};
use resc::train::{TrainConfig, Trainer};
use std::path::Path;
use std::time::Instant;

type B = Autodiff<Flex>;

fn main() {
    // As `resc run` does.
    resc::lower::tune_allocator();
    // Cargo passes `--bench`; the positional arguments are ours.
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let (model, rest) = args
        .split_first()
        .expect("usage: MODEL BATCH SIZE STEPS [--set k=v]");
    let number = |i: usize| -> usize { rest[i].parse().expect("a number") };
    let (batch, size, steps) = (number(0), number(1), number(2));
    let overrides: Vec<String> = rest[3..]
        .iter()
        .filter(|a| *a != "--set")
        .cloned()
        .collect();
    let options = resc::driver::Options {
        network: None,
        overrides,
    };
    let network = resc::network_from_file(Path::new(model), &options).expect("a zoo model");
    let device = Default::default();
    // As `resc run` does: the training pipeline's weight pass (ReLU fusion into BatchNorms and additions).
    let (net, _) =
        Pipeline::for_backend::<B>(Goal::Training).run_net(network.build_seeded::<B>(1, &device));
    let source: DataSource = "synthetic".parse().expect("a data source");
    let mut config = TrainConfig::defaults(model, &source, [3, size, size]);
    config.lr = 0.1;
    config.momentum = 0.9;
    config.nesterov = true;
    config.weight_decay = 5e-4;
    let mut trainer = Trainer::new(net, &config, 1000);
    let images = Tensor::<B, 4>::random(
        [batch, 3, size, size],
        Distribution::Normal(0.0, 1.0),
        &device,
    );
    let labels: Vec<i64> = (0..batch as i64).map(|i| i % 10).collect();
    let labels = Tensor::<B, 1, Int>::from_data(TensorData::new(labels, [batch]), &device);
    trainer.step(images.clone(), labels.clone());
    let start = Instant::now();
    for _ in 0..steps {
        trainer.step(images.clone(), labels.clone());
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("resc {model} {:.2}", (steps * batch) as f64 / seconds);
}
