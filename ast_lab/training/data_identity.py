"""What data a run trained on: a fingerprint of the clip list and of the audio, class by class.

A run stores its dataset's absolute root and this fingerprint (in every checkpoint's
``run_config`` and in ``results.json``), so that resuming or re-evaluating it on other data is
refused instead of silently mixing two datasets. The fingerprint hashes the file *contents*,
not their sizes or modification times: clips of one length all have one size, and a copied
dataset keeps its content but not its times. One digest per class lets a refusal say which
classes changed (two classes' audio swapped names both). Hashing reads every audio file once
per ``FeatureSet`` (the synthetic demo set in a fraction of a second, ESC-50's 880 MB in a few
seconds, against minutes to hours of training); the result is kept for the set's lifetime.
"""

from __future__ import annotations

import hashlib
import json
import sys
from pathlib import Path
from typing import Any, Optional
from weakref import WeakKeyDictionary

from ..data import FeatureSet, Metadata

Fingerprint = dict[str, Any]  # "n_clips", "clips" (digest), "audio" ({class name: digest})
_KNOWN: "WeakKeyDictionary[FeatureSet, Fingerprint]" = WeakKeyDictionary()


def data_fingerprint(data: FeatureSet) -> Fingerprint:
    """The fingerprint of ``data``'s clips: their number, a digest of the clip list (file
    names, folds, classes, sources) and, per class, a digest of its audio files' bytes."""
    if data not in _KNOWN:
        _KNOWN[data] = {
            "n_clips": len(data.metadata),
            "clips": clip_list_digest(data.metadata),
            "audio": class_audio_digests(data.metadata),
        }
    return _KNOWN[data]


def clip_list_digest(metadata: Metadata) -> str:
    """Hex digest of what the CSV says about each clip (not where the dataset lives)."""
    content = {
        "filenames": metadata.filenames,
        "folds": metadata.folds.tolist(),
        "targets": metadata.targets.tolist(),
        "categories": metadata.categories,
        "src_files": metadata.src_files,
    }
    return hashlib.blake2b(json.dumps(content).encode(), digest_size=16).hexdigest()


def class_audio_digests(metadata: Metadata) -> dict[str, str]:
    """Class name -> hex digest of the names and bytes of its audio files, in CSV order."""
    digests = {name: hashlib.blake2b(digest_size=16) for name in metadata.class_names}
    for index, filename in enumerate(metadata.filenames):
        digest = digests[metadata.class_names[int(metadata.targets[index])]]
        digest.update(filename.encode() + b"\0")
        digest.update(metadata.audio_path(index).read_bytes())
    return {name: digest.hexdigest() for name, digest in digests.items()}


def data_differences(trained: Fingerprint, found: Fingerprint) -> list[str]:
    """What differs between the data a run trained on and the data found now, in words;
    empty when they are the same."""
    if trained["n_clips"] != found["n_clips"]:
        return [f"it lists {found['n_clips']} clips where the run had {trained['n_clips']}"]
    if trained["clips"] != found["clips"]:
        return ["its CSV gives the clips other file names, folds, classes or sources"]
    classes = sorted(set(trained["audio"]) | set(found["audio"]))
    changed = [c for c in classes if trained["audio"].get(c) != found["audio"].get(c)]
    return [f"the audio of class(es) {', '.join(changed)} differs"] if changed else []


def check_same_data(
    run_dir: Path, trained: Optional[Fingerprint], trained_root: Optional[str], data: FeatureSet
) -> None:
    """Raise ValueError, naming both roots and what differs, unless ``data`` is the data the
    run in ``run_dir`` trained on. A run saved without a fingerprint (by an older ast-lab)
    cannot be checked: a warning says so, on stderr."""
    found_root = Path(data.metadata.root).resolve()
    if trained is None:
        print(f"warning: {run_dir} records no fingerprint of its data (saved by an older "
              f"ast-lab): cannot check that {found_root} holds the clips it trained on",
              file=sys.stderr)
        return
    differences = data_differences(trained, data_fingerprint(data))
    if differences:
        raise ValueError(
            f"{found_root} does not hold the data {run_dir} was trained on (at {trained_root}): "
            f"{'; '.join(differences)}. Evaluate it on the data it trained on, or train a new "
            "run on this data"
        )
