//! Walking the AST by mutable reference: [`super::visit`] for code that rewrites the
//! tree in place (the formatter's span eraser).
//!
//! Rule: the same walk as `visit`, node kind by node kind and in the same order, with
//! one addition: every `Span` a node holds (its own, and `path_span`/`args_span`) is
//! handed to [`VisitorMut::visit_span`], so that a visitor that only cares about spans
//! overrides that one method.

use super::ast::*;
use crate::source::Span;

/// A visit of the AST that may change it. Every method's default visits the node's
/// spans and children.
pub trait VisitorMut {
    fn visit_file(&mut self, file: &mut File) {
        walk_file(self, file)
    }
    fn visit_item(&mut self, item: &mut Item) {
        walk_item(self, item)
    }
    fn visit_import(&mut self, import: &mut Import) {
        walk_import(self, import)
    }
    /// A `network` or a `block` definition.
    fn visit_def(&mut self, def: &mut Def) {
        walk_def(self, def)
    }
    fn visit_param(&mut self, param: &mut Param) {
        walk_param(self, param)
    }
    fn visit_type(&mut self, ty: &mut TypeExpr) {
        walk_type(self, ty)
    }
    fn visit_body(&mut self, body: &mut Body) {
        walk_body(self, body)
    }
    fn visit_stmt(&mut self, stmt: &mut Stmt) {
        walk_stmt(self, stmt)
    }
    fn visit_name_rule(&mut self, rule: &mut NameRule) {
        self.visit_span(&mut rule.span)
    }
    fn visit_shortcut_clause(&mut self, clause: &mut ShortcutClause) {
        walk_shortcut_clause(self, clause)
    }
    fn visit_shortcut_kind(&mut self, kind: &mut ShortcutKind) {
        walk_shortcut_kind(self, kind)
    }
    /// A call or a name: in an expression, a shortcut kind, or `with shortcut`.
    fn visit_call(&mut self, call: &mut Call) {
        walk_call(self, call)
    }
    /// An argument of a call, of `csp(…)`, or an entry of `train { … }`.
    fn visit_arg(&mut self, arg: &mut Arg) {
        walk_arg(self, arg)
    }
    fn visit_expr(&mut self, expr: &mut Expr) {
        walk_expr(self, expr)
    }
    /// Every identifier: names being defined and names being used alike.
    fn visit_ident(&mut self, ident: &mut Ident) {
        self.visit_span(&mut ident.span)
    }
    fn visit_comment(&mut self, comment: &mut Comment) {
        self.visit_span(&mut comment.span)
    }
    /// Every span of every node.
    fn visit_span(&mut self, _span: &mut Span) {}
}

/// The items, then the comments.
pub fn walk_file<V: VisitorMut + ?Sized>(v: &mut V, file: &mut File) {
    for item in &mut file.items {
        v.visit_item(item);
    }
    for comment in &mut file.comments {
        v.visit_comment(comment);
    }
}

pub fn walk_item<V: VisitorMut + ?Sized>(v: &mut V, item: &mut Item) {
    match item {
        Item::Import(import) => v.visit_import(import),
        Item::Network(def) | Item::Block(def) => v.visit_def(def),
    }
}

pub fn walk_import<V: VisitorMut + ?Sized>(v: &mut V, import: &mut Import) {
    v.visit_span(&mut import.span);
    v.visit_span(&mut import.path_span);
    for name in import.names.iter_mut().flatten() {
        v.visit_ident(name);
    }
}

pub fn walk_def<V: VisitorMut + ?Sized>(v: &mut V, def: &mut Def) {
    v.visit_span(&mut def.span);
    v.visit_ident(&mut def.name);
    for param in &mut def.params {
        v.visit_param(param);
    }
    v.visit_body(&mut def.body);
}

pub fn walk_param<V: VisitorMut + ?Sized>(v: &mut V, param: &mut Param) {
    v.visit_span(&mut param.span);
    v.visit_ident(&mut param.name);
    if let Some(ty) = &mut param.ty {
        v.visit_type(ty);
    }
    if let Some(default) = &mut param.default {
        v.visit_expr(default);
    }
}

pub fn walk_type<V: VisitorMut + ?Sized>(v: &mut V, ty: &mut TypeExpr) {
    v.visit_span(&mut ty.span);
    match &mut ty.kind {
        TypeKind::Named(_) => {}
        TypeKind::List(inner) => v.visit_type(inner),
        TypeKind::Enum(names) => names.iter_mut().for_each(|n| v.visit_ident(n)),
    }
}

pub fn walk_body<V: VisitorMut + ?Sized>(v: &mut V, body: &mut Body) {
    v.visit_span(&mut body.span);
    for stmt in &mut body.stmts {
        v.visit_stmt(stmt);
    }
}

pub fn walk_stmt<V: VisitorMut + ?Sized>(v: &mut V, stmt: &mut Stmt) {
    v.visit_span(&mut stmt.span);
    match &mut stmt.kind {
        StmtKind::Input(e) | StmtKind::Assert { cond: e, .. } => v.visit_expr(e),
        StmtKind::Let { name, value } => {
            v.visit_ident(name);
            v.visit_expr(value);
        }
        StmtKind::Stage {
            name,
            body,
            with_shortcut,
            ..
        } => {
            v.visit_ident(name);
            v.visit_body(body);
            if let Some(call) = with_shortcut {
                v.visit_call(call);
            }
        }
        StmtKind::Repeat {
            count, index, body, ..
        } => {
            v.visit_expr(count);
            if let Some(index) = index {
                v.visit_ident(index);
            }
            v.visit_body(body);
        }
        StmtKind::Residual {
            from,
            body,
            shortcut,
        } => {
            if let Some(from) = from {
                v.visit_expr(from);
            }
            v.visit_body(body);
            if let Some(clause) = shortcut {
                v.visit_shortcut_clause(clause);
            }
        }
        StmtKind::Csp {
            args,
            args_span,
            body,
        } => {
            v.visit_span(args_span);
            args.iter_mut().for_each(|a| v.visit_arg(a));
            v.visit_body(body);
        }
        StmtKind::If {
            cond,
            then,
            otherwise,
        } => {
            v.visit_expr(cond);
            v.visit_body(then);
            if let Some(otherwise) = otherwise {
                v.visit_body(otherwise);
            }
        }
        StmtKind::Train { entries } => entries.iter_mut().for_each(|a| v.visit_arg(a)),
        StmtKind::Names { framework, rules } => {
            v.visit_ident(framework);
            rules.iter_mut().for_each(|r| v.visit_name_rule(r));
        }
        StmtKind::Expr { expr, alias } => {
            v.visit_expr(expr);
            if let Some(alias) = alias {
                v.visit_ident(alias);
            }
        }
    }
}

pub fn walk_shortcut_clause<V: VisitorMut + ?Sized>(v: &mut V, clause: &mut ShortcutClause) {
    v.visit_span(&mut clause.span);
    v.visit_shortcut_kind(&mut clause.first);
    if let Some(second) = &mut clause.second {
        v.visit_shortcut_kind(second);
    }
}

pub fn walk_shortcut_kind<V: VisitorMut + ?Sized>(v: &mut V, kind: &mut ShortcutKind) {
    v.visit_span(&mut kind.span);
    v.visit_call(&mut kind.call);
    if let Some(from) = &mut kind.from {
        v.visit_expr(from);
    }
}

pub fn walk_call<V: VisitorMut + ?Sized>(v: &mut V, call: &mut Call) {
    v.visit_span(&mut call.span);
    v.visit_ident(&mut call.name);
    for arg in call.args.iter_mut().flatten() {
        v.visit_arg(arg);
    }
}

pub fn walk_arg<V: VisitorMut + ?Sized>(v: &mut V, arg: &mut Arg) {
    v.visit_span(&mut arg.span);
    if let Some(name) = &mut arg.name {
        v.visit_ident(name);
    }
    v.visit_expr(&mut arg.value);
}

pub fn walk_expr<V: VisitorMut + ?Sized>(v: &mut V, expr: &mut Expr) {
    v.visit_span(&mut expr.span);
    match &mut expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::In => {}
        ExprKind::List(items) => items.iter_mut().for_each(|i| v.visit_expr(i)),
        ExprKind::Call(call) => v.visit_call(call),
        ExprKind::Unary(_, x) => v.visit_expr(x),
        ExprKind::Binary(_, a, b) | ExprKind::Index(a, b) => {
            v.visit_expr(a);
            v.visit_expr(b);
        }
        ExprKind::If(c, a, b) => {
            v.visit_expr(c);
            v.visit_expr(a);
            v.visit_expr(b);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    /// Counts the spans the walk hands out and renames every `w` to `width`.
    struct Rename {
        spans: usize,
        renamed: usize,
    }

    impl VisitorMut for Rename {
        fn visit_ident(&mut self, ident: &mut Ident) {
            if ident.name == "w" {
                ident.name = "width".into();
                self.renamed += 1;
            }
            self.visit_span(&mut ident.span);
        }
        fn visit_span(&mut self, _span: &mut Span) {
            self.spans += 1;
        }
    }

    #[test]
    fn the_walk_reaches_every_span_and_may_rewrite() {
        let text = "block b(w: int) {\n    let x = w * 2 # twice\n    conv(x, k: w)\n}\n";
        let mut file = crate::syntax::parse(FileId(0), text).unwrap();
        let mut v = Rename {
            spans: 0,
            renamed: 0,
        };
        v.visit_file(&mut file);
        // def, name, param, param name, type, body; let stmt, x, binary, w expr, w call,
        // w, 2; expr stmt, conv expr, conv call, conv, x arg, x expr, x call, x, k arg,
        // k, w expr, w call, w; the comment.
        assert_eq!(v.spans, 27);
        // The parameter and both uses.
        assert_eq!(v.renamed, 3);
        let Item::Block(def) = &file.items[0] else {
            panic!("a block")
        };
        assert_eq!(def.params[0].name.name, "width");
    }
}
