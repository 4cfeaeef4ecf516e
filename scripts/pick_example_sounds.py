"""Choose and copy the package's example sounds (``ast_lab/assets/sounds``) from ESC-10.

    python scripts/pick_example_sounds.py --root ../shared/esc50

ESC-10 is the ``esc10`` rows of the ESC-50 folder. For each of its classes, in the dataset's
class order, the first clip of fold 1 in the upstream ESC-10 licence list
(``meta/esc10-clip-licences.txt``) whose licence is CC0 or CC-BY is copied unchanged, and
``sounds.json`` and ``ATTRIBUTION.md`` are written beside the copies. The rule looks at
nothing but the fold and the licence: not at the audio, and not at any model's answer.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shutil
from pathlib import Path

from ast_lab.data.licences import CLIP_LICENCES, read_clip_licences
from ast_lab.data.metadata import load_metadata
from ast_lab.examples import MANIFEST, SOUNDS_DIR, ExampleSound

FOLD = 1


def pick(root: Path) -> list[ExampleSound]:
    """One redistributable fold-1 clip per ESC-10 class of the ESC-50 folder at ``root``."""
    metadata = load_metadata(root).esc10_only()
    by_stem = {Path(name).stem.rsplit("-", 1)[0]: i for i, name in enumerate(metadata.filenames)}
    licences = read_clip_licences(root / CLIP_LICENCES)
    chosen: dict[int, ExampleSound] = {}
    for licence in licences:
        index = by_stem.get(licence.stem)
        if index is None:
            raise ValueError(f"{licence.clip} is in the licence list but not among the "
                             "metadata's ESC-10 clips")
        label = int(metadata.targets[index])
        if metadata.folds[index] != FOLD or not licence.redistributable or label in chosen:
            continue
        chosen[label] = ExampleSound(
            name=metadata.class_names[label], filename=metadata.filenames[index],
            target=int(metadata.class_targets[label]), fold=FOLD,
            source_title=licence.source_title, url=licence.url, author=licence.author,
            licence=licence.licence)
    missing = sorted(set(range(len(metadata.class_names))) - set(chosen))
    if missing:
        raise ValueError(f"no CC0/CC-BY clip in fold {FOLD} for {missing}")
    return [chosen[label] for label in sorted(chosen)]


def attribution(sounds: list[ExampleSound]) -> str:
    """The human-readable attribution file."""
    lines = ["# Example sounds: attribution", "",
             "Ten clips of ESC-10 (K. J. Piczak, ESC: Dataset for Environmental Sound "
             "Classification, ACM Multimedia 2015; dataset licence CC BY 3.0), fold 1, copied "
             "unchanged. Each was cut from a Freesound recording:", ""]
    lines += [f"- `{s.filename}`: {s.credit()}" for s in sounds]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, required=True,
                        help="the ESC-50 folder (its esc10 rows are ESC-10)")
    parser.add_argument("--out", type=Path, default=SOUNDS_DIR)
    args = parser.parse_args()
    sounds = pick(args.root)
    args.out.mkdir(parents=True, exist_ok=True)
    for sound in sounds:
        shutil.copyfile(args.root / "audio" / sound.filename, args.out / sound.filename)
    manifest = {"source": "ESC-10 (github.com/karolpiczak/ESC-10), fold 1",
                "rule": f"per class, the first fold-1 clip in {CLIP_LICENCES} "
                        "licensed CC0 or CC-BY",
                "sounds": [dataclasses.asdict(s) for s in sounds]}
    (args.out / MANIFEST).write_text(json.dumps(manifest, indent=1) + "\n")
    (args.out / "ATTRIBUTION.md").write_text(attribution(sounds))
    total = sum((args.out / s.filename).stat().st_size for s in sounds)
    print(f"{len(sounds)} clips, {total / 1e6:.2f} MB, in {args.out}")


if __name__ == "__main__":
    main()
