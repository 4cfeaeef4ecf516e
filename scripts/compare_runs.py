"""Compare finished k-fold runs of different models on the same clips, class by class and clip
by clip.

    python scripts/compare_runs.py results/esc10/esc10-cnn results/esc10/esc10-ast \
        --out results/esc10/comparison

Writes ``per_class_accuracy.png`` (every run) and ``comparison.md`` (``ast_lab.run_comparison``:
the right/wrong table, McNemar's test, the ensemble, per pair of runs) into ``--out`` and prints
the report. Runs are named by their folders (``esc10-ast-distilled``) unless ``--names`` says.
"""

from __future__ import annotations

import argparse
import itertools
import sys
from pathlib import Path
from typing import Optional, Sequence

from ast_lab.metrics import Results
from ast_lab.run_comparison import disagreement, ensemble_accuracy, plot_per_class_accuracy


def run_names(folders: Sequence[Path]) -> list[str]:
    """The folders' names (``esc10-cnn``), or their paths where names repeat."""
    names = [f.name for f in folders]
    return names if len(set(names)) == len(names) else [str(f) for f in folders]


def report(runs: dict[str, Results]) -> str:
    """The markdown report: one section per pair of runs, then the ensemble of all of them."""
    sections = [disagreement(a, b, (na, nb)).to_markdown()
                for (na, a), (nb, b) in itertools.combinations(runs.items(), 2)]
    if len(runs) > 2:
        sections.append(f"Averaging all {len(runs)} runs' probabilities: accuracy "
                        f"{ensemble_accuracy(runs):.4f}.")
    return "# Run comparison\n\n" + "\n\n".join(sections) + "\n"


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("runs", nargs="+", type=Path, help="run folders (each has results.json)")
    parser.add_argument("--out", type=Path, required=True, help="folder for the PNG and report")
    parser.add_argument("--names", nargs="+", help="a name per run (default: folder names)")
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        parser.error("give at least two run folders")
    names = args.names or run_names(args.runs)
    if len(names) != len(args.runs) or len(set(names)) != len(names):
        parser.error("--names needs one different name per run")
    missing = [str(f) for f in args.runs if not (f / "results.json").is_file()]
    if missing:
        print(f"error: no results.json in {', '.join(missing)}", file=sys.stderr)
        return 1
    loaded = [Results.load(f) for f in args.runs]
    try:
        runs = dict(zip(names, loaded))
        text = report(runs)
        fig = plot_per_class_accuracy(runs)
    except ValueError as err:
        print(f"error: the runs cannot be compared: {err}", file=sys.stderr)
        return 1
    args.out.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.out / "per_class_accuracy.png", dpi=100, bbox_inches="tight")
    (args.out / "comparison.md").write_text(text)
    print(text, end="")
    print(f"wrote {args.out / 'per_class_accuracy.png'} and {args.out / 'comparison.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
