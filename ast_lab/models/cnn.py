"""The CNN baseline the AST is compared with (notebook 04_fold_training).

A spectrogram is treated as a one-channel image. Each stage is conv -> batch norm -> ReLU ->
2x2 max-pool: it widens the channels and halves both axes, so later stages see larger regions.
Global pooling (max by default; or mean, or both) then makes the output independent of the clip length, and a linear head
classifies. Local, translation-equivariant filters are exactly the prior the AST gives up.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ..config import CNNConfig
from .patches import as_image_batch


GLOBAL_POOLS = ("max", "avg", "maxavg")


def conv_bn_relu(in_channels: int, out_channels: int, kernel_size: int) -> list[nn.Module]:
    """``(B, Cin, H, W) -> (B, Cout, H, W)``: conv ('same' padding), batch norm, ReLU."""
    return [
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),  # has its own shift, so the conv needs no bias
        nn.ReLU(inplace=True),
    ]


def conv_stage(
    in_channels: int, out_channels: int, kernel_size: int, convs: int = 1
) -> nn.Sequential:
    """``(B, Cin, H, W) -> (B, Cout, H // 2, W // 2)``: ``convs`` conv-BN-ReLU layers (VGG
    style when 2), then 2 x 2 max pooling."""
    widths = [in_channels] + [out_channels] * convs
    layers = [m for c_in, c_out in zip(widths, widths[1:])
              for m in conv_bn_relu(c_in, c_out, kernel_size)]
    return nn.Sequential(*layers, nn.MaxPool2d(2))


class GlobalPool(nn.Module):
    """``(B, C, H, W) -> (B, C, 1, 1)``: each channel's maximum, its mean, or their sum
    ("maxavg": the strongest response plus how widespread it is, as PANNs pool over time)."""

    def __init__(self, how: str) -> None:
        super().__init__()
        if how not in GLOBAL_POOLS:
            raise ValueError(f"unknown pooling {how!r}; choose one of {GLOBAL_POOLS}")
        self.how = how

    def forward(self, maps: Tensor) -> Tensor:
        peak = maps.amax(dim=(2, 3), keepdim=True)
        if self.how == "max":
            return peak
        mean = maps.mean(dim=(2, 3), keepdim=True)
        return mean if self.how == "avg" else peak + mean

    def extra_repr(self) -> str:
        return self.how


class CNN(nn.Module):
    """``(B, n_mels, frames)`` or ``(B, 1, n_mels, frames)`` log-mels -> ``(B, classes)`` logits."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        if cfg.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {cfg.kernel_size}")
        self.cfg = cfg
        widths = (1, *cfg.channels)
        self.stages = nn.Sequential(*(
            conv_stage(c_in, c_out, cfg.kernel_size, cfg.convs_per_stage)
            for c_in, c_out in zip(widths, widths[1:])
        ))
        self.pool = GlobalPool(cfg.pooling)
        if cfg.convs_per_stage < 1:
            raise ValueError(f"convs_per_stage must be >= 1, got {cfg.convs_per_stage}")
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.channels[-1], cfg.num_classes)
        nn.init.normal_(self.head.weight, std=0.01)  # logits start near 0: loss near ln(classes)
        nn.init.zeros_(self.head.bias)
        # channels-last kernels and maps (NHWC): on CPU the demo's training step takes 21 ms
        # instead of 34 (oneDNN's native layout), on GPUs it is the tensor cores' layout
        self.to(memory_format=torch.channels_last)

    @property
    def min_input_size(self) -> int:
        """Smallest side that survives every stage's halving."""
        return 2 ** len(self.cfg.channels)

    def forward_features(self, spec: Tensor) -> Tensor:
        """Spectrograms -> one feature vector per clip ``(B, channels[-1])``."""
        image = as_image_batch(spec)  # (B, 1, F, T)
        if min(image.shape[-2:]) < self.min_input_size:
            raise ValueError(
                f"{len(self.cfg.channels)} pooling stages need inputs of at least "
                f"{self.min_input_size} x {self.min_input_size}, got {tuple(image.shape[-2:])}"
            )
        maps = self.stages(image.contiguous(memory_format=torch.channels_last))
        # maps: (B, C, F / 2^S, T / 2^S), stored channels-last
        return self.pool(maps).flatten(1)  # (B, C)

    def forward_head(self, features: Tensor) -> Tensor:
        """Features ``(B, C)`` -> logits ``(B, num_classes)``."""
        return self.head(self.dropout(features))

    def forward(self, spec: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(spec))
