//! Binding call arguments to the parameters of built-in layers, shortcut kinds and
//! functions: positional then named, typed, with defaults.

use super::value::{suggest, Value};
use super::Elab;
use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::Ident;

/// An evaluated argument.
#[derive(Clone, Debug)]
pub struct EvArg {
    pub name: Option<Ident>,
    pub value: Value,
    pub span: Span,
}

/// The type of a built-in parameter.
#[derive(Clone, Copy, Debug)]
pub enum PTy {
    Int,
    Float,
    Bool,
    /// An int, or a list of two ints (height, width).
    IntPair,
    Enum(&'static [&'static str]),
}

/// The default of a built-in parameter.
#[derive(Clone, Copy, Debug)]
pub enum Dflt {
    Required,
    /// Absent unless given; the layer computes a default from other arguments.
    Derived,
    Int(i64),
    Float(f64),
    Bool(bool),
    Sym(&'static str),
}

/// A built-in parameter.
#[derive(Clone, Copy, Debug)]
pub struct P {
    pub name: &'static str,
    pub ty: PTy,
    pub default: Dflt,
    pub doc: &'static str,
}

/// The signature of a built-in.
#[derive(Clone, Copy, Debug)]
pub struct Sig {
    pub name: &'static str,
    pub params: &'static [P],
    /// Takes any number of tensors as positional arguments before the parameters.
    pub tensors: bool,
    pub doc: &'static str,
}

/// One tensor operand of a signature that takes tensors (`add`, `concat`, `sum`).
pub struct TensorArg {
    pub value: Value,
    /// The argument that gave it: the tensor itself, or the list it is an element of.
    pub span: Span,
    /// Its index in that list, when the argument was a list of tensors (`sum(xs)`).
    pub element: Option<usize>,
}

/// Arguments bound to a signature.
pub struct Bound {
    pub sig: &'static Sig,
    values: Vec<Option<(Value, Span)>>,
    pub call_span: Span,
    /// The tensors given positionally, lists of tensors spread out (for `tensors: true`
    /// signatures).
    pub tensors: Vec<TensorArg>,
}

impl Bound {
    fn slot(&self, name: &str) -> Option<&(Value, Span)> {
        let i = self.sig.params.iter().position(|p| p.name == name)?;
        self.values[i].as_ref()
    }

    pub fn has(&self, name: &str) -> bool {
        self.slot(name).is_some()
    }

    /// The span of an argument, or of the whole call when it was defaulted.
    pub fn span(&self, name: &str) -> Span {
        self.slot(name).map_or(self.call_span, |(_, s)| *s)
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        match self.slot(name) {
            Some((Value::Int(i), _)) => Some(*i),
            _ => None,
        }
    }

    pub fn float(&self, name: &str) -> Option<f64> {
        match self.slot(name) {
            Some((Value::Float(x), _)) => Some(*x),
            Some((Value::Int(i), _)) => Some(*i as f64),
            _ => None,
        }
    }

    pub fn bool(&self, name: &str) -> Option<bool> {
        match self.slot(name) {
            Some((Value::Bool(b), _)) => Some(*b),
            _ => None,
        }
    }

    pub fn sym(&self, name: &str) -> Option<&str> {
        match self.slot(name) {
            Some((Value::Sym(s), _)) => Some(s),
            _ => None,
        }
    }

    /// An `IntPair` argument as `[i64; 2]`.
    pub fn pair(&self, name: &str) -> Option<[i64; 2]> {
        match self.slot(name) {
            Some((Value::Int(i), _)) => Some([*i, *i]),
            Some((Value::List(items), _)) => match items.as_slice() {
                [Value::Int(a), Value::Int(b)] => Some([*a, *b]),
                _ => None,
            },
            _ => None,
        }
    }
}

fn default_value(d: Dflt) -> Option<Value> {
    match d {
        Dflt::Required | Dflt::Derived => None,
        Dflt::Int(i) => Some(Value::Int(i)),
        Dflt::Float(x) => Some(Value::Float(x)),
        Dflt::Bool(b) => Some(Value::Bool(b)),
        Dflt::Sym(s) => Some(Value::Sym(s.to_string())),
    }
}

fn type_text(ty: PTy) -> String {
    match ty {
        PTy::Int => "int".into(),
        PTy::Float => "float".into(),
        PTy::Bool => "bool".into(),
        PTy::IntPair => "int or [int, int]".into(),
        PTy::Enum(names) => names.join(" | "),
    }
}

/// Checks a value against a built-in parameter type; int → float is allowed.
fn coerce(ty: PTy, value: Value) -> Result<Value, Value> {
    match (ty, value) {
        (_, Value::Poison) => Ok(Value::Poison),
        (PTy::Int, v @ Value::Int(_)) => Ok(v),
        (PTy::Float, Value::Int(i)) => Ok(Value::Float(i as f64)),
        (PTy::Float, v @ Value::Float(_)) => Ok(v),
        (PTy::Bool, v @ Value::Bool(_)) => Ok(v),
        (PTy::IntPair, v @ Value::Int(_)) => Ok(v),
        (PTy::IntPair, Value::List(items))
            if items.len() == 2 && items.iter().all(|i| matches!(i, Value::Int(_))) =>
        {
            Ok(Value::List(items))
        }
        (PTy::Enum(names), Value::Sym(s)) if names.contains(&s.as_str()) => Ok(Value::Sym(s)),
        (_, v) => Err(v),
    }
}

impl Elab<'_> {
    /// Binds arguments to a built-in signature. Returns `None` after reporting when the
    /// call cannot be bound, or when an argument is poison.
    pub(super) fn bind_builtin(
        &mut self,
        sig: &'static Sig,
        args: Vec<EvArg>,
        call_span: Span,
    ) -> Option<Bound> {
        let mut values: Vec<Option<(Value, Span)>> = vec![None; sig.params.len()];
        let mut tensors = Vec::new();
        let mut positional = 0;
        let mut ok = true;
        for arg in args {
            // A failed argument was reported where it was evaluated. It still fills its
            // parameter, so that it is not reported missing as well.
            if arg.value.is_poison() {
                ok = false;
            }
            if sig.tensors && arg.name.is_none() && positional == 0 {
                match self.tensor_operands(sig, &arg) {
                    Some(Ok(operands)) => {
                        tensors.extend(operands);
                        continue;
                    }
                    Some(Err(())) => {
                        ok = false;
                        continue;
                    }
                    None => {}
                }
            }
            let index = match &arg.name {
                None => {
                    positional += 1;
                    if positional > sig.params.len() {
                        self.report(
                            Diagnostic::error(
                                Code::E0203,
                                format!(
                                    "`{}` takes at most {} positional argument{}",
                                    sig.name,
                                    sig.params.len(),
                                    if sig.params.len() == 1 { "" } else { "s" }
                                ),
                            )
                            .at(arg.span, "surplus argument"),
                        );
                        ok = false;
                        continue;
                    }
                    positional - 1
                }
                Some(name) => match sig.params.iter().position(|p| p.name == name.name) {
                    Some(i) => i,
                    None => {
                        let mut d = Diagnostic::error(
                            Code::E0203,
                            format!("`{}` has no parameter `{}`", sig.name, name.name),
                        )
                        .at(name.span, "unknown argument")
                        .note(format!("its parameters are: {}", param_list(sig)));
                        if let Some(s) = suggest(&name.name, sig.params.iter().map(|p| p.name)) {
                            d = d.hint(format!("did you mean `{s}`?"));
                        }
                        self.report(d);
                        ok = false;
                        continue;
                    }
                },
            };
            if let Some((_, prev)) = &values[index] {
                let prev = *prev;
                self.report(
                    Diagnostic::error(
                        Code::E0207,
                        format!("the argument `{}` is given twice", sig.params[index].name),
                    )
                    .at(arg.span, "given again here")
                    .also(prev, "first given here"),
                );
                ok = false;
                continue;
            }
            let param = &sig.params[index];
            match coerce(param.ty, arg.value) {
                Ok(v) => values[index] = Some((v, arg.span)),
                Err(v) => {
                    // A value of the wrong type still fills its parameter, so that the
                    // parameter is not reported missing, and is reported given twice.
                    values[index] = Some((Value::Poison, arg.span));
                    let hint = matches!(v, Value::Tensor(_)).then(|| {
                        "a layer reads the current tensor; feed another one with `x | layer`"
                            .to_string()
                    });
                    let mut d = Diagnostic::error(
                        Code::E0205,
                        format!(
                            "`{}` of `{}` expects {}, found {}",
                            param.name,
                            sig.name,
                            type_text(param.ty),
                            v.type_name()
                        ),
                    )
                    .at(arg.span, format!("expected {}", type_text(param.ty)));
                    if let Some(h) = hint {
                        d = d.hint(h);
                    }
                    self.report(d);
                    ok = false;
                }
            }
        }
        for (i, param) in sig.params.iter().enumerate() {
            if values[i].is_none() {
                match param.default {
                    Dflt::Required => {
                        self.report(
                            Diagnostic::error(
                                Code::E0204,
                                format!("`{}` needs the argument `{}`", sig.name, param.name),
                            )
                            .at(call_span, format!("`{}` is missing", param.name))
                            .note(format!("{}: {}", param.name, param.doc)),
                        );
                        ok = false;
                    }
                    d => values[i] = default_value(d).map(|v| (v, call_span)),
                }
            }
        }
        ok.then_some(Bound {
            sig,
            values,
            call_span,
            tensors,
        })
    }

    /// The tensors a leading positional argument gives a signature that takes tensors: a
    /// tensor (or a failed value), or a list holding tensors, spread out. `None` for any
    /// other value, which then binds to a parameter; `Err` after reporting a list that
    /// mixes tensors with other values.
    fn tensor_operands(&mut self, sig: &Sig, arg: &EvArg) -> Option<Result<Vec<TensorArg>, ()>> {
        let items = match &arg.value {
            Value::Tensor(_) | Value::Poison => {
                return Some(Ok(vec![TensorArg {
                    value: arg.value.clone(),
                    span: arg.span,
                    element: None,
                }]));
            }
            // An empty list counts as a list of tensors, so that `sum([])` is reported
            // as too few tensors rather than as a wrong `weights`.
            Value::List(items)
                if items.is_empty() || items.iter().any(|v| matches!(v, Value::Tensor(_))) =>
            {
                items
            }
            _ => return None,
        };
        if let Some((i, other)) = items
            .iter()
            .enumerate()
            .find(|(_, v)| !matches!(v, Value::Tensor(_)))
        {
            self.report(
                Diagnostic::error(
                    Code::E0212,
                    format!(
                        "`{}` takes a list of tensors, found {} as element {i}",
                        sig.name,
                        other.type_name()
                    ),
                )
                .at(arg.span, format!("element {i} is not a tensor")),
            );
            return Some(Err(()));
        }
        let operands = items.iter().enumerate().map(|(i, value)| TensorArg {
            value: value.clone(),
            span: arg.span,
            element: Some(i),
        });
        Some(Ok(operands.collect()))
    }
}

/// `out, k = 3, stride = 1, …` for notes.
pub fn param_list(sig: &Sig) -> String {
    if sig.params.is_empty() {
        return "none".into();
    }
    sig.params
        .iter()
        .map(|p| match p.default {
            Dflt::Required => p.name.to_string(),
            Dflt::Derived => format!("{} (optional)", p.name),
            Dflt::Int(i) => format!("{} = {i}", p.name),
            Dflt::Float(x) => format!("{} = {x}", p.name),
            Dflt::Bool(b) => format!("{} = {b}", p.name),
            Dflt::Sym(s) => format!("{} = {s}", p.name),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
