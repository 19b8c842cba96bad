# alpha-verify task runner. Install just with `pip install rust-just` (or `cargo install just --locked`).

# List the recipes.
default:
    @just --list

# Run every test of the workspace (what CI runs).
test:
    cargo test --workspace

# Format the code.
fmt:
    cargo fmt --all

# Lint: formatting check and clippy with warnings as errors.
lint:
    cargo fmt --all -- --check
    cargo clippy --workspace --all-targets -- -D warnings

# α-loss forward+backward vs our softmax cross-entropy on [128, 85742] and [128, 1M].
bench:
    cargo bench -p alpha-loss --bench alpha_loss

# eval-kit: EER + minDCF + TAR@FAR on 10M trials vs numpy + scikit-learn, and an IJB-C-sized run.
bench-eval:
    bash eval-kit/benches/compare_sklearn.sh
    bash eval-kit/benches/ijb_scale.sh

# datasets: JPEG decode + flip + normalize images/s on one core vs PIL + numpy and torchvision.
bench-data:
    cargo bench -p datasets --bench image_pipeline

# train-kit: conv / BN / PReLU forward and gradients, candle vs ours (interleaved), then PyTorch.
bench-conv *ARGS:
    RAYON_NUM_THREADS=2 cargo bench -p train-kit --bench conv -- {{ARGS}}

# speaker-app: fbank real-time factor, ours (1 thread, then batched) and torchaudio / kaldi-native-fbank.
bench-fbank:
    cargo bench -p speaker-app --bench fbank
    .venv-py/bin/python speaker-app/benches/fbank_peers.py
