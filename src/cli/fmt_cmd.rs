//! `resc fmt FILE… [--check]`: rewrites `.resnet` files in the canonical layout of
//! [`crate::fmt`], or with `--check` lists the files that would change.
//!
//! Directories are searched recursively for `*.resnet` files, in sorted order (links
//! to directories are not followed). A file that does not parse is reported and left
//! alone. A file is rewritten only when its text changes, and only after checking that
//! the new text parses to the same syntax tree, by [`crate::fmt::write_formatted`]
//! (through links, keeping mode and owner, never half written; read-only files refused).

use super::{fail, print_diagnostics, EXIT_DIAGNOSTICS, EXIT_IO, EXIT_OK};
use crate::diag::{Code, Diagnostic};
use crate::fmt::{format, without_spans};
use crate::source::SourceMap;
use crate::syntax;
use std::fs;
use std::path::{Path, PathBuf};

/// Formats (or checks) every file named or found under the directories named.
pub(super) fn run(paths: &[PathBuf], check: bool) -> i32 {
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            if let Err(e) = collect(path, &mut files) {
                return fail(
                    unformattable(format!("cannot list the directory: {e}"), path),
                    EXIT_IO,
                );
            }
        } else {
            files.push(path.clone());
        }
    }
    let mut status = EXIT_OK;
    for file in &files {
        let code = one_file(file, check);
        status = status.max(code);
    }
    status
}

/// E0801 about `path`.
fn unformattable(message: String, path: &Path) -> Diagnostic {
    Diagnostic::error(Code::E0801, message).file(path)
}

/// Every `.resnet` file under `dir`, sorted.
fn collect(dir: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    let mut entries = fs::read_dir(dir)?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<Result<Vec<_>, _>>()?;
    entries.sort();
    for path in entries {
        // Symbolic links to directories are not followed (they could loop).
        if fs::symlink_metadata(&path)?.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "resnet") {
            out.push(path);
        }
    }
    Ok(())
}

fn one_file(path: &Path, check: bool) -> i32 {
    let text = match crate::driver::read_source(path) {
        Ok(text) => text,
        Err(e) => {
            return fail(
                unformattable(format!("cannot read the file: {e}"), path),
                EXIT_IO,
            );
        }
    };
    let mut sources = SourceMap::new();
    let id = sources.add(path.display().to_string(), text.clone());
    let ast = match syntax::parse(id, &text) {
        Ok(ast) => ast,
        Err(diags) => {
            print_diagnostics(&sources, &diags);
            return EXIT_DIAGNOSTICS;
        }
    };
    let formatted = format(&ast, &text);
    if formatted == text {
        return EXIT_OK;
    }
    // The formatter promises the same tree; never write a file where it would not.
    let same =
        syntax::parse(id, &formatted).is_ok_and(|new| without_spans(&new) == without_spans(&ast));
    if !same {
        return fail(
            unformattable(
                "internal error: formatting would change what the file means; it is left as it is"
                    .into(),
                path,
            ),
            EXIT_DIAGNOSTICS,
        );
    }
    if check {
        println!("would reformat: {}", path.display());
        return EXIT_DIAGNOSTICS;
    }
    match crate::fmt::write_formatted(path, &formatted) {
        Ok(()) => EXIT_OK,
        Err(e) => fail(
            unformattable(format!("cannot write the file: {e}"), path),
            EXIT_IO,
        ),
    }
}
