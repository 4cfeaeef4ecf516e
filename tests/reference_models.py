"""The reference libraries the pretrained loaders are proven against: transformers and timm.

Both are test-only extras (pyproject's ``dev``); ``ast_lab`` never imports them. A test module
takes them with ``import_timm()`` / ``pytest.importorskip("transformers")``, so it skips where
they are absent.

timm's ViT and DeiT code uses no torchvision, but ``import timm`` imports it for its image
pipelines and frozen batch norm. PyPI's torchvision cannot load beside the CPU build of torch
this project installs (its compiled ops are missing: "operator torchvision::nms does not
exist"). Where it cannot, ``import_timm`` puts a stand-in in its place, whose every attribute is
an inert placeholder class: enough for timm's imports, and nothing the DeiT forward pass calls.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
import types

import pytest


class Placeholder(type):
    """A class whose every missing attribute is another placeholder class
    (``InterpolationMode.NEAREST`` at timm's import time)."""

    def __getattr__(cls, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        return Placeholder(name, (), {})


class StandInModule(types.ModuleType):
    """A torchvision module whose every attribute is a placeholder class."""

    def __getattr__(self, name: str) -> type:
        if name.startswith("__"):
            raise AttributeError(name)
        return Placeholder(name, (), {})


class StandInFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Serves ``torchvision`` and every ``torchvision.*`` as a ``StandInModule``."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname == "torchvision" or fullname.startswith("torchvision."):
            return importlib.machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        module = StandInModule(spec.name)
        module.__path__ = []  # a package, so that submodules import
        return module

    def exec_module(self, module) -> None:
        pass


def torchvision_loads() -> bool:
    """Whether the real torchvision imports (removing what a failed import left behind)."""
    try:
        import torchvision  # noqa: F401
    except Exception:  # ImportError, or RuntimeError from its missing compiled ops
        for name in [n for n in sys.modules if n == "torchvision" or n.startswith("torchvision.")]:
            del sys.modules[name]
        return False
    return True


def import_timm():
    """timm, with torchvision stood in for where it cannot load; skips the test without timm."""
    if "timm" not in sys.modules and not torchvision_loads():
        sys.meta_path.insert(0, StandInFinder())
    return pytest.importorskip("timm")
