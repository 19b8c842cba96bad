//! Several curves of one protocol on one chart (e.g. the losses of a sweep), each in its own
//! colour with its EER in the legend.

use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::*;

use super::{det_chart, det_line, ensure_font, far_axis_start, roc_line, CurveKind, DrawResult};
use crate::curve::ScoreCurve;
use crate::det::eer;
use crate::error::MetricError;

/// Line colours, cycled (a colour-blind-safe set: Okabe-Ito without yellow, then greys).
const PALETTE: [RGBColor; 9] = [
    RGBColor(0, 114, 178),
    RGBColor(213, 94, 0),
    RGBColor(0, 158, 115),
    RGBColor(204, 121, 167),
    RGBColor(86, 180, 233),
    RGBColor(230, 159, 0),
    RGBColor(0, 0, 0),
    RGBColor(120, 120, 120),
    RGBColor(170, 60, 60),
];

/// Draws `kind` for every `(label, curve)` into `path` (`.png` or `.svg`), 900×650; the ROC's
/// FAR axis starts at the decade of the smallest `1 / impostors` among the curves.
pub fn plot_overlay(
    path: &Path,
    curves: &[(String, &ScoreCurve)],
    kind: CurveKind,
    title: &str,
) -> Result<(), MetricError> {
    let fail = |message: String| MetricError::Plot {
        path: path.to_path_buf(),
        message,
    };
    ensure_font().map_err(fail)?;
    if curves.is_empty() {
        return Err(fail("no curves to draw".to_string()));
    }
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let size = (900, 650);
    let result = match extension.as_deref() {
        Some("png") => draw(
            BitMapBackend::new(path, size).into_drawing_area(),
            curves,
            kind,
            title,
        ),
        Some("svg") => draw(
            SVGBackend::new(path, size).into_drawing_area(),
            curves,
            kind,
            title,
        ),
        _ => Err("the file name must end in .png or .svg".to_string()),
    };
    result.map_err(fail)
}

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    curves: &[(String, &ScoreCurve)],
    kind: CurveKind,
    title: &str,
) -> DrawResult {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    root.fill(&WHITE).map_err(e)?;
    let label =
        |name: &str, curve: &ScoreCurve| format!("{name} (EER {:.2}%)", 100.0 * eer(curve).rate);
    match kind {
        CurveKind::Roc => {
            let min_far = curves
                .iter()
                .map(|(_, c)| 1.0 / c.n_nontarget() as f64)
                .fold(1.0, f64::min);
            let x_min = far_axis_start(min_far);
            let lines: Vec<Vec<(f64, f64)>> =
                curves.iter().map(|(_, c)| roc_line(c, x_min)).collect();
            let y_min = lines
                .iter()
                .filter_map(|l| l.first().map(|p| p.1))
                .fold(0.9, f64::min);
            let y_min = (y_min * 10.0).floor() / 10.0;
            let mut chart = ChartBuilder::on(&root)
                .caption(title, ("sans-serif", 24))
                .margin(15)
                .x_label_area_size(45)
                .y_label_area_size(60)
                .build_cartesian_2d((x_min..1.0).log_scale(), y_min..1.0)
                .map_err(e)?;
            chart
                .configure_mesh()
                .x_desc("False acceptance rate (FAR)")
                .y_desc("True acceptance rate (TAR)")
                .x_label_formatter(&|v| format!("{v:.0e}"))
                .y_label_formatter(&|v| format!("{v:.2}"))
                .label_style(("sans-serif", 14))
                .draw()
                .map_err(e)?;
            for (i, ((name, curve), line)) in curves.iter().zip(lines).enumerate() {
                let colour = PALETTE[i % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(line, colour.stroke_width(2)))
                    .map_err(e)?
                    .label(label(name, curve))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::LowerRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(e)?;
        }
        CurveKind::Det => {
            let mut chart = det_chart(&root, title)?;
            for (i, (name, curve)) in curves.iter().enumerate() {
                let colour = PALETTE[i % PALETTE.len()];
                chart
                    .draw_series(LineSeries::new(det_line(curve), colour.stroke_width(2)))
                    .map_err(e)?
                    .label(label(name, curve))
                    .legend(move |(x, y)| {
                        PathElement::new(vec![(x, y), (x + 20, y)], colour.stroke_width(2))
                    });
            }
            chart
                .configure_series_labels()
                .position(SeriesLabelPosition::UpperRight)
                .background_style(WHITE.mix(0.8))
                .border_style(BLACK)
                .label_font(("sans-serif", 14))
                .draw()
                .map_err(e)?;
        }
    }
    root.present().map_err(e)
}
