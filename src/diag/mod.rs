//! Diagnostics: plain data (severity, code, message, labelled spans, hints, notes and the
//! template trace), kept apart from their rendering.
//!
//! Architecture invariant: every phase reports problems as `Vec<Diagnostic>`, and so does
//! every runtime error (data, checkpoints, weights, training, devices: a code, a message,
//! notes, hints, and a file or a span); only [`render`] knows codespan-reporting and
//! formats them; the CLI decides where they go.

mod codes;
pub mod render;

pub use codes::{Code, ALL_CODES};

use crate::source::Span;
use serde::Serialize;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A span with a message. The primary label says what was found where; secondary
/// labels point at related places (the other branch of a merge, a definition).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Label {
    #[serde(skip)]
    pub span: Span,
    pub message: String,
    pub primary: bool,
}

/// One step of the template trace: "in the instantiation of block `b` here", or "in
/// repetition 3 of 6" (at the repetition count).
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct TraceFrame {
    #[serde(skip)]
    pub span: Span,
    pub message: String,
    /// A repetition of a `repeat`, not a block instantiation.
    #[serde(skip)]
    pub repetition: bool,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Diagnostic {
    pub severity: Severity,
    pub code: Code,
    pub message: String,
    pub labels: Vec<Label>,
    pub notes: Vec<String>,
    pub hints: Vec<String>,
    /// Innermost frame first: the call sites through which the error was reached.
    pub trace: Vec<TraceFrame>,
    /// The file a runtime error is about (a dataset, a checkpoint, weights), when it has
    /// no source span.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl Diagnostic {
    pub fn error(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Error,
            code,
            message: message.into(),
            labels: Vec::new(),
            notes: Vec::new(),
            hints: Vec::new(),
            trace: Vec::new(),
            file: None,
        }
    }

    /// A warning.
    pub fn warning(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            severity: Severity::Warning,
            ..Diagnostic::error(code, message)
        }
    }

    /// Sets the file the diagnostic is about (runtime errors without a source span).
    pub fn file(mut self, path: impl AsRef<std::path::Path>) -> Diagnostic {
        self.file = Some(path.as_ref().display().to_string());
        self
    }

    /// Adds the primary label.
    pub fn at(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: true,
        });
        self
    }

    /// Adds a secondary label.
    pub fn also(mut self, span: Span, message: impl Into<String>) -> Diagnostic {
        self.labels.push(Label {
            span,
            message: message.into(),
            primary: false,
        });
        self
    }

    pub fn note(mut self, note: impl Into<String>) -> Diagnostic {
        self.notes.push(note.into());
        self
    }

    pub fn hint(mut self, hint: impl Into<String>) -> Diagnostic {
        self.hints.push(hint.into());
        self
    }

    pub fn with_trace(mut self, trace: Vec<TraceFrame>) -> Diagnostic {
        self.trace = trace;
        self
    }

    /// The primary span, if the diagnostic has one.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).map(|l| l.span)
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// The diagnostic as the terminal shows it without colour (rendered by [`render`]; a
/// diagnostic with spans needs its sources: use [`render::to_string`]).
impl std::fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = render::to_string(
            &crate::source::SourceMap::default(),
            std::slice::from_ref(self),
        );
        f.write_str(text.trim_end())
    }
}

impl std::error::Error for Diagnostic {}

/// True when any diagnostic in the list is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A runtime error (no span) renders like the compiler's: code, message, the file,
    /// notes, then hints.
    #[test]
    fn runtime_errors_render_with_their_file_notes_and_hints() {
        let d = Diagnostic::error(Code::E0603, "file is truncated")
            .file("/d/x.bin")
            .note("a note")
            .hint("a hint");
        assert_eq!(
            d.to_string(),
            "error[E0603]: file is truncated\n = file: /d/x.bin\n = note: a note\n = help: a hint"
        );
        let w = Diagnostic::warning(Code::E0502, "unused").to_string();
        assert_eq!(w, "warning[E0502]: unused");
    }
}
