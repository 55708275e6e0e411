//! The IR: a directed acyclic graph of [`Op`]s (petgraph `StableDiGraph`), each node
//! with its hierarchical name, the span it came from and the template trace.
//!
//! Invariants (checked by [`verify`]): the graph is acyclic; there is exactly one
//! `Input` and one `Output` node; every node's inputs are ordered by port 0..n and
//! match its op's arity; node names are unique. Other modules reach petgraph only
//! through this module's API.

mod dump;
mod op;
mod shape;
mod verify;

pub use dump::{describe, dump};
pub use op::{ConvInit, Op, SumNorm, SumWeights};
pub use shape::{infer_shape, Shape, ShapeError, OVERFLOW_HINT};
pub use verify::verify;

use crate::diag::TraceFrame;
use crate::source::Span;
use petgraph::stable_graph::{NodeIndex, StableDiGraph};
use petgraph::visit::EdgeRef;
use petgraph::Direction;
use std::collections::HashSet;

/// A node handle.
pub type NodeId = NodeIndex<u32>;

#[derive(Clone, Debug)]
pub struct Node {
    pub op: Op,
    /// Hierarchical, dot-separated name derived from the source (`conv3.2.residual.conv1`).
    pub name: String,
    /// The source text that produced this node.
    pub span: Span,
    /// Instantiation sites through which this node was produced, innermost first.
    pub trace: Vec<TraceFrame>,
    /// The group (stage, or the implicit stem/head) the node belongs to.
    pub group: usize,
}

/// The input index of an edge's target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Edge {
    pub port: u32,
}

/// A named part of the network for per-stage reports: a `stage`, or the implicit
/// `stem` (before the first stage) and `head` (after a stage).
#[derive(Clone, Debug)]
pub struct Group {
    pub name: String,
    pub span: Span,
    /// True for a `stage` the user wrote.
    pub is_stage: bool,
}

#[derive(Clone, Debug, Default)]
pub struct Graph {
    graph: StableDiGraph<Node, Edge>,
    pub groups: Vec<Group>,
    /// Nodes in insertion order (which is a topological order after elaboration).
    order: Vec<NodeId>,
}

impl Graph {
    pub fn new() -> Graph {
        Graph::default()
    }

    /// Adds a node reading `inputs` (port i reads `inputs[i]`).
    pub fn add(&mut self, node: Node, inputs: &[NodeId]) -> NodeId {
        let id = self.graph.add_node(node);
        for (port, &input) in inputs.iter().enumerate() {
            self.graph.add_edge(input, id, Edge { port: port as u32 });
        }
        self.order.push(id);
        id
    }

    pub fn node(&self, id: NodeId) -> &Node {
        &self.graph[id]
    }

    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.graph[id]
    }

    pub fn contains(&self, id: NodeId) -> bool {
        self.graph.contains_node(id)
    }

    pub fn node_count(&self) -> usize {
        self.graph.node_count()
    }

    /// The nodes `id` reads, ordered by port.
    pub fn inputs(&self, id: NodeId) -> Vec<NodeId> {
        let mut edges: Vec<(u32, NodeId)> = self
            .graph
            .edges_directed(id, Direction::Incoming)
            .map(|e| (e.weight().port, e.source()))
            .collect();
        edges.sort_unstable_by_key(|&(port, _)| port);
        edges.into_iter().map(|(_, n)| n).collect()
    }

    /// The nodes that read `id`, in insertion order.
    pub fn users(&self, id: NodeId) -> Vec<NodeId> {
        let mut users: Vec<NodeId> = self
            .graph
            .neighbors_directed(id, Direction::Outgoing)
            .collect();
        users.sort_unstable();
        users.dedup();
        users
    }

    /// All live nodes in a topological order (insertion order, which elaboration
    /// guarantees is topological; passes that add nodes keep it so).
    pub fn nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.order
            .iter()
            .copied()
            .filter(|&id| self.graph.contains_node(id))
    }

    /// Removes a node and its edges.
    pub fn remove(&mut self, id: NodeId) {
        self.graph.remove_node(id);
    }

    /// Makes every user of `old` read `new` instead (keeping ports).
    pub fn replace_uses(&mut self, old: NodeId, new: NodeId) {
        let uses: Vec<(NodeId, u32)> = self
            .graph
            .edges_directed(old, Direction::Outgoing)
            .map(|e| (e.target(), e.weight().port))
            .collect();
        for (user, port) in uses {
            if let Some(edge) = self.graph.find_edge(old, user) {
                self.graph.remove_edge(edge);
            }
            self.graph.add_edge(new, user, Edge { port });
        }
    }

    /// Replaces the inputs of `id` (ports 0..n in the given order).
    pub fn set_inputs(&mut self, id: NodeId, inputs: &[NodeId]) {
        let old: Vec<_> = self
            .graph
            .edges_directed(id, Direction::Incoming)
            .map(|e| e.id())
            .collect();
        for edge in old {
            self.graph.remove_edge(edge);
        }
        for (port, &input) in inputs.iter().enumerate() {
            self.graph.add_edge(input, id, Edge { port: port as u32 });
        }
    }

    /// The unique `Input` node, if any.
    pub fn input(&self) -> Option<NodeId> {
        self.nodes()
            .find(|&id| matches!(self.node(id).op, Op::Input { .. }))
    }

    /// The unique `Output` node, if any.
    pub fn output(&self) -> Option<NodeId> {
        self.nodes()
            .find(|&id| matches!(self.node(id).op, Op::Output))
    }

    /// The nodes that matter: the output, every node whose value reaches it, and the
    /// input (which the IR always keeps, even when the output does not read it). The
    /// others are dead: cost reports do not count them, lowering builds no layer for
    /// them, and the `dead-nodes` pass removes them. Without an output nothing can be
    /// called dead, and every node is returned.
    pub fn reaching_output(&self) -> HashSet<NodeId> {
        let Some(output) = self.output() else {
            return self.nodes().collect();
        };
        let mut live: HashSet<NodeId> = self.input().into_iter().collect();
        let mut stack = vec![output];
        while let Some(id) = stack.pop() {
            if live.insert(id) {
                stack.extend(self.graph.neighbors_directed(id, Direction::Incoming));
            }
        }
        live
    }

    /// True when the graph has no cycle. Uses petgraph's topological sort, which keeps
    /// its stack on the heap: `is_cyclic_directed` recurses once per node of a chain and
    /// overflows the stack on deep graphs (`repeat 100000 relu`).
    pub fn is_acyclic(&self) -> bool {
        petgraph::algo::toposort(&self.graph, None).is_ok()
    }
}
