//! Walking the AST, by shared reference ([`Visitor`]) and by mutable reference
//! ([`super::visit_mut::VisitorMut`]), the way `syn::visit` and `rustc_ast::visit` do.
//!
//! Rule: one `walk_*` function per node kind visits that node's spans and children, in
//! source order, through the visitor's methods; each `visit_*` method by default only
//! calls its `walk_*`. An implementor overrides the methods of the nodes it cares about
//! and calls the `walk_*` function from the override where it still wants the children.
//! Every `Span` a node holds (its own, and `path_span`/`args_span`) is handed to
//! `visit_span`, so that a visitor that only cares about spans overrides that one
//! method. The walk never evaluates, resolves or allocates; it only follows the tree.
//!
//! Both visitors are written once, in `make_ast_visitor!`, as `rustc_ast` does: the
//! shared one is made with a lifetime (`&'ast Node`), the mutable one with `mut`
//! (`&mut Node`), so that the two walks cannot drift apart.

use super::ast::*;

/// Defines a visitor trait and its `walk_*` functions in the calling module: given
/// `Name<'lt>` the nodes are taken as `&'lt Node`, given `Name, mut` as `&mut Node`.
macro_rules! make_ast_visitor {
    ($(#[$attr:meta])* $trait_name:ident $(<$lt:lifetime>)? $(, $mut:ident)?) => {
        use crate::source::Span;

        $(#[$attr])*
        pub trait $trait_name $(<$lt>)? {
            fn visit_file(&mut self, file: & $($lt)? $($mut)? File) {
                walk_file(self, file)
            }
            fn visit_item(&mut self, item: & $($lt)? $($mut)? Item) {
                walk_item(self, item)
            }
            fn visit_import(&mut self, import: & $($lt)? $($mut)? Import) {
                walk_import(self, import)
            }
            /// A `network` or a `block` definition.
            fn visit_def(&mut self, def: & $($lt)? $($mut)? Def) {
                walk_def(self, def)
            }
            fn visit_param(&mut self, param: & $($lt)? $($mut)? Param) {
                walk_param(self, param)
            }
            fn visit_type(&mut self, ty: & $($lt)? $($mut)? TypeExpr) {
                walk_type(self, ty)
            }
            fn visit_body(&mut self, body: & $($lt)? $($mut)? Body) {
                walk_body(self, body)
            }
            fn visit_stmt(&mut self, stmt: & $($lt)? $($mut)? Stmt) {
                walk_stmt(self, stmt)
            }
            fn visit_name_rule(&mut self, rule: & $($lt)? $($mut)? NameRule) {
                self.visit_span(& $($mut)? rule.span)
            }
            fn visit_shortcut_clause(&mut self, clause: & $($lt)? $($mut)? ShortcutClause) {
                walk_shortcut_clause(self, clause)
            }
            fn visit_shortcut_kind(&mut self, kind: & $($lt)? $($mut)? ShortcutKind) {
                walk_shortcut_kind(self, kind)
            }
            /// A call or a name: in an expression, a shortcut kind, or `with shortcut`.
            fn visit_call(&mut self, call: & $($lt)? $($mut)? Call) {
                walk_call(self, call)
            }
            /// An argument of a call, of `csp(…)`, or an entry of `train { … }`.
            fn visit_arg(&mut self, arg: & $($lt)? $($mut)? Arg) {
                walk_arg(self, arg)
            }
            fn visit_expr(&mut self, expr: & $($lt)? $($mut)? Expr) {
                walk_expr(self, expr)
            }
            /// Every identifier: names being defined and names being used alike.
            fn visit_ident(&mut self, ident: & $($lt)? $($mut)? Ident) {
                self.visit_span(& $($mut)? ident.span)
            }
            fn visit_comment(&mut self, comment: & $($lt)? $($mut)? Comment) {
                self.visit_span(& $($mut)? comment.span)
            }
            /// Every span of every node.
            fn visit_span(&mut self, _span: & $($lt)? $($mut)? Span) {}
        }

        /// The items, then the comments.
        pub fn walk_file<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            file: & $($lt)? $($mut)? File,
        ) {
            for item in & $($mut)? file.items {
                v.visit_item(item);
            }
            for comment in & $($mut)? file.comments {
                v.visit_comment(comment);
            }
        }

        pub fn walk_item<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            item: & $($lt)? $($mut)? Item,
        ) {
            match item {
                Item::Import(import) => v.visit_import(import),
                Item::Network(def) | Item::Block(def) => v.visit_def(def),
            }
        }

        pub fn walk_import<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            import: & $($lt)? $($mut)? Import,
        ) {
            v.visit_span(& $($mut)? import.span);
            v.visit_span(& $($mut)? import.path_span);
            for name in (& $($mut)? import.names).into_iter().flatten() {
                v.visit_ident(name);
            }
        }

        pub fn walk_def<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            def: & $($lt)? $($mut)? Def,
        ) {
            v.visit_span(& $($mut)? def.span);
            v.visit_ident(& $($mut)? def.name);
            for param in & $($mut)? def.params {
                v.visit_param(param);
            }
            v.visit_body(& $($mut)? def.body);
        }

        pub fn walk_param<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            param: & $($lt)? $($mut)? Param,
        ) {
            v.visit_span(& $($mut)? param.span);
            v.visit_ident(& $($mut)? param.name);
            if let Some(ty) = & $($mut)? param.ty {
                v.visit_type(ty);
            }
            if let Some(default) = & $($mut)? param.default {
                v.visit_expr(default);
            }
        }

        pub fn walk_type<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            ty: & $($lt)? $($mut)? TypeExpr,
        ) {
            v.visit_span(& $($mut)? ty.span);
            match & $($mut)? ty.kind {
                TypeKind::Named(_) => {}
                TypeKind::List(inner) => v.visit_type(inner),
                TypeKind::Enum(names) => {
                    for name in names {
                        v.visit_ident(name);
                    }
                }
            }
        }

        pub fn walk_body<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            body: & $($lt)? $($mut)? Body,
        ) {
            v.visit_span(& $($mut)? body.span);
            for stmt in & $($mut)? body.stmts {
                v.visit_stmt(stmt);
            }
        }

        pub fn walk_stmt<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            stmt: & $($lt)? $($mut)? Stmt,
        ) {
            v.visit_span(& $($mut)? stmt.span);
            match & $($mut)? stmt.kind {
                StmtKind::Input(e) | StmtKind::Assert { cond: e, .. } => v.visit_expr(e),
                StmtKind::Let { name, value } => {
                    v.visit_ident(name);
                    v.visit_expr(value);
                }
                StmtKind::LetList {
                    names,
                    pattern,
                    value,
                } => {
                    v.visit_span(pattern);
                    for name in names {
                        v.visit_ident(name);
                    }
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
                    count,
                    index,
                    body,
                    collect,
                    ..
                } => {
                    if let Some(collect) = collect {
                        v.visit_ident(collect);
                    }
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
                    for arg in args {
                        v.visit_arg(arg);
                    }
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
                StmtKind::Train { entries } => {
                    for entry in entries {
                        v.visit_arg(entry);
                    }
                }
                StmtKind::Names { framework, rules } => {
                    v.visit_ident(framework);
                    for rule in rules {
                        v.visit_name_rule(rule);
                    }
                }
                StmtKind::Expr { expr, alias } => {
                    v.visit_expr(expr);
                    if let Some(alias) = alias {
                        v.visit_ident(alias);
                    }
                }
            }
        }

        pub fn walk_shortcut_clause<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            clause: & $($lt)? $($mut)? ShortcutClause,
        ) {
            v.visit_span(& $($mut)? clause.span);
            v.visit_shortcut_kind(& $($mut)? clause.first);
            if let Some(second) = & $($mut)? clause.second {
                v.visit_shortcut_kind(second);
            }
        }

        pub fn walk_shortcut_kind<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            kind: & $($lt)? $($mut)? ShortcutKind,
        ) {
            v.visit_span(& $($mut)? kind.span);
            v.visit_call(& $($mut)? kind.call);
            if let Some(from) = & $($mut)? kind.from {
                v.visit_expr(from);
            }
        }

        pub fn walk_call<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            call: & $($lt)? $($mut)? Call,
        ) {
            v.visit_span(& $($mut)? call.span);
            v.visit_ident(& $($mut)? call.name);
            for arg in (& $($mut)? call.args).into_iter().flatten() {
                v.visit_arg(arg);
            }
        }

        pub fn walk_arg<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            arg: & $($lt)? $($mut)? Arg,
        ) {
            v.visit_span(& $($mut)? arg.span);
            if let Some(name) = & $($mut)? arg.name {
                v.visit_ident(name);
            }
            v.visit_expr(& $($mut)? arg.value);
        }

        pub fn walk_expr<$($lt,)? V: $trait_name $(<$lt>)? + ?Sized>(
            v: &mut V,
            expr: & $($lt)? $($mut)? Expr,
        ) {
            v.visit_span(& $($mut)? expr.span);
            match & $($mut)? expr.kind {
                ExprKind::Int(_)
                | ExprKind::Float(_)
                | ExprKind::Bool(_)
                | ExprKind::Str(_)
                | ExprKind::In => {}
                ExprKind::List(items) => {
                    for item in items {
                        v.visit_expr(item);
                    }
                }
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
    };
}
pub(super) use make_ast_visitor;

make_ast_visitor!(
    /// A visit of the AST. Every method's default visits the node's spans and children.
    Visitor<'ast>
);

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
