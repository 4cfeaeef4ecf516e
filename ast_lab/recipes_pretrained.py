"""The AST paper's ESC-50 fine-tuning: two recipes that start from pretrained weights (GPU).

``esc50-ast-imagenet`` starts from an ImageNet DeiT, ``esc50-ast-audioset`` from the authors'
AudioSet AST or its Hugging Face copy; both need ``--init`` with that checkpoint
(``training.pretrained_init``). Every setting is the authors' ``egs/esc50/run_esc.sh`` as their
``src/run.py``, ``traintest.py``, ``dataloader.py`` and ``models/ast_models.py`` use it:

==============  ==================================================================================
input           Kaldi FBANK (``FbankConfig.kaldi_like``): 128 mel bins, 25 ms Hann window, 10 ms
                hop, of ESC-50 resampled to 16 kHz (their ``prep_esc50.py`` runs sox); a 5-s clip
                is 498 frames, zero-padded to 512 (``audio_length=512``)
normalisation   ``(x + 6.6268077) / (2 * 5.358466)``: their ESC-50 mean and std, twice the std
model           base AST: 768 wide, 12 blocks of 12 heads, 16 x 16 patches every 10 bins and
                frames (12 x 50 patches); LayerNorm epsilon 1e-6 (timm's); the head a LayerNorm
                and a Linear on the mean of [CLS] and [DIST]; no dropout, no stochastic depth
optimiser       Adam, betas (0.95, 0.999), weight decay 5e-7 (an L2 term), no gradient clipping
learning rate   1e-4 from ImageNet, 1e-5 from AudioSet; no warm-up; x 0.85 after every epoch
                from the 5th (``lrscheduler_start=5, step=1, decay=0.85``: the 6th epoch is the
                first at 0.85)
schedule        25 epochs of batches of 48, cross-entropy (``loss=CE``), no label smoothing
augmentation    one frequency mask up to 24 bins and one time mask up to 96 frames; no mixup
                (``mixup=0``), no noise or shift (``noise=False``)
==============  ==================================================================================

Where this project still differs, each a detail: their masks write 0 into the log-mels before
normalising (+0.62 after it), ours write 0 after (the mean); they subtract each waveform's mean
before the FBANK; they train under float16 autocast, we under bf16 on CUDA; they score the test
fold after every epoch and report the epoch best on average over the folds
(``get_esc_result.py``), while these recipes test the last epoch's weights, chosen without
looking at a test fold.

What the paper measured on ESC-50 (5-fold cross-validated accuracy, Gong et al. 2021, Table 3):
88.7 ± 0.7 % from ImageNet, 95.6 ± 0.4 % from ImageNet and AudioSet. Each fold is about
14 PFLOP of training (1,600 clips x 25 epochs x 3 x 116 GFLOP a forward pass, an estimate):
minutes on a data-centre GPU, days on 2 CPU cores.
"""

from __future__ import annotations

import dataclasses

from .config import ASTConfig, FbankConfig, TrainConfig
from .recipe import Recipe

PAPER_FBANK = FbankConfig.kaldi_like()  # 128 bins, 16 kHz, 25/10 ms, 498 frames -> 512
ESC50_SECONDS = 5.0
ESC50_MEAN, ESC50_STD = -6.6268077, 5.358466  # of ESC-50's FBANK, from run_esc.sh
PAPER_AST = ASTConfig.preset(
    "base", fstride=10, tstride=10, drop_path_rate=0.0, pooling="tokens",
    layer_norm_eps=1e-6, head_norm=True, head_norm_eps=1e-5,
)  # timm's DeiT blocks (eps 1e-6) under their mlp_head (LayerNorm at torch's 1e-5 + Linear)
PAPER_TRAIN = TrainConfig(
    epochs=25, batch_size=48, lr=1e-4, optimizer="adam", betas=(0.95, 0.999),
    weight_decay=5e-7, warmup_epochs=0, schedule="step", step_decay_start=5,
    step_decay_gamma=0.85, label_smoothing=0.0, grad_clip=None, freq_mask=24, time_mask=96,
    norm_stats=(ESC50_MEAN, ESC50_STD), norm_scale=2.0, selection="last",
)
IMAGENET_LR, AUDIOSET_LR = 1e-4, 1e-5  # run_esc.sh: the AudioSet model moves 10 times slower

IMAGENET_INIT = ("an ImageNet DeiT base in timm's names (deit_base_distilled_patch16_384, "
                 ".pth or .safetensors)")
AUDIOSET_INIT = ("the authors' audioset_10_10_0.4593.pth, or the Hugging Face folder "
                 "MIT/ast-finetuned-audioset-10-10-0.4593")


def pretrained_recipes() -> list[Recipe]:
    """``esc50-ast-imagenet`` and ``esc50-ast-audioset``: the paper's fine-tuning on ESC-50."""
    paper = dict(model=PAPER_AST, fbank=PAPER_FBANK, clip_seconds=ESC50_SECONDS)
    return [
        Recipe("esc50-ast-imagenet", "AST base from an ImageNet DeiT (--init), the paper's "
               "ESC-50 fine-tuning; the paper: 88.7 +- 0.7 % (GPU)",
               train=dataclasses.replace(PAPER_TRAIN, lr=IMAGENET_LR), needs_init=IMAGENET_INIT,
               **paper),
        Recipe("esc50-ast-audioset", "AST base from the authors' AudioSet AST (--init), the "
               "paper's ESC-50 fine-tuning; the paper: 95.6 +- 0.4 % (GPU)",
               train=dataclasses.replace(PAPER_TRAIN, lr=AUDIOSET_LR), needs_init=AUDIOSET_INIT,
               **paper),
    ]
