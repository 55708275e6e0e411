//! The driver: loads a model file and its imports, and runs the front end
//! (parse → elaborate → check). Used by the CLI, the language server and the tests.
//!
//! File access goes through [`Loader`], so an editor can supply unsaved buffers.

use crate::check::{self, Info};
use crate::diag::{Code, Diagnostic};
use crate::elab::{self, Elaborated, Override, Program, Resolutions};
use crate::source::{FileId, SourceMap, Span};
use crate::syntax::{self, ast};
use std::collections::HashMap;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

/// Reads source files.
pub trait Loader {
    fn read(&mut self, path: &Path) -> std::io::Result<String>;
}

/// Reads from the file system, with [`read_source`].
pub struct FsLoader;

impl Loader for FsLoader {
    fn read(&mut self, path: &Path) -> std::io::Result<String> {
        read_source(path)
    }
}

/// The largest source file resc reads. The largest model of the zoo is a few KiB; the
/// limit is there so that an endless file (`import "/dev/zero"`) or a huge one is an
/// error instead of the compiler growing until the machine runs out of memory.
pub const MAX_SOURCE_BYTES: u64 = 16 << 20;

/// Reads a source file: UTF-8 text of at most [`MAX_SOURCE_BYTES`]. The errors say
/// what is wrong: a file too large, or where the first byte that is not UTF-8 is
/// (both `InvalidData`).
pub fn read_source(path: &Path) -> io::Result<String> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_SOURCE_BYTES + 1)
        .read_to_end(&mut bytes)?;
    source_text(bytes)
}

/// Checks the size and the encoding of a source file's bytes.
pub fn source_text(bytes: Vec<u8>) -> io::Result<String> {
    if bytes.len() as u64 > MAX_SOURCE_BYTES {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the file is larger than {} MiB, the most resc reads",
                MAX_SOURCE_BYTES >> 20
            ),
        ));
    }
    String::from_utf8(bytes).map_err(|e| {
        let offset = e.utf8_error().valid_up_to();
        let before = &e.as_bytes()[..offset];
        let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
        let line_start = before
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |i| i + 1);
        // Columns count characters, as the diagnostics' columns do.
        let column = String::from_utf8_lossy(&before[line_start..])
            .chars()
            .count()
            + 1;
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "the file is not UTF-8: byte {offset} (line {line}, column {column}) is 0x{:02x}",
                e.as_bytes()[offset]
            ),
        )
    })
}

/// What to compile besides the file itself.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The network to elaborate when the file defines several.
    pub network: Option<String>,
    /// `--set name=value` overrides, as written.
    pub overrides: Vec<String>,
}

/// Everything the front end produced: the sources (for rendering diagnostics), the
/// parsed program, and either the checked graph or the diagnostics.
pub struct Compilation {
    pub sources: SourceMap,
    pub program: Program,
    /// Every file's path, by file id (the synthetic `<command line>` has none).
    pub paths: HashMap<FileId, PathBuf>,
    /// The names elaboration resolved, by use site: also when the compilation failed
    /// after elaboration started (as far as it got), empty when it did not start (a
    /// file failed to parse or to load).
    pub resolutions: Resolutions,
    pub result: Result<Checked, Vec<Diagnostic>>,
}

/// A checked network.
pub struct Checked {
    pub elaborated: Elaborated,
    pub info: Info,
}

/// Compiles the model file at `path`.
pub fn compile_file(
    path: &Path,
    options: &Options,
    loader: &mut dyn Loader,
) -> Result<Compilation, std::io::Error> {
    let text = loader.read(path)?;
    Ok(compile_text(path, text, options, loader))
}

/// Compiles `text` as if it were the file at `path` (imports resolve next to it).
pub fn compile_text(
    path: &Path,
    text: String,
    options: &Options,
    loader: &mut dyn Loader,
) -> Compilation {
    let mut sources = SourceMap::new();
    let mut paths = HashMap::new();
    let mut diags = Vec::new();
    let main = sources.add(path.display().to_string(), text);
    paths.insert(main, path.to_path_buf());
    let mut program = Program {
        files: Vec::new(),
        main,
        imports: HashMap::new(),
    };
    load_tree(
        main,
        &mut sources,
        &mut paths,
        &mut program,
        &mut diags,
        loader,
    );
    let overrides = parse_overrides(&options.overrides, &mut sources, &mut diags);
    let mut resolutions = Resolutions::default();
    let result = if diags.iter().any(Diagnostic::is_error) || program.file(main).is_none() {
        Err(diags)
    } else {
        let elaboration =
            elab::elaborate_with_resolutions(&program, options.network.as_deref(), &overrides);
        resolutions = elaboration.resolutions;
        match elaboration.result {
            Err(mut more) => {
                diags.append(&mut more);
                Err(diags)
            }
            Ok(elaborated) => match verified(&elaborated) {
                Ok(info) => Ok(Checked { elaborated, info }),
                Err(mut more) => {
                    diags.append(&mut more);
                    Err(diags)
                }
            },
        }
    };
    Compilation {
        sources,
        program,
        paths,
        resolutions,
        result,
    }
}

/// Runs the IR verifier in debug builds (and so in every test): a broken invariant is a
/// bug in resc, never the user's mistake, so it stops the program loudly there.
fn verified(elaborated: &Elaborated) -> Result<Info, Vec<Diagnostic>> {
    if cfg!(debug_assertions) {
        let problems = crate::ir::verify(&elaborated.graph);
        assert!(problems.is_empty(), "IR verifier: {problems:#?}");
    }
    check::check(&elaborated.graph)
}

/// Parses `root` and, transitively, every file it imports.
fn load_tree(
    root: FileId,
    sources: &mut SourceMap,
    paths: &mut HashMap<FileId, PathBuf>,
    program: &mut Program,
    diags: &mut Vec<Diagnostic>,
    loader: &mut dyn Loader,
) {
    let mut queue = vec![root];
    let mut by_path: HashMap<PathBuf, FileId> = HashMap::new();
    by_path.insert(normalise(&paths[&root]), root);
    while let Some(id) = queue.pop() {
        let file = match syntax::parse(id, &sources.get(id).text) {
            Ok(file) => file,
            Err(mut errors) => {
                diags.append(&mut errors);
                continue;
            }
        };
        let dir = paths[&id]
            .parent()
            .map(Path::to_path_buf)
            .unwrap_or_default();
        for (index, item) in file.items.iter().enumerate() {
            let ast::Item::Import(import) = item else {
                continue;
            };
            let target = normalise(&dir.join(&import.path));
            if let Some(&known) = by_path.get(&target) {
                program.imports.insert((id, index), known);
                continue;
            }
            match loader.read(&target) {
                Ok(text) => {
                    let new = sources.add(target.display().to_string(), text);
                    paths.insert(new, target.clone());
                    by_path.insert(target, new);
                    program.imports.insert((id, index), new);
                    queue.push(new);
                }
                Err(e) => {
                    let mut d = Diagnostic::error(
                        Code::E0208,
                        format!("cannot read `{}`: {e}", import.path),
                    )
                    .at(import.path_span, format!("looked for {}", target.display()));
                    // A file too large or not UTF-8 was found: the path is right.
                    if e.kind() != io::ErrorKind::InvalidData {
                        d = d.hint("import paths are relative to the importing file");
                    }
                    diags.push(d);
                }
            }
        }
        program.files.push(file);
    }
    program.files.sort_by_key(|f| f.file);
}

/// Removes `.` and `..` components without touching the file system.
fn normalise(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir if out.file_name().is_some() => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// Puts the overrides into a synthetic `<command line>` file so that diagnostics can
/// point at them.
fn parse_overrides(
    raw: &[String],
    sources: &mut SourceMap,
    diags: &mut Vec<Diagnostic>,
) -> Vec<Override> {
    if raw.is_empty() {
        return Vec::new();
    }
    let mut text = String::new();
    let mut ranges = Vec::new();
    for item in raw {
        let start = text.len();
        text.push_str("--set ");
        text.push_str(item);
        ranges.push(start + 6);
        text.push('\n');
    }
    let file = sources.add("<command line>", text);
    let mut out = Vec::new();
    for (item, start) in raw.iter().zip(ranges) {
        let Some((name, value)) = item.split_once('=') else {
            diags.push(
                Diagnostic::error(
                    Code::E0209,
                    format!("`--set {item}` is not of the form name=value"),
                )
                .at(
                    Span::new(file, start..start + item.len()),
                    "expected name=value",
                )
                .hint("e.g. `--set depth=28`"),
            );
            continue;
        };
        let name_end = start + name.len();
        out.push(Override {
            name: name.trim().to_string(),
            value: value.to_string(),
            name_span: Span::new(file, start..name_end),
            value_span: Span::new(file, name_end + 1..name_end + 1 + value.len()),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(result: io::Result<String>) -> String {
        result.expect_err("an error").to_string()
    }

    /// Issue 15: an endless or huge file is an error after 16 MiB, not gigabytes.
    #[test]
    fn sources_are_capped() {
        let dir = std::env::temp_dir().join(format!("resc-driver-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let huge = dir.join("huge.resnet");
        let file = std::fs::File::create(&huge).unwrap();
        file.set_len(MAX_SOURCE_BYTES + 1).unwrap(); // Sparse: no disk used.
        assert!(message(read_source(&huge)).contains("larger than 16 MiB"));
        let fits = vec![b'#'; MAX_SOURCE_BYTES as usize];
        assert!(source_text(fits).is_ok());
        if Path::new("/dev/zero").exists() {
            assert!(message(read_source(Path::new("/dev/zero"))).contains("16 MiB"));
        }
        // The main file goes through the same reader.
        let err = compile_file(&huge, &Options::default(), &mut FsLoader).err();
        assert!(err.is_some_and(|e| e.to_string().contains("16 MiB")));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn text_that_is_not_utf8_says_where() {
        let latin1 = b"block b {\n    # caf\xe9\n}\n".to_vec();
        assert_eq!(
            message(source_text(latin1)),
            "the file is not UTF-8: byte 19 (line 2, column 10) is 0xe9"
        );
        let after_wide = "# é→".bytes().chain([0xff]).collect();
        assert_eq!(
            message(source_text(after_wide)),
            "the file is not UTF-8: byte 7 (line 1, column 5) is 0xff"
        );
        assert_eq!(source_text(b"relu".to_vec()).unwrap(), "relu");
    }
}
