//! Lowering: a checked IR graph becomes a Burn module, [`Net`], that computes what the
//! reference implementations compute, on any Burn backend (flex on the CPU by default,
//! CUDA with the `cuda` feature).
//!
//! Architecture invariants: Burn is reached only from here, from the weight passes of
//! `crate::passes` and from training. Lowering only lowers — it builds a net and runs
//! its plan; the passes that rewrite a lowered net with its weights (folding, branch
//! merging, residual removal, kernel selection) are in `crate::passes`, which uses this
//! module, never the other way round. The front end never depends on this module; it is
//! compiled only with the `cpu` feature.
//!
//! ```no_run
//! use burn::backend::Flex;
//! let network = resc::lower::network_from_file("models/resnet20.resnet".as_ref(), &Default::default()).unwrap();
//! let device = Default::default();
//! let net = network.build::<Flex>(&device);
//! let x = burn::tensor::Tensor::<Flex, 4>::zeros([2, 3, 32, 32], &device);
//! assert_eq!(net.forward(x).dims(), [2, 10]);
//! ```

mod autodiff;
pub(crate) mod host;
mod init;
pub mod layers;
mod net;
pub mod ops;
pub mod plan;
pub mod weights;

pub use host::tune_allocator;
pub use layers::Layer;
pub use net::{Net, ScaleParam};
pub use plan::Plan;
pub use weights::{LoadReport, NameMap};

use crate::diag::{render, Code, Diagnostic};
use crate::driver::{self, FsLoader, Options};
use crate::ir::{Graph, NodeId, Shape};
use crate::source::SourceMap;
use burn::tensor::backend::Backend;
use std::collections::HashMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

/// A compiled, checked network, ready to be built on a device.
#[derive(Clone, Debug)]
pub struct Network {
    /// The network's name in the source (`resnet20`).
    pub name: String,
    pub graph: Graph,
    /// Every node's per-sample shape.
    pub shapes: HashMap<NodeId, Shape>,
    /// The sources, to render diagnostics that point into them (weight reports).
    pub sources: SourceMap,
    /// The model file's `train { … }` recipe (empty without one).
    pub recipe: crate::elab::Recipe,
    /// The model file's `names framework { … }` declarations.
    pub name_maps: Vec<crate::elab::FrameworkNames>,
    plan: Arc<Plan>,
}

/// Why a source did not compile: the diagnostics, and their plain-text rendering.
#[derive(Clone, Debug)]
pub struct CompileError {
    pub diagnostics: Vec<Diagnostic>,
    pub rendered: String,
}

impl fmt::Display for CompileError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.rendered)
    }
}

impl std::error::Error for CompileError {}

impl CompileError {
    /// The model file at `path` could not be read (E0103).
    pub fn unreadable(path: &Path, error: &std::io::Error) -> CompileError {
        let unreadable = Diagnostic::error(
            Code::E0103,
            format!("cannot read `{}`: {error}", path.display()),
        );
        CompileError {
            rendered: unreadable.to_string() + "\n",
            diagnostics: vec![unreadable],
        }
    }
}

/// The network of model source text, ready to build: the front end
/// ([`driver::compile_text`]) and then the execution plan. Imports resolve against the
/// current directory.
pub fn network_from_text(source: &str) -> Result<Network, CompileError> {
    let path = Path::new("<source>");
    let compilation =
        driver::compile_text(path, source.to_string(), &Options::default(), &mut FsLoader);
    network_from_compilation(compilation)
}

/// The network of the model file at `path` (with `--set`-style overrides in `options`):
/// [`driver::compile_file`] and then the execution plan.
pub fn network_from_file(path: &Path, options: &Options) -> Result<Network, CompileError> {
    match driver::compile_file(path, options, &mut FsLoader) {
        Ok(compilation) => network_from_compilation(compilation),
        Err(e) => Err(CompileError::unreadable(path, &e)),
    }
}

/// The network of a finished compilation (after any graph passes), or its diagnostics.
pub fn network_from_compilation(compilation: driver::Compilation) -> Result<Network, CompileError> {
    match compilation.result {
        Ok(checked) => {
            let mut network = Network::new(
                checked.elaborated.network,
                checked.elaborated.graph,
                checked.info.shapes,
                compilation.sources,
            );
            network.recipe = checked.elaborated.recipe;
            network.name_maps = checked.elaborated.name_maps;
            Ok(network)
        }
        Err(diagnostics) => Err(CompileError {
            rendered: render::to_string(&compilation.sources, &diagnostics),
            diagnostics,
        }),
    }
}

impl Network {
    /// The names of `framework`'s state dicts: the model file's `names framework { … }`
    /// if it has one, the built-in torchvision/timm ResNet table for `torchvision`, the
    /// source names themselves for `resc`. `None` for a framework the file does not name.
    pub fn name_map(&self, framework: &str) -> Option<NameMap> {
        if let Some(declared) = self.name_maps.iter().find(|m| m.framework == framework) {
            return Some(
                declared
                    .rules
                    .iter()
                    .fold(NameMap::new(), |map, (p, r)| map.rule(p, r)),
            );
        }
        match framework {
            "resc" => Some(NameMap::new()),
            "torchvision" => Some(NameMap::torchvision()),
            _ => None,
        }
    }

    /// Wraps a checked graph (`shapes` from [`crate::check::check`]).
    pub fn new(
        name: String,
        graph: Graph,
        shapes: HashMap<NodeId, Shape>,
        sources: SourceMap,
    ) -> Network {
        let plan = Arc::new(Plan::new(&graph, &shapes));
        Network {
            name,
            graph,
            shapes,
            sources,
            recipe: crate::elab::Recipe::default(),
            name_maps: Vec::new(),
            plan,
        }
    }

    /// Builds the network's module on `device`, with parameters initialised from seed 0
    /// (see [`Network::build_seeded`]).
    pub fn build<B: Backend>(&self, device: &B::Device) -> Net<B> {
        self.build_seeded(0, device)
    }

    /// Builds the network's module on `device` with parameters initialised from `seed`:
    /// the same values on every backend.
    pub fn build_seeded<B: Backend>(&self, seed: u64, device: &B::Device) -> Net<B> {
        Net::new(self.plan.clone(), seed, device)
    }

    /// The bytes of the network's tensors (parameters and running statistics, float32),
    /// or `None` past `u64`: what building it allocates before any input is seen.
    pub fn tensor_bytes(&self) -> Option<u64> {
        self.plan.layers.iter().try_fold(0u64, |total, layer| {
            layer
                .spec
                .tensor_names()
                .iter()
                .try_fold(total, |total, t| {
                    let shape = layer.spec.tensor_shape(t).unwrap_or_default();
                    let n = shape
                        .iter()
                        .try_fold(1u64, |n, &d| n.checked_mul(d as u64))?;
                    total.checked_add(n.checked_mul(4)?)
                })
        })
    }

    /// The per-sample input shape `[C, H, W]`.
    pub fn input_shape(&self) -> [usize; 3] {
        self.plan.input_shape
    }

    pub fn plan(&self) -> &Plan {
        &self.plan
    }
}
