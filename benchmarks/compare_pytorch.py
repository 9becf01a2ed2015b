"""Side by side on this machine: contra's training step and embedding against the PyTorch peer.

Runs `contra bench train --config C` and benchmarks/peers/torch_clip_cpu.py C, alternating, for
`rounds` rounds each, then `contra bench embed` and torch_clip_cpu_embed.py, and prints a table of
medians: ms per step for each, the ratio, and each process's peak resident memory.
usage: python3 benchmarks/compare_pytorch.py [--threads 2] [--rounds 3] [--steps 5] [CONFIG ...]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CONTRA = os.path.join(ROOT, "build", "bin", "contra")
PEERS = os.path.join(ROOT, "benchmarks", "peers")
PYTHON = "/usr/bin/python3"  # Debian's python3-torch


def run_json(command):
    """Runs a command and returns the JSON object on the last line of its output."""
    done = subprocess.run(command, check=True, capture_output=True, text=True)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--no-embed", action="store_true", help="skip the ViT-B/32 embedding comparison")
    parser.add_argument("configs", nargs="*", default=["tiny", "fmnist", "vitb32"])
    args = parser.parse_args()
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads), OPENBLAS_NUM_THREADS=str(args.threads))

    rows = []
    for config in args.configs:
        steps = str(2 if config == "vitb32" else args.steps)
        mine, theirs = [], []
        for _ in range(args.rounds):  # alternate, so that a noisy neighbour hits both
            mine.append(run_json([CONTRA, "bench", "train", "--config", config, "--steps", steps,
                                  "--threads", str(args.threads)]))
            theirs.append(run_json([PYTHON, os.path.join(PEERS, "torch_clip_cpu.py"), config, steps,
                                    str(args.threads)]))
        c_ms = statistics.median(r["ms_per_step"] for r in mine)
        p_ms = statistics.median(r["ms_per_step"] for r in theirs)
        rows.append((f"train {config} (batch {mine[0]['batch']})", f"{c_ms:,.0f} ms", f"{p_ms:,.0f} ms",
                     f"{p_ms / c_ms:.2f}x", max(r["peak_rss_mb"] for r in mine), max(r["peak_rss_mb"] for r in theirs)))
        print(json.dumps({"config": config, "contra": mine, "pytorch": theirs}), file=sys.stderr)

    if not args.no_embed:
        mine, theirs = [], []
        for _ in range(args.rounds):
            mine.append(run_json([CONTRA, "bench", "embed", "--threads", str(args.threads)]))
            theirs.append(run_json([PYTHON, os.path.join(PEERS, "torch_clip_cpu_embed.py"), str(args.threads)]))
        for what in ("image", "text"):
            c = statistics.median(r[f"{what}_per_s"] for r in mine)
            p = statistics.median(r[f"{what}_per_s"] for r in theirs)
            rows.append((f"ViT-B/32 {what} embedding (batch 16)", f"{c:.1f}/s", f"{p:.1f}/s", f"{c / p:.2f}x",
                         max(r["peak_rss_mb"] for r in mine), max(r["peak_rss_mb"] for r in theirs)))
        print(json.dumps({"embed": True, "contra": mine, "pytorch": theirs}), file=sys.stderr)

    print(f"{args.threads} threads, median of {args.rounds} alternating runs each")
    print(f"| {'work':<36} | {'contra':>10} | {'PyTorch':>10} | {'speed-up':>8} | {'contra RSS':>10} | {'PyTorch RSS':>11} |")
    print(f"|{'-' * 38}|{'-' * 12}|{'-' * 12}|{'-' * 10}|{'-' * 12}|{'-' * 13}|")
    for work, c, p, ratio, c_rss, p_rss in rows:
        print(f"| {work:<36} | {c:>10} | {p:>10} | {ratio:>8} | {c_rss:>7.0f} MB | {p_rss:>8.0f} MB |")


if __name__ == "__main__":
    main()
