//! The resolution table: for every name that elaboration resolved where it is used,
//! the definition it resolved to. Tools read it (the language server's go to
//! definition, references, rename and hover) instead of re-implementing the scoping of
//! elaboration, which decides what a name means.
//!
//! Rule: a use is recorded when elaboration resolves it, once, keyed by the span of the
//! name. A block is elaborated once per call and a `repeat` body once per repetition,
//! but scopes are lexical, so a use resolves the same way every time and the first
//! answer stands. The table iterates in span order (file, start, end), never in hash
//! order. Uses that elaboration never reached (a block nobody calls, the branch of an
//! `if` not taken, code after an error) are not in the table.

use crate::source::{FileId, Span};
use crate::syntax::ast::Ident;
use std::collections::BTreeMap;

/// What kind of definition a name resolved to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefinitionKind {
    /// A parameter of a network or a block: a name in its body or a later parameter's
    /// default, a named argument of a block call, a `--set` override.
    Param,
    /// `let name = …`.
    Let,
    /// The index of `repeat n as i`.
    Index,
    /// A block: a call, or a name in an import list.
    Block,
}

/// A definition: the span of the name it defines, and what it is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Definition {
    pub name: Span,
    pub kind: DefinitionKind,
}

impl Definition {
    /// The definition by the identifier `name`.
    pub(super) fn of(name: &Ident, kind: DefinitionKind) -> Definition {
        Definition {
            name: name.span,
            kind,
        }
    }
}

/// Every use elaboration resolved, by the span of the used name.
#[derive(Clone, Debug, Default)]
pub struct Resolutions {
    uses: BTreeMap<(FileId, u32, u32), Definition>,
}

fn key(span: Span) -> (FileId, u32, u32) {
    (span.file, span.start, span.end)
}

impl Resolutions {
    /// Records that the name at `use_site` means `definition`; a use recorded before
    /// keeps its first definition.
    pub(super) fn record(&mut self, use_site: Span, definition: Definition) {
        self.uses.entry(key(use_site)).or_insert(definition);
    }

    /// The definition the name at exactly `use_site` resolved to.
    pub fn get(&self, use_site: Span) -> Option<Definition> {
        self.uses.get(&key(use_site)).copied()
    }

    /// Every resolved use with its definition, in span order.
    pub fn iter(&self) -> impl Iterator<Item = (Span, Definition)> + '_ {
        self.uses
            .iter()
            .map(|(&(file, start, end), &definition)| (Span { file, start, end }, definition))
    }

    pub fn len(&self) -> usize {
        self.uses.len()
    }

    pub fn is_empty(&self) -> bool {
        self.uses.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::elab::{elaborate_with_resolutions, Program};
    use std::collections::HashMap;

    const MAIN: &str = "\
import \"lib.resnet\" (unit)
network net(n: int = 2, width: int = 8) {
    input [3, 8, 8]
    let c = width
    repeat n as i {
        let c = c + i
        conv(c)
    }
    unit(c, k: 3)
    conv(c)
    if n > 5 { conv(c) }
}
";

    const LIB: &str = "\
block unit(width: int, k: int = 1) {
    conv(width, k: k)
}
block unused(width: int) { conv(width) }
";

    const TEXTS: [&str; 2] = [MAIN, LIB];

    /// The span of the name that starts the `nth` occurrence of `needle` in file `file`.
    fn name(file: u32, needle: &str, nth: usize) -> Span {
        let text = TEXTS[file as usize];
        let start = text
            .match_indices(needle)
            .nth(nth)
            .unwrap_or_else(|| panic!("`{needle}` #{nth}"))
            .0;
        let len = needle
            .find(|c: char| !c.is_ascii_alphanumeric() && c != '_')
            .unwrap_or(needle.len());
        Span::new(FileId(file), start..start + len)
    }

    fn resolutions() -> Resolutions {
        let parse = |i: u32| crate::syntax::parse(FileId(i), TEXTS[i as usize]).unwrap();
        let program = Program {
            files: vec![parse(0), parse(1)],
            main: FileId(0),
            imports: HashMap::from([((FileId(0), 0), FileId(1))]),
        };
        let elaboration = elaborate_with_resolutions(&program, None, &[]);
        assert!(elaboration.result.is_ok());
        elaboration.resolutions
    }

    #[test]
    fn uses_resolve_to_their_definitions() {
        use DefinitionKind::*;
        let table = resolutions();
        let expect = [
            // The import list and the call name the block of the imported file.
            (name(0, "unit)", 0), name(1, "unit(", 0), Block),
            (name(0, "unit(c", 0), name(1, "unit(", 0), Block),
            // Parameters of the network, in its body.
            (name(0, "width\n", 0), name(0, "width: int", 0), Param),
            (name(0, "n as", 0), name(0, "n: int", 0), Param),
            (name(0, "n > 5", 0), name(0, "n: int", 0), Param),
            // In the repeat, `c + i` reads the outer `c` and the index; the inner `let c`
            // shadows it for the rest of the body, and only there.
            (name(0, "c + i", 0), name(0, "c = width", 0), Let),
            (name(0, "i\n", 0), name(0, "i {", 0), Index),
            (name(0, "c)\n    }", 0), name(0, "c = c + i", 0), Let),
            (name(0, "c, k: 3", 0), name(0, "c = width", 0), Let),
            (name(0, "c)\n    if", 0), name(0, "c = width", 0), Let),
            // A named argument of a block call names the block's parameter.
            (name(0, "k: 3", 0), name(1, "k: int", 0), Param),
            // Inside the block: its own parameters, not the network's.
            (name(1, "width, k", 0), name(1, "width: int", 0), Param),
            (name(1, "k)\n", 0), name(1, "k: int", 0), Param),
        ];
        for (use_site, def, kind) in expect {
            assert_eq!(
                table.get(use_site),
                Some(Definition { name: def, kind }),
                "{use_site:?}"
            );
        }
        // Each use once, although the repeat body ran twice; the `if` not taken and
        // the block nobody calls are not in the table, nor are layer calls.
        assert_eq!(table.len(), expect.len());
        let spans: Vec<Span> = table.iter().map(|(s, _)| s).collect();
        let mut sorted = spans.clone();
        sorted.sort_by_key(|s| (s.file, s.start));
        assert_eq!(spans, sorted);
    }

    #[test]
    fn a_failed_elaboration_keeps_what_it_resolved() {
        let text = "network n(w: int = 4) {\n    input [3, 8, 8]\n    conv(w)\n    nosuch(w)\n}\n";
        let program = Program {
            files: vec![crate::syntax::parse(FileId(0), text).unwrap()],
            main: FileId(0),
            imports: HashMap::new(),
        };
        let elaboration = elaborate_with_resolutions(&program, None, &[]);
        assert!(elaboration.result.is_err());
        let uses: Vec<u32> = elaboration
            .resolutions
            .iter()
            .map(|(s, _)| s.start)
            .collect();
        assert_eq!(uses, [text.find("w)").unwrap() as u32]);
    }
}
