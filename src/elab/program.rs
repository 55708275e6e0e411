//! The input of elaboration: every parsed file of a compilation, how imports resolve,
//! and the command-line overrides.

use super::resolve::{Definition, DefinitionKind};
use super::value::{Ty, Value};
use super::Elab;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};
use crate::syntax::ast::{self, Def};
use std::collections::HashMap;

/// The parsed files of one compilation. Loading (reading files, resolving import
/// paths) is the driver's business; elaboration only reads this.
#[derive(Clone, Debug, Default)]
pub struct Program {
    pub files: Vec<ast::File>,
    /// The file whose network is compiled.
    pub main: FileId,
    /// `(importing file, item index of the import)` → imported file.
    pub imports: HashMap<(FileId, usize), FileId>,
}

impl Program {
    pub fn file(&self, id: FileId) -> Option<&ast::File> {
        self.files.iter().find(|f| f.file == id)
    }

    /// The main file. A `Program` is always built with its main file parsed.
    pub fn main_file(&self) -> &ast::File {
        self.file(self.main)
            .expect("a Program always contains its main file")
    }
}

/// A `--set name=value` override. The spans point into the synthetic
/// `<command line>` source file that holds the override text.
#[derive(Clone, Debug)]
pub struct Override {
    pub name: String,
    pub value: String,
    pub name_span: Span,
    pub value_span: Span,
}

impl Elab<'_> {
    /// Checks overrides against the network's parameters and parses their values.
    pub(super) fn apply_overrides(
        &mut self,
        def: &Def,
        overrides: &[Override],
    ) -> HashMap<String, (Value, Span)> {
        let mut out = HashMap::new();
        for o in overrides {
            let Some(param) = def.params.iter().find(|p| p.name.name == o.name) else {
                let names: Vec<&str> = def.params.iter().map(|p| p.name.name.as_str()).collect();
                let mut d = Diagnostic::error(
                    Code::E0209,
                    format!(
                        "the network `{}` has no parameter `{}`",
                        def.name.name, o.name
                    ),
                )
                .at(o.name_span, "unknown parameter")
                .also(def.name.span, "network defined here")
                .note(format!(
                    "its parameters are: {}",
                    if names.is_empty() {
                        "none".to_string()
                    } else {
                        names.join(", ")
                    }
                ));
                if let Some(s) = super::value::suggest(&o.name, names.iter().copied()) {
                    d = d.hint(format!("did you mean `{s}`?"));
                }
                self.report(d);
                continue;
            };
            let definition = Definition::of(&param.name, DefinitionKind::Param);
            self.resolutions.record(o.name_span, definition);
            let Some(value) = parse_override_value(o.value.trim(), 0) else {
                let mut d =
                    Diagnostic::error(Code::E0209, format!("cannot read `{}` as a value", o.value))
                        .at(o.value_span, "not a number, boolean, name or list")
                        .hint(
                            "write e.g. `--set depth=28`, `--set dropout=0.3`, `--set fusion=both`",
                        );
                if o.value.matches('[').count() > MAX_LIST_DEPTH {
                    d = d.note(format!("lists nest at most {MAX_LIST_DEPTH} deep"));
                }
                self.report(d);
                continue;
            };
            let ty = param
                .ty
                .as_ref()
                .and_then(|t| Ty::from_ast(t).ok())
                .unwrap_or(Ty::Any);
            match ty.coerce(value) {
                Ok(v) => {
                    out.insert(o.name.clone(), (v, o.value_span));
                }
                Err(v) => self.report(
                    Diagnostic::error(
                        Code::E0209,
                        format!("`{}` expects {ty}, found {}", o.name, v.type_name()),
                    )
                    .at(o.value_span, format!("expected {ty}"))
                    .also(param.span, "parameter declared here"),
                ),
            }
        }
        out
    }
}

/// How deeply lists may nest in a `--set` value: reading one recurses once per level,
/// and a value of many thousand `[` (a recipe file has no argument-length limit) would
/// overflow the stack.
const MAX_LIST_DEPTH: usize = 32;

/// Reads a command-line value at list nesting `depth`: an int, a float, `true`/`false`,
/// a symbol, or a list.
fn parse_override_value(text: &str, depth: usize) -> Option<Value> {
    if let Some(inner) = text.strip_prefix('[').and_then(|t| t.strip_suffix(']')) {
        if depth >= MAX_LIST_DEPTH {
            return None;
        }
        if inner.trim().is_empty() {
            return Some(Value::List(Vec::new()));
        }
        return inner
            .split(',')
            .map(|item| parse_override_value(item.trim(), depth + 1))
            .collect::<Option<Vec<_>>>()
            .map(Value::List);
    }
    let plain = text.replace('_', "");
    if let Ok(i) = plain.parse::<i64>() {
        return Some(Value::Int(i));
    }
    if plain
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_digit() || c == '-' || c == '.')
    {
        return plain
            .parse::<f64>()
            .ok()
            .filter(|x| x.is_finite())
            .map(Value::Float);
    }
    match text {
        "true" => Some(Value::Bool(true)),
        "false" => Some(Value::Bool(false)),
        _ if text.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && text
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_') =>
        {
            Some(Value::Sym(text.to_string()))
        }
        _ => None,
    }
}
