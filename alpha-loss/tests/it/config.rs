//! The `[loss]` table: names, defaults, resolution into margins, A3M-I triggers, bad values.

use alpha_loss::{AngularGradient, BaseMeasure, LossConfig, LossKind, Margin, ReinitReason};

#[test]
fn every_kind_parses_from_its_name_and_aliases() {
    for kind in LossKind::ALL {
        assert_eq!(kind.name().parse::<LossKind>().unwrap(), kind);
    }
    assert_eq!("A3M_I".parse::<LossKind>().unwrap(), LossKind::A3MI);
    assert_eq!("a3mi".parse::<LossKind>().unwrap(), LossKind::A3MI);
    let err = "sphereface".parse::<LossKind>().unwrap_err().to_string();
    assert!(
        err.contains("sphereface") && err.contains("qmargin"),
        "{err}"
    );
}

#[test]
fn defaults_resolve_to_the_insightface_margins() {
    let arc = LossConfig::new(LossKind::ArcFace).margin().unwrap();
    assert_eq!(
        arc,
        Margin::ArcFace {
            s: 64.0,
            m: 0.5,
            gradient: AngularGradient::Exact
        }
    );
    let cos = LossConfig::new(LossKind::CosFace).margin().unwrap();
    assert_eq!(cos, Margin::CosFace { s: 64.0, m: 0.4 });
    let comb = LossConfig::new(LossKind::Combined).margin().unwrap();
    assert_eq!(
        comb,
        Margin::Combined {
            s: 64.0,
            m1: 1.0,
            m2: 0.3,
            m3: 0.2
        }
    );
}

#[test]
fn q_margin_takes_rho_from_m_unless_given() {
    let mut cfg = LossConfig::new(LossKind::QMargin);
    cfg.s = 30.0;
    cfg.m = Some(0.2);
    match cfg.margin().unwrap() {
        Margin::QMargin {
            s,
            alpha,
            target_prior,
            base,
        } => {
            assert_eq!((s, alpha, base), (30.0, 1.5, BaseMeasure::Unit));
            assert!((target_prior - (-6.0f64).exp()).abs() < 1e-15);
        }
        other => panic!("expected QMargin, got {other:?}"),
    }
    cfg.target_prior = Some(0.25);
    assert!(
        matches!(cfg.margin().unwrap(), Margin::QMargin { target_prior, .. } if target_prior == 0.25)
    );
    assert!(cfg.describe().contains("rho=0.25"), "{}", cfg.describe());
}

#[test]
fn bad_parameters_are_errors_naming_the_loss() {
    let mut cfg = LossConfig::new(LossKind::QMargin);
    cfg.alpha = Some(0.5);
    let err = cfg.margin().unwrap_err().to_string();
    assert!(err.contains("qmargin") && err.contains("α"), "{err}");
    let mut cfg = LossConfig::new(LossKind::QMargin);
    cfg.target_prior = Some(1.5);
    assert!(cfg.margin().is_err());
    let mut cfg = LossConfig::new(LossKind::CosFace);
    cfg.s = 0.0;
    assert!(cfg.margin().unwrap_err().to_string().contains("scale"));
}

#[test]
fn only_a3m_i_has_a_reinit_policy_and_it_always_has_a_trigger() {
    assert!(LossConfig::new(LossKind::A3M).reinit_policy().is_none());
    let mut cfg = LossConfig::new(LossKind::A3MI);
    let policy = cfg.reinit_policy().unwrap();
    assert!(policy.monitor.is_some(), "no trigger given: monitor on");
    cfg.reinit.at_epochs = vec![2];
    let policy = cfg.reinit_policy().unwrap();
    assert!(policy.monitor.is_none());
    assert_eq!(policy.scheduled(10, Some(2)), Some(ReinitReason::Epoch(2)));
    assert_eq!(policy.scheduled(10, Some(1)), None);
}

#[cfg(feature = "serde")]
#[test]
fn a_toml_loss_table_round_trips() {
    let cfg: LossConfig = toml::from_str(
        r#"
        kind = "a3m-i"
        s = 32.0
        m = 0.3
        alpha = 2.0
        base = "uniform"
        reinit = { at_steps = [100], monitor = { threshold = 0.4, window = 10, cooldown = 20 } }
        "#,
    )
    .unwrap();
    assert_eq!(cfg.kind, LossKind::A3MI);
    assert_eq!(
        cfg.margin().unwrap(),
        Margin::A3M {
            s: 32.0,
            m: 0.3,
            alpha: 2.0,
            base: BaseMeasure::Uniform
        }
    );
    let policy = cfg.reinit_policy().unwrap();
    assert_eq!(policy.at_steps, vec![100]);
    let back: LossConfig = toml::from_str(&toml::to_string(&cfg).unwrap()).unwrap();
    assert_eq!(back, cfg);
    let err = toml::from_str::<LossConfig>("kind = \"qmargin\"\nalpah = 2.0")
        .unwrap_err()
        .to_string();
    assert!(err.contains("alpah"), "{err}");
}
