//! The per-stage summary `resc check` prints: output shape, parameters, MACs and
//! activation memory of each stage (and of the implicit stem and head), and totals.
//! Only the nodes whose value reaches the output count ([`Graph::reaching_output`]).

use super::{Cost, Info};
use crate::ir::{Graph, Op, Shape};
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct GroupReport {
    pub name: String,
    /// True for a `stage` the user wrote; false for the implicit stem/head.
    pub is_stage: bool,
    pub output: Option<Shape>,
    pub nodes: usize,
    pub params: u64,
    pub macs: u64,
    /// Bytes of float32 activations per sample (all node outputs).
    pub activation_bytes: u64,
}

#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub network: String,
    pub input: Option<Shape>,
    pub output: Option<Shape>,
    pub groups: Vec<GroupReport>,
    pub nodes: usize,
    pub params: u64,
    pub macs: u64,
    pub activation_bytes: u64,
}

impl Report {
    pub fn new(network: &str, graph: &Graph, info: &Info) -> Report {
        let mut groups: Vec<GroupReport> = graph
            .groups
            .iter()
            .map(|g| GroupReport {
                name: g.name.clone(),
                is_stage: g.is_stage,
                output: None,
                nodes: 0,
                params: 0,
                macs: 0,
                activation_bytes: 0,
            })
            .collect();
        let mut total = Cost::default();
        let mut nodes = 0;
        // Dead nodes (whose value never reaches the output) are computed by no one:
        // their parameters, MACs and activations are not the network's.
        let live = graph.reaching_output();
        for id in graph.nodes() {
            let node = graph.node(id);
            if matches!(node.op, Op::Output) || !live.contains(&id) {
                continue;
            }
            let cost = info.costs.get(&id).copied().unwrap_or_default();
            total += cost;
            nodes += 1;
            if let Some(group) = groups.get_mut(node.group) {
                group.params = group.params.saturating_add(cost.params);
                group.macs = group.macs.saturating_add(cost.macs);
                group.activation_bytes = group
                    .activation_bytes
                    .saturating_add(cost.activations.saturating_mul(4));
                group.nodes += 1;
                group.output = info.shapes.get(&id).copied();
            }
        }
        // An implicit group holding only the output node (a network that ends with a
        // stage) has nothing to report.
        groups.retain(|g| g.is_stage || g.nodes > 0);
        let shape = |id: Option<_>| id.and_then(|id| info.shapes.get(&id).copied());
        Report {
            network: network.to_string(),
            input: shape(graph.input()),
            output: shape(graph.output()),
            groups,
            nodes,
            params: total.params,
            macs: total.macs,
            activation_bytes: total.activations.saturating_mul(4),
        }
    }

    /// The human-readable table.
    pub fn to_table(&self) -> String {
        let mut rows: Vec<[String; 5]> = vec![[
            "stage".into(),
            "output".into(),
            "params".into(),
            "MACs".into(),
            "activations".into(),
        ]];
        for g in &self.groups {
            rows.push([
                g.name.clone(),
                g.output.map_or_else(|| "-".into(), |s| s.to_string()),
                thousands(g.params),
                si(g.macs as f64, ""),
                bytes(g.activation_bytes),
            ]);
        }
        rows.push([
            "total".into(),
            self.output.map_or_else(|| "-".into(), |s| s.to_string()),
            thousands(self.params),
            si(self.macs as f64, ""),
            bytes(self.activation_bytes),
        ]);
        let widths: Vec<usize> = (0..5)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        let mut out = format!(
            "network `{}`: input {} → output {}, {} nodes\n\n",
            self.network,
            self.input.map_or_else(|| "-".into(), |s| s.to_string()),
            self.output.map_or_else(|| "-".into(), |s| s.to_string()),
            thousands(self.nodes as u64),
        );
        for (i, row) in rows.iter().enumerate() {
            if i == rows.len() - 1 {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                out.push_str(rule.join("  ").trim_end());
                out.push('\n');
            }
            let mut line = String::new();
            for (c, cell) in row.iter().enumerate() {
                let pad = widths[c] - cell.chars().count();
                if c <= 1 {
                    line.push_str(cell);
                    line.push_str(&" ".repeat(pad));
                } else {
                    line.push_str(&" ".repeat(pad));
                    line.push_str(cell);
                }
                line.push_str("  ");
            }
            out.push_str(line.trim_end());
            out.push('\n');
            if i == 0 {
                let rule: Vec<String> = widths.iter().map(|w| "─".repeat(*w)).collect();
                out.push_str(rule.join("  ").trim_end());
                out.push('\n');
            }
        }
        out.push_str(&format!(
            "\nparameters: {} ({}), MACs: {} per sample, activations: {} per sample (float32)\n",
            thousands(self.params),
            si(self.params as f64, ""),
            si(self.macs as f64, ""),
            bytes(self.activation_bytes)
        ));
        out
    }
}

/// `25557032` → `25,557,032`.
pub fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// `4.09e9` → `4.09 G`.
pub fn si(x: f64, unit: &str) -> String {
    let (value, prefix) = if x >= 1e12 {
        (x / 1e12, "T")
    } else if x >= 1e9 {
        (x / 1e9, "G")
    } else if x >= 1e6 {
        (x / 1e6, "M")
    } else if x >= 1e3 {
        (x / 1e3, "k")
    } else {
        return format!("{x:.0} {unit}").trim_end().to_string();
    };
    format!("{value:.2} {prefix}{unit}")
}

/// Bytes with binary units.
pub fn bytes(n: u64) -> String {
    let x = n as f64;
    if x >= 1024.0 * 1024.0 * 1024.0 {
        format!("{:.2} GiB", x / (1024.0 * 1024.0 * 1024.0))
    } else if x >= 1024.0 * 1024.0 {
        format!("{:.2} MiB", x / (1024.0 * 1024.0))
    } else if x >= 1024.0 {
        format!("{:.1} KiB", x / 1024.0)
    } else {
        format!("{n} B")
    }
}
