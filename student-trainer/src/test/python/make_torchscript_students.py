#!/usr/bin/python3
"""Writes the TorchScript student fixtures used by the student-trainer tests.

Two small, untrained (seeded) students, each a scripted module that takes [N, C, H, W] float32 in [0, 1]:
  tiny_student_28   [1, 28, 28] -> 10 classes, returns (logits, conv2, embedding):
                    conv(4)-ReLU-pool -> conv(8)-ReLU-pool [conv2: 8x7x7, stride 4] -> flatten
                    -> dense(16)-ReLU [embedding: 16] -> dropout(0.1) -> dense(10)
                    (the dropout is active in training mode only: it exercises the trainer's per-step seeding)
  tiny_student_32   [3, 32, 32] -> 5 classes, returns the logits alone:
                    conv(4, stride 2)-ReLU -> conv(8, stride 2)-ReLU -> global average pool -> dense(5)
Outputs, next to each other in the output directory, for each student NAME:
  NAME.pt             the scripted module
  NAME.json           its kdstream metadata (input shape, class count, feature names/strides/shapes; sha256 of the .pt)
  NAME.expected.json  a fixed input pattern and the logits PyTorch computed for it in eval mode, so tests can check
                      that DJL's engine reproduces them

Run with Debian's python3-torch:  /usr/bin/python3 make_torchscript_students.py ../resources/torchscript
"""
import hashlib
import json
import os
import sys

import torch
from torch import nn


class TinyStudent28(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 4, 3, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, padding=1)
        self.fc1 = nn.Linear(8 * 7 * 7, 16)
        self.drop = nn.Dropout(0.1)
        self.fc2 = nn.Linear(16, 10)

    def forward(self, image):
        x = torch.max_pool2d(torch.relu(self.conv1(image)), 2)
        conv2 = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        embedding = torch.relu(self.fc1(torch.flatten(conv2, 1)))
        return self.fc2(self.drop(embedding)), conv2, embedding


class TinyStudent32(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 4, 3, stride=2, padding=1)
        self.conv2 = nn.Conv2d(4, 8, 3, stride=2, padding=1)
        self.fc = nn.Linear(8, 5)

    def forward(self, image):
        x = torch.relu(self.conv1(image))
        x = torch.relu(self.conv2(x))
        return self.fc(x.mean(dim=(2, 3)))


def pattern(n, shape):
    """Example i, element j (row-major) = ((i * 7919 + j * 37) mod 256) / 255 — easy to regenerate in Java."""
    size = 1
    for d in shape:
        size *= d
    flat = torch.empty(n, size)
    for i in range(n):
        for j in range(size):
            flat[i, j] = ((i * 7919 + j * 37) % 256) / 255.0
    return flat.view(n, *shape)


def write(out_dir, name, model, input_shape, num_classes, features, seed):
    model = model.eval()
    scripted = torch.jit.script(model)
    pt_path = os.path.join(out_dir, name + ".pt")
    scripted.save(pt_path)
    with open(pt_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    metadata = {
        "formatVersion": 1,
        "format": "torchscript",
        "architecture": name.replace("_", "-"),
        "version": "1",
        "inputShape": input_shape,
        "numClasses": num_classes,
        "features": features,
        "parametersFile": name + ".pt",
        "parametersSha256": sha,
    }
    with open(os.path.join(out_dir, name + ".json"), "w") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
    example = pattern(3, input_shape)
    with torch.no_grad():
        out = scripted(example)
    logits = out[0] if isinstance(out, tuple) else out
    expected = {
        "torch": torch.__version__,
        "seed": seed,
        "pattern": "element j of example i = ((i * 7919 + j * 37) mod 256) / 255",
        "examples": example.shape[0],
        "logits": [[float(v) for v in row] for row in logits],
    }
    with open(os.path.join(out_dir, name + ".expected.json"), "w") as f:
        json.dump(expected, f, indent=2)
        f.write("\n")
    print("wrote", pt_path, "sha256", sha, "parameters", sum(p.numel() for p in model.parameters()))


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "."
    os.makedirs(out_dir, exist_ok=True)
    torch.manual_seed(11)
    write(out_dir, "tiny_student_28", TinyStudent28(), [1, 28, 28], 10, [
        {"name": "conv2", "channels": 8, "stride": 4, "shape": [8, 7, 7]},
        {"name": "embedding", "channels": 16, "stride": 0, "shape": [16]},
    ], 11)
    torch.manual_seed(13)
    write(out_dir, "tiny_student_32", TinyStudent32(), [3, 32, 32], 5, [], 13)


if __name__ == "__main__":
    main()
