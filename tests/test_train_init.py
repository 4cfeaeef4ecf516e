"""``train --init``: every fold starts from a pretrained checkpoint in any of its three formats.

The checkpoints are made offline with random weights and a tiny transformer (64 wide, 2 blocks,
one head of 64 channels as in every DeiT): a DeiT state dict in timm's names and one in the AST
authors' layout, both built key by key, and a Hugging Face folder written by transformers'
``save_pretrained``. The loaders themselves are proven equal to timm and transformers in
``test_pretrained_*``; these tests prove the training run starts from what they load.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from ast_lab.cli import main
from ast_lab.config import ASTConfig, DataConfig, FbankConfig, TrainConfig
from ast_lab.data import load_dataset
from ast_lab.metrics import Results
from ast_lab.training import cross_validate, fold
from ast_lab.training.saved_runs import FOLD_RESULT

pytest_plugins = ["data_fixtures"]
pytestmark = pytest.mark.usefixtures("one_torch_thread")

WIDTH, DEPTH, MLP = 64, 2, 256  # one attention head of DeiT's 64 channels
N_MELS = 32  # the synthetic clips' features: 32 mel bands x 51 frames, a 2 x 4 patch grid
TINY = ASTConfig(n_mels=N_MELS, n_frames=51, embed_dim=WIDTH, depth=DEPTH, num_heads=1,
                 drop_path_rate=0.0, layer_norm_eps=1e-6, head_norm=True, head_norm_eps=1e-5)
ONE_EPOCH = TrainConfig(epochs=1, batch_size=8, warmup_epochs=0)


def encoder_weights(prefix: str = "", patch_channels: int = 3, grid_cells: int = 16) -> dict:
    """Random timm-named encoder weights (under ``prefix``) of the tiny transformer."""
    generator = torch.Generator().manual_seed(0)
    shapes = {"cls_token": (1, 1, WIDTH), "dist_token": (1, 1, WIDTH),
              "pos_embed": (1, 2 + grid_cells, WIDTH),
              "patch_embed.proj.weight": (WIDTH, patch_channels, 16, 16),
              "patch_embed.proj.bias": (WIDTH,), "norm.weight": (WIDTH,), "norm.bias": (WIDTH,)}
    for i in range(DEPTH):
        shapes.update({f"blocks.{i}.{k}": s for k, s in {
            "norm1.weight": (WIDTH,), "norm1.bias": (WIDTH,), "attn.qkv.weight": (3 * WIDTH, WIDTH),
            "attn.qkv.bias": (3 * WIDTH,), "attn.proj.weight": (WIDTH, WIDTH),
            "attn.proj.bias": (WIDTH,), "norm2.weight": (WIDTH,), "norm2.bias": (WIDTH,),
            "mlp.fc1.weight": (MLP, WIDTH), "mlp.fc1.bias": (MLP,),
            "mlp.fc2.weight": (WIDTH, MLP), "mlp.fc2.bias": (WIDTH,)}.items()})
    return {prefix + k: torch.randn(s, generator=generator) * 0.3 for k, s in shapes.items()}


def deit_file(path: Path) -> Path:
    """A distilled DeiT's state dict (4 x 4 grid, 10-class ImageNet-style heads), saved."""
    state = encoder_weights()
    for head in ("head", "head_dist"):
        state[f"{head}.weight"], state[f"{head}.bias"] = torch.randn(10, WIDTH), torch.randn(10)
    torch.save(state, path)
    return path


def authors_file(path: Path) -> Path:
    """The authors' layout: one-channel filters, 128 mel bins x 1,024 frames (12 x 101)."""
    state = encoder_weights("module.v.", patch_channels=1, grid_cells=12 * 101)
    state.update({"module.mlp_head.0.weight": torch.ones(WIDTH),
                  "module.mlp_head.0.bias": torch.zeros(WIDTH),
                  "module.mlp_head.1.weight": torch.randn(7, WIDTH),
                  "module.mlp_head.1.bias": torch.randn(7)})
    torch.save(state, path)
    return path


def hf_folder(path: Path) -> Path:
    """An ``ASTForAudioClassification`` folder of the tiny transformer, 32 mel bins."""
    transformers = pytest.importorskip("transformers")
    config = transformers.ASTConfig(
        hidden_size=WIDTH, num_hidden_layers=DEPTH, num_attention_heads=1, intermediate_size=MLP,
        num_mel_bins=N_MELS, max_length=100, layer_norm_eps=1e-12, num_labels=3)
    torch.manual_seed(0)
    transformers.ASTForAudioClassification(config).save_pretrained(path)
    transformers.ASTFeatureExtractor(num_mel_bins=N_MELS, max_length=100).save_pretrained(path)
    return path


def first_block(fmt: str, path: Path) -> dict[str, torch.Tensor]:
    """Block 0's MLP and the final norm, read straight from the checkpoint, under our names."""
    if fmt == "hf":
        from safetensors.torch import load_file
        state = load_file(path / "model.safetensors")
        theirs = "audio_spectrogram_transformer."
        fc1 = f"{theirs}encoder.layer.0.intermediate.dense.weight"
        return {"blocks.0.mlp.fc1.weight": state[fc1], "norm.weight": state[f"{theirs}layernorm.weight"]}
    state = torch.load(path)
    prefix = "module.v." if fmt == "authors" else ""
    return {k: state[prefix + k] for k in ("blocks.0.mlp.fc1.weight", "norm.weight")}


@pytest.fixture
def tiny_data(home, synthetic_small):
    return load_dataset(DataConfig(source="folder", root=str(synthetic_small)),
                        FbankConfig(n_mels=N_MELS), progress=False)


MAKERS = {"deit": (deit_file, "deit.pth"), "authors": (authors_file, "authors.pth"),
          "hf": (hf_folder, "hf")}


@pytest.mark.parametrize("fmt", sorted(MAKERS))
def test_every_fold_starts_from_the_checkpoint_and_the_run_records_it(
        fmt, tiny_data, tmp_path, monkeypatch):
    make, name = MAKERS[fmt]
    init = make(tmp_path / name)
    starts = []

    def spied(cfg, path):  # the fold's model before its first step
        model = pretrained_model(cfg, path)
        starts.append({k: v.clone() for k, v in model.state_dict().items()})
        return model

    pretrained_model = fold.pretrained_model
    monkeypatch.setattr(fold, "pretrained_model", spied)
    out = tmp_path / "run"
    results = cross_validate(TINY, ONE_EPOCH, tiny_data, folds=[1, 2], out_dir=out,
                             progress=False, init=init)
    expected = first_block(fmt, init)
    assert len(starts) == 2  # each fold from the checkpoint, not from the fold before
    for start in starts:
        for key, value in expected.items():
            torch.testing.assert_close(start[key], value, rtol=0, atol=0)
        assert start["head.weight"].shape == (tiny_data.num_classes, WIDTH)  # a new head
    trained = torch.load(out / "ast-fold1" / "best.pt")["model"]
    assert not torch.equal(trained["blocks.0.mlp.fc1.weight"], starts[0]["blocks.0.mlp.fc1.weight"])
    assert Results.load(out).configs["init"] == str(init.resolve())
    run_config = json.loads((out / "ast-fold2" / FOLD_RESULT).read_text())["run_config"]
    assert run_config["init"] == str(init.resolve())
    assert results.fold_ids == [1, 2]


def test_hf_checkpoint_conventions_are_taken_with_a_note(tiny_data, tmp_path, capsys):
    init = hf_folder(tmp_path / "hf")
    cross_validate(TINY, ONE_EPOCH, tiny_data, folds=[1], out_dir=tmp_path / "run",
                   progress=False, init=init)
    assert "model.layer_norm_eps 1e-06 -> 1e-12" in capsys.readouterr().err
    saved = Results.load(tmp_path / "run").configs["model"]
    assert saved["layer_norm_eps"] == saved["head_norm_eps"] == 1e-12


def cli_train(root: Path, out: Path, *extra: str) -> list[str]:
    return ["train", "--model", "ast", "--preset", "tiny", "--data", "folder", "--root",
            str(root), "--n-mels", str(N_MELS), "--folds", "1", "--epochs", "1",
            "--batch-size", "16", "--out", str(out), "--no-progress", *extra]


def test_cli_trains_from_init_and_refuses_to_resume_with_another(
        home, synthetic_small, tmp_path, capsys):
    """A DeiT of the tiny preset's sizes (192 wide, 12 blocks of 3 heads), through main()."""
    generator = torch.Generator().manual_seed(1)
    model = ASTConfig.preset("tiny")
    from ast_lab.models.ast import AST
    state = {k: torch.randn(v.shape, generator=generator) * 0.1
             for k, v in AST(model).state_dict().items() if not k.startswith("head")}
    state["patch_embed.proj.weight"] = state["patch_embed.proj.weight"].repeat(1, 3, 1, 1)
    state["pos_embed"] = torch.randn(1, 2 + 14 * 14, 192)
    first, second = tmp_path / "deit.pth", tmp_path / "other.pth"
    torch.save(state, first)
    torch.save(state, second)
    out = tmp_path / "run"
    assert main(cli_train(synthetic_small, out, "--init", str(first))) == 0
    assert "model.layer_norm_eps 1e-05 -> 1e-06" in capsys.readouterr().err
    assert main(cli_train(synthetic_small, out, "--init", str(second), "--resume")) == 1
    note, error = capsys.readouterr().err.strip().split("\n")  # the same note, then the error
    assert note.startswith("note: --init") and "cannot resume in" in error and "(init)" in error


def test_bad_init_paths_and_models_are_one_line_each(home, synthetic_small, tmp_path, capsys):
    missing = tmp_path / "nothing.pth"
    assert main(cli_train(synthetic_small, tmp_path / "a", "--init", str(missing))) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and f"{missing}: no such weight file" in error
    other = tmp_path / "other.pth"
    torch.save({"weight": torch.zeros(2)}, other)
    assert main(cli_train(synthetic_small, tmp_path / "b", "--init", str(other))) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and str(other) in error and "DeiT" in error
    deit = deit_file(tmp_path / "deit.pth")  # 64 wide: not the tiny preset's 192
    assert main(cli_train(synthetic_small, tmp_path / "c", "--init", str(deit))) == 1
    error = capsys.readouterr().err.strip()
    assert error.count("\n") == 0 and "embed_dim 192 (the checkpoint's 64)" in error
    args = ["train", "--model", "cnn", "--data", "folder", "--root", str(synthetic_small),
            "--n-mels", str(N_MELS), "--folds", "1", "--epochs", "1", "--init", str(deit),
            "--out", str(tmp_path / "d"), "--no-progress"]
    assert main(args) == 1
    assert "pretrained weights start an AST" in capsys.readouterr().err


def test_pretrained_recipes_need_init_and_say_which(home, synthetic_small, tmp_path, capsys):
    for recipe in ("esc50-ast-imagenet", "esc50-ast-audioset"):
        args = ["train", "--recipe", recipe, "--data", "folder", "--root", str(synthetic_small),
                "--out", str(tmp_path / recipe)]
        assert main(args) == 1
        error = capsys.readouterr().err.strip()
        assert error.count("\n") == 0 and recipe in error and "pass --init with" in error
    assert not (tmp_path / "esc50-ast-imagenet").exists()  # refused before any work
