"""Overlapping spectrogram patches and their linear projection (notebook 02_patch_embedding).

AST cuts a log-mel spectrogram ``(n_mels, frames)`` into square ``patch_size x patch_size``
patches whose top-left corners step ``fstride`` bins down the frequency axis and ``tstride``
frames along the time axis. With strides smaller than the patch (the paper's 10 < 16) the
patches overlap by ``patch_size - stride`` bins/frames. Each patch is flattened and mapped by
one shared linear layer to an ``embed_dim`` token.

That "cut, flatten, multiply" is exactly a ``Conv2d`` with ``kernel_size=patch_size`` and
``stride=(fstride, tstride)``: the conv is the fast path (``PatchEmbed.forward``), the explicit
unfold + linear map is the readable one (``PatchEmbed.embed_by_unfold``); the tests prove they
agree. Tokens are ordered frequency-major: token ``k`` is grid cell
``(k // t_patches, k % t_patches)``.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn


def patch_grid(
    n_mels: int, n_frames: int, patch_size: int = 16, fstride: int = 10, tstride: int = 10
) -> tuple[int, int]:
    """Patches along frequency and time, ``(f_patches, t_patches)``.

    ``f_patches = (n_mels - p) // fstride + 1`` and ``t_patches = (n_frames - p) // tstride + 1``:
    a patch starts wherever a whole patch still fits, so a tail shorter than a patch is dropped.
    128 x 1024 with stride 10 gives 12 x 101 = 1212 patches; 128 x 512 gives 12 x 50 = 600.
    """
    if n_mels < patch_size or n_frames < patch_size:
        raise ValueError(
            f"a {n_mels} x {n_frames} (n_mels x frames) spectrogram is smaller than one "
            f"{patch_size} x {patch_size} patch; both sides must be at least {patch_size}"
        )
    if fstride < 1 or tstride < 1:
        raise ValueError(f"strides must be positive, got fstride={fstride}, tstride={tstride}")
    return (n_mels - patch_size) // fstride + 1, (n_frames - patch_size) // tstride + 1


def patch_boxes(
    n_mels: int, n_frames: int, patch_size: int = 16, fstride: int = 10, tstride: int = 10
) -> list[tuple[int, int]]:
    """Top-left corner ``(freq_start, time_start)`` of every patch, in token order.

    Each patch covers bins ``freq_start : freq_start + patch_size`` and frames
    ``time_start : time_start + patch_size``; handy for drawing the grid on a spectrogram.
    """
    f_patches, t_patches = patch_grid(n_mels, n_frames, patch_size, fstride, tstride)
    return [(i * fstride, j * tstride) for i in range(f_patches) for j in range(t_patches)]


def as_image_batch(spec: Tensor) -> Tensor:
    """``(B, n_mels, frames)`` or ``(B, 1, n_mels, frames)`` -> ``(B, 1, n_mels, frames)``.

    Models take the first (the project's spectrogram convention); DataLoaders that add a
    channel axis give the second. Conv layers need the channel axis, so add it here, once.
    """
    if spec.ndim == 3:
        return spec.unsqueeze(1)  # (B, 1, F, T)
    if spec.ndim == 4 and spec.shape[1] == 1:
        return spec
    raise ValueError(
        "expected spectrograms shaped (batch, n_mels, frames) or (batch, 1, n_mels, frames), "
        f"got {tuple(spec.shape)}"
    )


def extract_patches(
    spec: Tensor, patch_size: int = 16, fstride: int = 10, tstride: int = 10
) -> Tensor:
    """Cut every overlapping patch and flatten it: ``(B, n_mels, frames) -> (B, N, patch_size**2)``.

    Row ``k`` of the output is ``spec[b, f0:f0+p, t0:t0+p].flatten()`` for the ``k``-th entry of
    ``patch_boxes``. ``F.unfold`` does the cutting (it slides the window exactly like a conv).
    """
    image = as_image_batch(spec)  # (B, 1, F, T)
    patch_grid(*image.shape[-2:], patch_size, fstride, tstride)  # raises if smaller than a patch
    columns = F.unfold(image, kernel_size=patch_size, stride=(fstride, tstride))  # (B, p*p, N)
    return columns.transpose(1, 2)  # (B, N, p*p)


class PatchEmbed(nn.Module):
    """Spectrogram -> patch tokens ``(B, N, embed_dim)``, one strided ``Conv2d``.

    The grid and ``num_patches`` are fixed at construction from the input size (as timm does), and
    inputs of any other size are rejected with a message saying what was expected: the positional
    embedding downstream has one row per patch, so a silent size change would misalign them.
    """

    def __init__(
        self,
        n_mels: int = 128,
        n_frames: int = 512,
        patch_size: int = 16,
        fstride: int = 10,
        tstride: int = 10,
        embed_dim: int = 768,
    ):
        super().__init__()
        self.patch_size = patch_size
        self.stride = (fstride, tstride)
        self.set_input_size(n_mels, n_frames)
        self.proj = nn.Conv2d(1, embed_dim, kernel_size=patch_size, stride=self.stride)

    def set_input_size(self, n_mels: int, n_frames: int) -> None:
        """Take ``n_mels x n_frames`` inputs from now on; sets ``grid_size`` and ``num_patches``."""
        self.input_size = (n_mels, n_frames)
        self.grid_size = patch_grid(n_mels, n_frames, self.patch_size, *self.stride)
        self.num_patches = self.grid_size[0] * self.grid_size[1]

    def check_input(self, image: Tensor) -> None:
        """Raise a ValueError unless ``image`` is ``(B, 1, n_mels, n_frames)`` as configured."""
        if tuple(image.shape[-2:]) != self.input_size:
            n_mels, n_frames = self.input_size
            raise ValueError(
                f"expected spectrograms of {n_mels} mel bins x {n_frames} frames, got "
                f"{image.shape[-2]} x {image.shape[-1]}; pad/crop the input to {n_frames} frames "
                "(FbankConfig.target_frames) or resize the model (AST.resize_input)"
            )

    def forward(self, spec: Tensor) -> Tensor:
        """``(B, n_mels, frames)`` or ``(B, 1, n_mels, frames)`` -> ``(B, N, embed_dim)``."""
        image = as_image_batch(spec)  # (B, 1, F, T)
        self.check_input(image)
        grid = self.proj(image)  # (B, D, f_patches, t_patches)
        return grid.flatten(2).transpose(1, 2)  # (B, N, D), frequency-major

    def embed_by_unfold(self, spec: Tensor) -> Tensor:
        """Same map, written out: flatten each patch, multiply by the conv weights (a matrix)."""
        image = as_image_batch(spec)  # (B, 1, F, T)
        self.check_input(image)
        patches = extract_patches(image, self.patch_size, *self.stride)  # (B, N, p*p)
        weight = self.proj.weight.flatten(1)  # (D, p*p): one row per output channel
        return F.linear(patches, weight, self.proj.bias)  # (B, N, D)

    def extra_repr(self) -> str:
        n_mels, n_frames = self.input_size
        f_patches, t_patches = self.grid_size
        return (
            f"input={n_mels}x{n_frames}, patch={self.patch_size}, stride={self.stride}, "
            f"grid={f_patches}x{t_patches}, num_patches={self.num_patches}"
        )
