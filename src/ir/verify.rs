//! The IR verifier: checks the invariants stated in the module docs. It never changes
//! the graph. A failure is a bug in resc, not in the user's model, so it returns plain
//! messages rather than diagnostics.

use super::{Graph, Op};
use std::collections::HashSet;

/// Returns every broken invariant (empty when the graph is well formed).
pub fn verify(graph: &Graph) -> Vec<String> {
    let mut problems = Vec::new();
    if !graph.is_acyclic() {
        problems.push("the graph has a cycle".to_string());
    }
    let inputs = graph
        .nodes()
        .filter(|&n| matches!(graph.node(n).op, Op::Input { .. }))
        .count();
    let outputs = graph
        .nodes()
        .filter(|&n| matches!(graph.node(n).op, Op::Output))
        .count();
    if inputs != 1 {
        problems.push(format!("expected one input node, found {inputs}"));
    }
    if outputs != 1 {
        problems.push(format!("expected one output node, found {outputs}"));
    }
    let mut names = HashSet::new();
    let mut seen = HashSet::new();
    for id in graph.nodes() {
        let node = graph.node(id);
        let ins = graph.inputs(id);
        let (min, max) = node.op.arity();
        if ins.len() < min || ins.len() > max {
            problems.push(format!(
                "`{}` ({}) has {} inputs, its op takes {min} to {max}",
                node.name,
                node.op.kind_name(),
                ins.len()
            ));
        }
        if let Some(&late) = ins.iter().find(|i| !seen.contains(*i)) {
            problems.push(format!(
                "`{}` reads `{}`, which comes later in the node order",
                node.name,
                graph.node(late).name
            ));
        }
        if node.group >= graph.groups.len() {
            problems.push(format!("`{}` belongs to no group", node.name));
        }
        if !names.insert(node.name.as_str()) {
            problems.push(format!("the name `{}` is used twice", node.name));
        }
        seen.insert(id);
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ir::{Group, Node};
    use crate::source::Span;

    fn node(op: Op, name: &str) -> Node {
        Node {
            op,
            name: name.to_string(),
            span: Span::default(),
            trace: Vec::new(),
            group: 0,
        }
    }

    fn graph() -> Graph {
        let mut g = Graph::new();
        g.groups.push(Group {
            name: "all".into(),
            span: Span::default(),
            is_stage: false,
        });
        g
    }

    #[test]
    fn a_well_formed_graph_passes() {
        let mut g = graph();
        let x = g.add(node(Op::Input { shape: [3, 8, 8] }, "input"), &[]);
        let r = g.add(node(Op::Relu, "relu1"), &[x]);
        let a = g.add(node(Op::Add, "add1"), &[x, r]);
        g.add(node(Op::Output, "output"), &[a]);
        assert_eq!(verify(&g), Vec::<String>::new());
    }

    #[test]
    fn broken_invariants_are_reported() {
        let mut g = graph();
        let x = g.add(node(Op::Input { shape: [3, 8, 8] }, "input"), &[]);
        // An add with one input, a duplicate name, a node outside every group, no output.
        g.add(node(Op::Add, "add1"), &[x]);
        g.add(node(Op::Relu, "add1"), &[x]);
        let mut stray = node(Op::Relu, "relu9");
        stray.group = 7;
        g.add(stray, &[x]);
        let problems = verify(&g);
        assert!(
            problems
                .iter()
                .any(|p| p.contains("expected one output node, found 0")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`add1` (add) has 1 inputs")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("the name `add1` is used twice")),
            "{problems:?}"
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("`relu9` belongs to no group")),
            "{problems:?}"
        );
    }
}
