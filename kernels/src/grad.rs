//! The gradients of [`Conv2d`] for training: the input gradient (the transposed
//! convolution of the output gradient) and the weight gradient (a matrix product of the
//! output gradient with the gathered patches of the saved input).

use crate::Conv2d;

impl Conv2d {
    /// The input gradient `dx` (`[n, in, h, w]`, overwritten) of the convolution of an
    /// `[n, in, h, w]` input, from the output gradient `dy` (`[n, out, oh, ow]`).
    pub fn backward_data(&self, dy: &[f32], [n, h, w]: [usize; 3], dx: &mut [f32]) {
        let _ = (dy, n, h, w, dx);
        todo!("issue 16: helper K1")
    }

    /// The weight gradient `dw` (`[out, in, kh, kw]`, overwritten) from the saved input
    /// `x` (`[n, in, h, w]`) and the output gradient `dy` (`[n, out, oh, ow]`).
    pub fn backward_weight(&self, x: &[f32], dy: &[f32], [n, h, w]: [usize; 3], dw: &mut [f32]) {
        let _ = (x, dy, n, h, w, dw);
        todo!("issue 16: helper K1")
    }
}
