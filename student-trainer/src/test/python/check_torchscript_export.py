#!/usr/bin/python3
"""Opt-in check (not run by the build) that PyTorch loads a TorchScript student exported by kdstream and computes the
logits Java computed for it.

TorchScriptStudentTest leaves, under student-trainer/target/torchscript-export/:
  student.pt         the student after a few training steps, exported by the trainer
  java-logits.json   the input pattern, its shape and the logits DJL computed with the trained block (inference mode)
This script torch.jit.loads student.pt, runs it on the same pattern in eval mode and prints the largest absolute
difference; it exits non-zero when that exceeds the tolerance (default 1e-6).

  ./mvnw -o -B test -pl student-trainer -am -Dtest=TorchScriptStudentTest -Dsurefire.failIfNoSpecifiedTests=false
  /usr/bin/python3 student-trainer/src/test/python/check_torchscript_export.py student-trainer/target/torchscript-export
"""
import json
import os
import sys

import torch


def pattern(n, shape):
    size = 1
    for d in shape:
        size *= d
    flat = torch.empty(n, size)
    for i in range(n):
        for j in range(size):
            flat[i, j] = ((i * 7919 + j * 37) % 256) / 255.0
    return flat.view(n, *shape)


def main():
    directory = sys.argv[1] if len(sys.argv) > 1 else "target/torchscript-export"
    tolerance = float(sys.argv[2]) if len(sys.argv) > 2 else 1e-6
    with open(os.path.join(directory, "java-logits.json")) as f:
        expected = json.load(f)
    module = torch.jit.load(os.path.join(directory, "student.pt"))
    module.eval()
    with torch.no_grad():
        out = module(pattern(expected["examples"], expected["inputShape"]))
    logits = out[0] if isinstance(out, tuple) else out
    java = torch.tensor(expected["logits"], dtype=torch.float32)
    diff = (logits - java).abs().max().item()
    print("torch", torch.__version__, "examples", expected["examples"], "max abs difference", diff)
    sys.exit(0 if diff <= tolerance else 1)


if __name__ == "__main__":
    main()
