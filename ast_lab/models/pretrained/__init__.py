"""Pretrained weights into this project's AST: the AST paper's key idea (its Section 2.2).

Three formats, one module each, with what they share beside them:

- ``deit``: ``from_deit`` turns an ImageNet DeiT (timm's names) into an AST the way the paper
  does: RGB patch filters summed into one channel, the position grid cut or stretched, a new head;
- ``authors``: ``from_authors`` loads the authors' own checkpoints (``module.v.*``, AudioSet's
  527 classes) for any input length; ``audioset_inputs`` is the pipeline they read;
- ``hf``: ``load_hf`` loads a Hugging Face ``ASTForAudioClassification`` folder with its class
  names and the exact input pipeline of its ``ASTFeatureExtractor``;
- ``grid`` (fitting a position grid), ``timm_layout`` (timm's names and sizes), ``inputs``
  (a checkpoint's Kaldi FBANK and normalisation), ``weights`` (reading files, checked loading).

Where a checkpoint is laid out differently from the project's AST, ``ASTConfig`` has the field
that reproduces it (``layer_norm_eps``, ``head_norm``, ``head_norm_eps``, ``qkv_bias``). The
tests prove each loader equal to the reference libraries (transformers, timm) on weights they
make at random, offline.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from .authors import ENCODER_PREFIX, audioset_inputs, from_authors
from .deit import deit_config, from_deit
from .grid import fit_position_grid
from .hf import HFCheckpoint, load_hf
from .inputs import CheckpointInputs, kaldi_inputs
from .weights import read_weights

__all__ = [
    "CheckpointInputs", "HFCheckpoint", "audioset_inputs", "checkpoint_format", "deit_config",
    "fit_position_grid", "from_authors", "from_deit", "kaldi_inputs", "load_hf", "read_weights",
]


def checkpoint_format(path: str | Path) -> Literal["hf", "authors", "deit"]:
    """Which loader a path needs: a folder with ``config.json`` is Hugging Face's; a weight file
    whose keys start with ``module.v.`` the authors'; one with ``dist_token`` a DeiT's."""
    path = Path(path)
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ValueError(f"{path}: a folder without config.json is no Hugging Face checkpoint")
        return "hf"
    state, name = read_weights(path)
    if any(key.startswith(ENCODER_PREFIX) for key in state):
        return "authors"
    if "dist_token" in state:
        return "deit"
    raise ValueError(f"{name}: neither an AST authors' checkpoint (module.v.*) nor a distilled "
                     "DeiT (dist_token); an ASTForAudioClassification folder is passed as a folder")
