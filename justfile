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

# Conv / BN / PReLU per layer, then whole train steps (IResNet-50 b32, ResNet34 [64,1,80,200]), candle vs ours (interleaved), then PyTorch's (2 threads) when .venv-py has torch. ARGS: --quick, --reps N.
bench-conv *ARGS:
    RAYON_NUM_THREADS=2 cargo bench -p train-kit --bench conv -- --no-torch {{ARGS}}
    RAYON_NUM_THREADS=2 cargo bench -p face-app --bench train_step -- {{ARGS}}
    RAYON_NUM_THREADS=2 cargo bench -p speaker-app --bench train_step -- {{ARGS}}
    @if .venv-py/bin/python -c 'import torch' 2>/dev/null; then \
        export GLIBC_TUNABLES=glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=18446744073709551615:glibc.malloc.top_pad=67108864; \
        .venv-py/bin/python train-kit/benches/conv_torch.py {{ARGS}} && \
        .venv-py/bin/python train-kit/benches/train_step_torch.py {{ARGS}}; \
    else echo "(no PyTorch figures: .venv-py/bin/python with torch not found)"; fi

# Train steps on a CUDA GPU (IResNet-50 b128 and ResNet34 b128 with Q-Margin / ArcFace / softmax, MS1MV2- and VoxCeleb2-sized heads), then PyTorch's on the same GPU. Needs the CUDA toolkit (see README).
bench-gpu REPS="10":
    bash train-kit/benches/gpu_train_steps.sh "" {{REPS}}

# Build both apps with `--features cuda` without a GPU or CUDA install (toolkit from PyPI, link stubs; ~20 min).
check-cuda:
    bash .ci/cuda-check

# speaker-app: fbank real-time factor, ours (1 thread, then batched) and torchaudio / kaldi-native-fbank.
bench-fbank:
    cargo bench -p speaker-app --bench fbank
    .venv-py/bin/python speaker-app/benches/fbank_peers.py

# Train a face model. No arguments: the synthetic Q-Margin demo (about 2-3 min on 2 cores).
# Named parameters data=SOURCE loss=NAME config=FILE (each optional, any order), e.g.
# `just train-face data=/data/faces_emore config=face-app/configs/ms1mv2_r100.toml loss=qmargin`;
# other arguments go to `face-app train` as they are (e.g. --steps 500 --set loss.alpha=2).
[positional-arguments]
train-face *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    flags=()
    for arg in "$@"; do
        case "$arg" in
            data=*)   [ -z "${arg#data=}" ]   || flags+=(--data "${arg#data=}") ;;
            loss=*)   [ -z "${arg#loss=}" ]   || flags+=(--loss "${arg#loss=}") ;;
            config=*) [ -z "${arg#config=}" ] || flags+=(--config "${arg#config=}") ;;
            *)        flags+=("$arg") ;;
        esac
    done
    cargo run --release -p face-app -- train "${flags[@]}"

# Train a speaker model. No arguments: a small ResNet on synthetic voices with Q-Margin, then
# EER and minDCF on held-out voices (about 2-3 min on 2 cores). Named parameters data=SOURCE
# (synthetic, debian, a VoxCeleb folder, a wespeaker raw list or a Kaldi dir) loss=NAME
# config=FILE (each optional, any order), e.g.
# `just train-speaker data=/data/vox2 config=speaker-app/configs/voxceleb2_resnet34.toml`;
# other arguments go to `speaker-app train` as they are (e.g. --steps 500 --set loss.alpha=2).
[positional-arguments]
train-speaker *ARGS:
    #!/usr/bin/env bash
    set -euo pipefail
    flags=()
    for arg in "$@"; do
        case "$arg" in
            data=*)   [ -z "${arg#data=}" ]   || flags+=(--data "${arg#data=}") ;;
            loss=*)   [ -z "${arg#loss=}" ]   || flags+=(--loss "${arg#loss=}") ;;
            config=*) [ -z "${arg#config=}" ] || flags+=(--config "${arg#config=}") ;;
            *)        flags+=("$arg") ;;
        esac
    done
    cargo run --release -p speaker-app -- train "${flags[@]}"

# Loss-comparison sweep of face-app: every loss x 3 seeds on synthetic and ORL faces, bootstrap
# intervals, RESULTS.md section + plots in results/. Finished runs are skipped, so it resumes.
# Other arguments go to `face-app sweep` (e.g. --spec face-app/sweeps/ci.toml --seeds 1,2).
sweep-face *ARGS:
    cargo run --release -p face-app -- sweep --out runs/sweep-face --results RESULTS.md {{ARGS}}

# Loss-comparison sweep of speaker-app: every loss x 3 seeds on synthetic and Debian voices,
# bootstrap intervals, RESULTS.md section + plots in results/ (resumes like sweep-face).
sweep-speaker *ARGS:
    cargo run --release -p speaker-app -- sweep --out runs/sweep-speaker --results RESULTS.md {{ARGS}}
