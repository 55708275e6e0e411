//! Values of several tensors: blocks that return a list (`[high, low]` as the last
//! statement of their body), `let [a, b] = …` destructuring, and the error of a list
//! read where one tensor is expected (E0218).
//!
//! Rule: a list of tensors is an ordinary [`Value::List`]; a statement whose value is
//! one makes it the current value, so it becomes a block's result, and only a layer, a
//! pipe, a residual or the network's output that reads it as one tensor is an error.
//! The shapes of such values are kept in [`ListShapes`] for tools.

use super::resolve::{Definition, DefinitionKind};
use super::value::{Env, Value};
use super::Elab;
use crate::diag::{Code, Diagnostic};
use crate::ir::{NodeId, Shape};
use crate::source::{FileId, Span};
use crate::syntax::ast::{Expr, Ident};
use std::collections::{BTreeMap, HashMap};

/// The shapes of values that hold several tensors, by source span, for tools (the
/// language server's hovers and inlay hints): each name a `let [a, b] = …` bound to a
/// tensor, and each statement whose value is a list of tensors. A statement in a block
/// or a `repeat` is elaborated many times; the first elaboration stands, as in
/// [`super::Resolutions`]. Iterates in span order.
#[derive(Clone, Debug, Default)]
pub struct ListShapes {
    names: BTreeMap<(FileId, u32, u32), Shape>,
    statements: BTreeMap<(FileId, u32, u32), Vec<Shape>>,
}

fn key(span: Span) -> (FileId, u32, u32) {
    (span.file, span.start, span.end)
}

fn span_of(&(file, start, end): &(FileId, u32, u32)) -> Span {
    Span { file, start, end }
}

impl ListShapes {
    /// Every destructured name bound to a tensor (the span of the name), with its shape.
    pub fn names(&self) -> impl Iterator<Item = (Span, Shape)> + '_ {
        self.names.iter().map(|(k, s)| (span_of(k), *s))
    }

    /// Every statement whose value is a list of tensors, with their shapes in order.
    pub fn statements(&self) -> impl Iterator<Item = (Span, &[Shape])> + '_ {
        self.statements
            .iter()
            .map(|(k, s)| (span_of(k), s.as_slice()))
    }
}

/// What the block calls returned, for naming the block in E0218: each list result of a
/// block instance, by its tensors.
#[derive(Debug, Default)]
pub(super) struct ListOrigins {
    by_tensors: HashMap<Vec<NodeId>, String>,
}

/// The tensors of a list that holds only tensors (at least one); `None` otherwise.
pub(super) fn tensor_list(value: &Value) -> Option<Vec<NodeId>> {
    let Value::List(items) = value else {
        return None;
    };
    let ids: Option<Vec<NodeId>> = items
        .iter()
        .map(|v| match v {
            Value::Tensor(id) => Some(*id),
            _ => None,
        })
        .collect();
    ids.filter(|ids| !ids.is_empty())
}

/// `let [y0, y1] = block(…)` for a list of `n` values from `call` (`…` for arguments).
fn destructure_example(n: usize, call: &str) -> String {
    let names: Vec<String> = (0..n.min(4)).map(|i| format!("y{i}")).collect();
    let more = if n > 4 { ", …" } else { "" };
    format!("let [{}{more}] = {call}", names.join(", "))
}

impl Elab<'_> {
    /// Records that block `name` returned `value` (kept when it is a list of tensors).
    pub(super) fn record_block_result(&mut self, name: &str, value: &Value) {
        if let Some(ids) = tensor_list(value) {
            self.list_origins.by_tensors.insert(ids, name.to_string());
        }
    }

    /// Records the shapes of a statement's value when it is a list of tensors.
    pub(super) fn record_list_statement(&mut self, span: Span, value: &Value) {
        let Some(ids) = tensor_list(value) else {
            return;
        };
        let shapes: Option<Vec<Shape>> =
            ids.iter().map(|id| self.shapes.get(id).copied()).collect();
        if let Some(shapes) = shapes {
            self.list_shapes
                .statements
                .entry(key(span))
                .or_insert(shapes);
        }
    }

    /// What a list of tensors is, for diagnostics: "block `f` returns 2 tensors" or
    /// "a list of 2 tensors"; and the block's name, when a block returned it.
    fn describe_list(&self, ids: &[NodeId]) -> (String, Option<String>) {
        match self.list_origins.by_tensors.get(ids) {
            Some(block) => (
                format!("block `{block}` returns {} tensors", ids.len()),
                Some(block.clone()),
            ),
            None => (format!("a list of {} tensors", ids.len()), None),
        }
    }

    /// Passes a value read as one tensor on; a list of tensors is reported (E0218) at
    /// `span`, where `reader` ("`conv` reads one tensor") says who reads it, and
    /// becomes `Poison`. Other values are the caller's to check.
    pub(super) fn one_tensor(&mut self, value: Value, span: Span, reader: &str) -> Value {
        let Some(ids) = tensor_list(&value) else {
            return value;
        };
        let (what, block) = self.describe_list(&ids);
        let hint = match block {
            Some(block) => format!(
                "take the result apart and pass one tensor on: `{}(…)`",
                destructure_example(ids.len(), &block)
            ),
            None => format!(
                "take one (`xs[0]`), name each (`{}`), or combine them with `sum`, `add` or `concat`",
                destructure_example(ids.len(), "xs")
            ),
        };
        self.report(
            Diagnostic::error(Code::E0218, format!("{what}, but {reader}"))
                .at(span, format!("{} tensors where one is expected", ids.len()))
                .hint(hint),
        );
        Value::Poison
    }

    /// `let [a, b] = value`: binds each element of a list to its name; `_` ignores one.
    pub(super) fn let_list(
        &mut self,
        names: &[Ident],
        pattern: Span,
        value: &Expr,
        stmt: Span,
        env: &mut Env,
        cur: &Option<Value>,
    ) {
        let v = self.eval(value, env, cur);
        self.record_list_statement(stmt, &v);
        let items = match v {
            Value::List(items) if items.len() == names.len() => items,
            Value::Poison => vec![Value::Poison; names.len()],
            other => {
                self.destructure_error(names, pattern, value.span, &other);
                vec![Value::Poison; names.len()]
            }
        };
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for (name, item) in names.iter().zip(items) {
            if name.name == "_" {
                continue;
            }
            if let Some(&first) = seen.get(name.name.as_str()) {
                self.report(
                    Diagnostic::error(
                        Code::E0207,
                        format!("`{}` is named twice in one `let [ … ]`", name.name),
                    )
                    .at(name.span, "named again here")
                    .also(first, "first named here")
                    .hint("give each element its own name, or `_` for one that is not needed"),
                );
                continue;
            }
            seen.insert(&name.name, name.span);
            self.record_let(name, name.span, &item, env, false);
            if let Some(shape) = self.shape_of(&item) {
                self.list_shapes
                    .names
                    .entry(key(name.span))
                    .or_insert(shape);
            }
            env.bind(&name.name, item, Definition::of(name, DefinitionKind::Let));
        }
    }

    /// E0217: the value of `let [ … ] = value` is not a list of as many elements.
    fn destructure_error(&mut self, names: &[Ident], pattern: Span, at: Span, value: &Value) {
        let n = names.len();
        let plural = |k: usize, what: &str| format!("{k} {what}{}", if k == 1 { "" } else { "s" });
        let d = match value {
            Value::List(items) => {
                let what = match tensor_list(value) {
                    Some(ids) => self.describe_list(&ids).0,
                    None => format!("the list has {}", plural(items.len(), "element")),
                };
                let hint = if n < items.len() {
                    let mut all: Vec<&str> = names.iter().map(|i| i.name.as_str()).collect();
                    all.resize(items.len(), "_");
                    format!(
                        "name every element, `_` for one that is not needed: `let [{}] = …`",
                        all.join(", ")
                    )
                } else {
                    format!("remove {}", plural(n - items.len(), "name"))
                };
                Diagnostic::error(
                    Code::E0217,
                    format!("`let [ … ]` names {}, but {what}", plural(n, "value")),
                )
                .at(pattern, plural(n, "name"))
                .also(at, plural(items.len(), "value"))
                .hint(hint)
            }
            other => {
                let mut d = Diagnostic::error(
                    Code::E0217,
                    format!(
                        "`let [ … ]` takes a list apart, but the value is {}",
                        with_article(&other.type_name())
                    ),
                )
                .at(at, "not a list")
                .also(pattern, plural(n, "name"));
                if matches!(other, Value::Tensor(_)) {
                    d = d.hint("`let name = …` names one tensor; a block returns several when its body ends in a list, `[a, b]`");
                }
                d
            }
        };
        self.report(d);
    }
}

/// "a tensor", "an int", "symbol `x`".
fn with_article(type_name: &str) -> String {
    if type_name.starts_with("symbol") {
        return format!("the {type_name}");
    }
    let article = if type_name.starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!("{article} {type_name}")
}
