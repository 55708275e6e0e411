//! Optimisation passes over the IR. Each pass is a small module with
//! `fn run(&mut Graph) -> bool` (did it change the graph?), listed in one ordered
//! pipeline. Passes never change what the network computes: after every pass (in debug
//! builds, and so in every test) the IR verifier and shape inference run again and the
//! output shape must be unchanged.
//!
//! Two pipelines: [`structural`] keeps the training semantics (it removes only what is
//! an identity in training too); [`inference`] also removes what is an identity at
//! inference time (dropout, drop_path).

mod canonical;
mod cse;
mod dce;
mod identity;

use crate::check;
use crate::ir::{self, Graph};
use serde::Serialize;

/// One pass of a pipeline.
#[derive(Clone, Copy)]
pub struct Pass {
    pub name: &'static str,
    pub description: &'static str,
    pub run: fn(&mut Graph) -> bool,
}

/// What one pass did.
#[derive(Clone, Debug, Serialize)]
pub struct PassReport {
    pub pass: &'static str,
    pub changed: bool,
    pub nodes_before: usize,
    pub nodes_after: usize,
}

const DCE: Pass = Pass {
    name: "dead-nodes",
    description: "remove nodes whose value never reaches the output",
    run: dce::run,
};
const NO_OPS: Pass = Pass {
    name: "no-ops",
    description: "remove ops that compute the identity (p = 0 dropout, 1×1 stride-1 pooling, full slices, ×1 upsampling, flatten of [C, 1, 1])",
    run: identity::run_no_ops,
};
const EVAL_IDENTITIES: Pass = Pass {
    name: "eval-identities",
    description: "remove dropout and drop_path, which are identities at inference",
    run: identity::run_eval,
};
const CSE: Pass = Pass {
    name: "cse",
    description: "merge parameter-free ops that compute the same value from the same inputs",
    run: cse::run,
};
const CANONICAL: Pass = Pass {
    name: "canonical-sums",
    description: "order the operands of commutative sums by position in the graph",
    run: canonical::run,
};

/// Passes valid for training and inference.
pub fn structural() -> Vec<Pass> {
    vec![NO_OPS, CANONICAL, CSE, DCE]
}

/// Passes for an inference-only graph.
pub fn inference() -> Vec<Pass> {
    vec![EVAL_IDENTITIES, NO_OPS, CANONICAL, CSE, DCE]
}

/// Every pass, for lookup by name.
pub fn all() -> Vec<Pass> {
    vec![EVAL_IDENTITIES, NO_OPS, CANONICAL, CSE, DCE]
}

/// Runs a pipeline, re-verifying the graph after every pass in debug builds.
pub fn run_pipeline(graph: &mut Graph, pipeline: &[Pass]) -> Vec<PassReport> {
    let output_shape = shape_of_output(graph);
    pipeline
        .iter()
        .map(|pass| {
            let nodes_before = graph.node_count();
            let changed = (pass.run)(graph);
            if cfg!(debug_assertions) {
                let problems = ir::verify(graph);
                assert!(
                    problems.is_empty(),
                    "after pass `{}`: {problems:#?}",
                    pass.name
                );
                assert_eq!(
                    shape_of_output(graph),
                    output_shape,
                    "pass `{}` changed the output shape",
                    pass.name
                );
            }
            PassReport {
                pass: pass.name,
                changed,
                nodes_before,
                nodes_after: graph.node_count(),
            }
        })
        .collect()
}

fn shape_of_output(graph: &Graph) -> Option<ir::Shape> {
    let info = check::check(graph).ok()?;
    graph.output().and_then(|o| info.shapes.get(&o).copied())
}

/// Removes `id` after making its users read `replacement`.
fn bypass(graph: &mut Graph, id: ir::NodeId, replacement: ir::NodeId) {
    graph.replace_uses(id, replacement);
    graph.remove(id);
}
