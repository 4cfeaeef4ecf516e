"""Configuration dataclasses for every stage of the pipeline.

Each default carries the reason it was chosen. Configs are plain, flat dataclasses so they
serialise to JSON (``dataclasses.asdict``) next to every result, and hash into cache keys.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from typing import Any, Literal, Optional

WindowName = Literal["hann", "hamming", "povey", "rectangular"]


def replace_settings(obj: Any, settings: dict[str, Any], parts: tuple[str, ...]) -> Any:
    """``obj`` (a dataclass whose fields ``parts`` hold config dataclasses) with fields of those
    configs replaced, keyed ``"<part>.<field>"`` (e.g. ``{"train.mixup_alpha": 0.3}``); lists
    become tuples (as JSON and the command line give them). ValueError names an unknown part
    or field."""
    changes: dict[str, dict[str, Any]] = {part: {} for part in parts}
    for key, value in settings.items():
        part, _, name = key.partition(".")
        if part not in parts:
            raise ValueError(f"setting {key!r}: the part must be one of {parts}")
        fields = {f.name for f in dataclasses.fields(getattr(obj, part))}
        if name not in fields:
            raise ValueError(f"setting {key!r}: {part} has no field {name!r}")
        changes[part][name] = tuple(value) if isinstance(value, list) else value
    return dataclasses.replace(obj, **{
        part: dataclasses.replace(getattr(obj, part), **fields) for part, fields in changes.items()
    })


def config_hash(cfg: Any, exclude: tuple[str, ...] = ()) -> str:
    """Short, stable hex digest of a dataclass's fields (minus ``exclude``), for cache keys."""
    fields = {k: v for k, v in dataclasses.asdict(cfg).items() if k not in exclude}
    text = json.dumps({"type": type(cfg).__name__, **fields}, sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass
class FbankConfig:
    """Log-mel filterbank (FBANK) settings; see ``ast_lab.features`` and notebook 01.

    Every knob that distinguishes librosa's conventions from Kaldi's is a field, so the two
    presets below differ only in values, never in code paths.
    """

    sample_rate: int = 16_000  # Hz; AST and most speech/audio models work at 16 kHz
    win_ms: float = 25.0  # analysis window length in ms (400 samples at 16 kHz)
    hop_ms: float = 10.0  # hop between frames in ms (160 samples): 100 frames per second
    n_fft: int = 512  # FFT size in samples; the smallest power of two >= the window
    n_mels: int = 128  # mel bands; AST uses 128
    fmin: float = 0.0  # lowest mel-filter edge in Hz (librosa default 0; Kaldi recipe 20)
    fmax: Optional[float] = None  # highest edge in Hz; None means Nyquist (sample_rate / 2)
    window: WindowName = "hann"  # taper applied to every frame
    periodic: bool = True  # periodic (DFT-even, librosa/scipy fftbins) or symmetric (Kaldi)
    center: bool = True  # True: librosa's centred frames (pad n_fft//2 both sides);
    # False: Kaldi's snip_edges, frames start at 0 and the tail that does not fill a window is dropped
    pad_mode: Literal["constant", "reflect"] = "constant"  # padding for center=True (librosa >=0.10 default)
    mel_scale: Literal["htk", "slaney"] = "slaney"  # Hz<->mel formula (librosa default slaney)
    mel_norm: Optional[Literal["slaney"]] = "slaney"  # area-normalise each triangle (librosa default)
    mel_domain: Literal["hz", "mel"] = "hz"  # triangles linear in Hz (librosa) or in mel (Kaldi)
    power: float = 2.0  # exponent on |FFT|: 2 = power spectrum, 1 = magnitude
    log: Literal["db", "ln", "none"] = "db"  # 10*log10 (dB) or natural log (Kaldi) or linear
    top_db: Optional[float] = 80.0  # dB: clip each spectrogram to (its max - top_db); None = no clip
    amin: float = 1e-10  # floor on power before 10*log10 (librosa power_to_db default)
    log_floor: float = 1.1920928955078125e-07  # floor before ln: float32 epsilon, as Kaldi
    preemphasis: float = 0.0  # x[t] - k*x[t-1] within each frame; 0 disables (Kaldi recipe 0.97)
    remove_dc: bool = False  # subtract each frame's mean before windowing (Kaldi recipe True)
    dither: float = 0.0  # Gaussian dither std, off by default so features are deterministic
    normalize: Literal["none", "per_sample", "dataset"] = "none"  # see ``features.normalize``
    dataset_mean: Optional[float] = None  # set from *training folds only* when normalize="dataset"
    dataset_std: Optional[float] = None  # idem
    target_frames: Optional[int] = None  # pad (with pad_value) or crop to this many frames
    pad_value: Optional[float] = None  # value for padded frames; None = the spectrogram's minimum

    @property
    def win_length(self) -> int:
        """Window length in samples."""
        return int(round(self.win_ms * self.sample_rate / 1000.0))

    @property
    def hop_length(self) -> int:
        """Hop length in samples."""
        return int(round(self.hop_ms * self.sample_rate / 1000.0))

    @property
    def nyquist(self) -> float:
        """Half the sample rate, in Hz."""
        return self.sample_rate / 2.0

    @classmethod
    def librosa_like(cls, **overrides: Any) -> "FbankConfig":
        """librosa.feature.melspectrogram + power_to_db defaults (periodic Hann, centred, Slaney)."""
        return dataclasses.replace(cls(), **overrides)

    @classmethod
    def kaldi_like(cls, **overrides: Any) -> "FbankConfig":
        """The AST authors' recipe, ``torchaudio.compliance.kaldi.fbank`` as they call it.

        Symmetric Hann (the paper says Hamming; the code passes ``window_type='hanning'``),
        pre-emphasis 0.97, per-frame DC removal, snip_edges framing (498 frames for 5 s),
        HTK mel with triangles in mel space from 20 Hz to Nyquist, no area norm, natural log
        with a float32-epsilon floor, padded to 512 frames.
        """
        base = cls(
            window="hann",
            periodic=False,
            center=False,
            fmin=20.0,
            mel_scale="htk",
            mel_norm=None,
            mel_domain="mel",
            log="ln",
            top_db=None,
            preemphasis=0.97,
            remove_dc=True,
            target_frames=512,
            pad_value=0.0,
        )
        return dataclasses.replace(base, **overrides)

    def raw_hash(self) -> str:
        """Hash of the fields that change cached (un-normalised) features."""
        return config_hash(self, exclude=("normalize", "dataset_mean", "dataset_std"))


@dataclass
class ASTConfig:
    """Audio Spectrogram Transformer; see ``ast_lab.models.ast`` and notebooks 02-03.

    ``num_patches`` is never a field: it follows from the input size, patch and strides.
    """

    n_mels: int = 128  # input height (mel bands)
    n_frames: int = 512  # input width (frames); ESC-50's 5 s padded to 512 as in the paper
    patch_size: int = 16  # square patches, as ViT/DeiT
    fstride: int = 10  # frequency stride; 10 < 16 gives the paper's 6-bin overlap
    tstride: int = 10  # time stride; idem
    embed_dim: int = 192  # token width
    depth: int = 12  # encoder blocks
    num_heads: int = 3  # attention heads; embed_dim must divide evenly
    mlp_ratio: float = 4.0  # MLP hidden width / embed_dim, as ViT
    qkv_bias: bool = True  # as DeiT/AST (the base parameter count assumes it)
    drop_rate: float = 0.0  # dropout after embeddings, attention output and MLP
    attn_drop_rate: float = 0.0  # dropout on attention weights
    drop_path_rate: float = 0.1  # stochastic depth, linearly increasing over blocks
    num_classes: int = 50  # ESC-50
    pooling: Literal["tokens", "mean", "max", "distilled"] = "tokens"  # one head on the mean of
    # [CLS]+[DIST] (paper), the mean of the patches or their channel-wise maximum; "distilled": DeiT's two heads, [CLS] for the labels and
    # [DIST] for a teacher's, averaged at inference (``TrainConfig.distillation``)
    label_pooling: Literal["cls", "max"] = "cls"  # pooling="distilled": the label head reads
    # [CLS] (DeiT), or the patches' channel-wise maximum (as pooling="max"); [DIST] keeps the
    # teacher's head either way
    fused_attention: bool = True  # use F.scaled_dot_product_attention (same maths, faster)
    # Pretrained layouts (``ast_lab.models.pretrained``); the defaults are this project's own.
    layer_norm_eps: float = 1e-5  # epsilon of the blocks' and the final LayerNorm: torch's
    # default; timm's DeiT and the AST authors' weights 1e-6, a Hugging Face config its own
    head_norm: bool = False  # a LayerNorm on the pooled token before the head (the AST code's
    # ``mlp_head = LayerNorm + Linear``; adds 2 * embed_dim parameters)
    head_norm_eps: float = 1e-5  # its epsilon (the AST code: torch's default; Hugging Face:
    # the config's ``layer_norm_eps``)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> "ASTConfig":
        """A named size preset (see ``AST_PRESETS``) with optional field overrides."""
        if name not in AST_PRESETS:
            raise ValueError(f"unknown AST preset {name!r}; choose one of {sorted(AST_PRESETS)}")
        return cls(**{**AST_PRESETS[name], **overrides})


# Named sizes. base/small/tiny are DeiT's widths (the paper starts from DeiT-base);
# micro is small enough to train on 2 CPU cores in minutes.
AST_PRESETS: dict[str, dict[str, Any]] = {
    "micro": dict(embed_dim=96, depth=3, num_heads=4),  # wide-and-shallow learns fastest on CPU
    "tiny": dict(embed_dim=192, depth=12, num_heads=3),
    "small": dict(embed_dim=384, depth=12, num_heads=6),
    "base": dict(embed_dim=768, depth=12, num_heads=12),
}


@dataclass
class CNNConfig:
    """The small CNN baseline; see ``ast_lab.models.cnn``."""

    channels: tuple[int, ...] = (32, 64, 128, 256)  # one conv-BN-ReLU-pool stage per entry
    kernel_size: int = 3  # odd, so 'same' padding keeps the grid aligned
    convs_per_stage: int = 1  # conv-BN-ReLU layers before each pooling (2: VGG/PANNs style)
    dropout: float = 0.2  # before the linear head
    pooling: Literal["max", "avg", "maxavg"] = "max"  # global pooling over (freq, time): max
    # keeps a thin event in a wide quiet field visible; averaging dilutes it (the built-in set:
    # ~90 % vs ~50 %); "maxavg" adds the two
    num_classes: int = 50  # ESC-50


@dataclass
class DataConfig:
    """Which clips to load and how to split them; see ``ast_lab.data``."""

    source: Literal["synthetic", "esc50", "folder"] = "synthetic"  # the built-in set by default
    root: Optional[str] = None  # dataset folder; None = a default under ``~/.cache/ast-lab``
    clip_seconds: Optional[float] = None  # pad/crop length; None = the source's own default
    esc10: bool = False  # restrict ESC-50 to its 10-class subset
    val_fraction: float = 0.2  # share of the training folds held out for early stopping
    seed: int = 0  # split seed
    # built-in set only: clips per class and fold. A transformer trained from scratch needs
    # 48 (2,880 clips) to pass 90 % on it: at 8 it overfits at ~65 %, at 32 at ~88 %.
    synthetic_per_class_per_fold: int = 48


@dataclass
class TrainConfig:
    """Optimisation and evaluation settings; see ``ast_lab.training``."""

    epochs: int = 30  # upper bound; early stopping usually ends sooner
    batch_size: int = 32
    lr: float = 1e-3  # peak learning rate after warm-up
    weight_decay: float = 0.05  # AdamW, as DeiT
    warmup_epochs: int = 2  # linear warm-up, then the schedule below
    schedule: Literal["cosine", "step"] = "cosine"  # cosine decay, or AST's step decay
    step_decay_start: int = 5  # step schedule: first epoch that decays (AST ESC-50 recipe)
    step_decay_gamma: float = 0.85  # step schedule: factor per epoch after the start
    label_smoothing: float = 0.0
    grad_clip: Optional[float] = 1.0  # max global grad norm; None disables
    patience: int = 8  # epochs without validation improvement before stopping
    selection: Literal["best_val", "last"] = "best_val"  # which weights are tested: the best on
    # the validation split (early stopping), or the last of a fixed schedule ("last" trains on every
    # clip of the training folds when DataConfig.val_fraction is 0: small data needs them all)
    mixup_alpha: float = 0.0  # Beta(alpha, alpha) mixup; 0 disables
    freq_mask: int = 0  # SpecAugment: max frequency-mask width in bins; 0 disables
    time_mask: int = 0  # SpecAugment: max time-mask width in frames; 0 disables
    time_shift: int = 0  # max circular shift of each spectrogram in frames, either way; 0 disables
    distillation: Literal["none", "hard", "soft"] = "none"  # DeiT: train the AST's [DIST] head on a
    # teacher's argmax ("hard") or its softened probabilities ("soft"); needs pooling="distilled"
    distill_temperature: float = 1.0  # soft distillation: softmax temperature of both models
    gain_db: float = 0.0  # random gain: each training clip's level moves by up to this many
    # dB either way (uniform), i.e. a constant added to its dB spectrogram; 0 disables
    crop_frames: int = 0  # train on random crops of this many frames (the model sees this
    # width) and test on the mean of ``test_crops`` evenly spaced crops; 0 = whole clips
    test_crops: int = 1  # crops per clip at evaluation when crop_frames > 0 (EnvNet: 10)
    seed: int = 0  # Python/NumPy/torch: initialisation, shuffling, augmentation
    device: str = "auto"  # "auto" = CUDA if present, else CPU
    precision: Literal["auto", "bf16", "float32"] = "auto"  # forward passes under autocast:
    # "auto" = bf16 on CUDA, float32 elsewhere; "bf16" on the CPU too (AVX-512 BF16 cores run
    # the ESC-50 CNN's step in 0.42 of float32's time; benchmarks/results/recipe_speed.json)
    # The AST authors' fine-tuning (``ast_lab.recipes_pretrained``); defaults: this project's.
    optimizer: Literal["adamw", "adam"] = "adamw"  # AdamW, weight decay decoupled and on matrices
    # only (DeiT, minGPT); "adam": the AST code's torch.optim.Adam, weight decay an L2 term on
    # every tensor (at their 5e-7 the two differ by nothing measurable)
    betas: tuple[float, float] = (0.9, 0.999)  # Adam's moment decays: torch's defaults; the AST
    # code's 0.95 averages the gradient over fewer steps
    norm_stats: Optional[tuple[float, float]] = None  # fixed (mean, std) of the features, e.g.
    # those a checkpoint was trained with (the AST code's, per dataset); None = the training folds'
    norm_scale: float = 1.0  # inputs are (x - mean) / (norm_scale * std): the AST code divides
    # by 2 std, which puts most values within [-1, 1]
