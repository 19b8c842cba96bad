//! `speaker_app::embed`: int16-scale audio loading, batch-1 and batched embeddings agree, and the
//! errors for short utterances and mismatched frontends.

use candle_core::{DType, Device, ModuleT, Tensor};
use candle_nn::{VarBuilder, VarMap};
use speaker_app::embed::{
    embed_equal_length, embed_file, embed_files, embed_waveform, eval_fbank, load_audio,
};
use speaker_app::fbank::{Fbank, FbankConfig};
use speaker_app::models::{SpeakerModel, REGISTRY};

use crate::embed_cli::{max_abs_diff, write_wav};

fn small_model() -> SpeakerModel {
    let cfg = REGISTRY.from_spec("small").unwrap();
    let varmap = VarMap::new();
    SpeakerModel::new(
        &cfg,
        VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu),
    )
    .unwrap()
}

fn tone(n: usize, hz: f64, amp: f64) -> Vec<f32> {
    (0..n)
        .map(|i| (amp * (2.0 * std::f64::consts::PI * hz * i as f64 / 16_000.0).sin()) as f32)
        .collect()
}

#[test]
fn load_audio_returns_int16_scale_samples() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("x.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for v in [0i16, 1, -1, 12345, -32768, 32767] {
        w.write_sample(v).unwrap();
    }
    w.finalize().unwrap();
    let samples = load_audio(&path).unwrap();
    assert_eq!(samples, [0.0, 1.0, -1.0, 12345.0, -32768.0, 32767.0]);
}

#[test]
fn embed_waveform_matches_fbank_then_forward_and_file_path() {
    let model = small_model();
    let fbank = eval_fbank(&model).unwrap();
    let samples = tone(16_000, 220.0, 8000.0);
    let got = embed_waveform(&model, &fbank, &samples, &Device::Cpu).unwrap();
    assert_eq!(got.len(), 128);
    // Independent path: fbank features with CMN, one (1, T, 80) batch through the model.
    let feats = Fbank::new(FbankConfig::wespeaker())
        .unwrap()
        .compute(&samples)
        .unwrap();
    assert_eq!(feats.frames, 98);
    let x = Tensor::from_vec(feats.data, (1, 98, 80), &Device::Cpu).unwrap();
    let want = model
        .forward_t(&x, false)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1::<f32>()
        .unwrap();
    assert!(max_abs_diff(&got, &want) < 1e-6);

    // Through a file: the WAV holds the same samples rounded to int16.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16_000,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(&path, spec).unwrap();
    for x in &samples {
        w.write_sample(x.round() as i16).unwrap();
    }
    w.finalize().unwrap();
    let from_file = embed_file(&model, &fbank, &path, &Device::Cpu).unwrap();
    let rounded: Vec<f32> = samples.iter().map(|x| x.round()).collect();
    let direct = embed_waveform(&model, &fbank, &rounded, &Device::Cpu).unwrap();
    assert!(max_abs_diff(&from_file, &direct) < 1e-6);
}

#[test]
fn batched_embeddings_equal_batch_one() {
    let model = small_model();
    let fbank = eval_fbank(&model).unwrap();
    let a = tone(12_000, 180.0, 6000.0);
    let b = tone(12_000, 410.0, 9000.0);
    let batch = embed_equal_length(&model, &fbank, &[&a, &b], &Device::Cpu).unwrap();
    let ea = embed_waveform(&model, &fbank, &a, &Device::Cpu).unwrap();
    let eb = embed_waveform(&model, &fbank, &b, &Device::Cpu).unwrap();
    assert!(max_abs_diff(&batch[0], &ea) < 1e-4);
    assert!(max_abs_diff(&batch[1], &eb) < 1e-4);
    assert!(max_abs_diff(&ea, &eb) > 1e-3);
    let err = embed_equal_length(&model, &fbank, &[&a, &b[..11_000]], &Device::Cpu).unwrap_err();
    assert!(
        format!("{err:#}").contains("waveform 1 has 11000 samples"),
        "{err:#}"
    );
}

#[test]
fn short_utterances_and_wrong_frontends_are_errors() {
    let model = small_model();
    let fbank = eval_fbank(&model).unwrap();
    // The small ResNet needs 9 frames: 400 + 8 * 160 = 1680 samples.
    let ok = embed_waveform(&model, &fbank, &tone(1680, 300.0, 5000.0), &Device::Cpu);
    assert!(ok.is_ok(), "{:?}", ok.err());
    let err = embed_waveform(&model, &fbank, &tone(1679, 300.0, 5000.0), &Device::Cpu).unwrap_err();
    assert!(format!("{err}").contains("at least 1680"), "{err}");

    let dithered = Fbank::new(FbankConfig::wespeaker_train()).unwrap();
    let err =
        embed_waveform(&model, &dithered, &tone(4000, 300.0, 5000.0), &Device::Cpu).unwrap_err();
    assert!(format!("{err}").contains("dither"), "{err}");
    let narrow = Fbank::new(FbankConfig {
        num_mel_bins: 40,
        ..FbankConfig::wespeaker()
    })
    .unwrap();
    let err =
        embed_waveform(&model, &narrow, &tone(4000, 300.0, 5000.0), &Device::Cpu).unwrap_err();
    assert!(
        format!("{err}").contains("40 mel bins, the model expects 80"),
        "{err}"
    );
}

#[test]
fn embed_files_keeps_order_and_reports_each_failure() {
    let model = small_model();
    let fbank = eval_fbank(&model).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let paths: Vec<_> = (0..4)
        .map(|i| dir.path().join(format!("{i}.wav")))
        .collect();
    for (i, p) in paths.iter().enumerate() {
        if i == 2 {
            std::fs::write(p, b"garbage").unwrap();
        } else {
            write_wav(p, 0.6, i as u32);
        }
    }
    let results = embed_files(&model, &fbank, &paths, &Device::Cpu, None);
    assert_eq!(results.len(), 4);
    for (i, r) in results.iter().enumerate() {
        if i == 2 {
            let e = r.as_ref().unwrap_err();
            assert!(format!("{e:#}").contains("2.wav"), "{e:#}");
        } else {
            let want = embed_file(&model, &fbank, &paths[i], &Device::Cpu).unwrap();
            assert!(max_abs_diff(r.as_ref().unwrap(), &want) < 1e-6, "{i}");
        }
    }
}
