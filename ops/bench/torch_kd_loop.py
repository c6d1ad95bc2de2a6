#!/usr/bin/python3
"""The training loop a user would write instead of kdstream: plain eager PyTorch knowledge distillation over logits
in memory, for comparison with `kdstream train benchmark --memory-only` (ops/bench/torch-compare.sh runs both).

It trains the same students as kdstream's zoo (fmnist-mlp-student, fmnist-tinycnn-student; same layers and shapes),
with kdstream's default loss and optimizer:

  loss = (1 - alpha) * CE(z_s, y) + alpha * T^2 * mean_i KL(softmax(z_t / T) || softmax(z_s / T)),  T = 4, alpha = 0.7
  Adam, lr 0.001, betas (0.9, 0.999), eps 1e-8, no weight decay

on the same batches: the first --records Fashion-MNIST training images in file order, pixels / 255, cut into
consecutive batches (a remainder left out), step s on batch s mod count, with the teacher logits of --logits
(records x 10 little-endian float32, row-major) or seeded synthetic ones. Everything is built as tensors before the
timed loop. One intra-op thread unless --threads says otherwise.

  torch_kd_loop.py --write-logits FILE [--records N] [--seed S]     write synthetic teacher logits and exit
  torch_kd_loop.py --student NAME --batch B [--steps N] [--warmup N] [--logits FILE] [--records N]

Prints 'pytorch: <samples/s> samples/s' (wall clock) and 'pytorch cpu: <rate> samples per CPU-second of the training
thread' (steadier on a shared machine; with one intra-op thread the engine computes on that thread) on its last lines.
"""
import argparse
import gzip
import os
import struct
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

NUM_CLASSES = 10
TEMPERATURE = 4.0
ALPHA = 0.7
LEARNING_RATE = 1e-3
BETAS = (0.9, 0.999)
EPS = 1e-8
SYNTHETIC_MARGIN = 4.0


def read_idx(path, magic):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    found, count = struct.unpack(">II", data[:8])
    if found != magic:
        sys.exit(f"not an IDX file with magic {magic:#x}: {path}")
    if magic == 0x803:
        rows, cols = struct.unpack(">II", data[8:16])
        return np.frombuffer(data, dtype=np.uint8, offset=16).reshape(count, rows, cols)
    return np.frombuffer(data, dtype=np.uint8, offset=8).astype(np.int64)


def idx_file(data_dir, stem):
    for name in (stem + ".gz", stem):
        path = os.path.join(data_dir, name)
        if os.path.isfile(path):
            return path
    sys.exit(f"Fashion-MNIST not found: {os.path.join(data_dir, stem)}(.gz) is missing")


def load_train(data_dir, records):
    images = read_idx(idx_file(data_dir, "train-images-idx3-ubyte"), 0x803)[:records]
    labels = read_idx(idx_file(data_dir, "train-labels-idx1-ubyte"), 0x801)[:records]
    return images, labels


def synthetic_logits(labels, seed):
    rng = np.random.default_rng(seed)
    logits = rng.standard_normal((len(labels), NUM_CLASSES)).astype(np.float32)
    logits[np.arange(len(labels)), labels] += SYNTHETIC_MARGIN
    return logits


def mlp_student():
    # fmnist-mlp-student: flatten -> dense(112)-ReLU -> dense(64)-ReLU -> dense(10); 95,802 parameters
    return nn.Sequential(nn.Flatten(), nn.Linear(784, 112), nn.ReLU(), nn.Linear(112, 64), nn.ReLU(),
                         nn.Linear(64, NUM_CLASSES))


def tiny_cnn_student():
    # fmnist-tinycnn-student: conv(8)-ReLU-pool -> conv(16)-ReLU-pool -> flatten -> dense(64)-ReLU -> dense(10);
    # 3x3 kernels, padding 1, 2x2 max pooling; 52,138 parameters
    return nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                         nn.Flatten(), nn.Linear(16 * 7 * 7, 64), nn.ReLU(), nn.Linear(64, NUM_CLASSES))


STUDENTS = {"fmnist-mlp-student": mlp_student, "fmnist-tinycnn-student": tiny_cnn_student}


def kd_loss(student_logits, teacher_logits, labels):
    task = F.cross_entropy(student_logits, labels)
    log_ps = F.log_softmax(student_logits / TEMPERATURE, dim=1)
    log_pt = F.log_softmax(teacher_logits / TEMPERATURE, dim=1)
    kd = F.kl_div(log_ps, log_pt, log_target=True, reduction="batchmean") * (TEMPERATURE * TEMPERATURE)
    return (1 - ALPHA) * task + ALPHA * kd


def batches(images, labels, logits, batch):
    count = len(labels) // batch
    if count == 0:
        sys.exit(f"need at least one full batch: {len(labels)} records, batch size {batch}")
    x = torch.from_numpy(images[:count * batch].astype(np.float32) / 255.0).reshape(count * batch, 1, 28, 28)
    y = torch.from_numpy(labels[:count * batch].copy())
    t = torch.from_numpy(logits[:count * batch].copy())
    return [(x[i * batch:(i + 1) * batch].contiguous(), y[i * batch:(i + 1) * batch].contiguous(),
             t[i * batch:(i + 1) * batch].contiguous()) for i in range(count)]


def train(model, data, warmup, steps):
    optimizer = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE, betas=BETAS, eps=EPS, weight_decay=0)
    model.train()

    def step(s):
        x, y, t = data[s % len(data)]
        optimizer.zero_grad()
        loss = kd_loss(model(x), t, y)
        loss.backward()
        optimizer.step()
        return loss.item()

    for s in range(warmup):
        step(s)
    c0 = time.thread_time()
    t0 = time.perf_counter()
    last = 0.0
    for s in range(warmup, warmup + steps):
        last = step(s)
    return time.perf_counter() - t0, time.thread_time() - c0, last


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--student", choices=sorted(STUDENTS))
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--records", type=int, default=10000)
    p.add_argument("--data", default="/usr/share/datasets/fashion-mnist")
    p.add_argument("--logits", help="teacher logits file (records x 10 float32 LE); synthetic when absent")
    p.add_argument("--write-logits", metavar="FILE", help="write seeded synthetic teacher logits and exit")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=1)
    a = p.parse_args()

    images, labels = load_train(a.data, a.records)
    if a.write_logits:
        synthetic_logits(labels, a.seed).astype("<f4").tofile(a.write_logits)
        print(f"wrote {len(labels)} x {NUM_CLASSES} teacher logits to {a.write_logits}")
        return
    if not a.student:
        p.error("--student is required unless --write-logits is given")
    if a.logits:
        raw = np.fromfile(a.logits, dtype="<f4")
        if raw.size < len(labels) * NUM_CLASSES or raw.size % NUM_CLASSES:
            sys.exit(f"{a.logits}: {raw.size} floats, expected at least {len(labels) * NUM_CLASSES} (whole records)")
        logits = raw[:len(labels) * NUM_CLASSES].reshape(len(labels), NUM_CLASSES).astype(np.float32)
        source = a.logits
    else:
        logits = synthetic_logits(labels, a.seed)
        source = f"synthetic (seed {a.seed})"

    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    data = batches(images, labels, logits, a.batch)
    model = STUDENTS[a.student]()
    elapsed, cpu, last = train(model, data, a.warmup, a.steps)
    params = sum(t.numel() for t in model.parameters())
    print(f"student: {a.student} ({params} parameters), batch size: {a.batch}, steps: {a.steps} (after {a.warmup} "
          f"warm-up), distinct batches: {len(data)}, teacher logits: {source}, torch {torch.__version__}, "
          f"threads: {torch.get_num_threads()}, last loss: {last:.4f}")
    print(f"per step (ms): {1000 * elapsed / a.steps:.3f}, training thread CPU {1000 * cpu / a.steps:.3f}")
    print(f"pytorch: {a.batch * a.steps / elapsed:.0f} samples/s")
    print(f"pytorch cpu: {a.batch * a.steps / cpu:.0f} samples per CPU-second of the training thread")


if __name__ == "__main__":
    main()
