"""The upstream per-clip licence list is read line by line, and a line it cannot read is an
error, never a clip silently dropped."""

from pathlib import Path

import pytest

from ast_lab.data import load_metadata
from ast_lab.data.licences import CLIP_LICENCES, parse_clip_licences, read_clip_licences

TEXT = """001 - Dog bark:
- [1-100032-A.ogg]: clip derived from rose_bark.wav (http://www.freesound.org/people/nfrae/sounds/100032/) by nfrae [CC0]
- [2-122104-A.ogg]: clip derived from Dog barking at night (nice reflection).wav (http://www.freesound.org/people/rickyjezz/sounds/122104/) by rickyjezz [CC-Sampling+]
"""


def test_parses_titles_with_parentheses_and_flags_redistributable():
    first, second = parse_clip_licences(TEXT)
    assert (first.stem, first.author, first.licence, first.redistributable) == (
        "1-100032-A", "nfrae", "CC0", True)
    assert second.source_title == "Dog barking at night (nice reflection).wav"
    assert second.url.endswith("/122104/") and not second.redistributable


def test_an_unreadable_clip_line_names_the_line():
    with pytest.raises(ValueError, match="licences.txt, line 2"):
        parse_clip_licences("x\n- [1-1-A.ogg]: something else\n", "licences.txt")


SHARED_ESC50 = Path(__file__).resolve().parents[2] / "shared" / "esc50"


@pytest.mark.skipif(
    not (SHARED_ESC50 / CLIP_LICENCES).is_file(),
    reason="../shared/esc50 (the real ESC-50 recordings, ESC-10 among them) is not here")
def test_real_licence_list_covers_exactly_the_esc10_rows():
    """``scripts/pick_example_sounds.py`` matches every listed clip to an ESC-10 row by stem."""
    licences = read_clip_licences(SHARED_ESC50 / CLIP_LICENCES)
    esc10 = load_metadata(SHARED_ESC50).esc10_only()
    assert sorted(entry.stem for entry in licences) == sorted(
        name.rsplit("-", 1)[0] for name in esc10.filenames)
    assert sum(not entry.redistributable for entry in licences) == 2  # CC Sampling+
