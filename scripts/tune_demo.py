"""Score a variant of the demo's settings on its validation splits and log it.

    python scripts/tune_demo.py --model ast --folds 1,2 --set ast_train.epochs=10
    python scripts/tune_demo.py --model cnn --set cnn_train.epochs=3 --set cnn.channels=(16,32)

Appends one row to ``results/tuning/demo.md`` (``ast_lab.demo_tuning``); the test folds'
accuracy is never printed or read. Runs go under ``runs/tuning/demo/`` (one folder per
variant, replaced by a rerun).
"""

from __future__ import annotations

import argparse
import hashlib
from pathlib import Path

from ast_lab.cli import parse_folds
from ast_lab.demo import demo_settings
from ast_lab.demo_tuning import MODELS, tune_demo
from ast_lab.tuning import parse_setting

LOG = Path("results/tuning/demo.md")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=MODELS, required=True)
    parser.add_argument("--folds", type=parse_folds, help="test folds to run (default: all)")
    parser.add_argument("--set", dest="settings", action="append", default=[],
                        metavar="PART.FIELD=VALUE", type=parse_setting,
                        help="replace a demo setting, e.g. ast_train.epochs=10 (repeatable)")
    parser.add_argument("--log", type=Path, default=LOG)
    parser.add_argument("--runs", type=Path, default=Path("runs/tuning/demo"))
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args()
    settings = dict(args.settings)
    tag = hashlib.sha256(repr(sorted(settings.items())).encode()).hexdigest()[:8]
    score = tune_demo(args.model, demo_settings(quick=False), settings, folds=args.folds,
                      out_dir=args.runs / f"{args.model}-{tag}", log=args.log,
                      progress=not args.no_progress)
    print(f"{args.model} {settings or '(as set)'}: validation accuracy {score.mean:.3f} "
          f"({score.minutes:.2f} min of training); logged in {args.log}")


if __name__ == "__main__":
    main()
