"""Reading weight files and loading renamed weights into an AST, with errors that say what is wrong.

Three containers carry the published weights:

- ``.pth`` / ``.bin``: a pickled dict of tensors (``torch.save``), sometimes wrapped as
  ``{"model": ...}`` (DeiT's releases) or ``{"state_dict": ...}``; read with
  ``torch.load(weights_only=True)``, which unpickles tensors and plain containers only;
- ``.safetensors`` (Hugging Face, timm's hub copies): an 8-byte little-endian header length
  ``n``, ``n`` bytes of JSON ``{name: {"dtype", "shape", "data_offsets": [begin, end]}}``, then
  the raw little-endian tensor bytes, offsets counted from the end of the header. That is all
  of the format, so ``read_safetensors`` reads it in a few lines rather than adding a compiled
  dependency; the tests check it against the ``safetensors`` package.
"""

from __future__ import annotations

import json
import struct
from pathlib import Path
from typing import Mapping, Union

import torch
from torch import Tensor, nn

WeightSource = Union[str, Path, Mapping[str, Tensor]]

SAFETENSORS_DTYPES = {
    "F64": torch.float64, "F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16,
    "I64": torch.int64, "I32": torch.int32, "I16": torch.int16, "I8": torch.int8,
    "U8": torch.uint8, "BOOL": torch.bool,
}
SHOWN_KEYS = 5  # how many offending keys an error message lists
NEW_HEAD_PREFIXES = ("head.", "head_dist.", "head_norm.")  # an AST's head, all of it


def read_safetensors(path: Path) -> dict[str, Tensor]:
    """The tensors of a ``.safetensors`` file, by name, on the CPU."""
    data = bytearray(path.read_bytes())
    if len(data) < 8:
        raise ValueError(f"{path}: too short for a safetensors file ({len(data)} bytes)")
    (header_len,) = struct.unpack("<Q", data[:8])
    try:
        header = json.loads(data[8 : 8 + header_len])
    except (ValueError, UnicodeDecodeError) as err:
        raise ValueError(f"{path}: not a safetensors file (its header is not JSON: {err})") from err
    start = 8 + header_len
    tensors = {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        if entry["dtype"] not in SAFETENSORS_DTYPES:
            raise ValueError(f"{path}: tensor {name!r} has unsupported dtype {entry['dtype']}")
        dtype, (begin, end) = SAFETENSORS_DTYPES[entry["dtype"]], entry["data_offsets"]
        if begin == end:
            tensors[name] = torch.empty(entry["shape"], dtype=dtype)
            continue
        flat = torch.frombuffer(data, dtype=dtype, count=(end - begin) // dtype.itemsize,
                                offset=start + begin)
        tensors[name] = flat.reshape(entry["shape"])
    return tensors


def unwrap_state_dict(loaded: object, name: str) -> dict[str, Tensor]:
    """The dict of tensors in what ``torch.load`` returned (maybe under "model"/"state_dict")."""
    for wrapper in ("model", "state_dict"):
        if isinstance(loaded, Mapping) and isinstance(loaded.get(wrapper), Mapping):
            loaded = loaded[wrapper]
    if not isinstance(loaded, Mapping) or not all(isinstance(v, Tensor) for v in loaded.values()):
        raise ValueError(f"{name}: holds no dict of tensors (a state dict) to load weights from")
    return dict(loaded)


def read_weights(source: WeightSource) -> tuple[dict[str, Tensor], str]:
    """``(state dict, name for messages)`` from a dict of tensors or a ``.pth``/``.bin``/
    ``.safetensors`` file."""
    if isinstance(source, Mapping):
        return unwrap_state_dict(source, "the given state dict"), "the given state dict"
    path = Path(source)
    if not path.is_file():
        raise ValueError(f"{path}: no such weight file")
    if path.suffix == ".safetensors":
        return read_safetensors(path), str(path)
    try:
        loaded = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:  # torch raises pickle, zip and runtime errors alike
        raise ValueError(f"{path}: cannot be read as torch weights ({err})") from err
    return unwrap_state_dict(loaded, str(path)), str(path)


def listed(keys: list[str]) -> str:
    """The first few keys, quoted, and how many more."""
    more = f" and {len(keys) - SHOWN_KEYS} more" if len(keys) > SHOWN_KEYS else ""
    return ", ".join(repr(k) for k in keys[:SHOWN_KEYS]) + more


def pop_weight(state: dict[str, Tensor], key: str, source: str, layout: str) -> Tensor:
    """Remove and return ``state[key]``; ValueError naming the file and layout when absent."""
    if key not in state:
        raise ValueError(f"{source} has no {key!r}: not {layout}")
    return state.pop(key)


def check_all_used(state: dict[str, Tensor], source: str, layout: str) -> None:
    """ValueError when weights are left over after mapping: the file holds more than the layout."""
    if state:
        raise ValueError(f"{source} has weights {layout} does not: {listed(sorted(state))}")


def load_checked(model: nn.Module, ours: dict[str, Tensor], source: str) -> nn.Module:
    """Load ``ours`` (already in this project's names) into ``model``; ValueError naming the
    file and each tensor whose shape the model does not have, or that it lacks or needs."""
    expected = model.state_dict()
    missing, unexpected = sorted(expected.keys() - ours.keys()), sorted(ours.keys() - expected)
    if missing or unexpected:
        raise ValueError(f"{source}: the model needs {listed(missing) or 'nothing more'} and "
                         f"has no place for {listed(unexpected) or 'nothing'}")
    wrong = [f"{k} is {tuple(v.shape)}, the model's {tuple(expected[k].shape)}"
             for k, v in ours.items() if v.shape != expected[k].shape]
    if wrong:
        shown = "; ".join(wrong[:SHOWN_KEYS])
        raise ValueError(f"{source}: shapes differ from the model's: {shown}")
    model.load_state_dict(ours)
    return model


def fresh_head(model: nn.Module) -> dict[str, Tensor]:
    """The newly initialised head of an AST (``head``, ``head_dist``, ``head_norm``): what
    loading keeps of the model's own weights when a checkpoint's head is replaced."""
    return {k: v for k, v in model.state_dict().items() if k.startswith(NEW_HEAD_PREFIXES)}
