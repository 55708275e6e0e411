//! The symbol index of one file: its definitions (networks, blocks, parameters, `let`
//! names, repetition indices, stages, node aliases) and every reference to a name, with
//! a syntactic guess at what it refers to that follows elaboration's rules roughly: a
//! name without arguments is first looked up among the enclosing `let`s, indices and
//! parameters; otherwise a call is a function, a layer, or a block of the file's block
//! scope (its own blocks, then the imported ones). Block names are resolved later,
//! across files, by [`super::analysis::Workspace`], because the scope depends on the
//! imported files.
//!
//! Rule: the index needs only a parse, so it works on files that do not elaborate;
//! where elaboration did resolve a name, the workspace takes elaboration's answer (its
//! resolution table) over the guess here. The index walks the AST with the shared
//! [`Visitor`], overriding the statements that define names and the calls.

use crate::source::Span;
use crate::syntax::ast::{self, Body, Call, Expr, ShortcutKind, Stmt, StmtKind};
use crate::syntax::visit::{walk_body, walk_stmt, Visitor};
use std::path::PathBuf;

/// A byte range in one file (the file is implied by the index that holds it).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub start: u32,
    pub end: u32,
}

impl Loc {
    pub fn new(start: usize, end: usize) -> Loc {
        Loc {
            start: start as u32,
            end: end as u32,
        }
    }

    /// True when `offset` lies in the range or just after it (a cursor at the end of a
    /// name is still on the name).
    pub fn touches(&self, offset: usize) -> bool {
        self.start as usize <= offset && offset <= self.end as usize
    }

    pub fn contains(&self, other: Loc) -> bool {
        self.start <= other.start && other.end <= self.end
    }

    pub fn len(&self) -> u32 {
        self.end - self.start
    }
}

impl From<Span> for Loc {
    fn from(span: Span) -> Loc {
        Loc {
            start: span.start,
            end: span.end,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub enum DefKind {
    Network,
    Block,
    /// A parameter of the network or block `owner` (an index into `defs`).
    Param,
    /// `let name = …`.
    Let,
    /// `repeat n as i`.
    Index,
    Stage,
    /// `layer as name`: names the node; not a value that can be referred to.
    Alias,
}

#[derive(Clone, Debug)]
pub struct Def {
    pub name: String,
    pub kind: DefKind,
    /// The identifier.
    pub name_at: Loc,
    /// The whole definition: the item, the parameter, or the statement.
    pub full: Loc,
    /// The network or block definition this one belongs to.
    pub owner: Option<usize>,
    /// Where the name can be referred to (for completion).
    pub visible: Loc,
    /// A short description: the parameter as declared, the `let` as written.
    pub detail: String,
}

/// What a reference refers to.
#[derive(Clone, Debug, PartialEq)]
pub enum Target {
    /// A definition of the same file.
    Local(usize),
    /// A call or name that is no local: a block of the file's scope if there is one,
    /// else a symbol (`relu` as an argument value) or an unknown name.
    Block(String),
    Layer(String),
    Function(String),
    /// A shortcut kind, `csp` or `dense`.
    Builtin(String),
    /// A named argument `param: …` of a call of `callee` (a block or a layer).
    Arg {
        callee: String,
        param: String,
    },
    /// A named argument of a shortcut kind, `csp` or `dense`.
    BuiltinArg {
        builtin: String,
        param: String,
    },
    /// A name in the list of import `import` (an index into `imports`).
    Imported {
        import: usize,
        name: String,
    },
}

#[derive(Clone, Debug)]
pub struct Ref {
    pub at: Loc,
    pub target: Target,
    /// The whole call when the reference is the name of one.
    pub call: Option<Loc>,
}

#[derive(Clone, Debug)]
pub struct Import {
    pub path_at: Loc,
    /// `None`: every block of the file.
    pub names: Option<Vec<String>>,
    /// The imported file, when the driver could resolve it.
    pub target: Option<PathBuf>,
}

/// Definitions and references of one file.
#[derive(Clone, Debug, Default)]
pub struct FileIndex {
    pub defs: Vec<Def>,
    pub refs: Vec<Ref>,
    pub imports: Vec<Import>,
}

/// The built-in numeric functions (as elaboration knows them).
pub use crate::elab::FUNCTIONS;

/// True for a built-in layer or tensor function name.
pub fn is_layer(name: &str) -> bool {
    super::docs::layer(name).is_some()
}

impl FileIndex {
    /// Indexes `file`; `import_target(i)` is the resolved path of the import at item `i`.
    pub fn build(file: &ast::File, import_target: &dyn Fn(usize) -> Option<PathBuf>) -> FileIndex {
        let mut builder = Builder {
            index: FileIndex::default(),
            frames: Vec::new(),
            bodies: Vec::new(),
            owner: None,
        };
        for (i, item) in file.items.iter().enumerate() {
            match item {
                ast::Item::Import(import) => builder.import(import, import_target(i)),
                ast::Item::Network(def) => builder.definition(def, DefKind::Network),
                ast::Item::Block(def) => builder.definition(def, DefKind::Block),
            }
        }
        builder.index
    }

    /// The first block of this file named `name` (later ones are duplicates).
    pub fn own_block(&self, name: &str) -> Option<usize> {
        self.defs
            .iter()
            .position(|d| d.kind == DefKind::Block && d.name == name)
    }

    /// The parameter `name` of definition `owner`.
    pub fn param_of(&self, owner: usize, name: &str) -> Option<usize> {
        self.defs
            .iter()
            .position(|d| d.kind == DefKind::Param && d.owner == Some(owner) && d.name == name)
    }

    /// The parameters of definition `owner`, in order.
    pub fn params_of(&self, owner: usize) -> impl Iterator<Item = &Def> {
        self.defs
            .iter()
            .filter(move |d| d.kind == DefKind::Param && d.owner == Some(owner))
    }

    /// The innermost reference at `offset`.
    pub fn ref_at(&self, offset: usize) -> Option<&Ref> {
        self.refs
            .iter()
            .filter(|r| r.at.touches(offset))
            .min_by_key(|r| r.at.len())
    }

    /// The definition whose name is at `offset`.
    pub fn def_at(&self, offset: usize) -> Option<usize> {
        self.defs.iter().position(|d| d.name_at.touches(offset))
    }

    /// The network or block definition that contains `offset`.
    pub fn owner_at(&self, offset: usize) -> Option<usize> {
        self.defs.iter().position(|d| {
            matches!(d.kind, DefKind::Network | DefKind::Block) && d.full.touches(offset)
        })
    }
}

struct Builder {
    index: FileIndex,
    /// Lexical frames of `(name, def)` bindings, innermost last.
    frames: Vec<Vec<(String, usize)>>,
    /// The enclosing bodies, innermost last.
    bodies: Vec<Span>,
    owner: Option<usize>,
}

impl Builder {
    fn add_def(
        &mut self,
        name: &ast::Ident,
        kind: DefKind,
        full: Span,
        visible: Loc,
        detail: String,
    ) -> usize {
        self.index.defs.push(Def {
            name: name.name.clone(),
            kind,
            name_at: name.span.into(),
            full: full.into(),
            owner: self.owner,
            visible,
            detail,
        });
        self.index.defs.len() - 1
    }

    fn bind(&mut self, name: &str, def: usize) {
        if let Some(frame) = self.frames.last_mut() {
            frame.push((name.to_string(), def));
        }
    }

    fn lookup(&self, name: &str) -> Option<usize> {
        self.frames
            .iter()
            .rev()
            .flat_map(|frame| frame.iter().rev())
            .find(|(n, _)| n == name)
            .map(|&(_, def)| def)
    }

    fn add_ref(&mut self, at: Span, target: Target, call: Option<Span>) {
        self.index.refs.push(Ref {
            at: at.into(),
            target,
            call: call.map(Loc::from),
        });
    }

    fn import(&mut self, import: &ast::Import, target: Option<PathBuf>) {
        let number = self.index.imports.len();
        self.index.imports.push(Import {
            path_at: import.path_span.into(),
            names: import
                .names
                .as_ref()
                .map(|names| names.iter().map(|n| n.name.clone()).collect()),
            target,
        });
        for name in import.names.iter().flatten() {
            let target = Target::Imported {
                import: number,
                name: name.name.clone(),
            };
            self.add_ref(name.span, target, None);
        }
    }

    fn definition(&mut self, def: &ast::Def, kind: DefKind) {
        self.owner = None;
        let keyword = if kind == DefKind::Network {
            "network"
        } else {
            "block"
        };
        let signature = format!("{keyword} {}({})", def.name.name, params_text(&def.params));
        let item = self.add_def(&def.name, kind, def.span, def.span.into(), signature);
        self.owner = Some(item);
        self.frames = vec![Vec::new()];
        for param in &def.params {
            if let Some(default) = &param.default {
                self.visit_expr(default);
            }
            let detail = param_text(param);
            let id = self.add_def(
                &param.name,
                DefKind::Param,
                param.span,
                def.span.into(),
                detail,
            );
            self.bind(&param.name.name, id);
        }
        self.visit_body(&def.body);
        self.frames.clear();
        self.owner = None;
    }

    /// A shortcut kind, or `with shortcut dense`.
    fn builtin_call(&mut self, call: &Call) {
        self.add_ref(
            call.name.span,
            Target::Builtin(call.name.name.clone()),
            Some(call.span),
        );
        if let Some(args) = &call.args {
            self.builtin_args(&call.name.name, args);
        }
    }

    fn builtin_args(&mut self, builtin: &str, args: &[ast::Arg]) {
        for arg in args {
            if let Some(name) = &arg.name {
                let target = Target::BuiltinArg {
                    builtin: builtin.to_string(),
                    param: name.name.clone(),
                };
                self.add_ref(name.span, target, None);
            }
            self.visit_expr(&arg.value);
        }
    }

    /// `let name = value`: visible from the end of the statement to the end of the
    /// enclosing body.
    fn let_stmt(&mut self, stmt: &Stmt, name: &ast::Ident, value: &Expr) {
        self.visit_expr(value);
        let visible = Loc {
            start: stmt.span.end,
            end: self.bodies.last().map_or(stmt.span.end, |b| b.end),
        };
        let detail = format!("let {} = {}", name.name, expr_text(value));
        let id = self.add_def(name, DefKind::Let, stmt.span, visible, detail);
        self.bind(&name.name, id);
    }

    /// `let [a, b] = value`: each name (but `_`) is a definition of its own, visible
    /// like a `let`'s from the end of the statement to the end of the enclosing body.
    fn let_list(&mut self, stmt: &Stmt, names: &[ast::Ident], value: &Expr) {
        self.visit_expr(value);
        let visible = Loc {
            start: stmt.span.end,
            end: self.bodies.last().map_or(stmt.span.end, |b| b.end),
        };
        let pattern: Vec<&str> = names.iter().map(|n| n.name.as_str()).collect();
        let pattern = pattern.join(", ");
        for (i, name) in names.iter().enumerate() {
            if name.name == "_" {
                continue;
            }
            let detail = format!("let [{pattern}] = {}  (element {i})", expr_text(value));
            let id = self.add_def(name, DefKind::Let, stmt.span, visible, detail);
            self.bind(&name.name, id);
        }
    }

    /// `let name = repeat …`: the list is visible, like a `let`, from the end of the
    /// statement to the end of the enclosing body.
    fn collect(
        &mut self,
        stmt: &Stmt,
        name: &ast::Ident,
        count: &Expr,
        index: Option<&ast::Ident>,
    ) {
        let visible = Loc {
            start: stmt.span.end,
            end: self.bodies.last().map_or(stmt.span.end, |b| b.end),
        };
        let index = index.map(|i| format!(" as {}", i.name)).unwrap_or_default();
        let detail = format!(
            "let {} = repeat {}{index} {{ … }}  (a list of the repetitions' results)",
            name.name,
            expr_text(count)
        );
        let id = self.add_def(name, DefKind::Let, stmt.span, visible, detail);
        self.bind(&name.name, id);
    }

    /// `repeat count [as index] body`: the index is visible in the body.
    fn repeat(&mut self, count: &Expr, index: Option<&ast::Ident>, body: &Body) {
        self.visit_expr(count);
        self.frames.push(Vec::new());
        if let Some(index) = index {
            let detail = format!("repeat … as {} (0 to count − 1)", index.name);
            let id = self.add_def(index, DefKind::Index, index.span, body.span.into(), detail);
            self.bind(&index.name, id);
        }
        self.visit_body(body);
        self.frames.pop();
    }
}

/// The walk through definitions: statements that define names are handled here, calls
/// become references, and everything else is the shared walk.
impl<'ast> Visitor<'ast> for Builder {
    fn visit_body(&mut self, body: &'ast Body) {
        self.frames.push(Vec::new());
        self.bodies.push(body.span);
        walk_body(self, body);
        self.bodies.pop();
        self.frames.pop();
    }

    fn visit_stmt(&mut self, stmt: &'ast Stmt) {
        match &stmt.kind {
            StmtKind::Let { name, value } => self.let_stmt(stmt, name, value),
            StmtKind::LetList { names, value, .. } => self.let_list(stmt, names, value),
            StmtKind::Stage {
                name,
                body,
                with_shortcut,
                ..
            } => {
                let detail = format!("stage {}", name.name);
                self.add_def(name, DefKind::Stage, stmt.span, stmt.span.into(), detail);
                if let Some(call) = with_shortcut {
                    self.builtin_call(call);
                }
                self.visit_body(body);
            }
            StmtKind::Repeat {
                count,
                index,
                body,
                collect,
                ..
            } => {
                self.repeat(count, index.as_ref(), body);
                if let Some(name) = collect {
                    self.collect(stmt, name, count, index.as_ref());
                }
            }
            StmtKind::Csp { args, body, .. } => {
                self.builtin_args("csp", args);
                self.visit_body(body);
            }
            StmtKind::Expr {
                expr,
                alias: Some(alias),
            } => {
                self.visit_expr(expr);
                let detail = format!("{} as {}", expr_text(expr), alias.name);
                self.add_def(alias, DefKind::Alias, stmt.span, stmt.span.into(), detail);
            }
            _ => walk_stmt(self, stmt),
        }
    }

    fn visit_shortcut_kind(&mut self, kind: &'ast ShortcutKind) {
        self.builtin_call(&kind.call);
        if let Some(from) = &kind.from {
            self.visit_expr(from);
        }
    }

    /// A name without arguments is first looked up among the enclosing definitions;
    /// otherwise a call is a function, a layer, or a block.
    fn visit_call(&mut self, call: &'ast Call) {
        let name = call.name.name.as_str();
        let local = if call.args.is_none() {
            self.lookup(name)
        } else {
            None
        };
        let target = match local {
            Some(def) => Target::Local(def),
            None if call.args.is_some() && FUNCTIONS.contains(&name) => {
                Target::Function(name.to_string())
            }
            None if is_layer(name) => Target::Layer(name.to_string()),
            None => Target::Block(name.to_string()),
        };
        let is_function = matches!(target, Target::Function(_));
        self.add_ref(call.name.span, target, Some(call.span));
        for arg in call.args.iter().flatten() {
            if let (Some(arg_name), false) = (&arg.name, is_function) {
                let target = Target::Arg {
                    callee: name.to_string(),
                    param: arg_name.name.clone(),
                };
                self.add_ref(arg_name.span, target, None);
            }
            self.visit_expr(&arg.value);
        }
    }
}

/// `width: int, stride: int = 1`.
pub fn params_text(params: &[ast::Param]) -> String {
    params.iter().map(param_text).collect::<Vec<_>>().join(", ")
}

fn param_text(param: &ast::Param) -> String {
    let mut out = param.name.name.clone();
    if let Some(ty) = &param.ty {
        out.push_str(": ");
        out.push_str(&type_text(ty));
    }
    if let Some(default) = &param.default {
        out.push_str(" = ");
        out.push_str(&expr_text(default));
    }
    out
}

fn type_text(ty: &ast::TypeExpr) -> String {
    match &ty.kind {
        ast::TypeKind::Named(name) => name.clone(),
        ast::TypeKind::List(inner) => format!("[{}]", type_text(inner)),
        ast::TypeKind::Enum(names) => names
            .iter()
            .map(|n| n.name.as_str())
            .collect::<Vec<_>>()
            .join(" | "),
    }
}

/// An expression written back compactly (for hover details), with the parentheses
/// that its meaning needs.
pub fn expr_text(e: &Expr) -> String {
    crate::fmt::expr_on_one_line(e)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::FileId;

    fn index(text: &str) -> FileIndex {
        let file = crate::syntax::parse(FileId(0), text).expect("test source parses");
        FileIndex::build(&file, &|_| None)
    }

    fn def_named(index: &FileIndex, name: &str, kind: DefKind) -> usize {
        index
            .defs
            .iter()
            .position(|d| d.name == name && d.kind == kind)
            .unwrap_or_else(|| panic!("no {kind:?} `{name}`"))
    }

    fn targets_at<'a>(index: &'a FileIndex, text: &str, needle: &str) -> Vec<&'a Target> {
        text.match_indices(needle)
            .filter_map(|(i, _)| index.refs.iter().find(|r| r.at.start as usize == i))
            .map(|r| &r.target)
            .collect()
    }

    const SOURCE: &str = "\
block unit(width: int, stride: int = 1, inner = width * 2) {
    let width2 = width
    residual { conv(width2, stride: stride); bn } shortcut identity or projection(bn: false)
    repeat 2 as i { conv(inner + i) }
}
network net(n: int = 3) {
    input [3, 32, 32]
    let x = relu
    stage s1: repeat n unit(16, stride: 2)
    let width2 = 5
    conv(width2)
    max(n, 2)
}
";

    #[test]
    fn definitions_have_owners_and_scopes() {
        let index = index(SOURCE);
        let unit = def_named(&index, "unit", DefKind::Block);
        let net = def_named(&index, "net", DefKind::Network);
        let width = def_named(&index, "width", DefKind::Param);
        assert_eq!(index.defs[width].owner, Some(unit));
        assert_eq!(index.defs[width].detail, "width: int");
        assert_eq!(
            index.defs[def_named(&index, "inner", DefKind::Param)].detail,
            "inner = width * 2"
        );
        assert_eq!(index.params_of(unit).count(), 3);
        assert_eq!(
            index.defs[def_named(&index, "s1", DefKind::Stage)].owner,
            Some(net)
        );
        assert_eq!(index.own_block("unit"), Some(unit));
        assert_eq!(
            index.param_of(unit, "stride"),
            Some(def_named(&index, "stride", DefKind::Param))
        );
        let i = def_named(&index, "i", DefKind::Index);
        assert!(index.defs[i]
            .visible
            .touches(SOURCE.find("inner + i").unwrap()));
    }

    #[test]
    fn references_resolve_like_elaboration() {
        let index = index(SOURCE);
        let width = def_named(&index, "width", DefKind::Param);
        let n = def_named(&index, "n", DefKind::Param);
        let i = def_named(&index, "i", DefKind::Index);
        // The block's `let width2` and the network's are different definitions.
        let lets: Vec<usize> = index
            .defs
            .iter()
            .enumerate()
            .filter(|(_, d)| d.name == "width2")
            .map(|(i, _)| i)
            .collect();
        assert_eq!(lets.len(), 2);
        let arg = |callee: &str, param: &str| Target::Arg {
            callee: callee.into(),
            param: param.into(),
        };
        // The reference that starts at each needle, and what it resolves to.
        let expected = [
            // `width` in the default of `inner` and in the `let`.
            ("width *", Target::Local(width)),
            ("width2,", Target::Local(lets[0])),
            ("width2)", Target::Local(lets[1])),
            ("stride: stride", arg("conv", "stride")),
            ("unit(16", Target::Block("unit".into())),
            ("stride: 2", arg("unit", "stride")),
            ("projection", Target::Builtin("projection".into())),
            (
                "bn: false",
                Target::BuiltinArg {
                    builtin: "projection".into(),
                    param: "bn".into(),
                },
            ),
            ("relu", Target::Layer("relu".into())),
            ("max(", Target::Function("max".into())),
            ("n unit", Target::Local(n)),
            ("i) }", Target::Local(i)),
        ];
        for (needle, target) in expected {
            assert_eq!(
                targets_at(&index, SOURCE, needle),
                vec![&target],
                "at `{needle}`"
            );
        }
        assert_eq!(
            index.defs[n].owner,
            Some(def_named(&index, "net", DefKind::Network))
        );
    }

    #[test]
    fn imports_are_recorded_with_their_names() {
        let text = "import \"blocks.resnet\" (basic, bottleneck)\nimport \"more.resnet\"\n";
        let file = crate::syntax::parse(FileId(0), text).unwrap();
        let index = FileIndex::build(&file, &|i| {
            (i == 0).then(|| PathBuf::from("/m/blocks.resnet"))
        });
        assert_eq!(index.imports.len(), 2);
        assert_eq!(
            index.imports[0].target,
            Some(PathBuf::from("/m/blocks.resnet"))
        );
        assert_eq!(
            index.imports[0].names,
            Some(vec!["basic".to_string(), "bottleneck".to_string()])
        );
        assert_eq!(index.imports[1].names, None);
        assert_eq!(
            targets_at(&index, text, "bottleneck"),
            vec![&Target::Imported {
                import: 0,
                name: "bottleneck".into()
            }]
        );
    }
}
