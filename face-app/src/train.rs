//! `face-app train`: faces as app-kit's [`TrainApp`]. The run itself (loop, checkpoints, resume,
//! A3M-I, margin schedule, bundle, held-out report) is app-kit's and train-kit's; this module
//! adds the face parts: `[data]` (`synthetic`, `orl` or a path, opened by
//! [`datasets::face::open`]), the training pipeline (flip), eval-mode embeddings with flip TTA
//! for class means and the held-out identities, and `.bin` validation sets (`[eval] val_bins`).

use alpha_loss::ClassMeans;
use anyhow::{Context, Result};
use app_kit::{AppConfig, Backbone, OpenedData, Registry, TrainApp};
use candle_core::{Device, Tensor};
use datasets::face::{FaceImages, FacePipeline, FaceSource, IdentitySubset, SyntheticConfig};
use datasets::split::HeldoutSpec;
use eval_kit::HeldoutEmbeddings;

pub use crate::config::{FaceData, FaceEval, SyntheticSettings};
use crate::embed::{embed_items, EmbedOptions};
use crate::valbin::{open_sets, validate, ValSet};

/// The run config of `face-app train`.
pub type FaceConfig = AppConfig<FaceApp>;

/// The training images and the validation sets of a run.
pub struct FaceTrainSet {
    images: IdentitySubset,
    val_sets: Vec<ValSet>,
}

/// Faces, for app-kit.
pub struct FaceApp;

fn options(cfg: &FaceConfig, flip_tta: bool) -> EmbedOptions {
    EmbedOptions {
        batch_size: cfg.eval.app.batch_size,
        flip_tta,
    }
}

impl TrainApp for FaceApp {
    const NAME: &'static str = "face";
    const DEMO: (&'static str, &'static str) = (
        include_str!("../configs/demo_synthetic.toml"),
        "the built-in demo config (face-app/configs/demo_synthetic.toml)",
    );
    const SWEEP: (&'static str, &'static str) = (
        include_str!("../sweeps/default.toml"),
        "face-app/sweeps/default.toml",
    );
    type Data = FaceData;
    type Eval = FaceEval;
    type Net = dyn Backbone;
    type TrainSet = FaceTrainSet;
    type Source = FaceSource<IdentitySubset>;
    type Heldout = IdentitySubset;

    fn registry() -> &'static Registry<dyn Backbone> {
        &crate::models::REGISTRY
    }

    fn open_data(cfg: &FaceConfig) -> Result<OpenedData<Self>> {
        let s = cfg.data.app.synthetic;
        let synthetic = SyntheticConfig {
            identities: s.identities,
            images_per_identity: s.images_per_identity,
            size: 112,
            seed: s.seed,
        };
        let heldout = HeldoutSpec {
            identities: cfg.eval.heldout_identities,
            per_identity: cfg.eval.heldout_per_identity,
            seed: cfg.train.seed,
        };
        let data = datasets::face::open(&cfg.data.source, synthetic, heldout)
            .with_context(|| format!("data.source = {:?}", cfg.data.source))?;
        let val_sets = open_sets(&cfg.eval.app.val_bins).context("eval.val_bins")?;
        Ok(OpenedData {
            heldout_counts: data
                .heldout
                .as_ref()
                .map(|h| h.counts())
                .unwrap_or_default(),
            num_classes: data.train.num_identities(),
            class_names: (0..data.train.num_identities() as u32)
                .map(|c| data.train.identity_name(c))
                .collect(),
            epoch_items: data.train.len(),
            description: data.description,
            heldout: data.heldout,
            train: FaceTrainSet {
                images: data.train,
                val_sets,
            },
        })
    }

    fn source(train: &FaceTrainSet, cfg: &FaceConfig) -> Result<Self::Source> {
        let pipeline = FacePipeline {
            lenient: cfg.data.app.lenient_jpeg,
            ..FacePipeline::train()
        };
        Ok(FaceSource::new(train.images.clone(), pipeline))
    }

    fn class_means(
        net: &dyn Backbone,
        train: &FaceTrainSet,
        cfg: &FaceConfig,
        per_class: usize,
        _salt: u64,
        device: &Device,
    ) -> Result<Tensor> {
        let images = &train.images;
        let classes = images.num_identities();
        let mut taken = vec![0usize; classes];
        let chosen: Vec<usize> = (0..images.len())
            .filter(|&i| {
                let c = images.label(i) as usize;
                let keep = taken[c] < per_class;
                taken[c] += usize::from(keep);
                keep
            })
            .collect();
        let (rows, done, _skipped) =
            embed_items(net, images, &chosen, options(cfg, false), device)?;
        let dim = net.embedding_dim();
        let mut means = ClassMeans::new(classes, dim);
        for (row, &i) in rows.chunks(dim).zip(&done) {
            means.add(images.label(i) as usize, row)?;
        }
        Ok(means.finish(device)?)
    }

    fn embed_heldout(
        net: &dyn Backbone,
        heldout: &IdentitySubset,
        cfg: &FaceConfig,
        device: &Device,
    ) -> Result<HeldoutEmbeddings> {
        let all: Vec<usize> = (0..heldout.len()).collect();
        let (rows, done, skipped) = embed_items(
            net,
            heldout,
            &all,
            options(cfg, cfg.eval.app.flip_tta),
            device,
        )?;
        let mut emb = HeldoutEmbeddings::new(net.embedding_dim());
        let labels: Vec<u32> = done.iter().map(|&i| heldout.label(i)).collect();
        emb.extend(&rows, &labels)?;
        emb.skipped = skipped;
        Ok(emb)
    }

    fn validate_during(
        net: &dyn Backbone,
        train: &FaceTrainSet,
        cfg: &FaceConfig,
        steps_done: u64,
        device: &Device,
    ) -> Result<serde_json::Map<String, serde_json::Value>> {
        let every = cfg.eval.app.val_every_steps;
        let mut fields = serde_json::Map::new();
        if every > 0 && steps_done.is_multiple_of(every) {
            for set in &train.val_sets {
                let r = validate(net, set, options(cfg, cfg.eval.app.flip_tta), device)?;
                fields.insert(format!("val_{}", r.name), r.accuracy.into());
            }
        }
        Ok(fields)
    }

    fn validate_final(
        net: &dyn Backbone,
        train: &FaceTrainSet,
        cfg: &FaceConfig,
        device: &Device,
    ) -> Result<serde_json::Value> {
        let results = train
            .val_sets
            .iter()
            .map(|set| validate(net, set, options(cfg, cfg.eval.app.flip_tta), device))
            .collect::<Result<Vec<_>>>()?;
        Ok(serde_json::to_value(results)?)
    }
}
