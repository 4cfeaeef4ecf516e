"""Model training speed: steps/s and clips/s; manual vs fused attention; vs nn.TransformerEncoder.

One training step = forward, backward and an AdamW update on a random batch. For each AST preset
it times the whole model with fused and with written-out attention, and then the encoder stack
alone next to ``torch.nn.TransformerEncoder`` of the same size (pre-norm, GELU, batch_first, no
dropout, same width/depth/heads/MLP, parameter counts checked equal) fed the same number of tokens.
Variants are timed in interleaved rounds and each keeps its fastest round: on a shared machine
other work can only slow a step down, so the minimum is the least noisy estimate (as ``timeit``).

    python benchmarks/model_speed.py                        # micro + tiny + CNN, 4 x 128 x 512
    python benchmarks/model_speed.py --presets small base --batch 2 --frames 256
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import platform
import time
from pathlib import Path
from typing import Callable

import torch
from torch import Tensor, nn

from ast_lab.config import AST_PRESETS, ASTConfig, CNNConfig
from ast_lab.models import AST, CNN, count_parameters
from ast_lab.models.transformer import Encoder

RESULTS = Path(__file__).parent / "results" / "model_speed.json"


@dataclasses.dataclass
class Case:
    """One thing to time: a model, its input batch and the loss to train it with."""

    name: str
    attention: str  # "fused", "manual", "torch" (nn.TransformerEncoder) or "-" (CNN)
    model: nn.Module
    inputs: Tensor
    loss: Callable[[Tensor], Tensor]
    tokens: int  # sequence length the attention sees (0 for the CNN)


def classification_loss(
    batch: int, classes: int, device: torch.device
) -> Callable[[Tensor], Tensor]:
    """Cross-entropy against fixed random labels."""
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


def ast_cases(preset: str, args: argparse.Namespace, device: torch.device) -> list[Case]:
    """Whole AST (fused, manual), then our encoder (fused, manual) and nn.TransformerEncoder."""
    cases = []
    spec = torch.randn(args.batch, 128, args.frames, device=device)
    for fused in (True, False):
        cfg = ASTConfig.preset(preset, n_frames=args.frames, fused_attention=fused)
        model = AST(cfg).to(device)
        attention = "fused" if fused else "manual"
        loss = classification_loss(args.batch, cfg.num_classes, device)
        tokens = model.patch_embed.num_patches + 2  # + [CLS], [DIST]
        cases.append(Case(f"ast-{preset}", attention, model, spec, loss, tokens))
    cfg = ASTConfig.preset(preset, n_frames=args.frames)
    x = torch.randn(args.batch, tokens, cfg.embed_dim, device=device)
    size = dict(
        dim=cfg.embed_dim, depth=cfg.depth, num_heads=cfg.num_heads, mlp_ratio=cfg.mlp_ratio
    )
    for fused in (True, False):
        encoder = Encoder(**size, qkv_bias=True, fused_attention=fused).to(device)
        attention = "fused" if fused else "manual"
        cases.append(Case(f"encoder-{preset}", attention, encoder, x, mean_square, tokens))
    reference = torch_encoder(cfg).to(device)
    if count_parameters(reference) != count_parameters(cases[-1].model):
        raise RuntimeError("nn.TransformerEncoder and our Encoder differ in size")
    cases.append(Case(f"encoder-{preset}", "torch", reference, x, mean_square, tokens))
    return cases


def cnn_case(args: argparse.Namespace, device: torch.device) -> Case:
    cfg = CNNConfig()
    spec = torch.randn(args.batch, 128, args.frames, device=device)
    loss = classification_loss(args.batch, cfg.num_classes, device)
    return Case("cnn", "-", CNN(cfg).to(device), spec, loss, tokens=0)


def time_steps(
    case: Case, steps: int, optimizer: torch.optim.Optimizer, device: torch.device
) -> float:
    """Seconds for ``steps`` training steps (CUDA work synchronised before the clock stops)."""
    case.model.train()
    start = time.perf_counter()
    for _ in range(steps):
        with torch.autocast(device.type, dtype=torch.bfloat16, enabled=device.type == "cuda"):
            loss = case.loss(case.model(case.inputs))
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - start


def benchmark(cases: list[Case], args: argparse.Namespace, device: torch.device) -> list[dict]:
    """Warm every case up, time them in ``args.rounds`` interleaved rounds, keep the fastest."""
    optimizers = [torch.optim.AdamW(case.model.parameters(), lr=1e-4) for case in cases]
    for case, optimizer in zip(cases, optimizers):
        time_steps(case, args.warmup, optimizer, device)
    seconds = [[] for _ in cases]
    for _ in range(args.rounds):
        for i, (case, optimizer) in enumerate(zip(cases, optimizers)):
            seconds[i].append(time_steps(case, args.steps, optimizer, device))
    rows = []
    for case, times in zip(cases, seconds):
        steps_per_s = args.steps / min(times)
        rows.append(
            dict(
                model=case.name,
                attention=case.attention,
                device=str(device),
                params=count_parameters(case.model),
                tokens=case.tokens,
                batch=args.batch,
                steps_per_s=round(steps_per_s, 3),
                clips_per_s=round(steps_per_s * args.batch, 2),
                ms_per_step=round(1000 / steps_per_s, 1),
            )
        )
        row = rows[-1]
        print(f"{device.type:4s} {case.name:15s} {case.attention:6s} "
              f"{row['ms_per_step']:9.1f} ms/step {row['clips_per_s']:8.2f} clips/s", flush=True)
    return rows


def fused_vs_torch(rows: list[dict]) -> list[dict]:
    """Our fused encoder's speed as a multiple of nn.TransformerEncoder's, per preset and device."""
    speed = {(r["model"], r["attention"], r["device"]): r["steps_per_s"] for r in rows}
    return [
        dict(
            model=model,
            device=device,
            fused_over_torch=round(speed[(model, "fused", device)] / torch_speed, 3),
            manual_over_torch=round(speed[(model, "manual", device)] / torch_speed, 3),
        )
        for (model, attention, device), torch_speed in speed.items()
        if attention == "torch"
    ]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--presets", nargs="+", default=["micro", "tiny"], choices=sorted(AST_PRESETS)
    )
    parser.add_argument("--no-cnn", action="store_true", help="skip the CNN baseline")
    parser.add_argument("--batch", type=int, default=4, help="clips per step")
    parser.add_argument("--frames", type=int, default=512, help="input frames (128 mel bins)")
    parser.add_argument("--steps", type=int, default=1, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (fastest kept)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed steps per case first")
    parser.add_argument("--devices", nargs="+", default=None, help="default: cpu (+ cuda)")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads (default: torch's)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    devices = args.devices or ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    torch.manual_seed(0)
    rows = []
    for device in map(torch.device, devices):
        cases = [case for preset in args.presets for case in ast_cases(preset, args, device)]
        cases += [] if args.no_cnn else [cnn_case(args, device)]
        rows += benchmark(cases, args, device)
    settings = {k: v for k, v in vars(args).items() if k != "out"}
    settings.update(
        devices=devices,
        input=[128, args.frames],
        torch=torch.__version__,
        cpu_threads=torch.get_num_threads(),
        machine=platform.machine(),
        python=platform.python_version(),
    )
    result = dict(
        settings=settings,
        results=rows,
        fused_vs_torch=fused_vs_torch(rows),
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["fused_vs_torch"], indent=2))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
