//! Per-epoch metrics, one JSON object per line in `metrics.jsonl`.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based.
    pub epoch: u32,
    /// Iterations done at the end of the epoch.
    pub iteration: u64,
    /// The learning rate of the epoch's last step.
    pub lr: f64,
    pub train_loss: f64,
    pub train_acc: f64,
    pub test_loss: f64,
    pub test_acc: f64,
    /// Training images per second over the epoch.
    pub images_per_sec: f64,
    /// Wall-clock seconds of the epoch (training and evaluation).
    pub seconds: f64,
}

/// The lines of `metrics.jsonl` for `metrics`.
pub fn to_jsonl(metrics: &[EpochMetrics]) -> String {
    metrics
        .iter()
        .map(|m| serde_json::to_string(m).expect("metrics serialise") + "\n")
        .collect()
}
