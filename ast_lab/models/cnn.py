"""The CNN baseline the AST is compared with (notebook 04_fold_training).

A spectrogram is treated as a one-channel image. Each stage is conv -> batch norm -> ReLU ->
2x2 max-pool: it widens the channels and halves both axes, so later stages see larger regions.
Global pooling (max by default) then makes the output independent of the clip length, and a linear head
classifies. Local, translation-equivariant filters are exactly the prior the AST gives up.
"""

from __future__ import annotations

from torch import Tensor, nn

from ..config import CNNConfig
from .patches import as_image_batch


GLOBAL_POOLS = {"max": nn.AdaptiveMaxPool2d, "avg": nn.AdaptiveAvgPool2d}


def conv_stage(in_channels: int, out_channels: int, kernel_size: int) -> nn.Sequential:
    """``(B, Cin, H, W) -> (B, Cout, H // 2, W // 2)``: conv ('same' padding), BN, ReLU, pool."""
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, padding=kernel_size // 2, bias=False),
        nn.BatchNorm2d(out_channels),  # has its own shift, so the conv needs no bias
        nn.ReLU(inplace=True),
        nn.MaxPool2d(2),
    )


class CNN(nn.Module):
    """``(B, n_mels, frames)`` or ``(B, 1, n_mels, frames)`` log-mels -> ``(B, classes)`` logits."""

    def __init__(self, cfg: CNNConfig):
        super().__init__()
        if cfg.kernel_size % 2 != 1:
            raise ValueError(f"kernel_size must be odd for 'same' padding, got {cfg.kernel_size}")
        self.cfg = cfg
        widths = (1, *cfg.channels)
        self.stages = nn.Sequential(
            *(conv_stage(c_in, c_out, cfg.kernel_size) for c_in, c_out in zip(widths, widths[1:]))
        )
        if cfg.pooling not in GLOBAL_POOLS:
            raise ValueError(f"unknown pooling {cfg.pooling!r}; choose one of {sorted(GLOBAL_POOLS)}")
        self.pool = GLOBAL_POOLS[cfg.pooling](1)
        self.dropout = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(cfg.channels[-1], cfg.num_classes)
        nn.init.normal_(self.head.weight, std=0.01)  # logits start near 0: loss near ln(classes)
        nn.init.zeros_(self.head.bias)

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
        maps = self.stages(image)  # (B, C, F / 2^S, T / 2^S)
        return self.pool(maps).flatten(1)  # (B, C): the strongest response of each channel

    def forward_head(self, features: Tensor) -> Tensor:
        """Features ``(B, C)`` -> logits ``(B, num_classes)``."""
        return self.head(self.dropout(features))

    def forward(self, spec: Tensor) -> Tensor:
        return self.forward_head(self.forward_features(spec))
