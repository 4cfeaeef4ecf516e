"""Hugging Face AST folders: our model and features equal transformers' on a folder it wrote.

The folder is made offline by ``ASTForAudioClassification(...).save_pretrained`` with random
weights and non-default settings (strides 12 x 8, LayerNorm epsilon 1e-6, an MLP 1.5 wide, a
``max_length`` of 400 frames) and ``ASTFeatureExtractor`` with a non-default mean and std.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from ast_lab.examples import load_example
from ast_lab.models.pretrained import load_hf
from ast_lab.models.pretrained.weights import read_safetensors

transformers = pytest.importorskip("transformers")

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    # Kaldi's recipe at 128 mel bins leaves filter 3 empty; both implementations say so
    pytest.mark.filterwarnings("ignore:Empty filters detected"),
    pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values"),
]

CLASS_NAMES = ["dog", "rain", "crackling fire"]
MAX_LENGTH = 400  # frames: a 5-s clip's 498 are cut, a 3-s clip's 298 padded
MEAN, STD = -5.1, 3.3  # the extractor's normalisation (defaults: AudioSet's -4.27, 4.57)
CLIPS = ["dog", "rain", "crying_baby"]
# The FBANK tests' tolerance, 1e-3 dB (tests/test_features_vs_librosa.py), in natural-log units
KALDI_TOL_LN = 1e-3 * math.log(10) / 10
LOGITS_TOL = 1e-5


def randomise(model: torch.nn.Module, seed: int = 0) -> None:
    """Every parameter random, norms and tokens included (transformers starts them at 0 or 1,
    where a swapped pair of LayerNorms or tokens would go unnoticed)."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn(param.shape, generator=generator) * 0.3)


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    """``(folder, transformers model)``: a small random AST and its extractor, saved."""
    config = transformers.ASTConfig(
        hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=96,
        num_mel_bins=128, max_length=MAX_LENGTH, patch_size=16, frequency_stride=12,
        time_stride=8, layer_norm_eps=1e-6,
        id2label=dict(enumerate(CLASS_NAMES)), label2id={n: i for i, n in enumerate(CLASS_NAMES)},
    )
    model = transformers.ASTForAudioClassification(config).eval()
    randomise(model)
    folder = tmp_path_factory.mktemp("hf_ast")
    model.save_pretrained(folder)
    extractor = transformers.ASTFeatureExtractor(mean=MEAN, std=STD, max_length=MAX_LENGTH)
    extractor.save_pretrained(folder)
    return folder, model


def test_logits_equal_transformers(hf_folder):
    folder, reference = hf_folder
    ours = load_hf(folder).model
    spec = torch.randn(2, 128, MAX_LENGTH, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected = reference(input_values=spec.transpose(1, 2)).logits  # theirs: (B, T, F)
        got = ours(spec)  # ours: (B, F, T)
    assert expected.std() > 0.1  # logits of a real spread, not near-zero by construction
    assert (got - expected).abs().max() <= LOGITS_TOL


def test_class_names_config_and_pipeline_come_from_the_folder(hf_folder):
    checkpoint = load_hf(hf_folder[0])
    cfg = checkpoint.model.cfg
    assert checkpoint.class_names == CLASS_NAMES
    assert (cfg.fstride, cfg.tstride, cfg.layer_norm_eps, cfg.head_norm) == (12, 8, 1e-6, True)
    assert cfg.head_norm_eps == 1e-6 and cfg.mlp_ratio == 1.5
    assert checkpoint.inputs.fbank.target_frames == MAX_LENGTH
    assert checkpoint.inputs.norm == (MEAN, 2 * STD)


@pytest.mark.parametrize("seconds", [5.0, 3.0], ids=["cut", "padded"])
def test_features_equal_the_feature_extractor_on_real_clips(hf_folder, seconds):
    inputs = load_hf(hf_folder[0]).inputs
    extractor = transformers.ASTFeatureExtractor.from_pretrained(hf_folder[0])
    for name in CLIPS:
        wave = load_example(name)[: int(seconds * 16_000)]  # float32 at 16 kHz
        expected = extractor(wave, sampling_rate=16_000, return_tensors="np")["input_values"][0].T
        got = inputs.features(wave).numpy()  # (n_mels, frames)
        assert got.shape == expected.shape == (128, MAX_LENGTH)
        # compared in log units, where the FBANK tests' tolerance is stated
        log_got, log_expected = got * 2 * STD + MEAN, expected * 2 * STD + MEAN
        audible = log_expected >= log_expected.max() - 80 * math.log(10) / 10  # within 80 dB
        assert np.abs(log_got - log_expected)[audible].max() <= KALDI_TOL_LN, name
        padded = slice(298, None) if seconds == 3.0 else slice(0, 0)
        np.testing.assert_array_equal(got[:, padded], expected[:, padded])


def test_our_safetensors_reader_equals_the_library(hf_folder):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    path = hf_folder[0] / "model.safetensors"
    ours, theirs = read_safetensors(path), safetensors_torch.load_file(path)
    assert ours.keys() == theirs.keys()
    for key, tensor in theirs.items():
        assert ours[key].dtype == tensor.dtype and torch.equal(ours[key], tensor), key


def test_other_lengths_and_a_new_head(hf_folder):
    checkpoint = load_hf(hf_folder[0], n_frames=200, num_classes=7)
    model = checkpoint.model
    assert model(torch.randn(1, 128, 200)).shape == (1, 7)
    assert checkpoint.inputs.fbank.target_frames == 200
    assert checkpoint.class_names == [f"LABEL_{i}" for i in range(7)]


def test_a_folder_missing_a_weight_names_the_file_and_key(hf_folder, tmp_path):
    safetensors_torch = pytest.importorskip("safetensors.torch")
    folder, _ = hf_folder
    for name in ("config.json", "preprocessor_config.json"):
        (tmp_path / name).write_text((folder / name).read_text())
    state = safetensors_torch.load_file(folder / "model.safetensors")
    del state["audio_spectrogram_transformer.encoder.layer.1.output.dense.bias"]
    safetensors_torch.save_file(state, tmp_path / "model.safetensors")
    with pytest.raises(ValueError, match=r"model\.safetensors has no '.*layer\.1\.output"):
        load_hf(tmp_path)
