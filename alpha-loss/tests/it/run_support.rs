//! The pieces both apps' training runs take from alpha-loss: wespeaker's margin schedule, the
//! scheduled margin put into a head (Q-Margin's ρ = e^(−s·m)), A3M-I class means and the
//! telemetry window.

use alpha_loss::{
    ClassMeans, IncreaseType, LossConfig, LossKind, MarginHead, MarginSchedule,
    MarginScheduleConfig, Telemetry, TelemetryWindow, TELEMETRY_FIELDS,
};
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};

#[test]
fn margin_schedule_follows_wespeaker() {
    // wespeaker MarginScheduler(epoch_iter=E, increase_start_epoch=20, fix_start_epoch=40,
    // initial 0.0, final 0.2, exp): iterations 19E .. 39E rise as 1 - exp(t/T ln(1e-3/(1+1e-6))).
    let e = 50u64;
    let cfg = MarginScheduleConfig {
        initial_margin: 0.0,
        final_margin: 0.2,
        increase_start_epoch: 20.0,
        fix_start_epoch: 40.0,
        increase_type: IncreaseType::Exp,
    };
    let s = MarginSchedule::new(cfg.clone(), e);
    let (start, fix) = (19 * e, 39 * e);
    assert_eq!(s.margin_at(0), 0.0);
    assert_eq!(s.margin_at(start - 1), 0.0);
    assert_eq!(s.margin_at(start), 0.0);
    assert_eq!(s.margin_at(fix), 0.2);
    assert_eq!(s.margin_at(10 * fix), 0.2);
    // Half-way: 0.2 * (1 - sqrt(1e-3 / (1 + 1e-6))) = 0.193675... (the "fast rise").
    let half = s.margin_at(start + (fix - start) / 2);
    assert!((half - 0.193_675_5).abs() < 1e-6, "{half}");
    for it in (start..fix).step_by(37) {
        let t = (it - start) as f64 / (fix - start) as f64;
        let expected = 0.2 * (1.0 - (1e-3f64 / 1.000_001).powf(t));
        assert!((s.margin_at(it) - expected).abs() < 1e-12, "iteration {it}");
    }
    let linear = MarginSchedule::new(
        MarginScheduleConfig {
            initial_margin: 0.1,
            increase_type: IncreaseType::Linear,
            ..cfg.clone()
        },
        e,
    );
    let quarter = start + (fix - start) / 4;
    assert!((linear.margin_at(quarter) - (0.1 + 0.1 * 0.25)).abs() < 1e-12);
    let backwards = MarginScheduleConfig {
        increase_start_epoch: 5.0,
        fix_start_epoch: 2.0,
        ..cfg
    };
    assert!(backwards.validate().is_err());
}

fn head(cfg: &LossConfig) -> MarginHead {
    let vars = VarMap::new();
    MarginHead::new(
        cfg.margin().unwrap(),
        5,
        4,
        VarBuilder::from_varmap(&vars, DType::F32, &Device::Cpu),
    )
    .unwrap()
}

#[test]
fn a_scheduled_margin_is_q_margins_prior_or_the_logit_margin() {
    let mut q = LossConfig::new(LossKind::QMargin);
    q.s = 16.0;
    let mut h = head(&q);
    q.apply_scheduled_margin(&mut h, 0.2).unwrap();
    // rho = exp(-16 * 0.2) = 0.0407622...
    assert!((h.spec().loss.target_prior - (-3.2f64).exp()).abs() < 1e-15);
    q.apply_scheduled_margin(&mut h, 0.0).unwrap();
    assert_eq!(h.spec().loss.target_prior, 1.0);

    let arc = LossConfig::new(LossKind::ArcFace);
    let mut h = head(&arc);
    arc.apply_scheduled_margin(&mut h, 0.3).unwrap();
    assert!(matches!(h.spec().logit, alpha_loss::LogitMargin::Angular { m, .. } if m == 0.3));
    assert!(!LossConfig::new(LossKind::Softmax).has_margin());
}

#[test]
fn negative_or_non_finite_margins_are_refused() {
    for kind in [LossKind::CosFace, LossKind::ArcFace, LossKind::A3M] {
        let mut cfg = LossConfig::new(kind);
        cfg.m = Some(-0.2);
        let e = cfg.margin().unwrap_err().to_string();
        assert!(e.contains("loss.m = -0.2"), "{kind}: {e}");
        cfg.m = Some(f64::NAN);
        assert!(cfg.margin().is_err(), "{kind}: NaN margin");
    }
}

#[test]
fn class_means_average_per_class_and_leave_empty_classes_zero() {
    let mut means = ClassMeans::new(3, 2);
    means.add(0, &[1.0, 0.0]).unwrap();
    means.add(0, &[0.0, 1.0]).unwrap();
    means.add(2, &[0.6, 0.8]).unwrap();
    assert_eq!((means.count(0), means.count(1)), (2, 0));
    assert!(means.add(3, &[1.0, 0.0]).is_err());
    assert!(means.add(1, &[1.0]).is_err());
    let m = means
        .finish(&Device::Cpu)
        .unwrap()
        .to_vec2::<f32>()
        .unwrap();
    assert_eq!(m, vec![vec![0.5, 0.5], vec![0.0, 0.0], vec![0.6, 0.8]]);
}

#[test]
fn the_telemetry_window_averages_and_keeps_the_maximum_support() {
    let mut w = TelemetryWindow::default();
    assert!(w.take().is_empty());
    let batch = |p, zero, support, max| Telemetry {
        rows: 4,
        mean_loss: 1.0,
        mean_p_target: p,
        frac_target_zero: zero,
        mean_support: support,
        max_support: max,
    };
    w.add(&batch(0.2, 0.5, 3.0, 5));
    w.add(&batch(0.4, 0.0, 5.0, 9));
    let fields = w.take();
    let names: Vec<&str> = fields.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, TELEMETRY_FIELDS);
    let values: Vec<f64> = fields.iter().map(|(_, v)| *v).collect();
    assert!((values[0] - 0.3).abs() < 1e-15);
    assert_eq!(&values[1..], &[0.25, 4.0, 9.0]);
    assert_eq!(w.batches(), 0);
}
