//! Diagnostics: plain data (severity, code, message, labelled spans, hints, notes and the
//! template trace), kept apart from their rendering.
//!
//! Architecture invariant: every phase reports problems as `Vec<Diagnostic>`; only
//! [`render`] knows codespan-reporting, and only the CLI decides where output goes.

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
        }
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

/// True when any diagnostic in the list is an error.
pub fn has_errors(diags: &[Diagnostic]) -> bool {
    diags.iter().any(Diagnostic::is_error)
}
