//! Expressions, calls and types as documents, with exactly the parentheses that the
//! parser's precedence requires (the AST keeps no record of the user's parentheses).

use super::doc::{bracketed, concat, group, indent, text, Doc};
use crate::syntax::ast::{Arg, BinaryOp, Call, Expr, ExprKind, TypeExpr, TypeKind, UnaryOp};

// Binding strength, loosest first, as in the parser's Pratt table.
const PIPE: u8 = 1;
const OR: u8 = 2;
const AND: u8 = 3;
const NOT: u8 = 4;
const COMPARE: u8 = 5;
const ADD: u8 = 6;
const MUL: u8 = 7;
const NEG: u8 = 8;
const POW: u8 = 9;
const INDEX: u8 = 10;
const ATOM: u8 = 11;
/// `if … then … else …` swallows every operator after its `else`, so as an operand it
/// always needs parentheses.
const IF: u8 = 0;

fn binary_prec(op: BinaryOp) -> u8 {
    use BinaryOp::*;
    match op {
        Pipe => PIPE,
        Or => OR,
        And => AND,
        Eq | Ne | Lt | Le | Gt | Ge => COMPARE,
        Add | Sub => ADD,
        Mul | Div | FloorDiv | Rem => MUL,
        Pow => POW,
    }
}

fn prec(e: &Expr) -> u8 {
    match &e.kind {
        ExprKind::Binary(op, _, _) => binary_prec(*op),
        ExprKind::Unary(UnaryOp::Not, _) => NOT,
        ExprKind::Unary(UnaryOp::Neg, _) => NEG,
        ExprKind::Index(_, _) => INDEX,
        ExprKind::If(_, _, _) => IF,
        _ => ATOM,
    }
}

/// Turns expressions into documents. Number literals are copied from the source when
/// the source still holds them, so that `1e-5` and `1_000` keep their form.
pub(crate) struct ExprPrinter<'a> {
    pub(crate) source: &'a str,
}

impl ExprPrinter<'_> {
    pub(crate) fn expr(&self, e: &Expr) -> Doc {
        match &e.kind {
            ExprKind::Int(value) => text(self.int(e, *value)),
            ExprKind::Float(value) => text(self.float(e, *value)),
            ExprKind::Bool(value) => text(value.to_string()),
            ExprKind::Str(s) => text(format!("\"{s}\"")),
            ExprKind::List(items) => {
                bracketed("[", items.iter().map(|i| self.expr(i)).collect(), "]")
            }
            ExprKind::In => text("in"),
            ExprKind::Call(call) => self.call(call),
            ExprKind::Unary(UnaryOp::Neg, x) => concat(vec![text("-"), self.operand(x, NEG)]),
            ExprKind::Unary(UnaryOp::Not, x) => concat(vec![text("not "), self.operand(x, NOT)]),
            ExprKind::Binary(BinaryOp::Pow, base, exponent) => self.power(base, exponent),
            ExprKind::Binary(op, _, _) => self.chain(e, binary_prec(*op)),
            ExprKind::Index(list, index) => concat(vec![
                self.operand(list, INDEX),
                text("["),
                self.expr(index),
                text("]"),
            ]),
            ExprKind::If(..) => self.if_chain(e),
        }
    }

    /// `e` as an operand that binds at least as tightly as `min`, parenthesised if not.
    fn operand(&self, e: &Expr, min: u8) -> Doc {
        if prec(e) < min {
            concat(vec![text("("), self.expr(e), text(")")])
        } else {
            self.expr(e)
        }
    }

    /// A run of left-associative operators of one precedence, `a + b - c`. A pipe puts
    /// every stage on its own line when it does not fit; other operators fill lines.
    fn chain(&self, e: &Expr, p: u8) -> Doc {
        let mut rest = Vec::new();
        let mut first = e;
        while let ExprKind::Binary(op, lhs, rhs) = &first.kind {
            if binary_prec(*op) != p {
                break;
            }
            rest.push((*op, rhs));
            first = lhs;
        }
        rest.reverse();
        let mut parts = vec![self.operand(first, p)];
        for (op, rhs) in rest {
            parts.push(Doc::Line);
            parts.push(concat(vec![
                text(format!("{} ", op.symbol())),
                self.operand(rhs, p + 1),
            ]));
        }
        if p == PIPE {
            let first = parts.remove(0);
            group(concat(vec![first, indent(concat(parts))]))
        } else {
            indent(Doc::Fill(parts))
        }
    }

    /// `a ** b`, right-associative: a power as the base needs parentheses, one as the
    /// exponent does not. The exponent may be negated without parentheses (`2 ** -k`),
    /// because the parser reads a `-` after `**` as part of the exponent.
    fn power(&self, base: &Expr, exponent: &Expr) -> Doc {
        indent(Doc::Fill(vec![
            self.operand(base, POW + 1),
            Doc::Line,
            concat(vec![text("** "), self.operand(exponent, NEG)]),
        ]))
    }

    /// `if a then x else if b then y else z`, each `else` on its own line when it does
    /// not fit.
    fn if_chain(&self, e: &Expr) -> Doc {
        let mut branches = Vec::new();
        let mut last = e;
        while let ExprKind::If(cond, then, otherwise) = &last.kind {
            branches.push((cond, then));
            last = otherwise;
        }
        let mut first = Vec::new();
        let mut rest = Vec::new();
        for (i, (cond, then)) in branches.into_iter().enumerate() {
            let keyword = if i == 0 { "if " } else { "else if " };
            let parts = if i == 0 { &mut first } else { &mut rest };
            if i > 0 {
                parts.push(Doc::Line);
            }
            parts.extend([
                text(keyword),
                self.expr(cond),
                text(" then "),
                self.expr(then),
            ]);
        }
        rest.extend([Doc::Line, text("else "), self.expr(last)]);
        first.push(indent(concat(rest)));
        group(concat(first))
    }

    pub(crate) fn call(&self, call: &Call) -> Doc {
        match &call.args {
            None => text(call.name.name.clone()),
            Some(args) => bracketed(
                &format!("{}(", call.name.name),
                args.iter().map(|a| self.arg(a)).collect(),
                ")",
            ),
        }
    }

    pub(crate) fn arg(&self, arg: &Arg) -> Doc {
        match &arg.name {
            Some(name) => concat(vec![
                text(format!("{}: ", name.name)),
                self.expr(&arg.value),
            ]),
            None => self.expr(&arg.value),
        }
    }

    /// The literal as written (`1_000`), when the source at its span still spells it.
    fn int(&self, e: &Expr, value: i64) -> String {
        let written = self.source.get(e.span.range()).unwrap_or("");
        let digits: String = written.chars().filter(|&c| c != '_').collect();
        let is_literal = !written.is_empty()
            && written.starts_with(|c: char| c.is_ascii_digit())
            && written.chars().all(|c| c.is_ascii_digit() || c == '_');
        if is_literal && digits.parse::<i64>() == Ok(value) {
            written.to_string()
        } else {
            value.to_string()
        }
    }

    /// The literal as written (`1e-5`, `2.`), else the shortest text that reads back as
    /// the same value (Rust's `{:?}` always has a `.` or an exponent).
    fn float(&self, e: &Expr, value: f64) -> String {
        let written = self.source.get(e.span.range()).unwrap_or("");
        let is_literal = written.starts_with(|c: char| c.is_ascii_digit())
            && written
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '+' | '-'));
        let same = written.parse::<f64>().map(f64::to_bits) == Ok(value.to_bits());
        if is_literal && same {
            written.to_string()
        } else {
            format!("{value:?}")
        }
    }
}

/// A parameter's type: `int`, `[int]`, `start | middle | end`.
pub(crate) fn type_text(ty: &TypeExpr) -> String {
    match &ty.kind {
        TypeKind::Named(name) => name.clone(),
        TypeKind::List(inner) => format!("[{}]", type_text(inner)),
        TypeKind::Enum(names) => names
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
    }
}
