"""seqcourse: the helper package of the course *Deep Learning for Sequences*.

The lectures import small, readable pieces from here so that each notebook can
focus on one idea.  Every module is named after what it teaches:

==========================  ====================================================
``seqcourse.kalman``        the Kalman filter (lecture 01)
``seqcourse.ngram``         counting language models with add-k smoothing
``seqcourse.smoothing``     interpolated and Kneser-Ney n-grams, tuned on a development set
``seqcourse.textclass``     bag-of-n-grams text classification (fastText style)
``seqcourse.linpred``       linear (auto-regressive) prediction by least squares
``seqcourse.ffn``           feed-forward baselines of lecture 01's experiments
``seqcourse.markov``        Markov chains of order 1 and 2 (lecture 02)
``seqcourse.hmm``           hidden Markov models: forward-backward, Viterbi, Baum-Welch
``seqcourse.gaussian_hmm``  HMMs with Gaussian emissions, in log space, for real-valued signals
``seqcourse.rnn``           a vanilla RNN and BPTT in numpy, torch's layout (lecture 03)
``seqcourse.charlm``        a character-level language model in torch, offline corpus
``seqcourse.subwords``      subword units (BPE) and the cost of a large output vocabulary
``seqcourse.multitarget``   back-propagation with targets at several layers (lecture 04)
``seqcourse.gated``         LSTM and GRU in numpy, torch's layout, step and BPTT (lecture 05)
``seqcourse.longrange``     long-range tasks (delayed recall, adding, tagging) and their models
``seqcourse.convseq``       causal gated (GLU) convolutions over sequences
``seqcourse.translation``   a small verb-final language and its English translation (lecture 06)
``seqcourse.seq2seq``       encoder-decoder with source reversal and attention, in torch
``seqcourse.decoding``      greedy, sampling, beam search and exhaustive search
``seqcourse.bleu``          BLEU from its definition (clipped precisions, brevity penalty)
``seqcourse.scenes``        generated scenes and clips with checkable captions (lecture 07)
``seqcourse.captioning``    CNN encoder, conditioned LSTM decoder, video pooling and description
``seqcourse.digitstrings``  digit-string images and their over-segmentation (lecture 08)
``seqcourse.digitcnn``      a CNN for single digits and the lattice it scores
``seqcourse.lattice``       lattices of interpretations: forward, Viterbi, sequence loss
``seqcourse.ctc``           connectionist temporal classification in log space
``seqcourse.losses``        softmax, cross entropy, KL divergence
``seqcourse.data``          generators for every data set the course uses
``seqcourse.training``      a tiny training loop with a progress bar
``seqcourse.progress``      progress bars that read well live and in saved notebooks
``seqcourse.plotting``      loss curves and small figure helpers
``seqcourse.testing``       friendly assertions used by the autograded tests
==========================  ====================================================

The grading engine is instructor-side software and lives in its own package,
``gradebox``: students never need to read it.
"""

from __future__ import annotations

import os
import random

import numpy as np

__version__ = "0.1.0"

__all__ = ["device", "seed_everything", "__version__"]


def device() -> "torch.device":  # noqa: F821  (torch is imported lazily)
    """Return the torch device the course should run on.

    CUDA when a GPU is visible, else the CPU.  The environment variable
    ``SEQCOURSE_DEVICE`` (for example ``cpu`` or ``cuda:1``) overrides the
    choice, which is how the test-suite forces every notebook onto the CPU.

    Raises:
        ValueError: if ``SEQCOURSE_DEVICE`` names a device torch does not know,
            or asks for CUDA on a machine without it.
    """
    import torch

    requested = os.environ.get("SEQCOURSE_DEVICE", "").strip()
    if not requested:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(requested)
    except RuntimeError as err:
        raise ValueError(
            f"SEQCOURSE_DEVICE must name a torch device such as 'cpu' or 'cuda:0', "
            f"got {requested!r}"
        ) from err
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(
            f"SEQCOURSE_DEVICE={requested!r} asks for CUDA, but torch sees no GPU "
            "on this machine; unset it or use 'cpu'"
        )
    return dev


def seed_everything(seed: int) -> np.random.Generator:
    """Seed Python, NumPy and torch (CPU and CUDA) so that runs repeat exactly.

    Returns a fresh ``numpy.random.Generator`` seeded with ``seed``: the
    lectures pass it explicitly to every function that draws random numbers.
    """
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    random.seed(int(seed))
    np.random.seed(int(seed) % 2**32)
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a hard dependency
        pass
    else:
        torch.manual_seed(int(seed))
        if torch.cuda.is_available():
            torch.cuda.manual_seed_all(int(seed))
    return np.random.default_rng(int(seed))
