//! Elaboration: resolves names, evaluates parameters and expressions, expands blocks,
//! `repeat`s, stages and shortcut kinds, and builds the IR graph.
//!
//! Architecture invariants: elaboration reads only the AST and the IR's API; it never
//! stops at the first error (a failed expression becomes [`Value::Poison`] and is not
//! reported again); every IR node it creates carries the span of the text that wrote it
//! and the trace of block instantiations that led there.

mod args;
mod expr;
mod layers;
mod multi;
mod names;
mod names_map;
mod program;
mod recipe;
mod resolve;
mod shortcut;
mod stmt;
mod unused;
mod value;

pub use expr::FUNCTIONS;
pub use layers::{layer_docs, LayerDoc};
pub use multi::ListShapes;
pub use names_map::FrameworkNames;
pub use program::{Override, Program};
pub use recipe::{Recipe, RECIPE_KEYS};
pub use resolve::{Definition, DefinitionKind, Resolutions};
pub use shortcut::shortcut_docs;
pub use value::{Ty, Value};

use crate::diag::{Code, Diagnostic, TraceFrame};
use crate::ir::{infer_shape, Graph, Group, Node, NodeId, Op, Shape};
use crate::source::{FileId, Span};
use crate::syntax::ast::{self, Def};
use names::Names;
use std::collections::{HashMap, HashSet};
use value::Env;

/// Block instantiations nested deeper than this are reported as recursion (E0211).
const MAX_DEPTH: usize = 64;

/// A graph may not grow past this many nodes (E0210): a typo such as `repeat 1000000`
/// would otherwise take minutes and gigabytes. The largest published residual networks
/// (ResNet-1202, PreAct-ResNet-1001) have a few thousand nodes.
const MAX_NODES: usize = 200_000;

/// The result of elaboration: the graph and the shape of every node.
#[derive(Clone, Debug)]
pub struct Elaborated {
    pub graph: Graph,
    pub shapes: HashMap<NodeId, Shape>,
    /// The network that was elaborated.
    pub network: String,
    /// Its `train { … }` recipe (empty without one).
    pub recipe: Recipe,
    /// Its `names framework { … }` declarations.
    pub name_maps: Vec<FrameworkNames>,
    /// Warnings (E0219: a name bound again, then E0216: a tensor never used), each kind
    /// in source order of elaboration: they do not stop the compilation.
    pub warnings: Vec<Diagnostic>,
    /// The shapes of destructured names and of statements whose value is a list of
    /// tensors, for tools.
    pub list_shapes: ListShapes,
}

/// Everything an elaboration produced: the network or the diagnostics, and the names
/// it resolved on the way, also when it failed (as far as it got).
#[derive(Clone, Debug)]
pub struct Elaboration {
    pub result: Result<Elaborated, Vec<Diagnostic>>,
    pub resolutions: Resolutions,
}

/// Elaborates the network `network` (or the only network of the main file) of a
/// loaded program, with `--set` overrides applied to its parameters.
pub fn elaborate(
    program: &Program,
    network: Option<&str>,
    overrides: &[Override],
) -> Result<Elaborated, Vec<Diagnostic>> {
    elaborate_with_resolutions(program, network, overrides).result
}

/// [`elaborate`], with the table of the names it resolved.
pub fn elaborate_with_resolutions(
    program: &Program,
    network: Option<&str>,
    overrides: &[Override],
) -> Elaboration {
    let mut elab = Elab::new(program);
    let Some(def) = elab.select_network(network) else {
        return elab.finish(None);
    };
    elab.network(def, overrides);
    let network = def.name.name.clone();
    elab.finish(Some(network))
}

/// A block definition and the file it lives in.
#[derive(Clone, Copy)]
struct BlockRef<'a> {
    def: &'a Def,
    file: FileId,
}

/// Stage-wide shortcut override (`stage s { … } with shortcut dense`).
#[derive(Clone, Debug)]
struct DenseCtx {
    /// The earlier feature maps of the stage, oldest first.
    history: Vec<NodeId>,
    /// Initial value of the per-channel weights α.
    init: f64,
    /// Nesting depth of residual statements at which the override applies.
    residual_depth: usize,
}

struct Elab<'a> {
    program: &'a Program,
    /// For each file (by `FileId`), the blocks visible in it.
    scopes: HashMap<FileId, HashMap<String, BlockRef<'a>>>,
    /// The file whose block scope is in effect.
    file: FileId,
    graph: Graph,
    shapes: HashMap<NodeId, Shape>,
    diags: Vec<Diagnostic>,
    reported: HashSet<(Code, Span)>,
    /// Instantiation sites, outermost first.
    trace: Vec<TraceFrame>,
    names: Names,
    /// The group new nodes go to; `None` until the first node outside a stage.
    group: Option<usize>,
    in_stage: bool,
    stages_seen: usize,
    dense: Option<DenseCtx>,
    residual_depth: usize,
    depth: usize,
    /// Set when the next block call is the only statement of a `repeat`/`stage` body:
    /// it then adds no level to node names (`layer1.0.conv1`, not `layer1.0.bottleneck.conv1`).
    transparent: bool,
    /// Every symbol an enumeration type or a built-in accepts.
    symbols: HashSet<String>,
    /// Set once the graph reached [`MAX_NODES`] nodes or repetitions: no more nodes
    /// are added, and repetitions stop.
    too_large: bool,
    /// Repetitions of `repeat` bodies so far, limited like nodes.
    repetitions: usize,
    /// The network's `train { … }` recipe.
    recipe: Recipe,
    /// The network's `names` declarations.
    name_maps: Vec<FrameworkNames>,
    /// The names resolved so far.
    resolutions: Resolutions,
    /// The `let`s that name tensors, for the unused-tensor warnings.
    unused: unused::UnusedLets,
    /// The `let`s already reported as binding a name again (E0219).
    rebound: HashSet<Span>,
    /// For each `repeat` body being elaborated in the current block (or network), the
    /// index of the environment frame of its repetition.
    repeat_frames: Vec<usize>,
    /// The blocks that returned lists of tensors, to name them in E0218.
    list_origins: multi::ListOrigins,
    /// The shapes of destructured names and of list statements, for tools.
    list_shapes: ListShapes,
}

impl<'a> Elab<'a> {
    fn new(program: &'a Program) -> Elab<'a> {
        let mut elab = Elab {
            program,
            scopes: HashMap::new(),
            file: program.main,
            graph: Graph::new(),
            shapes: HashMap::new(),
            diags: Vec::new(),
            reported: HashSet::new(),
            trace: Vec::new(),
            names: Names::new(),
            group: None,
            in_stage: false,
            stages_seen: 0,
            dense: None,
            residual_depth: 0,
            depth: 0,
            transparent: false,
            symbols: layers::builtin_symbols(),
            recipe: Recipe::default(),
            name_maps: Vec::new(),
            too_large: false,
            repetitions: 0,
            resolutions: Resolutions::default(),
            unused: unused::UnusedLets::default(),
            rebound: HashSet::new(),
            repeat_frames: Vec::new(),
            list_origins: multi::ListOrigins::default(),
            list_shapes: ListShapes::default(),
        };
        elab.build_scopes();
        elab
    }

    /// The result of elaborating the network named `network` (`None`: none was chosen).
    fn finish(self, network: Option<String>) -> Elaboration {
        let failed = self.diags.iter().any(Diagnostic::is_error);
        let result = match network {
            Some(network) if !failed => Ok(Elaborated {
                warnings: self
                    .diags
                    .into_iter()
                    .chain(self.unused.warnings(&self.graph))
                    .collect(),
                graph: self.graph,
                shapes: self.shapes,
                network,
                recipe: self.recipe,
                name_maps: self.name_maps,
                list_shapes: self.list_shapes,
            }),
            _ => Err(self.diags),
        };
        Elaboration {
            result,
            resolutions: self.resolutions,
        }
    }

    /// Reports a diagnostic once per (code, primary span), with the current trace.
    fn report(&mut self, diag: Diagnostic) {
        let key = (diag.code, diag.primary_span().unwrap_or_default());
        if !self.reported.insert(key) {
            return;
        }
        let mut diag = diag;
        if diag.trace.is_empty() {
            diag.trace = trim_trace(self.trace.iter().rev(), diag.primary_span());
        }
        self.diags.push(diag);
    }

    /// Collects the blocks visible in every file: its own and the imported ones.
    fn build_scopes(&mut self) {
        let program = self.program;
        let mut own: HashMap<FileId, HashMap<String, BlockRef<'a>>> = HashMap::new();
        for file in &program.files {
            let mut scope: HashMap<String, BlockRef<'a>> = HashMap::new();
            let mut networks: HashMap<&str, Span> = HashMap::new();
            for item in &file.items {
                match item {
                    ast::Item::Block(def) => {
                        if let Some(prev) = scope.get(&def.name.name) {
                            let prev_span = prev.def.name.span;
                            self.report(
                                Diagnostic::error(
                                    Code::E0207,
                                    format!("the block `{}` is defined twice", def.name.name),
                                )
                                .at(def.name.span, "defined again here")
                                .also(prev_span, "first defined here"),
                            );
                            continue;
                        }
                        scope.insert(
                            def.name.name.clone(),
                            BlockRef {
                                def,
                                file: file.file,
                            },
                        );
                    }
                    ast::Item::Network(def) => {
                        if let Some(&prev) = networks.get(def.name.name.as_str()) {
                            self.report(
                                Diagnostic::error(
                                    Code::E0207,
                                    format!("the network `{}` is defined twice", def.name.name),
                                )
                                .at(def.name.span, "defined again here")
                                .also(prev, "first defined here"),
                            );
                        }
                        networks.insert(&def.name.name, def.name.span);
                    }
                    ast::Item::Import(_) => {}
                }
                if let ast::Item::Block(def) | ast::Item::Network(def) = item {
                    self.check_params(def);
                }
            }
            own.insert(file.file, scope);
        }
        for file in &program.files {
            let mut scope = own.get(&file.file).cloned().unwrap_or_default();
            for (index, item) in file.items.iter().enumerate() {
                let ast::Item::Import(import) = item else {
                    continue;
                };
                let Some(&target) = program.imports.get(&(file.file, index)) else {
                    continue; // The loader already reported why.
                };
                let theirs = own.get(&target).cloned().unwrap_or_default();
                match &import.names {
                    None => {
                        for (name, block) in theirs {
                            scope.entry(name).or_insert(block);
                        }
                    }
                    Some(names) => {
                        for name in names {
                            match theirs.get(&name.name) {
                                Some(block) => {
                                    let definition =
                                        Definition::of(&block.def.name, DefinitionKind::Block);
                                    self.resolutions.record(name.span, definition);
                                    scope.entry(name.name.clone()).or_insert(*block);
                                }
                                None => {
                                    let hint = value::suggest(
                                        &name.name,
                                        theirs.keys().map(String::as_str),
                                    )
                                    .map(|s| format!("did you mean `{s}`?"));
                                    let mut d = Diagnostic::error(
                                        Code::E0208,
                                        format!("`{}` has no block `{}`", import.path, name.name),
                                    )
                                    .at(name.span, "not defined in the imported file");
                                    if let Some(hint) = hint {
                                        d = d.hint(hint);
                                    }
                                    self.report(d);
                                }
                            }
                        }
                    }
                }
            }
            self.scopes.insert(file.file, scope);
        }
    }

    /// Reports duplicate parameters and unknown parameter types of a definition, and
    /// registers the symbols of its enumeration types.
    fn check_params(&mut self, def: &Def) {
        let mut seen: HashMap<&str, Span> = HashMap::new();
        for param in &def.params {
            if let Some(&prev) = seen.get(param.name.name.as_str()) {
                self.report(
                    Diagnostic::error(
                        Code::E0207,
                        format!("the parameter `{}` is declared twice", param.name.name),
                    )
                    .at(param.name.span, "declared again here")
                    .also(prev, "first declared here"),
                );
            }
            seen.insert(&param.name.name, param.name.span);
            if let Some(ty) = &param.ty {
                match Ty::from_ast(ty) {
                    Ok(ty) => self.register_symbols(&ty),
                    Err((name, span)) => self.report(
                        Diagnostic::error(Code::E0201, format!("unknown type `{name}`"))
                            .at(span, "not a type")
                            .hint("the types are `int`, `float`, `bool`, `tensor`, lists like `[int]`, and enumerations like `first | last`"),
                    ),
                }
            }
        }
    }

    fn register_symbols(&mut self, ty: &Ty) {
        match ty {
            Ty::Enum(names) => self.symbols.extend(names.iter().cloned()),
            Ty::List(inner) => self.register_symbols(inner),
            _ => {}
        }
    }

    /// Picks the network to elaborate.
    fn select_network(&mut self, wanted: Option<&str>) -> Option<&'a Def> {
        let main = self.program.main_file();
        let networks: Vec<&'a Def> = main
            .items
            .iter()
            .filter_map(|item| match item {
                ast::Item::Network(def) => Some(def),
                _ => None,
            })
            .collect();
        let end = Span::new(main.file, 0..0);
        match wanted {
            Some(name) => {
                let found = networks.iter().copied().find(|d| d.name.name == name);
                if found.is_none() {
                    // `--network` has no span: point at the networks the file does
                    // define (or at its start when there are none).
                    let names: Vec<&str> = networks.iter().map(|d| d.name.name.as_str()).collect();
                    let mut d = Diagnostic::error(
                        Code::E0213,
                        format!("no network named `{name}` (asked for with `--network`)"),
                    );
                    match networks.split_first() {
                        None => d = d.at(end, "this file defines no network"),
                        Some((first, rest)) => {
                            d = d.at(first.name.span, "this file's networks are named here");
                            for other in rest {
                                d = d.also(other.name.span, "");
                            }
                        }
                    }
                    d = d.note(format!("the file defines: {}", list_or_none(&names)));
                    if let Some(s) = value::suggest(name, names.iter().copied()) {
                        d = d.hint(format!("the closest name is `{s}`: `--network {s}`"));
                    }
                    self.report(d);
                }
                found
            }
            None => match networks.as_slice() {
                [one] => Some(one),
                [] => {
                    self.report(
                        Diagnostic::error(Code::E0213, "this file defines no network")
                            .at(end, "no `network` here")
                            .hint("add `network NAME { input [3, 224, 224] … }`, or check a file that imports these blocks"),
                    );
                    None
                }
                many => {
                    let names: Vec<&str> = many.iter().map(|d| d.name.name.as_str()).collect();
                    self.report(
                        Diagnostic::error(Code::E0213, "this file defines several networks")
                            .at(many[1].name.span, "second network")
                            .hint(format!(
                                "choose one with `--network NAME`: {}",
                                names.join(", ")
                            )),
                    );
                    None
                }
            },
        }
    }

    /// Elaborates the chosen network.
    fn network(&mut self, def: &'a Def, overrides: &[Override]) {
        let mut env = Env::new();
        let overrides = self.apply_overrides(def, overrides);
        self.bind_params_with(def, &mut env, overrides);
        let result = self.body(&def.body, &mut env, None, true);
        let end = Span::new(
            def.body.span.file,
            def.body.span.end as usize - 1..def.body.span.end as usize,
        );
        match result {
            None => self.report(
                Diagnostic::error(
                    Code::E0213,
                    format!("the network `{}` declares no input", def.name.name),
                )
                .at(def.name.span, "no `input` in this network")
                .hint("start the body with `input [C, H, W]`, e.g. `input [3, 224, 224]`"),
            ),
            Some(value) => {
                // A list of tensors is no network output: point at the statement that
                // made it the current value.
                let at = def.body.stmts.last().map_or(end, |s| s.span);
                let value = self.one_tensor(value, at, "the network's output is one tensor");
                let output = self.add_node(Op::Output, &[value], end, Some("output"));
                let _ = output;
            }
        }
        self.finish_groups();
    }

    /// Adds a node computing `op` on `inputs` at `span`. Returns `Poison` (after one
    /// diagnostic) when the op cannot be applied, or silently when an input is poison.
    fn add_node(&mut self, op: Op, inputs: &[Value], span: Span, alias: Option<&str>) -> Value {
        let mut ids = Vec::with_capacity(inputs.len());
        for input in inputs {
            match input {
                Value::Tensor(id) => ids.push(*id),
                // Readers of one tensor check for lists before they get here; this
                // keeps a list that reaches a node from failing without a diagnostic.
                list @ Value::List(_) => {
                    self.one_tensor(list.clone(), span, "a layer reads one tensor");
                    return Value::Poison;
                }
                _ => return Value::Poison,
            }
        }
        if self.graph.node_count() >= MAX_NODES {
            if !self.too_large {
                self.too_large = true;
                self.report(
                    Diagnostic::error(Code::E0210, format!("the network grows past {MAX_NODES} nodes"))
                        .at(span, "this layer would exceed the limit")
                        .hint("check the repetition counts: the largest real residual networks have a few thousand nodes"),
                );
            }
            return Value::Poison;
        }
        let shapes: Vec<Shape> = ids.iter().map(|id| self.shapes[id]).collect();
        let shape = match infer_shape(&op, &shapes) {
            Ok(shape) => shape,
            Err(e) => {
                let mut d = Diagnostic::error(e.code, e.message.clone()).at(span, e.message);
                if let Some(hint) = e.hint {
                    d = d.hint(hint);
                }
                self.report(d);
                return Value::Poison;
            }
        };
        let name = self.names.node_name(op.kind_name(), alias);
        let group = self.current_group(span);
        let node = Node {
            op,
            name,
            span,
            trace: self.trace.iter().rev().cloned().collect(),
            group,
        };
        let id = self.graph.add(node, &ids);
        self.shapes.insert(id, shape);
        Value::Tensor(id)
    }

    fn shape_of(&self, value: &Value) -> Option<Shape> {
        match value {
            Value::Tensor(id) => self.shapes.get(id).copied(),
            _ => None,
        }
    }

    /// The group for a new node; creates the implicit `stem`/`head` groups on demand.
    fn current_group(&mut self, span: Span) -> usize {
        if let Some(group) = self.group {
            return group;
        }
        let name = if self.graph.groups.is_empty() {
            "input".to_string()
        } else if self.stages_seen == 0 {
            "stem".to_string()
        } else {
            "head".to_string()
        };
        self.graph.groups.push(Group {
            name,
            span,
            is_stage: false,
        });
        let index = self.graph.groups.len() - 1;
        self.group = Some(index);
        index
    }

    /// Implicit groups between two stages are transitions, not the head.
    fn finish_groups(&mut self) {
        let last_stage = self.graph.groups.iter().rposition(|g| g.is_stage);
        let mut transition = 0;
        for (i, group) in self.graph.groups.iter_mut().enumerate() {
            if !group.is_stage && group.name == "head" && last_stage.is_some_and(|s| i < s) {
                transition += 1;
                group.name = format!("transition{transition}");
            }
        }
    }

    fn lookup_block(&self, name: &str) -> Option<BlockRef<'a>> {
        self.scopes
            .get(&self.file)
            .and_then(|s| s.get(name))
            .copied()
    }
}

/// The trace a diagnostic shows, innermost frame first. Frames around the primary span
/// are left out (an error in a block call's arguments needs no "instantiated here" on
/// that same call), and a call site is shown once, so that recursion gives a short trace.
fn trim_trace<'t>(
    frames: impl Iterator<Item = &'t TraceFrame>,
    primary: Option<Span>,
) -> Vec<TraceFrame> {
    let mut out: Vec<TraceFrame> = Vec::new();
    for frame in frames {
        let around_primary = primary.is_some_and(|p| {
            p.file == frame.span.file && frame.span.start <= p.start && p.end <= frame.span.end
        });
        if (out.is_empty() && around_primary) || out.iter().any(|f| f.span == frame.span) {
            continue;
        }
        out.push(frame.clone());
    }
    out
}

fn list_or_none(names: &[&str]) -> String {
    if names.is_empty() {
        "no networks".to_string()
    } else {
        names.join(", ")
    }
}
