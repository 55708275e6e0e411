//! The formatter behind `resc fmt`: one canonical layout for `.resnet` files.
//!
//! Architecture invariant: the formatter reads only the AST and the source text (for
//! comments, blank lines, the spelling of number literals and which statements share a
//! line); it never elaborates. `parse(format(x))` equals `parse(x)` apart from spans,
//! and `format` is idempotent. [`write_formatted`] writes a formatted file back,
//! changing its text and nothing else about it (links, permissions, owner).
//!
//! # Layout rules
//!
//! - Indentation is 4 spaces; lines aim at [`MAX_WIDTH`] columns (trailing comments
//!   do not count). A construct that does not fit breaks: argument, parameter and list
//!   brackets put one item per line with a trailing comma; pipes put each `| stage` on
//!   its own line; `if … else if … else` puts each `else` on its own line; other
//!   operators (`or`, `+`, …) fill lines and continue on the next with the operator
//!   first; an `assert` message moves to its own line.
//! - One statement per line, with one exception: simple calls (a layer or block call
//!   or a name, possibly `as alias`) that the source has on one line stay on one line,
//!   separated by `; ` (`conv(64, k: 3); bn; relu`), as long as the line fits.
//! - A braced body goes on the lines between `{` and `}`. It stays on one line,
//!   `stage conv1 { conv(64, k: 7, stride: 2); bn; relu }`, when the source has the
//!   whole body on one line, it holds no comment and no braced body, and the line
//!   fits; its statements are then separated by `; `. An empty body without comments
//!   is `{}`. An `else` body that holds only an `if` statement is written `else if`.
//! - `residual … {` … `} shortcut …`: the shortcut clause (and a stage's `with
//!   shortcut …`) sits on the line of the closing brace.
//! - `stage name: stmt` and `repeat n stmt` keep the form they were written in.
//! - Blank lines: one between top-level items (consecutive imports keep the source's
//!   choice); between statements, and around comment lines, one blank line where the
//!   source had one or more, none at the start or end of a body.
//! - Spacing: spaces around binary operators, `name: value` for named arguments, no
//!   space before `(`; exactly the parentheses that precedence needs; number literals
//!   as written (`1e-5`, `1_000`); `network n()` loses its empty parentheses.
//! - `;` is written only where a statement needs it: before a statement that begins
//!   with `(`, `[` or `-` (which would otherwise continue the previous one).
//!
//! # Comments
//!
//! Every comment is written exactly once, with its trailing white space removed:
//! - on the line of the statement, parameter, item or `{` that it follows on the same
//!   source line (a trailing comment, two spaces after the code; the trailing comments
//!   of consecutive lines of one indentation and similar length line up two spaces
//!   after the longest);
//! - otherwise on a line of its own before the next statement, parameter or item, at
//!   its indentation; a comment inside a statement's line (between arguments, say)
//!   moves before that statement, and one between a closing `}` and the end of its
//!   statement (in a `shortcut` clause) moves to the end of that body;
//! - comments after the last statement stay at the end of the body, and those after
//!   the last item at the end of the file;
//! - comments between the braces of `train { … }` and `names … { … }` stay among its
//!   entries, which are then written one source line of `train` entries (ending with a
//!   comma) or one `names` rule per line.
//!
//! A parameter list that holds a comment is written one parameter per line.

mod doc;
mod expr;
mod spans;
mod stmt;
mod write;

pub use spans::without_spans;
pub use write::write_formatted;

use crate::diag::Diagnostic;
use crate::source::FileId;
use crate::syntax::{self, ast};
use doc::{bracketed, concat, text, Doc, INDENT};
use expr::{type_text, ExprPrinter};

/// The width lines are fitted to.
pub const MAX_WIDTH: usize = 100;

/// `file` in canonical layout. `source` is the text `file` was parsed from.
pub fn format(file: &ast::File, source: &str) -> String {
    let mut printer = Printer {
        source,
        comments: &file.comments,
        next_comment: 0,
        out: String::new(),
        indent: 0,
        last_end: 0,
        at_body_start: true,
        force_blank: false,
        blanks: true,
        trailing_marks: Vec::new(),
        exprs: ExprPrinter { source },
    };
    printer.file(file);
    align_trailing_comments(&printer.out, &printer.trailing_marks)
}

/// Parses `text` and formats it; the parser's diagnostics when it does not parse.
pub fn format_source(file: FileId, text: &str) -> Result<String, Vec<Diagnostic>> {
    let ast = syntax::parse(file, text)?;
    Ok(format(&ast, text))
}

/// `e` on one line, with exactly the parentheses that precedence needs (for hover
/// texts, which must not read `(-2) ** 2` as `-2 ** 2`).
pub fn expr_on_one_line(e: &ast::Expr) -> String {
    doc::flat(&ExprPrinter { source: "" }.expr(e))
}

/// Writes the output line by line and hands out each comment exactly once, in order.
struct Printer<'a> {
    source: &'a str,
    comments: &'a [ast::Comment],
    /// The first comment not yet written.
    next_comment: usize,
    out: String,
    /// The indentation of the current line, in columns.
    indent: usize,
    /// The source offset where the last written code or comment ended.
    last_end: usize,
    /// No line has been written in the current body (or file) yet.
    at_body_start: bool,
    /// A blank line is owed before the next line (between items).
    force_blank: bool,
    /// Whether blank lines of the source are kept (not inside parameter lists).
    blanks: bool,
    /// Where in `out` each trailing comment's line ends its code, for alignment.
    trailing_marks: Vec<usize>,
    exprs: ExprPrinter<'a>,
}

impl<'a> Printer<'a> {
    // -----------------------------------------------------------------------------
    // Lines and comments.

    /// Begins a line for source text that starts at `pos`: a blank line first if one
    /// is owed or the source has one since the last thing written, then indentation.
    fn start_line(&mut self, pos: usize) {
        let blank = if self.force_blank {
            !self.out.is_empty()
        } else {
            self.blanks && !self.at_body_start && self.newlines_since_last(pos) >= 2
        };
        if blank {
            self.out.push('\n');
        }
        self.force_blank = false;
        self.at_body_start = false;
        self.out.extend(std::iter::repeat_n(' ', self.indent));
    }

    /// Begins a line that never has a blank line before it (a closing bracket).
    fn start_closing_line(&mut self) {
        self.at_body_start = false;
        self.out.extend(std::iter::repeat_n(' ', self.indent));
    }

    fn newlines_since_last(&self, pos: usize) -> usize {
        if pos <= self.last_end {
            return 0;
        }
        self.source
            .get(self.last_end..pos)
            .map_or(0, |gap| gap.matches('\n').count())
    }

    /// Ends the current line, whose code ends at source offset `end`, with the
    /// comment that follows `end` on the same source line, if any.
    fn end_line(&mut self, end: usize) {
        self.last_end = self.last_end.max(end);
        if let Some(comment) = self.trailing_comment(end) {
            let (line, comment_end) = (comment_text(comment), comment.span.end as usize);
            self.trailing_marks.push(self.out.len());
            self.out.push_str("  ");
            self.out.push_str(&line);
            self.last_end = comment_end;
        }
        self.out.push('\n');
    }

    /// Takes the next comment if it follows `end` on the same line, with only white
    /// space, `;` or `,` in between.
    fn trailing_comment(&mut self, end: usize) -> Option<&'a ast::Comment> {
        let comment = self.comments.get(self.next_comment)?;
        let start = comment.span.start as usize;
        let between = self.source.get(end..start)?;
        if between.chars().all(|c| matches!(c, ' ' | '\t' | ';' | ',')) {
            self.next_comment += 1;
            Some(comment)
        } else {
            None
        }
    }

    /// Writes every comment that starts before `pos` on a line of its own.
    fn comments_before(&mut self, pos: usize) {
        self.comments_hoisted(usize::MAX, pos);
    }

    /// Writes every comment that starts before `pos` on a line of its own, before the
    /// construct that starts at `start`: a comment from inside the construct gets the
    /// blank line (or none) that the source has before the construct.
    fn comments_hoisted(&mut self, start: usize, pos: usize) {
        while let Some(comment) = self.comments.get(self.next_comment) {
            if comment.span.start as usize >= pos {
                break;
            }
            self.next_comment += 1;
            self.start_line(start.min(comment.span.start as usize));
            self.out.push_str(&comment_text(comment));
            self.out.push('\n');
            self.last_end = comment.span.end as usize;
        }
    }

    /// Whether a comment not yet written starts in `start..end`.
    fn has_comments_in(&self, start: usize, end: usize) -> bool {
        self.comments[self.next_comment..]
            .iter()
            .map(|c| c.span.start as usize)
            .take_while(|&s| s < end)
            .any(|s| s >= start)
    }

    /// `doc` laid out from the current indentation.
    fn render(&self, doc: &Doc) -> String {
        doc::render(doc, self.indent, self.indent, MAX_WIDTH)
    }

    // -----------------------------------------------------------------------------
    // Items.

    fn file(&mut self, file: &ast::File) {
        let mut previous_import = false;
        for (i, item) in file.items.iter().enumerate() {
            let is_import = matches!(item, ast::Item::Import(_));
            if i > 0 && !(previous_import && is_import) {
                self.force_blank = true;
            }
            match item {
                ast::Item::Import(import) => self.import(import),
                ast::Item::Network(def) => self.def("network", def),
                ast::Item::Block(def) => self.def("block", def),
            }
            previous_import = is_import;
        }
        self.comments_before(usize::MAX);
    }

    fn import(&mut self, import: &ast::Import) {
        let end = import.span.end as usize;
        self.comments_hoisted(import.span.start as usize, end);
        self.start_line(import.span.start as usize);
        let mut parts = vec![text(format!("import \"{}\"", import.path))];
        if let Some(names) = &import.names {
            let names = names.iter().map(|n| text(n.name.clone())).collect();
            parts.push(text(" "));
            parts.push(bracketed("(", names, ")"));
        }
        let line = self.render(&concat(parts));
        self.out.push_str(&line);
        self.end_line(end);
    }

    fn def(&mut self, keyword: &str, def: &ast::Def) {
        let name_end = def.name.span.end as usize;
        let body_start = def.body.span.start as usize;
        let head = format!("{keyword} {}", def.name.name);
        if def.params.is_empty() {
            // Comments anywhere in the head move before the item.
            self.comments_hoisted(def.span.start as usize, body_start);
            self.start_line(def.span.start as usize);
            self.open_body(text(head), &def.body, def.span.end as usize);
            return;
        }
        self.comments_hoisted(def.span.start as usize, name_end);
        self.start_line(def.span.start as usize);
        if !self.has_comments_in(name_end, body_start) {
            let params = def.params.iter().map(|p| self.param(p)).collect();
            let head = concat(vec![text(head), bracketed("(", params, ")")]);
            self.open_body(head, &def.body, def.span.end as usize);
            return;
        }
        // One parameter per line, with the comments among them.
        self.out.push_str(&head);
        self.out.push('(');
        self.out.push('\n');
        self.indent += INDENT;
        self.blanks = false;
        for param in &def.params {
            self.comments_before(param.span.start as usize);
            self.start_line(param.span.start as usize);
            let line = self.render(&self.param(param));
            self.out.push_str(&line);
            self.out.push(',');
            self.end_line(param.span.end as usize);
        }
        self.comments_before(body_start);
        self.blanks = true;
        self.indent -= INDENT;
        self.start_closing_line();
        self.open_body(text(")"), &def.body, def.span.end as usize);
    }

    fn param(&self, param: &ast::Param) -> Doc {
        let mut parts = vec![text(param.name.name.clone())];
        if let Some(ty) = &param.ty {
            parts.push(text(format!(": {}", type_text(ty))));
        }
        if let Some(default) = &param.default {
            parts.push(text(" = "));
            parts.push(self.exprs.expr(default));
        }
        concat(parts)
    }
}

/// A comment as written, without trailing white space.
fn comment_text(comment: &ast::Comment) -> String {
    format!("#{}", comment.text.trim_end())
}

/// How much longer or shorter than the line before a line's code may be for their
/// trailing comments to line up.
const ALIGN_SPREAD: usize = 20;

/// Aligns the trailing comments of consecutive lines of one indentation, as a column
/// two spaces after the longest code among them; a line whose code is more than
/// [`ALIGN_SPREAD`] columns longer or shorter than the one before starts a new group.
/// `marks` are the offsets in `out` where the code of a line with a trailing comment
/// ends, in order.
fn align_trailing_comments(out: &str, marks: &[usize]) -> String {
    struct Mark {
        at: usize,
        line: usize,
        indent: usize,
        code_width: usize,
    }
    let mut line = 0;
    let mut scanned = 0;
    let info: Vec<Mark> = marks
        .iter()
        .map(|&at| {
            line += out[scanned..at].matches('\n').count();
            scanned = at;
            let line_start = out[..at].rfind('\n').map_or(0, |i| i + 1);
            let code = &out[line_start..at];
            Mark {
                at,
                line,
                indent: code.len() - code.trim_start_matches(' ').len(),
                code_width: doc::width(code),
            }
        })
        .collect();
    let mut result = String::with_capacity(out.len());
    let mut copied = 0;
    let mut group_start = 0;
    while group_start < info.len() {
        let mut group_end = group_start + 1;
        while group_end < info.len()
            && info[group_end].line == info[group_end - 1].line + 1
            && info[group_end].indent == info[group_start].indent
            && info[group_end]
                .code_width
                .abs_diff(info[group_end - 1].code_width)
                <= ALIGN_SPREAD
        {
            group_end += 1;
        }
        let group = &info[group_start..group_end];
        let column = group.iter().map(|m| m.code_width).max().unwrap_or(0);
        for mark in group {
            result.push_str(&out[copied..mark.at]);
            result.extend(std::iter::repeat_n(' ', column - mark.code_width));
            copied = mark.at;
        }
        group_start = group_end;
    }
    result.push_str(&out[copied..]);
    result
}
