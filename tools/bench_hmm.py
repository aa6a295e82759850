"""Benchmark: seqcourse.hmm against hmmlearn on one long sequence (T = 100,000, K = 8, M = 10).

``rows()`` returns (label, seconds) pairs for `tools/bench.py`, and the ratios
seqcourse / hmmlearn measured in the same run (dimensionless, in the seconds
column). Each timing is the best of ``repeats`` runs. hmmlearn is a test
dependency; without it only the seqcourse rows are returned.
Run alone: ``python tools/bench_hmm.py``.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np

from seqcourse.hmm import HMM

T, K, M = 100_000, 8, 10


def _best_of(fn: Callable[[], object], repeats: int) -> float:
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def rows(repeats: int = 3) -> list[tuple[str, float]]:
    """Seconds for log_likelihood and viterbi, seqcourse and hmmlearn, and their ratios."""
    rng = np.random.default_rng(0)
    model = HMM.random(K, M, rng)
    _, obs = model.sample(T, rng)
    where = f"T={T:,}, K={K}, M={M}"
    ours = {
        "log_likelihood": _best_of(lambda: model.log_likelihood(obs), repeats),
        "viterbi": _best_of(lambda: model.viterbi(obs), repeats),
    }
    out = [(f"seqcourse.hmm {name} ({where})", sec) for name, sec in ours.items()]
    try:
        from hmmlearn.hmm import CategoricalHMM
    except ImportError:  # pragma: no cover - hmmlearn is a test dependency
        return out
    ref = CategoricalHMM(K, n_features=M, init_params="", params="")
    ref.startprob_, ref.transmat_, ref.emissionprob_ = model.startprob, model.transmat, model.emissionprob
    X = obs[:, None]
    theirs = {
        "log_likelihood": _best_of(lambda: ref.score(X), repeats),
        "viterbi": _best_of(lambda: ref.decode(X, algorithm="viterbi"), repeats),
    }
    out += [(f"hmmlearn {name} ({where})", sec) for name, sec in theirs.items()]
    out += [(f"ratio seqcourse/hmmlearn {name}", ours[name] / theirs[name]) for name in ours]
    return out


def main() -> None:
    table = rows()
    width = max(len(label) for label, _ in table)
    print(f"| {'what'.ljust(width)} | seconds (ratio) |\n|{'-' * (width + 2)}|-----------------|")
    for label, value in table:
        print(f"| {label.ljust(width)} | {value:15.3f} |")


if __name__ == "__main__":
    main()
