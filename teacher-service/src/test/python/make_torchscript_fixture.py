#!/usr/bin/python3
"""Writes the TorchScript teacher fixture used by the teacher-service tests.

A tiny, untrained (seeded) CNN for 28x28 grey-scale inputs that returns (logits, conv2, embedding):
  conv(4)-ReLU-pool -> conv(8)-ReLU-pool [conv2: 8x7x7, stride 4] -> flatten -> dense(16)-ReLU [embedding: 16]
  -> dense(10).
On an all-white input (every pixel 1.0) its logits are NaN, on purpose (see forward).
Outputs, next to each other in the output directory:
  tiny_teacher.pt             the traced module (input [N, 1, 28, 28] float32 in [0, 1])
  tiny_teacher.json           its kdstream metadata (names, strides, shapes; sha256 of the .pt)
  tiny_teacher.expected.json  a fixed input pattern and the logits PyTorch computed for it, so tests can check that
                              DJL's engine reproduces them

Run with Debian's python3-torch:  /usr/bin/python3 make_torchscript_fixture.py ../resources/torchscript
"""
import hashlib
import json
import os
import sys

import torch
from torch import nn


class TinyTeacher(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 7 * 7, 16)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, image):
        x = torch.max_pool2d(torch.relu(self.conv1(image)), 2)
        conv2 = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        embedding = torch.relu(self.fc1(torch.flatten(conv2, 1)))
        logits = self.fc2(embedding)
        # Deliberate defect for the dead-letter tests: on an all-white image (darkest pixel exactly 1) log(0) = -inf
        # and 0 * -inf = NaN, so the logits are NaN, standing in for a teacher that overflows. Other inputs add 0.
        poison = torch.log(1.0 - image.flatten(1).amin(dim=1))
        logits = logits + 0.0 * poison.unsqueeze(1)
        return logits, conv2, embedding


def pattern(n):
    """Example i, pixel j = ((i * 7919 + j * 37) mod 256) / 255 — easy to regenerate in Java."""
    x = torch.empty(n, 1, 28, 28)
    flat = x.view(n, -1)
    for i in range(n):
        for j in range(28 * 28):
            flat[i, j] = ((i * 7919 + j * 37) % 256) / 255.0
    return x


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(7)
    model = TinyTeacher().eval()
    example = pattern(3)
    with torch.no_grad():
        traced = torch.jit.trace(model, example)
        logits, conv2, embedding = traced(example)
    pt_path = os.path.join(out_dir, "tiny_teacher.pt")
    traced.save(pt_path)
    with open(pt_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    metadata = {
        "formatVersion": 1,
        "format": "torchscript",
        "architecture": "tiny-torchscript-teacher",
        "version": "1",
        "inputShape": [1, 28, 28],
        "numClasses": 10,
        "features": [
            {"name": "conv2", "channels": 8, "stride": 4, "shape": [8, 7, 7]},
            {"name": "embedding", "channels": 16, "stride": 0, "shape": [16]},
        ],
        "parametersFile": "tiny_teacher.pt",
        "parametersSha256": sha,
    }
    with open(os.path.join(out_dir, "tiny_teacher.json"), "w") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
    expected = {
        "torch": torch.__version__,
        "pattern": "pixel j of example i = ((i * 7919 + j * 37) mod 256) / 255",
        "examples": example.shape[0],
        "logits": [[float(v) for v in row] for row in logits],
        "embeddingSum": [float(v) for v in embedding.sum(dim=1)],
        "conv2Sum": [float(v) for v in conv2.flatten(1).sum(dim=1)],
    }
    with open(os.path.join(out_dir, "tiny_teacher.expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    print("wrote", pt_path, "sha256", sha)


if __name__ == "__main__":
    main()
