"""Both models can memorise a small labelled set: the end-to-end check that learning works.

An AST that cannot reach 100% *training* accuracy on 32 clips has a bug (a detached tensor, a
wrong axis, a head reading the wrong token), whatever its test-set accuracy would have been.
"""

import math

import pytest
import torch
from torch import Tensor, nn

from ast_lab.config import ASTConfig, CNNConfig
from ast_lab.models import AST, CNN

N_MELS, N_FRAMES, N_CLASSES, N_CLIPS = 64, 100, 4, 32


def synthetic_clips(seed: int = 0) -> tuple[Tensor, Tensor]:
    """32 log-mel-like clips ``(32, 64, 100)`` of 4 kinds of sound, 8 each, with random placement.

    0: a steady low tone (horizontal band in bins 6-18), 1: a steady high tone (bins 36-52),
    2: a rising chirp (diagonal up), 3: a falling chirp. Each sound starts and stops at random
    times over unit-variance background noise, so no two clips are alike.
    """
    gen = torch.Generator().manual_seed(seed)
    specs = torch.randn(N_CLIPS, N_MELS, N_FRAMES, generator=gen)  # (32, 64, 100) background
    labels = torch.arange(N_CLIPS) % N_CLASSES
    frames = torch.arange(N_FRAMES)
    for spec, label in zip(specs, labels.tolist()):
        start = int(torch.randint(0, 40, (), generator=gen))
        stop = start + int(torch.randint(40, 60, (), generator=gen))
        low, high = (6, 18) if label == 0 else (36, 52)
        band = int(torch.randint(low, high, (), generator=gen))  # only used by the steady tones
        active = frames[start:stop]  # (T_active,)
        if label in (0, 1):
            bins = torch.full_like(active, band)
        else:
            slope = (N_MELS - 12) / (stop - start)
            rise = ((active - start) * slope).long() + 4
            bins = rise if label == 2 else N_MELS - 1 - rise
        for width in (-1, 0, 1):  # a 3-bin-wide line, 4 standard deviations above the noise
            spec[(bins + width).clamp(0, N_MELS - 1), active] += 4.0
    return specs, labels


def train_until_memorised(
    model: nn.Module, specs: Tensor, labels: Tensor, max_steps: int, lr: float
) -> tuple[float, int]:
    """Full-batch Adam until every training clip is classified right (checked in eval mode)."""
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for step in range(1, max_steps + 1):
        model.train()
        loss = nn.functional.cross_entropy(model(specs), labels)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % 10 == 0:
            accuracy = training_accuracy(model, specs, labels)
            if accuracy == 1.0:
                return accuracy, step
    return training_accuracy(model, specs, labels), max_steps


@torch.no_grad()
def training_accuracy(model: nn.Module, specs: Tensor, labels: Tensor) -> float:
    model.eval()
    return (model(specs).argmax(dim=-1) == labels).float().mean().item()


def test_synthetic_clips_are_balanced_and_distinct():
    specs, labels = synthetic_clips()
    assert specs.shape == (32, 64, 100)
    assert torch.bincount(labels).tolist() == [8, 8, 8, 8]
    assert torch.cdist(specs.flatten(1), specs.flatten(1)).fill_diagonal_(1e9).min() > 10


def random_label_clips(seed: int = 0) -> tuple[Tensor, Tensor]:
    """32 clips of pure noise, shuffled labels (8 per class): nothing to learn, only to memorise."""
    gen = torch.Generator().manual_seed(seed)
    specs = torch.randn(N_CLIPS, N_MELS, N_FRAMES, generator=gen)  # (32, 64, 100)
    labels = (torch.arange(N_CLIPS) % N_CLASSES)[torch.randperm(N_CLIPS, generator=gen)]
    return specs, labels


DATASETS = {"sound_patterns": synthetic_clips, "random_labels": random_label_clips}


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_ast_memorises_32_clips(dataset):
    specs, labels = DATASETS[dataset]()
    torch.manual_seed(0)
    model = AST(ASTConfig.preset("micro", n_mels=N_MELS, n_frames=N_FRAMES, num_classes=N_CLASSES))
    assert training_accuracy(model, specs, labels) < 0.5
    with torch.no_grad():
        initial_loss = nn.functional.cross_entropy(model.eval()(specs), labels).item()
    assert initial_loss == pytest.approx(math.log(N_CLASSES), abs=0.1)
    accuracy, steps = train_until_memorised(model, specs, labels, max_steps=300, lr=1e-3)
    assert accuracy == 1.0, f"AST reached only {accuracy:.0%} training accuracy in {steps} steps"


@pytest.mark.parametrize("dataset", sorted(DATASETS))
def test_cnn_memorises_32_clips(dataset):
    specs, labels = DATASETS[dataset]()
    torch.manual_seed(0)
    model = CNN(CNNConfig(channels=(16, 32, 64), num_classes=N_CLASSES))
    assert training_accuracy(model, specs, labels) < 0.5
    accuracy, steps = train_until_memorised(model, specs, labels, max_steps=300, lr=3e-3)
    assert accuracy == 1.0, f"CNN reached only {accuracy:.0%} training accuracy in {steps} steps"
