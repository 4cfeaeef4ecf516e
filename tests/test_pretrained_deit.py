"""ImageNet DeiT -> AST: ``from_deit`` equals the paper's procedure run through timm's own blocks.

The reference below is written from the authors' ``ast_models.py`` on its own: the RGB filters
summed, the 2-D position grid cut from its middle (``hw // 2 - t // 2``) or stretched bilinearly,
time first and then frequency; then timm's blocks and norm, and the mean of [CLS] and [DIST].
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

from ast_lab.config import ASTConfig
from ast_lab.models.ast import pool
from ast_lab.models.pretrained import from_deit
from reference_models import import_timm

timm = import_timm()

pytestmark = pytest.mark.usefixtures("one_torch_thread")

LOGITS_TOL = 1e-5
# (DeiT, ASTConfig preset): base, small and tiny all load; one block each keeps the test fast
DEITS = [("deit_tiny_distilled_patch16_224", "tiny"), ("deit_small_distilled_patch16_224", "small"),
         ("deit_base_distilled_patch16_384", "base")]
# (n_mels, n_frames, fstride, tstride) -> grid, from DeiT-224's 14 x 14
GRIDS = {
    "cut": (128, 100, 10, 10),  # 12 x 9: both axes cut from the middle
    "time stretched": (128, 512, 10, 10),  # 12 x 50 (ESC-50): time stretched, frequency cut
    "both stretched": (128, 200, 6, 10),  # 19 x 19: both stretched
}


def random_deit(name: str, depth: int = 2) -> torch.nn.Module:
    """A timm DeiT with random weights everywhere (norms and tokens too), in eval mode."""
    torch.manual_seed(0)
    model = timm.create_model(name, pretrained=False, depth=depth).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 0.3)
    return model


def paper_positions(pos_embed: torch.Tensor, f_dim: int, t_dim: int) -> torch.Tensor:
    """The authors' fit of DeiT's square grid to ``f_dim x t_dim``, as their code does it."""
    dim, hw = pos_embed.shape[-1], int((pos_embed.shape[1] - 2) ** 0.5)
    grid = pos_embed[:, 2:].reshape(1, hw, hw, dim).permute(0, 3, 1, 2)  # (1, D, hw, hw)
    if t_dim <= hw:
        grid = grid[:, :, :, hw // 2 - t_dim // 2 : hw // 2 - t_dim // 2 + t_dim]
    else:
        grid = F.interpolate(grid, size=(hw, t_dim), mode="bilinear")
    if f_dim <= hw:
        grid = grid[:, :, hw // 2 - f_dim // 2 : hw // 2 - f_dim // 2 + f_dim, :]
    else:
        grid = F.interpolate(grid, size=(f_dim, t_dim), mode="bilinear")
    return torch.cat([pos_embed[:, :2], grid.reshape(1, dim, -1).transpose(1, 2)], dim=1)


def paper_forward(deit, spec: torch.Tensor, fstride: int, tstride: int) -> torch.Tensor:
    """The adapted DeiT on ``(B, n_mels, frames)``, through timm's blocks: the pooled token
    ``(B, D)`` (mean of [CLS] and [DIST] after the final norm)."""
    weight = deit.patch_embed.proj.weight.sum(dim=1, keepdim=True)  # (D, 1, 16, 16)
    patches = F.conv2d(spec.unsqueeze(1), weight, deit.patch_embed.proj.bias,
                       stride=(fstride, tstride))  # (B, D, f, t)
    f_dim, t_dim = patches.shape[-2:]
    x = patches.flatten(2).transpose(1, 2)
    prefix = [deit.cls_token.expand(len(x), -1, -1), deit.dist_token.expand(len(x), -1, -1)]
    x = torch.cat([*prefix, x], dim=1) + paper_positions(deit.pos_embed, f_dim, t_dim)
    for block in deit.blocks:
        x = block(x)
    x = deit.norm(x)
    return (x[:, 0] + x[:, 1]) / 2


def check_equal_to_the_paper(deit, cfg: ASTConfig) -> float:
    """Max |ours - reference| over the pooled tokens and logits of random spectrograms (the new
    head, random and small, is ours in both)."""
    ours = from_deit(deit.state_dict(), cfg).eval()
    spec = torch.randn(2, cfg.n_mels, cfg.n_frames, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = paper_forward(deit, spec, cfg.fstride, cfg.tstride)  # (B, D)
        got = pool(ours.forward_features(spec), "tokens")  # (B, D)
        logits_diff = (ours(spec) - ours.head(expected)).abs().max().item()
    assert expected.std() > 0.1  # tokens of a real spread, not near-zero by construction
    return max((got - expected).abs().max().item(), logits_diff)


@pytest.mark.parametrize("grid", sorted(GRIDS))
def test_from_deit_equals_the_papers_procedure(grid):
    n_mels, n_frames, fstride, tstride = GRIDS[grid]
    cfg = ASTConfig.preset("tiny", depth=2, n_mels=n_mels, n_frames=n_frames, fstride=fstride,
                           tstride=tstride, num_classes=5, drop_path_rate=0.0)
    assert check_equal_to_the_paper(random_deit(DEITS[0][0]), cfg) <= LOGITS_TOL


@pytest.mark.parametrize("name, preset", DEITS)
def test_base_small_and_tiny_deits_load(name, preset):
    cfg = ASTConfig.preset(preset, depth=1, n_frames=512, num_classes=5, drop_path_rate=0.0)
    assert check_equal_to_the_paper(random_deit(name, depth=1), cfg) <= LOGITS_TOL


def test_files_load_as_the_state_dict_does(tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    deit = random_deit(DEITS[0][0])
    cfg = ASTConfig.preset("tiny", depth=2, n_frames=100, num_classes=5)
    torch.save({"model": deit.state_dict()}, tmp_path / "deit.pth")  # as DeiT's releases
    safetensors_torch.save_file(deit.state_dict(), tmp_path / "deit.safetensors")
    expected = from_deit(deit.state_dict(), cfg).state_dict()
    for path in (tmp_path / "deit.pth", tmp_path / "deit.safetensors"):
        loaded = from_deit(path, cfg).state_dict()
        for key, value in expected.items():
            if not key.startswith("head"):  # each call starts its own new head
                assert torch.equal(loaded[key], value), (path, key)


def test_mismatched_config_and_undistilled_deit_say_what_is_wrong():
    deit = random_deit(DEITS[0][0])
    with pytest.raises(ValueError, match=r"embed_dim': 192.*preset\('tiny'\)"):
        from_deit(deit.state_dict(), ASTConfig.preset("small", depth=2))
    undistilled = timm.create_model("deit_tiny_patch16_224", pretrained=False, depth=1)
    with pytest.raises(ValueError, match="has no 'dist_token'"):
        from_deit(undistilled.state_dict(), ASTConfig.preset("tiny", depth=1))
