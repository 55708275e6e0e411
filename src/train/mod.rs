//! Training: `resc run` and `resc eval`.
//!
//! [`config`] resolves what a run does (dataset defaults, then flags); [`trainer`] takes
//! optimisation steps with per-group optimisers (λ, 1-D parameters, weights); [`run`]
//! drives epochs, evaluation, `metrics.jsonl` and [`checkpoint`]s that a killed run never
//! leaves half-written, and resumes from them.

pub mod checkpoint;
pub mod config;
pub mod metrics;
pub mod plots;
pub mod run;
pub mod trainer;

pub use config::{OptimizerKind, Schedule, TrainConfig};
pub use metrics::EpochMetrics;
pub use trainer::Trainer;
