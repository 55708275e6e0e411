//! The parser: runs the pest grammar (`grammar/resnet.pest`) and builds the [`ast`].
//!
//! Pest pairs never leave this file. Syntax errors become one E0101 diagnostic with a
//! readable "expected …, found …" message; malformed number literals become E0102
//! diagnostics (all of them are collected before giving up).

use std::cell::RefCell;
use std::sync::{Mutex, OnceLock};

use pest::error::{Error as PestError, ErrorVariant, InputLocation};
use pest::iterators::Pair;
use pest::pratt_parser::{Assoc, Op, PrattParser};
use pest::Parser as _;

use super::ast;
use crate::diag::{Code, Diagnostic};
use crate::source::{FileId, Span};

#[derive(pest_derive::Parser)]
#[grammar = "grammar/resnet.pest"]
struct ResnetParser;

/// Parses one `.resnet` file into its AST.
///
/// On failure returns the diagnostics: a single E0101 for a syntax error, or one E0102
/// per number literal that does not fit.
pub fn parse(file: FileId, text: &str) -> Result<ast::File, Vec<Diagnostic>> {
    let file_pair = match ResnetParser::parse(Rule::file, text) {
        Ok(mut pairs) => pairs
            .next()
            .expect("the `file` rule always produces one pair"),
        Err(error) => return Err(vec![syntax_error(file, text, error)]),
    };

    if let Some(span) = too_deep(&file_pair) {
        return Err(vec![Diagnostic::error(
            Code::E0101,
            format!("this is nested more than {MAX_DEPTH} levels deep"),
        )
        .at(Span::new(file, span), "nested too deeply")
        .note("expressions, calls, lists and statements may nest only so far")]);
    }

    let comments: Vec<ast::Comment> = file_pair
        .clone()
        .into_inner()
        .flatten()
        .filter(|p| p.as_rule() == Rule::COMMENT)
        .map(|p| ast::Comment {
            span: Span::new(file, p.as_span().start()..p.as_span().end()),
            text: p.as_str()[1..].to_string(),
        })
        .collect();

    let builder = Builder {
        file,
        text,
        comments: &comments,
        diags: RefCell::new(Vec::new()),
    };
    let items = children(file_pair)
        .filter(|p| p.as_rule() != Rule::EOI)
        .map(|p| builder.item(p))
        .collect();

    let diags = builder.diags.into_inner();
    if diags.is_empty() {
        Ok(ast::File {
            file,
            items,
            comments,
        })
    } else {
        Err(diags)
    }
}

/// How deep the AST may nest, so that building it, dropping it and walking it in the
/// later phases cannot run out of stack. Measured on pairs: every pair is one level,
/// and every operator of an expression one more (`a + b + c` nests as `(a + b) + c`).
/// Real models stay far below: a call inside a call costs four levels, a statement in
/// a body three.
const MAX_DEPTH: usize = 256;

/// The byte range of the first pair nested deeper than [`MAX_DEPTH`], if any. An
/// explicit stack, not recursion, for the same reason.
fn too_deep(file: &Pair<'_, Rule>) -> Option<std::ops::Range<usize>> {
    let mut stack = vec![(file.clone(), 0usize)];
    while let Some((pair, depth)) = stack.pop() {
        let operators = if pair.as_rule() == Rule::expr {
            pair.clone()
                .into_inner()
                .filter(|p| pratt_op(p.as_rule()))
                .count()
        } else {
            0
        };
        if depth + operators > MAX_DEPTH {
            // The first line of the offending construct is enough to point at it.
            let span = pair.as_span();
            let line = span
                .as_str()
                .find(['\n', '\r'])
                .unwrap_or(span.as_str().len());
            return Some(span.start()..span.start() + line);
        }
        for child in pair.into_inner() {
            stack.push((child, depth + 1 + operators));
        }
    }
    None
}

/// True for the rules that the Pratt parser treats as operators.
fn pratt_op(rule: Rule) -> bool {
    use Rule::*;
    matches!(
        rule,
        pipe | or_op
            | and_op
            | not_op
            | eq
            | ne
            | lt
            | le
            | gt
            | ge
            | add
            | sub
            | mul
            | div
            | floordiv
            | rem
            | neg
            | pow
            | index
    )
}

// ---------------------------------------------------------------------------------
// Building the AST.

/// True for pairs that carry no information for the AST: comments (collected
/// separately) and keyword tokens.
fn is_noise(rule: Rule) -> bool {
    matches!(
        rule,
        Rule::COMMENT
            | Rule::k_network
            | Rule::k_block
            | Rule::k_import
            | Rule::k_input
            | Rule::k_let
            | Rule::k_assert
            | Rule::k_stage
            | Rule::k_with
            | Rule::k_shortcut
            | Rule::k_repeat
            | Rule::k_as
            | Rule::k_residual
            | Rule::k_from
            | Rule::k_csp
            | Rule::k_train
            | Rule::k_names
            | Rule::k_if
            | Rule::k_then
            | Rule::k_else
    )
}

/// The meaningful children of a pair: everything but comments and keyword tokens.
fn children(pair: Pair<'_, Rule>) -> impl Iterator<Item = Pair<'_, Rule>> {
    pair.into_inner().filter(|p| !is_noise(p.as_rule()))
}

/// The single meaningful child of a pair.
fn only_child(pair: Pair<'_, Rule>) -> Pair<'_, Rule> {
    children(pair)
        .next()
        .expect("the grammar guarantees a child here")
}

/// The operator table, loosest first.
fn pratt() -> &'static PrattParser<Rule> {
    static PRATT: OnceLock<PrattParser<Rule>> = OnceLock::new();
    PRATT.get_or_init(|| {
        PrattParser::new()
            .op(Op::infix(Rule::pipe, Assoc::Left))
            .op(Op::infix(Rule::or_op, Assoc::Left))
            .op(Op::infix(Rule::and_op, Assoc::Left))
            .op(Op::prefix(Rule::not_op))
            .op(Op::infix(Rule::eq, Assoc::Left)
                | Op::infix(Rule::ne, Assoc::Left)
                | Op::infix(Rule::lt, Assoc::Left)
                | Op::infix(Rule::le, Assoc::Left)
                | Op::infix(Rule::gt, Assoc::Left)
                | Op::infix(Rule::ge, Assoc::Left))
            .op(Op::infix(Rule::add, Assoc::Left) | Op::infix(Rule::sub, Assoc::Left))
            .op(Op::infix(Rule::mul, Assoc::Left)
                | Op::infix(Rule::div, Assoc::Left)
                | Op::infix(Rule::floordiv, Assoc::Left)
                | Op::infix(Rule::rem, Assoc::Left))
            .op(Op::prefix(Rule::neg))
            // Tighter than unary minus, as in Python: `-2 ** 2` is `-(2 ** 2)`. A `-`
            // after `**` starts the exponent, so `2 ** -1` is `2 ** (-1)`.
            .op(Op::infix(Rule::pow, Assoc::Right))
            .op(Op::postfix(Rule::index))
    })
}

struct Builder<'a> {
    file: FileId,
    text: &'a str,
    /// All comments, in source order (so sorted by start and by end).
    comments: &'a [ast::Comment],
    /// E0102 diagnostics collected on the way.
    diags: RefCell<Vec<Diagnostic>>,
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

impl Builder<'_> {
    /// The span of a pair without the white space and comments that pest lets trail
    /// into a rule ending in an optional or repeated part.
    fn span(&self, pair: &Pair<'_, Rule>) -> Span {
        let start = pair.as_span().start();
        let mut end = pair.as_span().end();
        // Step back over white space and comments one at a time: a comment may end in
        // spaces of its own (`# note   `), so trimming all spaces first would stop
        // inside it.
        loop {
            if let Some(c) = self.comment_ending_at(end) {
                if c.span.start as usize >= start {
                    end = c.span.start as usize;
                    continue;
                }
            }
            match self.text[start..end].chars().next_back() {
                Some(c) if is_space(c) => end -= 1,
                _ => break,
            }
        }
        Span::new(self.file, start..end)
    }

    fn comment_ending_at(&self, end: usize) -> Option<&ast::Comment> {
        let i = self
            .comments
            .binary_search_by_key(&end, |c| c.span.end as usize)
            .ok()?;
        Some(&self.comments[i])
    }

    fn comment_starting_at(&self, start: usize) -> Option<&ast::Comment> {
        let i = self
            .comments
            .binary_search_by_key(&start, |c| c.span.start as usize)
            .ok()?;
        Some(&self.comments[i])
    }

    fn ident(&self, pair: Pair<'_, Rule>) -> ast::Ident {
        debug_assert_eq!(pair.as_rule(), Rule::ident);
        ast::Ident {
            name: pair.as_str().to_string(),
            span: self.span(&pair),
        }
    }

    fn string(&self, pair: &Pair<'_, Rule>) -> String {
        debug_assert_eq!(pair.as_rule(), Rule::string);
        let s = pair.as_str();
        s[1..s.len() - 1].to_string()
    }

    fn item(&self, pair: Pair<'_, Rule>) -> ast::Item {
        match pair.as_rule() {
            Rule::import => ast::Item::Import(self.import(pair)),
            Rule::network => ast::Item::Network(self.def(pair)),
            Rule::block_def => ast::Item::Block(self.def(pair)),
            rule => unreachable!("unexpected item {rule:?}"),
        }
    }

    fn import(&self, pair: Pair<'_, Rule>) -> ast::Import {
        let span = self.span(&pair);
        let mut path = None;
        let mut names = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::string => path = Some((self.string(&child), self.span(&child))),
                Rule::import_names => {
                    names = Some(children(child).map(|p| self.ident(p)).collect());
                }
                rule => unreachable!("unexpected {rule:?} in import"),
            }
        }
        let (path, path_span) = path.expect("an import has a path");
        ast::Import {
            path,
            path_span,
            names,
            span,
        }
    }

    fn def(&self, pair: Pair<'_, Rule>) -> ast::Def {
        let span = self.span(&pair);
        let mut name = None;
        let mut params = Vec::new();
        let mut body = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::ident => name = Some(self.ident(child)),
                Rule::params => params = children(child).map(|p| self.param(p)).collect(),
                Rule::body => body = Some(self.body(child)),
                rule => unreachable!("unexpected {rule:?} in a definition"),
            }
        }
        ast::Def {
            name: name.expect("a definition has a name"),
            params,
            body: body.expect("a definition has a body"),
            span,
        }
    }

    fn param(&self, pair: Pair<'_, Rule>) -> ast::Param {
        let span = self.span(&pair);
        let mut name = None;
        let mut ty = None;
        let mut default = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::ident => name = Some(self.ident(child)),
                Rule::type_expr => ty = Some(self.type_expr(child)),
                Rule::expr => default = Some(self.expr(child)),
                rule => unreachable!("unexpected {rule:?} in a parameter"),
            }
        }
        ast::Param {
            name: name.expect("a parameter has a name"),
            ty,
            default,
            span,
        }
    }

    fn type_expr(&self, pair: Pair<'_, Rule>) -> ast::TypeExpr {
        let span = self.span(&pair);
        let inner = only_child(pair);
        let kind = match inner.as_rule() {
            Rule::ident => ast::TypeKind::Named(inner.as_str().to_string()),
            Rule::list_type => ast::TypeKind::List(Box::new(self.type_expr(only_child(inner)))),
            Rule::enum_type => {
                ast::TypeKind::Enum(children(inner).map(|p| self.ident(p)).collect())
            }
            rule => unreachable!("unexpected {rule:?} in a type"),
        };
        ast::TypeExpr { kind, span }
    }

    fn body(&self, pair: Pair<'_, Rule>) -> ast::Body {
        ast::Body {
            span: self.span(&pair),
            stmts: children(pair).map(|p| self.stmt(p)).collect(),
        }
    }

    /// A body made of the single statement of `stage NAME: stmt` or `repeat N stmt`.
    fn single_stmt_body(&self, pair: Pair<'_, Rule>) -> ast::Body {
        let stmt = self.stmt(pair);
        ast::Body {
            span: stmt.span,
            stmts: vec![stmt],
        }
    }

    /// A `repeat_stmt` pair; `collect` is the name of `let name = repeat …`.
    fn repeat(&self, pair: Pair<'_, Rule>, collect: Option<ast::Ident>) -> ast::StmtKind {
        let mut parts = children(pair);
        let count = self.expr(parts.next().unwrap());
        let mut body_pair = parts.next().unwrap();
        let mut index = None;
        if body_pair.as_rule() == Rule::ident {
            index = Some(self.ident(body_pair));
            body_pair = parts.next().unwrap();
        }
        let braces = body_pair.as_rule() == Rule::body;
        let body = if braces {
            self.body(body_pair)
        } else {
            self.single_stmt_body(body_pair)
        };
        ast::StmtKind::Repeat {
            count,
            index,
            body,
            braces,
            collect,
        }
    }

    /// A `stmt` pair. Its span is that of the statement proper, without the `;`.
    fn stmt(&self, pair: Pair<'_, Rule>) -> ast::Stmt {
        debug_assert_eq!(pair.as_rule(), Rule::stmt);
        let inner = only_child(pair);
        let span = self.span(&inner);
        let rule = inner.as_rule();
        let repeat_pair = inner.clone();
        let mut parts = children(inner);
        let mut next = || parts.next();
        let kind = match rule {
            Rule::input_stmt => ast::StmtKind::Input(self.expr(next().unwrap())),
            Rule::train_stmt => ast::StmtKind::Train {
                entries: parts.map(|p| self.arg(p)).collect(),
            },
            Rule::names_stmt => ast::StmtKind::Names {
                framework: self.ident(next().unwrap()),
                rules: parts
                    .map(|rule| {
                        let span = self.span(&rule);
                        let mut strings = children(rule);
                        let pattern = self.string(&strings.next().unwrap());
                        let replacement = self.string(&strings.next().unwrap());
                        ast::NameRule {
                            pattern,
                            replacement,
                            span,
                        }
                    })
                    .collect(),
            },
            Rule::let_stmt => {
                let first = next().unwrap();
                if first.as_rule() == Rule::let_names {
                    let pattern = self.span(&first);
                    let names = children(first).map(|p| self.ident(p)).collect();
                    return ast::Stmt {
                        kind: ast::StmtKind::LetList {
                            names,
                            pattern,
                            value: self.expr(next().unwrap()),
                        },
                        span,
                    };
                }
                let name = self.ident(first);
                let value = next().unwrap();
                if value.as_rule() == Rule::repeat_stmt {
                    self.repeat(value, Some(name))
                } else {
                    ast::StmtKind::Let {
                        name,
                        value: self.expr(value),
                    }
                }
            }
            Rule::assert_stmt => ast::StmtKind::Assert {
                cond: self.expr(next().unwrap()),
                message: next().map(|p| self.string(&p)),
            },
            Rule::stage_stmt => {
                let name = self.ident(next().unwrap());
                let body_pair = next().unwrap();
                let colon = body_pair.as_rule() == Rule::stmt;
                let body = if colon {
                    self.single_stmt_body(body_pair)
                } else {
                    self.body(body_pair)
                };
                let with_shortcut = next().map(|p| self.call(only_child(p)));
                ast::StmtKind::Stage {
                    name,
                    body,
                    colon,
                    with_shortcut,
                }
            }
            Rule::repeat_stmt => self.repeat(repeat_pair, None),
            Rule::residual_stmt => {
                let mut from = None;
                let mut body = None;
                let mut shortcut = None;
                for child in parts.by_ref() {
                    match child.as_rule() {
                        Rule::from_clause => from = Some(self.expr(only_child(child))),
                        Rule::body => body = Some(self.body(child)),
                        Rule::shortcut_clause => shortcut = Some(self.shortcut(child)),
                        rule => unreachable!("unexpected {rule:?} in residual"),
                    }
                }
                ast::StmtKind::Residual {
                    from,
                    body: body.expect("a residual has a body"),
                    shortcut,
                }
            }
            Rule::csp_stmt => {
                let first = next().unwrap();
                let (args, args_span, body_pair) = if first.as_rule() == Rule::args {
                    let args_span = self.span(&first);
                    (self.args(first), args_span, next().unwrap())
                } else {
                    // No parentheses: an empty span right after the keyword `csp`.
                    let at = span.start as usize + "csp".len();
                    (Vec::new(), Span::new(self.file, at..at), first)
                };
                ast::StmtKind::Csp {
                    args,
                    args_span,
                    body: self.body(body_pair),
                }
            }
            Rule::if_stmt => self.if_kind(parts),
            Rule::expr_stmt => ast::StmtKind::Expr {
                expr: self.expr(next().unwrap()),
                alias: next().map(|p| self.ident(p)),
            },
            rule => unreachable!("unexpected statement {rule:?}"),
        };
        ast::Stmt { kind, span }
    }

    /// The parts of an `if_stmt` (condition, body, optional else part) as a statement.
    fn if_kind<'i>(&self, mut parts: impl Iterator<Item = Pair<'i, Rule>>) -> ast::StmtKind {
        let cond = self.expr(parts.next().expect("an if has a condition"));
        let then = self.body(parts.next().expect("an if has a body"));
        let otherwise = parts.next().map(|p| match p.as_rule() {
            Rule::if_stmt => {
                let span = self.span(&p);
                let kind = self.if_kind(children(p));
                ast::Body {
                    stmts: vec![ast::Stmt { kind, span }],
                    span,
                }
            }
            _ => self.body(p),
        });
        ast::StmtKind::If {
            cond,
            then,
            otherwise,
        }
    }

    fn shortcut(&self, pair: Pair<'_, Rule>) -> ast::ShortcutClause {
        let span = self.span(&pair);
        let mut kinds = children(pair)
            .filter(|child| child.as_rule() == Rule::shortcut_kind)
            .map(|child| self.shortcut_kind(child));
        ast::ShortcutClause {
            first: kinds.next().expect("a shortcut clause names a kind"),
            second: kinds.next(),
            span,
        }
    }

    fn shortcut_kind(&self, pair: Pair<'_, Rule>) -> ast::ShortcutKind {
        let span = self.span(&pair);
        let mut call = None;
        let mut from = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::call => call = Some(self.call(child)),
                Rule::shortcut_from => {
                    let target = only_child(child);
                    let target_span = self.span(&target);
                    let kind = match target.as_rule() {
                        Rule::in_kw => ast::ExprKind::In,
                        _ => ast::ExprKind::Call(ast::Call {
                            name: self.ident(target),
                            args: None,
                            span: target_span,
                        }),
                    };
                    from = Some(ast::Expr {
                        kind,
                        span: target_span,
                    });
                }
                rule => unreachable!("unexpected {rule:?} in a shortcut kind"),
            }
        }
        ast::ShortcutKind {
            call: call.expect("a shortcut kind has a call"),
            from,
            span,
        }
    }

    fn call(&self, pair: Pair<'_, Rule>) -> ast::Call {
        debug_assert_eq!(pair.as_rule(), Rule::call);
        let span = self.span(&pair);
        let mut parts = children(pair);
        let name = self.ident(parts.next().expect("a call has a name"));
        let args = parts.next().map(|p| self.args(p));
        ast::Call { name, args, span }
    }

    fn args(&self, pair: Pair<'_, Rule>) -> Vec<ast::Arg> {
        debug_assert_eq!(pair.as_rule(), Rule::args);
        children(pair).map(|p| self.arg(p)).collect()
    }

    fn arg(&self, pair: Pair<'_, Rule>) -> ast::Arg {
        let span = self.span(&pair);
        let mut name = None;
        let mut value = None;
        for child in children(pair) {
            match child.as_rule() {
                Rule::ident => name = Some(self.ident(child)),
                Rule::expr => value = Some(self.expr(child)),
                rule => unreachable!("unexpected {rule:?} in an argument"),
            }
        }
        ast::Arg {
            name,
            value: value.expect("an argument has a value"),
            span,
        }
    }

    /// An `expr` pair: operands and operators, arranged by the Pratt parser.
    fn expr(&self, pair: Pair<'_, Rule>) -> ast::Expr {
        debug_assert_eq!(pair.as_rule(), Rule::expr);
        pratt()
            .map_primary(|p| self.primary(p))
            .map_prefix(|op, rhs| {
                let op_kind = match op.as_rule() {
                    Rule::neg => ast::UnaryOp::Neg,
                    Rule::not_op => ast::UnaryOp::Not,
                    rule => unreachable!("unexpected prefix operator {rule:?}"),
                };
                ast::Expr {
                    span: self.span(&op).to(rhs.span),
                    kind: ast::ExprKind::Unary(op_kind, Box::new(rhs)),
                }
            })
            .map_postfix(|lhs, op| {
                debug_assert_eq!(op.as_rule(), Rule::index);
                let span = lhs.span.to(self.span(&op));
                let index = self.expr(only_child(op));
                ast::Expr {
                    span,
                    kind: ast::ExprKind::Index(Box::new(lhs), Box::new(index)),
                }
            })
            .map_infix(|lhs, op, rhs| {
                let op_kind = match op.as_rule() {
                    Rule::pipe => ast::BinaryOp::Pipe,
                    Rule::or_op => ast::BinaryOp::Or,
                    Rule::and_op => ast::BinaryOp::And,
                    Rule::eq => ast::BinaryOp::Eq,
                    Rule::ne => ast::BinaryOp::Ne,
                    Rule::lt => ast::BinaryOp::Lt,
                    Rule::le => ast::BinaryOp::Le,
                    Rule::gt => ast::BinaryOp::Gt,
                    Rule::ge => ast::BinaryOp::Ge,
                    Rule::add => ast::BinaryOp::Add,
                    Rule::sub => ast::BinaryOp::Sub,
                    Rule::mul => ast::BinaryOp::Mul,
                    Rule::div => ast::BinaryOp::Div,
                    Rule::floordiv => ast::BinaryOp::FloorDiv,
                    Rule::rem => ast::BinaryOp::Rem,
                    Rule::pow => ast::BinaryOp::Pow,
                    rule => unreachable!("unexpected infix operator {rule:?}"),
                };
                ast::Expr {
                    span: lhs.span.to(rhs.span),
                    kind: ast::ExprKind::Binary(op_kind, Box::new(lhs), Box::new(rhs)),
                }
            })
            .parse(pair.into_inner().filter(|p| p.as_rule() != Rule::COMMENT))
    }

    fn primary(&self, pair: Pair<'_, Rule>) -> ast::Expr {
        let span = self.span(&pair);
        let kind = match pair.as_rule() {
            Rule::int => self.int(&pair, span),
            Rule::float => self.float(&pair, span),
            Rule::boolean => ast::ExprKind::Bool(pair.as_str() == "true"),
            Rule::string => ast::ExprKind::Str(self.string(&pair)),
            Rule::list => ast::ExprKind::List(children(pair).map(|p| self.expr(p)).collect()),
            Rule::in_kw => ast::ExprKind::In,
            Rule::call => ast::ExprKind::Call(self.call(pair)),
            Rule::if_expr => {
                let mut parts = children(pair).map(|p| Box::new(self.expr(p)));
                let mut next = || parts.next().expect("`if` has three operands");
                ast::ExprKind::If(next(), next(), next())
            }
            Rule::expr => {
                // `( expr )`: the node is the inner expression, spanning the parentheses.
                let mut inner = self.expr(pair);
                inner.span = self.with_parens(inner.span);
                return inner;
            }
            rule => unreachable!("unexpected operand {rule:?}"),
        };
        ast::Expr { kind, span }
    }

    /// Widens the span of a parenthesised expression to include the parentheses
    /// (white space and comments may stand between them and the expression).
    fn with_parens(&self, span: Span) -> Span {
        let bytes = self.text.as_bytes();
        let mut start = span.start as usize;
        // One step at a time, as in `span`: a comment may end in spaces of its own.
        loop {
            if let Some(c) = self.comment_ending_at(start) {
                start = c.span.start as usize;
            } else if start > 0 && is_space(bytes[start - 1] as char) {
                start -= 1;
            } else {
                break;
            }
        }
        let mut end = span.end as usize;
        loop {
            while end < bytes.len() && is_space(bytes[end] as char) {
                end += 1;
            }
            match self.comment_starting_at(end) {
                Some(c) => end = c.span.end as usize,
                None => break,
            }
        }
        if start > 0 && bytes[start - 1] == b'(' && bytes.get(end) == Some(&b')') {
            Span::new(self.file, start - 1..end + 1)
        } else {
            debug_assert!(false, "parentheses not found around {span:?}");
            span
        }
    }

    fn int(&self, pair: &Pair<'_, Rule>, span: Span) -> ast::ExprKind {
        let digits: String = pair.as_str().chars().filter(|&c| c != '_').collect();
        match digits.parse::<i64>() {
            Ok(value) => ast::ExprKind::Int(value),
            Err(_) => {
                self.diags.borrow_mut().push(
                    Diagnostic::error(
                        Code::E0102,
                        format!("integer literal `{}` is too large", pair.as_str()),
                    )
                    .at(span, "does not fit in a 64-bit signed integer")
                    .note(format!("the largest integer is {}", i64::MAX)),
                );
                ast::ExprKind::Int(0)
            }
        }
    }

    fn float(&self, pair: &Pair<'_, Rule>, span: Span) -> ast::ExprKind {
        match pair.as_str().parse::<f64>() {
            Ok(value) if value.is_finite() => ast::ExprKind::Float(value),
            Ok(_) => {
                self.diags.borrow_mut().push(
                    Diagnostic::error(
                        Code::E0102,
                        format!("real literal `{}` is too large", pair.as_str()),
                    )
                    .at(span, "does not fit in a 64-bit float"),
                );
                ast::ExprKind::Float(0.0)
            }
            Err(_) => {
                self.diags.borrow_mut().push(
                    Diagnostic::error(
                        Code::E0102,
                        format!("invalid real literal `{}`", pair.as_str()),
                    )
                    .at(span, "not a valid number"),
                );
                ast::ExprKind::Float(0.0)
            }
        }
    }
}

// ---------------------------------------------------------------------------------
// Syntax errors.

/// Serialises the second, detailed parse that runs after a syntax error: pest's
/// "error detail" switch is process-wide.
static DETAIL_LOCK: Mutex<()> = Mutex::new(());

/// Turns a pest error into one E0101 diagnostic.
fn syntax_error(file: FileId, text: &str, error: PestError<Rule>) -> Diagnostic {
    let pos = match error.location {
        InputLocation::Pos(pos) => pos,
        InputLocation::Span((start, _)) => start,
    };
    let mut expected = Expected::default();
    match &error.variant {
        ErrorVariant::ParsingError { positives, .. } => {
            for rule in positives {
                expected.rule(*rule);
            }
        }
        ErrorVariant::CustomError { message } => {
            // Pest's call or stack limit: the nesting is too deep.
            let at = pos.min(text.len());
            return Diagnostic::error(Code::E0101, "this file is nested too deeply to parse")
                .at(Span::new(file, at..at), "the parser gave up here")
                .note(format!("the parser reported: {message}"));
        }
    }
    // Pest reports the rules it tried, but not the punctuation; a second parse with
    // its error detail switched on lists the literal tokens as well.
    for token in detailed_tokens(text, pos) {
        expected.token(&token);
    }

    let (found_span, found) = found_at(text, pos);
    let found_span = Span::new(file, found_span);
    let expected_text = expected.describe();
    let found_text = match &found {
        None => "end of file".to_string(),
        Some(t) => format!("`{t}`"),
    };
    let mut diag = Diagnostic::error(
        Code::E0101,
        format!("expected {expected_text}, found {found_text}"),
    )
    .at(found_span, format!("expected {expected_text}"));

    if let Some(word) = &found {
        if expected.wants_name && is_keyword(word) {
            diag = diag.hint(format!(
                "`{word}` is a reserved word and cannot be used as a name"
            ));
        }
        if word == "=" && expected.words.contains(&"a statement") {
            diag = diag.hint("to name a value, write `let NAME = VALUE`");
        }
        if word.starts_with('"') && (word.len() == 1 || !word.ends_with('"')) {
            diag = diag.hint("a string must be closed with `\"` on the same line");
        }
    }
    // Point at the bracket left open: always at the end of the file, elsewhere when
    // its closing bracket is among the candidates (`conv(16` followed by a new line)
    // and no bracket later in the file closes it (a stray word inside a block whose
    // `}` comes later is not an unclosed block).
    if let Some((open, at)) = unclosed_bracket(&text[..found_span.start as usize]) {
        let close = match open {
            '(' => ")",
            '[' => "]",
            _ => "}",
        };
        if found.is_none() {
            diag = diag.also(
                Span::new(file, at..at + 1),
                format!("this `{open}` is never closed"),
            );
        } else if expected.tokens.contains(&close) && !closed_later(&text[at..]) {
            diag = diag.also(
                Span::new(file, at..at + 1),
                format!("this `{open}` is not closed"),
            );
        }
    }
    diag
}

/// The literal tokens pest expected at `pos`, from a second parse with error detail.
fn detailed_tokens(text: &str, pos: usize) -> Vec<String> {
    let _guard = DETAIL_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    pest::set_error_detail(true);
    let result = ResnetParser::parse(Rule::file, text);
    pest::set_error_detail(false);
    let Err(error) = result else {
        return Vec::new();
    };
    let Some(attempts) = error.parse_attempts() else {
        return Vec::new();
    };
    if attempts.max_position != pos {
        return Vec::new();
    }
    attempts
        .expected_tokens()
        .into_iter()
        // `ParsingToken` is not exported; its `Display` is the literal for plain
        // tokens. Ranges (`0..9`) and built-in rules are words, dropped by `token`.
        .map(|t| t.to_string())
        .collect()
}

/// The words of the language that cannot be names.
fn is_keyword(word: &str) -> bool {
    matches!(
        word,
        "network"
            | "block"
            | "import"
            | "input"
            | "let"
            | "assert"
            | "stage"
            | "repeat"
            | "residual"
            | "shortcut"
            | "from"
            | "with"
            | "csp"
            | "as"
            | "if"
            | "then"
            | "else"
            | "and"
            | "or"
            | "not"
            | "true"
            | "false"
            | "in"
    )
}

/// What the parser expected, in readable words, deduplicated in order.
#[derive(Default)]
struct Expected {
    /// Punctuation that no rule stands for (`)`, `,`, …).
    tokens: Vec<&'static str>,
    /// Words for the rules pest tried.
    words: Vec<&'static str>,
    /// A name was among the candidates (for the reserved-word hint).
    wants_name: bool,
}

/// The literal tokens worth listing, in the order they are listed. Other literals
/// either open a rule that is listed by name (`(` of arguments, `{` of a body, `[` of
/// a list) or are operators and words, which the rules cover.
const LISTED_TOKENS: &[&str] = &[")", "]", "}", ",", ";", ":", "="];

impl Expected {
    fn push_word(&mut self, word: &'static str) {
        if !self.words.contains(&word) {
            self.words.push(word);
        }
    }

    fn rule(&mut self, rule: Rule) {
        use Rule::*;
        let word = match rule {
            file => {
                // Nothing of the file could be parsed: an item was expected.
                self.push_word("`import`");
                self.push_word("`network`");
                "`block`"
            }
            ident => {
                self.wants_name = true;
                "a name"
            }
            expr | int | float | boolean | list | in_kw | call | if_expr | k_if | neg | not_op => {
                "an expression"
            }
            string => "a string",
            stmt | input_stmt | let_stmt | assert_stmt | stage_stmt | repeat_stmt
            | residual_stmt | csp_stmt | expr_stmt => "a statement",
            import | k_import => "`import`",
            network | k_network => "`network`",
            block_def | k_block => "`block`",
            params | args | import_names => "`(`",
            param => "a parameter",
            arg => "an argument",
            type_expr | enum_type => "a type",
            list_type => "`[`",
            body => "`{`",
            with_clause | k_with => "`with`",
            from_clause | k_from => "`from`",
            shortcut_clause | k_shortcut => "`shortcut`",
            shortcut_kind => "a shortcut kind",
            shortcut_from => "`from`",
            pipe | or_op | and_op | eq | ne | le | ge | lt | gt | add | sub | floordiv | pow
            | mul | div | rem | index => "an operator",
            k_input => "`input`",
            k_let => "`let`",
            k_assert => "`assert`",
            k_stage => "`stage`",
            k_repeat => "`repeat`",
            k_as => "`as`",
            k_residual => "`residual`",
            k_csp => "`csp`",
            k_then => "`then`",
            k_else => "`else`",
            EOI => "end of file",
            _ => return,
        };
        self.push_word(word);
    }

    /// A literal token pest tried; only [`LISTED_TOKENS`] are kept.
    fn token(&mut self, token: &str) {
        if let Some(&t) = LISTED_TOKENS.iter().find(|&&t| t == token) {
            if !self.tokens.contains(&t) {
                self.tokens.push(t);
            }
        }
    }

    /// "`)`, `,` or an argument": at most six candidates, punctuation first and the
    /// end of the file last.
    fn describe(&self) -> String {
        let mut tokens = self.tokens.clone();
        tokens.sort_by_key(|t| LISTED_TOKENS.iter().position(|l| l == t));
        let mut all: Vec<String> = tokens.iter().map(|t| format!("`{t}`")).collect();
        let has_expr = self.words.contains(&"an expression");
        for &w in &self.words {
            // "an expression" already covers names and strings.
            if w == "end of file" || (has_expr && matches!(w, "a name" | "a string")) {
                continue;
            }
            all.push(w.to_string());
        }
        all.truncate(if self.words.contains(&"end of file") {
            5
        } else {
            6
        });
        if self.words.contains(&"end of file") {
            all.push("end of file".to_string());
        }
        match all.len() {
            0 => "something else".to_string(),
            1 => all.remove(0),
            _ => {
                let last = all.pop().unwrap_or_default();
                format!("{} or {last}", all.join(", "))
            }
        }
    }
}

/// The token at (or after white space and comments following) `pos`: its byte range
/// and text, or an empty range at the end and `None` at the end of the file.
fn found_at(text: &str, pos: usize) -> (std::ops::Range<usize>, Option<String>) {
    let mut start = pos.min(text.len());
    loop {
        let rest = &text[start..];
        let trimmed = rest.trim_start_matches(is_space);
        start += rest.len() - trimmed.len();
        if trimmed.starts_with('#') {
            start += trimmed.find(['\n', '\r']).unwrap_or(trimmed.len());
        } else {
            break;
        }
    }
    let rest = &text[start..];
    let Some(first) = rest.chars().next() else {
        return (text.len()..text.len(), None);
    };
    let len = if first.is_alphanumeric() || first == '_' {
        rest.find(|c: char| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(rest.len())
    } else if first == '"' {
        let line_end = rest.find(['\n', '\r']).unwrap_or(rest.len());
        match rest[1..line_end].find('"') {
            Some(i) => i + 2,
            None => line_end,
        }
    } else if ["==", "!=", "<=", ">=", "//"]
        .iter()
        .any(|op| rest.starts_with(op))
    {
        2
    } else {
        first.len_utf8()
    };
    (start..start + len, Some(rest[..len].to_string()))
}

/// The brackets of `text` outside strings and comments, with their offsets.
fn brackets(text: &str) -> impl Iterator<Item = (usize, char)> + '_ {
    let mut chars = text.char_indices().peekable();
    std::iter::from_fn(move || {
        while let Some((i, c)) = chars.next() {
            match c {
                '#' => while chars.next_if(|&(_, c)| c != '\n' && c != '\r').is_some() {},
                '"' => {
                    while let Some((_, c)) = chars.next_if(|&(_, c)| c != '\n' && c != '\r') {
                        if c == '"' {
                            break;
                        }
                    }
                }
                '(' | '[' | '{' | ')' | ']' | '}' => return Some((i, c)),
                _ => {}
            }
        }
        None
    })
}

/// The opening bracket a closing one closes.
fn opening(close: char) -> char {
    match close {
        ')' => '(',
        ']' => '[',
        _ => '{',
    }
}

/// The innermost bracket left open at the end of the file, ignoring strings and
/// comments: the bracket and its offset.
fn unclosed_bracket(text: &str) -> Option<(char, usize)> {
    let mut stack: Vec<(char, usize)> = Vec::new();
    for (i, c) in brackets(text) {
        if matches!(c, '(' | '[' | '{') {
            stack.push((c, i));
        } else if stack.last().map(|&(o, _)| o) == Some(opening(c)) {
            stack.pop();
        } else {
            // Mismatched: the picture is unclear, so say nothing.
            return None;
        }
    }
    stack.pop()
}

/// Whether the bracket at the start of `rest` is closed by a matching bracket later,
/// with everything between balanced.
fn closed_later(rest: &str) -> bool {
    let mut stack: Vec<char> = Vec::new();
    for (_, c) in brackets(rest) {
        if matches!(c, '(' | '[' | '{') {
            stack.push(c);
        } else if stack.last() == Some(&opening(c)) {
            stack.pop();
            if stack.is_empty() {
                return true;
            }
        } else {
            return false;
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use ast::{ExprKind, Item, StmtKind, TypeKind, UnaryOp};

    const F: FileId = FileId(3);

    const WRN: &str = r#"# Wide residual network
import "common.resnet" (basic)
network wrn(depth: int = 16, k: int = 8, dropout: float = 0.0, classes: int = 10) {
    input [3, 32, 32]
    let n = (depth - 4) / 6
    conv(16, k: 3)
    stage conv2: repeat n preact(16 * k, dropout: dropout)
    stage conv3: repeat n as i preact(32 * k, stride: if i == 0 then 2 else 1)
    stage conv4 { repeat n as i { preact(64 * k, stride: if i == 0 then 2 else 1) } } with shortcut dense
    bn; relu; avgpool; linear(classes) as fc
}
block preact(width: int, stride: int = 1, dropout: float = 0.0, role: start | middle | end = middle, ks: [int] = [3, 3]) {
    let a = in | bn | relu
    residual from a {
        conv(width, k: 3, stride: stride); bn; relu
        dropout(dropout)
        conv(width, k: 3)
    } shortcut identity or projection(bn: false) from a
    csp(split: 0.5, fusion: both) { repeat 3 bottleneck(128) }
    let fused = sum(a, b | upsample(2), weights: per_channel, norm: relu)
    assert (depth - 4) % 6 == 0, "depth must be 6n+4"
    let x = -a[0] // 2 + 3 * 4 < 7 and not true or false
}
"#;

    fn ok(text: &str) -> ast::File {
        match parse(F, text) {
            Ok(file) => file,
            Err(diags) => panic!("unexpected diagnostics for {text:?}: {diags:#?}"),
        }
    }

    fn err(text: &str) -> Vec<Diagnostic> {
        match parse(F, text) {
            Ok(file) => panic!("expected an error for {text:?}, got {file:#?}"),
            Err(diags) => diags,
        }
    }

    fn snippet(text: &str, span: Span) -> &str {
        assert_eq!(span.file, F);
        &text[span.range()]
    }

    /// A compact rendering of an expression: operators in prefix form, calls as written.
    fn sexp(e: &ast::Expr) -> String {
        match &e.kind {
            ExprKind::Int(v) => v.to_string(),
            ExprKind::Float(v) => format!("{v:?}"),
            ExprKind::Bool(b) => b.to_string(),
            ExprKind::Str(s) => format!("{s:?}"),
            ExprKind::List(items) => {
                format!("[{}]", items.iter().map(sexp).collect::<Vec<_>>().join(" "))
            }
            ExprKind::In => "in".to_string(),
            ExprKind::Call(c) => call(c),
            ExprKind::Unary(op, x) => {
                let op = match op {
                    UnaryOp::Neg => "neg",
                    UnaryOp::Not => "not",
                };
                format!("({op} {})", sexp(x))
            }
            ExprKind::Binary(op, a, b) => format!("({} {} {})", op.symbol(), sexp(a), sexp(b)),
            ExprKind::Index(a, i) => format!("(index {} {})", sexp(a), sexp(i)),
            ExprKind::If(c, a, b) => format!("(if {} {} {})", sexp(c), sexp(a), sexp(b)),
        }
    }

    fn call(c: &ast::Call) -> String {
        match &c.args {
            None => c.name.name.clone(),
            Some(args) => {
                let args: Vec<String> = args
                    .iter()
                    .map(|a| match &a.name {
                        Some(n) => format!("{}: {}", n.name, sexp(&a.value)),
                        None => sexp(&a.value),
                    })
                    .collect();
                format!("{}({})", c.name.name, args.join(", "))
            }
        }
    }

    /// Parses `let x = EXPR` in a block and returns the expression.
    fn expr_of(src: &str) -> ast::Expr {
        let text = format!("block b {{ let x = {src} }}");
        let file = ok(&text);
        let Item::Block(def) = &file.items[0] else {
            panic!("not a block")
        };
        let StmtKind::Let { value, .. } = &def.body.stmts[0].kind else {
            panic!("not a let")
        };
        // Every expression spans exactly its text.
        assert_eq!(snippet(&text, value.span), src.trim());
        value.clone()
    }

    fn defs(file: &ast::File) -> Vec<&ast::Def> {
        file.items
            .iter()
            .filter_map(|i| match i {
                Item::Network(d) | Item::Block(d) => Some(d),
                Item::Import(_) => None,
            })
            .collect()
    }

    #[test]
    fn wide_resnet_items_and_params() {
        let file = ok(WRN);
        assert_eq!(file.file, F);
        assert_eq!(file.items.len(), 3);

        let Item::Import(import) = &file.items[0] else {
            panic!("expected an import first")
        };
        assert_eq!(import.path, "common.resnet");
        assert_eq!(snippet(WRN, import.path_span), "\"common.resnet\"");
        let names: Vec<&str> = import
            .names
            .as_ref()
            .unwrap()
            .iter()
            .map(|i| i.name.as_str())
            .collect();
        assert_eq!(names, ["basic"]);
        assert_eq!(
            snippet(WRN, import.span),
            "import \"common.resnet\" (basic)"
        );

        let Item::Network(net) = &file.items[1] else {
            panic!("expected a network second")
        };
        assert_eq!(net.name.name, "wrn");
        assert!(snippet(WRN, net.span).starts_with("network wrn("));
        assert!(snippet(WRN, net.span).ends_with("as fc\n}"));
        let params: Vec<(&str, String, String)> = net
            .params
            .iter()
            .map(|p| {
                let ty = match &p.ty.as_ref().unwrap().kind {
                    TypeKind::Named(n) => n.clone(),
                    other => panic!("unexpected type {other:?}"),
                };
                (p.name.name.as_str(), ty, sexp(p.default.as_ref().unwrap()))
            })
            .collect();
        assert_eq!(
            params,
            [
                ("depth", "int".into(), "16".into()),
                ("k", "int".into(), "8".into()),
                ("dropout", "float".into(), "0.0".into()),
                ("classes", "int".into(), "10".into()),
            ]
        );
        assert_eq!(snippet(WRN, net.params[2].span), "dropout: float = 0.0");

        let Item::Block(block) = &file.items[2] else {
            panic!("expected a block third")
        };
        assert_eq!(block.name.name, "preact");
        let p = &block.params;
        assert_eq!(p.len(), 5);
        assert_eq!(p[0].name.name, "width");
        assert!(p[0].default.is_none());
        let TypeKind::Enum(symbols) = &p[3].ty.as_ref().unwrap().kind else {
            panic!("role is an enumeration")
        };
        let symbols: Vec<&str> = symbols.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(symbols, ["start", "middle", "end"]);
        assert_eq!(
            snippet(WRN, p[3].ty.as_ref().unwrap().span),
            "start | middle | end"
        );
        assert_eq!(sexp(p[3].default.as_ref().unwrap()), "middle");
        let ks = p[4].ty.as_ref().unwrap();
        let TypeKind::List(elem) = &ks.kind else {
            panic!("ks is a list")
        };
        assert_eq!(elem.kind, TypeKind::Named("int".into()));
        assert_eq!(snippet(WRN, ks.span), "[int]");
        assert_eq!(snippet(WRN, elem.span), "int");
        assert_eq!(sexp(p[4].default.as_ref().unwrap()), "[3 3]");
    }

    #[test]
    fn wide_resnet_network_body() {
        let file = ok(WRN);
        let net = defs(&file)[0];
        let stmts = &net.body.stmts;
        assert_eq!(stmts.len(), 10);

        let StmtKind::Input(shape) = &stmts[0].kind else {
            panic!("input first")
        };
        assert_eq!(sexp(shape), "[3 32 32]");
        assert_eq!(snippet(WRN, stmts[0].span), "input [3, 32, 32]");

        let StmtKind::Let { name, value } = &stmts[1].kind else {
            panic!("let second")
        };
        assert_eq!(name.name, "n");
        assert_eq!(sexp(value), "(/ (- depth 4) 6)");
        assert_eq!(snippet(WRN, value.span), "(depth - 4) / 6");
        let ExprKind::Binary(_, lhs, _) = &value.kind else {
            unreachable!()
        };
        assert_eq!(snippet(WRN, lhs.span), "(depth - 4)");

        let StmtKind::Expr { expr, alias } = &stmts[2].kind else {
            panic!("conv third")
        };
        assert_eq!(sexp(expr), "conv(16, k: 3)");
        assert!(alias.is_none());

        // stage conv2: repeat n preact(...)
        let StmtKind::Stage {
            name,
            body,
            colon,
            with_shortcut,
        } = &stmts[3].kind
        else {
            panic!("stage conv2")
        };
        assert_eq!(name.name, "conv2");
        assert!(*colon);
        assert!(with_shortcut.is_none());
        assert_eq!(body.stmts.len(), 1);
        assert_eq!(body.span, body.stmts[0].span);
        assert_eq!(
            snippet(WRN, body.span),
            "repeat n preact(16 * k, dropout: dropout)"
        );
        let StmtKind::Repeat {
            count,
            index,
            body: inner,
            braces,
            collect: None,
        } = &body.stmts[0].kind
        else {
            panic!("repeat in conv2")
        };
        assert_eq!(sexp(count), "n");
        assert!(index.is_none());
        assert!(!braces);
        assert_eq!(inner.stmts.len(), 1);
        assert_eq!(snippet(WRN, inner.span), "preact(16 * k, dropout: dropout)");
        let StmtKind::Expr { expr, .. } = &inner.stmts[0].kind else {
            panic!("call in repeat")
        };
        assert_eq!(sexp(expr), "preact((* 16 k), dropout: dropout)");

        // stage conv3: repeat n as i preact(...)
        let StmtKind::Stage {
            body, colon: true, ..
        } = &stmts[4].kind
        else {
            panic!("stage conv3")
        };
        let StmtKind::Repeat {
            index: Some(i),
            body: inner,
            braces: false,
            ..
        } = &body.stmts[0].kind
        else {
            panic!("repeat as i")
        };
        assert_eq!(i.name, "i");
        let StmtKind::Expr { expr, .. } = &inner.stmts[0].kind else {
            panic!("call in repeat")
        };
        assert_eq!(sexp(expr), "preact((* 32 k), stride: (if (== i 0) 2 1))");

        // stage conv4 { repeat n as i { ... } } with shortcut dense
        let StmtKind::Stage {
            name,
            body,
            colon,
            with_shortcut,
        } = &stmts[5].kind
        else {
            panic!("stage conv4")
        };
        assert_eq!(name.name, "conv4");
        assert!(!colon);
        let with = with_shortcut.as_ref().unwrap();
        assert_eq!(with.name.name, "dense");
        assert!(with.args.is_none());
        assert!(snippet(WRN, stmts[5].span).ends_with("} } with shortcut dense"));
        assert!(snippet(WRN, body.span).starts_with("{ repeat"));
        let StmtKind::Repeat {
            braces: true,
            index: Some(_),
            body: inner,
            ..
        } = &body.stmts[0].kind
        else {
            panic!("repeat with braces")
        };
        assert_eq!(inner.stmts.len(), 1);

        // bn; relu; avgpool; linear(classes) as fc
        let simple: Vec<String> = stmts[6..]
            .iter()
            .map(|s| match &s.kind {
                StmtKind::Expr { expr, alias } => match alias {
                    Some(a) => format!("{} as {}", sexp(expr), a.name),
                    None => sexp(expr),
                },
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(simple, ["bn", "relu", "avgpool", "linear(classes) as fc"]);
        // Statement spans stop before the `;`.
        assert_eq!(snippet(WRN, stmts[6].span), "bn");
        assert_eq!(snippet(WRN, stmts[9].span), "linear(classes) as fc");
    }

    #[test]
    fn wide_resnet_block_body() {
        let file = ok(WRN);
        let block = defs(&file)[1];
        let stmts = &block.body.stmts;
        assert_eq!(stmts.len(), 6);

        let StmtKind::Let { value, .. } = &stmts[0].kind else {
            panic!("let a")
        };
        assert_eq!(sexp(value), "(| (| in bn) relu)");

        let StmtKind::Residual {
            from,
            body,
            shortcut,
        } = &stmts[1].kind
        else {
            panic!("residual")
        };
        assert_eq!(sexp(from.as_ref().unwrap()), "a");
        let body_calls: Vec<String> = body
            .stmts
            .iter()
            .map(|s| match &s.kind {
                StmtKind::Expr { expr, .. } => sexp(expr),
                other => panic!("unexpected {other:?}"),
            })
            .collect();
        assert_eq!(
            body_calls,
            [
                "conv(width, k: 3, stride: stride)",
                "bn",
                "relu",
                "dropout(dropout)",
                "conv(width, k: 3)"
            ]
        );
        let sc = shortcut.as_ref().unwrap();
        assert_eq!(call(&sc.first.call), "identity");
        assert!(sc.first.from.is_none());
        let second = sc.second.as_ref().unwrap();
        assert_eq!(call(&second.call), "projection(bn: false)");
        assert_eq!(sexp(second.from.as_ref().unwrap()), "a");
        assert_eq!(
            snippet(WRN, sc.span),
            "shortcut identity or projection(bn: false) from a"
        );

        let StmtKind::Csp {
            args,
            args_span,
            body,
        } = &stmts[2].kind
        else {
            panic!("csp")
        };
        assert_eq!(snippet(WRN, *args_span), "(split: 0.5, fusion: both)");
        assert_eq!(args.len(), 2);
        assert_eq!(args[0].name.as_ref().unwrap().name, "split");
        assert_eq!(args[0].value.kind, ExprKind::Float(0.5));
        assert_eq!(sexp(&args[1].value), "both");
        assert_eq!(snippet(WRN, args[1].span), "fusion: both");
        let StmtKind::Repeat {
            count,
            braces: false,
            body: inner,
            ..
        } = &body.stmts[0].kind
        else {
            panic!("repeat in csp")
        };
        assert_eq!(count.kind, ExprKind::Int(3));
        assert_eq!(snippet(WRN, inner.stmts[0].span), "bottleneck(128)");

        let StmtKind::Let { name, value } = &stmts[3].kind else {
            panic!("let fused")
        };
        assert_eq!(name.name, "fused");
        assert_eq!(
            sexp(value),
            "sum(a, (| b upsample(2)), weights: per_channel, norm: relu)"
        );

        let StmtKind::Assert { cond, message } = &stmts[4].kind else {
            panic!("assert")
        };
        assert_eq!(sexp(cond), "(== (% (- depth 4) 6) 0)");
        assert_eq!(message.as_deref(), Some("depth must be 6n+4"));

        let StmtKind::Let { value, .. } = &stmts[5].kind else {
            panic!("let x")
        };
        assert_eq!(
            sexp(value),
            "(or (and (< (+ (// (neg (index a 0)) 2) (* 3 4)) 7) (not true)) false)"
        );
        assert_eq!(
            snippet(WRN, value.span),
            "-a[0] // 2 + 3 * 4 < 7 and not true or false"
        );
    }

    #[test]
    fn comments_are_collected() {
        let text =
            "# head\nnetwork n { # after brace\n  input [3, 8, 8] # trailing\n  relu #\n}\n#tail";
        let file = ok(text);
        let texts: Vec<&str> = file.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, [" head", " after brace", " trailing", "", "tail"]);
        for c in &file.comments {
            assert_eq!(snippet(text, c.span), format!("#{}", c.text));
        }
        // Comments do not leak into the spans of the nodes they follow.
        let net = defs(&file)[0];
        assert_eq!(snippet(text, net.body.stmts[0].span), "input [3, 8, 8]");
        assert_eq!(snippet(text, net.body.stmts[1].span), "relu");
        let StmtKind::Expr { expr, .. } = &net.body.stmts[1].kind else {
            panic!("relu")
        };
        assert_eq!(snippet(text, expr.span), "relu");

        let wrn = ok(WRN);
        assert_eq!(wrn.comments.len(), 1);
        assert_eq!(wrn.comments[0].text, " Wide residual network");
        assert_eq!(
            snippet(WRN, wrn.comments[0].span),
            "# Wide residual network"
        );
    }

    #[test]
    fn comments_inside_expressions() {
        let text = "block b {\n  let x = 1 + # one\n    ( 2 # two\n    ) * 3\n}";
        let file = ok(text);
        let texts: Vec<&str> = file.comments.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(texts, [" one", " two"]);
        let StmtKind::Let { value, .. } = &defs(&file)[0].body.stmts[0].kind else {
            panic!("let")
        };
        assert_eq!(sexp(value), "(+ 1 (* 2 3))");
        let ExprKind::Binary(_, _, rhs) = &value.kind else {
            unreachable!()
        };
        assert_eq!(snippet(text, rhs.span), "( 2 # two\n    ) * 3");
    }

    #[test]
    fn precedence() {
        assert_eq!(sexp(&expr_of("1 + 2 * 3")), "(+ 1 (* 2 3))");
        assert_eq!(sexp(&expr_of("(1 + 2) * 3")), "(* (+ 1 2) 3)");
        assert_eq!(sexp(&expr_of("1 - 2 - 3")), "(- (- 1 2) 3)");
        assert_eq!(sexp(&expr_of("8 / 4 // 2 % 3")), "(% (// (/ 8 4) 2) 3)");
        assert_eq!(sexp(&expr_of("a | bn | relu")), "(| (| a bn) relu)");
        assert_eq!(sexp(&expr_of("x == 1 and y")), "(and (== x 1) y)");
        assert_eq!(sexp(&expr_of("a or b and c")), "(or a (and b c))");
        assert_eq!(sexp(&expr_of("not a == b")), "(not (== a b))");
        assert_eq!(sexp(&expr_of("not a and b")), "(and (not a) b)");
        assert_eq!(sexp(&expr_of("-a * b")), "(* (neg a) b)");
        assert_eq!(sexp(&expr_of("-a[1][2]")), "(neg (index (index a 1) 2))");
        assert_eq!(sexp(&expr_of("a < b + 1")), "(< a (+ b 1))");
        assert_eq!(sexp(&expr_of("a != b")), "(!= a b)");
        assert_eq!(sexp(&expr_of("a <= b")), "(<= a b)");
        assert_eq!(sexp(&expr_of("a >= b")), "(>= a b)");
        assert_eq!(sexp(&expr_of("a > b")), "(> a b)");
        assert_eq!(sexp(&expr_of("1 - -2")), "(- 1 (neg 2))");
        assert_eq!(sexp(&expr_of("-2 ** 2")), "(neg (** 2 2))");
        assert_eq!(sexp(&expr_of("(-2) ** 2")), "(** (neg 2) 2)");
        assert_eq!(sexp(&expr_of("2 ** 3 ** 2")), "(** 2 (** 3 2))");
        assert_eq!(sexp(&expr_of("2 ** -1")), "(** 2 (neg 1))");
        assert_eq!(sexp(&expr_of("2 ** -1 ** 2")), "(** 2 (neg (** 1 2)))");
        assert_eq!(sexp(&expr_of("2 * 3 ** 2")), "(* 2 (** 3 2))");
        assert_eq!(sexp(&expr_of("2 ** 3 * 2")), "(* (** 2 3) 2)");
        assert_eq!(
            sexp(&expr_of("a[0] ** b[1]")),
            "(** (index a 0) (index b 1))"
        );
        assert_eq!(sexp(&expr_of("2 ** (j - i)")), "(** 2 (- j i))");
        assert_eq!(sexp(&expr_of("x | f or y")), "(| x (or f y))");
        assert_eq!(
            sexp(&expr_of("if a and b then x + 1 else [1, 2,]")),
            "(if (and a b) (+ x 1) [1 2])"
        );
    }

    #[test]
    fn literals() {
        assert_eq!(expr_of("1_000_000").kind, ExprKind::Int(1_000_000));
        assert_eq!(expr_of("9223372036854775807").kind, ExprKind::Int(i64::MAX));
        assert_eq!(expr_of("0.5").kind, ExprKind::Float(0.5));
        assert_eq!(expr_of("1e-5").kind, ExprKind::Float(1e-5));
        assert_eq!(expr_of("2.").kind, ExprKind::Float(2.0));
        assert_eq!(expr_of("3E+2").kind, ExprKind::Float(300.0));
        assert_eq!(expr_of("true").kind, ExprKind::Bool(true));
        assert_eq!(expr_of("false").kind, ExprKind::Bool(false));
        assert_eq!(expr_of("\"a b\"").kind, ExprKind::Str("a b".into()));
        assert_eq!(expr_of("\"\"").kind, ExprKind::Str(String::new()));
        assert_eq!(expr_of("in").kind, ExprKind::In);
        assert_eq!(expr_of("[]").kind, ExprKind::List(vec![]));
    }

    #[test]
    fn calls_with_and_without_parentheses() {
        let ExprKind::Call(c) = expr_of("relu").kind else {
            panic!("call")
        };
        assert_eq!(c.args, None);
        let ExprKind::Call(c) = expr_of("f()").kind else {
            panic!("call")
        };
        assert_eq!(c.args, Some(vec![]));
        let e = expr_of("conv(64, k: 3,)");
        let ExprKind::Call(c) = &e.kind else {
            panic!("call")
        };
        let args = c.args.as_ref().unwrap();
        assert_eq!(args.len(), 2);
        assert!(args[0].name.is_none());
        assert_eq!(args[1].name.as_ref().unwrap().name, "k");
        assert_eq!(sexp(&e), "conv(64, k: 3)");
    }

    #[test]
    fn number_literal_errors() {
        let text =
            "block b { let x = 99999999999999999999 + 1 \n let y = 9_223_372_036_854_775_808 }";
        let diags = err(text);
        assert_eq!(diags.len(), 2, "both literals are reported: {diags:#?}");
        for d in &diags {
            assert_eq!(d.code, Code::E0102);
            assert!(d.message.contains("too large"), "{}", d.message);
        }
        assert_eq!(
            snippet(text, diags[0].primary_span().unwrap()),
            "99999999999999999999"
        );
        assert_eq!(
            snippet(text, diags[1].primary_span().unwrap()),
            "9_223_372_036_854_775_808"
        );

        let text = "block b { let x = 1e999 }";
        let diags = err(text);
        assert_eq!(diags[0].code, Code::E0102);
        assert_eq!(snippet(text, diags[0].primary_span().unwrap()), "1e999");
    }

    /// `let ys = repeat …` is a repeat that collects; `repeated` is still a name.
    #[test]
    fn let_of_a_repeat_collects() {
        let text = "block b { let ys = repeat 3 as i { conv(8) }; let z = repeated }";
        let file = ok(text);
        let stmts = &defs(&file)[0].body.stmts;
        let StmtKind::Repeat {
            collect: Some(name),
            index: Some(index),
            braces: true,
            ..
        } = &stmts[0].kind
        else {
            panic!("a collecting repeat")
        };
        assert_eq!((name.name.as_str(), index.name.as_str()), ("ys", "i"));
        assert_eq!(
            snippet(text, stmts[0].span),
            "let ys = repeat 3 as i { conv(8) }"
        );
        assert!(matches!(&stmts[1].kind, StmtKind::Let { .. }));
        let file = ok("block b { let ys = repeat 2 x | conv(8) }");
        let StmtKind::Repeat {
            collect: Some(_),
            braces: false,
            body,
            ..
        } = &defs(&file)[0].body.stmts[0].kind
        else {
            panic!("a collecting repeat without braces")
        };
        assert_eq!(body.stmts.len(), 1);
    }

    #[test]
    fn keyword_guards() {
        // Names that begin with a keyword are names.
        let file =
            ok("block b { let assign = index | input_layer | inner | letter | iffy; ok as asx }");
        let stmts = &defs(&file)[0].body.stmts;
        let StmtKind::Let { name, value } = &stmts[0].kind else {
            panic!("let")
        };
        assert_eq!(name.name, "assign");
        assert_eq!(
            sexp(value),
            "(| (| (| (| index input_layer) inner) letter) iffy)"
        );
        let StmtKind::Expr { expr, alias } = &stmts[1].kind else {
            panic!("alias")
        };
        assert_eq!(sexp(expr), "ok");
        assert_eq!(alias.as_ref().unwrap().name, "asx");

        // A keyword is not a name.
        let text = "block b { let as = 1 }";
        let diags = err(text);
        assert_eq!(diags.len(), 1);
        assert_eq!(diags[0].code, Code::E0101);
        assert_eq!(diags[0].message, "expected a name, found `as`");
        assert_eq!(snippet(text, diags[0].primary_span().unwrap()), "as");
        assert!(diags[0].hints[0].contains("reserved"));

        // `or` as an operator needs a word boundary; `order` is a name.
        assert_eq!(sexp(&expr_of("a or order")), "(or a order)");
        assert_eq!(sexp(&expr_of("notx and andy")), "(and notx andy)");
    }

    #[test]
    fn syntax_error_in_arguments() {
        let text = "network n { conv(16, }";
        let diags = err(text);
        assert_eq!(diags.len(), 1);
        let d = &diags[0];
        assert_eq!(d.code, Code::E0101);
        assert_eq!(d.message, "expected `)` or an argument, found `}`");
        let label = &d.labels[0];
        assert!(label.primary);
        assert!(label.message.starts_with("expected"));
        assert_eq!(label.span, Span::new(F, 21..22));
    }

    #[test]
    fn syntax_error_at_end_of_file() {
        let text = "network n {\n  input [3, 8, 8]\n  relu";
        let d = &err(text)[0];
        assert_eq!(d.code, Code::E0101);
        assert!(d.message.starts_with("expected `}`"), "{}", d.message);
        assert!(d.message.ends_with("found end of file"), "{}", d.message);
        assert_eq!(d.primary_span(), Some(Span::new(F, text.len()..text.len())));
        let open = d
            .labels
            .iter()
            .find(|l| !l.primary)
            .expect("a label on the `{`");
        assert_eq!(snippet(text, open.span), "{");
        assert!(open.message.contains("never closed"));
    }

    #[test]
    fn syntax_error_points_at_the_open_bracket() {
        let text = "network n {\n  conv(16, k: 3\n  relu\n}";
        let d = &err(text)[0];
        assert_eq!(d.message, "expected `)`, `,` or an operator, found `relu`");
        assert_eq!(snippet(text, d.primary_span().unwrap()), "relu");
        let open = d
            .labels
            .iter()
            .find(|l| !l.primary)
            .expect("a label on the `(`");
        assert_eq!(open.span, Span::new(F, 18..19));
        assert_eq!(open.message, "this `(` is not closed");
    }

    /// A stray word in a block whose `}` comes later: the `{` is closed, so no label
    /// claims it is not.
    #[test]
    fn a_block_closed_later_is_not_called_unclosed() {
        let text = "network n {\n  input [3, 8, 8]\n  conv(16) : 3\n  relu\n}\n";
        let d = &err(text)[0];
        assert_eq!(snippet(text, d.primary_span().unwrap()), ":");
        assert!(
            d.labels.iter().all(|l| l.primary),
            "unexpected secondary labels: {:?}",
            d.labels
        );
    }

    #[test]
    fn syntax_error_messages() {
        let message = |text: &str| err(text)[0].message.clone();
        assert_eq!(
            message("foo"),
            "expected `import`, `network` or `block`, found `foo`"
        );
        assert_eq!(
            message("network n { } }"),
            "expected `network`, `block`, `import` or end of file, found `}`"
        );
        assert_eq!(message("import foo"), "expected a string, found `foo`");
        assert_eq!(
            message("network n { stage s relu }"),
            "expected `:` or `{`, found `relu`"
        );
        assert_eq!(message("block b(x: ) {}"), "expected a type, found `)`");
        assert_eq!(
            message("block b { let x = 1 + }"),
            "expected an expression, found `}`"
        );
        assert_eq!(
            message("block b { let x = 1 == = 2 }"),
            "expected an expression, found `=`"
        );
        assert_eq!(
            message("block b { if x then 1 }"),
            "expected an operator or `else`, found `}`"
        );
        let d = &err("block b { x = 1 }")[0];
        assert!(d.message.ends_with("found `=`"), "{}", d.message);
        assert!(d.hints.iter().any(|h| h.contains("let")));
        let d = &err("import \"common.resnet\nnetwork n {}")[0];
        assert_eq!(d.code, Code::E0101);
        assert!(d.hints.iter().any(|h| h.contains("same line")));
    }

    #[test]
    fn every_span_is_trimmed() {
        // No node of the sample model starts or ends with white space or a comment
        // (comments that end in spaces included).
        let text = WRN.replace('\n', " # c  \n");
        let file = ok(&text);
        let mut spans = Vec::new();
        for item in &file.items {
            spans.push(item.span());
            if let Item::Network(d) | Item::Block(d) = item {
                collect_body(&d.body, &mut spans);
                for p in &d.params {
                    spans.push(p.span);
                    spans.push(p.name.span);
                    spans.extend(p.ty.as_ref().map(|t| t.span));
                    if let Some(e) = &p.default {
                        collect_expr(e, &mut spans);
                    }
                }
            }
        }
        assert!(spans.len() > 100);
        for span in spans {
            let s = snippet(&text, span);
            assert!(!s.is_empty(), "empty span {span:?}");
            assert_eq!(s, s.trim(), "untrimmed span {span:?}");
            assert!(!s.ends_with(" c"), "a comment in {s:?}");
        }
    }

    fn collect_body(body: &ast::Body, spans: &mut Vec<Span>) {
        spans.push(body.span);
        for stmt in &body.stmts {
            spans.push(stmt.span);
            match &stmt.kind {
                StmtKind::Input(e) => collect_expr(e, spans),
                StmtKind::Let { name, value } => {
                    spans.push(name.span);
                    collect_expr(value, spans);
                }
                StmtKind::LetList {
                    names,
                    pattern,
                    value,
                } => {
                    spans.push(*pattern);
                    spans.extend(names.iter().map(|n| n.span));
                    collect_expr(value, spans);
                }
                StmtKind::Assert { cond, .. } => collect_expr(cond, spans),
                StmtKind::Names { framework, rules } => {
                    spans.push(framework.span);
                    spans.extend(rules.iter().map(|r| r.span));
                }
                StmtKind::Train { entries } => {
                    for entry in entries {
                        spans.push(entry.span);
                        spans.extend(entry.name.as_ref().map(|n| n.span));
                        collect_expr(&entry.value, spans);
                    }
                }
                StmtKind::Stage {
                    name,
                    body,
                    with_shortcut,
                    ..
                } => {
                    spans.push(name.span);
                    collect_body(body, spans);
                    spans.extend(with_shortcut.as_ref().map(|c| c.span));
                }
                StmtKind::Repeat {
                    count,
                    index,
                    body,
                    collect,
                    ..
                } => {
                    spans.extend(collect.as_ref().map(|c| c.span));
                    collect_expr(count, spans);
                    spans.extend(index.as_ref().map(|i| i.span));
                    collect_body(body, spans);
                }
                StmtKind::Residual {
                    from,
                    body,
                    shortcut,
                } => {
                    if let Some(e) = from {
                        collect_expr(e, spans);
                    }
                    collect_body(body, spans);
                    if let Some(s) = shortcut {
                        spans.push(s.span);
                        spans.push(s.first.span);
                        spans.push(s.first.call.span);
                    }
                }
                StmtKind::Csp {
                    args,
                    args_span,
                    body,
                } => {
                    spans.push(*args_span);
                    for a in args {
                        spans.push(a.span);
                        collect_expr(&a.value, spans);
                    }
                    collect_body(body, spans);
                }
                StmtKind::If {
                    cond,
                    then,
                    otherwise,
                } => {
                    collect_expr(cond, spans);
                    collect_body(then, spans);
                    if let Some(b) = otherwise {
                        collect_body(b, spans);
                    }
                }
                StmtKind::Expr { expr, alias } => {
                    collect_expr(expr, spans);
                    spans.extend(alias.as_ref().map(|a| a.span));
                }
            }
        }
    }

    fn collect_expr(e: &ast::Expr, spans: &mut Vec<Span>) {
        spans.push(e.span);
        match &e.kind {
            ExprKind::List(items) => items.iter().for_each(|i| collect_expr(i, spans)),
            ExprKind::Call(c) => {
                spans.push(c.span);
                spans.push(c.name.span);
                for a in c.args.iter().flatten() {
                    spans.push(a.span);
                    collect_expr(&a.value, spans);
                }
            }
            ExprKind::Unary(_, x) => collect_expr(x, spans),
            ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
                collect_expr(a, spans);
                collect_expr(b, spans);
            }
            ExprKind::If(c, a, b) => {
                collect_expr(c, spans);
                collect_expr(a, spans);
                collect_expr(b, spans);
            }
            _ => {}
        }
    }

    #[test]
    fn binary_operator_symbols_round_trip() {
        for op in [
            "|", "or", "and", "==", "!=", "<", "<=", ">", ">=", "+", "-", "*", "/", "//", "%", "**",
        ] {
            let e = expr_of(&format!("a {op} b"));
            let ExprKind::Binary(parsed, _, _) = e.kind else {
                panic!("not binary: {op}")
            };
            assert_eq!(parsed.symbol(), op);
        }
    }

    #[test]
    fn empty_file_and_imports_without_names() {
        let file = ok("");
        assert!(file.items.is_empty() && file.comments.is_empty());
        let file = ok("import \"a.resnet\"\nimport \"b.resnet\" ()");
        let Item::Import(a) = &file.items[0] else {
            panic!()
        };
        assert_eq!(a.names, None);
        let Item::Import(b) = &file.items[1] else {
            panic!()
        };
        assert_eq!(b.names, Some(vec![]));
    }

    #[test]
    fn csp_without_arguments() {
        let text = "block b { csp { relu } }";
        let file = ok(text);
        let StmtKind::Csp {
            args,
            args_span,
            body,
        } = &defs(&file)[0].body.stmts[0].kind
        else {
            panic!("csp")
        };
        assert!(args.is_empty());
        assert_eq!(args_span.start, args_span.end);
        assert_eq!(&text[..args_span.start as usize], "block b { csp");
        assert_eq!(body.stmts.len(), 1);
    }

    #[test]
    fn if_statements_and_if_expressions() {
        let text = "block b(pre: bool) { if pre { bn; relu } else if not pre { conv(4) } else { relu }\n let x = if pre then 3 else 4 }";
        let file = parse(FileId(0), text).expect("parses");
        let ast::Item::Block(def) = &file.items[0] else {
            panic!("a block")
        };
        let StmtKind::If {
            then, otherwise, ..
        } = &def.body.stmts[0].kind
        else {
            panic!("an if statement")
        };
        assert_eq!(then.stmts.len(), 2);
        let nested = &otherwise.as_ref().expect("an else part").stmts;
        assert!(matches!(
            &nested[0].kind,
            StmtKind::If {
                otherwise: Some(_),
                ..
            }
        ));
        assert!(matches!(
            &def.body.stmts[1].kind,
            StmtKind::Let {
                value: ast::Expr {
                    kind: ast::ExprKind::If(..),
                    ..
                },
                ..
            }
        ));
    }

    /// `let [a, b] = …` names each element; `_` is a name like any other here (the
    /// elaboration ignores it); the pattern keeps its span; an empty pattern, or
    /// `let [a] = repeat …`, is a syntax error.
    #[test]
    fn let_list_patterns() {
        let text = "block b { let [high, _, low,] = exchange(in) }";
        let file = ok(text);
        let StmtKind::LetList {
            names,
            pattern,
            value,
        } = &defs(&file)[0].body.stmts[0].kind
        else {
            panic!("a destructuring let")
        };
        let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["high", "_", "low"]);
        assert_eq!(snippet(text, *pattern), "[high, _, low,]");
        assert!(matches!(value.kind, ast::ExprKind::Call(_)));
        for bad in [
            "block b { let [] = xs }",
            "block b { let [a, 1] = xs }",
            "block b { let [a] = repeat 2 { conv(8) } }",
        ] {
            assert!(parse(F, bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_crash() {
        let nested = |open: &str, close: &str, n: usize| {
            format!(
                "block b {{ let x = {}1{} }}",
                open.repeat(n),
                close.repeat(n)
            )
        };
        ok(&nested("(", ")", 100));
        ok(&nested("f(", ")", 50));
        ok(&nested("- ", "", 200));
        for text in [
            nested("(", ")", 300),
            nested("(", ")", 20_000),
            nested("[", "]", 20_000),
            nested("- ", "", 20_000),
            nested("1 + ", "", 20_000),
            nested("in | ", "", 20_000),
            format!("block b {{ let x = a{} }}", "[0]".repeat(20_000)),
            format!("block b {{ {} relu }}", "repeat 2 ".repeat(20_000)),
        ] {
            let diags = err(&text);
            assert_eq!(diags.len(), 1);
            assert_eq!(diags[0].code, Code::E0101);
            assert!(diags[0].message.contains("nested"), "{}", diags[0].message);
        }
    }
}
