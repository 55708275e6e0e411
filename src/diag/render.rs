//! Rendering diagnostics with codespan-reporting. The only place that knows that crate.

use super::{Diagnostic, Severity};
use crate::source::SourceMap;
use codespan_reporting::diagnostic::{Diagnostic as CsDiagnostic, Label as CsLabel};
use codespan_reporting::files::SimpleFiles;
use codespan_reporting::term::{self, termcolor, Config};

fn files(map: &SourceMap) -> SimpleFiles<String, String> {
    let mut files = SimpleFiles::new();
    for (_, file) in map.files() {
        files.add(file.name.clone(), file.text.clone());
    }
    files
}

fn convert(diag: &Diagnostic) -> CsDiagnostic<usize> {
    let severity = match diag.severity {
        Severity::Error => codespan_reporting::diagnostic::Severity::Error,
        Severity::Warning => codespan_reporting::diagnostic::Severity::Warning,
    };
    let mut labels: Vec<CsLabel<usize>> = diag
        .labels
        .iter()
        .map(|l| {
            let label = if l.primary {
                CsLabel::primary(l.span.file.0 as usize, l.span.range())
            } else {
                CsLabel::secondary(l.span.file.0 as usize, l.span.range())
            };
            label.with_message(l.message.clone())
        })
        .collect();
    for frame in &diag.trace {
        labels.push(
            CsLabel::secondary(frame.span.file.0 as usize, frame.span.range())
                .with_message(frame.message.clone()),
        );
    }
    let mut notes: Vec<String> = diag.file.iter().map(|f| format!("file: {f}")).collect();
    notes.extend(diag.notes.iter().map(|n| format!("note: {n}")));
    notes.extend(diag.hints.iter().map(|h| format!("help: {h}")));
    CsDiagnostic::new(severity)
        .with_code(diag.code.as_str())
        .with_message(diag.message.clone())
        .with_labels(labels)
        .with_notes(notes)
}

/// Renders diagnostics as plain text (no colour), as UI tests and pipes see them.
pub fn to_string(map: &SourceMap, diags: &[Diagnostic]) -> String {
    let files = files(map);
    let config = Config::default();
    let mut out = String::new();
    for diag in diags {
        // A span outside its file can only come from a bug; render what we can.
        if term::emit_to_string(&mut out, &config, &files, &convert(diag)).is_err() {
            out.push_str(&format!("error[{}]: {}\n", diag.code, diag.message));
        }
    }
    out
}

/// Writes diagnostics to standard error, coloured when `color` is true.
pub fn to_stderr(map: &SourceMap, diags: &[Diagnostic], color: bool) {
    let files = files(map);
    let config = Config::default();
    let choice = if color {
        termcolor::ColorChoice::Auto
    } else {
        termcolor::ColorChoice::Never
    };
    let stream = termcolor::StandardStream::stderr(choice);
    let mut lock = stream.lock();
    let styles = term::Styles::default();
    let mut writer = term::StylesWriter::new(&mut lock, &styles);
    for diag in diags {
        if term::emit_to_write_style(&mut writer, &config, &files, &convert(diag)).is_err() {
            eprintln!("error[{}]: {}", diag.code, diag.message);
        }
    }
}
