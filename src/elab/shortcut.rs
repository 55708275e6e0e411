//! Residual statements and the shortcut kinds of ARCHITECTURES.md: identity, zero-pad
//! (option A), projection, max-pool projection (iResNet), weighted (learned λ), dense
//! (DSNet, stage-wide), and the CSP wrapping of blocks.

use super::args::{Bound, Dflt, EvArg, PTy, Sig};
use super::value::{Env, Value};
use super::Elab;
use crate::diag::{Code, Diagnostic};
use crate::ir::{ConvInit, Op, Shape};
use crate::source::Span;
use crate::syntax::ast::{Arg, Body, Call, Expr, ShortcutClause, ShortcutKind};

use super::layers::{p, sig};

/// Symbols used by the shortcut kinds and `csp`.
pub(super) const SHORTCUT_SYMBOLS: &[&str] =
    &["both", "end", "first", "last", "leaky_relu", "relu", "none"];

/// The shortcut kinds that can follow `shortcut`.
pub(super) static SHORTCUTS: &[Sig] = &[
    sig("identity", &[], "y = F(x) + x. Needs F(x) to have x's shape."),
    sig("zeropad", &[
        p("mode", PTy::Enum(&["both", "end"]), Dflt::Sym("both"), "where the zero channels go: split before and after (both), or after (end)"),
    ], "Option A (He et al. 2015): subsample x with the residual's stride and pad the new channels with zeros. No parameters."),
    sig("projection", &[
        p("bn", PTy::Bool, Dflt::Bool(true), "follow the 1×1 conv with BN (false in pre-activation/WRN code)"),
        p("init", PTy::Enum(super::layers::INITS), Dflt::Sym("default"), "initialisation of the 1×1 conv"),
    ], "Option B: a strided 1×1 conv (+ BN) to the residual's shape."),
    sig("maxpool_projection", &[
        p("bn", PTy::Bool, Dflt::Bool(true), "follow the 1×1 conv with BN"),
        p("init", PTy::Enum(super::layers::INITS), Dflt::Sym("default"), "initialisation of the 1×1 conv"),
    ], "iResNet's improved projection: 3×3 max-pool with the stride (padding 1), then a 1×1 conv (stride 1) + BN for the channels."),
    sig("weighted", &[
        p("init", PTy::Float, Dflt::Float(0.0), "initial λ"),
        p("lr", PTy::Float, Dflt::Float(0.001), "λ's own learning rate"),
        p("bounded", PTy::Bool, Dflt::Bool(true), "project λ into (−1, 1) after every step"),
    ], "Weighted residual (Shen et al.): y = x + λ·F(x), λ one learned scalar, initialised to 0, with its own learning rate, projected into (−1, 1)."),
];

/// `with shortcut dense` on a stage.
pub(super) static DENSE: Sig = sig("dense", &[
    p("init", PTy::Float, Dflt::Float(1.0), "initial value of the per-channel weights α"),
], "DSNet's dense normalised shortcut: each unit of the stage adds Σ α ⊙ BN(x_i) over the earlier feature maps of the stage (BN without affine, α per channel).");

/// The arguments of `csp(…)`.
pub(super) static CSP: Sig = sig("csp", &[
    p("split", PTy::Float, Dflt::Float(0.5), "fraction of the channels that goes through the blocks"),
    p("fusion", PTy::Enum(&["first", "last", "both"]), Dflt::Sym("both"), "first: concat then transition; last: transition on the block path then concat; both"),
    p("out", PTy::Int, Dflt::Derived, "output channels of the final transition (default: the input's)"),
    p("act", PTy::Enum(&["relu", "leaky_relu", "none"]), Dflt::Sym("relu"), "activation after each transition's BN"),
], "Cross-stage partial connection (CSPNet): split the channels, run the blocks on one part, fuse with 1×1 transitions.");

/// The documentation of the shortcut kinds, then `dense` and `csp` (for hover and
/// completion in the language server).
pub fn shortcut_docs() -> Vec<super::LayerDoc> {
    SHORTCUTS
        .iter()
        .chain([&DENSE, &CSP])
        .map(super::layers::sig_doc)
        .collect()
}

/// Where a residual branch gets its value from, for messages.
struct Branch {
    value: Value,
    span: Span,
}

impl<'a> Elab<'a> {
    /// Evaluates a `from` clause, or takes the current tensor.
    fn branch_input(
        &mut self,
        from: Option<&Expr>,
        env: &Env,
        cur: &Option<Value>,
        span: Span,
    ) -> Value {
        let reader = "a residual branch reads one tensor";
        match from {
            Some(e) => match self.eval(e, env, cur) {
                v @ (Value::Tensor(_) | Value::Poison) => v,
                v @ Value::List(_) if super::multi::tensor_list(&v).is_some() => {
                    self.one_tensor(v, e.span, reader)
                }
                other => {
                    self.type_error(e.span, "`from`", "a tensor", &other);
                    Value::Poison
                }
            },
            None => match cur {
                Some(v) => self.one_tensor(v.clone(), span, reader),
                None => {
                    self.report(
                        Diagnostic::error(
                            Code::E0215,
                            "a residual needs an input tensor, but there is none yet",
                        )
                        .at(span, "nothing to read")
                        .hint("declare the network input first: `input [C, H, W]`"),
                    );
                    Value::Poison
                }
            },
        }
    }

    /// `residual [from T] { F } [shortcut …]`.
    pub(super) fn residual(
        &mut self,
        from: Option<&Expr>,
        body: &Body,
        clause: Option<&ShortcutClause>,
        span: Span,
        env: &mut Env,
        cur: Option<Value>,
    ) -> Option<Value> {
        let x = self.branch_input(from, env, &cur, span);
        self.names.push_numbered("residual");
        self.residual_depth += 1;
        let r = self
            .body(body, env, Some(x.clone()), false)
            .unwrap_or(Value::Poison);
        self.residual_depth -= 1;
        self.names.pop();
        let r_span = body.stmts.last().map_or(body.span, |s| s.span);
        let residual = Branch {
            value: r,
            span: r_span,
        };
        // Without a clause, the implicit identity shortcut is shown at the keyword.
        let keyword_end = (span.start as usize + "residual".len()).min(span.end as usize);
        let keyword = Span::new(span.file, span.start as usize..keyword_end);
        let shortcut = Branch {
            value: x,
            span: clause.map_or(keyword, |c| c.span),
        };
        let dense_here = self
            .dense
            .as_ref()
            .is_some_and(|d| d.residual_depth == self.residual_depth + 1);
        if dense_here {
            if let Some(out) = self.dense_merge(&residual, &shortcut, span) {
                return Some(out);
            }
        }
        Some(self.merge(residual, shortcut, clause, span, env, &cur))
    }

    /// Applies the shortcut clause and adds the two branches.
    fn merge(
        &mut self,
        residual: Branch,
        shortcut: Branch,
        clause: Option<&ShortcutClause>,
        span: Span,
        env: &Env,
        cur: &Option<Value>,
    ) -> Value {
        let Some(r_shape) = self.shape_of(&residual.value) else {
            return Value::Poison;
        };
        let kinds: Vec<&ShortcutKind> = match clause {
            Some(c) => std::iter::once(&c.first).chain(c.second.as_ref()).collect(),
            None => Vec::new(),
        };
        // Each kind reads its own `from`, or the residual's input.
        let mut options: Vec<(&Call, Bound, Value, Shape)> = Vec::new();
        for kind in &kinds {
            let call = &kind.call;
            let Some(sig) = SHORTCUTS.iter().find(|s| s.name == call.name.name) else {
                self.unknown_shortcut(call);
                return Value::Poison;
            };
            let args = self.eval_args(call, env, cur);
            let Some(bound) = self.bind_builtin(sig, args, call.span) else {
                return Value::Poison;
            };
            let input = match &kind.from {
                Some(e) => self.branch_input(Some(e), env, cur, kind.span),
                None => shortcut.value.clone(),
            };
            let Some(shape) = self.shape_of(&input) else {
                return Value::Poison;
            };
            options.push((call, bound, input, shape));
        }
        let Some(x_shape) = self.shape_of(&shortcut.value) else {
            return Value::Poison;
        };
        // Without a clause the shortcut is the identity.
        if options.is_empty() && x_shape == r_shape {
            return self.add_node(Op::Add, &[residual.value, shortcut.value], span, None);
        }
        let chosen = options
            .iter()
            .position(|(_, b, _, shape)| fits(b.sig.name, *shape, r_shape));
        let Some(chosen) = chosen else {
            let shown = options.first().map_or(x_shape, |o| o.3);
            let kinds: Vec<(&Call, &Bound)> = options.iter().map(|(c, b, _, _)| (*c, b)).collect();
            self.merge_mismatch(&residual, &shortcut, r_shape, shown, &kinds, span);
            // The residual branch has the shape the user meant the sum to have, so the
            // layers after the merge are still checked against it.
            return residual.value;
        };
        let (call, bound, input, in_shape) = options.swap_remove(chosen);
        self.names.push_numbered("shortcut");
        let s = self.shortcut_path(&bound, input, in_shape, r_shape, call.span);
        self.names.pop();
        if bound.sig.name == "weighted" {
            let op = Op::Scale {
                init: bound.float("init").unwrap_or(0.0),
                lr: bound.float("lr").unwrap_or(0.001),
                bounded: bound.bool("bounded").unwrap_or(true),
            };
            let scaled = self.add_node(op, &[residual.value], call.span, Some("lambda"));
            return self.add_node(Op::Add, &[scaled, s], span, None);
        }
        self.add_node(Op::Add, &[residual.value, s], span, None)
    }

    /// The layers of one shortcut kind, applied to `x`.
    fn shortcut_path(
        &mut self,
        b: &Bound,
        x: Value,
        x_shape: Shape,
        r_shape: Shape,
        span: Span,
    ) -> Value {
        if x_shape == r_shape && b.sig.name != "projection" {
            return x;
        }
        let stride = derive_stride(x_shape, r_shape).unwrap_or(1);
        let init = match b.sym("init") {
            Some("msra") => ConvInit::MsraFanOut,
            Some("msra_fan_in") => ConvInit::MsraFanIn,
            _ => ConvInit::Default,
        };
        match b.sig.name {
            "zeropad" => {
                let extra = r_shape.c - x_shape.c;
                let before = if b.sym("mode") == Some("end") {
                    0
                } else {
                    extra / 2
                };
                let op = Op::ZeroPad {
                    stride,
                    pad_before: before,
                    pad_after: extra - before,
                };
                self.add_node(op, &[x], span, None)
            }
            "projection" => {
                let conv = self.add_node(conv1x1(r_shape.c, stride, init), &[x], span, None);
                self.maybe_bn(b, conv, span)
            }
            "maxpool_projection" => {
                let mut v = x;
                if stride > 1 {
                    let pool = Op::MaxPool {
                        kernel: [3, 3],
                        stride: [stride, stride],
                        padding: [1, 1],
                        ceil_mode: false,
                    };
                    v = self.add_node(pool, &[v], span, None);
                }
                if x_shape.c != r_shape.c {
                    let conv = self.add_node(conv1x1(r_shape.c, 1, init), &[v], span, None);
                    v = self.maybe_bn(b, conv, span);
                }
                v
            }
            _ => x,
        }
    }

    fn maybe_bn(&mut self, b: &Bound, v: Value, span: Span) -> Value {
        if b.bool("bn") == Some(false) {
            return v;
        }
        let bn = Op::BatchNorm {
            eps: 1e-5,
            momentum: 0.1,
            affine: true,
            zero_init: false,
        };
        self.add_node(bn, &[v], span, None)
    }

    fn unknown_shortcut(&mut self, call: &Call) {
        let names = SHORTCUTS.iter().map(|s| s.name);
        let mut d = Diagnostic::error(
            Code::E0202,
            format!("unknown shortcut kind `{}`", call.name.name),
        )
        .at(call.name.span, "not a shortcut kind")
        .note(format!(
            "the shortcut kinds are: {}",
            SHORTCUTS
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        ));
        if call.name.name == "dense" {
            d = d.hint("`dense` applies to a whole stage: `stage NAME { … } with shortcut dense`");
        } else if let Some(s) = super::value::suggest(&call.name.name, names) {
            d = d.hint(format!("did you mean `{s}`?"));
        }
        self.report(d);
    }

    /// E0301/E0306: no shortcut kind can produce the residual's shape.
    fn merge_mismatch(
        &mut self,
        residual: &Branch,
        shortcut: &Branch,
        r_shape: Shape,
        x_shape: Shape,
        kinds: &[(&Call, &Bound)],
        span: Span,
    ) {
        let fitting: Vec<&str> = SHORTCUTS
            .iter()
            .map(|s| s.name)
            .filter(|k| !matches!(*k, "identity" | "weighted") && fits(k, x_shape, r_shape))
            .collect();
        let written = if kinds.is_empty() {
            "identity (the default)".to_string()
        } else {
            kinds
                .iter()
                .map(|(c, _)| format!("`{}`", c.name.name))
                .collect::<Vec<_>>()
                .join(" or ")
        };
        let only_param_free = kinds
            .iter()
            .all(|(_, b)| matches!(b.sig.name, "identity" | "weighted"));
        let code = if only_param_free {
            Code::E0301
        } else {
            Code::E0306
        };
        let mut d = Diagnostic::error(
            code,
            format!("the residual branch gives {r_shape} but the shortcut gives {x_shape}"),
        )
        .at(shortcut.span, format!("shortcut {written} gives {x_shape}"))
        .also(residual.span, format!("residual branch gives {r_shape}"));
        if residual.span.start > span.end || residual.span.end < span.start {
            d = d.also(span, "merged here");
        }
        if fitting.is_empty() {
            d = d.hint(format!(
                "no shortcut kind maps {x_shape} to {r_shape}: the spatial size must shrink by an integer stride"
            ));
        } else {
            let list = fitting
                .iter()
                .map(|k| format!("`shortcut identity or {k}`"))
                .collect::<Vec<_>>()
                .join(", ");
            d = d.hint(format!(
                "a shortcut that changes the shape fits here: {list}"
            ));
        }
        if x_shape.c > r_shape.c && kinds.iter().any(|(_, b)| b.sig.name == "zeropad") {
            d = d.note("zero-padding can add channels but not remove them");
        }
        self.report(d);
    }

    /// DSNet: `F(x) + Σ α_i ⊙ BN(x_i)` over the stage's earlier feature maps. Returns
    /// `None` when this unit keeps its own shortcut (the stage's down-sampling unit).
    fn dense_merge(&mut self, residual: &Branch, shortcut: &Branch, span: Span) -> Option<Value> {
        let (Value::Tensor(x), Some(r_shape)) = (&shortcut.value, self.shape_of(&residual.value))
        else {
            return Some(Value::Poison);
        };
        let x = *x;
        let dense = self.dense.as_mut()?;
        if dense.history.last() != Some(&x) {
            dense.history.push(x);
        }
        let history = dense.history.clone();
        let init = dense.init;
        if history.iter().any(|h| self.shapes[h] != r_shape) {
            // The first unit changes the shape: it keeps its declared shortcut, and
            // the set of earlier maps starts with its output.
            if history.len() == 1 {
                if let Some(d) = self.dense.as_mut() {
                    d.history.clear();
                }
                return None;
            }
            let bad = history
                .iter()
                .find(|h| self.shapes[*h] != r_shape)
                .map(|h| self.shapes[h]);
            self.report(
                Diagnostic::error(
                    Code::E0301,
                    format!(
                        "a dense shortcut needs every earlier map of the stage to have the residual's shape {r_shape}, found {}",
                        bad.map_or_else(String::new, |s| s.to_string())
                    ),
                )
                .at(residual.span, format!("residual branch gives {r_shape}"))
                .hint("only the stage's first unit may change the shape"),
            );
            return Some(Value::Poison);
        }
        self.names.push_numbered("dense");
        let mut terms = vec![residual.value.clone()];
        for h in history {
            let bn = Op::BatchNorm {
                eps: 1e-5,
                momentum: 0.1,
                affine: false,
                zero_init: false,
            };
            let normed = self.add_node(bn, &[Value::Tensor(h)], span, None);
            terms.push(self.add_node(Op::ChannelScale { init }, &[normed], span, None));
        }
        self.names.pop();
        Some(self.add_node(Op::Add, &terms, span, None))
    }

    /// `csp(split, fusion, out, act) { blocks }`.
    pub(super) fn csp(
        &mut self,
        args: &[Arg],
        args_span: Span,
        body: &Body,
        span: Span,
        env: &mut Env,
        cur: Option<Value>,
    ) -> Option<Value> {
        let x = self.branch_input(None, env, &cur, span);
        let evaluated: Vec<EvArg> = args
            .iter()
            .map(|a| EvArg {
                name: a.name.clone(),
                value: self.eval_value(&a.value, env, &cur),
                span: a.span,
            })
            .collect();
        let bound = self.bind_builtin(&CSP, evaluated, args_span)?;
        let shape = self.shape_of(&x)?;
        let split = bound.float("split")?;
        let blocks_c = (shape.c as f64 * split).round() as u64;
        if !(0.0..=1.0).contains(&split) || blocks_c == 0 || blocks_c >= shape.c {
            self.report(
                Diagnostic::error(
                    Code::E0305,
                    format!(
                        "a split of {split:?} of {} channels leaves one part empty",
                        shape.c
                    ),
                )
                .at(bound.span("split"), "must leave channels on both paths"),
            );
            return Some(Value::Poison);
        }
        let skip_c = shape.c - blocks_c;
        let fusion = bound.sym("fusion").unwrap_or("both").to_string();
        let act = bound.sym("act").unwrap_or("relu").to_string();
        self.names.push_numbered("csp");
        let skip = self.add_node(
            Op::Slice {
                start: 0,
                end: skip_c,
            },
            std::slice::from_ref(&x),
            span,
            Some("split_skip"),
        );
        let part = self.add_node(
            Op::Slice {
                start: skip_c,
                end: shape.c,
            },
            &[x],
            span,
            Some("split_blocks"),
        );
        self.names.push_exact("blocks");
        self.transparent = false;
        let mut blocks = self
            .body(body, env, Some(part), false)
            .unwrap_or(Value::Poison);
        self.names.pop();
        if fusion != "first" {
            let c = self.shape_of(&blocks).map_or(blocks_c, |s| s.c);
            blocks = self.conv_bn_act("transition_b", c, &act, blocks, span);
        }
        let mut out = self.add_node(Op::Concat, &[skip, blocks], span, Some("concat"));
        if fusion != "last" {
            let out_c = match bound.has("out") {
                true => self.int_at_least(&bound, "out", 1).unwrap_or(shape.c),
                false => shape.c,
            };
            out = self.conv_bn_act("transition", out_c, &act, out, span);
        } else if bound.has("out") {
            self.report(
                Diagnostic::error(
                    Code::E0215,
                    "`out` needs a final transition, which `fusion: last` does not have",
                )
                .at(bound.span("out"), "not used with fusion: last"),
            );
        }
        self.names.pop();
        Some(out)
    }

    /// A named 1×1 conv → BN → activation unit (CSP transitions).
    fn conv_bn_act(&mut self, name: &str, out: u64, act: &str, x: Value, span: Span) -> Value {
        self.names.push_exact(name);
        let conv = self.add_node(conv1x1(out, 1, ConvInit::Default), &[x], span, Some("conv"));
        let bn = Op::BatchNorm {
            eps: 1e-5,
            momentum: 0.1,
            affine: true,
            zero_init: false,
        };
        let mut v = self.add_node(bn, &[conv], span, Some("bn"));
        v = match act {
            "relu" => self.add_node(Op::Relu, &[v], span, Some("act")),
            "leaky_relu" => self.add_node(Op::LeakyRelu { slope: 0.01 }, &[v], span, Some("act")),
            _ => v,
        };
        self.names.pop();
        v
    }
}

fn conv1x1(out: u64, stride: u64, init: ConvInit) -> Op {
    Op::Conv {
        out_channels: out,
        kernel: [1, 1],
        stride: [stride, stride],
        padding: [0, 0],
        dilation: [1, 1],
        groups: 1,
        bias: false,
        init,
    }
}

/// The stride `s` with ⌈H/s⌉ = H' and ⌈W/s⌉ = W' (how a strided 1×1 conv or `::s`
/// subsampling shrinks a map), if there is one.
fn derive_stride(x: Shape, r: Shape) -> Option<u64> {
    if r.h == 0 || r.w == 0 || r.h > x.h || r.w > x.w {
        return None;
    }
    let first = x.h.div_ceil(r.h).max(1);
    (first.saturating_sub(1).max(1)..=first + 1)
        .find(|&s| x.h.div_ceil(s) == r.h && x.w.div_ceil(s) == r.w)
}

/// Whether a shortcut kind can map `x` to the residual's shape `r`.
fn fits(kind: &str, x: Shape, r: Shape) -> bool {
    match kind {
        "identity" | "weighted" => x == r,
        "zeropad" => r.c >= x.c && derive_stride(x, r).is_some(),
        "projection" | "maxpool_projection" => derive_stride(x, r).is_some(),
        _ => false,
    }
}
