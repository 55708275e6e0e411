//! `resc run FILE --data …` (train, with checkpoints and `--resume`) and
//! `resc eval FILE --checkpoint RUN --data …` (accuracy, per-class accuracy, confusion).

use super::backend::{BackendArgs, OnAutodiff, OnBackend};
use super::{
    fail, warn, Exit, ModelArgs, EXIT_DATA, EXIT_DIAGNOSTICS, EXIT_IO, EXIT_OK, EXIT_USAGE,
};
use crate::data::{self, DataSource, Dataset};
use crate::diag::{Code, Diagnostic};
use crate::driver::Options;
use crate::lower::Network;
use crate::passes::{Goal, Pipeline, Target};
use crate::train::checkpoint;
use crate::train::config::{OptimizerKind, Schedule, TrainConfig};
use crate::train::run::{self, Start};
use burn::tensor::backend::{AutodiffBackend, Backend};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(clap::Args, Debug)]
pub(super) struct DataArgs {
    /// cifar10, cifar100, digits, synthetic[:classes=4,shape=1x8x8,…], or an image folder.
    #[arg(long)]
    data: String,
    /// Where datasets are looked for (else $RESC_DATA, else the user cache directory).
    #[arg(long, value_name = "DIR")]
    data_dir: Option<PathBuf>,
    #[command(flatten)]
    backend: BackendArgs,
}

#[derive(clap::Args, Debug)]
pub(super) struct RunArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
    #[arg(long)]
    epochs: Option<u32>,
    /// Images per training step (≥ 1).
    #[arg(long, value_parser = at_least_one)]
    batch: Option<usize>,
    /// The base learning rate.
    #[arg(long)]
    lr: Option<f64>,
    #[arg(long, value_enum)]
    optimizer: Option<OptimizerKind>,
    #[arg(long)]
    momentum: Option<f64>,
    /// Nesterov momentum on (true) or off (false).
    #[arg(long)]
    nesterov: Option<bool>,
    #[arg(long)]
    weight_decay: Option<f64>,
    /// constant, cosine, or multistep:60,120,160[@0.2][/iter] (milestones in epochs, or
    /// iterations with /iter; gamma after @, default 0.1).
    #[arg(long)]
    schedule: Option<String>,
    /// Linear warm-up over this many epochs.
    #[arg(long)]
    warmup_epochs: Option<f64>,
    /// Learning rate of every λ (default: each weighted shortcut's own `lr`, 0.001).
    #[arg(long)]
    lambda_lr: Option<f64>,
    /// Apply weight decay to BN parameters, biases and λ too.
    #[arg(long)]
    decay_bn_bias: bool,
    /// Pixels of padding before the random crop (0: no crop).
    #[arg(long, value_name = "N")]
    pad: Option<usize>,
    /// How the padding is filled: zero or reflect.
    #[arg(long, value_name = "MODE", value_parser = ["zero", "reflect"])]
    pad_mode: Option<String>,
    /// Random horizontal flips on (true) or off (false).
    #[arg(long, value_name = "BOOL")]
    flip: Option<bool>,
    /// Seeds initialisation, shuffling, augmentation and dropout: a CPU run repeats exactly.
    #[arg(long)]
    seed: Option<u64>,
    /// Background threads making batches.
    #[arg(long)]
    workers: Option<usize>,
    /// Also checkpoint every N iterations (checkpoints are always written at epoch ends).
    #[arg(long, value_name = "N")]
    checkpoint_every: Option<u64>,
    /// The run directory (default `runs/<model>-<UTC time>`).
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Gradient checkpointing (Burn's balanced strategy): recompute cheap activations in
    /// the backward pass instead of keeping them, for very deep networks (1000+ layers).
    #[arg(long)]
    checkpointing: bool,
    /// Continue the run in DIR from its latest checkpoint, with its saved configuration
    /// (`--epochs` may extend it).
    #[arg(long, value_name = "DIR")]
    resume: Option<PathBuf>,
}

impl RunArgs {
    /// True when a flag changes a training setting (the model's recipe or the defaults).
    fn has_training_flags(&self) -> bool {
        self.epochs.is_some() || !self.settings_flags().is_empty()
    }

    /// The flags given that set the training configuration, other than `--epochs`.
    fn settings_flags(&self) -> Vec<&'static str> {
        [
            ("--batch", self.batch.is_some()),
            ("--lr", self.lr.is_some()),
            ("--optimizer", self.optimizer.is_some()),
            ("--momentum", self.momentum.is_some()),
            ("--nesterov", self.nesterov.is_some()),
            ("--weight-decay", self.weight_decay.is_some()),
            ("--schedule", self.schedule.is_some()),
            ("--warmup-epochs", self.warmup_epochs.is_some()),
            ("--lambda-lr", self.lambda_lr.is_some()),
            ("--decay-bn-bias", self.decay_bn_bias),
            ("--pad", self.pad.is_some()),
            ("--pad-mode", self.pad_mode.is_some()),
            ("--flip", self.flip.is_some()),
        ]
        .into_iter()
        .filter_map(|(flag, given)| given.then_some(flag))
        .collect()
    }
}

#[derive(clap::Args, Debug)]
pub(super) struct EvalArgs {
    #[command(flatten)]
    model: ModelArgs,
    #[command(flatten)]
    data: DataArgs,
    /// A run directory (its latest checkpoint) or a checkpoint directory.
    #[arg(long, value_name = "DIR")]
    checkpoint: PathBuf,
    /// Images per evaluation step (≥ 1).
    #[arg(long, default_value_t = 256, value_parser = at_least_one)]
    batch: usize,
    #[arg(long, value_enum, default_value = "human")]
    format: super::Format,
}

/// Compiles the model with `overrides` (`--set`) and runs the graph passes of `goal`'s
/// pipeline on it, printing any diagnostics.
pub(super) fn compile(
    model: &ModelArgs,
    overrides: &[String],
    goal: Goal,
) -> Result<Network, Exit> {
    let options = Options {
        network: model.network.clone(),
        overrides: overrides.to_vec(),
    };
    // The graph passes are the same on every target; the weight passes, which depend on
    // it, run on the built net.
    let pipeline = Pipeline::new(goal, Target::Cpu);
    let compiled = pipeline.network(&model.file, &options);
    compiled.map(|(network, _)| network).map_err(|e| {
        eprint!("{e}");
        if e.diagnostics.iter().all(|d| d.code == Code::E0103) {
            EXIT_IO
        } else {
            EXIT_DIAGNOSTICS
        }
    })
}

fn load_data(args: &DataArgs) -> Result<(DataSource, Dataset), Exit> {
    let result = args
        .data
        .parse::<DataSource>()
        .and_then(|source| data::load(&source, args.data_dir.as_deref()).map(|d| (source, d)));
    result.map_err(|e| fail(e, EXIT_DATA))
}

/// The model must read the data's images and predict its classes.
fn check_fit(network: &Network, data: &Dataset) -> Result<(), Exit> {
    let input = network.input_shape();
    let classes = network
        .graph
        .output()
        .and_then(|id| network.shapes.get(&id))
        .map(|s| s.c as usize);
    let mut problems = Vec::new();
    if input != data.shape() {
        problems.push(format!(
            "the model reads {:?} images, {} has {:?}",
            input,
            data.name,
            data.shape()
        ));
    }
    if classes != Some(data.classes()) {
        problems.push(format!(
            "the model predicts {} classes, {} has {}",
            classes.map_or("?".to_string(), |c| c.to_string()),
            data.name,
            data.classes()
        ));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let d = problems.into_iter().fold(
        Diagnostic::error(
            Code::E0701,
            format!("`{}` does not fit the data", network.name),
        ),
        Diagnostic::note,
    );
    Err(fail(
        d.hint(format!("change the model's `input` / classifier, or pick them with `--set` (e.g. `--set classes={}`) where the model has such parameters", data.classes())),
        EXIT_DIAGNOSTICS,
    ))
}

fn parse_schedule(text: &str) -> Result<Schedule, String> {
    match text {
        "constant" => return Ok(Schedule::Constant),
        "cosine" => return Ok(Schedule::Cosine),
        _ => {}
    }
    let rest = text.strip_prefix("multistep:").ok_or_else(|| {
        format!("unknown schedule `{text}` (constant, cosine, multistep:E1,E2[@gamma][/iter])")
    })?;
    let (rest, by_iteration) = match rest.strip_suffix("/iter") {
        Some(r) => (r, true),
        None => (rest, false),
    };
    let (list, gamma) = match rest.split_once('@') {
        Some((l, g)) => (l, g.parse::<f64>().map_err(|_| format!("bad gamma `{g}`"))?),
        None => (rest, 0.1),
    };
    let milestones = list
        .split(',')
        .map(|m| {
            m.trim()
                .parse::<u64>()
                .map_err(|_| format!("bad milestone `{m}`"))
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Schedule::Multistep {
        milestones,
        gamma,
        by_iteration,
    })
}

/// The run directory's default name: `runs/<model>-<YYYYmmdd-HHMMSS>` (UTC).
fn default_run_dir(model: &str) -> PathBuf {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (days, rem) = ((secs / 86_400) as i64, secs % 86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    PathBuf::from("runs").join(format!(
        "{model}-{year:04}{month:02}{day:02}-{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    ))
}

pub(super) fn run(args: &RunArgs) -> i32 {
    match run_inner(args) {
        Ok(()) => EXIT_OK,
        Err(code) => code,
    }
}

fn run_inner(args: &RunArgs) -> Result<(), Exit> {
    let (dir, config, start) = match &args.resume {
        Some(dir) => {
            let file = dir.join("config.json");
            let text = std::fs::read_to_string(&file).map_err(|e| {
                fail(
                    Diagnostic::error(Code::E0702, format!("cannot resume: {e}")).file(&file),
                    EXIT_IO,
                )
            })?;
            let mut config: TrainConfig = serde_json::from_str(&text).map_err(|e| {
                fail(
                    Diagnostic::error(
                        Code::E0702,
                        format!("cannot resume: not a run configuration: {e}"),
                    )
                    .file(&file),
                    EXIT_IO,
                )
            })?;
            if let Some(e) = args.epochs {
                config.epochs = e;
            }
            let mut ignored: Vec<String> = args
                .settings_flags()
                .into_iter()
                .map(String::from)
                .collect();
            if !args.model.set.is_empty() {
                ignored.push("--set".into());
            }
            if args.model.file != Path::new(&config.model) {
                ignored.push(format!(
                    "the model file {} (the run trains {})",
                    args.model.file.display(),
                    config.model
                ));
            }
            if args.data.data != config.data {
                ignored.push(format!(
                    "--data {} (the run trains on {})",
                    args.data.data, config.data
                ));
            }
            if !ignored.is_empty() {
                warn(Diagnostic::warning(
                    Code::E0705,
                    format!(
                        "a resumed run keeps the configuration in {}; ignoring {} (only --epochs applies)",
                        dir.join("config.json").display(),
                        ignored.join(", ")
                    ),
                ));
            }
            let problems = config.problems();
            if !problems.is_empty() {
                let d = problems.iter().fold(
                    Diagnostic::error(
                        Code::E0702,
                        "cannot resume: the run's configuration is invalid",
                    ),
                    |d, p| d.note(p.clone()),
                );
                return Err(fail(d.file(&file), EXIT_IO));
            }
            let (ckpt, state) = checkpoint::latest(dir).map_err(|e| {
                fail(
                    Diagnostic::error(Code::E0702, format!("cannot resume: {e}")).hint(
                        "a run writes its first checkpoint at the end of epoch 1 (or after --checkpoint-every iterations)",
                    ),
                    EXIT_IO,
                )
            })?;
            (dir.clone(), config, Start::Resume(ckpt, state))
        }
        None => {
            let mut network = compile(&args.model, &args.model.set, Goal::Training)?;
            let mut set = args.model.set.clone();
            // The recipe's dropout is the network's `dropout` parameter, unless `--set`
            // gives it.
            if let Some(p) = network.recipe.dropout {
                if !set
                    .iter()
                    .any(|s| s.split('=').next().map(str::trim) == Some("dropout"))
                {
                    set.push(format!("dropout={p}"));
                    network = compile(&args.model, &set, Goal::Training)?;
                }
            }
            let (source, data) = load_data(&args.data)?;
            check_fit(&network, &data)?;
            let mut c = TrainConfig::defaults(
                &args.model.file.display().to_string(),
                &source,
                data.shape(),
            );
            c.apply_recipe(&network.recipe);
            c.overrides = set;
            if let Some(n) = &args.model.network {
                c.overrides.push(format!("--network={n}"));
            }
            if args.has_training_flags() {
                c.origin += ", then command-line flags";
            }
            apply_flags(&mut c, args)
                .map_err(|e| fail(Diagnostic::error(Code::E0704, e), EXIT_USAGE))?;
            if let Some((first, rest)) = c.problems().split_first() {
                let d = rest
                    .iter()
                    .fold(Diagnostic::error(Code::E0704, first.clone()), |d, p| {
                        d.note(p.clone())
                    });
                return Err(fail(d, EXIT_USAGE));
            }
            let dir = args
                .out
                .clone()
                .unwrap_or_else(|| default_run_dir(&network.name));
            // A fresh run never writes over another run's configuration and checkpoints.
            if dir.join("config.json").exists() || dir.join("checkpoints").exists() {
                return Err(fail(
                    Diagnostic::error(
                        Code::E0703,
                        format!("{} already holds a run", dir.display()),
                    )
                    .hint(format!(
                        "continue it with `--resume {}`, or choose another `--out`",
                        dir.display()
                    )),
                    EXIT_IO,
                ));
            }
            (dir, c, Start::Fresh)
        }
    };
    let (overrides, network_flag): (Vec<String>, Option<String>) = {
        let mut o = Vec::new();
        let mut n = None;
        for s in &config.overrides {
            match s.strip_prefix("--network=") {
                Some(name) => n = Some(name.to_string()),
                None => o.push(s.clone()),
            }
        }
        (o, n)
    };
    let model = ModelArgs {
        file: PathBuf::from(&config.model),
        set: overrides.clone(),
        network: network_flag,
    };
    let network = compile(&model, &overrides, Goal::Training)?;
    // Weights, gradients, momentum and a copy in flight.
    args.data.backend.check_memory(&network, 4)?;
    let data_args = DataArgs {
        data: config.data.clone(),
        data_dir: args.data.data_dir.clone(),
        backend: args.data.backend,
    };
    let (_, data) = load_data(&data_args)?;
    check_fit(&network, &data)?;
    let result = args.data.backend.train(
        args.checkpointing,
        Training {
            network: &network,
            data: &data,
            config: &config,
            dir: &dir,
            start,
        },
    )?;
    match result {
        Ok(metrics) => {
            if let Some(last) = metrics.last() {
                println!(
                    "done: test accuracy {:.2}% after {} epochs; metrics in {}",
                    100.0 * last.test_acc,
                    last.epoch,
                    dir.join("metrics.jsonl").display()
                );
            }
            Ok(())
        }
        Err(e) => Err(fail(e, EXIT_IO)),
    }
}

/// `resc run`'s work on the backend `--backend` chooses.
struct Training<'a> {
    network: &'a Network,
    data: &'a Dataset,
    config: &'a TrainConfig,
    dir: &'a Path,
    start: Start,
}

impl OnAutodiff for Training<'_> {
    type Output = Result<Vec<crate::train::EpochMetrics>, crate::diag::Diagnostic>;

    fn run<B: AutodiffBackend>(self, device: &B::Device) -> Result<Self::Output, Exit> {
        // Written once the device works: a run that cannot start leaves no directory
        // behind that a second try would refuse as "already holds a run".
        let (dir, config) = (self.dir, self.config);
        std::fs::create_dir_all(dir).map_err(|e| {
            fail(
                Diagnostic::error(
                    Code::E0703,
                    format!("cannot create the run directory {}: {e}", dir.display()),
                ),
                EXIT_IO,
            )
        })?;
        let json = serde_json::to_vec_pretty(config).expect("the configuration serialises");
        let file = dir.join("config.json");
        checkpoint::write_atomic(&file, &json).map_err(|e| {
            fail(
                Diagnostic::error(Code::E0703, format!("cannot write {}: {e}", file.display())),
                EXIT_IO,
            )
        })?;
        println!("{}", config.summary());
        println!("run directory {}", dir.display());
        Ok(run::train::<B>(
            self.network,
            self.data,
            self.config,
            self.dir,
            self.start,
            device,
        ))
    }
}

/// A count that must be at least 1 (`--batch`), for clap.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}

fn apply_flags(c: &mut TrainConfig, a: &RunArgs) -> Result<(), String> {
    use crate::train::config::set_given;
    set_given(&mut c.epochs, a.epochs);
    set_given(&mut c.batch, a.batch);
    set_given(&mut c.lr, a.lr);
    set_given(&mut c.optimizer, a.optimizer);
    set_given(&mut c.momentum, a.momentum);
    set_given(&mut c.nesterov, a.nesterov);
    set_given(&mut c.weight_decay, a.weight_decay);
    if let Some(s) = &a.schedule {
        c.schedule = parse_schedule(s)?;
    }
    set_given(&mut c.warmup_epochs, a.warmup_epochs);
    if a.lambda_lr.is_some() {
        c.lambda_lr = a.lambda_lr;
    }
    c.decay_bn_bias |= a.decay_bn_bias;
    c.set_augment(a.pad, a.pad_mode.as_deref(), a.flip);
    if let Some(v) = a.seed {
        c.seed = v;
    }
    if let Some(v) = a.workers {
        c.workers = v;
    }
    if let Some(v) = a.checkpoint_every {
        c.checkpoint_every = v;
    }
    Ok(())
}

pub(super) fn eval(args: &EvalArgs) -> i32 {
    match eval_inner(args) {
        Ok(()) => EXIT_OK,
        Err(code) => code,
    }
}

fn eval_inner(args: &EvalArgs) -> Result<(), Exit> {
    let network = compile(&args.model, &args.model.set, Goal::Training)?;
    args.data.backend.check_memory(&network, 1)?;
    let (_, data) = load_data(&args.data)?;
    check_fit(&network, &data)?;
    let model_file = checkpoint::model_file(&args.checkpoint)
        .map_err(|e| fail(Diagnostic::error(Code::E0702, e), EXIT_IO))?;
    if !model_file.is_file() {
        return Err(fail(
            Diagnostic::error(
                Code::E0702,
                format!("no checkpoint in {}", args.checkpoint.display()),
            )
            .note("looked for checkpoints/latest and model.mpk"),
            EXIT_IO,
        ));
    }
    let evaluation = args.data.backend.run(Evaluation {
        network: &network,
        data: &data,
        model_file: &model_file,
        batch: args.batch,
    })?;
    let classes = data.classes();
    let per_class: Vec<f64> = (0..classes)
        .map(|c| {
            let total: u64 = evaluation.confusion[c].iter().sum();
            evaluation.confusion[c][c] as f64 / total.max(1) as f64
        })
        .collect();
    match args.format {
        super::Format::Json => {
            let out = json!({
                "model": network.name,
                "data": data.name,
                "images": data.test.len(),
                "loss": evaluation.loss,
                "accuracy": evaluation.accuracy,
                "per_class": data.class_names.iter().zip(&per_class).map(|(n, a)| json!({"class": n, "accuracy": a})).collect::<Vec<_>>(),
                "confusion": evaluation.confusion,
            });
            println!("{}", serde_json::to_string_pretty(&out).expect("JSON"));
        }
        super::Format::Human => {
            println!(
                "{} on {} test ({} images): accuracy {:.2}%, loss {:.4}\n",
                network.name,
                data.name,
                data.test.len(),
                100.0 * evaluation.accuracy,
                evaluation.loss
            );
            let width = data
                .class_names
                .iter()
                .map(|n| n.len())
                .max()
                .unwrap_or(1)
                .max(5);
            println!("{:<width$}  accuracy", "class");
            for (name, acc) in data.class_names.iter().zip(&per_class) {
                println!("{name:<width$}  {:>7.2}%", 100.0 * acc);
            }
            println!("\nconfusion matrix (rows: label, columns: prediction)");
            let cell = evaluation
                .confusion
                .iter()
                .flatten()
                .max()
                .map_or(1, |m| m.to_string().len())
                .max(3);
            print!("{:<width$}", "");
            for c in 0..classes {
                print!(" {c:>cell$}");
            }
            println!();
            for (c, row) in evaluation.confusion.iter().enumerate() {
                print!(
                    "{:<width$}",
                    data.class_names.get(c).map_or("?", String::as_str)
                );
                for v in row {
                    print!(" {v:>cell$}");
                }
                println!();
            }
        }
    }
    Ok(())
}

/// `resc eval`'s work on the backend `--backend` chooses.
struct Evaluation<'a> {
    network: &'a Network,
    data: &'a Dataset,
    model_file: &'a Path,
    batch: usize,
}

impl OnBackend for Evaluation<'_> {
    type Output = run::Evaluation;

    fn run<B: Backend>(self, device: &B::Device) -> Result<run::Evaluation, Exit> {
        let net = self
            .network
            .build::<B>(device)
            .load_record(self.model_file, device)
            .map_err(|e| {
                fail(
                    Diagnostic::error(Code::E0702, format!("cannot load the checkpoint: {e}"))
                        .file(self.model_file),
                    EXIT_IO,
                )
            })?;
        let test = Arc::new(self.data.test.clone());
        Ok(run::evaluate(&net, &test, self.data, self.batch, device))
    }
}
