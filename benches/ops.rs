//! Per-op micro-benchmark of the lowering's kernels on the CPU backend (flex), at a
//! CIFAR-stage shape [32, 16, 32, 32]: convolution, BatchNorm in evaluation and training
//! (resc's `[N, C, H·W]` formulation against burn-nn's `BatchNorm`), add, concat,
//! pooling and the λ/α scalings. The numbers choose the formulations in `lower::ops`.
//!
//! `cargo bench --bench ops` (add `-- --quick` for a fast run).

use burn::backend::{Autodiff, Flex};
use burn::module::{Param, RunningState};
use burn::nn::BatchNormConfig;
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, Tensor};
use criterion::{criterion_group, criterion_main, Criterion};
use resc::lower::layers::BatchNorm;
use resc::lower::ops;
use std::hint::black_box;

const SHAPE: [usize; 4] = [32, 16, 32, 32];

fn input<B: Backend>() -> Tensor<B, 4> {
    Tensor::random(SHAPE, Distribution::Normal(0.0, 1.0), &Default::default())
}

fn ours<B: Backend>() -> BatchNorm<B> {
    let device = Default::default();
    let c = SHAPE[1];
    BatchNorm {
        weight: Some(Param::from_tensor(Tensor::ones([c], &device))),
        bias: Some(Param::from_tensor(Tensor::zeros([c], &device))),
        running_mean: RunningState::new(Tensor::zeros([c], &device)),
        running_var: RunningState::new(Tensor::ones([c], &device)),
    }
}

fn batch_norm(c: &mut Criterion) {
    let mut group = c.benchmark_group("batch_norm");
    group.sample_size(20);
    let x = input::<Flex>();
    let bn = ours::<Flex>();
    let nn = BatchNormConfig::new(SHAPE[1]).init::<Flex>(&Default::default());
    group.bench_function("eval/resc", |b| {
        b.iter(|| black_box(ops::batch_norm(x.clone(), &bn, 1e-5, 0.1)))
    });
    group.bench_function("eval/burn-nn", |b| {
        b.iter(|| black_box(nn.forward(x.clone())))
    });

    type A = Autodiff<Flex>;
    let x = input::<A>().require_grad();
    let bn = ours::<A>();
    let nn = BatchNormConfig::new(SHAPE[1]).init::<A>(&Default::default());
    group.bench_function("train-fwd-bwd/resc", |b| {
        b.iter(|| black_box(ops::batch_norm(x.clone(), &bn, 1e-5, 0.1).sum().backward()))
    });
    group.bench_function("train-fwd-bwd/burn-nn", |b| {
        b.iter(|| black_box(nn.forward(x.clone()).sum().backward()))
    });
    group.finish();
}

fn others(c: &mut Criterion) {
    let mut group = c.benchmark_group("ops");
    group.sample_size(20);
    let device = Default::default();
    let x = input::<Flex>();
    let y = input::<Flex>();
    let weight = Param::from_tensor(Tensor::<Flex, 4>::random(
        [16, 16, 3, 3],
        Distribution::Normal(0.0, 0.1),
        &device,
    ));
    group.bench_function("conv3x3", |b| {
        b.iter(|| {
            black_box(ops::conv(
                x.clone(),
                &weight,
                None,
                [1, 1],
                [1, 1],
                [1, 1],
                1,
            ))
        })
    });
    group.bench_function("relu", |b| {
        b.iter(|| black_box(burn::tensor::activation::relu(x.clone())))
    });
    group.bench_function("add", |b| {
        b.iter(|| black_box(ops::add(vec![x.clone(), y.clone()])))
    });
    group.bench_function("concat", |b| {
        b.iter(|| black_box(ops::concat(vec![x.clone(), y.clone()])))
    });
    group.bench_function("maxpool3x3s2", |b| {
        b.iter(|| black_box(ops::max_pool(x.clone(), [3, 3], [2, 2], [1, 1], false)))
    });
    {
        type A = Autodiff<Flex>;
        let xa = input::<A>().require_grad();
        group.bench_function("maxpool3x3s2-fwd-bwd", |b| {
            b.iter(|| {
                black_box(
                    ops::max_pool(xa.clone(), [3, 3], [2, 2], [1, 1], false)
                        .sum()
                        .backward(),
                )
            })
        });
    }
    group.bench_function("global_avgpool", |b| {
        b.iter(|| black_box(ops::global_avg_pool(x.clone())))
    });
    group.bench_function("zeropad", |b| {
        b.iter(|| black_box(ops::zero_pad(x.clone(), 2, 8, 8)))
    });
    let lambda = Param::from_tensor(Tensor::<Flex, 1>::full([1], 0.5, &device));
    group.bench_function("scale", |b| {
        b.iter(|| black_box(ops::scale(x.clone(), &lambda)))
    });
    let alpha = Param::from_tensor(Tensor::<Flex, 1>::full([SHAPE[1]], 0.5, &device));
    group.bench_function("channel_scale/resc", |b| {
        b.iter(|| black_box(ops::channel_scale(x.clone(), &alpha)))
    });
    group.bench_function("channel_scale/broadcast", |b| {
        b.iter(|| black_box(x.clone() * alpha.val().reshape([1, SHAPE[1], 1, 1])))
    });
    group.finish();
}

criterion_group!(benches, batch_norm, others);
criterion_main!(benches);
