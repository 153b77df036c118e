#!/usr/bin/env python3
"""PyTorch CPU reference for the cost of one training step.

Times forward + cross-entropy + backward + optimizer step of LeNet-300-100 and ResNet-20
(the paper's MNIST and CIFAR-10 networks, with Table 1's optimizers and batch sizes), so the
TensorFlow.js backends can be compared against a well-tuned framework on the same machine.
Data is one fixed random batch reused every step: data loading is not what is measured.

Usage: python3 bench/torch_step.py [--model lenet|resnet20|all] [--steps N] [--warmup N] [--threads N]
Prints one JSON line per model; exits 3 with a JSON error line when torch is missing.
"""
import argparse
import json
import statistics
import sys
import time

try:
    import torch
    import torch.nn as nn
    import torch.nn.functional as F
except ImportError as error:  # the benchmark is optional: say why, in the same JSON shape
    print(json.dumps({"error": f"torch not installed: {error}"}, separators=(",", ":")))
    sys.exit(3)


class LeNet300100(nn.Module):
    """784-300-100-10 fully connected, ReLU; layer names as lmc-lab's (fc1, fc2, fc), so that its
    weights load by name (the interop test imports this class)."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(784, 300)
        self.fc2 = nn.Linear(300, 100)
        self.fc = nn.Linear(100, 10)

    def forward(self, x):
        x = F.relu(self.fc1(x.flatten(1)))  # NHWC flattened row-major, as tfjs does
        return self.fc(F.relu(self.fc2(x)))


class BasicBlock(nn.Module):
    """Two 3x3 conv + BN; a 1x1 conv + BN projection where the shape changes (He et al. option B)."""

    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride=stride, padding=1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, stride=1, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.shortcut = nn.Sequential()
        if stride != 1 or cin != cout:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, cout, 1, stride=stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        return F.relu(out + self.shortcut(x))


class ResNet20(nn.Module):
    """CIFAR ResNet-20: stem conv 16, 3 stages x 3 blocks (16, 32, 64), global average pool, fc 64->10."""

    def __init__(self, widths=(16, 32, 64), blocks=3, classes=10):
        super().__init__()
        self.conv = nn.Conv2d(3, widths[0], 3, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(widths[0])
        layers, cin = [], widths[0]
        for stage, width in enumerate(widths):
            for block in range(blocks):
                stride = 2 if stage > 0 and block == 0 else 1
                layers.append(BasicBlock(cin, width, stride))
                cin = width
        self.blocks = nn.Sequential(*layers)
        self.fc = nn.Linear(widths[-1], classes)
        # He initialization, as in open_lth; BN starts as the identity.
        for m in self.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                nn.init.kaiming_normal_(m.weight)
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def forward(self, x):
        x = self.blocks(F.relu(self.bn(self.conv(x))))
        return self.fc(F.adaptive_avg_pool2d(x, 1).flatten(1))


def lenet():
    model = LeNet300100()
    return "lenet_300_100", model, torch.optim.Adam(model.parameters(), lr=1.2e-3), 60, (1, 28, 28)


def resnet20():
    model = ResNet20()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9, weight_decay=1e-4)
    return "resnet20", model, optimizer, 128, (3, 32, 32)


MODELS = {"lenet": lenet, "resnet20": resnet20}


def time_model(make, steps, warmup, threads, threads_from):
    torch.manual_seed(0)
    name, model, optimizer, batch, shape = make()
    model.train()
    x = torch.randn(batch, *shape)
    y = torch.randint(0, 10, (batch,))

    def step():
        optimizer.zero_grad(set_to_none=True)
        loss = F.cross_entropy(model(x), y)
        loss.backward()
        optimizer.step()
        return loss

    for _ in range(warmup):  # first steps allocate buffers and pick kernels
        step()
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        step()
        times.append((time.perf_counter() - start) * 1000)
    return {
        "model": name,
        "batch": batch,
        "msPerStep": round(statistics.median(times), 3),
        "msMin": round(min(times), 3),
        "steps": steps,
        "warmup": warmup,
        "threads": threads,
        "threadsFrom": threads_from,
        "torch": torch.__version__,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["lenet", "resnet20", "all"], default="all")
    parser.add_argument("--steps", type=int, default=20, help="timed steps (the median is reported)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first")
    parser.add_argument("--threads", type=int, default=None, help="intra-op threads (default: torch's own choice)")
    args = parser.parse_args()
    if args.steps < 1 or args.warmup < 0:
        parser.error("--steps must be at least 1 and --warmup at least 0")
    if args.threads is not None:
        if args.threads < 1:
            parser.error("--threads must be at least 1")
        torch.set_num_threads(args.threads)
    threads_from = "--threads" if args.threads is not None else "torch default"
    threads = torch.get_num_threads()
    print(f"torch {torch.__version__}: {threads} intra-op threads ({threads_from})", file=sys.stderr)
    names = list(MODELS) if args.model == "all" else [args.model]
    for name in names:
        print(json.dumps(time_model(MODELS[name], args.steps, args.warmup, threads, threads_from), separators=(",", ":")), flush=True)


if __name__ == "__main__":
    main()
