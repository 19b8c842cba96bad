//! `speaker-app embed INPUT... --out emb.safetensors`: whole-utterance embeddings of audio files,
//! folders and lists into an eval-kit embedding store.

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::Context as _;
use app_kit::ModelArgs;
use clap::Args;
use eval_kit::EmbeddingStore;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use speaker_app::embed::{embed_files, eval_fbank};
use speaker_app::inputs::{collect_utterances, Utterance};
use speaker_app::models::REGISTRY;
use speaker_app::LoadedModel;

/// Arguments of `speaker-app embed`.
#[derive(Debug, Args)]
pub struct EmbedArgs {
    /// Audio files, folders (searched recursively; keys are paths relative to the folder, e.g.
    /// id10270/x6uYqmx31kE/00001.wav) or lists (`key path` as in wav.scp, or one path per line).
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Embedding store to write (eval-kit safetensors format).
    #[arg(long, value_name = "FILE")]
    pub out: PathBuf,
    /// Folder that relative paths in lists are taken under (and that file keys are relative to).
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    #[command(flatten)]
    pub model: ModelArgs,
    /// Print a JSON summary on stdout instead of text.
    #[arg(long)]
    pub json: bool,
}

/// A file that could not be embedded.
#[derive(Debug, Serialize)]
pub struct Skipped {
    /// Its key.
    pub key: String,
    /// Its path.
    pub path: String,
    /// Why (the whole error chain).
    pub error: String,
}

#[derive(Serialize)]
struct EmbedSummary<'a> {
    out: String,
    model: &'a str,
    dim: usize,
    embedded: usize,
    skipped: usize,
    skipped_files: &'a [Skipped],
    seconds: f64,
}

/// Embeds `utts` with `loaded` into a store; failures are returned, not fatal. Shows an
/// indicatif progress bar on stderr (hidden when stderr is not a terminal).
pub fn embed_utterances(
    loaded: &LoadedModel,
    utts: &[Utterance],
) -> anyhow::Result<(EmbeddingStore, Vec<Skipped>)> {
    let fbank = eval_fbank(&loaded.net)?;
    let bar = ProgressBar::new(utts.len() as u64);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} files, {per_sec}, eta {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let paths: Vec<PathBuf> = utts.iter().map(|u| u.path.clone()).collect();
    let results = embed_files(&loaded.net, &fbank, &paths, &loaded.device, Some(&bar));
    bar.finish_and_clear();
    let mut store = EmbeddingStore::new(app_kit::Backbone::embedding_dim(loaded.net.as_ref()));
    let mut skipped = Vec::new();
    for (utt, result) in utts.iter().zip(results) {
        match result {
            Ok(v) => store
                .push(utt.key.clone(), &v)
                .with_context(|| format!("storing the embedding of {}", utt.key))?,
            Err(e) => skipped.push(Skipped {
                key: utt.key.clone(),
                path: utt.path.display().to_string(),
                error: format!("{e:#}"),
            }),
        }
    }
    Ok((store, skipped))
}

/// Lists skipped files on stderr.
pub fn report_skipped(skipped: &[Skipped]) {
    if !skipped.is_empty() {
        eprintln!("skipped {} unreadable file(s):", skipped.len());
        for s in skipped {
            eprintln!("  {}: {}", s.path, s.error);
        }
    }
}

/// Runs `speaker-app embed`.
pub fn run(args: EmbedArgs) -> anyhow::Result<()> {
    let start = Instant::now();
    let utts = collect_utterances(&args.inputs, args.root.as_deref())?;
    if utts.is_empty() {
        anyhow::bail!("no audio files found in the inputs")
    }
    let loaded = args.model.load("speaker", &REGISTRY)?;
    let (store, skipped) = embed_utterances(&loaded, &utts)?;
    report_skipped(&skipped);
    if store.is_empty() {
        anyhow::bail!("none of the {} files could be embedded", utts.len())
    }
    save_store(&store, &args.out)?;
    let summary = EmbedSummary {
        out: args.out.display().to_string(),
        model: &loaded.origin,
        dim: store.dim(),
        embedded: store.len(),
        skipped: skipped.len(),
        skipped_files: &skipped,
        seconds: start.elapsed().as_secs_f64(),
    };
    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!(
            "wrote {} embeddings of dimension {} to {} ({} skipped, {:.1} s)",
            summary.embedded, summary.dim, summary.out, summary.skipped, summary.seconds
        );
    }
    Ok(())
}

/// Saves `store` to `path`, naming the file on error.
pub fn save_store(store: &EmbeddingStore, path: &Path) -> anyhow::Result<()> {
    // eval-kit's errors name the file.
    Ok(store.save(path)?)
}
