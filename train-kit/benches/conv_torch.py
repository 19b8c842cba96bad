"""PyTorch twin of train-kit's `conv` bench: the same layers and IResNet block, same table.

Run by `cargo bench -p train-kit --bench conv` and `just bench-conv` (or directly). Medians of N
runs after a warm-up, on 2 threads (torch.set_num_threads(2), as RAYON_NUM_THREADS=2 for ours).
"""
import sys
import time

import torch
import torch.nn as nn

QUICK = "--quick" in sys.argv
REPS = 3 if QUICK else 7

# name, batch, c_in, c_out, size, kernel, stride, groups (as in benches/conv.rs)
LAYERS = [
    ("3x3 64->64 @56 b32", 32, 64, 64, 56, 3, 1, 1),
    ("3x3/2 64->128 @56 b32", 32, 64, 128, 56, 3, 2, 1),
    ("1x1/2 64->128 @56 b32", 32, 64, 128, 56, 1, 2, 1),
    ("1x1 128->128 @28 b32", 32, 128, 128, 28, 1, 1, 1),
    ("dw3x3 64 @56 b32", 32, 64, 64, 56, 3, 1, 64),
]


def median_ms(fn, reps=REPS):
    fn()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2]


def row(name, what, ms):
    print(f"{name:<24} {what:<18} {ms:>10.1f}")


def bench_layer(name, batch, c_in, c_out, size, k, stride, groups):
    pad = k // 2
    x = torch.randn(batch, c_in, size, size)
    w = torch.randn(c_out, c_in // groups, k, k) * 0.1
    y = torch.conv2d(x, w, None, stride, pad, 1, groups)
    gy = torch.randn_like(y)

    def backward(mask):
        return torch.ops.aten.convolution_backward(
            gy, x, w, None, [stride] * 2, [pad] * 2, [1, 1], False, [0, 0], groups, mask
        )

    with torch.no_grad():
        row(name, "forward", median_ms(lambda: torch.conv2d(x, w, None, stride, pad, 1, groups)))
        row(name, "grad-input", median_ms(lambda: backward([True, False, False])))
        row(name, "grad-weight", median_ms(lambda: backward([False, True, False])))


class IBasicBlock(nn.Module):
    """insightface iresnet.py IBasicBlock, stride 1, no downsample."""

    def __init__(self, c):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(c, eps=1e-5)
        self.conv1 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(c, eps=1e-5)
        self.prelu = nn.PReLU(c)
        self.conv2 = nn.Conv2d(c, c, 3, 1, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(c, eps=1e-5)

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        return y + x


def bench_block():
    block = IBasicBlock(64).train()
    x = torch.randn(32, 64, 56, 56, requires_grad=True)
    name = "IResNet block 64@56 b32"

    def step():
        block.zero_grad(set_to_none=True)
        x.grad = None
        block(x).square().mean().backward()

    row(name, "forward", median_ms(lambda: block(x)))
    row(name, "fwd+bwd", median_ms(step))


def main():
    torch.set_num_threads(2)
    print(f"PyTorch {torch.__version__}, threads: {torch.get_num_threads()}")
    print(f"{'case':<24} {'pass':<18} {'torch ms':>10}")
    for layer in LAYERS:
        bench_layer(*layer)
    bench_block()


if __name__ == "__main__":
    main()
