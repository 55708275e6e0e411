//! Values of the elaboration-time language and lexical environments.

use super::resolve::{Definition, DefinitionKind};
use crate::diag::Code;
use crate::ir::NodeId;
use crate::source::Span;
use crate::syntax::ast::{TypeExpr, TypeKind};
use std::fmt;

/// A value computed during elaboration.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Int(i64),
    Float(f64),
    Bool(bool),
    /// A symbol such as `relu`, `both`, `per_channel`.
    Sym(String),
    Str(String),
    List(Vec<Value>),
    /// A tensor: the IR node that computes it.
    Tensor(NodeId),
    /// The result of an expression that already failed with a diagnostic. Operations
    /// on it yield `Poison` silently, so that one mistake gives one diagnostic.
    Poison,
}

impl Value {
    /// The name of the value's type, as shown in diagnostics.
    pub fn type_name(&self) -> String {
        match self {
            Value::Int(_) => "int".into(),
            Value::Float(_) => "float".into(),
            Value::Bool(_) => "bool".into(),
            Value::Sym(s) => format!("symbol `{s}`"),
            Value::Str(_) => "string".into(),
            Value::List(_) => "list".into(),
            Value::Tensor(_) => "tensor".into(),
            Value::Poison => "<error>".into(),
        }
    }

    pub fn is_poison(&self) -> bool {
        matches!(self, Value::Poison)
    }
}

/// The code of a value of the wrong kind: E0212 where one of the values `found` is a
/// tensor (a tensor and a number confused), E0205 otherwise.
pub(super) fn mismatch_code(found: &[&Value]) -> Code {
    if found.iter().any(|v| matches!(v, Value::Tensor(_))) {
        Code::E0212
    } else {
        Code::E0205
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Value::Int(i) => write!(f, "{i}"),
            Value::Float(x) => write!(f, "{x:?}"),
            Value::Bool(b) => write!(f, "{b}"),
            Value::Sym(s) => write!(f, "{s}"),
            Value::Str(s) => write!(f, "\"{s}\""),
            Value::List(items) => {
                write!(f, "[")?;
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        write!(f, ", ")?;
                    }
                    write!(f, "{item}")?;
                }
                write!(f, "]")
            }
            Value::Tensor(_) => write!(f, "<tensor>"),
            Value::Poison => write!(f, "<error>"),
        }
    }
}

/// A parameter type, resolved from a [`TypeExpr`].
#[derive(Clone, Debug, PartialEq)]
pub enum Ty {
    Any,
    Int,
    Float,
    Bool,
    Tensor,
    List(Box<Ty>),
    Enum(Vec<String>),
}

impl Ty {
    /// Resolves a written type; `Err` carries the unknown name.
    pub fn from_ast(ty: &TypeExpr) -> Result<Ty, (String, Span)> {
        match &ty.kind {
            TypeKind::Named(name) => match name.as_str() {
                "int" => Ok(Ty::Int),
                "float" => Ok(Ty::Float),
                "bool" => Ok(Ty::Bool),
                "tensor" => Ok(Ty::Tensor),
                _ => Err((name.clone(), ty.span)),
            },
            TypeKind::List(inner) => Ok(Ty::List(Box::new(Ty::from_ast(inner)?))),
            TypeKind::Enum(names) => Ok(Ty::Enum(names.iter().map(|n| n.name.clone()).collect())),
        }
    }

    /// Checks (and converts: int → float) a value against the type.
    pub fn coerce(&self, value: Value) -> Result<Value, Value> {
        match (self, value) {
            (_, Value::Poison) => Ok(Value::Poison),
            (Ty::Any, v) => Ok(v),
            (Ty::Int, v @ Value::Int(_)) => Ok(v),
            (Ty::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
            (Ty::Float, v @ Value::Float(_)) => Ok(v),
            (Ty::Bool, v @ Value::Bool(_)) => Ok(v),
            (Ty::Tensor, v @ Value::Tensor(_)) => Ok(v),
            (Ty::Enum(names), Value::Sym(s)) if names.contains(&s) => Ok(Value::Sym(s)),
            (Ty::List(inner), Value::List(items)) => {
                let mut out = Vec::with_capacity(items.len());
                for item in items {
                    out.push(inner.coerce(item)?);
                }
                Ok(Value::List(out))
            }
            (_, v) => Err(v),
        }
    }
}

impl fmt::Display for Ty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ty::Any => write!(f, "any value"),
            Ty::Int => write!(f, "int"),
            Ty::Float => write!(f, "float"),
            Ty::Bool => write!(f, "bool"),
            Ty::Tensor => write!(f, "tensor"),
            Ty::List(inner) => write!(f, "[{inner}]"),
            Ty::Enum(names) => write!(f, "{}", names.join(" | ")),
        }
    }
}

/// A name bound in an environment.
#[derive(Clone, Debug)]
pub struct Binding {
    pub name: String,
    pub value: Value,
    /// Where the name is defined; `None` for `in`, which no name defines.
    pub definition: Option<Definition>,
}

/// A lexical environment: a stack of frames, innermost last. Each block
/// instantiation starts a fresh environment (blocks see only their parameters).
#[derive(Clone, Debug, Default)]
pub struct Env {
    frames: Vec<Vec<Binding>>,
}

impl Env {
    pub fn new() -> Env {
        Env {
            frames: vec![Vec::new()],
        }
    }

    pub fn push(&mut self) {
        self.frames.push(Vec::new());
    }

    pub fn pop(&mut self) {
        self.frames.pop();
    }

    /// Binds (or shadows) a name in the innermost frame.
    pub fn bind(&mut self, name: &str, value: Value, definition: Definition) {
        self.push_binding(name, value, Some(definition));
    }

    /// Binds `in`, the input of a block or of a repetition.
    pub fn bind_in(&mut self, value: Value) {
        self.push_binding("in", value, None);
    }

    fn push_binding(&mut self, name: &str, value: Value, definition: Option<Definition>) {
        if let Some(frame) = self.frames.last_mut() {
            frame.push(Binding {
                name: name.to_string(),
                value,
                definition,
            });
        }
    }

    /// The number of frames: the index the next [`Env::push`] gives its frame.
    pub fn depth(&self) -> usize {
        self.frames.len()
    }

    /// The index of the frame that binds `name` (the innermost binding).
    pub fn frame_of(&self, name: &str) -> Option<usize> {
        self.frames
            .iter()
            .rposition(|frame| frame.iter().any(|b| b.name == name))
    }

    pub fn lookup(&self, name: &str) -> Option<&Binding> {
        self.frames
            .iter()
            .rev()
            .flat_map(|frame| frame.iter().rev())
            .find(|b| b.name == name)
    }

    /// Where a `let` of the innermost frame binds `name`, if one does.
    pub fn same_frame_let(&self, name: &str) -> Option<Span> {
        self.frames
            .last()?
            .iter()
            .rev()
            .find(|b| b.name == name)?
            .definition
            .as_ref()
            .filter(|d| d.kind == DefinitionKind::Let)
            .map(|d| d.name)
    }

    /// Every visible name (for "did you mean" suggestions).
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.frames
            .iter()
            .flat_map(|frame| frame.iter().map(|b| b.name.as_str()))
    }
}

/// The closest candidate to `name` by edit distance, if it is close enough to be a
/// plausible typo.
pub fn suggest<'a>(name: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.len() / 3).max(1);
    candidates
        .filter(|c| *c != name)
        .map(|c| (edit_distance(name, c), c))
        .filter(|(d, _)| *d <= limit)
        .min_by_key(|(d, c)| (*d, *c))
        .map(|(_, c)| c)
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}
