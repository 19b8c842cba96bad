//! `fit` end to end with a tiny task: export before evaluation, exact resume, one writer per run
//! folder, fallback to an older checkpoint, stale temporaries, BatchNorm statistics restored on a
//! skipped step, and optimizer-state resets from a hook.

use std::path::Path;
use std::sync::Arc;

use candle_core::{DType, Device, Module, ModuleT, Tensor};
use candle_nn::{linear, Linear, VarBuilder, VarMap};
use train_kit::{
    fit, FitOptions, FitPlan, Hooks, Positioned, RunLock, StepInfo, StepOutput, Task, TaskResult,
    TrainError,
};

use crate::mlp::{batch, Mlp, BATCH, HIDDEN};

const PLAN: &str = r#"
[train]
batch_size = 16
steps = 6
seed = 7
log_every_steps = 1
progress_bar = false
lr_scale = { head = 2.0 }
[optim]
kind = "sgd"
lr = 0.2
momentum = 0.9
weight_decay = 5e-4
[schedule]
warmup_epochs = 1.0
decay = "polynomial"
power = 2.0
[checkpoint]
every_steps = 2
keep_last = 3
"#;

fn plan(sets: &[&str]) -> FitPlan {
    let mut table: toml::Table = toml::from_str(PLAN).unwrap();
    for item in sets {
        train_kit::overrides::apply_set(&mut table, item).unwrap();
    }
    toml::Value::Table(table).try_into().unwrap()
}

/// The MLP of the other tests with a BatchNorm after the hidden layer (so there are buffers),
/// batches that are a pure function of the step, and knobs for faults and a failing evaluation.
struct MlpTask {
    mlp: Mlp,
    hidden: Linear,
    norm: train_kit::conv::BatchNorm,
    nan_at: Vec<u64>,
    fail_evaluation: bool,
    reset_head_at: Option<u64>,
    resets: Vec<usize>,
    exported: Vec<u64>,
}

impl MlpTask {
    fn new() -> Self {
        let mlp = Mlp::new(1);
        let vb = VarBuilder::from_varmap(&mlp.model_vars, DType::F32, &Device::Cpu);
        let hidden = linear(crate::mlp::INPUTS, HIDDEN, vb.pp("fc1")).unwrap();
        let norm =
            train_kit::conv::batch_norm(HIDDEN, candle_nn::BatchNormConfig::default(), vb.pp("bn"))
                .unwrap();
        Self {
            mlp,
            hidden,
            norm,
            nan_at: Vec::new(),
            fail_evaluation: false,
            reset_head_at: None,
            resets: Vec::new(),
            exported: Vec::new(),
        }
    }

    fn head(&self) -> Linear {
        let vb = VarBuilder::from_varmap(&self.mlp.head_vars, DType::F32, &Device::Cpu);
        linear(HIDDEN, crate::mlp::CLASSES, vb.pp("fc")).unwrap()
    }
}

impl Task for MlpTask {
    type Batch = (Tensor, Tensor, u64);

    fn var_sets(&self) -> Vec<(String, VarMap)> {
        vec![
            ("model".into(), self.mlp.model_vars.clone()),
            ("head".into(), self.mlp.head_vars.clone()),
        ]
    }

    fn steps_per_epoch(&self) -> u64 {
        2
    }

    fn batches(
        &mut self,
        resume: &serde_json::Value,
    ) -> TaskResult<train_kit::Batches<Self::Batch>> {
        let start = resume.get("next").and_then(|v| v.as_u64()).unwrap_or(0);
        let nan_at = self.nan_at.clone();
        Ok(Box::new((start..).map(move |step| {
            let (mut x, y) = batch(step);
            if nan_at.contains(&step) {
                x = (x * f64::NAN)?;
            }
            Ok(Positioned {
                batch: (x, y, step),
                resume_from: serde_json::json!({ "next": step + 1 }),
            })
        })))
    }

    fn before_step(&mut self, hooks: &mut Hooks<'_>) -> TaskResult<()> {
        if self.reset_head_at == Some(hooks.info.step) {
            let dropped = hooks.reset_optimizer_state("head")?;
            self.resets.push(dropped);
            hooks.event("reset", dropped as u64);
        }
        Ok(())
    }

    fn forward(&mut self, (x, y, step): &Self::Batch, info: &StepInfo) -> TaskResult<StepOutput> {
        assert_eq!(*step, info.step, "batches arrive in step order");
        let h = self
            .norm
            .forward_t(&self.hidden.forward(x)?, true)?
            .relu()?;
        let loss = candle_nn::loss::cross_entropy(&self.head().forward(&h)?, y)?;
        Ok(StepOutput::new(loss, BATCH))
    }

    fn export(&mut self, _run_dir: &Path, dir: &Path, steps: u64) -> TaskResult<()> {
        std::fs::create_dir_all(dir)?;
        self.mlp.model_vars.save(dir.join("model.safetensors"))?;
        self.exported.push(steps);
        Ok(())
    }

    fn evaluate(&mut self, _run_dir: &Path, model_dir: &Path) -> TaskResult<serde_json::Value> {
        assert!(
            model_dir.join("model.safetensors").is_file(),
            "export runs first"
        );
        if self.fail_evaluation {
            return Err("no target trials in the held-out split".into());
        }
        Ok(serde_json::json!({ "eer": 0.25 }))
    }

    fn report(&self) -> serde_json::Map<String, serde_json::Value> {
        let mut m = serde_json::Map::new();
        m.insert("skipped_items".into(), 0.into());
        m
    }
}

fn options(out: &Path, resume: bool) -> FitOptions {
    FitOptions::new(out, resume, PLAN)
}

fn latest(run: &Path, set: &str) -> Vec<(String, Vec<u32>)> {
    let store = train_kit::CheckpointStore::new(run.join("checkpoints"), 3).unwrap();
    let path = store.latest().unwrap().unwrap();
    let tensors =
        candle_core::safetensors::load(path.join(format!("{set}.safetensors")), &Device::Cpu)
            .unwrap();
    let mut out: Vec<(String, Vec<u32>)> = tensors
        .into_iter()
        .map(|(k, t)| {
            let v: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
            (k, v.iter().map(|x| x.to_bits()).collect())
        })
        .collect();
    out.sort();
    out
}

fn metric_lines(run: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(run.join("metrics.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let mut v: serde_json::Value = serde_json::from_str(l).unwrap();
            v.as_object_mut().unwrap().remove("samples_per_s");
            v
        })
        .collect()
}

#[test]
fn a_run_exports_then_evaluates_and_writes_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut task = MlpTask::new();
    let summary = fit(&plan(&[]), &mut task, &options(dir.path(), false)).unwrap();
    assert_eq!(summary.steps, 6);
    assert_eq!(task.exported, vec![6]);
    assert_eq!(summary.resolved.warmup_steps, 2);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert_eq!(report["steps"], 6);
    assert_eq!(report["heldout"]["eer"], 0.25);
    assert_eq!(report["skipped_items"], 0);
    assert_eq!(report["evaluation_error"], serde_json::Value::Null);
    assert_eq!(metric_lines(dir.path()).len(), 6);
    assert_eq!(
        std::fs::read_to_string(dir.path().join("config.toml")).unwrap(),
        PLAN
    );
    // The lock is released (emptied) at the end of the run.
    assert_eq!(
        std::fs::read_to_string(dir.path().join(".lock")).unwrap(),
        ""
    );
}

#[test]
fn an_interrupted_run_resumed_equals_the_straight_run() {
    let straight = tempfile::tempdir().unwrap();
    fit(
        &plan(&[]),
        &mut MlpTask::new(),
        &options(straight.path(), false),
    )
    .unwrap();
    let split = tempfile::tempdir().unwrap();
    let mut first = options(split.path(), false);
    first.stop_after = Some(3);
    let stopped = fit(&plan(&[]), &mut MlpTask::new(), &first).unwrap();
    assert_eq!((stopped.steps, stopped.evaluation.is_none()), (3, true));
    assert!(
        !split.path().join("model").exists(),
        "an interrupted run exports nothing"
    );
    let resumed = fit(
        &plan(&[]),
        &mut MlpTask::new(),
        &options(split.path(), true),
    )
    .unwrap();
    assert_eq!((resumed.steps, resumed.resumed_from), (6, Some(3)));
    for set in ["model", "head"] {
        assert_eq!(
            latest(straight.path(), set),
            latest(split.path(), set),
            "{set}"
        );
    }
    assert_eq!(metric_lines(straight.path()), metric_lines(split.path()));
}

#[test]
fn a_failing_evaluation_keeps_the_checkpoint_the_model_and_the_report() {
    let dir = tempfile::tempdir().unwrap();
    let mut task = MlpTask::new();
    task.fail_evaluation = true;
    let e = fit(
        &plan(&["checkpoint.every_steps=0"]),
        &mut task,
        &options(dir.path(), false),
    )
    .unwrap_err()
    .to_string();
    assert!(e.contains("no target trials in the held-out split"), "{e}");
    assert!(e.contains("the trained model is in"), "{e}");
    assert!(dir.path().join("model/model.safetensors").is_file());
    let store = train_kit::CheckpointStore::new(dir.path().join("checkpoints"), 3).unwrap();
    let steps: Vec<u64> = store.list().unwrap().into_iter().map(|(s, _)| s).collect();
    assert_eq!(
        steps,
        vec![6],
        "every_steps = 0 still writes the final checkpoint"
    );
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("report.json")).unwrap())
            .unwrap();
    assert!(report["evaluation_error"]
        .as_str()
        .unwrap()
        .contains("no target trials"));
}

#[test]
fn a_live_run_folder_is_refused_and_a_dead_runs_lock_is_taken_over() {
    let dir = tempfile::tempdir().unwrap();
    let (held, _) = RunLock::acquire(dir.path()).unwrap();
    let e = fit(&plan(&[]), &mut MlpTask::new(), &options(dir.path(), false)).unwrap_err();
    assert!(matches!(e, TrainError::RunInUse { .. }), "{e}");
    assert!(
        e.to_string()
            .contains(&format!("process {}", std::process::id())),
        "{e}"
    );
    drop(held);
    // A lock file naming a process that is gone (no one holds the lock) is taken over.
    std::fs::write(dir.path().join(".lock"), "4194000 on elsewhere\n").unwrap();
    fit(&plan(&[]), &mut MlpTask::new(), &options(dir.path(), false)).unwrap();
}

#[test]
fn reuse_without_resume_and_resume_without_checkpoint_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let e = fit(&plan(&[]), &mut MlpTask::new(), &options(dir.path(), true))
        .unwrap_err()
        .to_string();
    assert!(e.contains("no checkpoint to continue from"), "{e}");
    fit(&plan(&[]), &mut MlpTask::new(), &options(dir.path(), false)).unwrap();
    let e = fit(&plan(&[]), &mut MlpTask::new(), &options(dir.path(), false))
        .unwrap_err()
        .to_string();
    assert!(e.contains("pass --resume"), "{e}");
}

#[test]
fn a_damaged_newest_checkpoint_falls_back_to_the_one_before() {
    let straight = tempfile::tempdir().unwrap();
    fit(
        &plan(&[]),
        &mut MlpTask::new(),
        &options(straight.path(), false),
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut first = options(dir.path(), false);
    first.stop_after = Some(5);
    fit(&plan(&[]), &mut MlpTask::new(), &first).unwrap();
    let store = train_kit::CheckpointStore::new(dir.path().join("checkpoints"), 3).unwrap();
    let newest = store.latest().unwrap().unwrap();
    assert!(newest.ends_with("step-00000005"));
    std::fs::write(newest.join("model.safetensors"), b"not safetensors").unwrap();
    // A temporary folder of a killed writer is cleaned up at start.
    std::fs::create_dir_all(dir.path().join("checkpoints/.tmp-step-00000006-999999")).unwrap();
    let resumed = fit(&plan(&[]), &mut MlpTask::new(), &options(dir.path(), true)).unwrap();
    assert_eq!(resumed.resumed_from, Some(4));
    assert!(!dir
        .path()
        .join("checkpoints/.tmp-step-00000006-999999")
        .exists());
    for set in ["model", "head"] {
        assert_eq!(
            latest(straight.path(), set),
            latest(dir.path(), set),
            "{set}"
        );
    }
}

#[test]
fn a_skipped_step_restores_batchnorm_statistics() {
    // Reference: the state after step 1 of a clean run.
    let clean = tempfile::tempdir().unwrap();
    let mut stop = options(clean.path(), false);
    stop.stop_after = Some(1);
    fit(&plan(&[]), &mut MlpTask::new(), &stop).unwrap();
    // A run whose step 1 has a NaN batch: the guard skips it and must leave no trace.
    let faulty = tempfile::tempdir().unwrap();
    let mut task = MlpTask::new();
    task.nan_at = vec![1];
    let mut stop = options(faulty.path(), false);
    stop.stop_after = Some(2);
    let summary = fit(&plan(&[]), &mut task, &stop).unwrap();
    assert_eq!(summary.skipped_steps, 1);
    let buffers = |run: &Path| -> Vec<(String, Vec<u32>)> {
        latest(run, "model")
            .into_iter()
            .filter(|(k, _)| train_kit::is_buffer(k))
            .collect()
    };
    let (a, b) = (buffers(clean.path()), buffers(faulty.path()));
    assert_eq!(a.len(), 2, "running_mean and running_var");
    assert_eq!(a, b, "BatchNorm statistics after a skipped step");
}

#[test]
fn a_hook_resets_the_optimizer_state_of_one_set() {
    let dir = tempfile::tempdir().unwrap();
    let mut task = MlpTask::new();
    task.reset_head_at = Some(3);
    fit(&plan(&[]), &mut task, &options(dir.path(), false)).unwrap();
    // The head has fc.weight and fc.bias, each with one momentum buffer.
    assert_eq!(task.resets, vec![2]);
    let lines = metric_lines(dir.path());
    assert_eq!(
        lines[3]["reset"], 2,
        "the event lands on the step's metrics line"
    );
}

/// Two ranks in one process: a barrier and a shared buffer stand in for an engine.
struct Threads {
    rank: usize,
    shared: Arc<(std::sync::Mutex<Vec<f32>>, std::sync::Barrier)>,
}

impl train_kit::Collective for Threads {
    fn rank(&self) -> usize {
        self.rank
    }
    fn world_size(&self) -> usize {
        2
    }
    fn all_reduce_sum(&self, buf: &mut [f32]) -> train_kit::Result<()> {
        let (sum, barrier) = &*self.shared;
        if self.rank == 0 {
            *sum.lock().unwrap() = vec![0.0; buf.len()];
        }
        barrier.wait();
        sum.lock()
            .unwrap()
            .iter_mut()
            .zip(buf.iter())
            .for_each(|(s, b)| *s += b);
        barrier.wait();
        buf.copy_from_slice(&sum.lock().unwrap());
        barrier.wait();
        Ok(())
    }
    fn barrier(&self) -> train_kit::Result<()> {
        self.shared.1.wait();
        Ok(())
    }
}

#[test]
fn gradients_are_averaged_over_ranks() {
    let shared = Arc::new((
        std::sync::Mutex::new(Vec::new()),
        std::sync::Barrier::new(2),
    ));
    let results: Vec<Vec<f32>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..2)
            .map(|rank| {
                let shared = Arc::clone(&shared);
                scope.spawn(move || {
                    let vars = VarMap::new();
                    let w = VarBuilder::from_varmap(&vars, DType::F32, &Device::Cpu)
                        .get_with_hints(3, "w", candle_nn::Init::Const(1.0))
                        .unwrap();
                    let x = Tensor::new(&[1f32, 2.0, 3.0], &Device::Cpu).unwrap();
                    // Rank r's loss is (r + 1)·w·x, so its gradient is (r + 1)·x.
                    let loss =
                        ((&w * &x).unwrap().sum_all().unwrap() * (rank as f64 + 1.0)).unwrap();
                    let mut grads = loss.backward().unwrap();
                    let named = train_kit::optim::named_vars(&[("model", &vars)]);
                    let params: Vec<&train_kit::optim::NamedVar> = named.iter().collect();
                    let collective = Threads { rank, shared };
                    train_kit::collective::sync_gradients(&collective, &mut grads, &params)
                        .unwrap();
                    grads
                        .get(named[0].var.as_tensor())
                        .unwrap()
                        .to_vec1::<f32>()
                        .unwrap()
                })
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });
    for r in results {
        assert_eq!(r, vec![1.5, 3.0, 4.5], "mean of x and 2x");
    }
}
