//! NaN/Inf guard through the trainer: skip or stop, counted, never checkpointed.

use candle_core::Tensor;
use train_kit::{
    CheckpointStore, MetricsLog, NonFinitePolicy, StepOutcome, StepOutput, TrainError, Trainer,
};

use crate::mlp::{sgd_nesterov, trainer, trainer_config, Mlp, BATCH};

/// How step `step` goes wrong, if it does.
#[derive(Clone, Copy, PartialEq)]
enum Fault {
    None,
    NanLoss,
    /// Finite loss term (0) whose gradient is infinite: d sqrt(p - stop_grad(p))/dp at 0.
    NanGradient,
}

fn step_with(trainer: &mut Trainer, mlp: &Mlp, fault: Fault) -> Result<StepOutcome, TrainError> {
    trainer.train_step(|ctx| -> Result<StepOutput, TrainError> {
        let mut loss = mlp.loss(ctx.step, ctx.rng)?;
        match fault {
            Fault::None => {}
            Fault::NanLoss => loss = (loss * f64::NAN)?,
            Fault::NanGradient => {
                let w = mlp.model_vars.data().lock().unwrap()["fc1.weight"]
                    .as_tensor()
                    .clone();
                loss = (loss + (&w - w.detach())?.sqrt()?.sum_all()?)?;
            }
        }
        Ok(StepOutput::new(loss, BATCH))
    })
}

#[test]
fn skip_policy_leaves_parameters_untouched_counts_and_logs() {
    let dir = tempfile::tempdir().unwrap();
    let mlp = Mlp::new(1);
    let cfg = trainer_config(6, 1, NonFinitePolicy::Skip { max_consecutive: 3 });
    let mut t = trainer(dir.path(), &mlp, &sgd_nesterov(), cfg).unwrap();
    let faults = [
        Fault::None,
        Fault::None,
        Fault::NanLoss,
        Fault::NanGradient,
        Fault::None,
        Fault::None,
    ];
    for (step, fault) in faults.into_iter().enumerate() {
        let before = mlp.bits();
        let outcome = step_with(&mut t, &mlp, fault).unwrap();
        match fault {
            Fault::None => {
                assert!(
                    matches!(outcome, StepOutcome::Applied { .. }),
                    "step {step}"
                );
                assert_ne!(mlp.bits(), before, "step {step} should update");
            }
            Fault::NanLoss => {
                assert_eq!(outcome, StepOutcome::Skipped("loss".into()));
                assert_eq!(mlp.bits(), before);
            }
            Fault::NanGradient => {
                assert_eq!(
                    outcome,
                    StepOutcome::Skipped("gradient of model/fc1.weight".into())
                );
                assert_eq!(mlp.bits(), before);
            }
        }
    }
    assert_eq!((t.step(), t.skipped_steps()), (6, 2));
    let log = MetricsLog::read_all(&dir.path().join("metrics.jsonl")).unwrap();
    let skipped: Vec<u64> = log.iter().map(|r| r.skipped_steps).collect();
    assert_eq!(skipped, [0, 0, 1, 2, 2, 2]);
    assert_eq!(
        log[2].loss, None,
        "a window of only skipped steps has no loss"
    );
    assert!(log[4].loss.is_some_and(f64::is_finite));
    // Every step was checkpointed (keep 2): all load back finite, with the skip count.
    let store = CheckpointStore::new(dir.path().join("checkpoints"), 2).unwrap();
    let latest = store.latest().unwrap().unwrap();
    assert_eq!(
        CheckpointStore::read_manifest(&latest)
            .unwrap()
            .skipped_steps,
        2
    );
}

#[test]
fn stop_policy_returns_an_error_naming_step_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let mlp = Mlp::new(1);
    let mut t = trainer(
        dir.path(),
        &mlp,
        &sgd_nesterov(),
        trainer_config(6, 0, NonFinitePolicy::Stop),
    )
    .unwrap();
    step_with(&mut t, &mlp, Fault::None).unwrap();
    let before = mlp.bits();
    let err = step_with(&mut t, &mlp, Fault::NanLoss).unwrap_err();
    assert_eq!(
        err.to_string(),
        "step 1: loss is not finite (NaN); stopping as configured (0 steps skipped before)"
    );
    assert_eq!(mlp.bits(), before);
    let err = step_with(&mut t, &mlp, Fault::NanGradient)
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("step 1: gradient of model/fc1.weight is not finite"),
        "{err}"
    );
}

#[test]
fn too_many_consecutive_skips_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mlp = Mlp::new(1);
    let cfg = trainer_config(10, 0, NonFinitePolicy::Skip { max_consecutive: 2 });
    let mut t = trainer(dir.path(), &mlp, &sgd_nesterov(), cfg).unwrap();
    step_with(&mut t, &mlp, Fault::NanLoss).unwrap();
    step_with(&mut t, &mlp, Fault::None).unwrap();
    step_with(&mut t, &mlp, Fault::NanLoss).unwrap();
    step_with(&mut t, &mlp, Fault::NanLoss).unwrap();
    let err = step_with(&mut t, &mlp, Fault::NanLoss)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        "step 4: 3 consecutive steps skipped for NaN/Inf (limit 2); last: loss"
    );
}

#[test]
fn a_non_scalar_loss_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    let mlp = Mlp::new(1);
    let mut t = trainer(
        dir.path(),
        &mlp,
        &sgd_nesterov(),
        trainer_config(3, 0, NonFinitePolicy::Stop),
    )
    .unwrap();
    let err = t
        .train_step(|_| -> Result<StepOutput, TrainError> {
            Ok(StepOutput::new(
                Tensor::zeros(2, candle_core::DType::F32, &candle_core::Device::Cpu)?,
                1,
            ))
        })
        .unwrap_err()
        .to_string();
    assert_eq!(err, "invalid loss = tensor of shape [2] at step 0: the step closure must return a scalar (0-d) loss");
}
