//! Walking the AST by shared reference, the way `syn::visit` and `rustc_ast::visit` do.
//!
//! Rule: one `walk_*` function per node kind visits that node's children, in source
//! order, through the [`Visitor`] methods; each `visit_*` method by default only calls
//! its `walk_*`. An implementor overrides the methods of the nodes it cares about and
//! calls the `walk_*` function from the override where it still wants the children.
//! The walk never evaluates, resolves or allocates; it only follows the tree.
//! [`super::visit_mut`] is the same walk by mutable reference.

use super::ast::*;

/// A visit of the AST. Every method's default visits the node's children.
pub trait Visitor<'ast> {
    fn visit_file(&mut self, file: &'ast File) {
        walk_file(self, file)
    }
    fn visit_item(&mut self, item: &'ast Item) {
        walk_item(self, item)
    }
    fn visit_import(&mut self, import: &'ast Import) {
        walk_import(self, import)
    }
    /// A `network` or a `block` definition.
    fn visit_def(&mut self, def: &'ast Def) {
        walk_def(self, def)
    }
    fn visit_param(&mut self, param: &'ast Param) {
        walk_param(self, param)
    }
    fn visit_type(&mut self, ty: &'ast TypeExpr) {
        walk_type(self, ty)
    }
    fn visit_body(&mut self, body: &'ast Body) {
        walk_body(self, body)
    }
    fn visit_stmt(&mut self, stmt: &'ast Stmt) {
        walk_stmt(self, stmt)
    }
    fn visit_name_rule(&mut self, _rule: &'ast NameRule) {}
    fn visit_shortcut_clause(&mut self, clause: &'ast ShortcutClause) {
        walk_shortcut_clause(self, clause)
    }
    fn visit_shortcut_kind(&mut self, kind: &'ast ShortcutKind) {
        walk_shortcut_kind(self, kind)
    }
    /// A call or a name: in an expression, a shortcut kind, or `with shortcut`.
    fn visit_call(&mut self, call: &'ast Call) {
        walk_call(self, call)
    }
    /// An argument of a call, of `csp(…)`, or an entry of `train { … }`.
    fn visit_arg(&mut self, arg: &'ast Arg) {
        walk_arg(self, arg)
    }
    fn visit_expr(&mut self, expr: &'ast Expr) {
        walk_expr(self, expr)
    }
    /// Every identifier: names being defined and names being used alike.
    fn visit_ident(&mut self, _ident: &'ast Ident) {}
    fn visit_comment(&mut self, _comment: &'ast Comment) {}
}

/// The items, then the comments.
pub fn walk_file<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, file: &'ast File) {
    for item in &file.items {
        v.visit_item(item);
    }
    for comment in &file.comments {
        v.visit_comment(comment);
    }
}

pub fn walk_item<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, item: &'ast Item) {
    match item {
        Item::Import(import) => v.visit_import(import),
        Item::Network(def) | Item::Block(def) => v.visit_def(def),
    }
}

pub fn walk_import<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, import: &'ast Import) {
    for name in import.names.iter().flatten() {
        v.visit_ident(name);
    }
}

pub fn walk_def<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, def: &'ast Def) {
    v.visit_ident(&def.name);
    for param in &def.params {
        v.visit_param(param);
    }
    v.visit_body(&def.body);
}

pub fn walk_param<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, param: &'ast Param) {
    v.visit_ident(&param.name);
    if let Some(ty) = &param.ty {
        v.visit_type(ty);
    }
    if let Some(default) = &param.default {
        v.visit_expr(default);
    }
}

pub fn walk_type<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, ty: &'ast TypeExpr) {
    match &ty.kind {
        TypeKind::Named(_) => {}
        TypeKind::List(inner) => v.visit_type(inner),
        TypeKind::Enum(names) => names.iter().for_each(|n| v.visit_ident(n)),
    }
}

pub fn walk_body<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, body: &'ast Body) {
    for stmt in &body.stmts {
        v.visit_stmt(stmt);
    }
}

pub fn walk_stmt<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, stmt: &'ast Stmt) {
    match &stmt.kind {
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
        StmtKind::Csp { args, body, .. } => {
            args.iter().for_each(|a| v.visit_arg(a));
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
        StmtKind::Train { entries } => entries.iter().for_each(|a| v.visit_arg(a)),
        StmtKind::Names { framework, rules } => {
            v.visit_ident(framework);
            rules.iter().for_each(|r| v.visit_name_rule(r));
        }
        StmtKind::Expr { expr, alias } => {
            v.visit_expr(expr);
            if let Some(alias) = alias {
                v.visit_ident(alias);
            }
        }
    }
}

pub fn walk_shortcut_clause<'ast, V: Visitor<'ast> + ?Sized>(
    v: &mut V,
    clause: &'ast ShortcutClause,
) {
    v.visit_shortcut_kind(&clause.first);
    if let Some(second) = &clause.second {
        v.visit_shortcut_kind(second);
    }
}

pub fn walk_shortcut_kind<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, kind: &'ast ShortcutKind) {
    v.visit_call(&kind.call);
    if let Some(from) = &kind.from {
        v.visit_expr(from);
    }
}

pub fn walk_call<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, call: &'ast Call) {
    v.visit_ident(&call.name);
    for arg in call.args.iter().flatten() {
        v.visit_arg(arg);
    }
}

pub fn walk_arg<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, arg: &'ast Arg) {
    if let Some(name) = &arg.name {
        v.visit_ident(name);
    }
    v.visit_expr(&arg.value);
}

pub fn walk_expr<'ast, V: Visitor<'ast> + ?Sized>(v: &mut V, expr: &'ast Expr) {
    match &expr.kind {
        ExprKind::Int(_)
        | ExprKind::Float(_)
        | ExprKind::Bool(_)
        | ExprKind::Str(_)
        | ExprKind::In => {}
        ExprKind::List(items) => items.iter().for_each(|i| v.visit_expr(i)),
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

    const SOURCE: &str = "\
import \"blocks.resnet\" (basic)
# A comment.
block unit(width: int, act: relu | gelu = relu, k = max(3, 1)) {
    let w = width * 2
    residual from in { conv(w, k: k); bn } shortcut projection(bn: false) from in
    repeat 2 as i { conv(w + i) }
}
network net(n: [int] = [1, 2]) {
    input [3, 32, 32]
    stage s1: repeat n[0] unit(16) with shortcut dense(init: 0.5)
    csp(split: 0.5) { basic(8) }
    if n[1] > 1 { relu } else { gelu }
    train { epochs: 3 }
    names torch { \"a.*\" -> \"b.*\" }
    in | conv(4) as last
}
";

    fn parse() -> File {
        crate::syntax::parse(FileId(0), SOURCE).expect("the test source parses")
    }

    /// Counts the calls and collects every identifier, in visiting order.
    #[derive(Default)]
    struct Census {
        calls: Vec<String>,
        idents: Vec<String>,
        stmts: usize,
        comments: usize,
    }

    impl<'ast> Visitor<'ast> for Census {
        fn visit_call(&mut self, call: &'ast Call) {
            self.calls.push(call.name.name.clone());
            walk_call(self, call);
        }
        fn visit_ident(&mut self, ident: &'ast Ident) {
            self.idents.push(ident.name.clone());
        }
        fn visit_stmt(&mut self, stmt: &'ast Stmt) {
            self.stmts += 1;
            walk_stmt(self, stmt);
        }
        fn visit_comment(&mut self, _comment: &'ast Comment) {
            self.comments += 1;
        }
    }

    #[test]
    fn the_walk_reaches_every_call_and_name_in_source_order() {
        let file = parse();
        let mut census = Census::default();
        census.visit_file(&file);
        assert_eq!(
            census.calls.join(" "),
            "relu max width conv w k bn projection conv w i n unit dense basic n relu gelu conv"
        );
        // Definitions and uses alike, argument names and enumeration symbols included.
        assert_eq!(
            census.idents.join(" "),
            "basic unit width act relu gelu relu k max w width conv w k k bn projection bn i \
             conv w i net n s1 n unit dense init split basic n relu gelu epochs torch conv last"
        );
        assert_eq!(census.stmts, 18);
        assert_eq!(census.comments, 1);
    }

    /// An override that does not walk stops the descent: here, into block bodies.
    #[test]
    fn an_override_without_a_walk_prunes() {
        struct Signatures(usize);
        impl<'ast> Visitor<'ast> for Signatures {
            fn visit_body(&mut self, _body: &'ast Body) {}
            fn visit_call(&mut self, call: &'ast Call) {
                self.0 += 1;
                walk_call(self, call);
            }
        }
        let mut v = Signatures(0);
        v.visit_file(&parse());
        assert_eq!(v.0, 2); // `relu` and `max(3, 1)` in defaults.
    }
}
