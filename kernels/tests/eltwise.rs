//! The elementwise training kernels (the residual addition + ReLU, the ReLU's backward)
//! against their definitions, exactly.

mod common;

use common::Values;
use proptest::prelude::*;

proptest! {
    #![proptest_config(common::proptest_config(32, 0xe1e1_2026))]
    /// The fused residual addition + ReLU and the ReLU's backward, exactly (no rounding
    /// but the addition's).
    #[test]
    fn add_relu_and_its_backward_are_exact(len in 0usize..40_000, seed in any::<u64>()) {
        let mut values = Values(seed | 1);
        let (a, b, dy) = (values.take(len), values.take(len), values.take(len));
        let mut y = vec![f32::NAN; len];
        resc_kernels::add_relu(&a, &b, &mut y);
        let want: Vec<f32> = a.iter().zip(&b).map(|(a, b)| (a + b).max(0.0)).collect();
        prop_assert_eq!(&y, &want);
        let mut dx = vec![f32::NAN; len];
        resc_kernels::relu_backward(&dy, &y, &mut dx);
        let want: Vec<f32> = dy.iter().zip(&y).map(|(&d, &y)| if y > 0.0 { d } else { 0.0 }).collect();
        prop_assert_eq!(dx, want);
    }
}
