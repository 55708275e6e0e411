//! Statements and bodies: which statements share a line, where bodies open and close,
//! and where the comments among them go.

use super::doc::{self, bracketed, concat, group, indent, text, Doc, INDENT};
use super::{Printer, MAX_WIDTH};
use crate::source::Span;
use crate::syntax::ast::{Body, Expr, ExprKind, ShortcutKind, Stmt, StmtKind};

/// A statement cut at its braced bodies: `head {` body `}after {` body `}after`, where
/// the last `after` is the rest of the statement (a shortcut clause, say). Statements
/// without a braced body (looking through `stage s:` and `repeat n`) are all head.
struct Shape<'s> {
    head: Doc,
    bodies: Vec<(&'s Body, Doc)>,
}

/// The single statement of `stage s: stmt` or `repeat n stmt`, when `stmt` is written
/// in that form.
fn unbraced_inner(stmt: &Stmt) -> Option<&Stmt> {
    match &stmt.kind {
        StmtKind::Stage {
            body, colon: true, ..
        }
        | StmtKind::Repeat {
            body,
            braces: false,
            ..
        } if body.stmts.len() == 1 => Some(&body.stmts[0]),
        _ => None,
    }
}

/// How many `;` must separate the statement `inner` of `stage s: inner` from the
/// stage's `with shortcut …`, so that no stage nested at the end of `inner` takes the
/// clause: each `;` closes one statement, from the innermost up to the deepest stage
/// that has no `with` clause of its own.
fn semicolons_before_with(inner: &Stmt) -> usize {
    let mut spine = vec![inner];
    while let Some(next) = unbraced_inner(spine[spine.len() - 1]) {
        spine.push(next);
    }
    let open = spine.iter().rposition(|s| {
        matches!(
            s.kind,
            StmtKind::Stage {
                with_shortcut: None,
                ..
            }
        )
    });
    open.map_or(0, |j| spine.len() - j)
}

/// `head` followed by an inner statement's shape, with `extra` after all of it.
fn wrap<'s>(head: Doc, inner: Shape<'s>, extra: Option<Doc>) -> Shape<'s> {
    let extra = extra.unwrap_or(text(""));
    let mut bodies = inner.bodies;
    match bodies.last_mut() {
        None => Shape {
            head: concat(vec![head, inner.head, extra]),
            bodies,
        },
        Some((_, after)) => {
            *after = concat(vec![std::mem::replace(after, text("")), extra]);
            Shape {
                head: concat(vec![head, inner.head]),
                bodies,
            }
        }
    }
}

/// A statement that may share its line with others: a call or a name, maybe named.
fn is_simple(stmt: &Stmt) -> bool {
    matches!(&stmt.kind, StmtKind::Expr { expr, .. } if matches!(expr.kind, ExprKind::Call(_)))
}

impl Printer<'_> {
    fn shape<'s>(&self, stmt: &'s Stmt) -> Shape<'s> {
        let e = &self.exprs;
        let simple = |head| Shape {
            head,
            bodies: Vec::new(),
        };
        let braced = |head, body, tail| Shape {
            head,
            bodies: vec![(body, tail)],
        };
        match &stmt.kind {
            StmtKind::Input(shape) => simple(concat(vec![text("input "), e.expr(shape)])),
            StmtKind::Let { name, value } => simple(concat(vec![
                text(format!("let {} = ", name.name)),
                e.expr(value),
            ])),
            StmtKind::LetList { names, value, .. } => {
                let names: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
                simple(concat(vec![
                    text(format!("let [{}] = ", names.join(", "))),
                    e.expr(value),
                ]))
            }
            StmtKind::Assert { cond, message } => simple(match message {
                None => concat(vec![text("assert "), e.expr(cond)]),
                Some(message) => group(concat(vec![
                    text("assert "),
                    e.expr(cond),
                    text(","),
                    indent(concat(vec![Doc::Line, text(format!("\"{message}\""))])),
                ])),
            }),
            StmtKind::Names { framework, rules } if rules.is_empty() => {
                simple(text(format!("names {} {{}}", framework.name)))
            }
            StmtKind::Names { framework, rules } => {
                // One rule per line: a table reads best that way.
                let mut inner = Vec::new();
                for rule in rules {
                    inner.push(Doc::Line);
                    inner.push(text(format!(
                        "\"{}\" -> \"{}\"",
                        rule.pattern, rule.replacement
                    )));
                }
                let doc = concat(vec![
                    text(format!("names {} {{", framework.name)),
                    indent(concat(inner)),
                    Doc::Line,
                    text("}"),
                ]);
                // Outside a group the lines break: one rule per line, even when short.
                simple(if rules.len() > 1 { doc } else { group(doc) })
            }
            StmtKind::Train { entries } if entries.is_empty() => simple(text("train {}")),
            StmtKind::Train { entries } => {
                // `train { a: 1, b: 2 }` when it fits; else one line per source line of
                // entries, each ending with a comma.
                let mut inner = Vec::new();
                for (i, entry) in entries.iter().enumerate() {
                    if i > 0 {
                        let between = e
                            .source
                            .get(entries[i - 1].span.end as usize..entry.span.start as usize)
                            .unwrap_or("");
                        if between.contains('\n') {
                            inner.extend([text(","), Doc::Line]);
                        } else {
                            inner.push(text(", "));
                        }
                    } else {
                        inner.push(Doc::Line);
                    }
                    inner.push(e.arg(entry));
                }
                simple(group(concat(vec![
                    text("train {"),
                    indent(concat(inner)),
                    Doc::IfBreak(","),
                    Doc::Line,
                    text("}"),
                ])))
            }
            StmtKind::Expr { expr, alias } => {
                let mut parts = vec![e.expr(expr)];
                if let Some(alias) = alias {
                    parts.push(text(format!(" as {}", alias.name)));
                }
                simple(concat(parts))
            }
            StmtKind::Stage {
                name,
                body,
                with_shortcut,
                ..
            } => {
                let with = with_shortcut.as_ref().map(|call| (call, e.call(call)));
                match unbraced_inner(stmt) {
                    Some(inner) => {
                        let mut inner_shape = self.shape(inner);
                        let head = concat(vec![
                            text(format!("stage {}: ", name.name)),
                            std::mem::replace(&mut inner_shape.head, text("")),
                        ]);
                        let with = with.map(|(_, call)| {
                            let semicolons = ";".repeat(semicolons_before_with(inner));
                            concat(vec![text(format!("{semicolons} with shortcut ")), call])
                        });
                        wrap(head, inner_shape, with)
                    }
                    None => {
                        let tail = with.map_or(text(""), |(_, call)| {
                            concat(vec![text(" with shortcut "), call])
                        });
                        braced(text(format!("stage {}", name.name)), body, tail)
                    }
                }
            }
            StmtKind::Repeat {
                count,
                index,
                body,
                collect,
                ..
            } => {
                let mut head = Vec::new();
                if let Some(name) = collect {
                    head.push(text(format!("let {} = ", name.name)));
                }
                head.extend([text("repeat "), e.expr(count)]);
                if let Some(index) = index {
                    head.push(text(format!(" as {}", index.name)));
                }
                match unbraced_inner(stmt) {
                    Some(inner) => {
                        let mut inner_shape = self.shape(inner);
                        head.push(text(" "));
                        head.push(std::mem::replace(&mut inner_shape.head, text("")));
                        wrap(concat(head), inner_shape, None)
                    }
                    None => braced(concat(head), body, text("")),
                }
            }
            StmtKind::Residual {
                from,
                body,
                shortcut,
            } => {
                let mut head = vec![text("residual")];
                if let Some(from) = from {
                    head.push(text(" from "));
                    head.push(e.expr(from));
                }
                let mut tail = Vec::new();
                if let Some(clause) = shortcut {
                    tail.push(text(" shortcut "));
                    tail.push(self.shortcut_kind(&clause.first));
                    if let Some(second) = &clause.second {
                        tail.push(text(" or "));
                        tail.push(self.shortcut_kind(second));
                    }
                }
                braced(concat(head), body, concat(tail))
            }
            StmtKind::Csp { args, body, .. } => {
                let head = if args.is_empty() {
                    text("csp")
                } else {
                    bracketed("csp(", args.iter().map(|a| e.arg(a)).collect(), ")")
                };
                braced(head, body, text(""))
            }
            StmtKind::If { .. } => self.if_shape(stmt),
        }
    }

    /// `if a { … } else if b { … } else { … }`: an `else` body that holds just one
    /// `if` statement is written as `else if` (the parser builds the same tree).
    fn if_shape<'s>(&self, stmt: &'s Stmt) -> Shape<'s> {
        let e = &self.exprs;
        let StmtKind::If { cond, .. } = &stmt.kind else {
            unreachable!("if_shape is called on if statements")
        };
        let head = concat(vec![text("if "), e.expr(cond)]);
        let mut bodies = Vec::new();
        let mut current = stmt;
        while let StmtKind::If {
            then, otherwise, ..
        } = &current.kind
        {
            match otherwise {
                None => {
                    bodies.push((then, text("")));
                    break;
                }
                Some(body) => match body.stmts.as_slice() {
                    [inner @ Stmt {
                        kind: StmtKind::If { cond, .. },
                        ..
                    }] => {
                        bodies.push((then, concat(vec![text(" else if "), e.expr(cond)])));
                        current = inner;
                    }
                    _ => {
                        bodies.push((then, text(" else")));
                        bodies.push((body, text("")));
                        break;
                    }
                },
            }
        }
        Shape { head, bodies }
    }

    fn shortcut_kind(&self, kind: &ShortcutKind) -> Doc {
        let call = self.exprs.call(&kind.call);
        match &kind.from {
            Some(from) => concat(vec![call, text(" from "), self.exprs.expr(from)]),
            None => call,
        }
    }

    /// Whether `stmt`, written first on its line, would continue the statement before
    /// it: it begins with `(`, `[` or `-`. A list of two or more elements first (a
    /// block's result, `[high, low]`) is not ambiguous: an index holds one expression.
    fn starts_ambiguously(&self, stmt: &Stmt) -> bool {
        match &stmt.kind {
            StmtKind::Expr { expr, .. } => {
                let flat = doc::flat(&self.exprs.expr(expr));
                let long_list =
                    matches!(&leftmost(expr).kind, ExprKind::List(items) if items.len() >= 2);
                flat.starts_with(['(', '-']) || (flat.starts_with('[') && !long_list)
            }
            _ => false,
        }
    }

    /// The statements of `body`, then the comments before `close` (the end of the
    /// statement whose closing line this body's `}` starts).
    pub(super) fn body(&mut self, body: &Body, close: usize) {
        self.at_body_start = true;
        let stmts = &body.stmts;
        let mut i = 0;
        while i < stmts.len() {
            let n = self.line_run(stmts, i);
            let semicolon = stmts
                .get(i + n)
                .is_some_and(|next| self.starts_ambiguously(next));
            if n == 1 {
                self.stmt(&stmts[i], semicolon);
            } else {
                self.simple_line(&stmts[i..i + n], semicolon);
            }
            i += n;
        }
        // Comments after the closing brace (in a shortcut clause) join those before it.
        self.comments_hoisted((body.span.end as usize).saturating_sub(1), close);
    }

    /// How many statements from `i` on go on one line: simple calls that the source
    /// has on one line, as many as fit.
    fn line_run(&self, stmts: &[Stmt], i: usize) -> usize {
        if !is_simple(&stmts[i]) {
            return 1;
        }
        let mut width = self.indent + doc::width(&doc::flat(&self.shape(&stmts[i]).head));
        let mut n = 1;
        while let Some(next) = stmts.get(i + n) {
            let previous_end = stmts[i + n - 1].span.end as usize;
            let same_line = self
                .source
                .get(previous_end..next.span.start as usize)
                .is_some_and(|gap| !gap.contains('\n'));
            if !is_simple(next) || !same_line {
                break;
            }
            width += 2 + doc::width(&doc::flat(&self.shape(next).head));
            if width > MAX_WIDTH {
                break;
            }
            n += 1;
        }
        n
    }

    fn simple_line(&mut self, stmts: &[Stmt], semicolon: bool) {
        let (first, last) = (&stmts[0], &stmts[stmts.len() - 1]);
        self.comments_hoisted(first.span.start as usize, last.span.end as usize);
        self.start_line(first.span.start as usize);
        let line: Vec<String> = stmts
            .iter()
            .map(|s| doc::flat(&self.shape(s).head))
            .collect();
        self.out.push_str(&line.join("; "));
        if semicolon {
            self.out.push(';');
        }
        self.end_line(last.span.end as usize);
    }

    fn stmt(&mut self, stmt: &Stmt, semicolon: bool) {
        if self.listing_with_comments(stmt, semicolon) {
            return;
        }
        let mut shape = self.shape(stmt);
        let end = stmt.span.end as usize;
        let semicolon = text(if semicolon { ";" } else { "" });
        match shape.bodies.last_mut() {
            None => {
                // Comments inside the statement move before it.
                self.comments_hoisted(stmt.span.start as usize, end);
                self.start_line(stmt.span.start as usize);
                let line = self.render(&concat(vec![shape.head, semicolon]));
                self.out.push_str(&line);
                self.end_line(end);
            }
            Some((_, tail)) => {
                *tail = concat(vec![std::mem::replace(tail, text("")), semicolon]);
                let body_start = shape.bodies[0].0.span.start as usize;
                self.comments_hoisted(stmt.span.start as usize, body_start);
                self.start_line(stmt.span.start as usize);
                self.open_bodies(shape.head, &shape.bodies, end);
            }
        }
    }

    /// `train { … }` or `names … { … }` when comments lie between its braces: one line
    /// per source line of `train` entries (each line ending with a comma), one `names`
    /// rule per line, and the comments where the source has them, on their own lines or
    /// trailing. False (nothing written) for other statements, and without comments.
    fn listing_with_comments(&mut self, stmt: &Stmt, semicolon: bool) -> bool {
        let (start, end) = (stmt.span.start as usize, stmt.span.end as usize);
        let e = &self.exprs;
        let (head, entries, comma) = match &stmt.kind {
            StmtKind::Train { entries } => {
                let entries = entries.iter().map(|a| (a.span, doc::flat(&e.arg(a))));
                ("train {".to_string(), entries.collect::<Vec<_>>(), true)
            }
            StmtKind::Names { framework, rules } => {
                let rules = rules.iter().map(|r| {
                    let rule = format!("\"{}\" -> \"{}\"", r.pattern, r.replacement);
                    (r.span, rule)
                });
                (
                    format!("names {} {{", framework.name),
                    rules.collect(),
                    false,
                )
            }
            _ => return false,
        };
        let (Some(open), Some(close)) = (self.open_brace(start, end), self.close_brace(end)) else {
            return false;
        };
        if !self.has_comments_in(open, close) {
            return false;
        }
        self.comments_hoisted(start, open);
        self.start_line(start);
        self.out.push_str(&head);
        self.end_line(open + 1);
        self.indent += INDENT;
        self.at_body_start = true;
        let mut i = 0;
        while i < entries.len() {
            let n = if comma {
                self.same_line_run(&entries[i..])
            } else {
                1
            };
            self.entry_line(&entries[i..i + n], comma);
            i += n;
        }
        self.comments_before(close);
        self.indent -= INDENT;
        self.start_closing_line();
        self.out.push_str(if semicolon { "};" } else { "}" });
        self.end_line(end);
        true
    }

    /// How many of `entries` (at least one) the source has on the first one's line.
    fn same_line_run(&self, entries: &[(Span, String)]) -> usize {
        let mut n = 1;
        while let Some(next) = entries.get(n) {
            let gap = self
                .source
                .get(entries[n - 1].0.end as usize..next.0.start as usize);
            if gap.is_none_or(|gap| gap.contains('\n')) {
                break;
            }
            n += 1;
        }
        n
    }

    /// One line of a listing: the entries joined by `, `, with a final comma for `train`.
    fn entry_line(&mut self, run: &[(Span, String)], comma: bool) {
        let (first, last) = (run[0].0.start as usize, run[run.len() - 1].0.end as usize);
        // Comments inside the entries (a list written over lines) move before them.
        self.comments_hoisted(first, last);
        self.start_line(first);
        let texts: Vec<&str> = run.iter().map(|(_, t)| t.as_str()).collect();
        self.out.push_str(&texts.join(", "));
        if comma {
            self.out.push(',');
        }
        self.end_line(last);
    }

    /// The offset of the `{` that opens the braces of the statement at `start..end`,
    /// looking past comments before it.
    fn open_brace(&self, start: usize, end: usize) -> Option<usize> {
        let source = self.source.get(start..end)?;
        let mut in_comment = false;
        for (i, c) in source.char_indices() {
            match c {
                '\n' => in_comment = false,
                '#' => in_comment = true,
                '{' if !in_comment => return Some(start + i),
                _ => {}
            }
        }
        None
    }

    /// The offset of the last `}` before `end`: the statement's closing brace.
    fn close_brace(&self, end: usize) -> Option<usize> {
        self.source.get(..end)?.rfind('}')
    }

    /// Writes `head {` body `}after` for each body, on a line already begun; `end` is
    /// where the whole construct ends in the source.
    pub(super) fn open_body(&mut self, head: Doc, body: &Body, end: usize) {
        self.open_bodies(head, &[(body, text(""))], end);
    }

    fn open_bodies(&mut self, head: Doc, bodies: &[(&Body, Doc)], end: usize) {
        let first_start = bodies.first().map_or(end, |(b, _)| b.span.start as usize);
        if !self.has_comments_in(first_start, end) {
            if let Some(line) = self.one_line_bodies(&head, bodies) {
                self.out.push_str(&line);
                self.end_line(end);
                return;
            }
        }
        let mut line = head;
        for (i, (body, after)) in bodies.iter().enumerate() {
            let body_start = body.span.start as usize;
            let close = bodies
                .get(i + 1)
                .map_or(end, |(b, _)| b.span.start as usize);
            if body.stmts.is_empty() && !self.has_comments_in(body_start, close) {
                line = concat(vec![line, text(" {}"), after.clone()]);
                continue;
            }
            let rendered = self.render(&concat(vec![line, text(" {")]));
            self.out.push_str(&rendered);
            self.end_line(body_start + 1);
            self.indent += INDENT;
            self.body(body, close);
            self.indent -= INDENT;
            self.start_closing_line();
            line = concat(vec![text("}"), after.clone()]);
        }
        let rendered = self.render(&line);
        self.out.push_str(&rendered);
        self.end_line(end);
    }

    /// `head { a; b }after { c }after` on one line, when the source has each body on one
    /// line, they hold no comment and no braced body, and the line fits. Empty bodies
    /// are `{}`.
    fn one_line_bodies(&self, head: &Doc, bodies: &[(&Body, Doc)]) -> Option<String> {
        let mut line = doc::flat(head);
        for (body, after) in bodies {
            if body.stmts.is_empty() {
                line.push_str(" {}");
            } else {
                let source = self.source.get(body.span.range())?;
                if source.contains('\n') {
                    return None;
                }
                let mut stmts = Vec::new();
                for stmt in &body.stmts {
                    let shape = self.shape(stmt);
                    if !shape.bodies.is_empty() {
                        return None;
                    }
                    stmts.push(doc::flat(&shape.head));
                }
                line.push_str(&format!(" {{ {} }}", stmts.join("; ")));
            }
            line.push_str(&doc::flat(after));
        }
        (self.indent + doc::width(&line) <= MAX_WIDTH).then_some(line)
    }
}

/// The operand an expression starts with as parsed: `[a, b]` in `[a, b] | swap`.
fn leftmost(expr: &Expr) -> &Expr {
    match &expr.kind {
        ExprKind::Binary(_, lhs, _) | ExprKind::Index(lhs, _) => leftmost(lhs),
        _ => expr,
    }
}
