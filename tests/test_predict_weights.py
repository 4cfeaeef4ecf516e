"""``ast-lab predict --weights``: published layouts, made offline, score as their own code does."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
import torch

from ast_lab.cli import main
from ast_lab.config import ASTConfig
from ast_lab.examples import example_path, load_example
from ast_lab.models import AST
from ast_lab.pretrained_classifier import pretrained_classifier

pytestmark = [
    pytest.mark.usefixtures("one_torch_thread"),
    pytest.mark.filterwarnings("ignore:Empty filters detected"),  # Kaldi's recipe at 128 bins
    pytest.mark.filterwarnings("ignore:At least one mel filter has all zero values"),
]

NAMES = ["Speech", "Dog", "Rain", "Fire"]


@pytest.fixture(scope="module")
def hf_folder(tmp_path_factory):
    """A small random Hugging Face AST reading 300 frames (3.015 s), and its extractor."""
    transformers = pytest.importorskip("transformers")
    config = transformers.ASTConfig(
        hidden_size=64, num_hidden_layers=1, num_attention_heads=4, intermediate_size=128,
        max_length=300, id2label=dict(enumerate(NAMES)),
        label2id={n: i for i, n in enumerate(NAMES)})
    torch.manual_seed(0)
    model = transformers.ASTForAudioClassification(config).eval()
    with torch.no_grad():
        for param in model.parameters():
            param.copy_(torch.randn_like(param) * 0.3)
    folder = tmp_path_factory.mktemp("hf")
    model.save_pretrained(folder)
    transformers.ASTFeatureExtractor(max_length=300).save_pretrained(folder)
    return folder, model, transformers.ASTFeatureExtractor.from_pretrained(folder)


def test_hf_folder_scores_a_short_clip_as_transformers_does(hf_folder, tmp_path):
    folder, model, extractor = hf_folder
    wave = load_example("rain")[:32_000]  # 2 s: shorter than the model's 3.015 s
    sf.write(tmp_path / "rain.wav", wave, 16_000, subtype="FLOAT")
    prediction = pretrained_classifier(folder).classify_file(tmp_path / "rain.wav")
    with torch.no_grad():
        inputs = extractor(wave, sampling_rate=16_000, return_tensors="pt")
        expected = model(**inputs).logits.softmax(dim=-1)[0].numpy()
    assert prediction.windows == 1
    assert np.abs(prediction.probabilities - expected).max() <= 1e-5


def test_predict_weights_cli_keeps_the_json_shape(hf_folder, capsys):
    assert main(["predict", str(example_path("dog")), "--weights", str(hf_folder[0]),
                 "--top", "2", "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)["files"][0]
    assert entry["windows"] == 3  # 5 s in 3.015-s windows, 1.5 s apart
    assert [sorted(row) for row in entry["top"]] == [["class", "probability", "target"]] * 2
    assert {row["class"] for row in entry["top"]} <= set(NAMES)


def authors_pth(folder, classes: int = len(NAMES)):
    """An authors'-layout checkpoint of a random one-block AST-tiny reading 1,024 frames."""
    torch.manual_seed(0)
    cfg = ASTConfig.preset("tiny", depth=1, n_frames=1024, num_classes=classes, head_norm=True)
    names = {"head_norm.": "module.mlp_head.0.", "head.": "module.mlp_head.1."}
    state = {}
    for key, value in AST(cfg).state_dict().items():
        prefix = next((p for p in names if key.startswith(p)), None)
        state[names[prefix] + key[len(prefix):] if prefix else f"module.v.{key}"] = value
    torch.save(state, folder / "audioset_10_10_0.4593.pth")
    return folder / "audioset_10_10_0.4593.pth"


def test_authors_checkpoint_takes_labels_beside_it(tmp_path, capsys):
    checkpoint = authors_pth(tmp_path)
    assert main(["predict", str(example_path("rain")), "--weights", str(checkpoint)]) != 0
    assert "--labels" in capsys.readouterr().err
    rows = [f'{i},/m/{i:04d},"{name}"' for i, name in enumerate(NAMES)]
    (tmp_path / "class_labels_indices.csv").write_text("index,mid,display_name\n" + "\n".join(rows))
    assert main(["predict", str(example_path("rain")), "--weights", str(checkpoint),
                 "--json", "--top", "4"]) == 0
    entry = json.loads(capsys.readouterr().out)["files"][0]
    assert entry["windows"] == 1 and {row["class"] for row in entry["top"]} == set(NAMES)
    assert sum(row["probability"] for row in entry["top"]) != pytest.approx(1.0)  # sigmoids
