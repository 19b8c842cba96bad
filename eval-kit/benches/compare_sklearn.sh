#!/usr/bin/env bash
# Benchmark eval-kit's EER + minDCF + TAR@FAR on 10M synthetic trials against
# numpy + scikit-learn in the same run. Creates a venv with numpy and
# scikit-learn on first use (set EVAL_KIT_PYTHON to reuse a Python that has them).
set -euo pipefail
cd "$(dirname "$0")/../.."
target="${CARGO_TARGET_DIR:-target}"
if [ -z "${EVAL_KIT_PYTHON:-}" ]; then
    venv="$target/eval-kit-bench-venv"
    if ! "$venv/bin/python" -c "import numpy, sklearn" 2>/dev/null; then
        python3 -m venv "$venv"
        "$venv/bin/pip" install --quiet numpy scikit-learn
    fi
    EVAL_KIT_PYTHON="$(pwd)/$venv/bin/python"
fi
export EVAL_KIT_PYTHON
cargo bench -p eval-kit --bench metrics_10m
