//! `train { … }`: the training recipe a network carries (the paper's optimiser, schedule,
//! epochs, batch size and augmentation), checked here with spans so that `resc check`
//! and the editor report a wrong entry before a run starts. `resc run` starts from the
//! recipe; its flags override any entry.

use super::value::{suggest, Env, Value};
use super::Elab;
use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{Arg, Call, ExprKind};

/// Other tools' names for recipe keys, suggested when written.
const ALIASES: &[(&str, &str)] = &[
    ("learning_rate", "lr"),
    ("wd", "weight_decay"),
    ("batch_size", "batch"),
    ("lr_schedule", "schedule"),
    ("scheduler", "schedule"),
    ("optimiser", "optimizer"),
    ("warmup_epochs", "warmup"),
    ("hflip", "flip"),
    ("padding", "pad"),
];

/// The words a recipe's symbols may be.
pub(super) const RECIPE_SYMBOLS: &[&str] = &[
    "sgd",
    "adam",
    "adamw",
    "constant",
    "cosine",
    "multistep",
    "epoch",
    "iteration",
    "zero",
    "reflect",
];

/// The keys of a recipe, with what each accepts (for diagnostics and the docs).
pub const RECIPE_KEYS: &[(&str, &str)] = &[
    ("optimizer", "sgd | adam | adamw"),
    ("lr", "a float ≥ 0"),
    ("momentum", "a float in [0, 1)"),
    ("nesterov", "a bool"),
    ("weight_decay", "a float ≥ 0"),
    ("schedule", "constant | cosine | multistep"),
    (
        "milestones",
        "a list of increasing ints (epochs, or iterations with `by: iteration`)",
    ),
    ("gamma", "a float > 0"),
    ("by", "epoch | iteration"),
    ("warmup", "a float ≥ 0 (epochs of linear warm-up)"),
    ("epochs", "an int ≥ 1"),
    ("batch", "an int ≥ 1"),
    ("lambda_lr", "a float ≥ 0"),
    ("decay_bn_bias", "a bool"),
    (
        "pad",
        "an int ≥ 0 (pixels of padding before the random crop)",
    ),
    ("pad_mode", "zero | reflect"),
    ("flip", "a bool (random horizontal flips)"),
    (
        "dropout",
        "a float in [0, 1) (the value `resc run` gives the network's `dropout` parameter)",
    ),
];

/// A network's training recipe: every entry the `train` statement gave.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Recipe {
    pub optimizer: Option<String>,
    pub lr: Option<f64>,
    pub momentum: Option<f64>,
    pub nesterov: Option<bool>,
    pub weight_decay: Option<f64>,
    /// `constant`, `cosine` or `multistep`.
    pub schedule: Option<String>,
    pub milestones: Option<Vec<u64>>,
    pub gamma: Option<f64>,
    /// `by: iteration`: milestones count iterations, not epochs.
    pub by_iteration: Option<bool>,
    pub warmup: Option<f64>,
    pub epochs: Option<u32>,
    pub batch: Option<usize>,
    pub lambda_lr: Option<f64>,
    pub decay_bn_bias: Option<bool>,
    pub pad: Option<usize>,
    /// `zero` or `reflect`.
    pub pad_mode: Option<String>,
    pub flip: Option<bool>,
    /// The network's `dropout` parameter for training (unless `--set` gives it).
    pub dropout: Option<f64>,
    /// The `train` statement, when there is one.
    pub span: Option<Span>,
}

impl Recipe {
    /// True when the network has no `train` statement.
    pub fn is_empty(&self) -> bool {
        self.span.is_none()
    }
}

impl Elab<'_> {
    /// Checks the entries of `train { … }` (at `span`) and records them.
    pub(super) fn train(&mut self, entries: &[Arg], span: Span, env: &Env, network_top: bool) {
        if !network_top {
            self.report(
                Diagnostic::error(
                    Code::E0215,
                    "a training recipe belongs at the top of a network",
                )
                .at(span, "`train` inside a block, stage or branch")
                .hint("move `train { … }` into the network's body"),
            );
            return;
        }
        if let Some(first) = self.recipe.span {
            self.report(
                Diagnostic::error(Code::E0207, "a network has one training recipe")
                    .at(span, "a second `train` statement")
                    .at(first, "the first one"),
            );
            return;
        }
        let mut recipe = Recipe {
            span: Some(span),
            ..Recipe::default()
        };
        let mut seen: Vec<(&str, Span)> = Vec::new();
        for entry in entries {
            let Some(key) = &entry.name else {
                self.report(
                    Diagnostic::error(Code::E0203, "a recipe entry needs a key")
                        .at(entry.span, "write `key: value`, e.g. `lr: 0.1`"),
                );
                continue;
            };
            if let Some((_, first)) = seen.iter().find(|(k, _)| *k == key.name) {
                self.report(
                    Diagnostic::error(Code::E0207, format!("`{}` is given twice", key.name))
                        .at(key.span, "given again here")
                        .at(*first, "first given here"),
                );
                continue;
            }
            seen.push((&key.name, key.span));
            let Some(&(_, expected)) = RECIPE_KEYS.iter().find(|(k, _)| *k == key.name) else {
                let mut d = Diagnostic::error(
                    Code::E0203,
                    format!("`{}` is not a training recipe key", key.name),
                )
                .at(key.span, "unknown key");
                let alias = ALIASES.iter().find(|a| a.0 == key.name).map(|a| a.1);
                d = match alias.or_else(|| suggest(&key.name, RECIPE_KEYS.iter().map(|k| k.0))) {
                    Some(s) => d.hint(format!("the closest key is `{s}`")),
                    None => d.note(format!(
                        "the keys are {}",
                        RECIPE_KEYS
                            .iter()
                            .map(|k| format!("`{}`", k.0))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )),
                };
                self.report(d);
                continue;
            };
            // A word the key does not know (`pad_mode: mirror`) is a wrong value, not an
            // unknown name.
            if let ExprKind::Call(Call {
                name, args: None, ..
            }) = &entry.value.kind
            {
                if env.lookup(&name.name).is_none() && !self.symbols.contains(&name.name) {
                    self.report(
                        Diagnostic::error(
                            Code::E0205,
                            format!("`{}` must be {expected}, found `{}`", key.name, name.name),
                        )
                        .at(entry.value.span, format!("expected {expected}")),
                    );
                    continue;
                }
            }
            if key.name == "dropout" && env.lookup("dropout").is_none() {
                self.report(
                    Diagnostic::error(
                        Code::E0203,
                        "`dropout` in a recipe sets the network's `dropout` parameter, and this network has none",
                    )
                    .at(key.span, "no parameter `dropout`")
                    .hint("declare it, e.g. `network wrn(dropout: float = 0.0)`, and use it in the blocks"),
                );
                continue;
            }
            let value = self.eval(&entry.value, env, &None);
            if value.is_poison() {
                continue;
            }
            if !recipe.set(&key.name, &value) {
                let what = format!("`{}`", key.name);
                let found = match &value {
                    Value::Sym(s) => format!("`{s}`"),
                    Value::Int(i) => i.to_string(),
                    Value::Float(f) => f.to_string(),
                    other => other.type_name(),
                };
                // A number (or list) of the right kind but out of range is E0210; a
                // value of the wrong kind, E0205.
                let numeric = ["float", "int", "list"]
                    .iter()
                    .any(|k| expected.contains(k));
                let code = match value {
                    Value::Int(_) | Value::Float(_) | Value::List(_) if numeric => Code::E0210,
                    _ => Code::E0205,
                };
                self.report(
                    Diagnostic::error(code, format!("{what} must be {expected}, found {found}"))
                        .at(entry.value.span, format!("expected {expected}")),
                );
            }
        }
        let schedule_span = || {
            entries
                .iter()
                .find(|e| e.name.as_ref().is_some_and(|n| n.name == "milestones"))
                .map_or(span, |e| e.span)
        };
        match (recipe.schedule.as_deref(), &recipe.milestones) {
            (Some("multistep"), None) => self.report(
                Diagnostic::error(Code::E0204, "a multistep schedule needs its milestones")
                    .at(span, "no `milestones`")
                    .hint("e.g. `milestones: [60, 120, 160], gamma: 0.2`"),
            ),
            (Some(other), Some(_)) if other != "multistep" => self.report(
                Diagnostic::error(
                    Code::E0203,
                    format!("`milestones` only applies to `schedule: multistep`, not `{other}`"),
                )
                .at(schedule_span(), "not used by this schedule"),
            ),
            _ => {}
        }
        self.recipe = recipe;
    }
}

impl Recipe {
    /// Records `key: value`; false when the value is not one the key accepts.
    fn set(&mut self, key: &str, value: &Value) -> bool {
        let float = |min: f64, max: f64, open_max: bool| -> Option<f64> {
            let f = match value {
                Value::Int(i) => *i as f64,
                Value::Float(f) => *f,
                _ => return None,
            };
            (f.is_finite() && f >= min && (f < max || (!open_max && f == max))).then_some(f)
        };
        let int = |min: i64| -> Option<i64> {
            match value {
                Value::Int(i) if *i >= min => Some(*i),
                _ => None,
            }
        };
        let bool = || match value {
            Value::Bool(b) => Some(*b),
            _ => None,
        };
        let sym = |allowed: &[&str]| match value {
            Value::Sym(s) if allowed.contains(&s.as_str()) => Some(s.clone()),
            _ => None,
        };
        let ok = match key {
            "optimizer" => sym(&["sgd", "adam", "adamw"]).map(|v| self.optimizer = Some(v)),
            "lr" => float(0.0, f64::INFINITY, true).map(|v| self.lr = Some(v)),
            "momentum" => float(0.0, 1.0, true).map(|v| self.momentum = Some(v)),
            "nesterov" => bool().map(|v| self.nesterov = Some(v)),
            "weight_decay" => float(0.0, f64::INFINITY, true).map(|v| self.weight_decay = Some(v)),
            "schedule" => {
                sym(&["constant", "cosine", "multistep"]).map(|v| self.schedule = Some(v))
            }
            "milestones" => match value {
                Value::List(items) => {
                    let ms: Option<Vec<u64>> = items
                        .iter()
                        .map(|v| match v {
                            Value::Int(i) if *i > 0 => Some(*i as u64),
                            _ => None,
                        })
                        .collect();
                    ms.filter(|m| m.windows(2).all(|w| w[0] < w[1]))
                        .map(|m| self.milestones = Some(m))
                }
                _ => None,
            },
            "gamma" => match float(0.0, f64::INFINITY, true) {
                Some(g) if g > 0.0 => {
                    self.gamma = Some(g);
                    Some(())
                }
                _ => None,
            },
            "by" => {
                sym(&["epoch", "iteration"]).map(|v| self.by_iteration = Some(v == "iteration"))
            }
            "warmup" => float(0.0, f64::INFINITY, true).map(|v| self.warmup = Some(v)),
            "epochs" => int(1).map(|v| self.epochs = Some(v.min(u32::MAX as i64) as u32)),
            "batch" => int(1).map(|v| self.batch = Some(v as usize)),
            "lambda_lr" => float(0.0, f64::INFINITY, true).map(|v| self.lambda_lr = Some(v)),
            "decay_bn_bias" => bool().map(|v| self.decay_bn_bias = Some(v)),
            "pad" => int(0).map(|v| self.pad = Some(v as usize)),
            "pad_mode" => sym(&["zero", "reflect"]).map(|v| self.pad_mode = Some(v)),
            "flip" => bool().map(|v| self.flip = Some(v)),
            "dropout" => float(0.0, 1.0, true).map(|v| self.dropout = Some(v)),
            _ => None,
        };
        ok.is_some()
    }
}
