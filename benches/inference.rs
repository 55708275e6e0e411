//! Inference speed before and after the weight passes (`Pipeline` with
//! `Goal::Inference`: BN, λ and α folded into convolutions, ReLU fused, then kernel
//! selection: 3×3 stride-1 convolutions on Winograd F(4×4, 3×3), the others on im2col +
//! gemm, bias, residual additions and ReLU in the kernels' epilogue, max pooling on the
//! CPU kernel; `Goal::Plain`: residuals removed too, where exact), evaluation mode on the
//! CPU backend:
//! ResNet-50 and RepVGG-A0 (whose branches merge into one conv per block) at batch 8 on
//! 224×224, WRN-16-8 and ResNet-20 (which re-parameterisation turns into a plain chain)
//! at batch 128 on 32×32. Throughput is
//! reported per batch; images/s = batch / time. The PyTorch figures for the same models
//! come from `benches/reference/pytorch_throughput.py`.
//!
//! `cargo bench --bench inference` (add `-- --quick` for a fast run); with
//! `--features cuda` it measures the GPU.

use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use resc::lower::Net;
use resc::passes::{Goal, Pipeline};
use std::hint::black_box;
use std::path::Path;

/// The CPU's `flex`, or CUDA in a build with `--features cuda`
/// (`cargo bench --features cuda --bench inference`, on a machine with an NVIDIA GPU).
#[cfg(not(feature = "cuda"))]
type B = burn::backend::Flex;
#[cfg(feature = "cuda")]
type B = burn::backend::Cuda;

fn model(file: &str, batch: usize) -> (Net<B>, Tensor<B, 4>) {
    let network = resc::network_from_file(Path::new(file), &Default::default()).expect("zoo model");
    let device = Default::default();
    let net = network.build::<B>(&device);
    let [c, h, w] = network.input_shape();
    let x = Tensor::random([batch, c, h, w], Distribution::Normal(0.0, 1.0), &device);
    (net, x)
}

/// One forward pass, waited for (a GPU backend returns before the kernels finish).
fn forward(net: &Net<B>, x: &Tensor<B, 4>) {
    let y = net.forward(x.clone());
    B::sync(&y.device()).expect("the device finishes the forward pass");
    black_box(y);
}

fn inference(c: &mut Criterion) {
    for (name, file, batch) in [
        ("resnet50-b8", "models/resnet50.resnet", 8),
        ("repvgg-a0-b8", "models/repvgg-a0.resnet", 8),
        ("wrn-16-8-b128", "models/wrn-16-8.resnet", 128),
        ("resnet20-b128", "models/resnet20.resnet", 128),
    ] {
        let mut group = c.benchmark_group(name);
        group.sample_size(10);
        group.throughput(Throughput::Elements(batch as u64));
        let (net, x) = model(file, batch);
        group.bench_function("plain", |b| b.iter(|| forward(&net, &x)));
        let (folded, report) = Pipeline::for_backend::<B>(Goal::Inference).run_net(net.clone());
        eprintln!("{name} folded: {report:?}");
        group.bench_function("folded", |b| b.iter(|| forward(&folded, &x)));
        let (chain, report) = Pipeline::for_backend::<B>(Goal::Plain).run_net(net);
        if report.residuals > 0 {
            eprintln!("{name} plain chain: {report:?}");
            group.bench_function("plain-chain", |b| b.iter(|| forward(&chain, &x)));
        }
        group.finish();
    }
}

criterion_group!(benches, inference);
criterion_main!(benches);
