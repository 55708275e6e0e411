//! The workspace: open documents, their compilations, and what the features query.
//!
//! Every change recompiles the document (through [`driver::compile_text`], with a
//! loader that serves open documents before the disk) and the open documents that
//! import it. What a compilation produced is kept per file: the last successful parse
//! of every file (AST and symbol index) and, per document, the facts of its last
//! successful check. When a file stops parsing or checking, the features keep working
//! from those, with offsets mapped to the current text around the edited region.
//!
//! What a name refers to is what elaboration resolved it to (the compilation's
//! resolution table, kept with each parsed file); the index's syntactic resolution is
//! the fallback for the names elaboration did not reach: files that do not elaborate,
//! blocks nobody calls, branches not taken.

use super::diagnostics::{self, FileDiagnostic, SourceTexts};
use super::facts::{Facts, FileFacts};
use super::index::{Def, DefKind, FileIndex, Loc, Ref, Target};
use super::positions::{path_to_uri, uri_to_path, Shift, Text};
use crate::diag::{Code, Diagnostic};
use crate::driver::{self, Compilation, Loader, Options};
use crate::elab::{DefinitionKind, Resolutions};
use crate::source::FileId;
use crate::syntax::ast;
use lsp_types::{TextDocumentContentChangeEvent, Uri};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// An open document.
pub struct Document {
    pub uri: Uri,
    pub path: PathBuf,
    pub text: Text,
    pub version: i32,
    dirty: bool,
    /// Every file of its latest compilation.
    deps: Vec<PathBuf>,
    /// Diagnostics of its latest compilation, in any of its files.
    pub diagnostics: Vec<FileDiagnostic>,
    /// The facts of its last successful compilation, with a serial number that orders
    /// compilations in time.
    facts: Option<(u64, Arc<Facts>)>,
}

/// The last successful parse of a file.
pub struct FileInfo {
    pub path: PathBuf,
    /// The text the AST and the index were built from.
    pub text: Text,
    pub ast: ast::File,
    pub index: FileIndex,
    /// The names of this text that elaboration resolved, by the range of the use (in
    /// the compilation that parsed this text; empty when it did not elaborate).
    pub resolved: BTreeMap<Loc, Resolved>,
}

/// The definition elaboration resolved a use to: its file and the range of its name.
#[derive(Clone, Debug, PartialEq)]
pub struct Resolved {
    pub path: PathBuf,
    pub name_at: Loc,
    pub kind: DefKind,
}

/// A definition somewhere in the workspace.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SymbolRef {
    pub path: PathBuf,
    pub def: usize,
}

/// Diagnostics to send for one file.
#[derive(Debug)]
pub struct Publish {
    pub uri: Uri,
    pub diagnostics: Vec<lsp_types::Diagnostic>,
    pub version: Option<i32>,
}

/// A file's last good parse seen from its current text.
pub struct View<'a> {
    pub info: &'a FileInfo,
    pub current: &'a Text,
    shift: Shift,
}

impl View<'_> {
    /// The offset in the parsed text of an offset in the current text.
    pub fn to_info(&self, offset: usize) -> Option<usize> {
        self.shift.backward(offset)
    }

    /// The range in the current text of a range of the parsed text.
    pub fn to_current(&self, at: Loc) -> Option<lsp_types::Range> {
        let (start, end) = self
            .shift
            .forward_range(at.start as usize, at.end as usize)?;
        Some(self.current.range(start, end))
    }

    /// The byte range in the current text of a range of the parsed text.
    pub fn to_current_bytes(&self, at: Loc) -> Option<(usize, usize)> {
        self.shift.forward_range(at.start as usize, at.end as usize)
    }
}

/// A file's facts seen from its current text.
pub struct FactsView<'a> {
    pub facts: &'a Facts,
    pub file: &'a FileFacts,
    pub current: &'a Text,
    shift: Shift,
}

impl FactsView<'_> {
    /// The offset in the facts' text of an offset in the current text.
    pub fn to_facts(&self, offset: usize) -> Option<usize> {
        self.shift.backward(offset)
    }

    /// The byte range in the current text of a range of the facts' text.
    pub fn to_current(&self, at: Loc) -> Option<(usize, usize)> {
        self.shift.forward_range(at.start as usize, at.end as usize)
    }

    /// The region with exactly this range of the current text.
    pub fn region(&self, start: usize, end: usize) -> Option<&super::facts::Region> {
        let start = self.shift.backward(start)?;
        let end = self.shift.backward(end)?;
        self.file.region(Loc::new(start, end))
    }

    /// The shape of the tensor a `let [ … ]` bound to the name at exactly this range of
    /// the current text.
    pub fn name_shape(&self, start: usize, end: usize) -> Option<crate::ir::Shape> {
        let start = self.shift.backward(start)?;
        let end = self.shift.backward(end)?;
        self.file.names.get(&Loc::new(start, end)).copied()
    }
}

/// Serves open documents from memory, other files from the disk: regular files only.
/// The command line may read a model from a pipe, but here an `import` of a FIFO or of
/// `/dev/stdin` (the editor's own channel to the server) would block the server.
struct Overlay<'a> {
    docs: &'a BTreeMap<PathBuf, Document>,
}

impl Loader for Overlay<'_> {
    fn read(&mut self, path: &Path) -> std::io::Result<String> {
        if let Some(doc) = self.docs.get(path) {
            return Ok(doc.text.as_str().to_string());
        }
        if !std::fs::metadata(path)?.is_file() {
            return Err(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            ));
        }
        crate::driver::read_source(path)
    }
}

#[derive(Default)]
pub struct Workspace {
    docs: BTreeMap<PathBuf, Document>,
    files: HashMap<PathBuf, Arc<FileInfo>>,
    options: Options,
    serial: u64,
    /// What was last sent for each file.
    published: HashMap<PathBuf, Vec<lsp_types::Diagnostic>>,
    /// Files whose diagnostics may have changed since the last flush.
    affected: BTreeSet<PathBuf>,
}

impl Workspace {
    pub fn new() -> Workspace {
        Workspace::default()
    }

    pub fn document(&self, uri: &Uri) -> Option<&Document> {
        self.docs.get(&uri_to_path(uri))
    }

    pub fn documents(&self) -> impl Iterator<Item = &Document> {
        self.docs.values()
    }

    pub fn open(&mut self, uri: Uri, text: String, version: i32) {
        let path = uri_to_path(&uri);
        self.mark_dependents(&path);
        self.affected.insert(path.clone());
        self.docs.insert(
            path.clone(),
            Document {
                uri,
                path,
                text: Text::new(text),
                version,
                dirty: true,
                deps: Vec::new(),
                diagnostics: Vec::new(),
                facts: None,
            },
        );
    }

    /// Applies changes (full or incremental) to an open document.
    pub fn change(
        &mut self,
        uri: &Uri,
        changes: Vec<TextDocumentContentChangeEvent>,
        version: i32,
    ) -> bool {
        let path = uri_to_path(uri);
        let Some(doc) = self.docs.get_mut(&path) else {
            return false;
        };
        for change in changes {
            match change.range {
                Some(range) => {
                    let bytes = doc.text.byte_range(range);
                    doc.text.edit(bytes, &change.text);
                }
                None => doc.text = Text::new(change.text),
            }
        }
        doc.version = version;
        doc.dirty = true;
        self.affected.insert(path.clone());
        self.mark_dependents(&path);
        true
    }

    pub fn close(&mut self, uri: &Uri) {
        let path = uri_to_path(uri);
        if let Some(doc) = self.docs.remove(&path) {
            self.affected.extend(doc.deps);
            self.affected.insert(path.clone());
            self.mark_dependents(&path);
        }
    }

    /// Marks the open documents that compile `path` (other than itself) for recompiling.
    fn mark_dependents(&mut self, path: &Path) {
        for doc in self.docs.values_mut() {
            if doc.path != path && doc.deps.iter().any(|d| d == path) {
                doc.dirty = true;
            }
        }
    }

    /// Recompiles the changed documents and returns the diagnostics to publish.
    pub fn flush(&mut self) -> Vec<Publish> {
        let dirty: Vec<PathBuf> = self
            .docs
            .values()
            .filter(|d| d.dirty)
            .map(|d| d.path.clone())
            .collect();
        for path in &dirty {
            self.compile(path);
        }
        self.publications(&dirty)
    }

    /// Compiles one open document and stores what it produced.
    fn compile(&mut self, path: &Path) {
        let Some(doc) = self.docs.get(path) else {
            return;
        };
        let text = doc.text.as_str().to_string();
        let compilation =
            driver::compile_text(path, text, &self.options, &mut Overlay { docs: &self.docs });
        self.serial += 1;
        let serial = self.serial;
        let facts = compilation.result.as_ref().ok().map(|checked| {
            let files: Vec<(&ast::File, PathBuf, &str)> = compilation
                .program
                .files
                .iter()
                .filter_map(|f| {
                    let path = compilation.paths.get(&f.file)?;
                    Some((
                        f,
                        path.clone(),
                        compilation.sources.get(f.file).text.as_str(),
                    ))
                })
                .collect();
            let e = &checked.elaborated;
            Arc::new(Facts::build(
                &files,
                &e.graph,
                &checked.info,
                &e.network,
                &e.list_shapes,
            ))
        });
        let diagnostics = convert_diagnostics(&compilation);
        let deps: Vec<PathBuf> = compilation.paths.values().cloned().collect();
        self.store_files(compilation);
        let Some(doc) = self.docs.get_mut(path) else {
            return;
        };
        self.affected.extend(doc.deps.iter().cloned());
        self.affected.extend(deps.iter().cloned());
        doc.deps = deps;
        doc.diagnostics = diagnostics;
        doc.dirty = false;
        if let Some(facts) = facts {
            doc.facts = Some((serial, facts));
        }
    }

    /// Keeps the AST, the index and the resolved names of every file the compilation
    /// parsed.
    fn store_files(&mut self, compilation: Compilation) {
        let Compilation {
            sources,
            program,
            paths,
            resolutions,
            ..
        } = compilation;
        let mut resolved = resolved_by_file(&resolutions, &paths);
        let imports = program.imports;
        for file in program.files {
            let Some(path) = paths.get(&file.file) else {
                continue;
            };
            let import_target = |item: usize| {
                imports
                    .get(&(file.file, item))
                    .and_then(|target| paths.get(target))
                    .cloned()
            };
            let index = FileIndex::build(&file, &import_target);
            let info = FileInfo {
                path: path.clone(),
                text: Text::new(sources.get(file.file).text.clone()),
                resolved: resolved.remove(&file.file).unwrap_or_default(),
                ast: file,
                index,
            };
            self.files.insert(path.clone(), Arc::new(info));
        }
    }

    /// The diagnostics of every affected file: the union of what the open documents'
    /// compilations say about it. Always sent for the recompiled documents themselves.
    fn publications(&mut self, recompiled: &[PathBuf]) -> Vec<Publish> {
        let affected = std::mem::take(&mut self.affected);
        let mut out = Vec::new();
        for path in affected {
            let mut list: Vec<lsp_types::Diagnostic> = Vec::new();
            for doc in self.docs.values() {
                for d in doc.diagnostics.iter().filter(|d| d.path == path) {
                    if !list.contains(&d.lsp) {
                        list.push(d.lsp.clone());
                    }
                }
            }
            let previous = self.published.get(&path);
            let changed = previous.map_or(!list.is_empty(), |p| *p != list);
            if !changed && !recompiled.contains(&path) {
                continue;
            }
            let (uri, version) = match self.docs.get(&path) {
                Some(doc) => (doc.uri.clone(), Some(doc.version)),
                None => (path_to_uri(&path), None),
            };
            self.published.insert(path.clone(), list.clone());
            out.push(Publish {
                uri,
                diagnostics: list,
                version,
            });
        }
        out
    }

    /// The current text of a file: the open document's, else the last parsed one.
    pub fn current_text(&self, path: &Path) -> Option<&Text> {
        match self.docs.get(path) {
            Some(doc) => Some(&doc.text),
            None => self.files.get(path).map(|f| &f.text),
        }
    }

    pub fn file(&self, path: &Path) -> Option<&FileInfo> {
        self.files.get(path).map(Arc::as_ref)
    }

    /// The last good parse of `path`, seen from its current text.
    pub fn view(&self, path: &Path) -> Option<View<'_>> {
        let info = self.files.get(path)?;
        let current = self.current_text(path)?;
        let shift = if current.as_str() == info.text.as_str() {
            Shift::identity(current.as_str().len())
        } else {
            Shift::between(info.text.as_str(), current.as_str())
        };
        Some(View {
            info,
            current,
            shift,
        })
    }

    /// The most recent facts about `path`: from its own document's compilation, else
    /// from the newest compilation of another document that imports it.
    pub fn facts(&self, path: &Path) -> Option<FactsView<'_>> {
        let own = self
            .docs
            .get(path)
            .and_then(|d| d.facts.as_ref())
            .filter(|(_, f)| f.files.contains_key(path));
        let (_, facts) = own.or_else(|| {
            self.docs
                .values()
                .filter_map(|d| d.facts.as_ref())
                .filter(|(_, f)| f.files.contains_key(path))
                .max_by_key(|(serial, _)| *serial)
        })?;
        let file = facts.files.get(path)?;
        let current = self.current_text(path)?;
        let shift = if current.as_str() == file.text {
            Shift::identity(file.text.len())
        } else {
            Shift::between(&file.text, current.as_str())
        };
        Some(FactsView {
            facts,
            file,
            current,
            shift,
        })
    }

    pub fn def(&self, symbol: &SymbolRef) -> Option<&Def> {
        self.files.get(&symbol.path)?.index.defs.get(symbol.def)
    }

    /// The block `name` as seen from file `path`: its own first, then the imported ones.
    pub fn block_in_scope(&self, path: &Path, name: &str) -> Option<SymbolRef> {
        let info = self.files.get(path)?;
        if let Some(def) = info.index.own_block(name) {
            return Some(SymbolRef {
                path: path.to_path_buf(),
                def,
            });
        }
        for import in &info.index.imports {
            let Some(target) = &import.target else {
                continue;
            };
            if import
                .names
                .as_ref()
                .is_some_and(|names| !names.iter().any(|n| n == name))
            {
                continue;
            }
            if let Some(def) = self.files.get(target).and_then(|t| t.index.own_block(name)) {
                return Some(SymbolRef {
                    path: target.clone(),
                    def,
                });
            }
        }
        None
    }

    /// The blocks visible in file `path`, by name.
    pub fn blocks_in_scope(&self, path: &Path) -> Vec<(String, SymbolRef)> {
        let Some(info) = self.files.get(path) else {
            return Vec::new();
        };
        let mut names: Vec<String> = info
            .index
            .defs
            .iter()
            .filter(|d| d.kind == DefKind::Block)
            .map(|d| d.name.clone())
            .collect();
        for import in &info.index.imports {
            let Some(target) = import.target.as_ref().and_then(|t| self.files.get(t)) else {
                continue;
            };
            for def in target
                .index
                .defs
                .iter()
                .filter(|d| d.kind == DefKind::Block)
            {
                if import.names.as_ref().is_none_or(|n| n.contains(&def.name)) {
                    names.push(def.name.clone());
                }
            }
        }
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter_map(|n| self.block_in_scope(path, &n).map(|s| (n, s)))
            .collect()
    }

    /// The definition a reference in file `path` refers to, if it is user-defined: the
    /// one elaboration resolved it to where it did, else the index's guess.
    pub fn resolve(&self, path: &Path, r: &Ref) -> Option<SymbolRef> {
        self.resolved(path, r.at)
            .or_else(|| self.resolve_syntactically(path, r))
    }

    /// The definition elaboration resolved the name at `at` (in the parsed text of
    /// `path`) to, if that definition is still in the index of its file (the file may
    /// have been parsed again since, by a compilation that did not reach this use).
    pub fn resolved(&self, path: &Path, at: Loc) -> Option<SymbolRef> {
        let info = self.files.get(path)?;
        let resolved = info.resolved.get(&at)?;
        let name = info.text.as_str().get(at.start as usize..at.end as usize)?;
        let target = self.files.get(&resolved.path)?;
        let def = target.index.defs.iter().position(|d| {
            d.name_at == resolved.name_at && d.kind == resolved.kind && d.name == name
        })?;
        Some(SymbolRef {
            path: resolved.path.clone(),
            def,
        })
    }

    /// The definition a reference refers to by the scoping rules the index follows:
    /// for files that did not elaborate, and code elaboration did not reach.
    fn resolve_syntactically(&self, path: &Path, r: &Ref) -> Option<SymbolRef> {
        match &r.target {
            Target::Local(def) => Some(SymbolRef {
                path: path.to_path_buf(),
                def: *def,
            }),
            Target::Block(name) => self.block_in_scope(path, name),
            Target::Arg { callee, param } => {
                let block = self.block_in_scope(path, callee)?;
                let def = self
                    .files
                    .get(&block.path)?
                    .index
                    .param_of(block.def, param)?;
                Some(SymbolRef {
                    path: block.path,
                    def,
                })
            }
            Target::Imported { import, name } => {
                let info = self.files.get(path)?;
                let target = info.index.imports.get(*import)?.target.as_ref()?;
                let def = self.files.get(target)?.index.own_block(name)?;
                Some(SymbolRef {
                    path: target.clone(),
                    def,
                })
            }
            Target::Layer(_)
            | Target::Function(_)
            | Target::Builtin(_)
            | Target::BuiltinArg { .. } => None,
        }
    }

    /// The symbol at `offset` (in the parsed text of `path`): a reference or the name
    /// of a definition, with the range of the name.
    pub fn symbol_at(&self, path: &Path, offset: usize) -> Option<(SymbolRef, Loc)> {
        let info = self.files.get(path)?;
        if let Some(r) = info.index.ref_at(offset) {
            return self.resolve(path, r).map(|s| (s, r.at));
        }
        let def = info.index.def_at(offset)?;
        Some((
            SymbolRef {
                path: path.to_path_buf(),
                def,
            },
            info.index.defs[def].name_at,
        ))
    }

    /// Every occurrence of a symbol (its definition first), by file, in the parsed
    /// texts. Blocks and parameters can be referred to from other files (calls, named
    /// arguments, import lists); `let`s and indices only from their own file.
    pub fn occurrences(&self, symbol: &SymbolRef) -> Vec<(PathBuf, Loc)> {
        let Some(def) = self.def(symbol) else {
            return Vec::new();
        };
        let mut out = vec![(symbol.path.clone(), def.name_at)];
        let global = matches!(def.kind, DefKind::Block | DefKind::Param);
        let mut paths: Vec<&PathBuf> = self.files.keys().collect();
        paths.sort();
        for path in paths {
            if !global && *path != symbol.path {
                continue;
            }
            for r in &self.files[path].index.refs {
                if self.resolve(path, r).as_ref() == Some(symbol) {
                    out.push((path.clone(), r.at));
                }
            }
        }
        out
    }

    pub fn uri_of(&self, path: &Path) -> Uri {
        match self.docs.get(path) {
            Some(doc) => doc.uri.clone(),
            None => path_to_uri(path),
        }
    }
}

/// A compilation's resolution table split by the file of the use, with definitions by
/// path (uses in the `--set` text, which has no path, are left out).
fn resolved_by_file(
    resolutions: &Resolutions,
    paths: &HashMap<FileId, PathBuf>,
) -> HashMap<FileId, BTreeMap<Loc, Resolved>> {
    let mut out: HashMap<FileId, BTreeMap<Loc, Resolved>> = HashMap::new();
    for (use_site, definition) in resolutions.iter() {
        let Some(path) = paths.get(&definition.name.file) else {
            continue;
        };
        let kind = match definition.kind {
            DefinitionKind::Param => DefKind::Param,
            DefinitionKind::Let => DefKind::Let,
            DefinitionKind::Index => DefKind::Index,
            DefinitionKind::Block => DefKind::Block,
        };
        let resolved = Resolved {
            path: path.clone(),
            name_at: definition.name.into(),
            kind,
        };
        out.entry(use_site.file)
            .or_default()
            .insert(use_site.into(), resolved);
    }
    out
}

/// The compilation's diagnostics (its warnings when it succeeded), less the complaint
/// that a file of blocks (a library meant to be imported) defines no network.
fn convert_diagnostics(compilation: &Compilation) -> Vec<FileDiagnostic> {
    let diags = match &compilation.result {
        Ok(checked) => &checked.elaborated.warnings,
        Err(diags) => diags,
    };
    let library = compilation
        .program
        .file(compilation.program.main)
        .is_some_and(|f| {
            f.items.iter().any(|i| matches!(i, ast::Item::Block(_)))
                && !f.items.iter().any(|i| matches!(i, ast::Item::Network(_)))
        });
    let kept: Vec<Diagnostic> = diags
        .iter()
        .filter(|d| {
            !(library && d.code == Code::E0213 && d.message == "this file defines no network")
        })
        .cloned()
        .collect();
    let mut texts = SourceTexts {
        sources: &compilation.sources,
        paths: &compilation.paths,
        cache: HashMap::new(),
    };
    diagnostics::convert(&kept, &mut texts)
}
