"""PyTorch twin of the whole-train-step benches (`face-app/benches/train_step.rs`,
`speaker-app/benches/train_step.rs`): the same models, inputs, head, loss and optimizer.

- IResNet-50 (arcface_torch r50), input [32, 3, 112, 112];
- wespeaker ResNet34 (32 base channels, TSTP pooling, one 256-d embedding layer), input fbank
  [64, 200 frames, 80] (the model sees [64, 1, 80, 200]).

Each step: train-mode forward, 1000-class cosine head (scale 64) + cross-entropy, backward,
SGD (lr 1e-3, momentum 0.9, weight decay 5e-4) step. Median of the timed steps after one
warm-up, with torch.set_num_threads(2) on CPU. `--quick`: one timed step; `--reps N`; `--model
iresnet50|resnet34` to pick one; `--device cuda`, `--batch N` and `--classes N` for the GPU
comparison (the device is synchronized before each timer reading).
"""
import argparse
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

EPS = 1e-5
CLASSES = 1000
SCALE = 64.0


class IBasicBlock(nn.Module):
    """arcface_torch iresnet.py IBasicBlock."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(cin, eps=EPS)
        self.conv1 = nn.Conv2d(cin, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes, eps=EPS)
        self.prelu = nn.PReLU(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes, eps=EPS)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes, eps=EPS)
            )

    def forward(self, x):
        y = self.bn3(self.conv2(self.prelu(self.bn2(self.conv1(self.bn1(x))))))
        shortcut = x if self.downsample is None else self.downsample(x)
        return y + shortcut


class IResNet(nn.Module):
    """arcface_torch IResNet (as face-app/tests/fixtures/models/make_iresnet_parity.py)."""

    def __init__(self, layers, base_width=64, embedding_dim=512):
        super().__init__()
        widths = [base_width * m for m in (1, 2, 4, 8)]
        self.conv1 = nn.Conv2d(3, widths[0], 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(widths[0], eps=EPS)
        self.prelu = nn.PReLU(widths[0])
        cin = widths[0]
        for s, (n, planes) in enumerate(zip(layers, widths)):
            blocks = []
            for i in range(n):
                blocks.append(IBasicBlock(cin, planes, 2 if i == 0 else 1))
                cin = planes
            setattr(self, f"layer{s + 1}", nn.Sequential(*blocks))
        self.bn2 = nn.BatchNorm2d(cin, eps=EPS)
        self.fc = nn.Linear(cin * 7 * 7, embedding_dim)
        self.features = nn.BatchNorm1d(embedding_dim, eps=EPS)
        nn.init.constant_(self.features.weight, 1.0)
        self.features.weight.requires_grad = False

    def forward(self, x):
        x = self.prelu(self.bn1(self.conv1(x)))
        for s in range(1, 5):
            x = getattr(self, f"layer{s}")(x)
        return self.features(self.fc(torch.flatten(self.bn2(x), 1)))


class BasicBlock(nn.Module):
    """wespeaker resnet.py BasicBlock."""

    def __init__(self, cin, planes, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(cin, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet(nn.Module):
    """wespeaker ResNet (BasicBlock), TSTP pooling, one embedding layer."""

    def __init__(self, layers, m_channels=32, feat_dim=80, embed_dim=256):
        super().__init__()
        self.conv1 = nn.Conv2d(1, m_channels, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(m_channels)
        cin = m_channels
        stages = []
        for s, n in enumerate(layers):
            planes = m_channels * 2**s
            for i in range(n):
                stages.append(BasicBlock(cin, planes, (1 if s == 0 else 2) if i == 0 else 1))
                cin = planes
        self.blocks = nn.Sequential(*stages)
        stats_dim = (feat_dim // 8) * m_channels * 8
        self.seg_1 = nn.Linear(stats_dim * 2, embed_dim)

    def forward(self, x):
        x = x.permute(0, 2, 1).unsqueeze(1)  # (B, T, F) -> (B, 1, F, T)
        out = self.blocks(F.relu(self.bn1(self.conv1(x))))
        out = out.reshape(out.shape[0], -1, out.shape[-1])
        stats = torch.cat([out.mean(-1), torch.sqrt(out.var(-1) + 1e-7)], dim=1)
        return self.seg_1(stats)


def bench(name, model, x, emb_dim, reps, classes=CLASSES):
    dev = x.device
    model.to(dev).train()
    head = nn.Parameter(torch.randn(classes, emb_dim, device=dev) * 0.05)
    params = [p for p in model.parameters() if p.requires_grad] + [head]
    opt = torch.optim.SGD(params, lr=1e-3, momentum=0.9, weight_decay=5e-4)
    labels = torch.arange(x.shape[0], device=dev) % classes

    def sync():
        if dev.type == "cuda":
            torch.cuda.synchronize()

    def step():
        sync()
        t0 = time.perf_counter()
        emb = model(x)
        sync()
        t1 = time.perf_counter()
        logits = SCALE * F.linear(F.normalize(emb), F.normalize(head))
        F.cross_entropy(logits, labels).backward()
        sync()
        t2 = time.perf_counter()
        opt.step()
        opt.zero_grad(set_to_none=True)
        sync()
        t3 = time.perf_counter()
        return [(t3 - t0) * 1e3, (t1 - t0) * 1e3, (t2 - t1) * 1e3, (t3 - t2) * 1e3]

    step()
    runs = [step() for _ in range(reps)]
    med = [sorted(col)[len(col) // 2] for col in zip(*runs)]
    rate = x.shape[0] * 1e3 / med[0]
    print(f"{name:<34} {med[0]:>10.1f} {med[1]:>10.1f} {med[2]:>13.1f} {med[3]:>10.1f} {rate:>10.1f}")


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--reps", type=int)
    ap.add_argument("--model", choices=["iresnet50", "resnet34"])
    ap.add_argument("--device", default="cpu", help="cpu or cuda (GPU runs use all threads)")
    ap.add_argument("--batch", type=int, help="batch size (default 32 faces, 64 utterances)")
    ap.add_argument("--classes", type=int, default=CLASSES)
    args, _ = ap.parse_known_args()  # `just bench-conv` passes the Rust benches' words too
    reps = args.reps or (1 if args.quick else 3)
    dev = torch.device(args.device)
    if dev.type == "cpu":
        torch.set_num_threads(2)
    torch.manual_seed(0)
    print(f"\nPyTorch {torch.__version__} whole train steps, threads: {torch.get_num_threads()}, "
          f"1 warm-up + {reps} timed steps, {args.classes}-class cosine head + CE, SGD momentum, "
          f"device {dev}")
    print(f"{'model':<34} {'step ms':>10} {'forward':>10} {'loss+backward':>13} {'update':>10} {'items/s':>10}")
    if args.model in (None, "iresnet50"):
        b = args.batch or 32
        x = torch.randn(b, 3, 112, 112, device=dev) * 0.5
        bench(f"IResNet-50 112x112 b{b}", IResNet([3, 4, 14, 3]), x, 512, reps, args.classes)
    if args.model in (None, "resnet34"):
        b = args.batch or 64
        x = torch.randn(b, 200, 80, device=dev)
        bench(f"ResNet34 [{b}, 1, 80, 200]", ResNet([3, 4, 6, 3]), x, 256, reps, args.classes)


if __name__ == "__main__":
    main()
