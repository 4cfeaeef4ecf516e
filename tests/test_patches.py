"""Patch extraction: grid arithmetic, token order, and the conv == unfold + linear identity."""

import pytest
import torch

from ast_lab.models.patches import (
    PatchEmbed,
    as_image_batch,
    extract_patches,
    patch_boxes,
    patch_grid,
)


def count_starts(length: int, patch: int, stride: int) -> int:
    """Brute force: how many window positions fit, by listing them."""
    return len([start for start in range(0, length, stride) if start + patch <= length])


@pytest.mark.parametrize(
    "n_mels, n_frames, expected",
    [(128, 1024, (12, 101)), (128, 512, (12, 50)), (128, 100, (12, 9))],
)
def test_patch_grid_paper_sizes(n_mels, n_frames, expected):
    assert patch_grid(n_mels, n_frames, 16, 10, 10) == expected


@pytest.mark.parametrize(
    "n_mels, n_frames, fstride, tstride",
    [(128, 512, 16, 16), (64, 100, 10, 6), (16, 17, 1, 3), (40, 333, 7, 11)],
)
def test_patch_grid_matches_brute_force(n_mels, n_frames, fstride, tstride):
    expected = (count_starts(n_mels, 16, fstride), count_starts(n_frames, 16, tstride))
    assert patch_grid(n_mels, n_frames, 16, fstride, tstride) == expected


@pytest.mark.parametrize("n_mels, n_frames", [(15, 512), (128, 10)])
def test_input_smaller_than_a_patch_is_a_clear_error(n_mels, n_frames):
    with pytest.raises(ValueError, match="smaller than one 16 x 16 patch"):
        patch_grid(n_mels, n_frames, 16, 10, 10)
    with pytest.raises(ValueError, match="smaller than one"):
        extract_patches(torch.zeros(1, n_mels, n_frames))


def test_patch_boxes_cover_the_grid_with_the_stated_overlap():
    boxes = patch_boxes(128, 512, 16, 10, 10)
    assert len(boxes) == 600
    assert boxes[:2] == [(0, 0), (0, 10)]  # frequency-major: time varies fastest
    assert boxes[50] == (10, 0)  # second frequency row
    assert max(f for f, _ in boxes) + 16 <= 128 and max(t for _, t in boxes) + 16 <= 512
    assert boxes[-1] == (110, 490)


def test_extract_patches_rows_are_the_boxes_flattened():
    torch.manual_seed(0)
    spec = torch.randn(2, 40, 57)
    patches = extract_patches(spec, 16, 8, 10)  # (B, N, 256)
    boxes = patch_boxes(40, 57, 16, 8, 10)
    assert patches.shape == (2, len(boxes), 256)
    for k, (f0, t0) in enumerate(boxes):
        assert torch.equal(patches[:, k], spec[:, f0 : f0 + 16, t0 : t0 + 16].flatten(1))


@pytest.mark.parametrize("fstride, tstride", [(10, 10), (16, 16), (6, 12)])
def test_conv_equals_unfold_plus_linear_with_shared_weights(fstride, tstride):
    torch.manual_seed(0)
    embed = PatchEmbed(48, 70, patch_size=16, fstride=fstride, tstride=tstride, embed_dim=24)
    spec = torch.randn(3, 48, 70)
    by_conv = embed(spec)
    by_unfold = embed.embed_by_unfold(spec)
    assert by_conv.shape == (3, embed.num_patches, 24)
    torch.testing.assert_close(by_conv, by_unfold, atol=1e-5, rtol=1e-5)


def test_token_k_is_the_projection_of_patch_k():
    torch.manual_seed(0)
    embed = PatchEmbed(48, 70, 16, 10, 10, embed_dim=8)
    spec = torch.randn(1, 48, 70)
    tokens = embed(spec)
    weight, bias = embed.proj.weight.flatten(1), embed.proj.bias
    for k, (f0, t0) in enumerate(patch_boxes(48, 70, 16, 10, 10)):
        patch = spec[0, f0 : f0 + 16, t0 : t0 + 16].flatten()
        torch.testing.assert_close(tokens[0, k], weight @ patch + bias, atol=1e-5, rtol=1e-5)


def test_patch_embed_stores_its_grid_and_rejects_other_sizes():
    embed = PatchEmbed(128, 512, 16, 10, 10, embed_dim=4)
    assert embed.grid_size == (12, 50) and embed.num_patches == 600
    with pytest.raises(ValueError, match="of 128 mel bins x 512 frames, got 128 x 500"):
        embed(torch.zeros(1, 128, 500))
    embed.set_input_size(128, 1024)
    assert embed.grid_size == (12, 101) and embed.num_patches == 1212
    assert embed(torch.zeros(1, 128, 1024)).shape == (1, 1212, 4)


def test_channel_axis_is_optional_and_only_one_channel_is_accepted():
    torch.manual_seed(0)
    embed = PatchEmbed(32, 40, 16, 10, 10, embed_dim=4)
    spec = torch.randn(2, 32, 40)
    assert torch.equal(embed(spec), embed(spec.unsqueeze(1)))
    assert as_image_batch(spec).shape == (2, 1, 32, 40)
    with pytest.raises(ValueError, match=r"\(batch, n_mels, frames\)"):
        embed(torch.randn(2, 3, 32, 40))
    with pytest.raises(ValueError, match=r"\(batch, n_mels, frames\)"):
        embed(torch.randn(32, 40))


def test_extra_repr_names_the_grid():
    text = repr(PatchEmbed(128, 512, 16, 10, 10, embed_dim=4))
    assert "grid=12x50" in text and "num_patches=600" in text
