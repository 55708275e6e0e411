//! Comparing syntax trees apart from where they were written: the formatter's promise
//! is that `parse(format(x))` equals `parse(x)` up to spans.
//!
//! Rule: the eraser is a [`VisitorMut`] that overrides only the span and the comment
//! visits, so that a new kind of node is erased by the shared walk, not by code here.

use crate::source::Span;
use crate::syntax::ast::*;
use crate::syntax::visit_mut::VisitorMut;

/// A copy of `file` with every span (and the file id) zeroed and every comment's
/// trailing white space removed, so that two parses of differently laid out texts
/// compare equal with `==` exactly when they mean the same thing. Comments keep their
/// order.
pub fn without_spans(file: &File) -> File {
    let mut file = file.clone();
    file.file = Default::default();
    SpanEraser.visit_file(&mut file);
    file
}

struct SpanEraser;

impl VisitorMut for SpanEraser {
    fn visit_comment(&mut self, comment: &mut Comment) {
        comment.text = comment.text.trim_end().to_string();
        self.visit_span(&mut comment.span);
    }

    fn visit_span(&mut self, span: &mut Span) {
        *span = Span::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    /// Two layouts of one file (every kind of node) erase to the same tree, and no span
    /// survives the erasure.
    #[test]
    fn layouts_erase_to_one_tree() {
        let a = "import \"b.resnet\" (x)\nblock u(c: [int], m: a | b = a) { residual from in { conv(c[0]) } shortcut projection(bn: false) from in }\nnetwork n() { input [3, 8, 8]\n stage s: repeat 2 as i u([4]) with shortcut dense\n csp(split: 0.5) { relu }\n if 1 > 0 { relu } else { gelu }\n train { epochs: 1 }\n names t { \"a\" -> \"b\" }\n relu as r  # done   \n}\n";
        let b = a
            .replace("{ ", "{\n    ")
            .replace(" }", "\n}")
            .replace("# done   ", "# done");
        let (fa, fb) = (
            crate::syntax::parse(FileId(0), a).unwrap(),
            crate::syntax::parse(FileId(1), &b).unwrap(),
        );
        assert_ne!(fa, fb);
        let erased = without_spans(&fa);
        assert_eq!(erased, without_spans(&fb));
        struct Remaining(usize);
        impl VisitorMut for Remaining {
            fn visit_span(&mut self, span: &mut Span) {
                self.0 += usize::from(*span != Span::default());
            }
        }
        let mut remaining = Remaining(0);
        remaining.visit_file(&mut erased.clone());
        assert_eq!(remaining.0, 0);
    }
}
