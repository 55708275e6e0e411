//! The typing rule of every op: its output shape from its input shapes.

use super::Op;
use crate::diag::Code;
use serde::Serialize;
use std::fmt;

/// The shape of one sample: channels, height, width.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
pub struct Shape {
    pub c: u64,
    pub h: u64,
    pub w: u64,
}

impl Shape {
    pub fn new(c: u64, h: u64, w: u64) -> Shape {
        Shape { c, h, w }
    }

    /// Number of elements. Every shape that [`infer_shape`] returns has a count that
    /// fits in 64 bits; for others this saturates.
    pub fn numel(&self) -> u64 {
        self.c.saturating_mul(self.h).saturating_mul(self.w)
    }

    /// Number of elements, `None` when it does not fit in 64 bits.
    pub fn checked_numel(&self) -> Option<u64> {
        self.c.checked_mul(self.h)?.checked_mul(self.w)
    }
}

impl fmt::Display for Shape {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "[{}, {}, {}]", self.c, self.h, self.w)
    }
}

/// Why an op cannot be applied to its inputs. The caller attaches the spans.
#[derive(Clone, Debug, PartialEq)]
pub struct ShapeError {
    pub code: Code,
    pub message: String,
    pub hint: Option<String>,
}

fn err(code: Code, message: String) -> ShapeError {
    ShapeError {
        code,
        message,
        hint: None,
    }
}

/// A size too large for a 64-bit count: E0206, like an overflow in an expression.
fn overflow(what: String) -> ShapeError {
    ShapeError {
        code: Code::E0206,
        message: format!("{what} does not fit in 64 bits"),
        hint: Some(OVERFLOW_HINT.into()),
    }
}

/// The hint of every count that overflows (shapes here, costs in `check`).
pub const OVERFLOW_HINT: &str =
    "a size is far larger than intended: check the parameters and `--set` overrides";

/// Output size of a sliding window along one axis, as PyTorch computes it.
fn window(
    axis: &str,
    size: u64,
    kernel: u64,
    stride: u64,
    padding: u64,
    dilation: u64,
) -> Result<u64, ShapeError> {
    // Checked: absurd sizes from user input must give a diagnostic, not an overflow.
    let span = dilation
        .checked_mul(kernel.saturating_sub(1))
        .and_then(|s| s.checked_add(1))
        .ok_or_else(|| {
            overflow(format!(
                "the window's {axis} ({kernel} dilated by {dilation})"
            ))
        })?;
    let padded = padding
        .checked_mul(2)
        .and_then(|p| p.checked_add(size))
        .ok_or_else(|| overflow(format!("the padded {axis} ({size} + 2 × {padding})")))?;
    if padded < span {
        let padded = if padding > 0 {
            format!(" ({padded} with padding)")
        } else {
            String::new()
        };
        return Err(ShapeError {
            code: Code::E0303,
            message: format!(
                "the feature map's {axis} is {size}{padded}, smaller than the window ({span})"
            ),
            hint: Some("remove a down-sampling step earlier, or use a larger input".into()),
        });
    }
    Ok((padded - span) / stride + 1)
}

/// Output size of a pooling window along one axis, as PyTorch computes it: with
/// `ceil_mode` the division rounds up, but a last window that would start past the
/// input and its left padding (in the right padding only) is dropped.
fn pool_window(
    axis: &str,
    size: u64,
    kernel: u64,
    stride: u64,
    padding: u64,
    ceil_mode: bool,
) -> Result<u64, ShapeError> {
    let floor = window(axis, size, kernel, stride, padding, 1)?;
    if !ceil_mode {
        return Ok(floor);
    }
    // `window` checked that `size + 2·padding ≥ kernel` fits.
    let rest = size + 2 * padding - kernel;
    if rest % stride == 0 {
        return Ok(floor);
    }
    // One more window, starting at `floor · stride` in the padded input: kept only when
    // it starts before the input's end, i.e. `floor · stride < size + padding`.
    let start = floor.saturating_mul(stride);
    Ok(if start < size + padding {
        floor + 1
    } else {
        floor
    })
}

fn check_window_params(
    kernel: [u64; 2],
    stride: [u64; 2],
    padding: [u64; 2],
) -> Result<(), ShapeError> {
    if kernel.contains(&0) || stride.contains(&0) {
        return Err(err(
            Code::E0210,
            "kernel size and stride must be at least 1".into(),
        ));
    }
    // `2p > k` without overflowing `2p`.
    if padding[0] > kernel[0] / 2 || padding[1] > kernel[1] / 2 {
        return Err(err(
            Code::E0210,
            format!(
                "padding {}×{} is more than half the {}×{} kernel",
                padding[0], padding[1], kernel[0], kernel[1]
            ),
        ));
    }
    Ok(())
}

/// The output shape of `op` applied to `inputs` (ordered by port). Its element count
/// fits in 64 bits.
pub fn infer_shape(op: &Op, inputs: &[Shape]) -> Result<Shape, ShapeError> {
    let shape = output_shape(op, inputs)?;
    match shape.checked_numel() {
        Some(_) => Ok(shape),
        None => Err(overflow(format!("the number of elements of {shape}"))),
    }
}

fn output_shape(op: &Op, inputs: &[Shape]) -> Result<Shape, ShapeError> {
    let (min, max) = op.arity();
    if inputs.len() < min || inputs.len() > max {
        return Err(err(
            Code::E0302,
            format!(
                "`{}` takes {min} to {max} inputs, found {}",
                op.kind_name(),
                inputs.len()
            ),
        ));
    }
    let x = inputs.first().copied().unwrap_or(Shape::new(0, 0, 0));
    match op {
        Op::Input { shape } => Ok(Shape::new(shape[0], shape[1], shape[2])),
        Op::Conv {
            out_channels,
            kernel,
            stride,
            padding,
            dilation,
            groups,
            ..
        } => {
            if kernel.contains(&0) || stride.contains(&0) || dilation.contains(&0) {
                return Err(err(
                    Code::E0210,
                    "kernel size, stride and dilation must be at least 1".into(),
                ));
            }
            if *groups == 0 || x.c % groups != 0 || out_channels % groups != 0 {
                return Err(ShapeError {
                    code: Code::E0304,
                    message: format!(
                        "{groups} groups must divide both the {} input channels and the {out_channels} output channels",
                        x.c
                    ),
                    hint: Some("choose a group count that divides both channel counts".into()),
                });
            }
            let h = window("height", x.h, kernel[0], stride[0], padding[0], dilation[0])?;
            let w = window("width", x.w, kernel[1], stride[1], padding[1], dilation[1])?;
            Ok(Shape::new(*out_channels, h, w))
        }
        Op::BatchNorm { .. }
        | Op::Relu
        | Op::LeakyRelu { .. }
        | Op::Prelu { .. }
        | Op::Sigmoid
        | Op::Dropout { .. }
        | Op::DropPath { .. }
        | Op::Scale { .. }
        | Op::ChannelScale { .. }
        | Op::Output => Ok(x),
        Op::ChannelConv { kernel } => {
            // Padding (k − 1)/2 at both ends keeps the channel count only for odd k.
            if kernel % 2 == 0 {
                return Err(err(
                    Code::E0210,
                    format!("a channel convolution needs an odd kernel, found {kernel}"),
                ));
            }
            Ok(x)
        }
        Op::GroupNorm { groups, .. } => {
            if *groups == 0 || x.c % groups != 0 {
                return Err(ShapeError {
                    code: Code::E0304,
                    message: format!("{groups} groups do not divide the {} channels", x.c),
                    hint: Some("choose a group count that divides the channel count".into()),
                });
            }
            Ok(x)
        }
        Op::MaxPool {
            kernel,
            stride,
            padding,
            ceil_mode,
        }
        | Op::AvgPool {
            kernel,
            stride,
            padding,
            ceil_mode,
            ..
        } => {
            check_window_params(*kernel, *stride, *padding)?;
            let h = pool_window("height", x.h, kernel[0], stride[0], padding[0], *ceil_mode)?;
            let w = pool_window("width", x.w, kernel[1], stride[1], padding[1], *ceil_mode)?;
            Ok(Shape::new(x.c, h, w))
        }
        Op::GlobalAvgPool => Ok(Shape::new(x.c, 1, 1)),
        Op::Linear { out_features, .. } => Ok(Shape::new(*out_features, 1, 1)),
        Op::Flatten => Ok(Shape::new(x.numel(), 1, 1)),
        Op::Add | Op::WeightedSum { .. } => {
            if let Some((i, other)) = inputs.iter().enumerate().find(|(_, s)| **s != x) {
                return Err(err(
                    Code::E0302,
                    format!(
                        "input 1 has shape {x} but input {} has shape {other}",
                        i + 1
                    ),
                ));
            }
            Ok(x)
        }
        Op::Mul => {
            let y = inputs[1];
            let broadcast = y.c == x.c && y.h == 1 && y.w == 1;
            if y != x && !broadcast {
                return Err(err(
                    Code::E0302,
                    format!("cannot multiply {x} by {y}: shapes must match, or the second be [{}, 1, 1]", x.c),
                ));
            }
            Ok(x)
        }
        Op::Concat => {
            if let Some(other) = inputs.iter().find(|s| s.h != x.h || s.w != x.w) {
                return Err(err(
                    Code::E0302,
                    format!("concatenated inputs must share height and width: {x} and {other}"),
                ));
            }
            let channels = inputs
                .iter()
                .try_fold(0u64, |sum, s| sum.checked_add(s.c))
                .ok_or_else(|| overflow("the number of concatenated channels".into()))?;
            Ok(Shape::new(channels, x.h, x.w))
        }
        Op::Slice { start, end } => {
            if start >= end || *end > x.c {
                return Err(err(
                    Code::E0305,
                    format!(
                        "channels {start}..{end} are not a non-empty part of the {} channels",
                        x.c
                    ),
                ));
            }
            Ok(Shape::new(end - start, x.h, x.w))
        }
        Op::Upsample { scale } => {
            if *scale == 0 {
                return Err(err(
                    Code::E0210,
                    "the upsampling factor must be at least 1".into(),
                ));
            }
            let scaled = |size: u64| {
                size.checked_mul(*scale)
                    .ok_or_else(|| overflow(format!("{size} upsampled {scale} times")))
            };
            Ok(Shape::new(x.c, scaled(x.h)?, scaled(x.w)?))
        }
        Op::ZeroPad {
            stride,
            pad_before,
            pad_after,
        } => {
            if *stride == 0 {
                return Err(err(Code::E0210, "the stride must be at least 1".into()));
            }
            let channels =
                x.c.checked_add(*pad_before)
                    .and_then(|c| c.checked_add(*pad_after))
                    .ok_or_else(|| overflow("the number of zero-padded channels".into()))?;
            Ok(Shape::new(
                channels,
                x.h.div_ceil(*stride),
                x.w.div_ceil(*stride),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(op: &Op, inputs: &[Shape]) -> Option<Code> {
        infer_shape(op, inputs).err().map(|e| e.code)
    }

    /// `ceil_mode` rounds up as PyTorch does, dropping a window that would start in the
    /// right padding.
    #[test]
    fn pool_ceil_mode_sizes() {
        let size = |k, s, p, n, ceil_mode| pool_window("height", n, k, s, p, ceil_mode).unwrap();
        // (7 − 3)/2 + 1 = 3 either way; (8 − 3)/2 + 1 = 3.5 → 3 or 4.
        assert_eq!(size(3, 2, 0, 7, true), 3);
        assert_eq!(size(3, 2, 0, 8, false), 3);
        assert_eq!(size(3, 2, 0, 8, true), 4);
        // The avg-down pool: 2×2 stride 2 on 7 gives 4 (the last window holds one row).
        assert_eq!(size(2, 2, 0, 7, true), 4);
        assert_eq!(size(2, 2, 0, 7, false), 3);
        // 5 + 2 padded, k 2, stride 3: the ceil window would start at 6 ≥ 5 + 1, dropped.
        assert_eq!(size(2, 3, 1, 5, true), 2);
        assert_eq!(size(2, 3, 1, 5, false), 2);
        // 6 + 2 padded, k 2, stride 3: the third window starts at 6 < 6 + 1, kept.
        assert_eq!(size(2, 3, 1, 6, true), 3);
        let pool = |ceil_mode| Op::AvgPool {
            kernel: [3, 3],
            stride: [2, 2],
            padding: [1, 1],
            count_include_pad: false,
            ceil_mode,
        };
        // (10 + 2 − 3)/2 + 1 = 5.5.
        let x = Shape::new(4, 10, 9);
        assert_eq!(infer_shape(&pool(false), &[x]), Ok(Shape::new(4, 5, 5)));
        assert_eq!(infer_shape(&pool(true), &[x]), Ok(Shape::new(4, 6, 5)));
    }

    /// Sizes past 64 bits are E0206 (issue 15: they saturated or wrapped).
    #[test]
    fn shapes_that_overflow_are_errors() {
        let big = Shape::new(u64::MAX / 2 + 1, 1, 1);
        let map = Shape::new(1, 1 << 32, 1 << 32);
        assert_eq!(code(&Op::Concat, &[big, big]), Some(Code::E0206));
        assert_eq!(
            code(&Op::Upsample { scale: 1 << 32 }, &[map]),
            Some(Code::E0206)
        );
        assert_eq!(code(&Op::Upsample { scale: 2 }, &[map]), Some(Code::E0206));
        let pad = Op::ZeroPad {
            stride: 1,
            pad_before: 1,
            pad_after: 0,
        };
        assert_eq!(code(&pad, &[Shape::new(u64::MAX, 1, 1)]), Some(Code::E0206));
        let input = Op::Input {
            shape: [1 << 32, 1 << 32, 2],
        };
        assert_eq!(code(&input, &[]), Some(Code::E0206));
        let pool = Op::MaxPool {
            kernel: [3, 3],
            stride: [1, 1],
            padding: [u64::MAX, 1],
            ceil_mode: false,
        };
        assert_eq!(code(&pool, &[map]), Some(Code::E0210));
        // 2⁶³ elements still fit.
        let fits = Shape::new(1, 1 << 31, 1 << 30);
        assert_eq!(
            infer_shape(&Op::Upsample { scale: 2 }, &[fits]),
            Ok(Shape::new(1, 1 << 32, 1 << 31))
        );
    }
}
