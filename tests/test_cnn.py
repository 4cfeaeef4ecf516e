"""The CNN baseline: shapes, input forms, gradients, initial loss, determinism."""

import math

import pytest
import torch
from torch import nn

from ast_lab.config import CNNConfig
from ast_lab.models import CNN, build_model, trace_shapes


def small_cnn(**overrides) -> CNN:
    torch.manual_seed(0)
    return CNN(CNNConfig(**{"channels": (8, 16, 32), "num_classes": 10, **overrides}))


def test_default_cnn_on_a_full_size_clip():
    torch.manual_seed(0)
    model = build_model("cnn", CNNConfig())
    assert model(torch.randn(2, 128, 512)).shape == (2, 50)


@pytest.mark.parametrize("frames", [100, 37])
def test_any_length_thanks_to_global_pooling(frames):
    assert small_cnn()(torch.randn(2, 64, frames)).shape == (2, 10)


def test_channel_axis_is_optional():
    model = small_cnn().eval()
    spec = torch.randn(3, 64, 100)
    assert torch.equal(model(spec), model(spec.unsqueeze(1)))


def test_too_small_input_is_a_clear_error():
    with pytest.raises(ValueError, match="at least 8 x 8"):
        small_cnn()(torch.randn(2, 64, 7))


def test_gradients_reach_every_parameter():
    model = small_cnn().train()
    logits = model(torch.randn(4, 64, 100))
    nn.functional.cross_entropy(logits, torch.tensor([0, 1, 2, 3])).backward()
    starved = [name for name, p in model.named_parameters() if p.grad is None or not p.grad.any()]
    assert starved == []


def test_initial_loss_is_uniform_guessing():
    # head weights ~ N(0, 0.01^2): logits start near 0, so the loss starts near ln(classes)
    torch.manual_seed(0)
    model = build_model("cnn", CNNConfig(num_classes=50)).eval()
    with torch.no_grad():
        log_probs = model(torch.randn(16, 64, 100)).log_softmax(dim=-1)
    assert -log_probs.mean().item() == pytest.approx(math.log(50), abs=0.1)


def test_eval_is_deterministic_and_seeded_builds_match():
    spec = torch.randn(2, 64, 100)
    first, second = small_cnn(dropout=0.5).eval(), small_cnn(dropout=0.5).eval()
    assert torch.equal(first(spec), first(spec))
    assert torch.equal(first(spec), second(spec))


def test_trace_shapes_halves_the_grid_at_every_stage():
    rows = trace_shapes(small_cnn(), torch.randn(2, 1, 64, 100), verbose=False)
    assert rows == [
        ("input", (2, 1, 64, 100)),
        ("stages.0", (2, 8, 32, 50)),
        ("stages.1", (2, 16, 16, 25)),
        ("stages.2", (2, 32, 8, 12)),
        ("pool", (2, 32, 1, 1)),
        ("dropout", (2, 32)),
        ("head", (2, 10)),
    ]


def test_max_pooling_keeps_a_thin_event_that_averaging_dilutes():
    # One bright 1-bin line in a large quiet field: after global max pooling the features of
    # the clip with the line differ from the empty clip's much more than after averaging.
    torch.manual_seed(0)
    quiet = torch.zeros(1, 64, 96)
    line = quiet.clone()
    line[0, 30, 10:40] = 5.0
    gaps = {}
    for pooling in ("max", "avg"):
        model = CNN(CNNConfig(channels=(8, 16), num_classes=3, pooling=pooling)).eval()
        with torch.no_grad():
            gaps[pooling] = (model.forward_features(line) - model.forward_features(quiet)).abs().max()
    assert gaps["max"] > 3 * gaps["avg"]
    with pytest.raises(ValueError, match="unknown pooling"):
        CNN(CNNConfig(pooling="median"))  # type: ignore[arg-type]


def test_channels_last_layout_computes_what_the_plain_layout_does():
    model = small_cnn().eval()
    kernels = [m.weight for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(k.is_contiguous(memory_format=torch.channels_last) for k in kernels)
    plain = small_cnn().eval()
    plain.load_state_dict({k: v.contiguous() for k, v in model.state_dict().items()})
    plain.to(memory_format=torch.contiguous_format)
    # loading plain tensors into the model keeps its layout
    model.load_state_dict(plain.state_dict())
    assert all(k.is_contiguous(memory_format=torch.channels_last) for k in kernels)
    spec = torch.randn(4, 64, 100)
    with torch.no_grad():
        image = spec.unsqueeze(1)
        maps = plain.stages[0](image)  # the plain layout, stage by stage
        for stage in plain.stages[1:]:
            maps = stage(maps)
        expected = plain.head(plain.pool(maps).flatten(1))
        assert not maps.is_contiguous(memory_format=torch.channels_last)
        torch.testing.assert_close(model(spec), expected, rtol=1e-5, atol=1e-5)
