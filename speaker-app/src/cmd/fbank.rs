//! `speaker-app fbank INPUT --out OUT.npy`: log-mel filterbank features of one audio file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args;
use datasets::speech::audio::load_mono;
use npyz::WriterBuilder;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use speaker_app::fbank::{Fbank, FbankConfig, Features, WindowType};

/// Arguments of `speaker-app fbank`.
#[derive(Debug, Args)]
pub struct FbankArgs {
    /// Audio file (wav, flac, ogg or m4a); mixed down to mono and resampled to 16 kHz.
    input: PathBuf,
    /// Output .npy: float32 `[frames, bins]`, little-endian, C order.
    #[arg(long)]
    out: PathBuf,
    /// Analysis window (wespeaker uses hamming; torchaudio's default is povey).
    #[arg(long, value_enum, default_value_t = WindowType::Hamming)]
    window: WindowType,
    /// Standard deviation of the Gaussian dither at int16 scale (wespeaker trains with 1.0).
    #[arg(long, default_value_t = 0.0)]
    dither: f32,
    /// Seed of the dither noise.
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Number of mel bins.
    #[arg(long, default_value_t = 80)]
    num_mel_bins: usize,
    /// Keep the raw log-mel energies (no per-utterance mean subtraction).
    #[arg(long)]
    no_cmn: bool,
}

/// Runs `speaker-app fbank`: wespeaker's frontend ([`FbankConfig::wespeaker`]) with the given
/// overrides, on the file's samples scaled to int16 range.
pub fn run(args: FbankArgs) -> anyhow::Result<()> {
    let cfg = FbankConfig {
        window: args.window,
        dither: args.dither,
        num_mel_bins: args.num_mel_bins,
        cmn: !args.no_cmn,
        ..FbankConfig::wespeaker()
    };
    let fbank = Fbank::new(cfg)?;
    let input = &args.input;
    // Errors from `load_mono` already name the file.
    let samples: Vec<f32> = load_mono(input, fbank.config().sample_rate_hz)
        .context("reading audio")?
        .into_iter()
        .map(|x| x * 32768.0)
        .collect();
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let features = fbank
        .compute_with_rng(&samples, &mut rng)
        .with_context(|| format!("computing fbank of {}", input.display()))?;
    write_npy(&args.out, &features).with_context(|| format!("writing {}", args.out.display()))?;
    println!(
        "{}: {} frames x {} bins",
        args.out.display(),
        features.frames,
        features.bins
    );
    Ok(())
}

/// Writes `features` as an NPY v1.0 float32 `[frames, bins]` array.
fn write_npy(path: &Path, features: &Features) -> std::io::Result<()> {
    let mut file = BufWriter::new(File::create(path)?);
    let mut writer = npyz::WriteOptions::<f32>::new()
        .default_dtype()
        .shape(&[features.frames as u64, features.bins as u64])
        .writer(&mut file)
        .begin_nd()?;
    writer.extend(features.data.iter().copied())?;
    writer.finish()?;
    file.flush()
}
