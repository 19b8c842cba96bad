#!/usr/bin/env bash
# IJB-C-sized run of `eval-kit ijb` (469k images x 1024-d features, 23k
# templates, 15.7M pairs): wall time and peak memory (GNU time's max RSS).
# The synthetic protocol (about 2.2 GB) is generated once under the target dir.
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
data="$target/eval-kit-synthetic-ijbc"
if [ ! -f "$data/features.safetensors" ]; then
    cargo run --release -p eval-kit --example synthetic_ijbc -- "$data"
fi
cargo build --release -p eval-kit --bin eval-kit
/usr/bin/time -f "eval-kit ijb: %e s wall, %U s user, max RSS %M KB" \
    "$target/release/eval-kit" ijb --root "$data" --features "$data/features.safetensors"
