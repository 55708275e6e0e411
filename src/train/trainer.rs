//! One optimisation step at a time: forward, cross-entropy, backward, and the
//! parameter groups' optimisers.
//!
//! Burn 0.21 has no parameter groups, so a group is its own optimiser over a disjoint
//! set of parameters (`GradientsParams::from_params` takes that set's gradients out):
//! - λ of the weighted shortcuts: its own learning rate, no weight decay, projected into
//!   (−1, 1) after every step;
//! - 1-D parameters (BN γ/β, biases, PReLU slopes, DSNet α): no weight decay unless
//!   `decay_bn_bias`;
//! - everything else (conv and linear weights): the configured optimiser.
//!
//! SGD is Burn's with `dampening = 0`, which is `torch.optim.SGD`'s rule: the weight decay
//! is added to the gradient, the first step's buffer is the gradient itself, and Nesterov
//! steps along `g + μ·buf`.

use super::config::{OptimizerKind, TrainConfig};
use crate::lower::Net;
use burn::module::{AutodiffModule, Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::adaptor::OptimizerAdaptor;
use burn::optim::decay::WeightDecayConfig;
use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    Adam, AdamConfig, AdamW, AdamWConfig, GradientsParams, Optimizer, Sgd, SgdConfig,
};
use burn::record::{FullPrecisionSettings, NamedMpkFileRecorder, Recorder};
use burn::tensor::backend::{AutodiffBackend, Backend};
use burn::tensor::{ElementConversion, Int, Tensor};
use std::collections::HashSet;
use std::path::Path;

/// The largest |λ| after the projection: (−1, 1) is open.
const LAMBDA_BOUND: f64 = 1.0 - 1e-6;

/// One optimiser of one parameter group.
enum Opt<B: AutodiffBackend> {
    Sgd(OptimizerAdaptor<Sgd<B::InnerBackend>, Net<B>, B>),
    Adam(OptimizerAdaptor<Adam, Net<B>, B>),
    AdamW(OptimizerAdaptor<AdamW, Net<B>, B>),
}

impl<B: AutodiffBackend> Opt<B> {
    fn new(config: &TrainConfig, weight_decay: f64) -> Opt<B> {
        let decay = (weight_decay > 0.0).then(|| WeightDecayConfig::new(weight_decay as f32));
        match config.optimizer {
            OptimizerKind::Sgd => {
                let momentum = (config.momentum > 0.0).then_some(MomentumConfig {
                    momentum: config.momentum,
                    dampening: 0.0,
                    nesterov: config.nesterov,
                });
                Opt::Sgd(
                    SgdConfig::new()
                        .with_weight_decay(decay)
                        .with_momentum(momentum)
                        .init(),
                )
            }
            OptimizerKind::Adam => Opt::Adam(
                AdamConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(decay)
                    .init(),
            ),
            OptimizerKind::Adamw => Opt::AdamW(
                AdamWConfig::new()
                    .with_epsilon(1e-8)
                    .with_weight_decay(weight_decay as f32)
                    .init(),
            ),
        }
    }

    fn step(&mut self, lr: f64, net: Net<B>, grads: GradientsParams) -> Net<B> {
        match self {
            Opt::Sgd(o) => o.step(lr, net, grads),
            Opt::Adam(o) => o.step(lr, net, grads),
            Opt::AdamW(o) => o.step(lr, net, grads),
        }
    }

    fn save(&self, path: &Path) -> Result<(), String> {
        let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        let result = match self {
            Opt::Sgd(o) => recorder.record(o.to_record(), path.to_path_buf()),
            Opt::Adam(o) => recorder.record(o.to_record(), path.to_path_buf()),
            Opt::AdamW(o) => recorder.record(o.to_record(), path.to_path_buf()),
        };
        result.map_err(|e| e.to_string())
    }

    fn load(self, path: &Path, device: &B::Device) -> Result<Opt<B>, String> {
        let recorder = NamedMpkFileRecorder::<FullPrecisionSettings>::new();
        let path = path.to_path_buf();
        Ok(match self {
            Opt::Sgd(o) => {
                Opt::Sgd(o.load_record(recorder.load(path, device).map_err(|e| e.to_string())?))
            }
            Opt::Adam(o) => {
                Opt::Adam(o.load_record(recorder.load(path, device).map_err(|e| e.to_string())?))
            }
            Opt::AdamW(o) => {
                Opt::AdamW(o.load_record(recorder.load(path, device).map_err(|e| e.to_string())?))
            }
        })
    }
}

/// The ids of the 1-D parameters.
struct OneDimensional(Vec<ParamId>);

impl<B: Backend> ModuleVisitor<B> for OneDimensional {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<B, D>>) {
        if D == 1 {
            self.0.push(param.id);
        }
    }
}

/// Projects the λ parameters into (−1, 1); the result is again a leaf that trains.
struct ProjectLambda<'a>(&'a HashSet<ParamId>);

impl<B: AutodiffBackend> ModuleMapper<B> for ProjectLambda<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<B, D>>) -> Param<Tensor<B, D>> {
        if !self.0.contains(&param.id) {
            return param;
        }
        param.map(|t| {
            Tensor::from_inner(t.inner().clamp(-LAMBDA_BOUND, LAMBDA_BOUND)).require_grad()
        })
    }
}

/// A network being trained, with its optimisers and position.
pub struct Trainer<B: AutodiffBackend> {
    net: Option<Net<B>>,
    main: Opt<B>,
    plain: Opt<B>,
    lambdas: Vec<(ParamId, f64, bool)>,
    lambda_opt: Opt<B>,
    plain_ids: Vec<ParamId>,
    config: TrainConfig,
    iteration: u64,
    steps_per_epoch: u64,
    last_lr: f64,
}

impl<B: AutodiffBackend> Trainer<B> {
    /// Prepares `net` for training with `config`'s optimiser and schedule.
    pub fn new(net: Net<B>, config: &TrainConfig, steps_per_epoch: usize) -> Trainer<B> {
        let lambdas: Vec<(ParamId, f64, bool)> = net
            .scale_params()
            .into_iter()
            .map(|p| (p.id, config.lambda_lr.unwrap_or(p.lr), p.bounded))
            .collect();
        let lambda_set: HashSet<ParamId> = lambdas.iter().map(|l| l.0).collect();
        let mut visitor = OneDimensional(Vec::new());
        net.visit(&mut visitor);
        let plain_ids = visitor
            .0
            .into_iter()
            .filter(|id| !lambda_set.contains(id))
            .collect();
        let plain_decay = if config.decay_bn_bias {
            config.weight_decay
        } else {
            0.0
        };
        Trainer {
            net: Some(net),
            main: Opt::new(config, config.weight_decay),
            plain: Opt::new(config, plain_decay),
            lambda_opt: Opt::new(config, 0.0),
            lambdas,
            plain_ids,
            config: config.clone(),
            iteration: 0,
            steps_per_epoch: steps_per_epoch as u64,
            last_lr: config.lr,
        }
    }

    /// One step on a batch; returns the batch's mean loss and its number of correct
    /// predictions.
    pub fn step(&mut self, images: Tensor<B, 4>, labels: Tensor<B, 1, Int>) -> (f64, usize) {
        let net = self
            .net
            .take()
            .expect("the trainer holds its net between steps");
        let device = images.device();
        let logits = net.forward(images);
        let correct = correct(&logits, &labels);
        let loss = CrossEntropyLossConfig::new()
            .init(&device)
            .forward(logits, labels);
        let loss_value = loss.clone().into_scalar().elem::<f64>();
        let mut grads = loss.backward();
        let lr = self
            .config
            .lr_at(self.config.lr, self.iteration, self.steps_per_epoch);
        self.last_lr = lr;
        let mut net = net;
        // Each λ may have its own rate: one step per distinct rate.
        let mut rates: Vec<f64> = self.lambdas.iter().map(|l| l.1).collect();
        rates.sort_by(f64::total_cmp);
        rates.dedup();
        for rate in rates {
            let ids: Vec<ParamId> = self
                .lambdas
                .iter()
                .filter(|l| l.1 == rate)
                .map(|l| l.0)
                .collect();
            let g = GradientsParams::from_params(&mut grads, &net, &ids);
            // λ follows the run's schedule, scaled to its own base rate.
            let scaled = rate * lr / self.config.lr.max(f64::MIN_POSITIVE);
            net = self.lambda_opt.step(scaled, net, g);
        }
        let g = GradientsParams::from_params(&mut grads, &net, &self.plain_ids);
        net = self.plain.step(lr, net, g);
        let g = GradientsParams::from_module(&mut grads, &net);
        net = self.main.step(lr, net, g);
        let bounded: HashSet<ParamId> = self.lambdas.iter().filter(|l| l.2).map(|l| l.0).collect();
        if !bounded.is_empty() {
            net = net.map(&mut ProjectLambda(&bounded));
        }
        self.net = Some(net);
        self.iteration += 1;
        (loss_value, correct)
    }

    pub fn net(&self) -> &Net<B> {
        self.net.as_ref().expect("the trainer holds its net")
    }

    /// The evaluation copy of the net (BN on running statistics, no dropout).
    pub fn valid(&self) -> Net<B::InnerBackend> {
        self.net().valid()
    }

    /// The learning rate of the last step.
    pub fn lr(&self) -> f64 {
        self.last_lr
    }

    /// Iterations done.
    pub fn iteration(&self) -> u64 {
        self.iteration
    }

    /// The current values of λ (for the histogram).
    pub fn lambdas(&self) -> Vec<f32> {
        let net = self.net();
        net.scale_params()
            .iter()
            .filter_map(|p| net.tensor_data(&format!("{}.weight", p.name)))
            .flat_map(|d| d.to_vec::<f32>().unwrap_or_default())
            .collect()
    }

    /// Writes the net and the optimisers' states into `dir` (which must exist).
    pub fn save(&self, dir: &Path) -> Result<(), String> {
        self.net()
            .save_record(&dir.join("model.mpk"))
            .map_err(|e| e.to_string())?;
        self.main.save(&dir.join("optim-main.mpk"))?;
        self.plain.save(&dir.join("optim-plain.mpk"))?;
        self.lambda_opt.save(&dir.join("optim-lambda.mpk"))
    }

    /// Restores what [`Trainer::save`] wrote, at iteration `iteration`.
    ///
    /// A loaded parameter keeps the id it was saved with (the optimisers' states are keyed
    /// by it), so the parameter groups are formed again from the loaded net.
    pub fn load(mut self, dir: &Path, iteration: u64) -> Result<Trainer<B>, String> {
        let net = self.net.take().expect("the trainer holds its net");
        let device = net.devices().into_iter().next().unwrap_or_default();
        let net = net
            .load_record(&dir.join("model.mpk"), &device)
            .map_err(|e| e.to_string())?;
        let fresh = Trainer::new(net, &self.config, self.steps_per_epoch as usize);
        let main = fresh.main.load(&dir.join("optim-main.mpk"), &device)?;
        let plain = fresh.plain.load(&dir.join("optim-plain.mpk"), &device)?;
        let lambda_opt = fresh
            .lambda_opt
            .load(&dir.join("optim-lambda.mpk"), &device)?;
        Ok(Trainer {
            main,
            plain,
            lambda_opt,
            iteration,
            ..fresh
        })
    }
}

/// The number of rows whose arg-max is the label.
pub fn correct<B: Backend>(logits: &Tensor<B, 2>, labels: &Tensor<B, 1, Int>) -> usize {
    let predicted = logits.clone().argmax(1).flatten::<1>(0, 1);
    predicted
        .equal(labels.clone())
        .int()
        .sum()
        .into_scalar()
        .elem::<i64>() as usize
}
