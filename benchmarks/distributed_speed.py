"""Training throughput with 1 process against 2 under torch.distributed, in interleaved rounds.

One fold-like training loop (``ast_lab.training.epoch.train_epoch``: AdamW, the warm-up/cosine
schedule, gradient clipping, the default ``TrainConfig``) on random 64 x 101 log-mels (the
demo's input), 12 classes, global batch 16, for the CNN (``CNNConfig(channels=(16, 32, 64))``)
and the micro AST (``drop_path_rate=0``, as the demo). Three configurations:

* ``single``: 1 process with all ``--threads`` (2 by default): the reference;
* ``data``: 2 processes, each with half the threads (torchrun sets ``OMP_NUM_THREADS=1``),
  training one model with ``DistributedDataParallel`` (``data_parallel``): every rank takes its
  ``shard`` of the same global batches, so the pair does the work of ``single``;
* ``folds``: the same 2 processes, each training its own model on its own clips
  (fold-parallel: twice the work of ``single`` per pass).

The single process and the pair are started once, as torchrun starts processes (``RANK``,
``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT`` in the environment;
``join_world``: gloo on CPU, NCCL on GPUs), build and warm up (``--warmup`` batches) a loop per
model and configuration, then wait on a queue (taking no CPU) until told to time one. A
measurement is one pass of ``--steps`` global batches, from a barrier to a barrier, so a pair
is timed until its slower rank is done. The configurations are measured in ``--rounds``
interleaved rounds (``ast_lab.timing.measure_rounds``); the headline is, per model, the median
over rounds of each pair's clips/s over ``single``'s in the same round, with its range (min,
max over rounds); with it each configuration's median clips/s. Writes
``benchmarks/results/distributed_speed.json``.

    python benchmarks/distributed_speed.py                     # CNN and micro AST, 7 rounds
    python benchmarks/distributed_speed.py --models ast --modes data --rounds 11
    python benchmarks/distributed_speed.py --quick             # smoke run, writes nothing

The ranks find ``rank_main`` by importing this file by its module name, from ``sys.path`` as
they inherit it: run it as a script, or with ``benchmarks/`` on the path (as the tests do).
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import socket
import time
from contextlib import ExitStack
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any, Optional, Union

import numpy as np
import torch
import torch.multiprocessing as mp

from ast_lab.augment import Augment
from ast_lab.config import ASTConfig, CNNConfig, TrainConfig
from ast_lab.data import ClipTensors
from ast_lab.models import build_model, count_parameters
from ast_lab.timing import Comparison, measure_rounds
from ast_lab.training import World, join_world, lr_factor, make_optimizer
from ast_lab.training.distributed import barrier, data_parallel, rank_device
from ast_lab.training.epoch import train_epoch
from bench_cli import add_run_options, parse_run_args, write_report

RESULTS = Path(__file__).parent / "results" / "distributed_speed.json"
MELS, FRAMES, CLASSES = 64, 101, 12  # the demo's log-mels and its number of classes
MODELS: dict[str, tuple[str, Union[ASTConfig, CNNConfig]]] = {
    "cnn": ("cnn", CNNConfig(channels=(16, 32, 64), num_classes=CLASSES)),
    "ast": ("ast", ASTConfig.preset("micro", drop_path_rate=0.0, n_mels=MELS, n_frames=FRAMES,
                                    num_classes=CLASSES)),
}
MODES = ("data", "folds")
REFERENCE = "single"
ANSWER_TIMEOUT_S = 600.0  # for the ranks to start (import, build, warm up) or to time a pass

# Option defaults for a full run and for --quick (a smoke test: the CNN, a few steps).
FULL = dict(models=list(MODELS), steps=30, warmup=5, rounds=7)
QUICK = dict(models=["cnn"], steps=2, warmup=1, rounds=2)


@dataclass(frozen=True)
class Settings:
    """What every rank of every configuration trains on."""

    models: tuple[str, ...]
    batch: int  # global batch: clips per optimizer step, over all ranks of a data-parallel pair
    steps: int  # global batches per timed pass
    warmup: int  # untimed global batches when the processes start
    device: str  # "cpu" or "cuda"


@dataclass(frozen=True)
class Group:
    """Processes started together: how many, torch threads each, and the modes they train."""

    processes: int
    threads: int
    modes: tuple[str, ...]  # (REFERENCE,) for the single process; "data", "folds" for a pair

    def clips_per_pass(self, mode: str, settings: Settings) -> int:
        """Clips that all the processes together train in one timed pass of ``mode``."""
        per_model = settings.steps * settings.batch
        return per_model * self.processes if mode == "folds" else per_model


def random_clips(n: int, seed: int, device: torch.device) -> ClipTensors:
    """``n`` clips of standard-normal "log-mels" ``(n, 1, MELS, FRAMES)`` with random labels."""
    generator = torch.Generator().manual_seed(seed)
    specs = torch.randn(n, 1, MELS, FRAMES, generator=generator)
    targets = torch.randint(0, CLASSES, (n,), generator=generator)
    return ClipTensors(specs.to(device), targets.to(device), np.arange(n))


class Loop:
    """One model's training loop in one rank: model, optimiser, schedule, augmentation, clips.

    In ``data`` mode every rank starts from the same weights and clips (DDP keeps them equal)
    and trains its shard of each batch; in ``folds`` mode each rank trains alone on its own
    clips; ``single`` trains alone in a process of its own.
    """

    def __init__(self, model: str, mode: str, settings: Settings, world: World,
                 device: torch.device) -> None:
        kind, model_cfg = MODELS[model]
        seed = world.rank if mode == "folds" else 0
        torch.manual_seed(seed)
        self.model = build_model(kind, model_cfg).to(device)
        self.trainer = self.model  # what the batches go through
        self.world = world if mode == "data" else World()  # the ranks training this model
        if self.world.distributed:
            self.model, self.trainer = data_parallel(self.model, device)
        self.cfg = TrainConfig(batch_size=settings.batch, device=device.type)
        self.optimizer = make_optimizer(self.model, self.cfg)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(
            self.optimizer, partial(lr_factor, steps_per_epoch=settings.steps, cfg=self.cfg))
        self.augment = Augment.from_config(self.cfg, CLASSES, rng=np.random.default_rng(seed))
        self.generator = torch.Generator().manual_seed(seed)
        self.clips = random_clips(settings.steps * settings.batch, seed, device)
        self.train(random_clips(settings.warmup * settings.batch, seed + 1000, device))

    def train(self, clips: ClipTensors) -> None:
        """One pass of ``train_epoch`` over ``clips``, batches of ``cfg.batch_size``."""
        train_epoch(self.trainer, clips, self.optimizer, self.scheduler, self.augment, self.cfg,
                    self.generator, False, world=self.world)


def rank_main(rank: int, group: Group, settings: Settings, port: int,
              commands: list[Any], results: Any) -> None:
    """One rank of ``group``, started as torchrun would start it.

    Builds and warms up a ``Loop`` per model and mode, says ``("ready", rank)``, then for every
    ``(model, mode)`` read from ``commands[rank]`` times one pass (barrier to barrier) and, on
    rank 0, puts its seconds on ``results``; ``None`` ends it.
    """
    os.environ.update(RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE=str(group.processes),
                      MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
                      OMP_NUM_THREADS=str(group.threads))
    torch.set_num_threads(group.threads)
    world = join_world(settings.device)  # one process: nothing to join
    device = rank_device(torch.device(settings.device), world)
    loops = {(model, mode): Loop(model, mode, settings, world, device)
             for model in settings.models for mode in group.modes}
    results.put(("ready", rank))
    for key in iter(commands[rank].get, None):
        barrier(world)
        start = time.perf_counter()
        loops[key].train(loops[key].clips)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        barrier(world)
        if world.is_main:
            results.put(time.perf_counter() - start)
    if world.distributed:
        torch.distributed.destroy_process_group()


def free_port() -> int:
    """A TCP port on this machine that nothing listens on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Workers:
    """The processes of one ``Group``, started at once and kept until the ``with`` block
    ends: asked to finish then, or terminated if the block raised."""

    def __init__(self, group: Group, settings: Settings) -> None:
        self.group, self.settings = group, settings
        context = mp.get_context("spawn")
        self.commands = [context.SimpleQueue() for _ in range(group.processes)]
        self.results = context.Queue()
        self.processes = mp.spawn(
            rank_main, args=(group, settings, free_port(), self.commands, self.results),
            nprocs=group.processes, join=False,
        )

    def _next_result(self) -> Any:
        """The next message of the ranks; raises if a rank failed or ``ANSWER_TIMEOUT_S``
        passed."""
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                return self.results.get(timeout=1.0)
            except queue.Empty:
                if self.processes.join(timeout=0):  # raises if a rank failed
                    raise RuntimeError(f"the ranks of {self.group} exited unasked")
        raise TimeoutError(f"no answer from the ranks of {self.group} in {ANSWER_TIMEOUT_S:.0f} s")

    def wait_ready(self) -> None:
        """Wait until every rank has built and warmed up its models."""
        for _ in range(self.group.processes):
            self._next_result()

    def seconds_per_clip(self, model: str, mode: str) -> float:
        """Time one pass of ``model``'s ``mode`` loop on every rank: seconds per clip trained."""
        for command in self.commands:
            command.put((model, mode))
        seconds = self._next_result()
        return seconds / self.group.clips_per_pass(mode, self.settings)

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, error_type: Optional[type], *_: Any) -> None:
        if error_type is not None:  # a rank may be stuck in a collective: stop ours for good
            for process in self.processes.processes:
                process.terminate()
                process.join()
            return
        for command in self.commands:
            command.put(None)
        while not self.processes.join():  # raises if a rank failed
            pass


def groups(args: argparse.Namespace) -> list[Group]:
    """The single process (all threads), then the pair (half the threads each, at least 1)."""
    return [Group(1, args.threads, (REFERENCE,)),
            Group(2, max(1, args.threads // 2), tuple(args.modes))]


def model_row(model: str, comparison: Comparison) -> dict:
    """Per model: each configuration's median clips/s and range, each pair's clips/s over
    ``single``'s per round (median and range), and the rounds themselves."""
    kind, model_cfg = MODELS[model]
    speeds = {name: spread.inverse() for name, spread in comparison.seconds.items()}
    ratios = {name: comparison.speedup(name) for name in speeds if name != REFERENCE}
    print(f"{model:4s} " + "  ".join(
        f"{name} {s.median:7.1f} ({s.low:.1f}-{s.high:.1f}) clips/s" for name, s in speeds.items()))
    print(f"{model:4s} " + "  ".join(
        f"{name}/{REFERENCE} {r.median:.3f} ({r.low:.3f}-{r.high:.3f})"
        for name, r in ratios.items()), flush=True)
    return dict(
        model=model,
        params=count_parameters(build_model(kind, model_cfg)),
        clips_per_s={name: s.to_dict() for name, s in speeds.items()},
        speed_ratio_to_single={name: r.to_dict() for name, r in ratios.items()},
        rounds=comparison.to_dict(),  # seconds per clip trained
    )


def positive(text: str) -> int:
    """argparse type: a whole number >= 1."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return int(text)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command line -> options, with ``FULL`` or (``--quick``) ``QUICK`` defaults filled in."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--models", nargs="+", choices=list(MODELS),
                        help=f"models to train (default {FULL['models']})")
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES),
                        help="2-process configurations to compare with 1 process (default: both)")
    parser.add_argument("--batch", type=positive, default=16,
                        help="global batch, even (a pair's ranks take half each; default 16)")
    parser.add_argument("--steps", type=positive,
                        help=f"global batches per timed pass (default {FULL['steps']})")
    parser.add_argument("--warmup", type=positive,
                        help=f"untimed global batches at start (default {FULL['warmup']})")
    parser.add_argument("--rounds", type=positive,
                        help=f"interleaved rounds (default {FULL['rounds']})")
    parser.add_argument("--threads", type=positive, default=2,
                        help="CPU threads of the 1 process; each of 2 gets half (default 2)")
    parser.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto",
                        help="cuda needs 2 GPUs (NCCL); auto: cuda if there are, else cpu")
    add_run_options(parser, QUICK, RESULTS)
    args = parse_run_args(parser, argv, FULL, QUICK, RESULTS)
    if args.batch % 2:
        parser.error(f"--batch must be even, to split over 2 ranks; got {args.batch}")
    gpus = torch.cuda.device_count()
    if args.device == "cuda" and gpus < 2:
        parser.error(f"--device cuda needs 2 GPUs, found {gpus}")
    if args.device == "auto":
        args.device = "cuda" if gpus >= 2 else "cpu"
    return args


def main(argv: Optional[list[str]] = None) -> dict:
    """Run the benchmark, print its summary, write the JSON (see ``--out``) and return it."""
    args = parse_args(argv)
    settings = Settings(tuple(args.models), args.batch, args.steps, args.warmup, args.device)
    rows = []
    with ExitStack() as stack:  # all start together; none is timed until all are ready
        workers = [stack.enter_context(Workers(group, settings)) for group in groups(args)]
        for started in workers:
            started.wait_ready()
        for model in args.models:
            measures = {mode: partial(w.seconds_per_clip, model, mode)
                        for w in workers for mode in w.group.modes}
            comparison = measure_rounds(measures, reference=REFERENCE, rounds=args.rounds)
            rows.append(model_row(model, comparison))
    result = dict(
        settings={
            **{k: v for k, v in vars(args).items() if k != "out"},
            "backend": "nccl" if args.device == "cuda" else "gloo",
            "groups": [asdict(group) for group in groups(args)],
            "input": [MELS, FRAMES],
            "classes": CLASSES,
            "torch": torch.__version__,
            "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
            "python": platform.python_version(),
        },
        results=rows,
    )
    write_report(result, args.out)
    return result


if __name__ == "__main__":
    main()
