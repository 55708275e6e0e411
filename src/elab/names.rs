//! Hierarchical node names: `stage.index.residual.conv1`.
//!
//! Layers are numbered per kind within their scope from 1 (`conv1`, `conv2`, `bn1`),
//! as torchvision names them; structural levels (`residual`, `shortcut`, block
//! instances) are unnumbered the first time and numbered from the second (`residual2`).

use std::collections::{HashMap, HashSet};

struct Scope {
    prefix: String,
    counters: HashMap<String, u32>,
}

pub(super) struct Names {
    scopes: Vec<Scope>,
    used: HashSet<String>,
}

impl Names {
    pub fn new() -> Names {
        Names {
            scopes: vec![Scope {
                prefix: String::new(),
                counters: HashMap::new(),
            }],
            used: HashSet::new(),
        }
    }

    fn top(&mut self) -> &mut Scope {
        self.scopes
            .last_mut()
            .expect("the root scope is never popped")
    }

    fn join(prefix: &str, part: &str) -> String {
        if prefix.is_empty() {
            part.to_string()
        } else {
            format!("{prefix}.{part}")
        }
    }

    fn bump(&mut self, base: &str) -> u32 {
        let counter = self.top().counters.entry(base.to_string()).or_insert(0);
        *counter += 1;
        *counter
    }

    /// Opens a level named exactly `part` (a stage name, a repetition index, an alias).
    pub fn push_exact(&mut self, part: &str) {
        let prefix = Self::join(&self.top().prefix, part);
        self.scopes.push(Scope {
            prefix,
            counters: HashMap::new(),
        });
    }

    /// Opens a structural level: `base` the first time in this scope, then `base2`, ….
    pub fn push_numbered(&mut self, base: &str) {
        let n = self.bump(base);
        let part = if n == 1 {
            base.to_string()
        } else {
            format!("{base}{n}")
        };
        self.push_exact(&part);
    }

    pub fn pop(&mut self) {
        if self.scopes.len() > 1 {
            self.scopes.pop();
        }
    }

    /// The name of a new node of kind `kind`, or named `alias`; always unique.
    pub fn node_name(&mut self, kind: &str, alias: Option<&str>) -> String {
        if let Some(alias) = alias {
            let name = Self::join(&self.top().prefix, alias);
            if self.used.insert(name.clone()) {
                return name;
            }
        }
        loop {
            let n = self.bump(kind);
            let name = Self::join(&self.top().prefix, &format!("{kind}{n}"));
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }
}
