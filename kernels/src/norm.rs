//! BatchNorm in training mode, optionally fused with the ReLU after it, forward and
//! backward, on `[n, c, plane]` buffers.

/// The batch statistics of a training-mode BatchNorm, one value per channel.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct BatchStats {
    pub mean: Vec<f32>,
    /// The biased variance (divided by `n · plane`), which normalises.
    pub var: Vec<f32>,
}

/// `y = γ·(x − mean)/√(var + eps) + β` with the batch's statistics, then `max(y, 0)`
/// when `relu`; `gamma`/`beta` `None` mean 1/0. Returns the statistics.
pub fn batch_norm_forward(
    x: &[f32],
    [n, c, plane]: [usize; 3],
    gamma: Option<&[f32]>,
    beta: Option<&[f32]>,
    eps: f32,
    relu: bool,
    y: &mut [f32],
) -> BatchStats {
    let _ = (x, n, c, plane, gamma, beta, eps, relu, y);
    todo!("issue 16: helper K2")
}

/// The gradients of [`batch_norm_forward`]: writes `dx` and returns `(dγ, dβ)`. `y` is
/// the forward's output, whose sign masks `dy` when `relu`.
#[allow(clippy::too_many_arguments)]
pub fn batch_norm_backward(
    dy: &[f32],
    x: &[f32],
    y: &[f32],
    stats: &BatchStats,
    [n, c, plane]: [usize; 3],
    gamma: Option<&[f32]>,
    eps: f32,
    relu: bool,
    dx: &mut [f32],
) -> (Vec<f32>, Vec<f32>) {
    let _ = (dy, x, y, stats, n, c, plane, gamma, eps, relu, dx);
    todo!("issue 16: helper K2")
}
