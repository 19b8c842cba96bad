//! Timing only (ignored by default, never asserted): an IResNet-50 train step (stem, the 24
//! `IBasicBlock`s of `[3, 4, 14, 3]`, `bn2`, `fc` to 512, a 1000-class cosine head with
//! cross-entropy, backward, plain SGD) at 112×112 batch 32, with candle's ops and with the fast
//! layers on the same weights, switched by `train_kit::conv::set_implementation`. The full
//! benchmark with face-app's model is `cargo bench -p face-app --bench train_step`.
//!
//! `RAYON_NUM_THREADS=2 cargo test -p train-kit --test conv_iresnet50_step -- --ignored --nocapture`

mod conv_common;

use std::time::Instant;

use candle_core::{DType, Device, Module, ModuleT, Result, Tensor, D};
use candle_nn::{Conv2dConfig, VarBuilder, VarMap};
use conv_common::block::{ConvKind, IResNetBlock};
use train_kit::conv::{self, Implementation};

#[test]
#[ignore = "timing: run with --ignored --nocapture"]
fn iresnet50_train_step_candle_vs_fast() -> Result<()> {
    train_kit::alloc::tune_glibc_malloc();
    let dev = Device::Cpu;
    let map = VarMap::new();
    let vb = VarBuilder::from_varmap(&map, DType::F32, &dev);
    let cfg = Conv2dConfig {
        padding: 1,
        ..Default::default()
    };
    let stem = conv::conv2d_no_bias(3, 64, 3, cfg, vb.pp("conv1"))?;
    let bn1 = conv::batch_norm(64, 1e-5, vb.pp("bn1"))?;
    let prelu = conv::prelu(Some(64), vb.pp("prelu"))?;
    let mut blocks = Vec::new();
    let mut c_in = 64;
    for (s, (&n, &c)) in [3usize, 4, 14, 3]
        .iter()
        .zip(&[64, 128, 256, 512])
        .enumerate()
    {
        for i in 0..n {
            let stride = if i == 0 { 2 } else { 1 };
            let name = format!("layer{}.{i}", s + 1);
            blocks.push(IResNetBlock::new(
                c_in,
                c,
                stride,
                ConvKind::Fast,
                vb.pp(name),
            )?);
            c_in = c;
        }
    }
    let bn2 = conv::batch_norm(512, 1e-5, vb.pp("bn2"))?;
    let fc = candle_nn::linear(512 * 49, 512, vb.pp("fc"))?;
    let head = vb.get_with_hints((1000, 512), "head", candle_nn::init::DEFAULT_KAIMING_NORMAL)?;
    let x = Tensor::randn(0f32, 0.5, (32, 3, 112, 112), &dev)?;
    let labels = Tensor::arange(0u32, 32, &dev)?;
    let vars = map.all_vars();

    let step = || -> Result<[f64; 3]> {
        let t0 = Instant::now();
        let mut h = prelu.forward(&bn1.forward_t(&stem.forward(&x)?, true)?)?;
        for b in &blocks {
            h = b.forward_t(&h, true)?;
        }
        let emb = fc.forward(&bn2.forward_t(&h, true)?.flatten_from(1)?)?;
        let t1 = Instant::now();
        let emb = emb.broadcast_div(&emb.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?)?;
        let w = head.broadcast_div(&head.sqr()?.sum_keepdim(D::Minus1)?.sqrt()?)?;
        let logits = (emb.matmul(&w.t()?)? * 64.0)?;
        let grads = candle_nn::loss::cross_entropy(&logits, &labels)?.backward()?;
        let t2 = Instant::now();
        for v in &vars {
            if let Some(g) = grads.get(v) {
                v.set(&(v.as_tensor() - (g * 1e-3)?)?)?;
            }
        }
        let ms = |a: Instant, b: Instant| (b - a).as_secs_f64() * 1e3;
        Ok([ms(t0, t1), ms(t1, t2), ms(t2, Instant::now())])
    };
    let reps: usize = std::env::var("STEP_REPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    conv::set_implementation(Implementation::Fast);
    step()?; // warm-up
    for rep in 0..reps {
        for kind in [Implementation::Candle, Implementation::Fast] {
            conv::set_implementation(kind);
            let [f, b, u] = step()?;
            println!(
                "rep {rep} {kind:?}: step {:.0} ms (forward {f:.0}, loss+backward {b:.0}, update {u:.0})",
                f + b + u
            );
        }
    }
    conv::set_implementation(Implementation::Fast);
    Ok(())
}
