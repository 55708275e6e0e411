//! The run's figures, as SVG (plotters): loss and error per epoch, and the histogram of
//! the learned λ of weighted shortcuts (the WResNet paper's figure).
//!
//! Each figure is drawn into a string and written atomically, so a killed run leaves the
//! previous epoch's figure, never half of one.

use super::checkpoint::write_atomic;
use super::metrics::EpochMetrics;
use plotters::prelude::*;
use std::path::Path;

const TRAIN: RGBColor = RGBColor(31, 119, 180);
const TEST: RGBColor = RGBColor(214, 39, 40);

type DrawResult<T> = Result<T, Box<dyn std::error::Error>>;

/// Draws `curves.svg`: training and test loss (left) and error in % (right) per epoch.
pub fn curves(metrics: &[EpochMetrics], path: &Path) -> Result<(), String> {
    let mut svg = String::new();
    draw_curves(metrics, &mut svg).map_err(|e| format!("cannot draw {}: {e}", path.display()))?;
    write_atomic(path, svg.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn draw_curves(metrics: &[EpochMetrics], svg: &mut String) -> DrawResult<()> {
    let root = SVGBackend::with_string(svg, (1000, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(500);
    let last = metrics.last().map_or(1, |m| m.epoch).max(1);
    let series = |f: fn(&EpochMetrics) -> f64| -> Vec<(u32, f64)> {
        metrics.iter().map(|m| (m.epoch, f(m))).collect()
    };
    let panels = [
        (
            &left,
            "loss",
            "cross-entropy",
            [series(|m| m.train_loss), series(|m| m.test_loss)],
        ),
        (
            &right,
            "error",
            "error (%)",
            [
                series(|m| 100.0 * (1.0 - m.train_acc)),
                series(|m| 100.0 * (1.0 - m.test_acc)),
            ],
        ),
    ];
    for (area, title, y_label, [train, test]) in panels {
        let top = train
            .iter()
            .chain(&test)
            .map(|p| p.1)
            .filter(|v| v.is_finite())
            .fold(0.0_f64, f64::max);
        let top = if top > 0.0 { top * 1.05 } else { 1.0 };
        let mut chart = ChartBuilder::on(area)
            .caption(title, ("sans-serif", 20))
            .margin(10)
            .x_label_area_size(35)
            .y_label_area_size(55)
            .build_cartesian_2d(1u32..last.max(2), 0.0..top)?;
        chart
            .configure_mesh()
            .x_desc("epoch")
            .y_desc(y_label)
            .light_line_style(WHITE.mix(0.0))
            .draw()?;
        for (points, name, color) in [(train, "train", TRAIN), (test, "test", TEST)] {
            let finite: Vec<(u32, f64)> = points.into_iter().filter(|p| p.1.is_finite()).collect();
            chart
                .draw_series(LineSeries::new(finite.clone(), color.stroke_width(2)))?
                .label(name)
                .legend(move |(x, y)| {
                    PathElement::new(vec![(x, y), (x + 20, y)], color.stroke_width(2))
                });
            chart.draw_series(
                finite
                    .into_iter()
                    .map(|p| Circle::new(p, 3, color.filled())),
            )?;
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperRight)
            .background_style(WHITE.mix(0.8))
            .border_style(BLACK.mix(0.3))
            .draw()?;
    }
    root.present()?;
    Ok(())
}

/// The number of histogram bins.
const BINS: usize = 40;

/// The histogram's half-width: the smallest of 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1 that
/// holds every |λ| (λ starts at 0 and stays small for many epochs; (−1, 1) is the bound).
pub fn lambda_range(values: &[f32]) -> f64 {
    let largest = values
        .iter()
        .filter(|v| v.is_finite())
        .fold(0.0_f64, |m, &v| m.max(f64::from(v).abs()));
    [0.01, 0.02, 0.05, 0.1, 0.2, 0.5]
        .into_iter()
        .find(|&r| largest < r)
        .unwrap_or(1.0)
}

/// Counts of `values` in [`BINS`] equal bins over [−range, range] (values outside go to
/// the end bins; NaN is left out).
pub fn lambda_bins(values: &[f32], range: f64) -> Vec<u32> {
    let mut bins = vec![0u32; BINS];
    for &v in values {
        let x = ((f64::from(v) + range) / (2.0 * range) * BINS as f64).floor();
        if !x.is_nan() {
            bins[x.clamp(0.0, (BINS - 1) as f64) as usize] += 1;
        }
    }
    bins
}

/// Draws `lambda.svg`: the histogram of the learned λ after `epoch` epochs.
pub fn lambda_histogram(values: &[f32], epoch: u32, path: &Path) -> Result<(), String> {
    let mut svg = String::new();
    draw_histogram(values, epoch, &mut svg)
        .map_err(|e| format!("cannot draw {}: {e}", path.display()))?;
    write_atomic(path, svg.as_bytes()).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

fn draw_histogram(values: &[f32], epoch: u32, svg: &mut String) -> DrawResult<()> {
    let range = lambda_range(values);
    let bins = lambda_bins(values, range);
    let top = bins.iter().copied().max().unwrap_or(0).max(1);
    let root = SVGBackend::with_string(svg, (640, 400)).into_drawing_area();
    root.fill(&WHITE)?;
    let width = 2.0 * range / BINS as f64;
    let mut chart = ChartBuilder::on(&root)
        .caption(
            format!(
                "learned λ of {} weighted shortcuts after epoch {epoch}",
                values.len()
            ),
            ("sans-serif", 20),
        )
        .margin(10)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(-range..range, 0u32..top + top.div_ceil(10))?;
    chart
        .configure_mesh()
        .x_desc("λ")
        .y_desc("shortcuts")
        .light_line_style(WHITE.mix(0.0))
        .draw()?;
    chart.draw_series(bins.iter().enumerate().filter(|b| *b.1 > 0).map(|(i, &n)| {
        let x0 = -range + i as f64 * width;
        Rectangle::new([(x0, 0), (x0 + width, n)], TRAIN.mix(0.8).filled())
    }))?;
    root.present()?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_open_interval() {
        let values = [-0.999_999, -0.5, 0.0, 0.0, 0.49, 0.999_999, f32::NAN];
        assert_eq!(lambda_range(&values), 1.0);
        assert_eq!(lambda_range(&[0.004, -0.03]), 0.05);
        assert_eq!(lambda_range(&[]), 0.01);
        let bins = lambda_bins(&values, 1.0);
        assert_eq!(bins.iter().sum::<u32>(), 6, "NaN is not counted");
        assert_eq!(bins[0], 1);
        assert_eq!(bins[BINS - 1], 1);
        assert_eq!(bins[BINS / 2], 2, "0 falls in the bin starting at 0");
        assert_eq!(bins[10], 1, "-0.5 starts bin 10 of 40");
    }

    #[test]
    fn figures_are_svg_with_their_labels() {
        let m = |epoch, loss: f64| EpochMetrics {
            epoch,
            iteration: u64::from(epoch) * 10,
            lr: 0.1,
            train_loss: loss,
            train_acc: 0.5,
            test_loss: loss * 1.1,
            test_acc: 0.4,
            images_per_sec: 100.0,
            seconds: 1.0,
        };
        let mut svg = String::new();
        draw_curves(&[m(1, 2.0), m(2, f64::NAN), m(3, 1.0)], &mut svg).unwrap();
        assert!(svg.starts_with("<svg"), "{}", &svg[..40.min(svg.len())]);
        for label in ["loss", "error (%)", "epoch", "train", "test"] {
            assert!(svg.contains(label), "{label} is drawn");
        }
        let mut svg = String::new();
        draw_histogram(&[0.1, -0.2, 0.3], 4, &mut svg).unwrap();
        assert!(svg.contains("learned λ of 3 weighted shortcuts after epoch 4"));
        assert!(svg.contains("<rect"), "bars are drawn");
    }
}
