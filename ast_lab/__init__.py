"""ast-lab: the Audio Spectrogram Transformer rebuilt from first principles.

Stages, each a module (and a notebook): ``audio`` -> ``features`` -> ``data`` ->
``models`` (patches, attention, transformer, ast, cnn) -> ``training`` -> ``metrics``.
"""

__version__ = "0.1.0"
