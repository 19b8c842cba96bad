//! Learning-rate schedules against hand-computed values.

use train_kit::{Decay, LrSchedule};

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-12 * b.abs().max(1.0)
}

fn assert_lrs(s: &LrSchedule, expected: &[(u64, f64)]) {
    for &(step, lr) in expected {
        assert!(
            close(s.lr_at(step), lr),
            "lr_at({step}) = {}, expected {lr}",
            s.lr_at(step)
        );
    }
}

#[test]
fn insightface_poly_schedule_warms_up_linearly_then_decays_quadratically() {
    // insightface PolyScheduler: base 0.1, warmup 2, max_steps 10, power 2.
    let s = LrSchedule {
        base_lr: 0.1,
        warmup_steps: 2,
        warmup_start_lr: 0.0,
        decay: Decay::Polynomial {
            decay_steps: 8,
            power: 2.0,
            end_lr: 0.0,
        },
    };
    // 6: 0.1·(1 - 4/8)² = 0.025; 9: 0.1·(1/8)² = 0.0015625.
    assert_lrs(
        &s,
        &[
            (0, 0.0),
            (1, 0.05),
            (2, 0.1),
            (6, 0.025),
            (9, 0.0015625),
            (10, 0.0),
            (50, 0.0),
        ],
    );
}

#[test]
fn polynomial_decay_stops_at_end_lr() {
    let s = LrSchedule {
        base_lr: 1.0,
        warmup_steps: 0,
        warmup_start_lr: 0.0,
        decay: Decay::Polynomial {
            decay_steps: 4,
            power: 1.0,
            end_lr: 0.2,
        },
    };
    assert_lrs(&s, &[(0, 1.0), (1, 0.8), (2, 0.6), (4, 0.2), (9, 0.2)]);
}

#[test]
fn exponential_decay_interpolates_geometrically_like_wespeaker() {
    let s = LrSchedule {
        base_lr: 0.1,
        warmup_steps: 0,
        warmup_start_lr: 0.0,
        decay: Decay::Exponential {
            decay_steps: 100,
            end_lr: 0.001,
        },
    };
    assert_lrs(
        &s,
        &[
            (0, 0.1),
            (50, 0.01),
            (25, 0.1 * 0.01f64.powf(0.25)),
            (100, 0.001),
            (1000, 0.001),
        ],
    );
}

#[test]
fn step_decay_counts_milestones_after_the_warmup() {
    let s = LrSchedule {
        base_lr: 0.1,
        warmup_steps: 5,
        warmup_start_lr: 0.01,
        decay: Decay::Step {
            milestones: vec![10, 20],
            gamma: 0.1,
        },
    };
    // Warmup 0.01 → 0.1 over 5 steps: step 2 is 0.01 + 0.09·2/5 = 0.046.
    assert_lrs(
        &s,
        &[
            (0, 0.01),
            (2, 0.046),
            (5, 0.1),
            (14, 0.1),
            (15, 0.01),
            (24, 0.01),
            (25, 0.001),
            (99, 0.001),
        ],
    );
}

#[test]
fn schedule_parses_from_toml_and_round_trips() {
    let text = "base_lr = 0.1\nwarmup_steps = 2\n[decay]\nkind = \"step\"\nmilestones = [3, 6]\ngamma = 0.5\n";
    let s: LrSchedule = toml::from_str(text).unwrap();
    assert_eq!(
        s.decay,
        Decay::Step {
            milestones: vec![3, 6],
            gamma: 0.5
        }
    );
    assert_lrs(&s, &[(1, 0.05), (4, 0.1), (5, 0.05), (8, 0.025)]);
    let again: LrSchedule = toml::from_str(&toml::to_string(&s).unwrap()).unwrap();
    assert_eq!(again, s);
    assert_eq!(
        toml::from_str::<LrSchedule>("base_lr = 0.1\n")
            .unwrap()
            .lr_at(1_000_000),
        0.1
    );
}

#[test]
fn unknown_schedule_fields_are_rejected_by_name() {
    let err = toml::from_str::<LrSchedule>("base_lr = 0.1\nwarmup = 3\n")
        .unwrap_err()
        .to_string();
    assert!(err.contains("warmup"), "{err}");
}

#[test]
fn invalid_schedules_name_the_field_and_value() {
    let unsorted = LrSchedule {
        base_lr: 0.1,
        warmup_steps: 0,
        warmup_start_lr: 0.0,
        decay: Decay::Step {
            milestones: vec![5, 3],
            gamma: 0.1,
        },
    };
    let err = unsorted.validate().unwrap_err().to_string();
    assert_eq!(
        err,
        "invalid schedule.decay.milestones = [5, 3]: must be strictly ascending"
    );
    let zero_end = LrSchedule {
        decay: Decay::Exponential {
            decay_steps: 10,
            end_lr: 0.0,
        },
        ..LrSchedule::constant(0.1)
    };
    let err = zero_end.validate().unwrap_err().to_string();
    assert!(
        err.starts_with("invalid schedule.decay.end_lr = 0:"),
        "{err}"
    );
    assert!(LrSchedule::constant(-1.0).validate().is_err());
    assert!(LrSchedule::constant(0.1).validate().is_ok());
}
