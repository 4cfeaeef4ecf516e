"""DeiT-style distillation: the losses, the frozen teacher, and the AST's two heads."""

from __future__ import annotations

import dataclasses
import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ast_lab.config import ASTConfig
from ast_lab.distill import Teacher, distillation_loss, distilled_objective
from ast_lab.models import AST

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_hard_distillation_is_cross_entropy_against_the_teachers_argmax():
    student, teacher = torch.randn(6, 5), torch.randn(6, 5)
    expected = F.cross_entropy(student, teacher.argmax(1))
    assert distillation_loss(student, teacher, "hard").item() == pytest.approx(expected.item())


def test_soft_distillation_is_zero_when_student_equals_teacher_and_scaled_by_tau_squared():
    logits = torch.randn(4, 7)
    assert distillation_loss(logits, logits, "soft", 3.0).item() == pytest.approx(0.0, abs=1e-6)
    student, teacher = torch.randn(4, 7), torch.randn(4, 7)
    tau = 2.0
    p_t = F.softmax(teacher / tau, 1)
    kl = (p_t * (p_t.log() - F.log_softmax(student / tau, 1))).sum(1).mean()
    assert distillation_loss(student, teacher, "soft", tau).item() == pytest.approx(
        (kl * tau**2).item(), rel=1e-5)


def test_distillation_refuses_unknown_kinds_and_bad_temperatures():
    x = torch.randn(2, 3)
    with pytest.raises(ValueError, match="unknown distillation"):
        distillation_loss(x, x, "medium")
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(x, x, "soft", 0.0)


def test_objective_weighs_labels_and_teacher_equally_and_no_gradient_reaches_the_teacher():
    cls_logits = torch.randn(3, 4, requires_grad=True)
    dist_logits = torch.randn(3, 4, requires_grad=True)
    teacher = torch.randn(3, 4, requires_grad=True)
    targets = F.one_hot(torch.tensor([0, 1, 2]), 4).float()
    loss = distilled_objective((cls_logits, dist_logits), targets, teacher, "hard")
    expected = 0.5 * F.cross_entropy(cls_logits, targets) + 0.5 * F.cross_entropy(
        dist_logits, teacher.argmax(1))
    assert loss.item() == pytest.approx(expected.item())
    loss.backward()
    assert teacher.grad is None and cls_logits.grad is not None and dist_logits.grad is not None


class _Probe(nn.Module):
    """Returns its input's per-example mean; its batch norm shows which mode it is in."""

    def __init__(self):
        super().__init__()
        self.bn = nn.BatchNorm1d(1)

    def forward(self, x):
        return x.flatten(1).mean(1, keepdim=True)


def test_teacher_sees_its_own_normalisation_and_stays_frozen_in_eval_mode():
    student_norm, teacher_norm = (-20.0, 10.0), (-25.0, 5.0)
    teacher = Teacher(_Probe(), student_norm, teacher_norm)
    raw = torch.full((2, 1, 3, 4), -30.0)  # dB, as cached
    student_input = (raw - student_norm[0]) / student_norm[1]
    expected = (raw - teacher_norm[0]) / teacher_norm[1]  # what the teacher was trained on
    torch.testing.assert_close(teacher(student_input), expected.flatten(1).mean(1, keepdim=True))
    teacher.train()
    assert not teacher.training and not teacher.model.training
    assert not any(p.requires_grad for p in teacher.parameters())


def test_distilled_ast_has_two_heads_and_outputs_their_mean():
    cfg = ASTConfig.preset("micro", n_mels=32, n_frames=40, embed_dim=32, depth=1, num_heads=2,
                           num_classes=5, pooling="distilled")
    model = AST(cfg).eval()
    spec = torch.randn(2, 32, 40)
    cls_logits, dist_logits = model.forward_heads(spec)
    assert cls_logits.shape == dist_logits.shape == (2, 5)
    assert not torch.allclose(cls_logits, dist_logits)  # two heads, not one
    torch.testing.assert_close(model(spec), (cls_logits + dist_logits) / 2)
    plain = AST(cfg.__class__(**{**cfg.__dict__, "pooling": "tokens"}))
    assert sum(p.numel() for p in model.parameters()) - sum(
        p.numel() for p in plain.parameters()) == 32 * 5 + 5  # exactly one more Linear
    with pytest.raises(ValueError, match="two heads"):
        plain.forward_heads(spec)
    assert math.isfinite(model(spec).sum().item())


def test_label_head_can_read_the_patches_maximum_while_dist_keeps_its_token():
    cfg = ASTConfig.preset("micro", n_mels=32, n_frames=40, embed_dim=32, depth=1, num_heads=2,
                           num_classes=5, pooling="distilled", label_pooling="max")
    model = AST(cfg).eval()
    spec = torch.randn(2, 32, 40)
    tokens = model.forward_features(spec)
    label_logits, dist_logits = model.forward_heads(spec)
    torch.testing.assert_close(label_logits, model.head(tokens[:, 2:].amax(dim=1)))
    torch.testing.assert_close(dist_logits, model.head_dist(tokens[:, 1]))
    with pytest.raises(ValueError, match="label_pooling"):
        AST(dataclasses.replace(cfg, label_pooling="mean"))


def test_teacher_runs_in_its_own_precision_inside_a_float32_student_step():
    layer = nn.Linear(4, 3)
    bf16 = Teacher(layer, (0.0, 1.0), (0.0, 1.0), "bf16")
    f32 = Teacher(layer, (0.0, 1.0), (0.0, 1.0))
    x = torch.randn(2, 4)
    with torch.autocast("cpu", enabled=False):  # the student's float32 step around it
        assert bf16(x).dtype == torch.bfloat16 and f32(x).dtype == torch.float32
    assert "precision=bf16" in repr(bf16)
