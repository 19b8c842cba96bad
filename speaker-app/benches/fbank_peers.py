"""Real-time factor of kaldi-native-fbank and torchaudio `compliance.kaldi.fbank` on one hour
of 16 kHz speech-like signal in 10 s utterances, one thread, with wespeaker's settings
(80 bins, Hamming, 25/10 ms, dither 0) plus CMN, the same work as `benches/fbank.rs`.

    .venv-py/bin/python speaker-app/benches/fbank_peers.py

Needs numpy, torch, torchaudio and kaldi-native-fbank.
"""

import importlib.util
import pathlib
import statistics
import sys
import time
import types

import kaldi_native_fbank as knf
import numpy as np
import torch

SAMPLE_RATE = 16_000
UTTERANCE_SECONDS = 10
POOL = 12
HOUR_UTTERANCES = 360
REPEATS = 3


def load_torchaudio_kaldi():
    """`torchaudio.compliance.kaldi`, without torchaudio's C++ extension if that fails to load
    (a torch/torchaudio CUDA version mismatch); fbank only needs torch."""
    try:
        import torchaudio.compliance.kaldi as kaldi

        return kaldi
    except (RuntimeError, OSError, ImportError):
        for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
            del sys.modules[name]
    spec = importlib.util.find_spec("torchaudio")
    root = pathlib.Path(list(spec.submodule_search_locations)[0])
    sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    kaldi_spec = importlib.util.spec_from_file_location(
        "torchaudio_compliance_kaldi", root / "compliance" / "kaldi.py"
    )
    kaldi = importlib.util.module_from_spec(kaldi_spec)
    kaldi_spec.loader.exec_module(kaldi)
    return kaldi


def speech_like(seed: int) -> np.ndarray:
    """24 harmonics of a gliding pitch, syllable-rate AM and white noise, int16 scale."""
    rng = np.random.default_rng(seed)
    n = SAMPLE_RATE * UTTERANCE_SECONDS
    t = np.arange(n) / SAMPLE_RATE
    f0 = 100.0 + 15.0 * seed + 30.0 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SAMPLE_RATE
    voiced = sum((0.8**h) * np.sin(h * phase) for h in range(1, 25))
    envelope = 0.5 + 0.5 * np.sin(2 * np.pi * 3.0 * t) ** 2
    x = 2000.0 * envelope * voiced + 600.0 * rng.uniform(-1, 1, n)
    return np.round(x).astype(np.float32)


def rtf(run, pool):
    seconds = HOUR_UTTERANCES * UTTERANCE_SECONDS
    results = []
    for utterance in pool:  # warm-up
        run(utterance)
    for _ in range(REPEATS):
        start = time.perf_counter()
        for i in range(HOUR_UTTERANCES):
            run(pool[i % POOL])
        results.append(seconds / (time.perf_counter() - start))
    return statistics.median(results), max(results)


def main():
    torch.set_num_threads(1)
    kaldi = load_torchaudio_kaldi()
    pool = [speech_like(seed) for seed in range(POOL)]
    tensors = [torch.from_numpy(x).unsqueeze(0) for x in pool]

    def torchaudio_fbank(index):
        with torch.inference_mode():
            feats = kaldi.fbank(
                tensors[index],
                num_mel_bins=80,
                frame_length=25,
                frame_shift=10,
                dither=0.0,
                sample_frequency=SAMPLE_RATE,
                window_type="hamming",
                use_energy=False,
            )
            return feats - feats.mean(dim=0, keepdim=True)

    opts = knf.FbankOptions()
    opts.frame_opts.samp_freq = SAMPLE_RATE
    opts.frame_opts.dither = 0.0
    opts.frame_opts.window_type = "hamming"
    opts.mel_opts.num_bins = 80
    opts.mel_opts.low_freq = 20
    opts.mel_opts.high_freq = 0
    lists = [x.tolist() for x in pool]

    def knf_fbank(index):
        fb = knf.OnlineFbank(opts)
        fb.accept_waveform(SAMPLE_RATE, lists[index])
        fb.input_finished()
        feats = np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])
        return feats - feats.mean(axis=0, keepdims=True)

    indices = list(range(POOL))
    for name, run in [("torchaudio kaldi.fbank", torchaudio_fbank), ("kaldi-native-fbank", knf_fbank)]:
        med, best = rtf(run, indices)
        print(
            f"fbank ({name}, 1 thread): 1 h of 16 kHz audio in 10 s utterances: "
            f"real-time factor median {med:.0f}x, best {best:.0f}x ({REPEATS} runs)"
        )


if __name__ == "__main__":
    main()
