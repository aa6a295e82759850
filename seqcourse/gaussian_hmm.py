"""Hidden Markov models whose observations are real numbers: Gaussian emissions.

The hidden chain is the one of :mod:`seqcourse.hmm`; only the emission changes.
State ``j`` emits ``x_t ~ N(mu_j, sigma_j^2)``, so the table entry ``B[j, x_t]``
becomes the density::

    b_j(x) = exp(-(x - mu_j)^2 / (2 sigma_j^2)) / sqrt(2 pi sigma_j^2)

and every recursion keeps its form with ``log b_j(x_t)`` in place of ``log B[j, x_t]``.
Densities can exceed 1 and products of many of them over- or underflow, so this
module works in **log space** throughout (log-sum-exp in place of sums).

Shapes: ``startprob`` (K,), ``transmat`` (K, K) (rows: the state we come from),
``means`` and ``variances`` (K,); an observation sequence is a float array (T,).

Baum-Welch changes only in its emission M-step: with posteriors
``gamma[t, j] = P(h_t = j | x)``, the new mean and variance of state ``j`` are the
gamma-weighted mean and variance of the observations,
``mu_j = sum_t gamma[t, j] x_t / sum_t gamma[t, j]`` and
``sigma_j^2 = sum_t gamma[t, j] (x_t - mu_j)^2 / sum_t gamma[t, j]``
(floored at ``min_variance``, or one state can collapse onto a single point and
its likelihood grows without bound).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._checks import as_float_array, check_probabilities
from .hmm import _log, viterbi_path   # log with log(0) = -inf; Viterbi for any emissions

__all__ = ["GaussianHMM", "logsumexp", "regime_signal"]


def logsumexp(a: np.ndarray, axis: int | None = None) -> np.ndarray:
    """log(sum(exp(a))) along ``axis`` without overflow; all -inf gives -inf."""
    a = np.asarray(a, dtype=np.float64)
    peak = np.max(a, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        out = np.log(np.sum(np.exp(a - peak), axis=axis, keepdims=True)) + peak
    return out.squeeze(axis=axis) if axis is not None else out.reshape(())


class GaussianHMM:
    """An HMM with one-dimensional Gaussian emissions.

    Args:
        startprob: (K,) initial state distribution.
        transmat: (K, K) transition matrix, ``transmat[i, j] = P(h_t = j | h_{t-1} = i)``.
        means: (K,) emission means.
        variances: (K,) emission variances, all positive.

    Raises ``ValueError`` naming what was expected when a table is not a
    distribution or the shapes disagree.
    """

    def __init__(self, startprob: object, transmat: object, means: object, variances: object) -> None:
        self.startprob = as_float_array(startprob, "startprob", ndim=1)
        K = len(self.startprob)
        self.transmat = as_float_array(transmat, "transmat", ndim=2)
        self.means = as_float_array(means, "means", ndim=1)
        self.variances = as_float_array(variances, "variances", ndim=1)
        if self.transmat.shape != (K, K):
            raise ValueError(f"transmat must have shape (K, K) = ({K}, {K}) to match startprob, "
                             f"got {self.transmat.shape}")
        for name in ("means", "variances"):
            if getattr(self, name).shape != (K,):
                raise ValueError(f"{name} must have shape (K,) = ({K},) to match startprob, "
                                 f"got {getattr(self, name).shape}")
        check_probabilities(self.startprob, "startprob")
        check_probabilities(self.transmat, "transmat")
        if not np.all(self.variances > 0):
            raise ValueError(f"variances must all be positive, got {self.variances}")

    @property
    def n_states(self) -> int:
        return len(self.startprob)

    def copy(self) -> "GaussianHMM":
        return GaussianHMM(self.startprob, self.transmat, self.means, self.variances)

    def _obs(self, obs: object) -> np.ndarray:
        x = np.asarray(obs, dtype=np.float64)
        if x.ndim != 1 or len(x) == 0:
            raise ValueError(f"an observation sequence must be a non-empty 1-D array (T,), got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("observations must be finite numbers, got NaN or inf")
        return x

    # -- the model ----------------------------------------------------------------------------
    def sample(self, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``(states, obs)``: int (T,) and float (T,)."""
        states = np.empty(T, dtype=np.intp)
        states[0] = rng.choice(self.n_states, p=self.startprob)
        for t in range(1, T):
            states[t] = rng.choice(self.n_states, p=self.transmat[states[t - 1]])
        obs = rng.normal(self.means[states], np.sqrt(self.variances[states]))
        return states, obs

    def log_emissions(self, obs: object) -> np.ndarray:
        """``log b_j(x_t)``, shape (T, K)."""
        x = self._obs(obs)[:, None]
        return -0.5 * (np.log(2 * np.pi * self.variances) + (x - self.means) ** 2 / self.variances)

    def joint_log_prob(self, states: object, obs: object) -> float:
        """log p(h, x) of one state path (T,) and observation sequence (T,)."""
        logE = self.log_emissions(obs)
        h = np.asarray(states, dtype=np.intp)
        if h.shape != (len(logE),):
            raise ValueError(f"states must have shape ({len(logE)},) like obs, got {h.shape}")
        steps = _log(self.transmat)[h[:-1], h[1:]]
        return float(_log(self.startprob)[h[0]] + steps.sum() + logE[np.arange(len(h)), h].sum())

    # -- inference in log space ------------------------------------------------------------------
    def log_forward(self, obs: object) -> np.ndarray:
        """``log alpha[t, j] = log p(x_1..x_t, h_t = j)``, shape (T, K)."""
        return _log_alpha(_log(self.startprob), _log(self.transmat), self.log_emissions(obs))

    def log_backward(self, obs: object) -> np.ndarray:
        """``log beta[t, i] = log p(x_{t+1}..x_T | h_t = i)``, shape (T, K)."""
        return _log_beta(_log(self.transmat), self.log_emissions(obs))

    def log_likelihood(self, obs: object) -> float:
        """log p(x_1..x_T)."""
        return float(logsumexp(self.log_forward(obs)[-1]))

    def posteriors(self, obs: object) -> np.ndarray:
        """``gamma[t, j] = P(h_t = j | x)``, shape (T, K); rows sum to one."""
        log_gamma = self.log_forward(obs) + self.log_backward(obs)
        return np.exp(log_gamma - logsumexp(log_gamma, axis=1)[:, None])

    def viterbi(self, obs: object) -> tuple[np.ndarray, float]:
        """The most probable state path (T,) and its joint log-probability."""
        return viterbi_path(_log(self.startprob), _log(self.transmat), self.log_emissions(obs))

    # -- learning ---------------------------------------------------------------------------------
    def _expected_counts(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """E-step for one sequence: gamma (T, K), summed xi (K, K), and log p(x)."""
        logE, logA = self.log_emissions(x), _log(self.transmat)     # once, for both passes
        la, lb = _log_alpha(_log(self.startprob), logA, logE), _log_beta(logA, logE)
        log_px = float(logsumexp(la[-1]))
        gamma = np.exp(la + lb - log_px)
        log_xi = la[:-1, :, None] + logA[None] + (logE[1:] + lb[1:])[:, None, :] - log_px
        return gamma, np.exp(log_xi).sum(axis=0), log_px

    def fit(self, sequences: Sequence[object], n_iter: int = 50, tol: float = 1e-6,
            min_variance: float = 1e-6) -> "GaussianHMM":
        """Baum-Welch on a list of real-valued sequences; updates the model in place.

        ``log_likelihoods_`` gets the total log-likelihood at the start of every
        iteration (it never decreases, up to the variance floor).
        """
        if isinstance(sequences, np.ndarray) and sequences.ndim == 1:
            raise ValueError("sequences must be a list of 1-D sequences, got one 1-D array; use fit([obs])")
        xs = [self._obs(s) for s in sequences]
        if not xs:
            raise ValueError("sequences must contain at least one sequence, got none")
        self.log_likelihoods_: list[float] = []
        K = self.n_states
        for _ in range(n_iter):
            start, trans, total = np.zeros(K), np.zeros((K, K)), 0.0
            gammas = []
            for x in xs:
                gamma, xi, log_px = self._expected_counts(x)
                start += gamma[0]
                trans += xi
                total += log_px
                gammas.append(gamma)
            weight = sum(g.sum(axis=0) for g in gammas)                       # (K,)
            means = sum(g.T @ x for g, x in zip(gammas, xs)) / weight
            second = sum((g * (x[:, None] - means) ** 2).sum(axis=0) for g, x in zip(gammas, xs))
            self.log_likelihoods_.append(total)
            self.startprob = start / start.sum()
            self.transmat = trans / trans.sum(axis=1, keepdims=True)
            self.means, self.variances = means, np.maximum(second / weight, min_variance)
            if len(self.log_likelihoods_) > 1 and total - self.log_likelihoods_[-2] < tol:
                break
        return self


def _log_alpha(log_start: np.ndarray, logA: np.ndarray, logE: np.ndarray) -> np.ndarray:
    """The forward recursion in log space: (K,), (K, K), (T, K) -> (T, K)."""
    out = np.empty_like(logE)
    out[0] = log_start + logE[0]
    for t in range(1, len(logE)):
        out[t] = logsumexp(out[t - 1][:, None] + logA, axis=0) + logE[t]
    return out


def _log_beta(logA: np.ndarray, logE: np.ndarray) -> np.ndarray:
    """The backward recursion in log space: (K, K), (T, K) -> (T, K)."""
    out = np.zeros_like(logE)
    for t in range(len(logE) - 2, -1, -1):
        out[t] = logsumexp(logA + (logE[t + 1] + out[t + 1])[None, :], axis=1)
    return out


def regime_signal(T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, GaussianHMM]:
    """A real-valued signal that switches between three regimes (calm, busy, alarm).

    Returns ``(states, x, model)``: the regimes int (T,), the signal float (T,)
    and the generating model (means 0, 2.5, 6; standard deviations 0.6, 1.0, 1.5;
    each regime lasts about 20-50 steps).
    """
    model = GaussianHMM(startprob=[0.8, 0.15, 0.05],
                        transmat=[[0.97, 0.025, 0.005],
                                  [0.03, 0.95, 0.02],
                                  [0.01, 0.04, 0.95]],
                        means=[0.0, 2.5, 6.0], variances=[0.36, 1.0, 2.25])
    states, x = model.sample(T, rng)
    return states, x, model
