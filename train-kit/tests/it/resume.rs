//! Exact resume: K steps, checkpoint, restart, continue to N == N steps uninterrupted, bit for bit.

use train_kit::{CheckpointStore, MetricsLog, NonFinitePolicy, OptimizerConfig};

use crate::mlp::{adamw, run_until, sgd_nesterov, trainer, trainer_config, Mlp};

const TOTAL: u64 = 14;

fn check_exact_resume(optimizer: OptimizerConfig) {
    let policy = NonFinitePolicy::Stop;
    let straight_dir = tempfile::tempdir().unwrap();
    let straight_mlp = Mlp::new(1);
    let mut straight = trainer(
        straight_dir.path(),
        &straight_mlp,
        &optimizer,
        trainer_config(TOTAL, 4, policy.clone()),
    )
    .unwrap();
    let straight_losses = run_until(&mut straight, &straight_mlp, TOTAL);

    // Interrupted run: stops at step 10, two steps after its last checkpoint (step 8), so the
    // restart must also discard the metrics lines of steps 9 and 10.
    let dir = tempfile::tempdir().unwrap();
    let first_mlp = Mlp::new(1);
    let mut first = trainer(
        dir.path(),
        &first_mlp,
        &optimizer,
        trainer_config(TOTAL, 4, policy.clone()),
    )
    .unwrap();
    let mut losses = run_until(&mut first, &first_mlp, 10);
    drop(first);
    losses.retain(|(step, _)| *step < 8);

    // A fresh process: different initial weights, which the checkpoint must overwrite.
    let second_mlp = Mlp::new(99);
    assert_ne!(second_mlp.bits(), straight_mlp.bits());
    let mut second = trainer(
        dir.path(),
        &second_mlp,
        &optimizer,
        trainer_config(TOTAL, 4, policy),
    )
    .unwrap();
    let manifest = second
        .resume_latest()
        .unwrap()
        .expect("a checkpoint exists");
    assert_eq!((manifest.step, manifest.epoch), (8, 1));
    assert_eq!(
        manifest.loader_state,
        serde_json::json!({ "next_batch": 8 })
    );
    assert_eq!(second.step(), 8);
    losses.extend(run_until(&mut second, &second_mlp, TOTAL));

    assert_eq!(losses.len() as u64, TOTAL);
    assert_eq!(losses, straight_losses, "losses differ after resume");
    assert_eq!(
        second_mlp.bits(),
        straight_mlp.bits(),
        "parameters differ after resume"
    );

    let logged: Vec<u64> = MetricsLog::read_all(&dir.path().join("metrics.jsonl"))
        .unwrap()
        .iter()
        .map(|r| r.step)
        .collect();
    assert_eq!(
        logged,
        (1..=TOTAL).collect::<Vec<_>>(),
        "metrics.jsonl has gaps or duplicates"
    );
    let straight_log = MetricsLog::read_all(&straight_dir.path().join("metrics.jsonl")).unwrap();
    let resumed_log = MetricsLog::read_all(&dir.path().join("metrics.jsonl")).unwrap();
    for (a, b) in straight_log.iter().zip(&resumed_log) {
        assert_eq!(
            (a.step, a.epoch, a.lr, a.loss),
            (b.step, b.epoch, b.lr, b.loss)
        );
        assert_eq!(a.extra, b.extra);
    }
    let kept: Vec<u64> = CheckpointStore::new(dir.path().join("checkpoints"), 2)
        .unwrap()
        .list()
        .unwrap()
        .iter()
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(kept, vec![8, 12], "keep_last = 2");
}

#[test]
fn sgd_nesterov_run_resumed_from_a_checkpoint_is_bit_identical() {
    check_exact_resume(sgd_nesterov());
}

#[test]
fn adamw_run_resumed_from_a_checkpoint_is_bit_identical() {
    check_exact_resume(adamw());
}

#[test]
fn resuming_without_optimizer_state_would_diverge() {
    // Control: the same restart with the momentum buffers reset must differ, otherwise the
    // exact-resume tests could not detect a lost optimizer state.
    let optimizer = sgd_nesterov();
    let policy = NonFinitePolicy::Stop;
    let straight_dir = tempfile::tempdir().unwrap();
    let straight_mlp = Mlp::new(1);
    let mut straight = trainer(
        straight_dir.path(),
        &straight_mlp,
        &optimizer,
        trainer_config(TOTAL, 4, policy.clone()),
    )
    .unwrap();
    run_until(&mut straight, &straight_mlp, TOTAL);

    let dir = tempfile::tempdir().unwrap();
    let first_mlp = Mlp::new(1);
    let mut first = trainer(
        dir.path(),
        &first_mlp,
        &optimizer,
        trainer_config(TOTAL, 4, policy.clone()),
    )
    .unwrap();
    run_until(&mut first, &first_mlp, 8);
    drop(first);

    let mlp = Mlp::new(99);
    let mut second = trainer(
        dir.path(),
        &mlp,
        &optimizer,
        trainer_config(TOTAL, 4, policy),
    )
    .unwrap();
    second
        .resume_latest()
        .unwrap()
        .expect("a checkpoint exists");
    let fresh = optimizer
        .build(second.optimizer().groups().to_vec())
        .unwrap()
        .state()
        .unwrap();
    second.optimizer_mut().load_state(fresh).unwrap();
    run_until(&mut second, &mlp, TOTAL);
    assert_ne!(mlp.bits(), straight_mlp.bits());
}
