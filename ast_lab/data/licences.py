"""Per-clip licences of ESC-10/ESC-50 recordings, read from the upstream licence list.

The dataset author's ESC-10 licence list (``meta/esc10-clip-licences.txt`` of
``../shared/esc50``, ``CLIP_LICENCES``) gives, for every ESC-10 clip, the Freesound recording it
was cut from, its author and its licence, one line each::

    - [1-100032-A.ogg]: clip derived from rose_bark.wav (http://www.freesound.org/people/nfrae/sounds/100032/) by nfrae [CC0]

``parse_clip_licences`` turns those lines into ``ClipLicence`` records; the example sounds
shipped with the package (``ast_lab.examples``) are chosen from them, CC0 and CC-BY only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CLIP_LICENCES = "meta/esc10-clip-licences.txt"  # the list's path inside the ESC-50 folder

# Licences that allow redistribution in this repository with attribution (CC-BY) or none (CC0).
REDISTRIBUTABLE = ("CC0", "CC-BY")

_LINE = re.compile(
    r"^- \[(?P<clip>[^\]]+)\]:\s+clip derived from (?P<source_title>.*) "
    r"\((?P<url>https?://[^)\s]+)\) by (?P<author>.+?) \[(?P<licence>[^\]]+)\]\s*$"
)


@dataclass(frozen=True)
class ClipLicence:
    """Where one clip came from and under which licence."""

    clip: str  # the upstream clip name, "1-100032-A.ogg" (ESC-50 adds "-<target>")
    source_title: str  # the Freesound recording's title, "rose_bark.wav"
    url: str  # the Freesound page of the recording
    author: str  # the Freesound user who recorded it
    licence: str  # "CC0", "CC-BY" or "CC-Sampling+"

    @property
    def stem(self) -> str:
        """``"1-100032-A"``: fold, Freesound id and take, the part ESC-50 names share."""
        return Path(self.clip).stem

    @property
    def redistributable(self) -> bool:
        """True for CC0 and CC-BY, the licences this project may ship (with attribution)."""
        return self.licence in REDISTRIBUTABLE


def parse_clip_licences(text: str, source: str = CLIP_LICENCES) -> list[ClipLicence]:
    """Every clip line of an ``esc10-clip-licences.txt`` text, in file order.

    Lines that start with ``- [`` but do not parse are a ValueError naming ``source`` and the
    line number, so a changed upstream format is never read as fewer clips.
    """
    licences = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.startswith("- ["):
            continue
        match = _LINE.match(line.strip())
        if match is None:
            raise ValueError(f"{source}, line {number}: not a clip licence line: {line!r}")
        licences.append(ClipLicence(**match.groupdict()))
    return licences


def read_clip_licences(path: str | Path) -> list[ClipLicence]:
    """``parse_clip_licences`` of the file ``path``; ValueError if it lists no clip."""
    path = Path(path)
    licences = parse_clip_licences(path.read_text(encoding="utf-8"), str(path))
    if not licences:
        raise ValueError(f"{path} lists no clip licences")
    return licences
