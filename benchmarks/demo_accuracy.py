"""Accuracy of the demo: 5-fold CV of the CNN and the AST on the built-in set, as JSON.

Runs ``ast_lab.demo.run_demo`` with ``resume=True`` into ``--run-dir``, so after ``make demo``
(same folder) it only reads the finished folds back; then writes per-model mean ± std,
per-fold accuracy and wall time to ``benchmarks/results/demo_accuracy.json``. Target: both
models >= 0.90 mean accuracy.

    python benchmarks/demo_accuracy.py                 # reuses runs/demo if it is complete
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
from pathlib import Path

import torch

from ast_lab.demo import demo_settings, run_demo
from ast_lab.metrics import code_version, results_table

RESULTS = Path(__file__).parent / "results" / "demo_accuracy.json"
TARGET = 0.90


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--run-dir", type=Path, default=Path("runs/demo"))
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()

    settings = demo_settings(quick=False)
    results = run_demo(args.run_dir, settings, resume=True)
    report = {
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch threads",
        "torch": torch.__version__,
        "version": code_version(),
        "settings": dataclasses.asdict(settings),
        "target_mean_accuracy": TARGET,
        "models": {
            r.model: {
                "summary": {k: {"mean": m, "std": s} for k, (m, s) in r.summary().items()},
                "fold_accuracy": {f.test_fold: f.metrics.accuracy for f in r.folds},
                "epochs_run": {f.test_fold: f.epochs_run for f in r.folds},
                "seconds": r.seconds,
                "meets_target": r.summary()["accuracy"][0] >= TARGET,
            }
            for r in results
        },
        "table": results_table(results),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2, default=str) + "\n")
    print(report["table"])
    for model, entry in report["models"].items():
        print(f"{model}: {entry['seconds'] / 60:.1f} min of training, "
              f"target {'met' if entry['meets_target'] else 'MISSED'}")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
