"""Knowledge distillation through the AST's [DIST] token (DeiT: Touvron et al. 2021, arXiv 2012.12877).

Why the AST has two tokens: DeiT put a second learned token, [DIST], beside [CLS] and trained
its output head to agree with a *teacher* (a convolutional network) while [CLS] learned the
true labels. A CNN's built-in assumptions (local patterns, the same detector everywhere) let it
learn from little data; through [DIST] the transformer is taught what the CNN learned, and
training from scratch on a small dataset works far better. At inference the two heads'
logits are averaged (``AST`` with ``pooling="distilled"``).

The objective of one batch, with true (possibly mixup-soft) targets ``y`` and teacher logits
``t``::

    loss = 1/2 * CE(cls_logits, y) + 1/2 * D(dist_logits, t)

``D`` is ``CE(dist_logits, argmax t)`` for hard distillation (DeiT's better choice), or
``tau^2 * KL(softmax(t / tau) || softmax(dist_logits / tau))`` for soft distillation. The
teacher sees exactly the augmented batch the student sees.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from .precision import autocast

DISTILLATIONS = ("none", "hard", "soft")
Distillation = Literal["none", "hard", "soft"]


def distillation_loss(
    dist_logits: Tensor, teacher_logits: Tensor, kind: Distillation, temperature: float = 1.0
) -> Tensor:
    """How far the [DIST] head is from the teacher: a scalar, nats per example.

    Args:
        dist_logits: ``(B, C)`` the student's [DIST] head.
        teacher_logits: ``(B, C)`` the teacher's, on the same inputs (no gradient flows into it).
        kind: ``"hard"`` (cross-entropy against the teacher's argmax) or ``"soft"`` (KL between
            temperature-softened distributions, times ``temperature**2`` so its gradients keep
            their size as the temperature changes, as Hinton et al. 2015).
        temperature: softmax temperature for ``"soft"``, > 0.
    """
    teacher_logits = teacher_logits.detach().float()
    dist_logits = dist_logits.float()
    if kind == "hard":
        return F.cross_entropy(dist_logits, teacher_logits.argmax(dim=1))
    if kind == "soft":
        if not temperature > 0:
            raise ValueError(f"distillation temperature must be > 0, got {temperature}")
        student = F.log_softmax(dist_logits / temperature, dim=1)  # (B, C)
        teacher = F.log_softmax(teacher_logits / temperature, dim=1)  # (B, C)
        kl = F.kl_div(student, teacher, reduction="batchmean", log_target=True)
        return kl * temperature**2
    raise ValueError(f"unknown distillation {kind!r}; choose 'hard' or 'soft'")


def distilled_objective(
    heads: tuple[Tensor, Tensor],
    soft_targets: Tensor,
    teacher_logits: Tensor,
    kind: Distillation,
    *,
    temperature: float = 1.0,
    label_smoothing: float = 0.0,
) -> Tensor:
    """DeiT's loss: half cross-entropy of [CLS] against the labels, half distillation of [DIST].

    ``heads``: ``(cls_logits, dist_logits)``, each ``(B, C)``; ``soft_targets``: ``(B, C)``
    rows summing to 1 (one-hot, or mixed by mixup); ``teacher_logits``: ``(B, C)``.
    """
    cls_logits, dist_logits = heads
    labels = F.cross_entropy(cls_logits.float(), soft_targets, label_smoothing=label_smoothing)
    return 0.5 * labels + 0.5 * distillation_loss(dist_logits, teacher_logits, kind, temperature)


class Teacher(nn.Module):
    """A trained model, frozen in eval mode, that reads the student's normalised inputs.

    The teacher was trained on the same features normalised with its own training-split
    ``(mean, std)``; the student's batches are normalised with the student's. ``forward``
    converts one into the other (``x * s_std / t_std + (s_mean - t_mean) / t_std``), so the
    teacher sees what it saw in training, then returns its logits ``(B, C)`` without gradients.
    """

    def __init__(
        self, model: nn.Module, student_norm: tuple[float, float],
        teacher_norm: tuple[float, float], precision: str = "auto",
    ) -> None:
        super().__init__()
        self.model = model.eval().requires_grad_(False)
        self.precision = precision  # the teacher's own (``TrainConfig.precision``)
        (s_mean, s_std), (t_mean, t_std) = student_norm, teacher_norm
        self.scale = s_std / t_std
        self.shift = (s_mean - t_mean) / t_std

    def train(self, mode: bool = True) -> "Teacher":
        """Stay in eval mode: the teacher's batch norm and dropout never change."""
        return super().train(False)

    @torch.no_grad()
    def forward(self, specs: Tensor) -> Tensor:
        """Student-normalised ``(B, 1, n_mels, frames)`` -> teacher logits ``(B, C)``,
        computed in the teacher's own precision whatever the student's (a bf16 CNN teaching
        a float32 AST costs a third of what it would in float32)."""
        with autocast(specs.device, self.precision):
            return self.model(specs * self.scale + self.shift)

    def extra_repr(self) -> str:
        return f"scale={self.scale:.4g}, shift={self.shift:.4g}, precision={self.precision}"
