"""numpy + scikit-learn side of benches/metrics_10m.rs: EER and minDCF the
wespeaker way (argsort + cumsum) and TAR@FAR (largest TAR with FAR <= target)
from sklearn's roc_curve. Prints one JSON object."""

import json
import sys
import time
from pathlib import Path

import numpy as np
import sklearn
from sklearn.metrics import roc_curve

FARS = [1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1]

d = Path(sys.argv[1])
scores = np.fromfile(d / "scores.f64", dtype="<f8")
labels = np.fromfile(d / "labels.u8", dtype=np.uint8)

t0 = time.perf_counter()
fpr, tpr, thr = roc_curve(labels, scores)
t1 = time.perf_counter()
tars = []
for far in FARS:
    ok = fpr <= far
    tars.append(float(tpr[ok].max()))
t2 = time.perf_counter()
idx = np.argsort(scores)
sorted_labels = labels[idx]
tgt = sorted_labels.astype("f8")
non = 1.0 - tgt
fnr = np.cumsum(tgt) / np.sum(tgt)
fa = 1 - np.cumsum(non) / np.sum(non)
diff = fnr - fa
x1 = np.flatnonzero(diff >= 0)[0]
x2 = np.flatnonzero(diff < 0)[-1]
a = (fnr[x1] - fa[x1]) / (fa[x2] - fa[x1] - (fnr[x2] - fnr[x1]))
eer = fnr[x1] + a * (fnr[x2] - fnr[x1])
p = 0.01
min_dcf = np.min(fnr * p + fa * (1 - p)) / min(p, 1 - p)
t3 = time.perf_counter()
print(json.dumps({
    "sklearn_version": sklearn.__version__,
    "seconds": t3 - t0,
    "roc_seconds": t1 - t0,
    "dcf_seconds": t3 - t2,
    "eer": float(eer),
    "min_dcf": float(min_dcf),
    "tar": tars,
}))
