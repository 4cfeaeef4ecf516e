"""SpecAugment masks, time shift and mixup: bounds, fill, convex combinations, no-ops, determinism."""

import numpy as np
import pytest
import torch

from ast_lab.augment import (
    Augment,
    Mixup,
    SpecAugment,
    TimeShift,
    mixup,
    random_band_mask,
    spec_augment,
    time_shift,
)

N_MELS, FRAMES = 32, 50


def _specs(batch: int = 64, channel: bool = False) -> torch.Tensor:
    """Random positive spectrograms, so no cell equals the fill value by accident."""
    gen = torch.Generator().manual_seed(0)
    x = torch.rand(batch, N_MELS, FRAMES, generator=gen) + 1.0
    return x[:, None] if channel else x


def _band_widths(mask: torch.Tensor) -> torch.Tensor:
    """Number of True cells per row of a (batch, size) band mask."""
    return mask.sum(dim=1)


@pytest.mark.parametrize("max_width", [0, 1, 7, 100])
def test_band_mask_is_one_contiguous_band_within_bounds(max_width):
    rng = np.random.default_rng(1)
    mask = random_band_mask(500, 20, max_width, rng, torch.device("cpu"))
    widths = _band_widths(mask)
    assert widths.min() >= 0 and widths.max() <= min(max_width, 20)
    for row, width in zip(mask, widths):
        on = torch.nonzero(row).flatten()
        if width > 0:  # contiguous: last - first + 1 == count
            assert on[-1] - on[0] + 1 == width
    if max_width > 0:  # the full range of widths is reached
        assert widths.max() == min(max_width, 20) and widths.min() == 0


def test_band_mask_reaches_both_edges():
    mask = random_band_mask(2000, 10, 3, np.random.default_rng(0), torch.device("cpu"))
    assert mask[:, 0].any() and mask[:, -1].any()


@pytest.mark.parametrize("channel", [False, True])
def test_spec_augment_masks_one_band_per_axis_with_fill(channel):
    specs = _specs(channel=channel)
    out = spec_augment(specs, freq_mask=8, time_mask=12, fill=-3.5, rng=np.random.default_rng(0))
    assert out.shape == specs.shape
    out3, in3 = out.reshape(-1, N_MELS, FRAMES), specs.reshape(-1, N_MELS, FRAMES)
    masked = out3 == -3.5
    changed = out3 != in3
    assert torch.equal(masked, changed)  # every change is a fill, and nothing else moved
    freq_rows = masked.all(dim=2)  # (B, n_mels): mel bins masked across all frames
    time_cols = masked.all(dim=1)  # (B, frames): frames masked across all mel bins
    assert (freq_rows.sum(1) <= 8).all()
    assert (time_cols.sum(1) <= 12).all()
    # the masked region is exactly the union of the full rows and full columns
    assert torch.equal(masked, freq_rows[:, :, None] | time_cols[:, None, :])
    assert masked.any() and not masked.all()
    assert (specs >= 1.0).all()  # input not modified in place


def test_spec_augment_width_zero_masks_nothing():
    specs = _specs()
    out = spec_augment(specs, 0, 0, rng=np.random.default_rng(0))
    assert torch.equal(out, specs)


def test_spec_augment_is_deterministic_under_seeded_generator():
    specs = _specs()
    a = spec_augment(specs, 8, 12, rng=np.random.default_rng(42))
    b = spec_augment(specs, 8, 12, rng=np.random.default_rng(42))
    c = spec_augment(specs, 8, 12, rng=np.random.default_rng(43))
    assert torch.equal(a, b) and not torch.equal(a, c)


def test_spec_augment_rejects_bad_shape():
    with pytest.raises(ValueError, match="n_mels, frames"):
        spec_augment(torch.zeros(2, 3, N_MELS, FRAMES), 4, 4)


@pytest.mark.parametrize("channel", [False, True])
def test_mixup_is_the_convex_combination_its_soft_labels_state(channel):
    # with one class per example, soft label row i holds the weight of every example mixed
    # into example i, so the mixed batch must equal soft @ inputs
    batch = 16
    specs, targets = _specs(batch=batch, channel=channel), torch.arange(batch)
    mixed, soft = mixup(specs, targets, 0.4, batch, rng=np.random.default_rng(0))
    assert mixed.shape == specs.shape and soft.shape == (batch, batch)
    torch.testing.assert_close(soft.sum(1), torch.ones(batch))
    assert (soft >= 0).all() and ((soft > 0).sum(1) <= 2).all()  # at most two examples mixed
    assert ((soft > 0).sum(1) == 2).any()  # and some really are mixed
    torch.testing.assert_close(mixed.reshape(batch, -1), soft @ specs.reshape(batch, -1))


def test_mixup_matches_explicit_formula():
    specs, targets = _specs(batch=8), torch.tensor([0, 1, 2, 3, 0, 1, 2, 3])
    mixed, soft = mixup(specs, targets, alpha=1.0, num_classes=4, rng=np.random.default_rng(7))
    rng = np.random.default_rng(7)  # the same draws, in the same order
    lam = torch.as_tensor(rng.beta(1.0, 1.0, size=8), dtype=torch.float32)
    perm = torch.as_tensor(rng.permutation(8))
    expected = lam[:, None, None] * specs + (1 - lam[:, None, None]) * specs[perm]
    torch.testing.assert_close(mixed, expected)
    onehot = torch.nn.functional.one_hot(targets, 4).float()
    torch.testing.assert_close(soft, lam[:, None] * onehot + (1 - lam[:, None]) * onehot[perm])
    assert not torch.equal(perm, torch.arange(8))  # the check above actually mixed something


def test_mixup_is_deterministic_under_seeded_generator():
    specs, targets = _specs(batch=8), torch.arange(8)
    a = mixup(specs, targets, 0.5, 8, rng=np.random.default_rng(3))
    b = mixup(specs, targets, 0.5, 8, rng=np.random.default_rng(3))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


def test_mixup_rejects_nonpositive_alpha():
    with pytest.raises(ValueError, match="alpha"):
        mixup(_specs(batch=2), torch.tensor([0, 1]), 0.0, 2)


def test_modules_are_noops_in_eval_and_when_disabled():
    specs, targets = _specs(batch=8), torch.arange(8) % 3
    onehot = torch.nn.functional.one_hot(targets, 3).float()
    assert torch.equal(SpecAugment(8, 12).eval()(specs), specs)
    x, y = Mixup(0.4, 3).eval()(specs, targets)
    assert torch.equal(x, specs) and torch.equal(y, onehot)
    # disabled but in training mode
    assert torch.equal(SpecAugment(0, 0).train()(specs), specs)
    x, y = Mixup(0.0, 3).train()(specs, targets)
    assert torch.equal(x, specs) and torch.equal(y, onehot)
    # enabled and training: something changes
    assert not torch.equal(SpecAugment(8, 12, rng=np.random.default_rng(0)).train()(specs), specs)
    x, y = Mixup(0.4, 3, rng=np.random.default_rng(0)).train()(specs, targets)
    assert not torch.equal(y, onehot)


def test_modules_draw_from_their_generator():
    specs = _specs()
    a = SpecAugment(8, 12, fill=0.0, rng=np.random.default_rng(5)).train()
    b = SpecAugment(8, 12, fill=0.0, rng=np.random.default_rng(5)).train()
    first_a, first_b = a(specs), b(specs)
    assert torch.equal(first_a, first_b)
    assert not torch.equal(a(specs), first_a)  # the generator advances between calls


@pytest.mark.parametrize("channel", [False, True])
def test_time_shift_rolls_each_example_by_its_own_bounded_amount(channel):
    specs = _specs(channel=channel)
    shifted = time_shift(specs, 7, rng=np.random.default_rng(3))
    amounts = []
    for before, after in zip(specs, shifted):
        matches = [s for s in range(-7, 8) if torch.equal(torch.roll(before, s, dims=-1), after)]
        assert len(matches) == 1  # exactly a circular roll within the bound
        amounts.append(matches[0])
    assert len(set(amounts)) > 5  # examples draw their own shifts
    assert min(amounts) < 0 < max(amounts)  # both directions


def test_time_shift_is_seeded_and_refuses_negative_bounds():
    specs = _specs(8)
    a = time_shift(specs, 5, rng=np.random.default_rng(0))
    b = time_shift(specs, 5, rng=np.random.default_rng(0))
    assert torch.equal(a, b)
    with pytest.raises(ValueError, match=">= 0"):
        time_shift(specs, -1)
    with pytest.raises(ValueError, match=">= 0"):
        TimeShift(-2)


def test_time_shift_module_is_identity_in_eval_mode_or_at_zero():
    specs = _specs(8)
    module = TimeShift(5, rng=np.random.default_rng(0))
    assert not torch.equal(module(specs), specs)
    assert module.eval()(specs) is specs
    assert TimeShift(0)(specs) is specs


def test_augment_chains_shift_mix_and_masks_and_returns_soft_targets():
    specs, targets = _specs(16, channel=True), torch.arange(16) % 4
    augment = Augment(num_classes=4, time_shift=5, mixup_alpha=0.4, freq_mask=4, time_mask=6,
                      fill=0.0, rng=np.random.default_rng(0))
    out, soft = augment(specs, targets)
    assert out.shape == specs.shape and soft.shape == (16, 4)
    torch.testing.assert_close(soft.sum(1), torch.ones(16))
    assert (out == 0).any()  # masks drawn after mixing still show as exact fill
    augment.eval()
    out, soft = augment(specs, targets)
    assert out is specs and torch.equal(soft, torch.nn.functional.one_hot(targets, 4).float())
