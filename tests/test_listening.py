"""Audio players: what they embed decodes back to the sound, and bad input is refused."""

from __future__ import annotations

import base64
import io
import re

import numpy as np
import pytest
import soundfile as sf

from ast_lab.examples import example_path, load_example
from ast_lab.listening import example_player, ogg_bytes, player, player_table
from ast_lab.widgets import fbank_explorer
from ast_lab.config import FbankConfig

RATE = 16_000


def _embedded(html: str) -> list[bytes]:
    """The Ogg files embedded in a player's HTML."""
    return [base64.b64decode(b) for b in re.findall(r"data:audio/ogg;base64,([A-Za-z0-9+/=]+)", html)]


def _decoded(data: bytes) -> tuple[np.ndarray, int]:
    wave, rate = sf.read(io.BytesIO(data), dtype="float32")
    return wave, rate


def _tone(seconds: float = 1.0) -> np.ndarray:
    t = np.arange(int(seconds * RATE)) / RATE
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


def test_player_embeds_the_waveform_at_its_rate():
    wave = _tone()
    html = player(wave, RATE, label="a tone").data
    assert "a tone" in html and "<audio controls" in html
    [data] = _embedded(html)
    decoded, rate = _decoded(data)
    assert rate == RATE and abs(len(decoded) - len(wave)) < 64  # Vorbis pads a little
    n = min(len(decoded), len(wave))
    assert np.corrcoef(decoded[:n], wave[:n])[0, 1] > 0.98  # lossy, but the same sound


def test_example_player_embeds_the_shipped_file_byte_for_byte():
    [data] = _embedded(example_player("rain").data)
    assert data == example_path("rain").read_bytes()


def test_player_table_has_one_labelled_player_per_sound():
    waves = [_tone(0.2), _tone(0.3)]
    html = player_table(waves, ["short", "longer"], RATE).data
    assert len(_embedded(html)) == 2 and "short" in html and "longer" in html
    with pytest.raises(ValueError, match="2 waveforms but 1 labels"):
        player_table(waves, ["one"], RATE)


@pytest.mark.parametrize("bad, message", [
    (np.zeros(0, np.float32), "mono waveform"),
    (np.zeros((2, 100), np.float32), "mono waveform"),
    (np.array([0.0, np.nan], np.float32), "NaN"),
])
def test_players_refuse_what_they_cannot_play(bad, message):
    with pytest.raises(ValueError, match=message):
        ogg_bytes(bad, RATE)


def test_fbank_explorer_plays_its_clip():
    wave = load_example("dog")
    explorer = fbank_explorer(wave, FbankConfig(n_mels=32))
    players = [c for c in explorer.children if type(c).__name__ == "Audio"]
    assert len(players) == 1 and players[0].format == "ogg"
    decoded, rate = _decoded(players[0].value)
    assert rate == RATE and abs(len(decoded) - len(wave)) < 64
