"""Which arithmetic a forward pass runs in: bf16 autocast or float32, by device and setting.

bf16 keeps float32's exponent range, so no loss scaling is needed, and weights, gradients and
the optimiser stay float32; only the forward pass's products run in bf16. On CUDA that is the
default. On a CPU it pays where the products are big enough: cores with AVX-512 BF16 run the
ESC-50 CNN's training step in 0.42 of float32's time, while the 96-wide micro AST gets slower
(1.06; ``benchmarks/recipe_speed.py``). Hence a setting (``TrainConfig.precision``), not a rule.
"""

from __future__ import annotations

import torch

PRECISIONS = ("auto", "bf16", "float32")


def uses_bf16(device: torch.device, precision: str = "auto") -> bool:
    """Whether forward passes on ``device`` run under bf16 autocast: ``precision`` "bf16"
    anywhere, "auto" on CUDA only, "float32" never."""
    if precision not in PRECISIONS:
        raise ValueError(f"precision must be one of {PRECISIONS}, got {precision!r}")
    return precision == "bf16" or (precision == "auto" and device.type == "cuda")


def autocast(device: torch.device, precision: str = "auto"):
    """bf16 mixed precision where ``uses_bf16`` says so (no loss scaling needed: bf16 has
    float32's range; weights, gradients and the optimiser stay float32); a disabled context
    elsewhere."""
    enabled = uses_bf16(device, precision)
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=enabled)
