//! The resolved training configuration: defaults for the dataset, then the command
//! line's flags. Saved as `config.json` in the run directory and read back on resume.

use crate::data::{Augment, DataSource, PadMode};
use crate::elab::Recipe;
use serde::{Deserialize, Serialize};

/// The optimiser.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum OptimizerKind {
    /// SGD with momentum, optional Nesterov and weight decay: `torch.optim.SGD`'s rule.
    Sgd,
    /// Adam (decay added to the gradient, as `torch.optim.Adam`).
    Adam,
    /// AdamW (decoupled weight decay).
    Adamw,
}

/// How the learning rate changes over the run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    /// Cosine annealing from the base rate to 0 over the run (per iteration).
    Cosine,
    /// Multiply by `gamma` at each milestone (epochs, or iterations if `by_iteration`).
    Multistep {
        milestones: Vec<u64>,
        gamma: f64,
        by_iteration: bool,
    },
}

/// Everything a run needs to be repeated.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub model: String,
    pub overrides: Vec<String>,
    pub data: String,
    pub epochs: u32,
    pub batch: usize,
    pub optimizer: OptimizerKind,
    pub lr: f64,
    pub momentum: f64,
    pub nesterov: bool,
    pub weight_decay: f64,
    pub schedule: Schedule,
    /// Linear warm-up from lr/steps to lr over this many epochs (0: none).
    pub warmup_epochs: f64,
    /// Learning rate of every weighted shortcut's λ; `None`: each λ's own (`weighted(lr: …)`).
    pub lambda_lr: Option<f64>,
    /// Whether BN parameters, biases and other 1-D parameters get weight decay too.
    pub decay_bn_bias: bool,
    pub augment: Augment,
    pub seed: u64,
    pub workers: usize,
    /// Also write a checkpoint every N iterations (0: only at epoch ends).
    pub checkpoint_every: u64,
    /// Where the settings came from, as printed (`dataset defaults`, the model's recipe,
    /// flags).
    #[serde(default)]
    pub origin: String,
}

impl TrainConfig {
    /// Every problem with the settings, whichever source they came from (defaults, the
    /// model's recipe, flags, or a resumed run's `config.json`): each number finite and
    /// in its range. Empty when the run can start.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        // Rates are applied in float32: a finite f64 beyond f32's range is ±inf there.
        let finite = |v: f64| v.is_finite() && (v as f32).is_finite();
        let mut check = |ok: bool, what: String| {
            if !ok {
                out.push(what);
            }
        };
        check(
            self.batch >= 1,
            format!("batch must be at least 1, not {}", self.batch),
        );
        check(
            finite(self.lr) && self.lr >= 0.0,
            format!("lr must be a finite number ≥ 0, not {}", self.lr),
        );
        check(
            finite(self.momentum) && (0.0..1.0).contains(&self.momentum),
            format!("momentum must be in [0, 1), not {}", self.momentum),
        );
        check(
            finite(self.weight_decay) && self.weight_decay >= 0.0,
            format!(
                "weight decay must be a finite number ≥ 0, not {}",
                self.weight_decay
            ),
        );
        check(
            finite(self.warmup_epochs) && self.warmup_epochs >= 0.0,
            format!(
                "warm-up epochs must be a finite number ≥ 0, not {}",
                self.warmup_epochs
            ),
        );
        if let Some(l) = self.lambda_lr {
            check(
                finite(l) && l >= 0.0,
                format!("the λ learning rate must be a finite number ≥ 0, not {l}"),
            );
        }
        if let Schedule::Multistep { gamma, .. } = &self.schedule {
            check(
                finite(*gamma) && *gamma > 0.0,
                format!("the multistep factor must be a finite number > 0, not {gamma}"),
            );
        }
        out
    }

    /// The defaults for a dataset: the WRN recipe for CIFAR (SGD Nesterov 0.9, lr 0.1,
    /// weight decay 5e-4, ×0.2 at epochs 60/120/160 of 200, batch 128); for the small
    /// built-in sets, 30 epochs of the same optimiser with a cosine schedule, batch 64.
    pub fn defaults(model: &str, source: &DataSource, shape: [usize; 3]) -> TrainConfig {
        let cifar = matches!(source, DataSource::Cifar10 | DataSource::Cifar100);
        TrainConfig {
            model: model.to_string(),
            overrides: Vec::new(),
            data: source.to_string(),
            epochs: if cifar { 200 } else { 30 },
            batch: if cifar { 128 } else { 64 },
            optimizer: OptimizerKind::Sgd,
            lr: 0.1,
            momentum: 0.9,
            nesterov: true,
            weight_decay: 5e-4,
            schedule: if cifar {
                Schedule::Multistep {
                    milestones: vec![60, 120, 160],
                    gamma: 0.2,
                    by_iteration: false,
                }
            } else {
                Schedule::Cosine
            },
            warmup_epochs: 0.0,
            lambda_lr: None,
            decay_bn_bias: false,
            augment: source.default_augment(shape),
            seed: 0,
            workers: 2,
            checkpoint_every: 0,
            origin: format!("defaults for {source}"),
        }
    }

    /// Applies a model file's `train { … }` recipe (entries checked by elaboration).
    pub fn apply_recipe(&mut self, recipe: &Recipe) {
        if recipe.is_empty() {
            return;
        }
        self.origin += &format!(", then the `train` recipe of {}", self.model);
        if let Some(o) = &recipe.optimizer {
            self.optimizer = match o.as_str() {
                "adam" => OptimizerKind::Adam,
                "adamw" => OptimizerKind::Adamw,
                _ => OptimizerKind::Sgd,
            };
        }
        set_given(&mut self.lr, recipe.lr);
        set_given(&mut self.momentum, recipe.momentum);
        set_given(&mut self.weight_decay, recipe.weight_decay);
        set_given(&mut self.warmup_epochs, recipe.warmup);
        set_given(&mut self.nesterov, recipe.nesterov);
        set_given(&mut self.epochs, recipe.epochs);
        set_given(&mut self.batch, recipe.batch);
        if recipe.lambda_lr.is_some() {
            self.lambda_lr = recipe.lambda_lr;
        }
        set_given(&mut self.decay_bn_bias, recipe.decay_bn_bias);
        match recipe.schedule.as_deref() {
            Some("constant") => self.schedule = Schedule::Constant,
            Some("cosine") => self.schedule = Schedule::Cosine,
            Some("multistep") => {
                self.schedule = Schedule::Multistep {
                    milestones: recipe.milestones.clone().unwrap_or_default(),
                    gamma: recipe.gamma.unwrap_or(0.1),
                    by_iteration: recipe.by_iteration.unwrap_or(false),
                }
            }
            _ => {
                // Milestones or gamma alone refine the current multistep schedule.
                if let Schedule::Multistep {
                    milestones,
                    gamma,
                    by_iteration,
                } = &mut self.schedule
                {
                    if let Some(m) = &recipe.milestones {
                        *milestones = m.clone();
                    }
                    if let Some(g) = recipe.gamma {
                        *gamma = g;
                    }
                    if let Some(b) = recipe.by_iteration {
                        *by_iteration = b;
                    }
                }
            }
        }
        self.set_augment(recipe.pad, recipe.pad_mode.as_deref(), recipe.flip);
    }

    /// Sets what is given of the augmentation: padding before the random crop (0: no
    /// crop), `zero` or `reflect` padding, horizontal flips.
    pub fn set_augment(&mut self, pad: Option<usize>, pad_mode: Option<&str>, flip: Option<bool>) {
        if let Some(p) = pad {
            self.augment.pad = p;
            self.augment.crop = p > 0;
        }
        if let Some(m) = pad_mode {
            self.augment.pad_mode = if m == "reflect" {
                PadMode::Reflect
            } else {
                PadMode::Zero
            };
        }
        if let Some(f) = flip {
            self.augment.flip = f;
        }
    }

    /// The learning rate at `iteration` (0-based) of a run of `steps_per_epoch`
    /// iterations per epoch, for the base rate `base`.
    pub fn lr_at(&self, base: f64, iteration: u64, steps_per_epoch: u64) -> f64 {
        let steps = steps_per_epoch.max(1);
        let total = (self.epochs as u64 * steps).max(1);
        let warmup = (self.warmup_epochs * steps as f64).round() as u64;
        if iteration < warmup {
            return base * (iteration + 1) as f64 / warmup as f64;
        }
        match &self.schedule {
            Schedule::Constant => base,
            Schedule::Cosine => {
                let t = iteration.min(total) as f64 / total as f64;
                0.5 * base * (1.0 + (std::f64::consts::PI * t).cos())
            }
            Schedule::Multistep {
                milestones,
                gamma,
                by_iteration,
            } => {
                let at = if *by_iteration {
                    iteration
                } else {
                    iteration / steps
                };
                let passed = milestones.iter().filter(|&&m| at >= m).count();
                base * gamma.powi(passed as i32)
            }
        }
    }

    /// The configuration as printed at the start of a run.
    pub fn summary(&self) -> String {
        let schedule = match &self.schedule {
            Schedule::Constant => "constant".to_string(),
            Schedule::Cosine => "cosine".to_string(),
            Schedule::Multistep {
                milestones,
                gamma,
                by_iteration,
            } => format!(
                "×{gamma} at {} {milestones:?}",
                if *by_iteration {
                    "iterations"
                } else {
                    "epochs"
                }
            ),
        };
        let mut s = format!(
            "model {} {}\ndata {} (batch {}, augment: pad {} crop {} flip {})\n",
            self.model,
            self.overrides.join(" "),
            self.data,
            self.batch,
            self.augment.pad,
            self.augment.crop,
            self.augment.flip
        );
        s += &format!(
            "optimizer {:?} lr {} momentum {} nesterov {} weight decay {} ({}), schedule {schedule}, warm-up {} epochs\n",
            self.optimizer,
            self.lr,
            self.momentum,
            self.nesterov,
            self.weight_decay,
            if self.decay_bn_bias { "all parameters" } else { "not on BN, biases, λ" },
            self.warmup_epochs
        );
        s += &format!("epochs {}, seed {}", self.epochs, self.seed);
        if !self.origin.is_empty() {
            s += &format!("\nsettings: {}", self.origin);
        }
        s
    }
}

/// Sets `slot` to `value` where one is given (a recipe entry, a command-line flag).
pub fn set_given<T>(slot: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *slot = v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(schedule: Schedule) -> TrainConfig {
        TrainConfig {
            schedule,
            epochs: 10,
            ..TrainConfig::defaults("m", &DataSource::Digits, [1, 8, 8])
        }
    }

    #[test]
    fn multistep_by_epoch_and_by_iteration() {
        let c = config(Schedule::Multistep {
            milestones: vec![2, 4],
            gamma: 0.1,
            by_iteration: false,
        });
        let lr: Vec<f64> = [0, 9, 10, 39, 40].map(|i| c.lr_at(1.0, i, 10)).to_vec();
        assert_eq!(lr[..2], [1.0, 1.0]);
        assert!(
            (lr[2] - 1.0).abs() < 1e-12,
            "epoch 1 is before the first milestone"
        );
        assert!((c.lr_at(1.0, 20, 10) - 0.1).abs() < 1e-12);
        assert!((lr[4] - 0.01).abs() < 1e-12);
        let c = config(Schedule::Multistep {
            milestones: vec![32_000, 48_000],
            gamma: 0.1,
            by_iteration: true,
        });
        assert_eq!(c.lr_at(0.1, 31_999, 391), 0.1);
        assert!((c.lr_at(0.1, 32_000, 391) - 0.01).abs() < 1e-12);
        assert!((c.lr_at(0.1, 48_000, 391) - 0.001).abs() < 1e-12);
    }

    #[test]
    fn cosine_and_warmup() {
        let mut c = config(Schedule::Cosine);
        assert_eq!(c.lr_at(0.1, 0, 10), 0.1);
        assert!((c.lr_at(0.1, 50, 10) - 0.05).abs() < 1e-12);
        assert!(c.lr_at(0.1, 100, 10).abs() < 1e-12);
        c.warmup_epochs = 1.0;
        assert!((c.lr_at(0.1, 0, 10) - 0.01).abs() < 1e-12);
        assert!((c.lr_at(0.1, 9, 10) - 0.1).abs() < 1e-12);
    }
}
