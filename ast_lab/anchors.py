"""Published ESC-50 results to read ours against, and the table that puts them side by side.

Every anchor is a 5-fold mean accuracy on ESC-50's official folds. ``comparison_table`` merges
them with measured runs (``Results``), best first, so a notebook or report shows where a recipe
lands without anyone copying a number by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from .metrics import Results


@dataclass(frozen=True)
class Anchor:
    """One published result: ``accuracy`` in [0, 1], 5-fold mean on ESC-50."""

    name: str
    accuracy: float
    pretrained: bool  # trained on data beyond ESC-50 first (ImageNet, AudioSet)
    source: str


ESC50_ANCHORS: tuple[Anchor, ...] = (
    Anchor("earlier attempt of this project: AST", 0.060, False, "seed/original-readme.md"),
    Anchor("earlier attempt of this project: CNN", 0.202, False, "seed/original-readme.md"),
    Anchor("Piczak's CNN", 0.645, False, "Piczak, MLSP 2015"),
    Anchor("human listeners", 0.813, False, "Piczak, ACM MM 2015"),
    Anchor("EnvNet-v2 + between-class learning + strong augmentation", 0.849, False,
           "Tokozume et al., ICLR 2018"),
    Anchor("ACDNet (raw waveform, 2,000 epochs on a GPU)", 0.871, False,
           "Mohaimenuzzaman et al., 2021"),
    Anchor("AST, ImageNet-pretrained", 0.887, True, "Gong et al., 2021"),
    Anchor("AST, ImageNet + AudioSet-pretrained", 0.956, True, "Gong et al., 2021"),
)


def comparison_table(runs: Mapping[str, Results],
                     anchors: tuple[Anchor, ...] = ESC50_ANCHORS) -> str:
    """A markdown table of ``runs`` (ours: mean ± std over their folds) and ``anchors``, best
    accuracy first. Our rows are marked **ours**."""
    rows: list[tuple[float, str]] = []
    for name, results in runs.items():
        mean, std = results.summary()["accuracy"]
        rows.append((mean, f"| **ours: {name}** | {100 * mean:.1f} ± {100 * std:.1f} | no | "
                           f"{len(results.folds)}-fold run, this repository |"))
    for anchor in anchors:
        pretrained = "yes" if anchor.pretrained else "no"
        rows.append((anchor.accuracy, f"| {anchor.name} | {100 * anchor.accuracy:.1f} | "
                                      f"{pretrained} | {anchor.source} |"))
    header = "| model | accuracy % | pretrained | source |\n|---|---|---|---|\n"
    return header + "\n".join(row for _, row in sorted(rows, key=lambda r: -r[0]))
