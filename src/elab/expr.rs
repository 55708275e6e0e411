//! Evaluation of expressions: numbers, booleans, symbols, lists, and tensor
//! expressions (layer and block calls, pipes, `sum(…)`).

use super::args::EvArg;
use super::layers::{builtin_for, find_layer, keeps_shape, make_divisible, LAYERS};
use super::resolve::{Definition, DefinitionKind};
use super::value::{mismatch_code, suggest, Env, Value};
use super::Elab;
use crate::diag::{Code, Diagnostic};
use crate::source::Span;
use crate::syntax::ast::{BinaryOp, Call, Expr, ExprKind, UnaryOp};

/// Built-in functions on numbers and lists.
pub const FUNCTIONS: &[&str] = &[
    "min",
    "max",
    "abs",
    "round",
    "floor",
    "ceil",
    "int",
    "float",
    "make_divisible",
    "len",
    "channels",
    "height",
    "width",
];

/// The functions of [`FUNCTIONS`] that query a tensor's shape: `channels(in) // 16`.
pub const SHAPE_QUERIES: &[&str] = &["channels", "height", "width"];

impl<'a> Elab<'a> {
    /// Evaluates `e`. `cur` is the current tensor, which layer calls read.
    pub(super) fn eval(&mut self, e: &Expr, env: &Env, cur: &Option<Value>) -> Value {
        match &e.kind {
            ExprKind::Int(i) => Value::Int(*i),
            ExprKind::Float(x) => Value::Float(*x),
            ExprKind::Bool(b) => Value::Bool(*b),
            ExprKind::Str(s) => Value::Str(s.clone()),
            ExprKind::List(items) => {
                let values: Vec<Value> = items.iter().map(|i| self.eval(i, env, cur)).collect();
                if values.iter().any(Value::is_poison) {
                    Value::Poison
                } else {
                    Value::List(values)
                }
            }
            ExprKind::In => match env.lookup("in") {
                Some(b) => b.value.clone(),
                None => {
                    self.report(
                        Diagnostic::error(
                            Code::E0215,
                            "`in` is only defined inside a block or a repetition",
                        )
                        .at(e.span, "no enclosing block")
                        .hint("in a network, name values with `let x = …` and use the name"),
                    );
                    Value::Poison
                }
            },
            ExprKind::Call(call) => self.eval_call(call, env, cur, None),
            ExprKind::Unary(op, operand) => {
                let v = self.eval(operand, env, cur);
                self.unary(*op, v, e.span)
            }
            ExprKind::Binary(BinaryOp::Pipe, lhs, rhs) => self.pipe(lhs, rhs, env, cur, None),
            ExprKind::Binary(op, lhs, rhs) => {
                let a = self.eval(lhs, env, cur);
                // `and`/`or` short-circuit, so `i > 0 and x[i - 1] == 2` is safe.
                match (op, &a) {
                    (BinaryOp::And, Value::Bool(false)) => return Value::Bool(false),
                    (BinaryOp::Or, Value::Bool(true)) => return Value::Bool(true),
                    _ => {}
                }
                let b = self.eval(rhs, env, cur);
                self.binary(*op, a, b, e.span)
            }
            ExprKind::Index(list, index) => {
                let l = self.eval(list, env, cur);
                let i = self.eval(index, env, cur);
                self.index(l, i, e.span)
            }
            ExprKind::If(cond, then, otherwise) => match self.eval(cond, env, cur) {
                Value::Bool(true) => self.eval(then, env, cur),
                Value::Bool(false) => self.eval(otherwise, env, cur),
                Value::Poison => Value::Poison,
                other => {
                    self.type_error(cond.span, "a condition", "bool", &other);
                    Value::Poison
                }
            },
        }
    }

    /// `lhs | rhs`: evaluates `rhs` (a layer or block call) on the tensor `lhs`.
    pub(super) fn pipe(
        &mut self,
        lhs: &Expr,
        rhs: &Expr,
        env: &Env,
        cur: &Option<Value>,
        alias: Option<&str>,
    ) -> Value {
        let mut input = self.eval(lhs, env, cur);
        // A list of tensors may be piped into a block, which receives it as `in`
        // (`xs | swap`); a layer reads one tensor.
        let into_block = matches!(&rhs.kind, ExprKind::Call(call)
            if env.lookup(&call.name.name).is_none() && self.lookup_block(&call.name.name).is_some());
        if !into_block {
            input = self.one_tensor(input, lhs.span, "`|` feeds one tensor into a layer");
        }
        match input {
            Value::List(_) if into_block && super::multi::tensor_list(&input).is_some() => {}
            Value::Tensor(_) => {}
            Value::Poison => return Value::Poison,
            other => {
                self.report(
                    Diagnostic::error(
                        Code::E0212,
                        format!(
                            "`|` feeds a tensor into a layer, but the left side is {}",
                            other.type_name()
                        ),
                    )
                    .at(lhs.span, "not a tensor"),
                );
                return Value::Poison;
            }
        }
        match &rhs.kind {
            ExprKind::Call(call) => self.eval_call(call, env, &Some(input), alias),
            _ => {
                self.report(
                    Diagnostic::error(
                        Code::E0212,
                        "the right side of `|` must be a layer or block call",
                    )
                    .at(rhs.span, "not a layer or block"),
                );
                Value::Poison
            }
        }
    }

    pub(super) fn eval_args(&mut self, call: &Call, env: &Env, cur: &Option<Value>) -> Vec<EvArg> {
        call.args
            .iter()
            .flatten()
            .map(|arg| EvArg {
                name: arg.name.clone(),
                value: match arg.name {
                    Some(_) => self.eval_value(&arg.value, env, cur),
                    None => self.eval(&arg.value, env, cur),
                },
                span: arg.span,
            })
            .collect()
    }

    /// Evaluates a named argument or a parameter's default. A bare name that is not
    /// bound but is a known symbol is that symbol, even where a layer has the same
    /// name: `act: leaky_relu` chooses an activation, it does not apply one.
    pub(super) fn eval_value(&mut self, e: &Expr, env: &Env, cur: &Option<Value>) -> Value {
        if let ExprKind::Call(call) = &e.kind {
            let name = call.name.name.as_str();
            if call.args.is_none() && env.lookup(name).is_none() && self.symbols.contains(name) {
                return Value::Sym(name.to_string());
            }
        }
        self.eval(e, env, cur)
    }

    /// A name or a call: a variable, a function, a layer, a block, or a symbol.
    pub(super) fn eval_call(
        &mut self,
        call: &Call,
        env: &Env,
        cur: &Option<Value>,
        alias: Option<&str>,
    ) -> Value {
        let name = call.name.name.as_str();
        if call.args.is_none() {
            if let Some(binding) = env.lookup(name) {
                if let Some(definition) = binding.definition {
                    self.resolutions.record(call.name.span, definition);
                }
                return binding.value.clone();
            }
        }
        if FUNCTIONS.contains(&name) && call.args.is_some() {
            let args = self.eval_args(call, env, cur);
            return self.function(call, args);
        }
        if let Some(sig) = find_layer(name) {
            let mut args = self.eval_args(call, env, cur);
            if sig.tensors {
                let Some(bound) = self.bind_builtin(sig, args, call.span) else {
                    return Value::Poison;
                };
                return self.apply_tensor_fn(&bound, call.span, alias);
            }
            let Some(input) = self.take_input(&mut args, cur, call) else {
                return Value::Poison;
            };
            let reader = format!("`{name}` reads one tensor");
            let input = self.one_tensor(input, call.name.span, &reader);
            let out = match self.bind_builtin(sig, args, call.span) {
                Some(bound) => self.apply_layer(&bound, input.clone(), call.span, alias),
                None => Value::Poison,
            };
            if out.is_poison() && keeps_shape(sig.name) && matches!(input, Value::Tensor(_)) {
                // The error is reported; the input has the shape the layer would have
                // given, so the layers after it are still checked.
                return input;
            }
            return out;
        }
        if let Some(block) = self.lookup_block(name) {
            let definition = Definition::of(&block.def.name, DefinitionKind::Block);
            self.resolutions.record(call.name.span, definition);
            let mut args = self.eval_args(call, env, cur);
            // A leading positional tensor becomes the block's input, not its first
            // parameter; a missing parameter then says so.
            let input_arg = args
                .first()
                .filter(|a| a.name.is_none() && matches!(a.value, Value::Tensor(_)))
                .map(|a| a.span);
            let Some(input) = self.take_input(&mut args, cur, call) else {
                return Value::Poison;
            };
            return self.instantiate(block, call, args, (input, input_arg), alias);
        }
        if call.args.is_none() && self.symbols.contains(name) {
            return Value::Sym(name.to_string());
        }
        self.unknown_name(call, env);
        Value::Poison
    }

    /// The tensor a layer or block reads: a leading positional tensor argument
    /// (`relu(bn(x))`), else the current tensor.
    fn take_input(
        &mut self,
        args: &mut Vec<EvArg>,
        cur: &Option<Value>,
        call: &Call,
    ) -> Option<Value> {
        if let Some(first) = args.first() {
            if first.name.is_none() && matches!(first.value, Value::Tensor(_)) {
                return Some(args.remove(0).value);
            }
        }
        match cur {
            Some(v) => Some(v.clone()),
            None => {
                self.report(
                    Diagnostic::error(
                        Code::E0215,
                        format!(
                            "`{}` needs an input tensor, but there is none yet",
                            call.name.name
                        ),
                    )
                    .at(call.name.span, "nothing to read")
                    .hint("declare the network input first: `input [C, H, W]`"),
                );
                None
            }
        }
    }

    /// The names of the blocks visible in the current file.
    fn file_block_names(&self) -> Vec<String> {
        self.scopes
            .get(&self.file)
            .map(|s| s.keys().cloned().collect())
            .unwrap_or_default()
    }

    fn unknown_name(&mut self, call: &Call, env: &Env) {
        let name = call.name.name.as_str();
        let blocks = self.file_block_names();
        let candidates = env
            .names()
            .chain(LAYERS.iter().map(|s| s.name))
            .chain(FUNCTIONS.iter().copied())
            .chain(blocks.iter().map(String::as_str));
        let suggestion = builtin_for(name)
            .or_else(|| suggest(name, candidates))
            .map(str::to_string);
        // A bare name that stands for a layer (`batchnorm; relu`) is an unknown layer.
        let layer_like = call.args.is_some()
            || suggestion
                .as_deref()
                .is_some_and(|s| find_layer(s).is_some());
        let (code, message, label) = if layer_like {
            (
                Code::E0202,
                format!("no layer, block or function named `{name}`"),
                "unknown layer or block",
            )
        } else {
            (
                Code::E0201,
                format!("unknown name `{name}`"),
                "not defined here",
            )
        };
        let mut d = Diagnostic::error(code, message).at(call.name.span, label);
        if let Some(s) = suggestion {
            d = d.hint(format!("did you mean `{s}`?"));
        } else if call.args.is_some() {
            d = d.hint("define it with `block NAME(…) { … }` or import the file that defines it");
        }
        self.report(d);
    }

    /// E0202 for an option word written as a statement (`softmax` where a layer
    /// belongs): the word is known, but not as a layer.
    pub(super) fn symbol_as_layer(&mut self, call: &Call) {
        let name = call.name.name.as_str();
        let blocks = self.file_block_names();
        let layers = LAYERS
            .iter()
            .map(|s| s.name)
            .chain(blocks.iter().map(String::as_str));
        let mut d = Diagnostic::error(
            Code::E0202,
            format!("no layer, block or function named `{name}`"),
        )
        .at(call.name.span, "unknown layer or block");
        if let Some(s) = builtin_for(name).or_else(|| suggest(name, layers)) {
            d = d.hint(format!("did you mean `{s}`?"));
        }
        self.report(d.note(format!(
            "`{name}` is a word that options take (as in `sum(xs, norm: softmax)` or `conv(…, init: kaiming)`), not a layer"
        )));
    }

    /// True when `call` names nothing defined but stands for a built-in layer that keeps
    /// the shape (`batchnorm` for `bn`): the statement then passes its input on after
    /// the error, so that the layers after it are still checked.
    pub(super) fn unknown_but_keeps_shape(&self, call: &Call, env: &Env) -> bool {
        let name = call.name.name.as_str();
        let known = env.lookup(name).is_some()
            || find_layer(name).is_some()
            || FUNCTIONS.contains(&name)
            || self.lookup_block(name).is_some()
            || self.symbols.contains(name);
        let meant = builtin_for(name).or_else(|| suggest(name, LAYERS.iter().map(|s| s.name)));
        !known && meant.is_some_and(keeps_shape)
    }

    pub(super) fn type_error(&mut self, span: Span, what: &str, expected: &str, found: &Value) {
        if found.is_poison() {
            return;
        }
        self.report(
            Diagnostic::error(
                mismatch_code(&[found]),
                format!("{what} must be {expected}, found {}", found.type_name()),
            )
            .at(span, format!("expected {expected}")),
        );
    }

    fn unary(&mut self, op: UnaryOp, v: Value, span: Span) -> Value {
        match (op, v) {
            (_, Value::Poison) => Value::Poison,
            (UnaryOp::Neg, Value::Int(i)) => match i.checked_neg() {
                Some(n) => Value::Int(n),
                None => self.arith_error(span, format!("`-({i})` overflows"), "too large", None),
            },
            (UnaryOp::Neg, Value::Float(x)) => Value::Float(-x),
            (UnaryOp::Not, Value::Bool(b)) => Value::Bool(!b),
            (UnaryOp::Neg, other) => {
                self.type_error(span, "the operand of `-`", "a number", &other);
                Value::Poison
            }
            (UnaryOp::Not, other) => {
                self.type_error(span, "the operand of `not`", "bool", &other);
                Value::Poison
            }
        }
    }

    fn arith_error(
        &mut self,
        span: Span,
        message: String,
        label: &str,
        hint: Option<&str>,
    ) -> Value {
        let mut d = Diagnostic::error(Code::E0206, message).at(span, label);
        if let Some(h) = hint {
            d = d.hint(h);
        }
        self.report(d);
        Value::Poison
    }

    fn binary(&mut self, op: BinaryOp, a: Value, b: Value, span: Span) -> Value {
        use BinaryOp::*;
        if a.is_poison() || b.is_poison() {
            return Value::Poison;
        }
        match (op, &a, &b) {
            (And | Or, Value::Bool(x), Value::Bool(y)) => {
                return Value::Bool(if op == And { *x && *y } else { *x || *y })
            }
            (Eq, _, _) | (Ne, _, _) if !is_number(&a) || !is_number(&b) => {
                if std::mem::discriminant(&a) != std::mem::discriminant(&b)
                    || matches!(a, Value::Tensor(_))
                {
                    return self.operand_error(op, &a, &b, span);
                }
                return Value::Bool((a == b) == (op == Eq));
            }
            _ => {}
        }
        match (&a, &b) {
            (Value::Int(x), Value::Int(y)) => self.int_op(op, *x, *y, span),
            (Value::Int(_) | Value::Float(_), Value::Int(_) | Value::Float(_)) => {
                self.float_op(op, as_f64(&a), as_f64(&b), span)
            }
            _ => self.operand_error(op, &a, &b, span),
        }
    }

    fn operand_error(&mut self, op: BinaryOp, a: &Value, b: &Value, span: Span) -> Value {
        let expected = match op {
            BinaryOp::And | BinaryOp::Or => "booleans",
            BinaryOp::Eq | BinaryOp::Ne => "two values of the same kind",
            _ => "numbers",
        };
        self.report(
            Diagnostic::error(
                mismatch_code(&[a, b]),
                format!(
                    "`{}` expects {expected}, found {} and {}",
                    op.symbol(),
                    a.type_name(),
                    b.type_name()
                ),
            )
            .at(span, format!("cannot apply `{}` here", op.symbol())),
        );
        Value::Poison
    }

    fn int_op(&mut self, op: BinaryOp, x: i64, y: i64, span: Span) -> Value {
        use BinaryOp::*;
        let overflow = |e: &mut Self| {
            e.arith_error(
                span,
                format!("`{}` overflows", operation_text(op, x, y)),
                "too large",
                None,
            )
        };
        match op {
            Add => x.checked_add(y).map_or_else(|| overflow(self), Value::Int),
            Sub => x.checked_sub(y).map_or_else(|| overflow(self), Value::Int),
            Mul => x.checked_mul(y).map_or_else(|| overflow(self), Value::Int),
            Div | FloorDiv | Rem if y == 0 => self.arith_error(
                span,
                format!("division by zero in `{x} {} 0`", op.symbol()),
                "divides by zero",
                None,
            ),
            // The one quotient that does not fit: the smallest integer divided by -1.
            Div | FloorDiv if x == i64::MIN && y == -1 => overflow(self),
            Rem if y == -1 => Value::Int(0),
            Div if x % y != 0 => self.arith_error(
                span,
                format!("{x} is not divisible by {y}"),
                &format!("{x} / {y} leaves a remainder of {}", x.rem_euclid(y)),
                Some("`/` on integers must be exact; use `//` to round down"),
            ),
            Div => Value::Int(x / y),
            FloorDiv => Value::Int(x.div_euclid(y) - i64::from(y < 0 && x.rem_euclid(y) != 0)),
            Rem => Value::Int(x - y * (x.div_euclid(y) - i64::from(y < 0 && x.rem_euclid(y) != 0))),
            Pow if y < 0 => self.arith_error(
                span,
                format!(
                    "negative exponent in `{}`: an integer power needs an exponent of 0 or more",
                    operation_text(op, x, y)
                ),
                "negative exponent",
                Some("write the base as a float for a real result, e.g. `2.0 ** -1`"),
            ),
            Pow => int_power(x, y).map_or_else(|| overflow(self), Value::Int),
            Lt => Value::Bool(x < y),
            Le => Value::Bool(x <= y),
            Gt => Value::Bool(x > y),
            Ge => Value::Bool(x >= y),
            Eq => Value::Bool(x == y),
            Ne => Value::Bool(x != y),
            And | Or | Pipe => self.operand_error(op, &Value::Int(x), &Value::Int(y), span),
        }
    }

    fn float_op(&mut self, op: BinaryOp, x: f64, y: f64, span: Span) -> Value {
        use BinaryOp::*;
        if matches!(op, Div | FloorDiv | Rem) && y == 0.0 {
            return self.arith_error(
                span,
                format!("division by zero in `{x} {} 0`", op.symbol()),
                "divides by zero",
                None,
            );
        }
        let v = match op {
            Add => x + y,
            Sub => x - y,
            Mul => x * y,
            Div => x / y,
            FloorDiv => (x / y).floor(),
            Rem => x - y * (x / y).floor(),
            Pow => x.powf(y),
            Lt => return Value::Bool(x < y),
            Le => return Value::Bool(x <= y),
            Gt => return Value::Bool(x > y),
            Ge => return Value::Bool(x >= y),
            Eq => return Value::Bool(x == y),
            Ne => return Value::Bool(x != y),
            And | Or | Pipe => {
                return self.operand_error(op, &Value::Float(x), &Value::Float(y), span)
            }
        };
        if !v.is_finite() {
            return self.arith_error(
                span,
                format!("`{}` is not a finite number", operation_text(op, x, y)),
                "not finite",
                None,
            );
        }
        Value::Float(v)
    }

    fn index(&mut self, list: Value, index: Value, span: Span) -> Value {
        match (list, index) {
            (Value::Poison, _) | (_, Value::Poison) => Value::Poison,
            (Value::List(items), Value::Int(i)) => {
                let len = items.len() as i64;
                let at = if i < 0 { i + len } else { i };
                if at < 0 || at >= len {
                    self.report(
                        Diagnostic::error(
                            Code::E0210,
                            format!("index {i} is out of range for a list of {len}"),
                        )
                        .at(span, format!("valid indices are 0 to {}", len - 1)),
                    );
                    return Value::Poison;
                }
                items[at as usize].clone()
            }
            (Value::List(_), other) => {
                self.type_error(span, "a list index", "int", &other);
                Value::Poison
            }
            (other, _) => {
                self.type_error(span, "an indexed value", "a list", &other);
                Value::Poison
            }
        }
    }

    /// The built-in numeric functions.
    fn function(&mut self, call: &Call, args: Vec<EvArg>) -> Value {
        let name = call.name.name.as_str();
        if args.iter().any(|a| a.value.is_poison()) {
            return Value::Poison;
        }
        if let Some(named) = args.iter().find(|a| a.name.is_some()) {
            self.report(
                Diagnostic::error(
                    Code::E0203,
                    format!("`{name}` takes only positional arguments"),
                )
                .at(named.span, "named argument"),
            );
            return Value::Poison;
        }
        let mut values: Vec<Value> = args.iter().map(|a| a.value.clone()).collect();
        if matches!(name, "min" | "max") && values.len() == 1 {
            if let Value::List(items) = &values[0] {
                values = items.clone();
            }
        }
        let arity_ok = match name {
            "min" | "max" => !values.is_empty(),
            "make_divisible" => values.len() == 2,
            _ => values.len() == 1,
        };
        if !arity_ok {
            let expected = match name {
                "min" | "max" => "one or more numbers",
                "make_divisible" => "two arguments: a value and a divisor",
                _ => "one argument",
            };
            self.report(
                Diagnostic::error(Code::E0204, format!("`{name}` takes {expected}"))
                    .at(call.span, format!("{} given", values.len())),
            );
            return Value::Poison;
        }
        if SHAPE_QUERIES.contains(&name) {
            return self.shape_query(name, &values[0], args[0].span);
        }
        if name == "len" {
            return match &values[0] {
                Value::List(items) => Value::Int(items.len() as i64),
                other => {
                    self.type_error(args[0].span, "the argument of `len`", "a list", other);
                    Value::Poison
                }
            };
        }
        if let Some((i, bad)) = values.iter().enumerate().find(|(_, v)| !is_number(v)) {
            let span = args.get(i).map_or(call.span, |a| a.span);
            self.type_error(span, &format!("an argument of `{name}`"), "a number", bad);
            return Value::Poison;
        }
        let all_int = values.iter().all(|v| matches!(v, Value::Int(_)));
        let x = as_f64(&values[0]);
        match name {
            "min" | "max" => {
                let pick = |a: &Value, b: &Value| {
                    let less = as_f64(b) < as_f64(a);
                    if less == (name == "min") {
                        b.clone()
                    } else {
                        a.clone()
                    }
                };
                let best = values
                    .iter()
                    .skip(1)
                    .fold(values[0].clone(), |acc, v| pick(&acc, v));
                if all_int {
                    best
                } else {
                    Value::Float(as_f64(&best))
                }
            }
            "abs" => match values[0] {
                Value::Int(i) => match i.checked_abs() {
                    Some(n) => Value::Int(n),
                    None => self.arith_error(
                        call.span,
                        format!("`abs({i})` overflows"),
                        "too large",
                        None,
                    ),
                },
                _ => Value::Float(x.abs()),
            },
            "round" => Value::Int(x.round() as i64),
            "floor" => Value::Int(x.floor() as i64),
            "ceil" => Value::Int(x.ceil() as i64),
            "int" => Value::Int(x.trunc() as i64),
            "float" => Value::Float(x),
            "make_divisible" => {
                let divisor = as_f64(&values[1]);
                if divisor < 1.0 || divisor.fract() != 0.0 {
                    self.report(
                        Diagnostic::error(
                            Code::E0210,
                            "the divisor of `make_divisible` must be a positive integer",
                        )
                        .at(args[1].span, "not a positive integer"),
                    );
                    return Value::Poison;
                }
                Value::Int(make_divisible(x, divisor as u64) as i64)
            }
            _ => Value::Poison,
        }
    }

    /// `channels(x)`, `height(x)`, `width(x)`: one dimension of the tensor `x`, an int.
    /// Elaboration infers each node's shape as it adds the node ([`Elab::add_node`]), so
    /// every tensor value has a known shape here; a failed tensor is `Poison` and was
    /// reported already.
    fn shape_query(&mut self, name: &str, value: &Value, span: Span) -> Value {
        let Value::Tensor(_) = value else {
            let hint = match value {
                Value::List(items) if items.iter().any(|v| matches!(v, Value::Tensor(_))) => {
                    format!(
                        "a list of tensors has no one shape: query one of them, `{name}(xs[0])`"
                    )
                }
                _ => format!("`{name}` reads the shape of a tensor, e.g. `{name}(in)` in a block"),
            };
            self.report(
                Diagnostic::error(
                    Code::E0212,
                    format!(
                        "the argument of `{name}` must be a tensor, found {}",
                        value.type_name()
                    ),
                )
                .at(span, "expected a tensor")
                .hint(hint),
            );
            return Value::Poison;
        };
        let Some(shape) = self.shape_of(value) else {
            self.report(
                Diagnostic::error(
                    Code::E0212,
                    format!("the shape of the argument of `{name}` is not known here"),
                )
                .at(span, "shape unknown"),
            );
            return Value::Poison;
        };
        let dim = match name {
            "channels" => shape.c,
            "height" => shape.h,
            _ => shape.w,
        };
        match i64::try_from(dim) {
            Ok(dim) => Value::Int(dim),
            Err(_) => self.arith_error(
                span,
                format!("`{name}` is {dim}, too large for an int"),
                "too large",
                None,
            ),
        }
    }
}

/// `base ** exponent` for a non-negative exponent, `None` where it overflows. The bases
/// 0, 1 and -1 never overflow, whatever the exponent.
fn int_power(base: i64, exponent: i64) -> Option<i64> {
    match base {
        0 => Some(i64::from(exponent == 0)),
        1 => Some(1),
        -1 => Some(if exponent % 2 == 0 { 1 } else { -1 }),
        _ => base.checked_pow(u32::try_from(exponent).ok()?),
    }
}

/// `x op y` for a diagnostic. A negative base of `**` is shown in parentheses, since
/// `-2 ** 2` would read as `-(2 ** 2)`.
fn operation_text<T: std::fmt::Display + PartialOrd + Default>(op: BinaryOp, x: T, y: T) -> String {
    if op == BinaryOp::Pow && x < T::default() {
        format!("({x}) ** {y}")
    } else {
        format!("{x} {} {y}", op.symbol())
    }
}

fn is_number(v: &Value) -> bool {
    matches!(v, Value::Int(_) | Value::Float(_))
}

fn as_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i) => *i as f64,
        Value::Float(x) => *x,
        _ => f64::NAN,
    }
}
