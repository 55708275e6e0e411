//! The `resc` command line (clap). The only module that prints or chooses exit codes.
//!
//! Exit codes: 0 success, 1 diagnostics reported, 2 usage error, 3 I/O error,
//! 4 data error (a dataset missing, truncated or malformed), 5 device error (a GPU
//! backend without a usable driver or adapter).

use crate::check::Report;
use crate::diag::{self, Code, Diagnostic, ALL_CODES};
use crate::driver::{self, Compilation, FsLoader, Options};
use crate::ir::{Graph, Op};
use crate::passes::{Goal, PassReport, Pipeline, Target};
use crate::source::{SourceMap, Span};
use clap::{Parser, Subcommand, ValueEnum};
use serde_json::json;
use std::io::IsTerminal;
use std::path::PathBuf;

#[cfg(feature = "cpu")]
mod arrays;
#[cfg(feature = "cpu")]
mod backend;
mod data_cmd;
#[cfg(feature = "cpu")]
mod export_cmd;
mod fmt_cmd;
#[cfg(feature = "cpu")]
mod infer_cmd;
#[cfg(feature = "cpu")]
mod run_cmd;

pub const EXIT_OK: i32 = 0;
pub const EXIT_DIAGNOSTICS: i32 = 1;
pub const EXIT_USAGE: i32 = 2;
pub const EXIT_IO: i32 = 3;
pub const EXIT_DATA: i32 = 4;
pub const EXIT_DEVICE: i32 = 5;

/// A failure and its exit code, already printed.
#[cfg(feature = "cpu")]
type Exit = i32;

#[derive(Parser, Debug)]
#[command(
    name = "resc",
    version,
    about = "A compiler for .resnet files: residual networks, shape-checked and costed"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Format {
    Human,
    Json,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Emit {
    Dot,
    Json,
    Text,
    /// The execution plan of the Burn module (with `--opt`: after folding BN, λ and α
    /// into the convolutions, fusing ReLUs and removing residuals by re-parameterisation).
    Plan,
}

#[derive(clap::Args, Debug)]
struct ModelArgs {
    /// The model file.
    file: PathBuf,
    /// Override a network parameter: `--set depth=28` (repeatable).
    #[arg(long = "set", value_name = "NAME=VALUE")]
    set: Vec<String>,
    /// The network to compile when the file defines several.
    #[arg(long)]
    network: Option<String>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check a model: diagnostics, or the per-stage shapes, parameters, MACs and memory.
    Check {
        #[command(flatten)]
        model: ModelArgs,
        /// Output format.
        #[arg(long, value_enum, default_value = "human")]
        format: Format,
        /// Run the optimisation passes (inference pipeline) first and print what each did.
        #[arg(long)]
        passes: bool,
    },
    /// Print the IR graph of a model.
    Graph {
        #[command(flatten)]
        model: ModelArgs,
        /// Graphviz DOT, JSON, or the IR as text.
        #[arg(long, value_enum, default_value = "dot")]
        emit: Emit,
        /// Show the graph after the optimisation passes (inference pipeline).
        #[arg(long)]
        opt: bool,
        /// With `--emit plan --opt`: also remove residuals by re-parameterisation (RMNet)
        /// where that is exact, leaving a plain chain of convolutions.
        #[arg(long, requires = "opt")]
        plain: bool,
        /// With `--emit plan --opt`: the backend whose plan to show (kernel selection
        /// only happens on the CPU). Needs no device.
        #[cfg(feature = "cpu")]
        #[arg(long, value_enum, default_value = "cpu")]
        backend: backend::BackendKind,
    },
    /// Explain an error code (`resc explain E0301`); without a code, list them all.
    Explain {
        /// The code, e.g. E0301.
        code: Option<String>,
    },
    /// Download or inspect datasets (`resc data fetch cifar10`, `resc data info digits`).
    Data {
        #[command(subcommand)]
        command: data_cmd::DataCommand,
    },
    /// Train a model: `resc run models/resnet20.resnet --data cifar10` (checkpoints every
    /// epoch; `--resume RUN_DIR` continues an interrupted run).
    #[cfg(feature = "cpu")]
    Run(Box<run_cmd::RunArgs>),
    /// Evaluate a trained model: accuracy, per-class accuracy, confusion matrix.
    #[cfg(feature = "cpu")]
    Eval(Box<run_cmd::EvalArgs>),
    /// Run a model forward (evaluation mode) on inputs with trained weights: top classes,
    /// and the logits written to a file.
    #[cfg(feature = "cpu")]
    Infer(Box<infer_cmd::InferArgs>),
    /// Write the optimised inference network's weights (BN, λ, α folded; residuals
    /// removed where exact) as safetensors, with its execution plan in the metadata.
    #[cfg(feature = "cpu")]
    Export(Box<export_cmd::ExportArgs>),
    /// List the backends this build has and the devices each can use.
    #[cfg(feature = "cpu")]
    Devices,
    /// Run the language server on stdin/stdout (for editors).
    Lsp,
    /// Rewrite files in the canonical layout (directories: every `*.resnet` inside).
    Fmt {
        /// Files or directories.
        #[arg(required = true)]
        files: Vec<PathBuf>,
        /// Change nothing; list the files that would change and exit with 1 if any.
        #[arg(long)]
        check: bool,
    },
}

/// Runs the command line `args` (including the program name) and returns the exit code.
pub fn run<I, T>(args: I) -> i32
where
    I: IntoIterator<Item = T>,
    T: Into<std::ffi::OsString> + Clone,
{
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    match cli.command {
        Command::Check {
            model,
            format,
            passes,
        } => check(&model, format, passes),
        Command::Graph {
            model,
            emit,
            opt,
            plain,
            #[cfg(feature = "cpu")]
            backend,
        } => graph(
            &model,
            emit,
            opt,
            plain,
            #[cfg(feature = "cpu")]
            backend,
        ),
        Command::Explain { code } => explain(code.as_deref()),
        Command::Fmt { files, check } => fmt_cmd::run(&files, check),
        Command::Data { command } => data_cmd::run(command),
        #[cfg(feature = "cpu")]
        Command::Run(args) => {
            crate::lower::tune_allocator();
            run_cmd::run(&args)
        }
        #[cfg(feature = "cpu")]
        Command::Eval(args) => {
            crate::lower::tune_allocator();
            run_cmd::eval(&args)
        }
        #[cfg(feature = "cpu")]
        Command::Infer(args) => {
            crate::lower::tune_allocator();
            infer_cmd::run(&args)
        }
        #[cfg(feature = "cpu")]
        Command::Export(args) => export_cmd::run(&args),
        #[cfg(feature = "cpu")]
        Command::Devices => backend::list_devices(),
        Command::Lsp => crate::lsp::run_stdio(),
    }
}

fn compile(model: &ModelArgs) -> Result<Compilation, i32> {
    let options = Options {
        network: model.network.clone(),
        overrides: model.set.clone(),
    };
    driver::compile_file(&model.file, &options, &mut FsLoader)
        .map_err(|e| fail(unreadable_model(&model.file, &e), EXIT_IO))
}

/// E0103: the model file named on the command line cannot be read.
pub(crate) fn unreadable_model(path: &std::path::Path, e: &std::io::Error) -> Diagnostic {
    Diagnostic::error(
        Code::E0103,
        format!("cannot read `{}`: {e}", path.display()),
    )
}

/// Renders a runtime error (a diagnostic without source spans: data, checkpoints,
/// weights, devices, files) on standard error and returns the command's exit code.
fn fail(diagnostic: Diagnostic, exit: i32) -> i32 {
    diag::render::to_stderr(
        &SourceMap::default(),
        &[diagnostic],
        std::io::stderr().is_terminal(),
    );
    exit
}

/// Prints a runtime warning (a diagnostic without source spans) on standard error; the
/// command goes on.
#[cfg(feature = "cpu")]
fn warn(warning: Diagnostic) {
    debug_assert!(!warning.is_error());
    diag::render::to_stderr(
        &SourceMap::default(),
        &[warning],
        std::io::stderr().is_terminal(),
    );
}

fn print_diagnostics(sources: &SourceMap, diags: &[Diagnostic]) {
    diag::render::to_stderr(sources, diags, std::io::stderr().is_terminal());
    let errors = diags.iter().filter(|d| d.is_error()).count();
    if errors > 0 {
        eprintln!(
            "error: {errors} error{} found; `resc explain CODE` describes each code",
            if errors == 1 { "" } else { "s" }
        );
    }
}

/// Runs the inference pipeline's graph passes on a checked model and re-checks it.
fn optimise(checked: &mut crate::driver::Checked) -> Vec<PassReport> {
    Pipeline::new(Goal::Inference, Target::Cpu).optimise(checked)
}

fn passes_table(reports: &[PassReport]) -> String {
    let mut out = String::from("passes (inference pipeline):\n");
    for r in reports {
        let removed = r.nodes_before.saturating_sub(r.nodes_after);
        let what = match (r.changed, removed) {
            (false, _) => "no change".to_string(),
            (true, 0) => "rewired".to_string(),
            (true, n) => format!("{n} node{} removed", if n == 1 { "" } else { "s" }),
        };
        out.push_str(&format!(
            "  {:<16} {:>5} → {:<5}  {what}\n",
            r.pass, r.nodes_before, r.nodes_after
        ));
    }
    let pipeline = Pipeline::new(Goal::Inference, Target::Cpu);
    let weights: Vec<&str> = pipeline.weight_passes().iter().map(|p| p.name()).collect();
    out.push_str(&format!(
        "  then on the weights (resc infer, export; CPU): {}\n\n",
        weights.join(" → ")
    ));
    out
}

fn check(model: &ModelArgs, format: Format, run_passes: bool) -> i32 {
    let mut compilation = match compile(model) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let pass_reports = match (&mut compilation.result, run_passes) {
        (Ok(checked), true) => optimise(checked),
        _ => Vec::new(),
    };
    match (&compilation.result, format) {
        (Ok(checked), Format::Human) => {
            // Warnings (E0216) go to standard error and leave the exit code at 0.
            print_diagnostics(&compilation.sources, &checked.elaborated.warnings);
            let report = Report::new(
                &checked.elaborated.network,
                &checked.elaborated.graph,
                &checked.info,
            );
            if run_passes {
                print!("{}", passes_table(&pass_reports));
            }
            print!("{}", report.to_table());
            EXIT_OK
        }
        (Ok(checked), Format::Json) => {
            let report = Report::new(
                &checked.elaborated.network,
                &checked.elaborated.graph,
                &checked.info,
            );
            let warnings: Vec<serde_json::Value> = (checked.elaborated.warnings.iter())
                .map(|d| diagnostic_json(&compilation.sources, d))
                .collect();
            let out = json!({ "ok": true, "diagnostics": warnings, "report": report, "passes": pass_reports });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            EXIT_OK
        }
        (Err(diags), Format::Human) => {
            print_diagnostics(&compilation.sources, diags);
            EXIT_DIAGNOSTICS
        }
        (Err(diags), Format::Json) => {
            let list: Vec<serde_json::Value> = diags
                .iter()
                .map(|d| diagnostic_json(&compilation.sources, d))
                .collect();
            let out = json!({ "ok": false, "diagnostics": list });
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
            EXIT_DIAGNOSTICS
        }
    }
}

fn span_json(sources: &SourceMap, span: Span) -> serde_json::Value {
    let (line, column) = sources.line_col(span.file, span.start);
    let (end_line, end_column) = sources.line_col(span.file, span.end);
    json!({
        "file": sources.get(span.file).name,
        "start": span.start, "end": span.end,
        "line": line, "column": column, "end_line": end_line, "end_column": end_column,
    })
}

/// A diagnostic as JSON, with file names and 1-based lines and columns.
pub fn diagnostic_json(sources: &SourceMap, d: &Diagnostic) -> serde_json::Value {
    json!({
        "severity": d.severity,
        "code": d.code,
        "message": d.message,
        "labels": d.labels.iter().map(|l| json!({
            "message": l.message, "primary": l.primary, "span": span_json(sources, l.span),
        })).collect::<Vec<_>>(),
        "notes": d.notes,
        "hints": d.hints,
        "trace": d.trace.iter().map(|t| json!({
            "message": t.message, "span": span_json(sources, t.span),
        })).collect::<Vec<_>>(),
    })
}

#[cfg_attr(not(feature = "cpu"), allow(unused_variables))]
fn graph(
    model: &ModelArgs,
    emit: Emit,
    opt: bool,
    plain: bool,
    #[cfg(feature = "cpu")] backend: backend::BackendKind,
) -> i32 {
    let mut compilation = match compile(model) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if let (Ok(checked), true) = (&mut compilation.result, opt) {
        optimise(checked);
    }
    let checked = match &compilation.result {
        Ok(c) => c,
        Err(diags) => {
            print_diagnostics(&compilation.sources, diags);
            return EXIT_DIAGNOSTICS;
        }
    };
    let graph = &checked.elaborated.graph;
    match emit {
        #[cfg(feature = "cpu")]
        Emit::Plan => {
            let net = crate::lower::Network::new(
                checked.elaborated.network.clone(),
                graph.clone(),
                checked.info.shapes.clone(),
                compilation.sources.clone(),
            )
            .build::<burn::backend::Flex>(&Default::default());
            let net = if opt {
                // The plan is the same on every backend but for the CPU's kernel
                // selection, so it is built on the CPU whatever `--backend` says.
                let target = match backend {
                    backend::BackendKind::Cpu => Target::Cpu,
                    _ => Target::Gpu,
                };
                let goal = if plain { Goal::Plain } else { Goal::Inference };
                let (net, report) = Pipeline::new(goal, target).run_net(net);
                if target == Target::Gpu {
                    println!(
                        "# backend {}: every step on Burn's kernels (no CPU kernel selection)",
                        backend.name()
                    );
                }
                println!("# folded: {report}");
                net
            } else {
                net
            };
            print!("{}", net.plan());
        }
        #[cfg(not(feature = "cpu"))]
        Emit::Plan => {
            return fail(
                Diagnostic::error(
                    Code::E0505,
                    "`--emit plan` needs the Burn back end (the default `cpu` feature)",
                ),
                EXIT_USAGE,
            );
        }
        Emit::Dot => print!("{}", to_dot(graph, &checked.info)),
        Emit::Json => {
            let out = to_json(graph, &checked.info, &compilation.sources);
            println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
        }
        Emit::Text => print!("{}", crate::ir::dump(graph)),
    }
    EXIT_OK
}

fn op_label(op: &Op) -> String {
    match op {
        Op::Conv {
            out_channels,
            kernel,
            stride,
            groups,
            ..
        } => {
            let mut s = format!("conv {}×{} → {out_channels}", kernel[0], kernel[1]);
            if stride[0] > 1 {
                s.push_str(&format!(" /{}", stride[0]));
            }
            if *groups > 1 {
                s.push_str(&format!(" g{groups}"));
            }
            s
        }
        other => other.kind_name().to_string(),
    }
}

/// The graph in Graphviz DOT, one cluster per stage.
fn to_dot(graph: &Graph, info: &crate::check::Info) -> String {
    let mut out = String::from(
        "digraph resc {\n  rankdir=TB;\n  node [shape=box, fontname=\"monospace\", fontsize=10];\n",
    );
    let index: std::collections::HashMap<_, _> =
        graph.nodes().enumerate().map(|(i, n)| (n, i)).collect();
    for (g, group) in graph.groups.iter().enumerate() {
        out.push_str(&format!(
            "  subgraph cluster_{g} {{\n    label=\"{}\";\n",
            group.name
        ));
        for id in graph.nodes().filter(|&n| graph.node(n).group == g) {
            let node = graph.node(id);
            let shape = info
                .shapes
                .get(&id)
                .map(|s| s.to_string())
                .unwrap_or_default();
            out.push_str(&format!(
                "    n{} [label=\"{}\\n{}\\n{}\"];\n",
                index[&id],
                node.name,
                op_label(&node.op),
                shape
            ));
        }
        out.push_str("  }\n");
    }
    for id in graph.nodes() {
        for input in graph.inputs(id) {
            out.push_str(&format!("  n{} -> n{};\n", index[&input], index[&id]));
        }
    }
    out.push_str("}\n");
    out
}

fn to_json(graph: &Graph, info: &crate::check::Info, sources: &SourceMap) -> serde_json::Value {
    let index: std::collections::HashMap<_, _> =
        graph.nodes().enumerate().map(|(i, n)| (n, i)).collect();
    let nodes: Vec<serde_json::Value> = graph
        .nodes()
        .map(|id| {
            let node = graph.node(id);
            let cost = info.costs.get(&id).copied().unwrap_or_default();
            json!({
                "id": index[&id],
                "name": node.name,
                "op": node.op,
                "inputs": graph.inputs(id).iter().map(|i| index[i]).collect::<Vec<_>>(),
                "shape": info.shapes.get(&id),
                "params": cost.params,
                "macs": cost.macs,
                "group": graph.groups[node.group].name,
                "span": span_json(sources, node.span),
            })
        })
        .collect();
    json!({ "nodes": nodes })
}

fn explain(code: Option<&str>) -> i32 {
    match code {
        None => {
            for c in ALL_CODES {
                println!("{}  {}", c.as_str(), c.title());
            }
            EXIT_OK
        }
        Some(text) => match Code::parse(text) {
            Some(c) => {
                print!("{}", c.explanation());
                EXIT_OK
            }
            None => fail(
                Diagnostic::error(Code::E0901, format!("`{text}` is not a resc error code"))
                    .hint("`resc explain` lists them"),
                EXIT_USAGE,
            ),
        },
    }
}
