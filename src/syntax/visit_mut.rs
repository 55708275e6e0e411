//! Walking the AST by mutable reference: [`super::visit`] for code that rewrites the
//! tree in place (the formatter's span eraser).
//!
//! Rule: the same walk as `visit`, node kind by node kind and in the same order, spans
//! included; both are generated from the one definition, `make_ast_visitor!` in `visit`.

use super::ast::*;

super::visit::make_ast_visitor!(
    /// A visit of the AST that may change it. Every method's default visits the node's
    /// spans and children.
    VisitorMut, mut
);

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
