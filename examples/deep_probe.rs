use burn::backend::{Autodiff, Flex};
use burn::tensor::{Distribution, Tensor};
use std::time::Instant;
fn main() {
    let depth = std::env::args().nth(1).unwrap_or("1192".into());
    let opts = resc::driver::Options { network: None, overrides: vec![format!("depth={depth}")] };
    let network = resc::compile_file("models/wresnet.resnet".as_ref(), &opts).unwrap();
    let device = Default::default();
    let t = Instant::now();
    let net = network.build::<Autodiff<Flex>>(&device);
    println!("built {} layers in {:?}", net.layers.len(), t.elapsed());
    let x = Tensor::<Autodiff<Flex>, 4>::random([2, 3, 32, 32], Distribution::Normal(0.0, 1.0), &device);
    let t = Instant::now();
    let y = net.forward(x);
    println!("forward {:?} in {:?}", y.dims(), t.elapsed());
    let t = Instant::now();
    let grads = y.sum().backward();
    println!("backward in {:?}", t.elapsed());
    let t = Instant::now();
    drop(grads);
    println!("drop grads {:?}", t.elapsed());
}
