//! [`DataError`]: a coded runtime error about a dataset, printed like the compiler's
//! diagnostics (`error[E06xx]: message` then `  = note:` / `  = help:` lines).

use crate::diag::Code;
use std::fmt;
use std::path::{Path, PathBuf};

/// A dataset that is missing, truncated or malformed, or a download that failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DataError {
    pub code: Code,
    /// What went wrong, in one line (without the code).
    pub message: String,
    /// The file or directory concerned, if one is.
    pub path: Option<PathBuf>,
    /// Further facts (e.g. every place that was searched).
    pub notes: Vec<String>,
    /// How to fix it, when there is an obvious way.
    pub help: Option<String>,
}

impl DataError {
    pub fn new(code: Code, message: impl Into<String>) -> DataError {
        DataError {
            code,
            message: message.into(),
            path: None,
            notes: Vec::new(),
            help: None,
        }
    }

    /// Sets the file or directory the error is about.
    pub fn path(mut self, path: impl AsRef<Path>) -> DataError {
        self.path = Some(path.as_ref().to_path_buf());
        self
    }

    /// Adds a note.
    pub fn note(mut self, note: impl Into<String>) -> DataError {
        self.notes.push(note.into());
        self
    }

    /// Sets the help line.
    pub fn help(mut self, help: impl Into<String>) -> DataError {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for DataError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "error[{}]: {}", self.code, self.message)?;
        if let Some(path) = &self.path {
            write!(f, "\n  --> {}", path.display())?;
        }
        for note in &self.notes {
            write!(f, "\n  = note: {note}")?;
        }
        if let Some(help) = &self.help {
            write!(f, "\n  = help: {help}")?;
        }
        Ok(())
    }
}

impl std::error::Error for DataError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_like_a_diagnostic() {
        let e = DataError::new(Code::E0603, "file is truncated")
            .path("/d/x.bin")
            .note("a note")
            .help("a help");
        assert_eq!(
            e.to_string(),
            "error[E0603]: file is truncated\n  --> /d/x.bin\n  = note: a note\n  = help: a help"
        );
    }
}
