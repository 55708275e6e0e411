//! The training pipeline's weight pass (`fuse-relus`): each ReLU that alone reads a
//! BatchNorm or a residual addition becomes part of its step, and the fused net computes
//! what the unfused one computes — outputs, gradients and running statistics — on the
//! CPU backend with the training kernels (`Autodiff<Flex>`), where each fused step is
//! one op.
#![cfg(feature = "cpu")]

use burn::backend::{Autodiff, Flex};
use burn::module::{AutodiffModule, Module};
use burn::tensor::backend::Backend;
use burn::tensor::{Distribution, ElementConversion, Tensor};
use resc::passes::{Goal, Pipeline};
use std::path::Path;

type A = Autodiff<Flex>;

fn max_relative<const D: usize>(got: Tensor<Flex, D>, want: Tensor<Flex, D>) -> f32 {
    let scale = want
        .clone()
        .abs()
        .max()
        .into_scalar()
        .elem::<f32>()
        .max(1e-6);
    (got - want).abs().max().into_scalar().elem::<f32>() / scale
}

#[test]
fn relus_fuse_and_train_alike() {
    let path = Path::new("tests/inference-passes/bn-relu.resnet");
    let network =
        resc::network_from_file(path, &Default::default()).unwrap_or_else(|e| panic!("{e}"));
    let device = Default::default();
    let plain = network.build_seeded::<A>(7, &device);
    let (fused, report) =
        Pipeline::for_backend::<A>(Goal::Training).run_net(network.build_seeded::<A>(7, &device));
    // conv1's and residual.conv1's BN → ReLU fuse, and the residual's addition with the
    // ReLU after it.
    assert_eq!(report.relus, 3, "{report}");
    let plan = fused.plan().to_string();
    assert_eq!(plan.matches("+relu").count(), 2, "{plan}");
    assert_eq!(plan.matches("AddRelu").count(), 1, "{plan}");
    assert!(!plan.contains("= Relu"), "{plan}");

    A::seed(&device, 3);
    let x = Tensor::<A, 4>::random([4, 3, 8, 8], Distribution::Normal(0.5, 1.0), &device)
        .require_grad();
    let r = Tensor::<A, 4>::random([4, 4, 8, 8], Distribution::Normal(0.0, 1.0), &device);
    let y_plain = plain.forward_map(x.clone());
    let y_fused = fused.forward_map(x.clone());
    let error = max_relative(y_fused.clone().inner(), y_plain.clone().inner());
    assert!(error < 1e-5, "outputs differ by {error:e}");

    let g_plain = (y_plain * r.clone()).sum().backward();
    let g_fused = (y_fused * r).sum().backward();
    let dx = max_relative(x.grad(&g_fused).unwrap(), x.grad(&g_plain).unwrap());
    assert!(dx < 1e-5, "input gradients differ by {dx:e}");
    // Every parameter's gradient, and the running statistics the forward updated.
    let names = plain.param_names();
    let (p, f) = (plain.valid(), fused.valid());
    for name in &names {
        let (a, b) = (p.tensor_data(name).unwrap(), f.tensor_data(name).unwrap());
        let (a, b) = (a.to_vec::<f32>().unwrap(), b.to_vec::<f32>().unwrap());
        let diff = a
            .iter()
            .zip(&b)
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff < 1e-6, "{name} differs by {diff:e} after one forward");
    }
    let grads = |net: &resc::lower::Net<A>, g| -> Vec<Tensor<Flex, 1>> {
        let mut out = Vec::new();
        net.visit(&mut Grads {
            grads: g,
            out: &mut out,
        });
        out
    };
    let (gp, gf) = (grads(&plain, &g_plain), grads(&fused, &g_fused));
    assert_eq!(gp.len(), gf.len());
    assert!(!gp.is_empty());
    for (a, b) in gp.into_iter().zip(gf) {
        let error = max_relative(b, a);
        assert!(error < 1e-4, "a parameter gradient differs by {error:e}");
    }
}

/// Collects every float parameter's gradient, flattened, in visiting order.
struct Grads<'a> {
    grads: &'a <A as burn::tensor::backend::AutodiffBackend>::Gradients,
    out: &'a mut Vec<Tensor<Flex, 1>>,
}

impl burn::module::ModuleVisitor<A> for Grads<'_> {
    fn visit_float<const D: usize>(&mut self, param: &burn::module::Param<Tensor<A, D>>) {
        if let Some(g) = param.val().grad(self.grads) {
            let n = g.shape().num_elements();
            self.out.push(g.reshape([n]));
        }
    }
}
