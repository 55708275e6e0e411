//! Statements: `input`, `let`, `assert`, `stage`, `repeat`, expression statements, and
//! block instantiation.

use super::args::EvArg;
use super::resolve::{Definition, DefinitionKind};
use super::unused::LetBinding;
use super::value::{mismatch_code, Env, Ty, Value};
use super::{BlockRef, DenseCtx, Elab, MAX_DEPTH, MAX_NODES};
use crate::diag::{Code, Diagnostic, Label, TraceFrame};
use crate::ir::{Group, Op};
use crate::source::Span;
use crate::syntax::ast::{BinaryOp, Body, Call, Def, Expr, ExprKind, Ident, Stmt, StmtKind};
use std::collections::HashMap;

impl<'a> Elab<'a> {
    /// Elaborates the statements of a body, threading the current tensor through them.
    /// `network_top` allows `input`. Returns the current tensor at the end.
    pub(super) fn body(
        &mut self,
        body: &Body,
        env: &mut Env,
        mut cur: Option<Value>,
        network_top: bool,
    ) -> Option<Value> {
        env.push();
        for stmt in &body.stmts {
            if let StmtKind::Assert { cond, message } = &stmt.kind {
                if !self.assertion(cond, message.as_deref(), env, &cur) {
                    // The statements after an assertion rely on it: elaborating them
                    // would only add follow-up errors (a depth that is not 6n+2 makes
                    // `(depth - 2) / 6` inexact), so the body stops here.
                    cur = Some(Value::Poison);
                    break;
                }
                continue;
            }
            cur = self.stmt(stmt, env, cur, network_top);
        }
        env.pop();
        cur
    }

    /// Checks `assert cond, "message"`; false after reporting a false condition.
    fn assertion(
        &mut self,
        cond: &Expr,
        message: Option<&str>,
        env: &Env,
        cur: &Option<Value>,
    ) -> bool {
        match self.eval(cond, env, cur) {
            Value::Bool(true) | Value::Poison => true,
            Value::Bool(false) => {
                let text = message.unwrap_or("assertion failed");
                self.report(
                    Diagnostic::error(Code::E0214, text).at(cond.span, "this condition is false"),
                );
                false
            }
            other => {
                self.type_error(cond.span, "an assertion", "bool", &other);
                true
            }
        }
    }

    fn stmt(
        &mut self,
        stmt: &Stmt,
        env: &mut Env,
        cur: Option<Value>,
        network_top: bool,
    ) -> Option<Value> {
        match &stmt.kind {
            StmtKind::Input(shape) => self.input(shape, stmt.span, env, cur, network_top),
            StmtKind::Train { entries } => {
                self.train(entries, stmt.span, env, network_top);
                cur
            }
            StmtKind::Names { framework, rules } => {
                self.names(framework, rules, stmt.span, network_top);
                cur
            }
            StmtKind::Let { name, value } => {
                let v = self.eval(value, env, &cur);
                self.record_list_statement(stmt.span, &v);
                let is_tensor = matches!(v, Value::Tensor(_));
                self.rebinding(name, env);
                self.record_let(name, stmt.span, &v, env, false);
                env.bind(
                    &name.name,
                    v.clone(),
                    Definition::of(name, DefinitionKind::Let),
                );
                if is_tensor {
                    Some(v)
                } else {
                    cur
                }
            }
            StmtKind::LetList {
                names,
                pattern,
                value,
            } => {
                self.let_list(names, *pattern, value, stmt.span, env, &cur);
                cur
            }
            StmtKind::Assert { cond, message } => {
                self.assertion(cond, message.as_deref(), env, &cur);
                cur
            }
            StmtKind::Stage {
                name,
                body,
                with_shortcut,
                ..
            } => self.stage(name, body, with_shortcut.as_ref(), stmt.span, env, cur),
            StmtKind::Repeat {
                count,
                index,
                body,
                collect: None,
                ..
            } => self.repeat(count, index.as_ref(), body, env, cur).0,
            StmtKind::Repeat {
                count,
                index,
                body,
                collect: Some(name),
                ..
            } => {
                let (_, results) = self.repeat(count, index.as_ref(), body, env, cur.clone());
                let list = self.collected(results, stmt.span);
                self.record_let(name, stmt.span, &list, env, true);
                env.bind(&name.name, list, Definition::of(name, DefinitionKind::Let));
                cur
            }
            StmtKind::Residual {
                from,
                body,
                shortcut,
            } => self.residual(from.as_ref(), body, shortcut.as_ref(), stmt.span, env, cur),
            StmtKind::Csp {
                args,
                args_span,
                body,
            } => self.csp(args, *args_span, body, stmt.span, env, cur),
            StmtKind::If {
                cond,
                then,
                otherwise,
            } => match self.eval(cond, env, &cur) {
                Value::Bool(true) => self.body(then, env, cur, network_top),
                Value::Bool(false) => match otherwise {
                    Some(body) => self.body(body, env, cur, network_top),
                    None => cur,
                },
                Value::Poison => cur,
                other => {
                    self.type_error(cond.span, "the condition of `if`", "bool", &other);
                    cur
                }
            },
            StmtKind::Expr { expr, alias } => {
                let alias = alias.as_ref().map(|a| a.name.as_str());
                let v = match &expr.kind {
                    ExprKind::Call(call) => match self.eval_call(call, env, &cur, alias) {
                        Value::Poison if self.unknown_but_keeps_shape(call, env) => match &cur {
                            Some(c @ Value::Tensor(_)) => c.clone(),
                            _ => Value::Poison,
                        },
                        v => v,
                    },
                    ExprKind::Binary(BinaryOp::Pipe, lhs, rhs) => {
                        self.pipe(lhs, rhs, env, &cur, alias)
                    }
                    _ => self.eval(expr, env, &cur),
                };
                match v {
                    Value::Tensor(_) => Some(v),
                    Value::Poison => Some(Value::Poison),
                    // A list of tensors becomes the current value: as a block's last
                    // statement, it is the block's result (`[high, low]`).
                    Value::List(_) if super::multi::tensor_list(&v).is_some() => {
                        self.record_list_statement(stmt.span, &v);
                        Some(v)
                    }
                    // A bare option word where a layer belongs (`softmax`, `kaiming`):
                    // an unknown layer, not a number-for-tensor confusion.
                    Value::Sym(_) if matches!(&expr.kind, ExprKind::Call(c) if c.args.is_none()) => {
                        if let ExprKind::Call(call) = &expr.kind {
                            self.symbol_as_layer(call);
                        }
                        cur
                    }
                    other => {
                        self.report(
                            Diagnostic::error(
                                Code::E0212,
                                format!(
                                    "a statement must produce a tensor, but this is {}",
                                    other.type_name()
                                ),
                            )
                            .at(expr.span, "not a layer, block or tensor")
                            .hint("bind numbers with `let name = …`"),
                        );
                        cur
                    }
                }
            }
        }
    }

    fn input(
        &mut self,
        shape: &crate::syntax::ast::Expr,
        span: Span,
        env: &Env,
        cur: Option<Value>,
        network_top: bool,
    ) -> Option<Value> {
        // A poisoned current value (a layer or assertion that failed before `input`) is
        // no input: declaring one then is no second mistake.
        if !network_top || cur.as_ref().is_some_and(|v| !v.is_poison()) {
            let why = if network_top {
                "the network already has an input"
            } else {
                "`input` belongs at the top of a network body"
            };
            self.report(Diagnostic::error(Code::E0215, why).at(span, "misplaced `input`"));
            return cur;
        }
        let value = self.eval(shape, env, &None);
        let dims = match &value {
            Value::List(items) if items.len() == 3 => items
                .iter()
                .map(|v| match v {
                    Value::Int(i) if *i > 0 => Some(*i as u64),
                    _ => None,
                })
                .collect::<Option<Vec<u64>>>(),
            _ => None,
        };
        let Some(dims) = dims else {
            if !value.is_poison() {
                self.report(
                    Diagnostic::error(
                        Code::E0205,
                        format!("`input` expects [C, H, W] with positive integers, found {value}"),
                    )
                    .at(shape.span, "expected e.g. [3, 224, 224]"),
                );
            }
            return Some(Value::Poison);
        };
        let input = self.add_node(
            Op::Input {
                shape: [dims[0], dims[1], dims[2]],
            },
            &[],
            span,
            Some("input"),
        );
        // The input is a group of its own; the layers after it start the stem.
        self.group = None;
        Some(input)
    }

    fn stage(
        &mut self,
        name: &crate::syntax::ast::Ident,
        body: &Body,
        with_shortcut: Option<&Call>,
        span: Span,
        env: &mut Env,
        cur: Option<Value>,
    ) -> Option<Value> {
        if self.in_stage {
            self.report(
                Diagnostic::error(Code::E0215, "stages cannot be nested")
                    .at(name.span, "a stage inside a stage")
                    .hint("use a `block` to group layers inside a stage"),
            );
            return self.body(body, env, cur, false);
        }
        let dense = with_shortcut.and_then(|call| self.stage_shortcut(call, env, &cur));
        self.graph.groups.push(Group {
            name: name.name.clone(),
            span,
            is_stage: true,
        });
        let saved_group = self.group.replace(self.graph.groups.len() - 1);
        self.in_stage = true;
        self.stages_seen += 1;
        let saved_dense = std::mem::replace(&mut self.dense, dense);
        self.names.push_exact(&name.name);
        self.transparent = is_single_call(body);
        // A stage groups layers for names and reports; it is not a scope, so `let`
        // names bound inside it stay visible after it.
        let mut out = cur;
        for stmt in &body.stmts {
            out = self.stmt(stmt, env, out, false);
        }
        self.transparent = false;
        self.names.pop();
        self.dense = saved_dense;
        self.in_stage = false;
        // Nodes after the stage go to a new implicit group.
        self.group = None;
        let _ = saved_group;
        out
    }

    /// `with shortcut KIND` on a stage: only `dense` is a stage-wide kind.
    fn stage_shortcut(&mut self, call: &Call, env: &Env, cur: &Option<Value>) -> Option<DenseCtx> {
        if call.name.name != "dense" {
            self.report(
                Diagnostic::error(
                    Code::E0215,
                    format!(
                        "`with shortcut {}` is not a stage-wide shortcut",
                        call.name.name
                    ),
                )
                .at(call.name.span, "not stage-wide")
                .hint("only `dense` applies to a whole stage; give other kinds on each `residual`"),
            );
            return None;
        }
        let args = self.eval_args(call, env, cur);
        let bound = self.bind_builtin(&super::shortcut::DENSE, args, call.span)?;
        Some(DenseCtx {
            history: Vec::new(),
            init: bound.float("init")?,
            residual_depth: self.residual_depth + 1,
        })
    }

    /// E0219: `let name` where a `let` of the same body already binds `name` (once per
    /// source `let`, however often its block or repetition is elaborated).
    fn rebinding(&mut self, name: &Ident, env: &Env) {
        if name.name.starts_with('_') {
            return;
        }
        let Some(earlier) = env.same_frame_let(&name.name) else {
            return;
        };
        if !self.rebound.insert(name.span) {
            return;
        }
        self.report(
            Diagnostic::warning(Code::E0219, format!("`{}` is bound again", name.name))
                .at(name.span, "bound again here")
                .also(earlier, "first bound here")
                .hint(format!(
                    "give the new value its own name; from here on `{}` means the new value",
                    name.name
                )),
        );
    }

    /// Records a `let` for the unused-tensor warnings (E0216), before `name` is bound.
    pub(super) fn record_let(
        &mut self,
        name: &Ident,
        span: Span,
        value: &Value,
        env: &Env,
        collects: bool,
    ) {
        let shadows_outside_repeat = self.repeat_frames.last().is_some_and(|&repetition| {
            env.frame_of(&name.name)
                .is_some_and(|frame| frame < repetition)
        });
        self.unused.record(LetBinding {
            name,
            span,
            value,
            shadows_outside_repeat,
            collects,
        });
    }

    /// The value of `let name = repeat …`: the list of the repetitions' results.
    fn collected(&mut self, results: Vec<Option<Value>>, span: Span) -> Value {
        let mut items = Vec::with_capacity(results.len());
        for result in results {
            match result {
                Some(v) if !v.is_poison() => items.push(v),
                Some(_) => return Value::Poison,
                None => {
                    self.report(
                        Diagnostic::error(
                            Code::E0215,
                            "a repetition collected by `let … = repeat` has no tensor",
                        )
                        .at(span, "nothing to collect before `input`")
                        .hint("collect repetitions after the network's `input`"),
                    );
                    return Value::Poison;
                }
            }
        }
        Value::List(items)
    }

    /// Elaborates `repeat count [as index] body`. Returns the current tensor after the
    /// repetitions and each repetition's result (its current tensor at the end).
    fn repeat(
        &mut self,
        count: &crate::syntax::ast::Expr,
        index: Option<&crate::syntax::ast::Ident>,
        body: &Body,
        env: &mut Env,
        mut cur: Option<Value>,
    ) -> (Option<Value>, Vec<Option<Value>>) {
        let mut results = Vec::new();
        let n = match self.eval(count, env, &cur) {
            Value::Int(n) if n >= 0 => n,
            Value::Int(n) => {
                self.report(
                    Diagnostic::error(
                        Code::E0210,
                        format!("a repetition count must not be negative, found {n}"),
                    )
                    .at(count.span, "negative count"),
                );
                return (cur, vec![Some(Value::Poison)]);
            }
            Value::Poison => return (cur, vec![Some(Value::Poison)]),
            other => {
                self.type_error(count.span, "a repetition count", "int", &other);
                return (cur, vec![Some(Value::Poison)]);
            }
        };
        let transparent = std::mem::take(&mut self.transparent);
        if !transparent {
            self.names.push_numbered("repeat");
        }
        let single = is_single_call(body);
        let was_too_large = self.too_large;
        for i in 0..n {
            if self.over_limit(count.span, n, was_too_large) {
                break;
            }
            self.names.push_exact(&i.to_string());
            env.push();
            self.repeat_frames.push(env.depth() - 1);
            if let Some(index) = index {
                let index_def = Definition::of(index, DefinitionKind::Index);
                env.bind(&index.name, Value::Int(i), index_def);
            }
            if let Some(c) = &cur {
                env.bind_in(c.clone());
            }
            // Diagnostics inside the body say which repetition they come from.
            let which = match index {
                Some(index) => format!("in repetition {} of {n} (`{}` = {i})", i + 1, index.name),
                None => format!("in repetition {} of {n}", i + 1),
            };
            self.trace.push(TraceFrame {
                span: count.span,
                message: which,
                repetition: true,
            });
            self.transparent = single;
            cur = self.body(body, env, cur, false);
            self.transparent = false;
            results.push(cur.clone());
            self.trace.pop();
            self.repeat_frames.pop();
            env.pop();
            self.names.pop();
        }
        if !transparent {
            self.names.pop();
        }
        (cur, results)
    }

    /// Counts one repetition; true when elaboration reached its size limit and the
    /// repetition must stop. Repetitions are limited like nodes: one that adds no node
    /// (after an earlier error, or a body of `let`s) would otherwise run for hours.
    fn over_limit(&mut self, count: Span, n: i64, was_too_large: bool) -> bool {
        self.repetitions += 1;
        if self.repetitions > MAX_NODES && !self.too_large {
            self.too_large = true;
            self.report(
                Diagnostic::error(Code::E0210, format!("statements are repeated more than {MAX_NODES} times in all"))
                    .at(count, format!("repeated {n} times"))
                    .hint("check the repetition counts: the largest real residual networks have a few thousand layers"),
            );
            return true;
        }
        if self.too_large && !was_too_large {
            // The node limit was reached in this repetition: show its count too.
            if let Some(d) = self.diags.iter_mut().rev().find(|d| d.code == Code::E0210) {
                if d.primary_span() != Some(count) && !d.labels.iter().any(|l| l.span == count) {
                    d.labels.push(Label {
                        span: count,
                        message: format!("repeated {n} times"),
                        primary: false,
                    });
                }
            }
        }
        self.too_large
    }

    /// Instantiates a block on `input`.
    pub(super) fn instantiate(
        &mut self,
        block: BlockRef<'a>,
        call: &Call,
        args: Vec<EvArg>,
        (input, input_arg): (Value, Option<Span>),
        alias: Option<&str>,
    ) -> Value {
        let transparent = std::mem::take(&mut self.transparent);
        if input.is_poison() || args.iter().any(|a| a.value.is_poison()) {
            return Value::Poison;
        }
        if self.depth >= MAX_DEPTH {
            self.report(
                Diagnostic::error(
                    Code::E0211,
                    format!(
                        "block `{}` is instantiated more than {MAX_DEPTH} levels deep",
                        block.def.name.name
                    ),
                )
                .at(call.span, "instantiated here")
                .also(block.def.name.span, "block defined here")
                .hint("a block must not call itself, directly or through other blocks"),
            );
            return Value::Poison;
        }
        self.trace.push(TraceFrame {
            span: call.span,
            message: format!("in block `{}` instantiated here", block.def.name.name),
            repetition: false,
        });
        let saved_file = std::mem::replace(&mut self.file, block.file);
        // The block's body has an environment of its own: no `repeat` around the call
        // encloses its `let`s.
        let saved_repeats = std::mem::take(&mut self.repeat_frames);
        let outer_block = self.unused.enter_block(self.graph.node_count());
        let mut env = Env::new();
        // `in` is bound first, so that parameter defaults may read the block's input:
        // `block excite(rd: int = channels(in) // 16)`, `block f(skip: tensor = in)`.
        env.bind_in(input.clone());
        let bound = self.bind_block_args(block.def, call, args, input_arg, &mut env);
        let mut out = Value::Poison;
        if bound {
            let scoped = alias.is_some() || !transparent;
            if scoped {
                match alias {
                    Some(a) => self.names.push_exact(a),
                    None => self.names.push_numbered(&block.def.name.name),
                }
            }
            self.depth += 1;
            out = self
                .body(&block.def.body, &mut env, Some(input), false)
                .unwrap_or(Value::Poison);
            self.depth -= 1;
            if scoped {
                self.names.pop();
            }
        }
        self.record_block_result(&block.def.name.name, &out);
        self.unused.leave_block(outer_block, &out);
        self.repeat_frames = saved_repeats;
        self.file = saved_file;
        self.trace.pop();
        out
    }

    /// Binds a block call's arguments to the block's parameters in `env`.
    /// `input_arg` is the span of the positional tensor that became the block's input.
    fn bind_block_args(
        &mut self,
        def: &Def,
        call: &Call,
        args: Vec<EvArg>,
        input_arg: Option<Span>,
        env: &mut Env,
    ) -> bool {
        let mut given: HashMap<&str, (crate::elab::Value, Span)> = HashMap::new();
        let mut ok = true;
        let mut positional = 0;
        for arg in &args {
            let param = match &arg.name {
                None => {
                    positional += 1;
                    match def.params.get(positional - 1) {
                        Some(p) => p,
                        None => {
                            self.report(
                                Diagnostic::error(
                                    Code::E0203,
                                    format!(
                                        "block `{}` takes {} parameters",
                                        def.name.name,
                                        def.params.len()
                                    ),
                                )
                                .at(arg.span, "surplus argument")
                                .also(def.name.span, "block defined here"),
                            );
                            ok = false;
                            continue;
                        }
                    }
                }
                Some(name) => match def.params.iter().find(|p| p.name.name == name.name) {
                    Some(p) => {
                        self.resolutions
                            .record(name.span, Definition::of(&p.name, DefinitionKind::Param));
                        p
                    }
                    None => {
                        let mut d = Diagnostic::error(
                            Code::E0203,
                            format!("block `{}` has no parameter `{}`", def.name.name, name.name),
                        )
                        .at(name.span, "unknown argument")
                        .also(def.name.span, "block defined here");
                        if let Some(s) = super::value::suggest(
                            &name.name,
                            def.params.iter().map(|p| p.name.name.as_str()),
                        ) {
                            d = d.hint(format!("did you mean `{s}`?"));
                        }
                        self.report(d);
                        ok = false;
                        continue;
                    }
                },
            };
            if let Some((_, prev)) = given.get(param.name.name.as_str()) {
                let prev = *prev;
                self.report(
                    Diagnostic::error(
                        Code::E0207,
                        format!("the argument `{}` is given twice", param.name.name),
                    )
                    .at(arg.span, "given again here")
                    .also(prev, "first given here"),
                );
                ok = false;
                continue;
            }
            given.insert(&param.name.name, (arg.value.clone(), arg.span));
        }
        let given = given.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
        ok && self.bind_params(def, env, given, Some((call.span, input_arg)))
    }

    /// Binds a definition's parameters from `given` values and defaults.
    pub(super) fn bind_params_with(
        &mut self,
        def: &Def,
        env: &mut Env,
        given: HashMap<String, (Value, Span)>,
    ) {
        self.bind_params(def, env, given, None);
    }

    /// `call` is the call's span and, where a positional tensor became the block's
    /// input, that argument's span; `None` for a network's parameters.
    fn bind_params(
        &mut self,
        def: &Def,
        env: &mut Env,
        mut given: HashMap<String, (Value, Span)>,
        call: Option<(Span, Option<Span>)>,
    ) -> bool {
        let call_span = call.map(|c| c.0);
        let input_arg = call.and_then(|c| c.1);
        let mut ok = true;
        for param in &def.params {
            let definition = Definition::of(&param.name, DefinitionKind::Param);
            let ty = param
                .ty
                .as_ref()
                .and_then(|t| Ty::from_ast(t).ok())
                .unwrap_or(Ty::Any);
            let (value, span) = match given.remove(&param.name.name) {
                Some(v) => v,
                None => match &param.default {
                    Some(default) => {
                        let v = self.eval_value(default, env, &None);
                        (v, default.span)
                    }
                    None => {
                        let at = call_span.unwrap_or(def.name.span);
                        let name = &param.name.name;
                        let mut d = Diagnostic::error(
                            Code::E0204,
                            format!("`{}` needs the argument `{name}`", def.name.name),
                        )
                        .at(at, format!("`{name}` is missing"))
                        .also(param.span, "parameter declared here without a default");
                        if let (Some(taken), Ty::Tensor) = (input_arg, &ty) {
                            d = d
                                .also(taken, "this tensor became the block's input `in`")
                                .note(format!(
                                    "a positional tensor first in a call is the block's input, not its first parameter: pass it by name, `{}({name}: …)`",
                                    def.name.name
                                ));
                        }
                        self.report(d);
                        ok = false;
                        env.bind(&param.name.name, Value::Poison, definition);
                        continue;
                    }
                },
            };
            let value = match ty.coerce(value) {
                Ok(v) => v,
                Err(v) => {
                    self.report(
                        Diagnostic::error(
                            mismatch_code(&[&v]),
                            format!(
                                "`{}` expects {ty}, found {}",
                                param.name.name,
                                v.type_name()
                            ),
                        )
                        .at(span, format!("expected {ty}"))
                        .also(param.span, "parameter declared here"),
                    );
                    ok = false;
                    Value::Poison
                }
            };
            env.bind(&param.name.name, value, definition);
        }
        ok
    }
}

/// True when a body is one call statement (a block call that then adds no name level).
fn is_single_call(body: &Body) -> bool {
    matches!(
        body.stmts.as_slice(),
        [Stmt { kind: StmtKind::Expr { expr, alias: None }, .. }] if matches!(expr.kind, ExprKind::Call(_))
    ) || matches!(
        body.stmts.as_slice(),
        [Stmt {
            kind: StmtKind::Repeat { .. },
            ..
        }]
    )
}
