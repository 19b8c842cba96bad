//! Whole train steps of wespeaker ResNet34 (fbank `[64, 200 frames, 80]`, seen as
//! `[64, 1, 80, 200]`) with candle's ops and with train-kit's fast layers, interleaved on the
//! same model: train-mode forward, alpha-loss's margin head (1000 classes, `softmax` = s·cos
//! cross-entropy unless `--loss` names another), backward, and an SGD-momentum update of every
//! variable.
//!
//! `cargo bench -p speaker-app --bench train_step -- [flags]`, flags as
//! [`train_kit::step_bench::StepBenchOptions::USAGE`]; `--model NAME` takes any
//! `speaker_app::models::REGISTRY` preset. On `--device cuda` (a build with `--features cuda`) it
//! times one implementation and prints utterances/second. `just bench-conv` runs it with
//! RAYON_NUM_THREADS=2; PyTorch's twin is `train-kit/benches/train_step_torch.py`.

#![allow(clippy::print_stdout, missing_docs)]

use alpha_loss::{LossConfig, LossKind, MarginHead};
use candle_core::{DType, ModuleT, Result, Tensor};
use candle_nn::{VarBuilder, VarMap};
use speaker_app::models::{SpeakerModel, REGISTRY};
use train_kit::optim::{single_group, Optimizer, Sgd, SgdConfig};
use train_kit::step_bench::{format_table, time_steps, PhaseTimer, StepBenchOptions};

const BATCH: usize = 64;
const FRAMES: usize = 200;
const MELS: usize = 80;

fn msg(e: impl std::fmt::Display) -> candle_core::Error {
    candle_core::Error::Msg(e.to_string())
}

fn main() -> Result<()> {
    train_kit::alloc::tune_glibc_malloc();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let opts = StepBenchOptions::parse(&args)?;
    let name = opts.model.as_deref().unwrap_or("resnet34");
    let cfg = REGISTRY.from_spec(name).map_err(msg)?;
    if cfg["feat_dim"] != MELS {
        candle_core::bail!(
            "{name} takes {} mel bins, this bench feeds {MELS}",
            cfg["feat_dim"]
        );
    }
    let batch = opts.batch.unwrap_or(BATCH);
    let loss: LossKind = opts.loss.parse()?;
    let dev = opts.open_device()?;

    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let model = SpeakerModel::new(&cfg, vb.pp("backbone"))?;
    let head = MarginHead::new(
        LossConfig::new(loss).margin()?,
        opts.classes,
        app_kit::Backbone::embedding_dim(&model),
        vb.pp("head"),
    )?;
    let sgd = SgdConfig {
        lr: 1e-3,
        ..SgdConfig::arcface()
    };
    let mut optimizer = Sgd::new(single_group(&[("model", &varmap)]), sgd).map_err(msg)?;
    let x = Tensor::randn(0f32, 1.0, (batch, FRAMES, MELS), &dev)?;
    let labels: Vec<u32> = (0..batch).map(|i| (i % opts.classes) as u32).collect();
    let labels = Tensor::from_vec(labels, batch, &dev)?;

    let kinds = opts.implementations(&dev);
    println!(
        "\n{name} train step on {dev:?}, [{batch}, 1, {MELS}, {FRAMES}], {} classes, loss {loss}, \
         SGD momentum; threads: {} (RAYON_NUM_THREADS); 1 warm-up + {} timed steps each, interleaved",
        opts.classes,
        rayon::current_num_threads(),
        opts.reps
    );
    let timings = time_steps(&kinds, opts.reps, || {
        let mut timer = PhaseTimer::start(&dev)?;
        let emb = model.forward_t(&x, true)?;
        timer.forward_done()?;
        let out = head.forward(&emb, &labels)?;
        let grads = out.loss.backward()?;
        timer.backward_done()?;
        optimizer.step(&grads).map_err(msg)?;
        let phases = timer.update_done()?;
        if !out.telemetry.mean_loss.is_finite() {
            candle_core::bail!("the loss is not finite");
        }
        Ok(phases)
    })?;
    print!("{}", format_table(&timings, batch, "utterances"));
    Ok(())
}
