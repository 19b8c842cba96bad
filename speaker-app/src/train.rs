//! `speaker-app train`: voices as app-kit's [`TrainApp`], wespeaker's speaker-training recipe.
//! The run (loop, checkpoints, resume, A3M-I, margin schedule, bundle, held-out report) is
//! app-kit's and train-kit's; this module adds the speech parts: `[data]` (`synthetic`, `debian`
//! or a path, opened by [`datasets::speech::corpus::open`]), random chunks with speed
//! perturbation as extra classes and MUSAN / RIR augmentation, Kaldi fbank (dither 1.0, CMN)
//! computed in the loader's threads, and whole-utterance evaluation embeddings.

use std::sync::Arc;

use alpha_loss::ClassMeans;
use anyhow::{Context, Result};
use app_kit::{AppConfig, OpenedData, Registry, TrainApp};
use candle_core::{Device, ModuleT, Tensor};
use datasets::loader::{class_indices, item_rng, Mapped, TensorSample};
use datasets::speech::augment::Augmenter;
use datasets::speech::corpus::Utterances;
use datasets::speech::synthetic::SyntheticVoicesConfig;
use datasets::speech::training::{ChunkSettings, TrainChunks};
use datasets::split::HeldoutSpec;
use eval_kit::HeldoutEmbeddings;
use train_kit::overrides::Renamed;

pub use crate::config::{SpeechData, SpeechEval, SyntheticVoicesSettings};
use crate::embed::{embed_waveform, eval_fbank, INT16_SCALE};
use crate::fbank::{Fbank, FbankConfig};
use crate::models::{SpeakerModel, REGISTRY};

/// The run config of `speaker-app train`.
pub type SpeakerConfig = AppConfig<SpeakerApp>;

/// Voices, for app-kit.
pub struct SpeakerApp;

/// Chunks per forward pass when embedding training items.
const BATCH: usize = 32;

impl TrainApp for SpeakerApp {
    const NAME: &'static str = "speaker";
    const DEMO: (&'static str, &'static str) = (
        include_str!("../configs/demo_synthetic.toml"),
        "the built-in demo config (speaker-app/configs/demo_synthetic.toml)",
    );
    const SWEEP: (&'static str, &'static str) = (
        include_str!("../sweeps/default.toml"),
        "speaker-app/sweeps/default.toml",
    );
    const RENAMED: &'static [Renamed] = &[
        Renamed {
            old: "data.synthetic.train_speakers",
            new: "data.synthetic.identities (now counting the held-out voices)",
        },
        Renamed {
            old: "data.synthetic.utterances_per_speaker",
            new: "data.synthetic.utterances_per_identity",
        },
    ];
    type Data = SpeechData;
    type Eval = SpeechEval;
    type Net = SpeakerModel;
    type TrainSet = TrainChunks;
    type Source = Mapped<TrainChunks, TensorSample>;
    type Heldout = Utterances;

    fn registry() -> &'static Registry<SpeakerModel> {
        &REGISTRY
    }

    fn open_data(cfg: &SpeakerConfig) -> Result<OpenedData<Self>> {
        let d = &cfg.data.app;
        let s = &d.synthetic;
        let synthetic = SyntheticVoicesConfig {
            seed: s.seed,
            num_speakers: s.identities,
            utterances_per_speaker: s.utterances_per_identity,
            min_seconds: s.min_seconds,
            max_seconds: s.max_seconds,
        };
        let heldout = HeldoutSpec {
            identities: cfg.eval.heldout_identities,
            per_identity: cfg.eval.heldout_per_identity,
            seed: cfg.train.seed,
        };
        let corpus = datasets::speech::corpus::open(&cfg.data.source, synthetic, heldout)
            .with_context(|| format!("data.source = {:?}", cfg.data.source))?;
        let settings = ChunkSettings {
            chunk_seconds: d.chunk_seconds,
            min_seconds: d.min_seconds,
            speed_perturb: d.speed_perturb,
            augmenter: Augmenter::new(d.musan.as_deref(), d.rir.as_deref(), d.aug_prob)
                .context("data.musan / data.rir")?,
        };
        let chunks = TrainChunks::new(corpus.train, &settings)?;
        Ok(OpenedData {
            heldout_counts: corpus.heldout.counts(),
            num_classes: datasets::loader::Source::num_classes(&chunks),
            class_names: (0..datasets::loader::Source::num_classes(&chunks) as u32)
                .map(|c| chunks.class_name(c))
                .collect(),
            // wespeaker's epoch: one pass over the utterances (the loader's covers every speed).
            epoch_items: chunks.utterances().len(),
            description: corpus.description,
            heldout: (!corpus.heldout.is_empty()).then_some(corpus.heldout),
            train: chunks,
        })
    }

    fn source(train: &TrainChunks, cfg: &SpeakerConfig) -> Result<Self::Source> {
        let net_bins = REGISTRY.resolve(&cfg.model.backbone, &cfg.model.overrides)?["feat_dim"]
            .as_u64()
            .context("the backbone config has no feat_dim")? as usize;
        let fbank = Arc::new(Fbank::new(FbankConfig {
            num_mel_bins: net_bins,
            ..FbankConfig::wespeaker_train()
        })?);
        Ok(Mapped::new(
            train.clone(),
            move |chunk: TensorSample, rng| {
                let wave: Vec<f32> = chunk.data.iter().map(|x| x * INT16_SCALE).collect();
                let f = fbank
                    .compute_with_rng(&wave, rng)
                    .map_err(|e| datasets::DataError::decode("fbank", e.to_string()))?;
                TensorSample::new(f.data, vec![f.frames, f.bins])
            },
        ))
    }

    fn class_means(
        net: &SpeakerModel,
        train: &TrainChunks,
        cfg: &SpeakerConfig,
        per_class: usize,
        salt: u64,
        device: &Device,
    ) -> Result<Tensor> {
        let fbank = eval_fbank(net)?;
        let classes = class_indices(train);
        let dim = app_kit::Backbone::embedding_dim(net);
        let mut means = ClassMeans::new(classes.len(), dim);
        let items: Vec<(usize, usize)> = classes
            .iter()
            .enumerate()
            .flat_map(|(c, members)| members.iter().take(per_class).map(move |&i| (c, i)))
            .collect();
        for group in items.chunks(BATCH) {
            let mut waves = Vec::with_capacity(group.len() * train.chunk_samples());
            for &(_, index) in group {
                let chunk = train.chunk_of(index, &mut item_rng(cfg.train.seed, salt, index))?;
                waves.extend(chunk.iter().map(|x| x * INT16_SCALE));
            }
            let feats = fbank.compute_batch(&waves, group.len(), 0)?;
            let x = Tensor::from_vec(feats.data, (feats.batch, feats.frames, feats.bins), device)?;
            let emb = alpha_loss::l2_normalize(&net.forward_t(&x, false)?)?.to_vec2::<f32>()?;
            for (&(c, _), row) in group.iter().zip(&emb) {
                means.add(c, row)?;
            }
        }
        Ok(means.finish(device)?)
    }

    fn embed_heldout(
        net: &SpeakerModel,
        heldout: &Utterances,
        cfg: &SpeakerConfig,
        device: &Device,
    ) -> Result<HeldoutEmbeddings> {
        let fbank = eval_fbank(net)?;
        let max_samples = (cfg.eval.app.max_seconds * 16_000.0) as usize;
        let mut emb = HeldoutEmbeddings::new(app_kit::Backbone::embedding_dim(net));
        for i in 0..heldout.len() {
            let embedded = heldout
                .waveform(i)
                .map_err(anyhow::Error::from)
                .and_then(|mut wave| {
                    wave.truncate(max_samples);
                    wave.iter_mut().for_each(|x| *x *= INT16_SCALE);
                    embed_waveform(net, &fbank, &wave, device)
                });
            match embedded {
                Ok(e) => emb.push(heldout.speaker(i), &e)?,
                Err(e) => emb.skipped.push(format!("{}: {e:#}", heldout.describe(i))),
            }
        }
        Ok(emb)
    }
}
