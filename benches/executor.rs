//! The graph executor against a hand-written Burn ResNet-20: the same layers and the same
//! kernels, once run from the plan (`Net::forward`) and once as straight-line code, so
//! the difference is the executor's overhead (goal: at most 5%). Batch 32, 3×32×32,
//! evaluation forward and training forward + backward on the CPU backend.
//!
//! `cargo bench --bench executor` (add `-- --quick` for a fast run).

use burn::backend::{Autodiff, Flex};
use burn::tensor::activation::relu;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, ElementConversion, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use resc::lower::{ops, Layer, Net};
use std::hint::black_box;
use std::path::Path;

/// ResNet-20 (option A) written out by hand over the lowered net's layers, which are in
/// source order: the stem's conv and BN, four per block, then the classifier.
fn handwritten<B: Backend>(net: &Net<B>, x: Tensor<B, 4>) -> Tensor<B, 2> {
    let conv = |i: usize, x, stride: usize| match &net.layers[i] {
        Layer::Conv(c) => ops::conv(x, &c.weight, None, [stride, stride], [1, 1], [1, 1], 1),
        _ => unreachable!("layer {i} is a convolution"),
    };
    let bn = |i: usize, x| match &net.layers[i] {
        Layer::BatchNorm(b) => ops::batch_norm(x, b, 1e-5, 0.1),
        _ => unreachable!("layer {i} is a BatchNorm"),
    };
    let mut x = relu(bn(1, conv(0, x, 1)));
    let mut layer = 2;
    for (stage, width) in [16, 32, 64].into_iter().enumerate() {
        for block in 0..3 {
            let stride = if stage > 0 && block == 0 { 2 } else { 1 };
            let r = relu(bn(layer + 1, conv(layer, x.clone(), stride)));
            let r = bn(layer + 3, conv(layer + 2, r, 1));
            let s = if stride == 2 {
                ops::zero_pad(x, 2, width / 4, width / 4)
            } else {
                x
            };
            x = relu(r + s);
            layer += 4;
        }
    }
    let Layer::Linear(fc) = &net.layers[layer] else {
        unreachable!("the last layer is the classifier")
    };
    let y = ops::linear(ops::global_avg_pool(x), fc);
    let [n, c, _, _] = y.dims();
    y.reshape([n, c])
}

fn resnet20<B: Backend>() -> (Net<B>, Tensor<B, 4>) {
    let network = resc::network_from_file(Path::new("models/resnet20.resnet"), &Default::default())
        .expect("zoo model");
    let device = Default::default();
    let net = network.build::<B>(&device);
    let x = Tensor::random([32, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let (a, b) = (net.forward(x.clone()), handwritten(&net, x.clone()));
    let diff: f32 = (a - b).abs().max().into_scalar().elem();
    assert!(
        diff < 1e-4,
        "the hand-written ResNet-20 differs from the lowered one by {diff}"
    );
    (net, x)
}

fn executor(c: &mut Criterion) {
    let mut group = c.benchmark_group("resnet20-b32");
    group.sample_size(10);
    let (net, x) = resnet20::<Flex>();
    group.bench_function("eval/executor", |b| {
        b.iter(|| black_box(net.forward(x.clone())))
    });
    group.bench_function("eval/handwritten", |b| {
        b.iter(|| black_box(handwritten(&net, x.clone())))
    });
    let (net, x) = resnet20::<Autodiff<Flex>>();
    group.bench_function("train/executor", |b| {
        b.iter(|| black_box(net.forward(x.clone()).sum().backward()))
    });
    group.bench_function("train/handwritten", |b| {
        b.iter(|| black_box(handwritten(&net, x.clone()).sum().backward()))
    });
    group.finish();
}

criterion_group!(benches, executor);
criterion_main!(benches);
