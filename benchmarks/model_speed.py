"""Model training speed: clips/s and TFLOP/s per AST preset; fused vs written-out attention.

One training step = forward, backward and an AdamW update on a random batch of log-mels
``(batch, mels, frames)``, by default ESC-50's 128 x 512. Two measurements:

* Training step (key ``train_step``): every chosen AST preset (micro, tiny, small, base) as used
  for training (fused attention), with a batch and a number of timed steps per preset and device
  (``TRAIN_PLANS``). The FLOPs of the step are counted with ``torch.utils.flop_counter`` on the
  same model and batch (matrix products, convolutions and attention, forward and backward) and
  divided by the measured step time. On CPU it runs in float32; on CUDA the forward runs under
  ``torch.autocast`` in bfloat16.
* Comparison (keys ``results``, ``speed_ratios``, ``fused_vs_torch``, ``comparison_rounds``;
  presets in ``--compare``): the whole AST with fused and with written-out attention, then the
  encoder stack alone next to ``torch.nn.TransformerEncoder`` of the same size (pre-norm, GELU,
  batch_first, no dropout, same width/depth/heads/MLP, parameter counts checked equal) fed the
  same number of tokens; and the CNN. A device's variants are timed in the same interleaved
  rounds (``ast_lab.timing``) and each is compared with its reference within each round (manual
  with fused AST, our encoders with nn.TransformerEncoder, the CNN with the fused AST): the
  headline is the median per-round speed ratio, with its range (min, max over rounds).

Times are medians over rounds (or a preset's timed steps), each with its range.

    python benchmarks/model_speed.py                      # all presets; minutes on 2 cores
    python benchmarks/model_speed.py --quick              # seconds-long smoke run, writes nothing
    python benchmarks/model_speed.py --presets micro tiny --train-batch 8 base=1 --threads 1
    python benchmarks/model_speed.py --presets small base --compare small base --frames 256
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
from functools import partial
from pathlib import Path
from typing import Any, Callable, Optional

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode, sdpa_backward_flop_count, sdpa_flop_count

from ast_lab.config import AST_PRESETS, ASTConfig, CNNConfig
from ast_lab.models import AST, CNN, count_parameters
from ast_lab.models.transformer import Encoder
from ast_lab.precision import autocast, uses_bf16
from ast_lab.timing import Comparison, Spread, time_rounds
from bench_cli import add_run_options, parse_run_args, write_report

RESULTS = Path(__file__).parent / "results" / "model_speed.json"
PRESETS = list(AST_PRESETS)  # micro, tiny, small, base


@dataclasses.dataclass(frozen=True)
class Plan:
    """How one preset's training step is measured on one kind of device."""

    batch: int  # clips per step
    repeats: int  # timed steps; their median and range are reported


# CPU: sized for 2 cores, where a base step takes seconds per clip (a training step of 128 x 512
# log-mels counts about 2.5, 29, 97 and 347 GFLOP per clip for micro, tiny, small and base), so
# that the default run, comparison included, takes a few minutes. CUDA: a batch for a big GPU.
TRAIN_PLANS: dict[str, dict[str, Plan]] = {
    "cpu": dict(micro=Plan(4, 5), tiny=Plan(4, 3), small=Plan(2, 3), base=Plan(2, 3)),
    "cuda": {preset: Plan(32, 10) for preset in PRESETS},
}
QUICK_PLAN = Plan(batch=1, repeats=1)

# Option defaults for a full run and for --quick (a smoke test: shorter input, one of everything).
FULL = dict(frames=512, batch=4, rounds=5, warmup=1)
QUICK = dict(frames=128, batch=1, rounds=1, warmup=0)


@dataclasses.dataclass
class Case:
    """One thing to time: a model, its input batch and the loss to train it with."""

    name: str
    attention: str  # "fused", "manual", "torch" (nn.TransformerEncoder) or "-" (CNN)
    model: nn.Module
    inputs: Tensor
    loss: Callable[[Tensor], Tensor]
    tokens: int  # sequence length the attention sees (0 for the CNN)
    reference: str = ""  # the ``key`` of the case whose speed this one's is compared with

    @property
    def key(self) -> str:
        """The case's name in a comparison, e.g. ``"encoder-micro/torch"``."""
        return f"{self.name}/{self.attention}"


def classification_loss(
    batch: int, classes: int, device: torch.device
) -> Callable[[Tensor], Tensor]:
    """Cross-entropy of ``(batch, classes)`` logits against fixed random labels."""
    targets = torch.randint(0, classes, (batch,), device=device)
    return lambda logits: nn.functional.cross_entropy(logits, targets)


def mean_square(out: Tensor) -> Tensor:
    """Any scalar that depends on every output will do as a loss for timing the encoder stacks."""
    return out.float().pow(2).mean()


def torch_encoder(cfg: ASTConfig) -> nn.TransformerEncoder:
    """PyTorch's own encoder at the size of ``cfg``: pre-norm, GELU, no dropout."""
    layer = nn.TransformerEncoderLayer(
        cfg.embed_dim,
        cfg.num_heads,
        dim_feedforward=int(cfg.embed_dim * cfg.mlp_ratio),
        dropout=0.0,
        activation="gelu",
        batch_first=True,
        norm_first=True,
    )
    return nn.TransformerEncoder(layer, cfg.depth, enable_nested_tensor=False)


def ast_case(
    preset: str, fused: bool, batch: int, args: argparse.Namespace, device: torch.device
) -> Case:
    """The whole AST of ``preset`` on random log-mels ``(batch, args.mels, args.frames)``."""
    cfg = ASTConfig.preset(
        preset, n_mels=args.mels, n_frames=args.frames, fused_attention=fused
    )
    model = AST(cfg).to(device)
    spec = torch.randn(batch, args.mels, args.frames, device=device)
    loss = classification_loss(batch, cfg.num_classes, device)
    tokens = model.patch_embed.num_patches + 2  # + [CLS], [DIST]
    attention, reference = ("fused", "") if fused else ("manual", f"ast-{preset}/fused")
    return Case(f"ast-{preset}", attention, model, spec, loss, tokens, reference)


def comparison_cases(preset: str, args: argparse.Namespace, device: torch.device) -> list[Case]:
    """Whole AST (fused, manual), then our encoder (fused, manual) and nn.TransformerEncoder;
    the manual AST is compared with the fused one, our encoders with nn.TransformerEncoder."""
    cases = [ast_case(preset, fused, args.batch, args, device) for fused in (True, False)]
    tokens = cases[0].tokens
    cfg = ASTConfig.preset(preset)
    x = torch.randn(args.batch, tokens, cfg.embed_dim, device=device)  # (B, tokens, D)
    size = dict(
        dim=cfg.embed_dim, depth=cfg.depth, num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio
    )
    for fused in (True, False):
        encoder = Encoder(**size, qkv_bias=True, fused_attention=fused).to(device)
        attention = "fused" if fused else "manual"
        cases.append(Case(f"encoder-{preset}", attention, encoder, x, mean_square, tokens,
                          reference=f"encoder-{preset}/torch"))
    reference = torch_encoder(cfg).to(device)
    if count_parameters(reference) != count_parameters(cases[-1].model):
        raise RuntimeError("nn.TransformerEncoder and our Encoder differ in size")
    cases.append(Case(f"encoder-{preset}", "torch", reference, x, mean_square, tokens))
    return cases


def cnn_case(args: argparse.Namespace, device: torch.device, reference: str) -> Case:
    """The CNN baseline on random log-mels ``(args.batch, args.mels, args.frames)``, compared
    with the case ``reference`` ("" for none)."""
    cfg = CNNConfig()
    spec = torch.randn(args.batch, args.mels, args.frames, device=device)
    loss = classification_loss(args.batch, cfg.num_classes, device)
    return Case("cnn", "-", CNN(cfg).to(device), spec, loss, 0, reference)


def comparison(args: argparse.Namespace, device: torch.device) -> list[Case]:
    """All cases of the comparison: those of the presets in both --presets and --compare, and
    the CNN (compared with the fused AST of the first of those presets)."""
    presets = [preset for preset in args.presets if preset in args.compare]
    cases = [case for preset in presets for case in comparison_cases(preset, args, device)]
    first_ast = cases[0].key if cases else ""
    return cases + ([] if args.no_cnn else [cnn_case(args, device, first_ast)])


def dtype_name(device: torch.device) -> str:
    """How the forward pass computes on ``device`` (the weights stay float32 either way)."""
    return "autocast-bf16" if uses_bf16(device) else "float32"


def synchronize(device: torch.device) -> None:
    """Wait for queued CUDA work, so a clock reading covers exactly the work launched between."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def train_step(case: Case, optimizer: torch.optim.Optimizer, device: torch.device) -> None:
    """One forward (autocast on CUDA), backward and optimizer update of ``case.model``."""
    with autocast(device):
        loss = case.loss(case.model(case.inputs))
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def cpu_sdpa_flops(query: torch.Size, key: torch.Size, value: torch.Size, *_, **__) -> int:
    """FLOPs of PyTorch's CPU fused attention; shapes ``(B, heads, tokens, head_dim)``."""
    return sdpa_flop_count(query, key, value)


def cpu_sdpa_backward_flops(
    grad_out: torch.Size, query: torch.Size, key: torch.Size, value: torch.Size, *_, **__
) -> int:
    """FLOPs of the backward of PyTorch's CPU fused attention (the scores are recomputed)."""
    return sdpa_backward_flop_count(grad_out, query, key, value)


# FlopCounterMode knows the CUDA attention kernels but not the CPU one (torch 2.13): without these
# the attention of a fused model on CPU would count as zero. Same formulas as for CUDA.
CPU_SDPA_FLOP_FORMULAS = {
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu: cpu_sdpa_flops,
    torch.ops.aten._scaled_dot_product_flash_attention_for_cpu_backward: cpu_sdpa_backward_flops,
}


def counted_train_step(
    case: Case, optimizer: torch.optim.Optimizer, device: torch.device
) -> int:
    """Run one (untimed) training step and return its FLOPs as counted by ``FlopCounterMode``.

    The counter covers matrix products, convolutions and attention, forward and backward (one
    multiply-add = 2 FLOPs); element-wise work such as GELU, LayerNorm, softmax and the AdamW
    update is not counted, so the count is the usual "model FLOPs" of a training step.
    """
    case.model.train()
    with FlopCounterMode(display=False, custom_mapping=CPU_SDPA_FLOP_FORMULAS) as counter:
        train_step(case, optimizer, device)
    return counter.get_total_flops()


def speed_fields(seconds: Spread, batch: int) -> dict[str, Any]:
    """Seconds per step over rounds -> median ms/step and clips/s, each with [min, max]."""
    ms, clips = seconds.scaled(1000), seconds.inverse().scaled(batch)
    return dict(
        ms_per_step=round(ms.median, 1),
        ms_per_step_range=[round(ms.low, 1), round(ms.high, 1)],
        clips_per_s=round(clips.median, 2),
        clips_per_s_range=[round(clips.low, 2), round(clips.high, 2)],
    )


def benchmark(args: argparse.Namespace, device: torch.device) -> tuple[list, list, dict]:
    """Time every case of the ``comparison`` on ``device`` in ``args.rounds`` interleaved rounds.

    Returns a row per case (medians and ranges of ms/step and clips/s), the ``speed_ratios``
    rows and the rounds themselves (``Comparison.to_dict``); all empty without cases. The
    models are freed when it returns.
    """
    cases = comparison(args, device)
    if not cases:
        return [], [], {}
    steps = {}
    for case in cases:
        case.model.train()
        optimizer = torch.optim.AdamW(case.model.parameters(), lr=1e-4)
        steps[case.key] = partial(train_step, case, optimizer, device)
    timed = time_rounds(steps, reference=cases[0].key, rounds=args.rounds, repeat=args.steps,
                        warmup=args.warmup, synchronize=partial(synchronize, device))
    rows = []
    for case in cases:
        row = dict(model=case.name, attention=case.attention, device=str(device),
                   params=count_parameters(case.model), tokens=case.tokens, batch=args.batch,
                   **speed_fields(timed.seconds[case.key], args.batch))
        rows.append(row)
        low, high = row["ms_per_step_range"]
        print(f"{device.type:4s} {case.name:15s} {case.attention:6s} {row['ms_per_step']:9.1f} "
              f"({low:.1f}-{high:.1f}) ms/step {row['clips_per_s']:8.2f} clips/s", flush=True)
    compared = [case for case in cases if case.reference]
    return rows, [speed_ratio(case, timed, device) for case in compared], timed.to_dict()


def speed_ratio(case: Case, timed: Comparison, device: torch.device) -> dict:
    """A ``speed_ratios`` row: ``case``'s speed over its reference's per round (same batch:
    clips/s over clips/s), median and [min, max] over the rounds."""
    ratio = timed.speedup(case.key, case.reference)
    print(f"{device.type:4s} {case.key:20s} / {case.reference:20s} speed {ratio.median:6.3f} "
          f"({ratio.low:.3f}-{ratio.high:.3f})", flush=True)
    return dict(variant=case.key, reference=case.reference, device=str(device),
                speed_ratio=round(ratio.median, 3),
                speed_ratio_range=[round(ratio.low, 3), round(ratio.high, 3)])


def train_plan(preset: str, device: torch.device, args: argparse.Namespace) -> Plan:
    """``TRAIN_PLANS`` (or ``QUICK_PLAN``) for ``preset`` with the command line's overrides."""
    plans = TRAIN_PLANS["cuda" if device.type == "cuda" else "cpu"]
    plan = QUICK_PLAN if args.quick else plans[preset]
    for field, overrides in (("batch", args.train_batch), ("repeats", args.train_repeats)):
        for name, value in overrides:
            if name in (None, preset):
                plan = dataclasses.replace(plan, **{field: value})
    return plan


def train_step_row(preset: str, args: argparse.Namespace, device: torch.device) -> dict:
    """Count the FLOPs of ``preset``'s training step, then time it: one row of ``train_step``.

    The counted step doubles as the first warm-up step; ``args.warmup`` more follow untimed,
    then ``plan.repeats`` timed steps, reported as median and range.
    """
    plan = train_plan(preset, device, args)
    case = ast_case(preset, True, plan.batch, args, device)
    optimizer = torch.optim.AdamW(case.model.parameters(), lr=1e-4)
    flops = counted_train_step(case, optimizer, device)
    step = {"train_step": partial(train_step, case, optimizer, device)}
    timed = time_rounds(step, reference="train_step", rounds=plan.repeats, warmup=args.warmup,
                        synchronize=partial(synchronize, device))
    seconds = timed.seconds["train_step"]  # one step per round
    tflops = seconds.inverse().scaled(flops / 1e12)
    row = dict(
        preset=preset,
        device=str(device),
        dtype=dtype_name(device),
        batch=plan.batch,
        repeats=plan.repeats,
        tokens=case.tokens,
        params=count_parameters(case.model),
        **speed_fields(seconds, plan.batch),
        flops_per_step=flops,
        tflops_per_s=round(tflops.median, 4),
        tflops_per_s_range=[round(tflops.low, 4), round(tflops.high, 4)],
    )
    low, high = row["ms_per_step_range"]
    print(f"{device.type:4s} train {preset:6s} batch {plan.batch:3d} {row['ms_per_step']:9.1f} "
          f"({low:.1f}-{high:.1f}) ms/step {row['clips_per_s']:8.2f} clips/s "
          f"{row['tflops_per_s']:8.4f} TFLOP/s", flush=True)
    return row


def fused_vs_torch(ratios: list[dict]) -> list[dict]:
    """Our encoders' speed as a multiple of nn.TransformerEncoder's, per preset and device: the
    encoder rows of ``speed_ratios`` (median and range over rounds), one dict per preset."""
    table: dict[tuple[str, str], dict] = {}
    for r in ratios:
        model, attention = r["variant"].split("/")
        if r["reference"] == f"{model}/torch":
            row = table.setdefault((model, r["device"]), dict(model=model, device=r["device"]))
            row[f"{attention}_over_torch"] = r["speed_ratio"]
            row[f"{attention}_over_torch_range"] = r["speed_ratio_range"]
    return list(table.values())


def markdown_table(rows: list[dict]) -> str:
    """The ``train_step`` rows as a markdown table (medians, GFLOP per step, TFLOP/s achieved)."""
    lines = [
        "| preset | device | dtype | batch | tokens | params | ms/step (min-max) | clips/s "
        "| GFLOP/step | TFLOP/s |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in rows:
        low, high = r["ms_per_step_range"]
        lines.append(
            f"| {r['preset']} | {r['device']} | {r['dtype']} | {r['batch']} | {r['tokens']} "
            f"| {r['params'] / 1e6:.2f} M | {r['ms_per_step']:.1f} ({low:.1f}-{high:.1f}) "
            f"| {r['clips_per_s']:.2f} "
            f"| {r['flops_per_step'] / 1e9:.1f} | {r['tflops_per_s']:.3f} |"
        )
    return "\n".join(lines)


def preset_int(text: str) -> tuple[Optional[str], int]:
    """argparse type: ``"N"`` (every preset) or ``"PRESET=N"`` -> ``(PRESET or None, N)``."""
    name, _, value = text.rpartition("=")
    if name and name not in AST_PRESETS:
        raise argparse.ArgumentTypeError(f"unknown preset {name!r}; choose from {PRESETS}")
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"expected N or PRESET=N with N >= 1, got {text!r}")
    return name or None, int(value)


def parse_args(argv: Optional[list[str]] = None) -> argparse.Namespace:
    """Command line -> options, with ``FULL`` or (``--quick``) ``QUICK`` defaults filled in."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--presets", nargs="+", default=PRESETS, choices=PRESETS,
                        help="AST presets to run (default: all)")
    parser.add_argument("--compare", nargs="*", default=["micro", "tiny"], choices=PRESETS,
                        help="of --presets, those to run the attention comparison for "
                        "(default: micro tiny; none: skip it)")
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN baseline")
    add_run_options(parser, QUICK, RESULTS, also="one step per preset")
    parser.add_argument("--mels", type=int, default=128, help="input mel bins")
    parser.add_argument("--frames", type=int, help=f"input frames (default {FULL['frames']})")
    parser.add_argument("--batch", type=int,
                        help=f"clips per step in the comparison and CNN (default {FULL['batch']})")
    parser.add_argument("--train-batch", nargs="+", type=preset_int, default=[],
                        metavar="[PRESET=]N",
                        help="clips per training step, for all presets or one (default: "
                        "TRAIN_PLANS, e.g. CPU micro/tiny 4, small/base 2; CUDA 32)")
    parser.add_argument("--train-repeats", nargs="+", type=preset_int, default=[],
                        metavar="[PRESET=]N",
                        help="timed training steps, median and range (default: TRAIN_PLANS, e.g. "
                        "CPU micro 5, tiny/small/base 3; CUDA 10)")
    parser.add_argument("--steps", type=int, default=1, help="comparison: timed steps per round")
    parser.add_argument("--rounds", type=int,
                        help=f"comparison: interleaved rounds, median and range "
                        f"(default {FULL['rounds']})")
    parser.add_argument("--warmup", type=int,
                        help=f"untimed steps per case first (default {FULL['warmup']})")
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu (+ cuda)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    return parse_run_args(parser, argv, FULL, QUICK, RESULTS)


def main(argv: Optional[list[str]] = None) -> dict:
    """Run the benchmark, print its tables, write the JSON (see ``--out``) and return it."""
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    torch.manual_seed(0)
    rows, ratios, rounds, train_rows = [], [], {}, []
    for device in map(torch.device, devices):
        device_rows, device_ratios, rounds[str(device)] = benchmark(args, device)
        rows, ratios = rows + device_rows, ratios + device_ratios
        train_rows += [train_step_row(preset, args, device) for preset in args.presets]
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    settings.update(
        devices=devices,
        input=[args.mels, args.frames],
        torch=torch.__version__,
        cpu_threads=torch.get_num_threads(),
        machine=platform.machine(),
        python=platform.python_version(),
    )
    result = dict(
        settings=settings,
        results=rows,
        speed_ratios=ratios,
        fused_vs_torch=fused_vs_torch(ratios),
        comparison_rounds=rounds,
        train_step=train_rows,
    )
    print(json.dumps(result["fused_vs_torch"], indent=2))
    print(markdown_table(train_rows))
    write_report(result, args.out)
    return result


if __name__ == "__main__":
    main()
