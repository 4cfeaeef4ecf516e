"""torchrun's two ways of using several processes, on CPU with gloo and 2 processes: the folds
shared out (exactly a sequential run, fold by fold) and one fold trained data-parallel with DDP
(the same weights as one process with the same global batch, and a killed run resumes to the
same result). The processes are started as torchrun starts them: one per rank, each told its
RANK, LOCAL_RANK, WORLD_SIZE and where to meet in its environment."""

from __future__ import annotations

import dataclasses
import json
import os
import socket
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.multiprocessing as mp

from ast_lab.checkpoint import seed_everything
from ast_lab.config import ASTConfig, CNNConfig, DataConfig, FbankConfig, TrainConfig
from ast_lab.data import load_dataset
from ast_lab.models import build_model
from ast_lab.training import World, cross_validate, fit_to_data, join_world
from ast_lab.training.distributed import fold_share, rank_device, shard
from ast_lab.training.saved_runs import LAST, fold_dir

RANKS = 2
CNN = CNNConfig(channels=(8, 16, 32))
# no random part that a rank would draw differently from one process: no dropout, drop-path,
# mixup, SpecAugment or time shift (shuffling is shared: every rank draws the same batches)
AST = ASTConfig.preset("micro", embed_dim=32, depth=2, num_heads=2, drop_rate=0.0,
                       attn_drop_rate=0.0, drop_path_rate=0.0)
PLAIN = TrainConfig(epochs=2, batch_size=16, lr=3e-3, warmup_epochs=1, patience=10,
                    mixup_alpha=0.0, freq_mask=0, time_mask=0, time_shift=0,
                    selection="last", device="cpu")
# fold-parallel trains each fold exactly as one process does, so every random part can be on
AUGMENTED = dataclasses.replace(PLAIN, epochs=2, mixup_alpha=0.2, freq_mask=4, time_mask=8,
                                selection="best_val")
# DDP averages two half-batch gradients, which rounds differently from one whole-batch gradient
# (~1e-7); Adam divides by the root of the second moment, so where a gradient is near zero that
# rounding can move a weight by up to ~lr. Measured: 6e-6 after 2 epochs (12 steps) at lr 3e-3.
WEIGHT_TOLERANCE = 2e-5


@pytest.fixture(scope="module")
def data_cfg(tmp_path_factory) -> DataConfig:
    """120 synthetic clips of 0.5 s, written once and cached (the ranks read the cache)."""
    root = tmp_path_factory.mktemp("synthetic") / "set"
    cfg = DataConfig(source="synthetic", root=str(root), clip_seconds=0.5,
                     synthetic_per_class_per_fold=2)
    load_dataset(cfg, FbankConfig(n_mels=32), progress=False)
    return cfg


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _rank_main(rank: int, port: int, data_cfg: DataConfig, out: str) -> None:
    """One rank, started as torchrun would start it: fold-parallel CV, then one fold
    data-parallel (uninterrupted, then killed after epoch 1 and resumed)."""
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(RANKS),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port))
    torch.set_num_threads(1)
    world = join_world("cpu")
    assert world == World(rank, RANKS, rank)
    data = load_dataset(data_cfg, FbankConfig(n_mels=32), progress=False)
    run = Path(out)
    folds = cross_validate(CNN, AUGMENTED, data, folds=[1, 2, 3], out_dir=run / "par",
                           progress=False)
    whole = cross_validate(AST, PLAIN, data, folds=[1], out_dir=run / "ddp",
                           progress=False, parallel="data")

    def kill(end):
        if end.epoch == 0:
            raise KeyboardInterrupt("killed after epoch 1")

    try:
        cross_validate(AST, PLAIN, data, folds=[1], out_dir=run / "killed",
                       progress=False, parallel="data", callback=kill)
    except KeyboardInterrupt:
        torch.distributed.barrier()  # rank 0 wrote the checkpoint before it stopped
    killed_epochs = len(torch.load(fold_dir(run / "killed", "ast", 1) / LAST,
                                   weights_only=False)["history"]["val_acc"])
    resumed = cross_validate(AST, PLAIN, data, folds=[1], out_dir=run / "killed",
                             progress=False, parallel="data", resume=True)
    (run / f"rank{rank}.json").write_text(json.dumps(
        {"folds": folds.to_dict(), "whole": whole.to_dict(), "resumed": resumed.to_dict(),
         "killed_epochs": killed_epochs}))
    torch.distributed.destroy_process_group()


@pytest.fixture(scope="module")
def two_ranks(data_cfg, tmp_path_factory) -> tuple[list[dict], Path]:
    """Both tasks run once on 2 ranks (one start-up for all the two-process tests): what each
    rank returned, and the run folder."""
    out = tmp_path_factory.mktemp("two-ranks")
    mp.spawn(_rank_main, args=(_free_port(), data_cfg, str(out)), nprocs=RANKS)
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(RANKS)], out


def _weights(run: Path, kind: str, fold: int) -> dict[str, torch.Tensor]:
    return torch.load(fold_dir(run, kind, fold) / LAST, weights_only=False)["model"]


def _untimed(value):
    """A results dict without its wall-clock fields (each rank times itself)."""
    if isinstance(value, dict):
        return {k: _untimed(v) for k, v in value.items() if k != "seconds"}
    if isinstance(value, list):
        return [_untimed(v) for v in value]
    return value


# ------------------------------------------------------------------ pure pieces


def test_folds_are_shared_out_round_robin_and_batches_split_evenly():
    assert [fold_share([1, 2, 3, 4, 5], World(r, 2)) for r in range(2)] == [[1, 3, 5], [2, 4]]
    assert fold_share([1, 2], World(2, 3)) == []  # more ranks than folds: some wait
    assert fold_share([1, 2, 3], World()) == [1, 2, 3]
    batch = torch.arange(8)
    assert shard(batch, World(1, 2)).tolist() == [1, 3, 5, 7]
    shards = torch.cat([shard(batch, World(r, 4)) for r in range(4)])
    assert shards.sort().values.tolist() == list(range(8))
    with pytest.raises(ValueError, match="batch of 6 does not split evenly over 4 ranks"):
        shard(torch.arange(6), World(0, 4))


def test_each_rank_gets_its_own_gpu_and_one_process_keeps_its_device():
    assert rank_device(torch.device("cuda"), World(3, 4, local_rank=1)) == torch.device("cuda", 1)
    assert rank_device(torch.device("cuda"), World()) == torch.device("cuda")
    assert rank_device(torch.device("cuda", 0), World(1, 2, 1)) == torch.device("cuda", 0)
    assert rank_device(torch.device("cpu"), World(1, 2, 1)) == torch.device("cpu")


def test_without_torchrun_there_is_one_process(monkeypatch):
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    assert join_world() == World()


# ------------------------------------------------------------------ two processes


def test_fold_parallel_equals_a_sequential_run_fold_by_fold(data_cfg, two_ranks):
    """3 folds on 2 ranks (folds 1 and 3 on rank 0, 2 on rank 1), augmentation on: each
    fold's history, predictions and metrics are those of one process; every rank returns
    the whole run, and rank 0 wrote the one results.json."""
    ranks, out = [r["folds"] for r in two_ranks[0]], two_ranks[1]
    assert ranks[0] == ranks[1]
    torch.set_num_threads(1)
    data = load_dataset(data_cfg, FbankConfig(n_mels=32), progress=False)
    sequential = cross_validate(CNN, AUGMENTED, data, folds=[1, 2, 3], progress=False)
    parallel = json.loads((out / "par" / "results.json").read_text())
    assert parallel == ranks[0]
    assert [f["test_fold"] for f in parallel["folds"]] == [1, 2, 3]
    for mine, reference in zip(parallel["folds"], sequential.to_dict()["folds"]):
        assert mine["history"] == reference["history"]
        assert mine["predictions"] == reference["predictions"]


def test_data_parallel_ast_matches_one_process_and_resumes_after_a_kill(
    data_cfg, two_ranks, tmp_path
):
    """Two ranks of DDP, each on half of every global batch of 16, end with the weights of one
    process training on the whole batches (to WEIGHT_TOLERANCE); a two-rank run killed after
    epoch 1 of 2 and resumed ends exactly where the uninterrupted two-rank run did."""
    ranks, out = two_ranks
    assert _untimed(ranks[0]) == _untimed(ranks[1])  # every rank returns the same results
    assert ranks[0]["killed_epochs"] == 1
    resumed, whole = ranks[0]["resumed"]["folds"][0], ranks[0]["whole"]["folds"][0]
    assert resumed["history"] == whole["history"]
    assert resumed["predictions"] == whole["predictions"]
    ddp, after_kill = _weights(out / "ddp", "ast", 1), _weights(out / "killed", "ast", 1)
    assert all(torch.equal(ddp[name], after_kill[name]) for name in ddp)

    torch.set_num_threads(1)
    data = load_dataset(data_cfg, FbankConfig(n_mels=32), progress=False)
    one = cross_validate(AST, PLAIN, data, folds=[1], out_dir=tmp_path / "one", progress=False)
    single = _weights(tmp_path / "one", "ast", 1)
    assert ddp.keys() == single.keys()
    worst = max(float((ddp[name] - single[name]).abs().max()) for name in ddp)
    assert worst < WEIGHT_TOLERANCE, f"DDP weights differ from one process by {worst:.2e}"
    seed_everything(PLAIN.seed)
    initial = build_model("ast", fit_to_data(AST, data)).state_dict()
    moved = max(float((single[name] - initial[name]).abs().max()) for name in single)
    assert moved > 100 * WEIGHT_TOLERANCE  # training moved them (~0.015): the match is not trivial
    history = one.folds[0].history
    np.testing.assert_allclose(ranks[0]["whole"]["folds"][0]["history"]["train_loss"],
                               history["train_loss"], rtol=1e-4)
