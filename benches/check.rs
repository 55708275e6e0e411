//! `resc check` time (parse → elaborate → shape-check → cost) for resnet50, the
//! 1192-layer weighted residual net and the 3002-layer CIFAR iResNet, and its growth
//! with depth (WResNet 6n+4 for several n, via `--set depth=…`). Goal: under 50 ms for the 3002-layer net.

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use resc::driver::{compile_file, FsLoader, Options};
use std::hint::black_box;
use std::path::Path;

fn check(path: &str, overrides: &[&str]) -> u64 {
    let options = Options {
        network: None,
        overrides: overrides.iter().map(|s| s.to_string()).collect(),
    };
    let compilation =
        compile_file(Path::new(path), &options, &mut FsLoader).expect("zoo file readable");
    let checked = compilation.result.expect("zoo model checks");
    checked.elaborated.graph.node_count() as u64
}

fn zoo(c: &mut Criterion) {
    let mut group = c.benchmark_group("check");
    group.sample_size(20);
    for (name, path) in [
        ("resnet50", "models/resnet50.resnet"),
        ("wresnet-1192", "models/wresnet.resnet"),
        ("iresnet-cifar-3002", "models/iresnet-cifar.resnet"),
    ] {
        group.bench_function(name, |b| b.iter(|| black_box(check(path, &[]))));
    }
    group.finish();
}

fn depth_scaling(c: &mut Criterion) {
    let mut group = c.benchmark_group("check-wresnet-depth");
    group.sample_size(10);
    for n in [18, 48, 100, 198] {
        let set = format!("depth={}", 6 * n + 4);
        group.bench_with_input(BenchmarkId::from_parameter(6 * n + 4), &set, |b, set| {
            b.iter(|| black_box(check("models/wresnet.resnet", &[set.as_str()])))
        });
    }
    group.finish();
}

criterion_group!(benches, zoo, depth_scaling);
criterion_main!(benches);
