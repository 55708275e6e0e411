//! The training run: data, epochs, evaluation, metrics, checkpoints, resume.

use super::checkpoint::{self, State};
use super::config::TrainConfig;
use super::metrics::{to_jsonl, EpochMetrics};
use super::trainer::Trainer;
use crate::data::{Augment, Batch, Dataset, Loader, Split};
use crate::diag::{Code, Diagnostic};
use crate::lower::{Net, Network};
use crate::passes::{Goal, Pipeline};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor, TensorData};
use indicatif::{ProgressBar, ProgressStyle};
use std::io::IsTerminal;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

/// The tensors of a batch on `device`.
pub fn tensors<B: Backend>(batch: &Batch, device: &B::Device) -> (Tensor<B, 4>, Tensor<B, 1, Int>) {
    let images = Tensor::from_data(TensorData::new(batch.images.clone(), batch.shape), device);
    let labels: Vec<i64> = batch.labels.iter().map(|&l| l as i64).collect();
    let n = labels.len();
    let labels = Tensor::from_data(TensorData::new(labels, [n]), device);
    (images, labels)
}

/// Loss, accuracy and the confusion matrix (`[label][prediction]`) of `net` on `split`.
pub struct Evaluation {
    pub loss: f64,
    pub accuracy: f64,
    pub confusion: Vec<Vec<u64>>,
}

/// Evaluates `net` (evaluation mode) on `split`, normalised with the dataset's statistics.
pub fn evaluate<B: Backend>(
    net: &Net<B>,
    split: &Arc<Split>,
    data: &Dataset,
    batch: usize,
    device: &B::Device,
) -> Evaluation {
    let classes = data.classes();
    let loader = Loader::new(
        split.clone(),
        batch,
        false,
        Augment::none(),
        data.mean.clone(),
        data.std.clone(),
        0,
        0,
    );
    let mut confusion = vec![vec![0u64; classes]; classes];
    let (mut loss_sum, mut seen) = (0.0, 0usize);
    let loss_fn = CrossEntropyLossConfig::new().init(device);
    for b in loader.epoch(0) {
        let (x, y) = tensors::<B>(&b, device);
        let logits = net.forward(x);
        loss_sum += loss_fn
            .forward(logits.clone(), y)
            .into_scalar()
            .elem::<f64>()
            * b.len() as f64;
        seen += b.len();
        let predicted = logits.argmax(1).into_data();
        let predicted: Vec<i64> = predicted.convert::<i64>().to_vec().unwrap_or_default();
        for (&label, &p) in b.labels.iter().zip(&predicted) {
            if (label as usize) < classes && (p as usize) < classes {
                confusion[label as usize][p as usize] += 1;
            }
        }
    }
    let right: u64 = (0..classes).map(|c| confusion[c][c]).sum();
    Evaluation {
        loss: loss_sum / seen.max(1) as f64,
        accuracy: right as f64 / seen.max(1) as f64,
        confusion,
    }
}

/// E0702: the checkpoint to resume from cannot be read.
fn unreadable_checkpoint(message: String) -> Diagnostic {
    Diagnostic::error(Code::E0702, format!("cannot resume from {message}"))
}

/// E0703: the run directory cannot be written; the last complete checkpoint is intact.
fn unwritable(message: String) -> Diagnostic {
    Diagnostic::error(Code::E0703, message).note(
        "the last complete checkpoint is intact; `resc run FILE --resume DIR` continues from it",
    )
}

/// Where a run starts: fresh, or a checkpoint directory and its state.
pub enum Start {
    Fresh,
    Resume(std::path::PathBuf, State),
}

/// Trains `network` on `data` as `config` says, writing into the run directory `run`
/// (which exists and holds `config.json`). Returns the metrics of every epoch, or why the
/// run stopped early: E0702 (the checkpoint to resume from cannot be read) or E0703 (the
/// run directory cannot be written).
pub fn train<B: AutodiffBackend>(
    network: &Network,
    data: &Dataset,
    config: &TrainConfig,
    run: &Path,
    start: Start,
    device: &B::Device,
) -> Result<Vec<EpochMetrics>, Diagnostic> {
    B::seed(device, config.seed);
    // The training pipeline's weight pass fuses ReLUs into BatchNorms and additions (plan only).
    let (net, _) = Pipeline::for_backend::<B>(Goal::Training)
        .run_net(network.build_seeded::<B>(config.seed, device));
    let train_split = Arc::new(data.train.clone());
    let test_split = Arc::new(data.test.clone());
    let loader = Loader::new(
        train_split,
        config.batch,
        true,
        config.augment,
        data.mean.clone(),
        data.std.clone(),
        config.seed,
        config.workers,
    );
    let steps = loader.batches_per_epoch();
    let mut trainer = Trainer::new(net, config, steps);
    let mut state = State {
        epoch: 0,
        batch: 0,
        iteration: 0,
        metrics: Vec::new(),
        partial: (0.0, 0, 0),
        files: Default::default(),
    };
    if let Start::Resume(dir, saved) = start {
        // The state must describe this run: a batch inside an epoch, as many iterations
        // as the epochs and batches done, and the metrics of every finished epoch.
        let expected = u64::from(saved.epoch)
            .checked_mul(steps as u64)
            .and_then(|i| i.checked_add(saved.batch as u64));
        if saved.batch >= steps.max(1)
            || expected != Some(saved.iteration)
            || saved.metrics.len() != saved.epoch as usize
        {
            return Err(unreadable_checkpoint(format!(
                "{}: its state.json (epoch {}, batch {}, iteration {}, {} epochs of metrics) does not fit this run's {steps} batches an epoch",
                dir.display(),
                saved.epoch,
                saved.batch,
                saved.iteration,
                saved.metrics.len()
            )));
        }
        trainer = trainer
            .load(&dir, saved.iteration)
            .map_err(|e| unreadable_checkpoint(format!("{}: {e}", dir.display())))?;
        println!(
            "resuming from {} (epoch {}, batch {}, iteration {})",
            dir.display(),
            saved.epoch + 1,
            saved.batch,
            saved.iteration
        );
        state = saved;
    }
    // metrics.jsonl always holds exactly the finished epochs.
    let metrics_path = run.join("metrics.jsonl");
    checkpoint::write_atomic(&metrics_path, to_jsonl(&state.metrics).as_bytes())
        .map_err(|e| unwritable(format!("cannot write {}: {e}", metrics_path.display())))?;
    let terminal = std::io::stdout().is_terminal();
    for epoch in state.epoch..config.epochs {
        let started = Instant::now();
        let first = if epoch == state.epoch { state.batch } else { 0 };
        let (mut loss_sum, mut right, mut seen) = if first > 0 {
            state.partial
        } else {
            (0.0, 0, 0)
        };
        let bar = terminal.then(|| progress_bar(epoch, config.epochs, steps, first));
        let mut trained_images = 0u64;
        for b in loader.epoch_from(u64::from(epoch), first) {
            // Dropout and drop-path draw from the backend's generator, whose state cannot
            // be saved: seeding it per iteration makes a resumed run draw what the
            // uninterrupted run drew, wherever it was stopped.
            B::seed(
                device,
                config.seed ^ (trainer.iteration() + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15),
            );
            let (x, y) = tensors::<B>(&b, device);
            let (loss, ok) = trainer.step(x, y);
            loss_sum += loss * b.len() as f64;
            right += ok as u64;
            seen += b.len() as u64;
            trained_images += b.len() as u64;
            if let Some(bar) = &bar {
                let rate = trained_images as f64 / started.elapsed().as_secs_f64().max(1e-9);
                bar.set_message(format!(
                    "loss {:.4} acc {:.2}% {:.0} img/s",
                    loss_sum / seen as f64,
                    100.0 * right as f64 / seen as f64,
                    rate
                ));
                bar.inc(1);
            }
            let done = b.index + 1;
            if config.checkpoint_every > 0
                && trainer.iteration() % config.checkpoint_every == 0
                && done < steps
            {
                let mid = State {
                    epoch,
                    batch: done,
                    iteration: trainer.iteration(),
                    metrics: state.metrics.clone(),
                    partial: (loss_sum, right, seen),
                    files: Default::default(),
                };
                checkpoint::save(run, &mid, |dir| trainer.save(dir)).map_err(unwritable)?;
            }
        }
        let train_seconds = started.elapsed().as_secs_f64();
        let eval = evaluate(&trainer.valid(), &test_split, data, config.batch, device);
        let m = EpochMetrics {
            epoch: epoch + 1,
            iteration: trainer.iteration(),
            lr: trainer.lr(),
            train_loss: loss_sum / seen.max(1) as f64,
            train_acc: right as f64 / seen.max(1) as f64,
            test_loss: eval.loss,
            test_acc: eval.accuracy,
            images_per_sec: trained_images as f64 / train_seconds.max(1e-9),
            seconds: started.elapsed().as_secs_f64(),
        };
        let line = format!(
            "epoch {:>3}/{}  lr {:.5}  train loss {:.4} acc {:.2}%  test loss {:.4} acc {:.2}%  {:.0} img/s  {:.1} s",
            m.epoch,
            config.epochs,
            m.lr,
            m.train_loss,
            100.0 * m.train_acc,
            m.test_loss,
            100.0 * m.test_acc,
            m.images_per_sec,
            m.seconds
        );
        match bar {
            Some(bar) => bar.finish_with_message(line),
            None => println!("{line}"),
        }
        state.metrics.push(m);
        state.epoch = epoch + 1;
        state.batch = 0;
        state.iteration = trainer.iteration();
        state.partial = (0.0, 0, 0);
        checkpoint::save(run, &state, |dir| trainer.save(dir)).map_err(unwritable)?;
        checkpoint::write_atomic(&metrics_path, to_jsonl(&state.metrics).as_bytes())
            .map_err(|e| unwritable(format!("cannot write {}: {e}", metrics_path.display())))?;
        super::plots::curves(&state.metrics, &run.join("curves.svg")).map_err(unwritable)?;
        let lambdas = trainer.lambdas();
        if !lambdas.is_empty() {
            super::plots::lambda_histogram(&lambdas, epoch + 1, &run.join("lambda.svg"))
                .map_err(unwritable)?;
            let (lo, hi) = lambdas
                .iter()
                .fold((f32::MAX, f32::MIN), |(lo, hi), &l| (lo.min(l), hi.max(l)));
            let json = serde_json::to_vec(&lambdas).expect("numbers serialise");
            checkpoint::write_atomic(&run.join("lambda.json"), &json)
                .map_err(|e| unwritable(format!("cannot write lambda.json: {e}")))?;
            if !terminal {
                println!("  λ: {} values in [{lo:.4}, {hi:.4}]", lambdas.len());
            }
        }
    }
    Ok(state.metrics)
}

fn progress_bar(epoch: u32, epochs: u32, steps: usize, first: usize) -> ProgressBar {
    let bar = ProgressBar::new(steps as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix} [{bar:30.cyan/blue}] {pos}/{len} {msg} (ETA {eta})")
            .expect("a valid progress template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("epoch {}/{epochs}", epoch + 1));
    bar.set_position(first as u64);
    bar
}
