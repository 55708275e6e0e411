//! A small width-aware pretty printer, in the style of Wadler's "prettier printer":
//! a [`Doc`] describes text with optional line breaks, and [`render`] chooses for each
//! group whether it fits on the current line or breaks.
//!
//! The layout depends only on the document and the width, never on how the source was
//! laid out; that is what makes the formatter idempotent for everything inside a line.

/// A document: text with places where a line may break.
#[derive(Clone, Debug)]
pub(crate) enum Doc {
    /// Text without newlines.
    Text(String),
    /// A space, or a newline when the enclosing group breaks.
    Line,
    /// Nothing, or a newline when the enclosing group breaks.
    SoftLine,
    Concat(Vec<Doc>),
    /// Lines broken inside are indented one more level.
    Indent(Box<Doc>),
    /// Laid out flat when it fits in the rest of the line, else with its lines broken.
    Group(Box<Doc>),
    /// Contents and separators alternating (`[content, separator, content, …]`): each
    /// separator breaks only when the content after it would not fit on the line.
    Fill(Vec<Doc>),
    /// Text printed only when the enclosing group breaks (a trailing comma).
    IfBreak(&'static str),
}

/// How many columns one level of indentation takes.
pub(crate) const INDENT: usize = 4;

pub(crate) fn text(s: impl Into<String>) -> Doc {
    Doc::Text(s.into())
}

pub(crate) fn concat(parts: Vec<Doc>) -> Doc {
    Doc::Concat(parts)
}

pub(crate) fn indent(doc: Doc) -> Doc {
    Doc::Indent(Box::new(doc))
}

pub(crate) fn group(doc: Doc) -> Doc {
    Doc::Group(Box::new(doc))
}

/// `open item, item, item close`, or when it does not fit, one item per line with a
/// trailing comma: the layout of argument, parameter and list brackets.
pub(crate) fn bracketed(open: &str, items: Vec<Doc>, close: &str) -> Doc {
    if items.is_empty() {
        return text(format!("{open}{close}"));
    }
    let mut inner = vec![Doc::SoftLine];
    for (i, item) in items.into_iter().enumerate() {
        if i > 0 {
            inner.push(text(","));
            inner.push(Doc::Line);
        }
        inner.push(item);
    }
    group(concat(vec![
        text(open),
        indent(concat(inner)),
        Doc::IfBreak(","),
        Doc::SoftLine,
        text(close),
    ]))
}

/// The number of columns `s` takes (characters, not bytes).
pub(crate) fn width(s: &str) -> usize {
    s.chars().count()
}

/// The document laid out on one line.
pub(crate) fn flat(doc: &Doc) -> String {
    let mut out = String::new();
    flat_into(doc, &mut out);
    out
}

fn flat_into(doc: &Doc, out: &mut String) {
    match doc {
        Doc::Text(s) => out.push_str(s),
        Doc::Line => out.push(' '),
        Doc::SoftLine | Doc::IfBreak(_) => {}
        Doc::Concat(parts) | Doc::Fill(parts) => parts.iter().for_each(|p| flat_into(p, out)),
        Doc::Indent(d) | Doc::Group(d) => flat_into(d, out),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Mode {
    Flat,
    Break,
}

/// One pending piece of work of the renderer.
enum Cmd<'a> {
    Doc(usize, Mode, &'a Doc),
    /// The rest of a fill, starting at a content (even length left) or at a separator.
    Fill(usize, &'a [Doc], bool),
}

/// Lays `doc` out in `max_width` columns. The first line continues a line on which
/// `start_col` columns are already taken; broken lines start with `indent` spaces plus
/// their own indentation. The result has no trailing newline.
pub(crate) fn render(doc: &Doc, indent: usize, start_col: usize, max_width: usize) -> String {
    let mut out = String::new();
    let mut col = start_col;
    let mut stack = vec![Cmd::Doc(indent, Mode::Break, doc)];
    while let Some(cmd) = stack.pop() {
        match cmd {
            Cmd::Doc(ind, mode, doc) => match doc {
                Doc::Text(s) => {
                    out.push_str(s);
                    col += width(s);
                }
                Doc::Line | Doc::SoftLine if mode == Mode::Break => {
                    newline(&mut out, ind);
                    col = ind;
                }
                Doc::Line => {
                    out.push(' ');
                    col += 1;
                }
                Doc::SoftLine => {}
                Doc::IfBreak(s) => {
                    if mode == Mode::Break {
                        out.push_str(s);
                        col += width(s);
                    }
                }
                Doc::Concat(parts) => {
                    stack.extend(parts.iter().rev().map(|p| Cmd::Doc(ind, mode, p)));
                }
                Doc::Indent(d) => stack.push(Cmd::Doc(ind + INDENT, mode, d)),
                Doc::Group(d) => {
                    let mode = if mode == Mode::Flat || fits(&[d], &stack, max_width, col) {
                        Mode::Flat
                    } else {
                        Mode::Break
                    };
                    stack.push(Cmd::Doc(ind, mode, d));
                }
                Doc::Fill(parts) => {
                    if mode == Mode::Flat {
                        stack.extend(parts.iter().rev().map(|p| Cmd::Doc(ind, mode, p)));
                    } else {
                        stack.push(Cmd::Fill(ind, parts, true));
                    }
                }
            },
            Cmd::Fill(ind, parts, at_content) => {
                let Some(first) = parts.first() else {
                    continue;
                };
                if at_content {
                    // A content: flat when it fits on its own.
                    let mode = if fits(&[first], &[], max_width, col) {
                        Mode::Flat
                    } else {
                        Mode::Break
                    };
                    stack.push(Cmd::Fill(ind, &parts[1..], false));
                    stack.push(Cmd::Doc(ind, mode, first));
                } else {
                    // A separator: flat when the content after it fits behind it.
                    let pair: Vec<&Doc> = parts.iter().take(2).collect();
                    let mode = if fits(&pair, &[], max_width, col) {
                        Mode::Flat
                    } else {
                        Mode::Break
                    };
                    stack.push(Cmd::Fill(ind, &parts[1..], true));
                    stack.push(Cmd::Doc(ind, mode, first));
                }
            }
        }
    }
    out
}

fn newline(out: &mut String, indent: usize) {
    out.push('\n');
    out.extend(std::iter::repeat_n(' ', indent));
}

/// Whether `next`, laid out flat, and what follows it (`rest`, a render stack) up to
/// the next line break fit in the columns left on the line.
fn fits(next: &[&Doc], rest: &[Cmd<'_>], max_width: usize, col: usize) -> bool {
    let mut left = max_width as isize - col as isize;
    let mut local: Vec<(Mode, &Doc)> = next.iter().rev().map(|d| (Mode::Flat, *d)).collect();
    let mut rest = rest.iter().rev();
    loop {
        if left < 0 {
            return false;
        }
        let (mode, doc) = match local.pop() {
            Some(item) => item,
            None => match rest.next() {
                Some(Cmd::Doc(_, mode, doc)) => (*mode, *doc),
                // What follows a fill starts on a line of its own or is measured there.
                Some(Cmd::Fill(..)) | None => return true,
            },
        };
        match doc {
            Doc::Text(s) => left -= width(s) as isize,
            Doc::Line | Doc::SoftLine if mode == Mode::Break => return true,
            Doc::Line => left -= 1,
            Doc::SoftLine => {}
            Doc::IfBreak(s) => {
                if mode == Mode::Break {
                    left -= width(s) as isize;
                }
            }
            Doc::Concat(parts) | Doc::Fill(parts) => {
                local.extend(parts.iter().rev().map(|p| (mode, p)));
            }
            Doc::Indent(d) | Doc::Group(d) => local.push((mode, d)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call(name: &str, args: &[&str]) -> Doc {
        bracketed(
            &format!("{name}("),
            args.iter().map(|a| text(*a)).collect(),
            ")",
        )
    }

    #[test]
    fn groups_break_only_when_they_do_not_fit() {
        let doc = call("conv", &["64", "k: 3"]);
        assert_eq!(render(&doc, 0, 0, 100), "conv(64, k: 3)");
        assert_eq!(
            render(&doc, 4, 4, 12),
            "conv(\n        64,\n        k: 3,\n    )"
        );
    }

    #[test]
    fn text_after_a_group_counts_towards_its_fit() {
        let doc = concat(vec![call("f", &["a", "b"]), text(" {")]);
        assert_eq!(render(&doc, 0, 0, 9), "f(a, b) {");
        assert_eq!(render(&doc, 0, 0, 8), "f(\n    a,\n    b,\n) {");
    }

    #[test]
    fn fill_breaks_only_where_needed() {
        let mut parts = vec![text("a1")];
        for item in ["or a2", "or a3", "or a4"] {
            parts.push(Doc::Line);
            parts.push(text(item));
        }
        let doc = indent(Doc::Fill(parts));
        assert_eq!(render(&doc, 0, 0, 100), "a1 or a2 or a3 or a4");
        assert_eq!(render(&doc, 0, 0, 14), "a1 or a2 or a3\n    or a4");
        assert_eq!(flat(&doc), "a1 or a2 or a3 or a4");
    }
}
