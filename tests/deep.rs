//! Very deep networks run forward and backward on the CPU without overflowing the
//! stack: the executor runs the plan in a loop, and Burn's autodiff graph of thousands
//! of nodes is built, traversed and dropped.
#![cfg(feature = "cpu")]

use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use resc::driver::Options;

type Train = Autodiff<Flex>;

/// Compiles a zoo model with `--set` overrides and runs one training step's forward and
/// backward pass at batch 2; checks the output shape and that the gradient reached the
/// first convolution and is finite.
fn forward_backward(model: &str, overrides: &[&str], first_conv: &str) -> usize {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(model);
    let options = Options {
        network: None,
        overrides: overrides.iter().map(|s| s.to_string()).collect(),
    };
    let network = resc::network_from_file(&path, &options).unwrap_or_else(|e| panic!("{e}"));
    let device = Default::default();
    let net = network.build::<Train>(&device);
    let [c, h, w] = network.input_shape();
    let x = Tensor::<Train, 4>::random([2, c, h, w], Distribution::Normal(0.0, 1.0), &device);
    let y = net.forward(x);
    assert_eq!(y.dims(), [2, 10]);
    let grads = y.sum().backward();
    let grad = net
        .grad_data(first_conv, &grads)
        .expect("the gradient reaches the stem");
    let values: Vec<f32> = grad.to_vec().expect("f32 gradient");
    assert!(
        values.iter().all(|v| v.is_finite()),
        "non-finite gradient in the stem"
    );
    net.plan().steps.len()
}

#[test]
fn weighted_resnet_1192_layers_trains_one_step() {
    let steps = forward_backward(
        "models/wresnet.resnet",
        &["depth=1192"],
        "conv1.conv1.weight",
    );
    assert!(steps > 4000, "the 1192-layer net has {steps} steps");
}

#[test]
fn iresnet_cifar_3002_layers_trains_one_step() {
    let steps = forward_backward(
        "models/iresnet-cifar.resnet",
        &["depth=3002"],
        "conv1.conv1.weight",
    );
    assert!(steps > 9000, "the 3002-layer net has {steps} steps");
}
