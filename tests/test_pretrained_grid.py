"""The pieces of the pretrained loaders that need no reference library: the position-grid fit,
the safetensors reader, checked loading, and the config fields the layouts add."""

from __future__ import annotations

import json
import struct

import pytest
import torch

from ast_lab.config import ASTConfig
from ast_lab.models import AST, count_parameters
from ast_lab.models.pretrained import checkpoint_format, fit_position_grid
from ast_lab.models.pretrained.weights import read_safetensors, read_weights


def numbered_grid(f_cells: int, t_cells: int) -> torch.Tensor:
    """Positions ``(1, 2 + F*T, 1)`` whose value is the cell number ``f * T + t`` (prefix: -1)."""
    cells = torch.arange(f_cells * t_cells, dtype=torch.float32)
    return torch.cat([torch.full((2,), -1.0), cells]).reshape(1, -1, 1)


def test_a_smaller_grid_is_the_middle_cut_out():
    fitted = fit_position_grid(numbered_grid(24, 24), (24, 24), (12, 20))[0, :, 0]
    rows, cols = torch.arange(6, 18), torch.arange(2, 22)  # 24 // 2 - 12 // 2, 24 // 2 - 20 // 2
    assert torch.equal(fitted[:2], torch.tensor([-1.0, -1.0]))  # [CLS], [DIST] kept
    assert torch.equal(fitted[2:], (rows[:, None] * 24 + cols[None, :]).flatten().float())


def test_a_longer_axis_is_stretched_and_the_other_left_exact():
    fitted = fit_position_grid(numbered_grid(12, 101), (12, 101), (12, 202))[0, 2:, 0]
    grid = fitted.reshape(12, 202)
    assert torch.allclose(grid[:, 101] - grid[:, 100], torch.full((12,), 0.5))  # half steps
    assert torch.allclose(grid[:, 0], torch.arange(12) * 101.0)  # rows untouched: exact ends
    esc50 = fit_position_grid(numbered_grid(12, 101), (12, 101), (12, 50))[0, 2:, 0]
    assert torch.equal(esc50.reshape(12, 50)[0], torch.arange(25, 75).float())  # 50 - 50 // 2


def test_grid_of_the_wrong_size_is_refused():
    with pytest.raises(ValueError, match="not \\[CLS\\] \\+ \\[DIST\\] \\+ a 12 x 100 grid"):
        fit_position_grid(numbered_grid(12, 101), (12, 100), (12, 50))


def write_safetensors(path, tensors: dict[str, torch.Tensor]) -> None:
    """The format by hand: header length, JSON header, raw little-endian bytes."""
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, tensor in tensors.items():
        blob = tensor.contiguous().view(torch.uint8).numpy().tobytes() if tensor.numel() else b""
        dtype = {torch.float32: "F32", torch.float16: "F16", torch.int64: "I64"}[tensor.dtype]
        header[name] = {"dtype": dtype, "shape": list(tensor.shape),
                        "data_offsets": [offset, offset + len(blob)]}
        blobs.append(blob)
        offset += len(blob)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def test_safetensors_reader_round_trip(tmp_path):
    tensors = {"a": torch.randn(3, 4), "b": torch.arange(5), "c": torch.randn(2).half(),
               "empty": torch.zeros(0, 3)}
    write_safetensors(tmp_path / "x.safetensors", tensors)
    read = read_safetensors(tmp_path / "x.safetensors")
    assert read.keys() == tensors.keys()
    for name, tensor in tensors.items():
        assert read[name].dtype == tensor.dtype and torch.equal(read[name], tensor), name


def test_unreadable_files_are_named(tmp_path):
    (tmp_path / "junk.pth").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="junk.pth: cannot be read"):
        read_weights(tmp_path / "junk.pth")
    torch.save({"optimizer": 3}, tmp_path / "other.pth")
    with pytest.raises(ValueError, match="other.pth: holds no dict of tensors"):
        read_weights(tmp_path / "other.pth")
    torch.save({"x": torch.zeros(1)}, tmp_path / "plain.pth")
    with pytest.raises(ValueError, match="neither an AST authors' checkpoint"):
        checkpoint_format(tmp_path / "plain.pth")
    with pytest.raises(ValueError, match="without config.json"):
        checkpoint_format(tmp_path)


def test_layout_fields_default_to_todays_model():
    cfg = ASTConfig.preset("base")
    assert (cfg.layer_norm_eps, cfg.head_norm) == (1e-5, False)
    with torch.device("meta"):
        plain, with_norm = AST(cfg), AST(ASTConfig.preset("base", head_norm=True))
    assert count_parameters(plain) == 85_755_698
    assert count_parameters(with_norm) == 85_755_698 + 2 * 768
    assert "head_norm.weight" not in plain.state_dict()
