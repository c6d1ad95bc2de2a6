#!/usr/bin/env python3
"""Summary of kd-acceptance.sh runs: per arm mean ± sd over seeds, gain over the arm's labels-only student in pp,
Welch's t-test p-value (two-sided), and the share of the teacher-student gap recovered. Standard library only.

Usage: acceptance_summary.py RESULTS_TSV TEACHER_ACCURACY [SUMMARY_CSV]
"""
import csv
import math
import statistics
import sys

# which labels-only variant each arm is compared with
BASELINE = {"kd": "labels", "kd+feature": "labels", "kd@5": "labels@5", "ema@5": "labels@5"}


def baseline(variant):
    """The labels-only arm a variant is compared with: the table above, else by name for CUSTOM sweep variants."""
    if variant in BASELINE:
        return BASELINE[variant]
    if variant.startswith(("kd", "ema")):
        return "labels@5" if "@5" in variant else "labels"
    return None


def betacf(a, b, x):
    """Continued fraction of the incomplete beta function (modified Lentz)."""
    tiny = 1e-300
    qab, qap, qam = a + b, a + 1.0, a - 1.0
    c, d = 1.0, 1.0 - qab * x / qap
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 300):
        m2 = 2 * m
        aa = m * (b - m) * x / ((qam + m2) * (a + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        h *= d * c
        aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2))
        d = 1.0 + aa * d
        d = 1.0 / (d if abs(d) > tiny else tiny)
        c = 1.0 + aa / c
        c = c if abs(c) > tiny else tiny
        delta = d * c
        h *= delta
        if abs(delta - 1.0) < 1e-15:
            break
    return h


def betainc(a, b, x):
    """Regularised incomplete beta I_x(a, b)."""
    if x <= 0:
        return 0.0
    if x >= 1:
        return 1.0
    front = math.exp(math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(1 - x))
    if x < (a + 1) / (a + b + 2):
        return front * betacf(a, b, x) / a
    return 1.0 - front * betacf(b, a, 1 - x) / b


def welch(x, y):
    """Welch's t statistic, degrees of freedom and two-sided p-value for mean(x) != mean(y)."""
    nx, ny = len(x), len(y)
    if nx < 2 or ny < 2:
        return None
    vx, vy = statistics.variance(x) / nx, statistics.variance(y) / ny
    if vx + vy == 0:
        return (math.inf if statistics.mean(x) != statistics.mean(y) else 0.0), float("nan"), \
            (0.0 if statistics.mean(x) != statistics.mean(y) else 1.0)
    t = (statistics.mean(x) - statistics.mean(y)) / math.sqrt(vx + vy)
    df = (vx + vy) ** 2 / (vx ** 2 / (nx - 1) + vy ** 2 / (ny - 1))
    p = betainc(df / 2, 0.5, df / (df + t * t))
    return t, df, p


def main():
    rows = list(csv.DictReader(open(sys.argv[1]), delimiter="\t"))
    teacher = float(sys.argv[2]) * 100
    out_csv = sys.argv[3] if len(sys.argv) > 3 else None
    acc = {}
    failed = [r for r in rows if r["accuracy"] == "failed"]
    for r in rows:
        if r["accuracy"] != "failed":
            acc.setdefault(r["variant"], []).append(float(r["accuracy"]) * 100)
    order = [v for v in ("labels", "kd", "kd+feature", "labels@5", "kd@5", "ema@5") if v in acc]
    order += [v for v in acc if v not in order]
    print("| arm (mean ± sd over seeds) | n | test accuracy % | vs labels-only (pp) | Welch p | gap recovered |")
    print("| --- | --- | --- | --- | --- | --- |")
    print(f"| teacher | | {teacher:.2f} | | | |")
    summary = []
    for v in order:
        xs = acc[v]
        m = statistics.mean(xs)
        sd = statistics.stdev(xs) if len(xs) > 1 else 0.0
        base = baseline(v)
        gain = p = gap = None
        if base in acc:
            b = statistics.mean(acc[base])
            gain = m - b
            w = welch(xs, acc[base])
            p = None if w is None else w[2]
            gap = (m - b) / (teacher - b) * 100 if teacher != b else None
        cells = [f"{gain:+.2f}" if gain is not None else "", f"{p:.2g}" if p is not None else "",
                 f"{gap:.0f}%" if gap is not None else ""]
        print(f"| {v} | {len(xs)} | {m:.2f} ± {sd:.2f} | " + " | ".join(cells) + " |")
        summary.append({"arm": v, "n": len(xs), "mean": f"{m:.4f}", "sd": f"{sd:.4f}", "baseline": base or "",
                        "gain_pp": "" if gain is None else f"{gain:.4f}", "welch_p": "" if p is None else f"{p:.6g}",
                        "gap_recovered_pct": "" if gap is None else f"{gap:.2f}", "teacher": f"{teacher:.4f}"})
    if "kd@5" in acc and "labels" in acc:
        d = statistics.mean(acc["kd@5"]) - statistics.mean(acc["labels"])
        w = welch(acc["kd@5"], acc["labels"])
        print(f"\nkd@5 vs fully labelled labels-only: {d:+.2f} pp"
              + ("" if w is None else f" (Welch p {w[2]:.2g})"))
    print()
    print("per seed:", "; ".join(f"{r['variant']} seed {r['seed']}: "
          + ("failed" if r["accuracy"] == "failed" else f"{float(r['accuracy']) * 100:.2f}") for r in rows))
    if failed:
        print(f"{len(failed)} run(s) failed and are not in the means: see train-<variant>-<seed>.log")
    if out_csv:
        with open(out_csv, "w", newline="") as f:
            w = csv.DictWriter(f, fieldnames=list(summary[0].keys()) if summary else ["arm"])
            w.writeheader()
            w.writerows(summary)


if __name__ == "__main__":
    main()
