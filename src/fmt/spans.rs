//! Comparing syntax trees apart from where they were written: the formatter's promise
//! is that `parse(format(x))` equals `parse(x)` up to spans.

use crate::source::Span;
use crate::syntax::ast::*;

/// A copy of `file` with every span (and the file id) zeroed and every comment's
/// trailing white space removed, so that two parses of differently laid out texts
/// compare equal with `==` exactly when they mean the same thing. Comments keep their
/// order.
pub fn without_spans(file: &File) -> File {
    let mut file = file.clone();
    file.file = Default::default();
    for comment in &mut file.comments {
        comment.span = Span::default();
        comment.text = comment.text.trim_end().to_string();
    }
    for item in &mut file.items {
        match item {
            Item::Import(import) => {
                import.span = Span::default();
                import.path_span = Span::default();
                for name in import.names.iter_mut().flatten() {
                    name.span = Span::default();
                }
            }
            Item::Network(def) | Item::Block(def) => erase_def(def),
        }
    }
    file
}

fn erase_def(def: &mut Def) {
    def.span = Span::default();
    def.name.span = Span::default();
    for param in &mut def.params {
        param.span = Span::default();
        param.name.span = Span::default();
        if let Some(ty) = &mut param.ty {
            erase_type(ty);
        }
        if let Some(default) = &mut param.default {
            erase_expr(default);
        }
    }
    erase_body(&mut def.body);
}

fn erase_type(ty: &mut TypeExpr) {
    ty.span = Span::default();
    match &mut ty.kind {
        TypeKind::Named(_) => {}
        TypeKind::List(inner) => erase_type(inner),
        TypeKind::Enum(names) => names.iter_mut().for_each(|n| n.span = Span::default()),
    }
}

fn erase_body(body: &mut Body) {
    body.span = Span::default();
    for stmt in &mut body.stmts {
        erase_stmt(stmt);
    }
}

fn erase_stmt(stmt: &mut Stmt) {
    stmt.span = Span::default();
    match &mut stmt.kind {
        StmtKind::Input(e) => erase_expr(e),
        StmtKind::Let { name, value } => {
            name.span = Span::default();
            erase_expr(value);
        }
        StmtKind::Assert { cond, .. } => erase_expr(cond),
        StmtKind::Train { entries } => entries.iter_mut().for_each(erase_arg),
        StmtKind::Names { framework, rules } => {
            framework.span = Span::default();
            for rule in rules {
                rule.span = Span::default();
            }
        }
        StmtKind::Stage {
            name,
            body,
            with_shortcut,
            ..
        } => {
            name.span = Span::default();
            erase_body(body);
            if let Some(call) = with_shortcut {
                erase_call(call);
            }
        }
        StmtKind::Repeat {
            count, index, body, ..
        } => {
            erase_expr(count);
            if let Some(index) = index {
                index.span = Span::default();
            }
            erase_body(body);
        }
        StmtKind::Residual {
            from,
            body,
            shortcut,
        } => {
            if let Some(from) = from {
                erase_expr(from);
            }
            erase_body(body);
            if let Some(clause) = shortcut {
                clause.span = Span::default();
                erase_shortcut_kind(&mut clause.first);
                if let Some(second) = &mut clause.second {
                    erase_shortcut_kind(second);
                }
            }
        }
        StmtKind::Csp {
            args,
            args_span,
            body,
        } => {
            *args_span = Span::default();
            args.iter_mut().for_each(erase_arg);
            erase_body(body);
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            erase_expr(cond);
            erase_body(then);
            if let Some(otherwise) = otherwise {
                erase_body(otherwise);
            }
        }
        StmtKind::Expr { expr, alias } => {
            erase_expr(expr);
            if let Some(alias) = alias {
                alias.span = Span::default();
            }
        }
    }
}

fn erase_shortcut_kind(kind: &mut ShortcutKind) {
    kind.span = Span::default();
    erase_call(&mut kind.call);
    if let Some(from) = &mut kind.from {
        erase_expr(from);
    }
}

fn erase_call(call: &mut Call) {
    call.span = Span::default();
    call.name.span = Span::default();
    for arg in call.args.iter_mut().flatten() {
        erase_arg(arg);
    }
}

fn erase_arg(arg: &mut Arg) {
    arg.span = Span::default();
    if let Some(name) = &mut arg.name {
        name.span = Span::default();
    }
    erase_expr(&mut arg.value);
}

fn erase_expr(expr: &mut Expr) {
    expr.span = Span::default();
    match &mut expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::In => {}
        ExprKind::List(items) => items.iter_mut().for_each(erase_expr),
        ExprKind::Call(call) => erase_call(call),
        ExprKind::Unary(_, x) => erase_expr(x),
        ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
            erase_expr(a);
            erase_expr(b);
        }
        ExprKind::If(c, a, b) => {
            erase_expr(c);
            erase_expr(a);
            erase_expr(b);
        }
    }
}
