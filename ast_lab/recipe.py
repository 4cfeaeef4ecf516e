"""What a recipe is: the ``Recipe`` dataclass. The named recipes are in ``ast_lab.recipes``
(trained from random weights) and ``ast_lab.recipes_pretrained`` (fine-tuned from a checkpoint).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any, Optional

from .config import DataConfig, FbankConfig, TrainConfig, replace_settings
from .training import ModelConfig


@dataclass(frozen=True)
class Recipe:
    """Everything a k-fold run needs besides the data's location."""

    name: str
    summary: str  # one line, for --help and the README
    model: ModelConfig
    train: TrainConfig
    fbank: FbankConfig
    clip_seconds: float  # every clip padded or cropped to this length
    val_fraction: float = 0.0  # share of the training folds held out for early stopping
    teacher: Optional[str] = None  # the recipe whose models teach this one's [DIST] token
    needs_init: Optional[str] = None  # the pretrained checkpoint this recipe fine-tunes, in
    # words for the error when ``--init`` is missing; None: it trains from random weights

    def data_config(
        self, source: str, root: Optional[str] = None, *, esc10: bool = False
    ) -> DataConfig:
        """The ``DataConfig`` for running this recipe on ``source`` (esc50, folder, synthetic);
        ``esc10`` keeps ESC-50's 10-class subset."""
        return DataConfig(source=source, root=root, clip_seconds=self.clip_seconds,
                          val_fraction=self.val_fraction, esc10=esc10)

    def with_overrides(
        self, *, epochs: Optional[int] = None, device: Optional[str] = None
    ) -> "Recipe":
        """The recipe with a shorter (or longer) schedule or another device, e.g. for a smoke
        run; everything else stays as named."""
        changes = {k: v for k, v in (("epochs", epochs), ("device", device)) if v is not None}
        return dataclasses.replace(self, train=dataclasses.replace(self.train, **changes))

    def with_settings(self, settings: dict[str, Any]) -> "Recipe":
        """The recipe with fields of its configs replaced, keyed ``"<part>.<field>"`` where
        part is ``train``, ``model`` or ``fbank`` (e.g. ``{"train.mixup_alpha": 0.3}``): the
        variants a tuning run compares. ValueError names an unknown part or field."""
        return replace_settings(self, settings, SETTABLE)


SETTABLE = ("train", "model", "fbank")  # the configs ``Recipe.with_settings`` can change
