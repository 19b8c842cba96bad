//! ROC (TAR against log FAR) and DET (probit miss against probit false-alarm
//! rate) plots as PNG or SVG, with the operating points marked.
//!
//! Text needs a TrueType font. The first readable of `$EVAL_KIT_FONT`,
//! DejaVu Sans (Debian `fonts-dejavu-core`) and Liberation Sans is used;
//! with none, plotting fails with an error that says so.

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;

use crate::curve::ScoreCurve;
use crate::det::{det_points, min_dcf};
use crate::error::MetricError;
use crate::report::{MetricsConfig, VerificationReport};
use crate::roc::Roc;

mod overlay;

pub use overlay::plot_overlay;

/// Which curve to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CurveKind {
    /// TAR against FAR on a log axis (face verification), TAR@FAR marked.
    Roc,
    /// Miss against false-alarm rate on probit axes (speaker verification),
    /// EER and minDCF marked.
    Det,
}

const FONT_CANDIDATES: [&str; 3] = [
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/truetype/liberation/LiberationSans-Regular.ttf",
];

/// Registers a system font with plotters once; the error says which files were tried.
fn ensure_font() -> Result<(), String> {
    static FONT: OnceLock<Result<(), String>> = OnceLock::new();
    FONT.get_or_init(|| {
        let mut candidates: Vec<String> = std::env::var("EVAL_KIT_FONT").into_iter().collect();
        candidates.extend(FONT_CANDIDATES.iter().map(|s| s.to_string()));
        for path in &candidates {
            if let Ok(bytes) = std::fs::read(path) {
                let bytes: &'static [u8] = Box::leak(bytes.into_boxed_slice());
                if plotters::style::register_font("sans-serif", FontStyle::Normal, bytes).is_ok() {
                    return Ok(());
                }
            }
        }
        Err(format!(
            "no usable TrueType font (install fonts-dejavu-core or set EVAL_KIT_FONT); tried {}",
            candidates.join(", ")
        ))
    })
    .clone()
}

/// Draws `kind` for `curve` into `path` (`.png` or `.svg`), 800×600.
pub fn plot_curve(
    path: &Path,
    curve: &ScoreCurve,
    report: &VerificationReport,
    config: &MetricsConfig,
    kind: CurveKind,
    title: &str,
) -> Result<(), MetricError> {
    let fail = |message: String| MetricError::Plot {
        path: path.to_path_buf(),
        message,
    };
    ensure_font().map_err(fail)?;
    let extension = path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase);
    let size = (800, 600);
    let result = match extension.as_deref() {
        Some("png") => draw(
            BitMapBackend::new(path, size).into_drawing_area(),
            curve,
            report,
            config,
            kind,
            title,
        ),
        Some("svg") => draw(
            SVGBackend::new(path, size).into_drawing_area(),
            curve,
            report,
            config,
            kind,
            title,
        ),
        _ => Err("the file name must end in .png or .svg".to_string()),
    };
    result.map_err(fail)
}

type DrawResult = Result<(), String>;

fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    curve: &ScoreCurve,
    report: &VerificationReport,
    config: &MetricsConfig,
    kind: CurveKind,
    title: &str,
) -> DrawResult {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    root.fill(&WHITE).map_err(e)?;
    match kind {
        CurveKind::Roc => draw_roc(&root, curve, report, title)?,
        CurveKind::Det => draw_det(&root, curve, report, config, title)?,
    }
    root.present().map_err(e)
}

fn draw_roc<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curve: &ScoreCurve,
    report: &VerificationReport,
    title: &str,
) -> DrawResult {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    let n_non = curve.n_nontarget() as f64;
    let min_far = report
        .tar_at_far
        .iter()
        .map(|r| r.far)
        .filter(|&f| f > 0.0)
        .fold(1.0 / n_non, f64::min);
    let x_min = far_axis_start(min_far);
    let points = roc_line(curve, x_min);
    let y_min = points.first().map_or(0.0, |p| p.1).min(0.9);
    let y_min = (y_min * 10.0).floor() / 10.0;
    let mut chart = ChartBuilder::on(root)
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
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
        .map_err(e)?
        .label(format!("ROC (EER {:.3}%)", 100.0 * report.eer))
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    let marks: Vec<(f64, f64)> = report
        .tar_at_far
        .iter()
        .filter(|r| r.far >= x_min)
        .map(|r| (r.far, r.tar.max(y_min)))
        .collect();
    chart
        .draw_series(marks.iter().map(|&(far, tar)| {
            EmptyElement::at((far, tar))
                + Circle::new((0, 0), 5, RED.filled())
                + Text::new(
                    format!("{:.2}%", 100.0 * tar),
                    (6, -20),
                    ("sans-serif", 13).into_font().color(&RED),
                )
        }))
        .map_err(e)?
        .label("TAR@FAR")
        .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.filled()));
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(e)
}

/// DET tick positions (as rates) and their labels.
const DET_TICKS: [(f64, &str); 14] = [
    (0.0001, "0.01"),
    (0.001, "0.1"),
    (0.002, "0.2"),
    (0.005, "0.5"),
    (0.01, "1"),
    (0.02, "2"),
    (0.05, "5"),
    (0.1, "10"),
    (0.2, "20"),
    (0.3, "30"),
    (0.4, "40"),
    (0.6, "60"),
    (0.8, "80"),
    (0.9, "90"),
];

/// The probit range of both DET axes: 0.01% to 90%.
fn det_range() -> (f64, f64) {
    (probit(0.0001), probit(0.9))
}

/// A DET chart on `root`: probit axes over [`det_range`] with a percent grid and the diagonal.
fn det_chart<'a, DB: DrawingBackend>(
    root: &'a DrawingArea<DB, Shift>,
    title: &str,
) -> Result<ChartContext<'a, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>, String> {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    let (lo, hi) = det_range();
    let mut chart = ChartBuilder::on(root)
        .caption(title, ("sans-serif", 24))
        .margin(15)
        .x_label_area_size(45)
        .y_label_area_size(60)
        .build_cartesian_2d(lo..hi, lo..hi)
        .map_err(e)?;
    chart
        .configure_mesh()
        .disable_mesh()
        .x_labels(0)
        .y_labels(0)
        .x_desc("False alarm rate (%)")
        .y_desc("Miss rate (%)")
        .label_style(("sans-serif", 14))
        .draw()
        .map_err(e)?;
    let grid = BLACK.mix(0.15);
    for &(rate, label) in &DET_TICKS {
        let v = probit(rate);
        chart
            .draw_series([
                PathElement::new(vec![(v, lo), (v, hi)], grid),
                PathElement::new(vec![(lo, v), (hi, v)], grid),
            ])
            .map_err(e)?;
        let style = ("sans-serif", 13).into_font().color(&BLACK);
        let (x, y_bottom) = chart.backend_coord(&(v, lo));
        let (x_left, y) = chart.backend_coord(&(lo, v));
        root.draw(&Text::new(label, (x - 8, y_bottom + 6), style.clone()))
            .map_err(e)?;
        root.draw(&Text::new(label, (x_left - 38, y - 7), style))
            .map_err(e)?;
    }
    chart
        .draw_series(LineSeries::new(
            [(lo, lo), (hi, hi)],
            BLACK.mix(0.3).stroke_width(1),
        ))
        .map_err(e)?;
    Ok(chart)
}

/// The DET curve of `curve` in probit coordinates, thinned for drawing.
fn det_line(curve: &ScoreCurve) -> Vec<(f64, f64)> {
    thin(
        det_points(curve)
            .iter()
            .filter(|p| p.fpr > 0.0 && p.fnr > 0.0)
            .map(|p| (probit(p.fpr), probit(p.fnr))),
        |p| p,
    )
}

/// The ROC of `curve` as `(FAR, TAR)` points with FAR at least `x_min`, thinned for drawing
/// on a log FAR axis.
fn roc_line(curve: &ScoreCurve, x_min: f64) -> Vec<(f64, f64)> {
    let roc = Roc::new(curve, true);
    thin(
        roc.fpr
            .iter()
            .zip(&roc.tpr)
            .filter(|(f, _)| **f >= x_min)
            .map(|(&f, &t)| (f, t)),
        |(f, t)| (f.log10(), t),
    )
}

/// The decade at or below `far`, at least 1e-9: the left end of a log FAR axis.
fn far_axis_start(far: f64) -> f64 {
    10f64.powf(far.max(1e-9).log10().floor())
}

fn draw_det<DB: DrawingBackend>(
    root: &DrawingArea<DB, Shift>,
    curve: &ScoreCurve,
    report: &VerificationReport,
    config: &MetricsConfig,
    title: &str,
) -> DrawResult {
    let e = |err: DrawingAreaErrorKind<DB::ErrorType>| err.to_string();
    let (lo, hi) = det_range();
    let det = det_points(curve);
    let points = det_line(curve);
    let mut chart = det_chart(root, title)?;
    chart
        .draw_series(LineSeries::new(points, BLUE.stroke_width(2)))
        .map_err(e)?
        .label("DET")
        .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE.stroke_width(2)));
    let eer = probit(report.eer.clamp(1e-6, 0.9)).clamp(lo, hi);
    chart
        .draw_series([Circle::new((eer, eer), 6, RED.filled())])
        .map_err(e)?
        .label(format!("EER {:.3}%", 100.0 * report.eer))
        .legend(|(x, y)| Circle::new((x + 10, y), 5, RED.filled()));
    let best = min_dcf(curve, config.dcf).map_err(|err| err.to_string())?;
    if let Some(p) = det.iter().find(|p| p.threshold == best.threshold) {
        let at = (
            probit(p.fpr.max(1e-6)).clamp(lo, hi),
            probit(p.fnr.max(1e-6)).clamp(lo, hi),
        );
        chart
            .draw_series([TriangleMarker::new(at, 8, GREEN.filled())])
            .map_err(e)?
            .label(format!(
                "minDCF {:.4} (p_target {})",
                report.min_dcf, report.p_target
            ))
            .legend(|(x, y)| TriangleMarker::new((x + 10, y), 6, GREEN.filled()));
    }
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .label_font(("sans-serif", 14))
        .draw()
        .map_err(e)
}

/// Keeps the points that move at least 1/1000 of the plot in `project`ed
/// coordinates from the last kept one, plus the last point.
fn thin(
    points: impl Iterator<Item = (f64, f64)>,
    project: impl Fn((f64, f64)) -> (f64, f64),
) -> Vec<(f64, f64)> {
    let mut out: Vec<(f64, f64)> = Vec::new();
    let mut last_kept = None;
    let mut pending = None;
    for p in points {
        let q = project(p);
        let far_enough = match last_kept {
            None => true,
            Some((x, y)) => {
                let (dx, dy): (f64, f64) = (q.0 - x, q.1 - y);
                dx.abs() > 0.005 || dy.abs() > 0.001
            }
        };
        if far_enough {
            out.push(p);
            last_kept = Some(q);
            pending = None;
        } else {
            pending = Some(p);
        }
    }
    out.extend(pending);
    out
}

/// The standard normal quantile (Acklam's rational approximation,
/// relative error below 1.2e-9).
pub fn probit(p: f64) -> f64 {
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_69e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    let p_low = 0.02425;
    if p <= 0.0 {
        return f64::NEG_INFINITY;
    }
    if p >= 1.0 {
        return f64::INFINITY;
    }
    if p < p_low {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - p_low {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        -probit(1.0 - p)
    }
}

#[cfg(test)]
mod tests {
    use super::probit;

    #[test]
    fn probit_matches_normal_quantiles() {
        // scipy.stats.norm.ppf values.
        for (p, z) in [
            (0.5, 0.0),
            (0.975, 1.959_963_984_540_054),
            (0.01, -2.326_347_874_040_841),
            (1e-4, -3.719_016_485_455_68),
        ] {
            assert!((probit(p) - z).abs() < 1e-8, "{p}: {} vs {z}", probit(p));
        }
    }
}
