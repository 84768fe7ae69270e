"""Trainer step on the CPU: throughput and peak memory of sapiens_tiny pose training, with and without activation
checkpointing (the baseline, in the same run). Each variant runs in its own process so peak RSS is its own.

    python -m bench.bench_train
"""

from __future__ import annotations

import json
import subprocess
import sys

CHILD = r"""
import json, resource, sys, time, torch
sys.argv = ["x"]
from bench.gpu_train import measure
torch.set_num_threads(2)
r = measure("sapiens_tiny", 2, 6, 2, torch.device("cpu"), (192, 256), {ac}, None)
r["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps(r))
"""


def run(activation_checkpointing: bool) -> dict:
    out = subprocess.run(
        [sys.executable, "-c", CHILD.format(ac=activation_checkpointing)], capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    base, ac = run(False), run(True)
    for label, r in (("baseline (no activation checkpointing)", base), ("activation checkpointing", ac)):
        print(f"{label:40s} {r['images_per_s']:6.2f} img/s  peak RSS {r['peak_rss_mib']:7.1f} MiB")
    print(
        f"activation checkpointing: {ac['images_per_s'] / base['images_per_s']:.2f}x the speed, "
        f"{ac['peak_rss_mib'] - base['peak_rss_mib']:+.1f} MiB peak RSS"
    )


if __name__ == "__main__":
    main()
