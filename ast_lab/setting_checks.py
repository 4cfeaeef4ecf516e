"""Settings checked before a run loads any data: the device on this machine
(``check_device``), a ``PART.FIELD=VALUE`` setting against the config field it replaces
(``check_setting``: the part and field exist, the value has the field's type), and the ranges
no run can leave (``check_ranges``)."""

from __future__ import annotations

import dataclasses
import types
from typing import Any, Literal, Optional, Union, get_args, get_origin, get_type_hints

import torch

from .config import TrainConfig
from .training import ModelConfig, check_train_config

DROPOUTS = ("dropout", "drop_rate", "attn_drop_rate", "drop_path_rate")  # model fields in [0, 1)


def check_device(name: Optional[str], option: str = "--device") -> None:
    """ValueError unless ``name`` (given as ``option``) is auto, cpu or a CUDA GPU this machine
    has; None means auto."""
    if name is None or name == "auto":
        return
    try:
        device = torch.device(name)
    except RuntimeError:
        device = None
    if device is None or device.type not in ("cpu", "cuda"):
        raise ValueError(f"{option} {name}: not a device ast-lab runs on; use {option} auto, "
                         "cpu or cuda")
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"{option} {name}: this machine has no CUDA GPU "
                         f"(torch.cuda.is_available() is False); use {option} cpu or auto")
    if device.type == "cuda" and (device.index or 0) >= torch.cuda.device_count():
        raise ValueError(f"{option} {name}: this machine has {torch.cuda.device_count()} CUDA "
                         f"GPU(s), numbered from 0; use {option} cuda or auto")


def type_name(kind: Any) -> str:
    """What a field of type ``kind`` takes, in words: "an integer", "one of 'a', 'b'", ..."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is Literal:
        return "one of " + ", ".join(map(repr, args))
    if origin in (Union, types.UnionType):
        return " or ".join("None" if a is type(None) else type_name(a) for a in args)
    if origin is tuple:
        return f"a tuple of {type_name(args[0]).removeprefix('an ').removeprefix('a ')}s"
    names = {bool: "True or False", int: "an integer", float: "a number", str: "a word"}
    return names.get(kind, getattr(kind, "__name__", str(kind)))


def has_type(kind: Any, value: Any) -> bool:
    """Whether ``value`` fits a field of type ``kind`` (an int fits a float; a list, a tuple)."""
    origin, args = get_origin(kind), get_args(kind)
    if origin is Literal:
        return value in args
    if origin in (Union, types.UnionType):
        return any(has_type(a, value) for a in args)
    if origin is tuple:
        return isinstance(value, (tuple, list)) and all(has_type(args[0], v) for v in value)
    if kind is type(None):
        return value is None
    if kind in (int, float):
        allowed = (int,) if kind is int else (int, float)
        return isinstance(value, allowed) and not isinstance(value, bool)
    return not isinstance(kind, type) or isinstance(value, kind)


def check_setting(configs: dict[str, Any], key: str, value: Any) -> None:
    """ValueError naming the setting ``key=value`` unless ``key`` is ``<part>.<field>`` of a
    config in ``configs`` (part -> config dataclass) and ``value`` has that field's type."""
    part, _, name = key.partition(".")
    if part not in configs:
        raise ValueError(f"setting {key}={value!r}: the part must be one of "
                         f"{', '.join(configs)} (as in train.epochs=10)")
    config = configs[part]
    kinds = get_type_hints(type(config))
    fields = sorted(f.name for f in dataclasses.fields(config))
    if name not in fields:
        raise ValueError(f"setting {key}={value!r}: {part} ({type(config).__name__}) has no "
                         f"field {name!r}; its fields: {', '.join(fields)}")
    if not has_type(kinds[name], value):
        raise ValueError(f"setting {key}={value!r}: {key} takes {type_name(kinds[name])} "
                         f"(now {getattr(config, name)!r})")


def check_ranges(model: ModelConfig, train: TrainConfig) -> None:
    """ValueError for numbers no run can use: ``check_train_config``'s ranges, and a dropout
    rate outside [0, 1)."""
    check_train_config(train)
    outside = [f"{name} must be in [0, 1), got {getattr(model, name)}" for name in DROPOUTS
               if hasattr(model, name) and not 0 <= getattr(model, name) < 1]
    if outside:
        raise ValueError(f"{type(model).__name__}: " + "; ".join(outside))
