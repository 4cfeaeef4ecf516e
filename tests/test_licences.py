"""The upstream per-clip licence list is read line by line, and a line it cannot read is an
error, never a clip silently dropped."""

import pytest

from ast_lab.data.licences import parse_clip_licences

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
