"""``ast-lab predict`` (ask a trained model about recordings) and ``ast-lab export`` (turn
one fold of a run into weights and a model card); the work is in ``ast_lab.classifier`` and
``ast_lab.model_card``.

    ast-lab predict dog.wav street.flac                 # the shipped ESC-10 model
    ast-lab predict clip.ogg --run runs/esc10/esc10-cnn --top 3 --json
    ast-lab predict clip.wav --weights ast-finetuned-audioset-10-10-0.4593   # Hugging Face's
    ast-lab predict clip.wav --weights audioset_10_10_0.4593.pth --labels class_labels_indices.csv
    ast-lab export --run runs/model/esc10-ast-distilled --fold 1 --recipe esc10-ast-distilled

``export`` writes into ``./exported`` unless ``--out`` names another folder: the package's
shipped model (``ast_lab/assets/model``) is replaced only when named, as ``make model`` does.
Each file is scored on its own: one that cannot be read, is empty or holds non-finite samples
gets a message naming it on stderr (and an ``"error"`` entry with ``--json``), the others are
still scored, and the exit status is 1 if any file failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from .classifier import SILENCE_DBFS, Classifier, FilePrediction
from .cli_options import check_out_folder
from .model_card import EXPORT_DIR, SHIPPED_CARD, export_model, load_card
from .pretrained_classifier import pretrained_classifier
from .recipes import RECIPES


def add_predict_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "predict", help="the top classes of audio files, from the shipped model or a run")
    parser.add_argument("files", nargs="+", type=Path, metavar="FILE",
                        help="audio files (wav, flac, ogg, mp3; any rate, channels and length)")
    parser.add_argument("--run", dest="run_dir", type=Path,
                        help="a run folder from `ast-lab train` (default: the shipped model, "
                        f"{SHIPPED_CARD.name})")
    parser.add_argument("--fold", type=int,
                        help="with --run: only this fold's model (default: all folds, averaged)")
    parser.add_argument("--weights", type=Path, metavar="PATH",
                        help="published weights instead: a Hugging Face ASTForAudioClassification "
                        "folder, or an AST authors' .pth checkpoint")
    parser.add_argument("--labels", type=Path, metavar="CSV",
                        help="with an authors' .pth: its class names, AudioSet's "
                        "class_labels_indices.csv (default: that file beside the .pth)")
    parser.add_argument("--top", type=int, default=5, help="classes shown per file (default 5)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.set_defaults(run=run_predict)


def load_classifier(args: argparse.Namespace) -> Classifier:
    """Published weights (``--weights``), the run's fold models (``--run``), else the shipped
    model."""
    if args.weights is not None:
        if args.run_dir is not None or args.fold is not None:
            raise ValueError("--weights scores with published weights: leave out --run and --fold")
        return pretrained_classifier(args.weights, args.labels)
    if args.labels is not None:
        raise ValueError("--labels names the classes of --weights: give --weights too")
    if args.run_dir is not None:
        return Classifier.from_run(args.run_dir, fold=args.fold)
    if args.fold is not None:
        raise ValueError("--fold needs --run: the shipped model is one model")
    return load_card(SHIPPED_CARD)


def describe_prediction(prediction: FilePrediction, k: int) -> str:
    """Text for one file: a header line, then one line per class."""
    windows = "1 window" if prediction.windows == 1 else f"{prediction.windows} windows"
    head = f"{prediction.file} ({prediction.seconds:.2f} s, {windows})"
    if prediction.silent:
        return f"{head}\n  silent (peak below {SILENCE_DBFS:g} dBFS): no class given"
    return "\n".join([head] + [f"  {p:6.1%}  {name}" for name, _, p in prediction.top(k)])


def run_predict(args: argparse.Namespace) -> int:
    """Score every file; report each failure by name and carry on; 1 if any failed."""
    if args.top < 1:
        raise ValueError(f"--top must be at least 1, got {args.top}")
    classifier = load_classifier(args)
    k = min(args.top, len(classifier.class_names))
    entries, failed = [], 0
    for path in args.files:
        try:
            prediction = classifier.classify_file(path)
        except (ValueError, OSError) as err:
            failed += 1
            print(f"ast-lab predict: error: {err}", file=sys.stderr)
            entries.append({"file": str(path), "error": str(err)})
            continue
        entries.append(prediction.as_dict(k))
        if not args.json:
            print(describe_prediction(prediction, k))
    if args.json:
        print(json.dumps({"model": classifier.source, "files": entries}, indent=1))
    return 1 if failed else 0


def add_export_parser(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="one fold of a recipe run as weights and a JSON model card")
    parser.add_argument("--run", dest="run_dir", type=Path, required=True,
                        help="a run folder of `ast-lab train --recipe`")
    parser.add_argument("--fold", type=int, required=True, help="the fold whose model to export")
    parser.add_argument("--recipe", choices=sorted(RECIPES), metavar="NAME", required=True,
                        help="the recipe the run was trained with (checked)")
    parser.add_argument("--five-fold", type=Path,
                        help="results folder of the recipe's 5-fold run, quoted on the card")
    parser.add_argument("--out", type=Path, default=EXPORT_DIR,
                        help=f"where the two files go (default ./{EXPORT_DIR}; the package's "
                        "shipped model is replaced only when --out names ast_lab/assets/model)")
    parser.set_defaults(run=run_export)


def run_export(args: argparse.Namespace) -> int:
    """Write one fold of a recipe run as weights and a card into ``--out``."""
    check_out_folder(args.out)
    card = export_model(args.run_dir, args.fold, args.recipe, args.out, args.five_fold)
    print(f"wrote {card} and {card.with_suffix('.pt').name} beside it")
    return 0
