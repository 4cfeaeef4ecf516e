"""Models: the AST from its pieces (patches, attention, transformer, ast) and a CNN baseline."""

from __future__ import annotations

from typing import Literal, Union

from torch import nn

from ..config import ASTConfig, CNNConfig
from .ast import AST
from .cnn import CNN
from .patches import patch_grid
from .trace import count_parameters, trace_shapes

__all__ = ["AST", "CNN", "build_model", "count_parameters", "patch_grid", "trace_shapes"]

MODELS = {"ast": (AST, ASTConfig), "cnn": (CNN, CNNConfig)}


def build_model(name: Literal["ast", "cnn"], cfg: Union[ASTConfig, CNNConfig]) -> nn.Module:
    """``build_model("ast", ASTConfig.preset("tiny"))`` or ``build_model("cnn", CNNConfig())``."""
    if name not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {sorted(MODELS)}")
    model_cls, cfg_cls = MODELS[name]
    if not isinstance(cfg, cfg_cls):
        raise TypeError(f"model {name!r} needs a {cfg_cls.__name__}, got {type(cfg).__name__}")
    return model_cls(cfg)
