//! resc diagnostics as LSP diagnostics: the same code, message, notes and hints as
//! `resc check` prints, at the primary span; secondary labels and the template trace
//! become related information.

use super::positions::{path_to_uri, Text};
use crate::diag::{Code, Diagnostic, Severity};
use crate::source::FileId;
use lsp_types::{
    DiagnosticRelatedInformation, DiagnosticSeverity, DiagnosticTag, Location, NumberOrString,
};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

/// A diagnostic of one file, converted, with what code actions need.
#[derive(Clone, Debug)]
pub struct FileDiagnostic {
    pub path: PathBuf,
    pub lsp: lsp_types::Diagnostic,
    /// The primary span's byte range in the file's text at compile time.
    pub start: usize,
    pub end: usize,
    pub hints: Vec<String>,
}

/// Where the files of a compilation are and what they contain.
pub trait FileTexts {
    fn path(&self, file: FileId) -> Option<&Path>;
    fn text(&mut self, file: FileId) -> Option<&Text>;
}

/// The message as `resc check` shows it: the message, the primary label when it says
/// more, then `note:` and `help:` lines.
fn full_message(d: &Diagnostic) -> String {
    let mut out = d.message.clone();
    if let Some(label) = d.labels.iter().find(|l| l.primary) {
        if !label.message.is_empty() && label.message != d.message {
            out.push('\n');
            out.push_str(&label.message);
        }
    }
    for note in &d.notes {
        out.push_str("\nnote: ");
        out.push_str(note);
    }
    for hint in &d.hints {
        out.push_str("\nhelp: ");
        out.push_str(hint);
    }
    out
}

/// Converts every diagnostic that has a primary span in a file with a path.
pub fn convert(diags: &[Diagnostic], files: &mut dyn FileTexts) -> Vec<FileDiagnostic> {
    let mut out = Vec::new();
    for d in diags {
        let Some(span) = d.primary_span() else {
            continue;
        };
        let Some(path) = files.path(span.file).map(Path::to_path_buf) else {
            continue;
        };
        let Some(range) = files
            .text(span.file)
            .map(|t| t.range(span.start as usize, span.end as usize))
        else {
            continue;
        };
        let mut related = Vec::new();
        let secondary = d
            .labels
            .iter()
            .filter(|l| !l.primary)
            .map(|l| (l.span, l.message.clone()))
            .chain(d.trace.iter().map(|t| (t.span, t.message.clone())));
        for (span, message) in secondary {
            let Some(other) = files.path(span.file).map(path_to_uri) else {
                continue;
            };
            let Some(text) = files.text(span.file) else {
                continue;
            };
            let location = Location::new(other, text.range(span.start as usize, span.end as usize));
            related.push(DiagnosticRelatedInformation { location, message });
        }
        let severity = match d.severity {
            Severity::Error => DiagnosticSeverity::ERROR,
            Severity::Warning => DiagnosticSeverity::WARNING,
        };
        out.push(FileDiagnostic {
            path,
            lsp: lsp_types::Diagnostic {
                range,
                severity: Some(severity),
                code: Some(NumberOrString::String(d.code.as_str().to_string())),
                code_description: None,
                source: Some("resc".to_string()),
                message: full_message(d),
                related_information: (!related.is_empty()).then_some(related),
                // Editors fade unused code.
                tags: (d.code == Code::E0216).then(|| vec![DiagnosticTag::UNNECESSARY]),
                data: None,
            },
            start: span.start as usize,
            end: span.end as usize,
            hints: d.hints.clone(),
        });
    }
    out
}

/// File texts of a compilation, with line indices built on demand.
pub struct SourceTexts<'a> {
    pub sources: &'a crate::source::SourceMap,
    pub paths: &'a HashMap<FileId, PathBuf>,
    pub cache: HashMap<FileId, Text>,
}

impl FileTexts for SourceTexts<'_> {
    fn path(&self, file: FileId) -> Option<&Path> {
        self.paths.get(&file).map(PathBuf::as_path)
    }

    fn text(&mut self, file: FileId) -> Option<&Text> {
        if !self.paths.contains_key(&file) {
            return None;
        }
        let sources = self.sources;
        Some(
            self.cache
                .entry(file)
                .or_insert_with(|| Text::new(sources.get(file).text.clone())),
        )
    }
}
