#!/usr/bin/env bash
# Train-step throughput on a CUDA GPU, ours and PyTorch's in the same run:
# - IResNet-50, 112x112, batch 128, 85,742 classes (MS1MV2), with Q-Margin, ArcFace and softmax;
# - wespeaker ResNet34, fbank [128, 200, 80], 17,982 classes (VoxCeleb2's 5,994 speakers x 3
#   speed perturbations), with Q-Margin and ArcFace;
# - PyTorch's twin (train-kit/benches/train_step_torch.py: cosine head + CE) on the same shapes,
#   when python3 has torch with CUDA.
#
# Usage: gpu_train_steps.sh [BIN_DIR] [REPS]
#   BIN_DIR holds `face_train_step` and `speaker_train_step`, the two `train_step` bench binaries
#   built with `--features cuda` (copied out of target/release/deps); without it, `cargo bench`
#   builds and runs them (`just bench-gpu`). REPS: timed steps per case (default 10).
set -euo pipefail
here=$(cd "$(dirname "$0")/../.." && pwd)
bin_dir=${1:-}
reps=${2:-10}

# CUDA libraries shipped as Python wheels (cuBLAS, cuRAND, NVRTC, the runtime) when the system
# has none on the loader path.
if python3 -c 'import nvidia' 2>/dev/null; then
    nv=$(python3 -c 'import nvidia; print(list(nvidia.__path__)[0])')
    libs=$(find "$nv" -name 'lib*.so*' -printf '%h\n' 2>/dev/null | sort -u | tr '\n' ':')
    export LD_LIBRARY_PATH="${libs}${LD_LIBRARY_PATH:-}"
fi

face() {
    if [ -n "$bin_dir" ]; then "$bin_dir/face_train_step" "$@"; else
        cargo bench -q -p face-app --features cuda --bench train_step -- "$@"; fi
}
speaker() {
    if [ -n "$bin_dir" ]; then "$bin_dir/speaker_train_step" "$@"; else
        cargo bench -q -p speaker-app --features cuda --bench train_step -- "$@"; fi
}

command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
for loss in qmargin arcface softmax; do
    face --device cuda --model r50 --batch 128 --classes 85742 --loss "$loss" --reps "$reps"
done
for loss in qmargin arcface; do
    speaker --device cuda --model resnet34 --batch 128 --classes 17982 --loss "$loss" --reps "$reps"
done
if python3 -c 'import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)' 2>/dev/null; then
    python3 "$here/train-kit/benches/train_step_torch.py" --device cuda --model iresnet50 \
        --batch 128 --classes 85742 --reps "$reps"
    python3 "$here/train-kit/benches/train_step_torch.py" --device cuda --model resnet34 \
        --batch 128 --classes 17982 --reps "$reps"
else
    echo "(no PyTorch figures: python3 has no torch with CUDA)"
fi
