#!/usr/bin/python3
"""Synthetic "coloured shapes" images and a TorchScript teacher trained on them, for bring-your-own-data tests and docs.

Images: 32x32 RGB (uint8, C x H x W), 5 classes, drawn by the rules below; ShapesDataset.java in the integration
tests draws by the same rules (with its own random numbers), so the teacher fits the images the tests generate.
  background: per channel a base level in [0, 100) plus per-pixel noise in [0, 40)
  shape:      one colour, per channel in [130, 256); centre (cx, cy) in [10, 22)^2; size r in [5, 9]
  class 0 square   |x-cx| <= r and |y-cy| <= r
  class 1 disc     (x-cx)^2 + (y-cy)^2 <= r^2
  class 2 h-bar    |y-cy| <= max(1, r // 3) and |x-cx| <= r + 3
  class 3 v-bar    |x-cx| <= max(1, r // 3) and |y-cy| <= r + 3
  class 4 cross    ||x-cx| - |y-cy|| <= 1 and |x-cx| <= r

Outputs:
  <resources>/shapes_teacher.pt    traced teacher, input [N, 3, 32, 32] float32 in [0, 1], returns (logits, conv2,
                                   embedding): conv(8)-ReLU-pool, conv(16)-ReLU-pool [conv2: 16x8x8, stride 4],
                                   dense(32)-ReLU [embedding: 32], dense(5); Adam 2e-3 with cosine decay, 6 epochs
  <resources>/shapes_teacher.json  its kdstream metadata (sha256 of the .pt)
  <resources>/shapes_student.pt    an untrained, scripted student for the same images: conv(6)-ReLU-pool,
                                   conv(12)-ReLU-pool, dense(5); returns the logits alone (+ shapes_student.json)
  --images DIR                     optionally also writes DIR/train/<class>/*.png and DIR/test/<class>/*.png

Run with Debian's python3-torch:
  /usr/bin/python3 make_shapes_teacher.py ../resources/torchscript [--images /tmp/shapes]
"""
import argparse
import hashlib
import json
import os
import struct
import zlib

import numpy as np
import torch
from torch import nn

CLASSES = ["square", "disc", "hbar", "vbar", "cross"]
SIZE = 32


def draw(rng, label):
    img = np.empty((3, SIZE, SIZE), dtype=np.int32)
    for c in range(3):
        img[c] = rng.integers(0, 100) + rng.integers(0, 40, size=(SIZE, SIZE))
    colour = rng.integers(130, 256, size=3)
    cx, cy = rng.integers(10, 22, size=2)
    r = int(rng.integers(5, 10))
    y, x = np.mgrid[0:SIZE, 0:SIZE]
    dx, dy = np.abs(x - cx), np.abs(y - cy)
    thin = max(1, r // 3)
    if label == 0:
        mask = (dx <= r) & (dy <= r)
    elif label == 1:
        mask = dx * dx + dy * dy <= r * r
    elif label == 2:
        mask = (dy <= thin) & (dx <= r + 3)
    elif label == 3:
        mask = (dx <= thin) & (dy <= r + 3)
    else:
        mask = (np.abs(dx - dy) <= 1) & (dx <= r)
    for c in range(3):
        img[c][mask] = colour[c]
    return np.clip(img, 0, 255).astype(np.uint8)


def dataset(seed, n):
    rng = np.random.default_rng(seed)
    labels = np.arange(n) % len(CLASSES)
    rng.shuffle(labels)
    return np.stack([draw(rng, int(k)) for k in labels]), labels


def write_png(path, chw):
    h, w = chw.shape[1], chw.shape[2]
    rows = np.transpose(chw, (1, 2, 0)).reshape(h, w * 3)
    raw = b"".join(b"\x00" + rows[i].tobytes() for i in range(h))

    def chunk(kind, data):
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)

    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n")
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)))
        f.write(chunk(b"IDAT", zlib.compress(raw, 9)))
        f.write(chunk(b"IEND", b""))


def write_folder(root, images, labels):
    for k, name in enumerate(CLASSES):
        os.makedirs(os.path.join(root, name), exist_ok=True)
    for i, (img, k) in enumerate(zip(images, labels)):
        write_png(os.path.join(root, CLASSES[int(k)], "%05d.png" % i), img)


class ShapesTeacher(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 8, 3, padding=1)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.fc1 = nn.Linear(16 * 8 * 8, 32)
        self.fc2 = nn.Linear(32, len(CLASSES))

    def forward(self, image):
        x = torch.max_pool2d(torch.relu(self.conv1(image)), 2)
        conv2 = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        embedding = torch.relu(self.fc1(torch.flatten(conv2, 1)))
        return self.fc2(embedding), conv2, embedding


class ShapesStudent(nn.Module):
    """The student a user would write for these images: smaller than the teacher, untrained, scripted."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv2d(3, 6, 3, padding=1)
        self.conv2 = nn.Conv2d(6, 12, 3, padding=1)
        self.fc = nn.Linear(12 * 8 * 8, len(CLASSES))

    def forward(self, image):
        x = torch.max_pool2d(torch.relu(self.conv1(image)), 2)
        x = torch.max_pool2d(torch.relu(self.conv2(x)), 2)
        return self.fc(torch.flatten(x, 1))


def write_student(out_dir):
    torch.manual_seed(5)
    scripted = torch.jit.script(ShapesStudent().eval())
    pt_path = os.path.join(out_dir, "shapes_student.pt")
    scripted.save(pt_path)
    with open(pt_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    metadata = {
        "formatVersion": 1,
        "format": "torchscript",
        "architecture": "shapes-torchscript-student",
        "version": "1",
        "inputShape": [3, SIZE, SIZE],
        "numClasses": len(CLASSES),
        "features": [],
        "parametersFile": "shapes_student.pt",
        "parametersSha256": sha,
    }
    with open(os.path.join(out_dir, "shapes_student.json"), "w") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
    print("wrote", pt_path, "sha256", sha)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("out", nargs="?", default=".")
    parser.add_argument("--images", help="also write train/ and test/ image folders here")
    parser.add_argument("--train", type=int, default=4000)
    parser.add_argument("--test", type=int, default=1000)
    args = parser.parse_args()
    torch.manual_seed(11)
    torch.set_num_threads(1)
    x_train, y_train = dataset(1, args.train)
    x_test, y_test = dataset(2, args.test)
    if args.images:
        write_folder(os.path.join(args.images, "train"), x_train, y_train)
        write_folder(os.path.join(args.images, "test"), x_test, y_test)
    model = ShapesTeacher()
    optimizer = torch.optim.Adam(model.parameters(), lr=2e-3)
    epochs = 6
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * ((args.train + 63) // 64))
    xt = torch.tensor(x_train, dtype=torch.float32) / 255.0
    yt = torch.tensor(y_train, dtype=torch.long)
    for epoch in range(epochs):
        model.train()
        order = torch.randperm(len(xt))
        for start in range(0, len(xt), 64):
            idx = order[start:start + 64]
            loss = nn.functional.cross_entropy(model(xt[idx])[0], yt[idx])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
        model.eval()
        with torch.no_grad():
            pred = model(torch.tensor(x_test, dtype=torch.float32) / 255.0)[0].argmax(1).numpy()
        accuracy = float((pred == y_test).mean())
        print("epoch %d: loss %.4f, test accuracy %.4f" % (epoch + 1, loss.item(), accuracy))
    os.makedirs(args.out, exist_ok=True)
    with torch.no_grad():
        traced = torch.jit.trace(model, torch.rand(2, 3, SIZE, SIZE))
    pt_path = os.path.join(args.out, "shapes_teacher.pt")
    traced.save(pt_path)
    with open(pt_path, "rb") as f:
        sha = hashlib.sha256(f.read()).hexdigest()
    metadata = {
        "formatVersion": 1,
        "format": "torchscript",
        "architecture": "shapes-torchscript-teacher",
        "version": "1",
        "inputShape": [3, SIZE, SIZE],
        "numClasses": len(CLASSES),
        "features": [
            {"name": "conv2", "channels": 16, "stride": 4, "shape": [16, 8, 8]},
            {"name": "embedding", "channels": 32, "stride": 0, "shape": [32]},
        ],
        "parametersFile": "shapes_teacher.pt",
        "parametersSha256": sha,
        "testAccuracy": accuracy,
    }
    with open(os.path.join(args.out, "shapes_teacher.json"), "w") as f:
        json.dump(metadata, f, indent=2)
        f.write("\n")
    print("wrote", pt_path, "sha256", sha, "test accuracy", accuracy)
    write_student(args.out)


if __name__ == "__main__":
    main()
