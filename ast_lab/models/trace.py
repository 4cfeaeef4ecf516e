"""Looking inside a model: its parameter count and the tensor shape after every stage.

``trace_shapes`` is the one-line shape check that follows each new layer in the notebooks
(02_patch_embedding, 03_attention), done for a whole model at once with forward hooks.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


STAGE_ROLES = {  # stages whose module type hides what the step does (``AST.embed`` ends in pos_drop)
    "pos_drop": "prepend [CLS]/[DIST] + add positions",
}


def count_parameters(model: nn.Module, trainable_only: bool = True) -> int:
    """Number of (trainable) scalar parameters."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad or not trainable_only)


def stages(model: nn.Module) -> list[tuple[str, nn.Module]]:
    """The model's direct children, containers (``nn.Sequential``, e.g. the blocks) opened."""
    rows = []
    for name, child in model.named_children():
        if isinstance(child, (nn.Sequential, nn.ModuleList)):
            rows.extend((f"{name}.{sub}", grandchild) for sub, grandchild in child.named_children())
        else:
            rows.append((name, child))
    return rows


def format_table(rows: list[tuple[str, str, tuple[int, ...]]]) -> str:
    """Align ``(stage, module type, shape)`` rows into a text table."""
    header = ("stage", "module (or what it does)", "output shape")
    lines = [header] + [(name, kind, str(shape)) for name, kind, shape in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(2)]
    return "\n".join(f"{a:<{widths[0]}}  {b:<{widths[1]}}  {c}" for a, b, c in lines)


@torch.no_grad()
def trace_shapes(
    model: nn.Module, x: Tensor, verbose: bool = True
) -> list[tuple[str, tuple[int, ...]]]:
    """Run ``model(x)`` once and record each stage's output shape, in the order they ran.

    Returns ``[("input", x.shape), (stage, shape), ...]``: for the AST ``patch_embed`` (patches),
    ``pos_drop`` (the tokens, [CLS] + [DIST] + patches, positions added), ``blocks.0`` ...,
    ``norm``, ``head``. Prints them as a table when ``verbose``, each stage beside its module
    type or, where that hides the step (``STAGE_ROLES``), what it does. Runs in eval mode (so batch-norm
    statistics are untouched) and restores the model's mode afterwards.
    """
    rows = [("input", "", tuple(x.shape))]

    def record(name: str):
        def hook(module: nn.Module, inputs: tuple, output: Tensor) -> None:
            rows.append((name, STAGE_ROLES.get(name, type(module).__name__), tuple(output.shape)))

        return hook

    handles = [module.register_forward_hook(record(name)) for name, module in stages(model)]
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        model.train(was_training)
        for handle in handles:
            handle.remove()
    if verbose:
        print(format_table(rows))
    return [(name, shape) for name, _, shape in rows]
