//! Whole train steps of wespeaker ResNet34 (fbank `[64, 200 frames, 80]`, seen as
//! `[64, 1, 80, 200]`) with candle's ops and with train-kit's fast layers, interleaved on the
//! same model: train-mode forward, a 1000-class cosine head with cross-entropy, backward, and an
//! SGD-momentum update of every variable.
//!
//! `cargo bench -p speaker-app --bench train_step` (after `--`: `--quick` for 1 timed step
//! each, `--reps N`, `--fast-only`, `--model NAME` for another `SpeakerModelConfig::by_name`
//! preset). Prints ms/step for each as the median of the timed steps, split into forward,
//! loss + backward and optimizer, and the ratio. `just bench-conv` runs it with
//! RAYON_NUM_THREADS=2; PyTorch's twin is `train-kit/benches/train_step_torch.py`.

#![allow(clippy::print_stdout, missing_docs)]

use std::time::Instant;

use candle_core::{DType, Device, Result, Tensor, D};
use candle_nn::{VarBuilder, VarMap};
use speaker_app::models::{SpeakerModel, SpeakerModelConfig};
use train_kit::conv::{set_implementation, Implementation};
use train_kit::optim::{single_group, Optimizer, Sgd, SgdConfig};

const BATCH: usize = 64;
const FRAMES: usize = 200;
const MELS: usize = 80;
const CLASSES: usize = 1000;
const SCALE: f64 = 64.0;

/// Milliseconds of each phase of one step.
#[derive(Debug, Clone, Copy, Default)]
struct Phases {
    forward: f64,
    backward: f64,
    update: f64,
}

impl Phases {
    fn total(&self) -> f64 {
        self.forward + self.backward + self.update
    }
}

struct Setup {
    model: SpeakerModel,
    head: Tensor,
    optimizer: Sgd,
    x: Tensor,
    labels: Tensor,
}

fn ms(start: Instant) -> f64 {
    start.elapsed().as_secs_f64() * 1e3
}

fn step(s: &mut Setup) -> Result<Phases> {
    let start = Instant::now();
    let emb = s.model.forward_t(&s.x, true)?;
    let forward = ms(start);

    let start = Instant::now();
    let emb = emb.broadcast_div(&emb.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?)?;
    let w = s
        .head
        .broadcast_div(&s.head.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?)?;
    let logits = (emb.matmul(&w.t()?)? * SCALE)?;
    let loss = candle_nn::loss::cross_entropy(&logits, &s.labels)?;
    let grads = loss.backward()?;
    let backward = ms(start);

    let start = Instant::now();
    s.optimizer
        .step(&grads)
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let update = ms(start);
    if !loss.to_scalar::<f32>()?.is_finite() {
        candle_core::bail!("the loss is not finite");
    }
    Ok(Phases {
        forward,
        backward,
        update,
    })
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

fn median_phases(v: &[Phases]) -> Phases {
    Phases {
        forward: median(v.iter().map(|p| p.forward).collect()),
        backward: median(v.iter().map(|p| p.backward).collect()),
        update: median(v.iter().map(|p| p.update).collect()),
    }
}

fn main() -> Result<()> {
    train_kit::alloc::tune_glibc_malloc();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg_after = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
    };
    let quick = args.iter().any(|a| a == "--quick");
    let fast_only = args.iter().any(|a| a == "--fast-only");
    let reps: usize = match arg_after("--reps") {
        Some(n) => n
            .parse()
            .map_err(|_| candle_core::Error::Msg(format!("--reps {n}")))?,
        None if quick => 1,
        None => 3,
    };
    let name = arg_after("--model").map_or("resnet34", String::as_str);
    let cfg =
        SpeakerModelConfig::by_name(name).map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    if cfg.feat_dim() != MELS {
        candle_core::bail!(
            "{name} takes {} mel bins, this bench feeds {MELS}",
            cfg.feat_dim()
        );
    }

    let dev = Device::Cpu;
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &dev);
    let model = SpeakerModel::new(&cfg, vb.pp("backbone"))?;
    let head = vb.get_with_hints(
        (CLASSES, cfg.embedding_dim()),
        "head",
        candle_nn::init::DEFAULT_KAIMING_NORMAL,
    )?;
    let sgd = SgdConfig {
        lr: 1e-3,
        ..SgdConfig::arcface()
    };
    let optimizer = Sgd::new(single_group(&[("model", &varmap)]), sgd)
        .map_err(|e| candle_core::Error::Msg(e.to_string()))?;
    let x = Tensor::randn(0f32, 1.0, (BATCH, FRAMES, MELS), &dev)?;
    let labels = Tensor::arange(0u32, BATCH as u32, &dev)?;
    let mut setup = Setup {
        model,
        head,
        optimizer,
        x,
        labels,
    };

    println!(
        "\n{name} train step, [{BATCH}, 1, {MELS}, {FRAMES}], {CLASSES}-class cosine head + CE, SGD momentum; \
         threads: {} (RAYON_NUM_THREADS); 1 warm-up + {reps} timed steps each, interleaved",
        rayon::current_num_threads()
    );
    let kinds: &[Implementation] = if fast_only {
        &[Implementation::Fast]
    } else {
        &[Implementation::Candle, Implementation::Fast]
    };
    let mut samples: Vec<Vec<Phases>> = vec![Vec::new(); kinds.len()];
    for rep in 0..=reps {
        for (kind, out) in kinds.iter().zip(samples.iter_mut()) {
            set_implementation(*kind);
            let p = step(&mut setup)?;
            if rep > 0 {
                out.push(p);
            }
        }
    }
    set_implementation(Implementation::Fast);
    println!(
        "{:<10} {:>10} {:>10} {:>12} {:>10}",
        "ops", "step ms", "forward", "loss+backward", "update"
    );
    let medians: Vec<(Implementation, Phases, f64)> = kinds
        .iter()
        .zip(&samples)
        .map(|(k, s)| {
            let total = median(s.iter().map(Phases::total).collect());
            (*k, median_phases(s), total)
        })
        .collect();
    for (kind, p, total) in &medians {
        let label = match kind {
            Implementation::Candle => "candle",
            Implementation::Fast => "ours",
        };
        println!(
            "{label:<10} {total:>10.0} {:>10.0} {:>12.0} {:>10.0}",
            p.forward, p.backward, p.update
        );
    }
    if let [(_, _, candle), (_, _, ours)] = medians[..] {
        println!("speedup (candle / ours): {:.2}x", candle / ours);
    }
    Ok(())
}
