//! `speaker_app::models`: full-size parameter counts, output shapes, configs, input errors and
//! gradient flow.
//!
//! The parameter counts are those `tests/fixtures/models/make_speaker_parity.py` prints for its
//! PyTorch definitions of the full models (`params.json`; `sum(p.numel() for p in
//! model.parameters())`, i.e. without BatchNorm running statistics), and agree with wespeaker's
//! README (ResNet34 6.63M, ECAPA c512 6.19M, c1024 14.65M).

use anyhow::Result;
use app_kit::Backbone;
use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{VarBuilder, VarMap};
use speaker_app::models::{tagged, EcapaConfig, ResNetConfig, SpeakerModel, MODEL_NAMES, REGISTRY};
use train_kit::{trainable_parameter_count, trainable_vars};

fn build(cfg: &serde_json::Value) -> Result<(SpeakerModel, VarMap)> {
    let varmap = VarMap::new();
    let model = SpeakerModel::new(
        cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )?;
    Ok((model, varmap))
}

fn feats(b: usize, t: usize, f: usize) -> Result<Tensor> {
    Ok(Tensor::randn(0f32, 1.0, (b, t, f), &Device::Cpu)?)
}

/// Reads `params.json`, the counts the reference script printed.
fn reference_count(name: &str) -> usize {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/models/params.json");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json[name].as_u64().unwrap() as usize
}

#[test]
fn resnet34_has_wespeaker_parameter_count_and_shape() -> Result<()> {
    // make_speaker_parity.py: "resnet34": 6634336 (wespeaker README: 6.63M).
    let (model, varmap) = build(&REGISTRY.from_spec("resnet34")?)?;
    assert_eq!(trainable_parameter_count(&varmap), 6_634_336);
    assert_eq!(reference_count("resnet34"), 6_634_336);
    let out = model.forward_t(&feats(2, 64, 80)?, false)?;
    assert_eq!(out.dims(), &[2, 256]);
    assert_eq!(model.embedding_dim(), 256);
    assert_eq!((model.feat_dim(), model.min_frames()), (80, 9));
    Ok(())
}

#[test]
fn ecapa_parameter_counts_match_the_reference() -> Result<()> {
    // make_speaker_parity.py: "ecapa_c512": 6190720, "ecapa_c1024": 14657088
    // (wespeaker README: 6.19M and 14.65M).
    let (model, varmap) = build(&REGISTRY.from_spec("ecapa-c512")?)?;
    assert_eq!(trainable_parameter_count(&varmap), 6_190_720);
    assert_eq!(reference_count("ecapa_c512"), 6_190_720);
    let out = model.forward_t(&feats(2, 40, 80)?, false)?;
    assert_eq!(out.dims(), &[2, 192]);

    let (_, varmap) = build(&REGISTRY.from_spec("ecapa-c1024")?)?;
    assert_eq!(trainable_parameter_count(&varmap), 14_657_088);
    assert_eq!(reference_count("ecapa_c1024"), 14_657_088);
    Ok(())
}

#[test]
fn wespeaker_state_dict_names() -> Result<()> {
    let (_, varmap) = build(&REGISTRY.from_spec("resnet34")?)?;
    let names: Vec<String> = varmap.data().lock().unwrap().keys().cloned().collect();
    for want in [
        "conv1.weight",
        "bn1.running_var",
        "layer1.2.conv2.weight",
        "layer2.0.shortcut.0.weight",
        "layer4.0.shortcut.1.bias",
        "layer3.5.bn2.weight",
        "seg_1.weight",
        "seg_1.bias",
    ] {
        assert!(names.iter().any(|n| n == want), "missing {want}");
    }
    assert!(!names.iter().any(|n| n.starts_with("layer1.0.shortcut")));
    // 36 convs + 36 BNs × 4 + seg_1 × 2 (no num_batches_tracked, no projection head).
    assert_eq!(names.len(), 36 + 36 * 4 + 2);

    let (_, varmap) = build(&REGISTRY.from_spec("ecapa-c512")?)?;
    let data = varmap.data().lock().unwrap();
    for (want, shape) in [
        ("layer1.conv.weight", vec![512, 80, 5]),
        ("layer2.se_res2block.1.convs.6.weight", vec![64, 64, 3]),
        ("layer4.se_res2block.3.linear1.weight", vec![128, 512]),
        ("conv.weight", vec![1536, 1536, 1]),
        ("pool.linear1.weight", vec![128, 4608, 1]),
        ("pool.linear2.bias", vec![1536]),
        ("bn.running_mean", vec![3072]),
        ("linear.weight", vec![192, 3072]),
    ] {
        let var = data.get(want).unwrap_or_else(|| panic!("missing {want}"));
        assert_eq!(var.dims(), &shape[..], "{want}");
    }
    assert!(!data.contains_key("bn2.weight"));
    Ok(())
}

#[test]
fn configs_serialize_with_an_arch_tag_and_presets_resolve() -> Result<()> {
    let cfg = REGISTRY.from_spec("small").unwrap();
    assert_eq!(
        cfg,
        serde_json::json!({"arch": "resnet", "num_blocks": [1, 1, 1, 1], "m_channels": 8,
                           "feat_dim": 80, "embed_dim": 128})
    );
    REGISTRY.check(&cfg)?;
    let ecapa = tagged("ecapa", &EcapaConfig::c1024());
    assert_eq!(ecapa["arch"], "ecapa");
    assert_eq!(ecapa["channels"], 1024);
    assert_eq!(ecapa, REGISTRY.from_spec("ecapa-c1024")?);
    let typo = serde_json::json!({"arch": "resnet", "num_blocks": [1, 1, 1, 1], "m_channel": 8,
                                  "feat_dim": 80, "embed_dim": 128});
    let err = REGISTRY.check(&typo).unwrap_err().to_string();
    assert!(err.contains("m_channel"), "{err}");

    assert_eq!(
        REGISTRY.preset_names(),
        MODEL_NAMES
            .map(|n| n)
            .to_vec()
            .iter()
            .copied()
            .filter(|n| *n != "ecapa-c512" && *n != "ecapa-c1024")
            .chain(["ecapa-c512", "ecapa-c1024"])
            .collect::<Vec<_>>()
    );
    for name in MODEL_NAMES {
        assert_eq!(REGISTRY.from_spec(name)?["feat_dim"], 80, "{name}");
    }
    assert_eq!(REGISTRY.from_spec("resnet34")?["embed_dim"], 256);
    assert_eq!(REGISTRY.from_spec("ecapa_c512")?["embed_dim"], 192);
    assert_eq!(REGISTRY.from_spec("small")?["embed_dim"], 128);
    let err = REGISTRY.from_spec("resnet35").unwrap_err();
    assert!(format!("{err}").contains("resnet34"), "{err}");
    Ok(())
}

#[test]
fn bad_inputs_are_errors() -> Result<()> {
    for cfg in [REGISTRY.from_spec("small").unwrap(), ecapa_mini()] {
        let (model, _) = build(&cfg)?;
        let arch = cfg["arch"].as_str().unwrap().to_string();
        assert!(model.forward_t(&feats(2, 20, 80)?, true).is_ok());
        let cases = [
            (feats(2, 20, 40)?, false, "(B, T, 80)"),
            (
                Tensor::zeros((20, 80), DType::F32, &Device::Cpu)?,
                false,
                "(B, T, 80)",
            ),
            (feats(1, 20, 80)?, true, "at least 2"),
            (feats(2, 1, 80)?, false, "T >="),
            (
                feats(2, 20, 80)?.to_dtype(DType::F64)?,
                false,
                "expected f32 features",
            ),
        ];
        for (x, train, want) in cases {
            let err = model.forward_t(&x, train).expect_err("bad input");
            let msg = err.to_string();
            assert!(msg.contains(want) && msg.contains(&arch), "{msg}");
        }
    }
    let bad = tagged(
        "resnet",
        &ResNetConfig {
            feat_dim: 60,
            ..ResNetConfig::small()
        },
    );
    assert!(build(&bad).is_err());
    Ok(())
}

/// A tiny ECAPA for fast CPU tests.
fn ecapa_mini() -> serde_json::Value {
    tagged(
        "ecapa",
        &EcapaConfig {
            channels: 16,
            embed_dim: 8,
            pool_channels: 24,
            attention_dim: 8,
            se_bottleneck: 8,
            ..EcapaConfig::c512()
        },
    )
}

#[test]
fn every_trainable_variable_gets_a_gradient() -> Result<()> {
    for cfg in [REGISTRY.from_spec("small").unwrap(), ecapa_mini()] {
        let (model, varmap) = build(&cfg)?;
        let x = feats(4, 24, 80)?;
        let emb = model.forward_t(&x, true)?;
        assert_eq!(emb.dims(), &[4, model.embedding_dim()]);
        let loss = emb.sqr()?.sum_all()?;
        let grads = loss.backward()?;
        let vars = trainable_vars(&varmap);
        assert_eq!(
            vars.iter().map(|v| v.elem_count()).sum::<usize>(),
            trainable_parameter_count(&varmap)
        );
        for v in &vars {
            let g = grads
                .get(v.as_tensor())
                .expect("a gradient for every trainable variable");
            let norm = g.sqr()?.sum_all()?.to_scalar::<f32>()?;
            assert!(
                norm.is_finite() && norm > 0.0,
                "{cfg:?}: zero or non-finite gradient"
            );
        }
    }
    Ok(())
}

/// Timing of one small-model training step at the demo size (batch 32 × 200 frames); run with
/// `cargo test -p speaker-app --test it models_arch::small_train_step_time -- --ignored --nocapture`.
#[test]
#[ignore = "timing only"]
fn small_train_step_time() -> Result<()> {
    let (model, varmap) = build(&REGISTRY.from_spec("small").unwrap())?;
    eprintln!("small: {} parameters", trainable_parameter_count(&varmap));
    let x = feats(32, 200, 80)?;
    for i in 0..4 {
        let start = std::time::Instant::now();
        let loss = model.forward_t(&x, true)?.sqr()?.mean_all()?;
        let _grads = loss.backward()?;
        eprintln!("step {i}: {:.3} s", start.elapsed().as_secs_f64());
    }
    Ok(())
}
