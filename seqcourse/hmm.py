"""Hidden Markov models with discrete observations.

Generative process over hidden states ``h_t`` in {0..K-1} and observed symbols
``x_t`` in {0..M-1}::

    h_1 ~ startprob,   h_t | h_{t-1} ~ transmat[h_{t-1}],   x_t | h_t ~ emissionprob[h_t]

so that ``P(h, x) = pi[h_1] B[h_1, x_1] prod_{t>1} A[h_{t-1}, h_t] B[h_t, x_t]``.

Shapes: ``startprob`` (K,), ``transmat`` (K, K) with rows indexed by the state
we come *from*, ``emissionprob`` (K, M); an observation sequence is an int array (T,).

Numerics. The forward-backward recursions use *scaling*: after every step the
forward vector is divided by its sum ``c_t``, so it never underflows, and
``log P(x) = sum_t log c_t``. Viterbi works with log-probabilities. Zero
entries (impossible transitions or emissions) are allowed: they never produce
NaN; an impossible observation sequence has log-likelihood ``-inf``.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from ._checks import as_float_array, check_probabilities

__all__ = ["HMM", "viterbi_path"]


def _log(p: np.ndarray) -> np.ndarray:
    """Natural log with log(0) = -inf and no warning."""
    out = np.full(p.shape, -np.inf)
    np.log(p, out=out, where=p > 0)
    return out


def viterbi_path(log_start: np.ndarray, log_trans: np.ndarray, log_emit: np.ndarray) -> tuple[np.ndarray, float]:
    """Viterbi in log space for any emission model: log_start (K,), log_trans (K, K),
    log_emit (T, K) with ``log_emit[t, j] = log p(x_t | h_t = j)``.  Returns the most
    probable path, int (T,), and its joint log-probability."""
    T, K = log_emit.shape
    back = np.empty((T, K), dtype=np.intp)
    cols = np.arange(K)
    delta = log_start + log_emit[0]
    for t in range(1, T):
        scores = delta[:, None] + log_trans        # scores[i, j]: best path ending i -> j
        best = scores.argmax(axis=0)
        back[t] = best
        delta = scores[best, cols] + log_emit[t]
    path = np.empty(T, dtype=np.intp)
    path[-1] = int(delta.argmax())
    for t in range(T - 1, 0, -1):
        path[t - 1] = back[t, path[t]]
    return path, float(delta[path[-1]])


class HMM:
    """A discrete-observation hidden Markov model.

    Args:
        startprob: initial state distribution, shape (K,).
        transmat: transition matrix (K, K); ``transmat[i, j] = P(h_t = j | h_{t-1} = i)``.
        emissionprob: emission matrix (K, M); ``emissionprob[i, m] = P(x_t = m | h_t = i)``.

    Raises ``ValueError`` for negative entries, rows that do not sum to one,
    or shapes that do not agree. The tables are copied to float64 arrays.
    After :meth:`fit`, ``log_likelihoods_`` holds the total log-likelihood of
    the training sequences under the parameters of each iteration.
    """

    def __init__(self, startprob: object, transmat: object, emissionprob: object) -> None:
        self.startprob = as_float_array(startprob, "startprob", ndim=1)
        K = len(self.startprob)
        if K < 1:
            raise ValueError("startprob must have at least one state, got shape (0,)")
        self.transmat = as_float_array(transmat, "transmat", ndim=2)
        if self.transmat.shape != (K, K):
            raise ValueError(
                f"transmat must have shape (K, K) = ({K}, {K}) to match startprob (K = {K}), "
                f"got {self.transmat.shape}"
            )
        self.emissionprob = as_float_array(emissionprob, "emissionprob", ndim=2)
        if self.emissionprob.shape[0] != K or self.emissionprob.shape[1] < 1:
            raise ValueError(
                f"emissionprob must have shape (K, M) = ({K}, M) with M >= 1 to match startprob "
                f"(K = {K}), got {self.emissionprob.shape}"
            )
        self.validate()
        self.log_likelihoods_: list[float] = []

    # -- construction and checks -----------------------------------------------------------
    @classmethod
    def random(
        cls, n_states: int, n_symbols: int, rng: np.random.Generator, concentration: float = 1.0
    ) -> "HMM":
        """A model with every row drawn from a symmetric Dirichlet(``concentration``)."""
        return cls(
            rng.dirichlet(np.full(n_states, concentration)),
            rng.dirichlet(np.full(n_states, concentration), size=n_states),
            rng.dirichlet(np.full(n_symbols, concentration), size=n_states),
        )

    def validate(self) -> None:
        """Raise ``ValueError`` unless every table is a valid probability table."""
        check_probabilities(self.startprob, "startprob")
        check_probabilities(self.transmat, "transmat (each row, the state we come from)", axis=1)
        check_probabilities(self.emissionprob, "emissionprob (each row, one state)", axis=1)

    @property
    def n_states(self) -> int:
        """K, the number of hidden states."""
        return len(self.startprob)

    @property
    def n_symbols(self) -> int:
        """M, the number of observation symbols."""
        return self.emissionprob.shape[1]

    def copy(self) -> "HMM":
        return HMM(self.startprob, self.transmat, self.emissionprob)

    def _obs(self, obs: object, name: str = "obs") -> np.ndarray:
        arr = np.asarray(obs)
        if arr.ndim != 1 or arr.size == 0:
            raise ValueError(f"{name} must be a non-empty 1-D sequence of symbols, got shape {arr.shape}")
        if not np.issubdtype(arr.dtype, np.integer):
            if not (np.issubdtype(arr.dtype, np.floating) and np.all(arr == np.round(arr))):
                raise ValueError(f"{name} must hold integer symbols, got dtype {arr.dtype}")
        lo, hi = arr.min(), arr.max()
        if lo < 0 or hi >= self.n_symbols:
            raise ValueError(
                f"{name} must hold symbols in [0, M) = [0, {self.n_symbols}), got values from "
                f"{lo} to {hi}"
            )
        return arr.astype(np.intp)

    # -- generation --------------------------------------------------------------------------
    def sample(self, T: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """Draw ``(states, obs)``, two int arrays of shape (T,)."""
        if int(T) != T or T < 1:
            raise ValueError(f"T must be a positive integer, got {T!r}")
        T = int(T)
        K, M = self.n_states, self.n_symbols
        cum_a = np.cumsum(self.transmat, axis=1)
        cum_b = np.cumsum(self.emissionprob, axis=1)
        u = rng.random((T, 2))
        states = np.empty(T, dtype=np.intp)
        states[0] = rng.choice(K, p=self.startprob)
        for t in range(1, T):
            row = cum_a[states[t - 1]]
            states[t] = np.searchsorted(row, u[t, 0] * row[-1], side="right")
        np.minimum(states, K - 1, out=states)
        # emissions are independent given the states: draw them all at once
        rows = cum_b[states]
        obs = (rows <= (u[:, 1] * rows[:, -1])[:, None]).sum(axis=1)   # first index with cum > u
        return states, np.minimum(obs, M - 1).astype(np.intp)

    def joint_log_prob(self, states: object, obs: object) -> float:
        """log P(h, x) of one state path and observation sequence (both (T,))."""
        x = self._obs(obs)
        h = np.asarray(states, dtype=np.intp)
        if h.shape != x.shape or h.min() < 0 or h.max() >= self.n_states:
            raise ValueError(f"states must be {x.shape} ints in [0, {self.n_states}), got {h!r}")
        probs = np.concatenate([[self.startprob[h[0]]], self.transmat[h[:-1], h[1:]],
                                self.emissionprob[h, x]])
        return float(_log(probs).sum())

    # -- inference ---------------------------------------------------------------------------
    def forward(self, obs: object) -> tuple[np.ndarray, np.ndarray]:
        """Scaled forward pass.

        Returns ``alpha_hat`` (T, K), with ``alpha_hat[t, i] = P(h_t = i | x_1..x_t)``,
        and ``log_c`` (T,), with ``log_c[t] = log P(x_t | x_1..x_{t-1})``.
        ``log_c.sum()`` is the log-likelihood. For an impossible sequence the
        rows from the first impossible step on are zero and ``log_c`` is -inf there.
        """
        x = self._obs(obs)
        alpha, log_c = self._forward(self.emissionprob.T[x][:, None, :])
        return alpha[:, 0], log_c[:, 0]

    def _forward(self, E: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Forward recursion for N sequences of equal length at once.

        E (T, N, K) holds the emission likelihoods B[:, x_t] of each sequence.
        Returns alpha_hat (T, N, K) and log_c (T, N).
        """
        T, N, K = E.shape
        A, dot = self.transmat, np.dot
        alpha = np.empty((T, N, K))
        c = np.empty((T, N))
        a = self.startprob * E[0]
        for t in range(T):
            if t:
                a = dot(a, A)
                a *= E[t]
            s = a.sum(axis=1)
            c[t] = s
            a /= np.where(s > 0, s, 1.0)[:, None]
            alpha[t] = a
        return alpha, _log(c)

    def _backward(self, E: np.ndarray, log_c: np.ndarray) -> np.ndarray:
        """Scaled backward pass, beta_hat (T, N, K) = beta / P(x_{t+1..T} | x_1..x_t).

        Only for possible sequences (every ``c_t > 0``).
        """
        T, N, K = E.shape
        AT = self.transmat.T
        c = np.exp(log_c)
        beta = np.empty((T, N, K))
        b = np.ones((N, K))
        beta[T - 1] = b
        for t in range(T - 2, -1, -1):
            b = np.dot(E[t + 1] * b, AT)
            b /= c[t + 1][:, None]
            beta[t] = b
        return beta

    def log_likelihood(self, obs: object) -> float:
        """log P(x_1..x_T), a float (``-inf`` if the sequence is impossible)."""
        x = self._obs(obs)
        E = self.emissionprob.T[x]
        A, dot = self.transmat, np.dot
        c = np.empty(len(x))
        a = self.startprob * E[0]
        for t in range(len(x)):
            if t:
                a = dot(a, A)
                a *= E[t]
            s = a.sum()
            if s <= 0:
                return -np.inf
            c[t] = s
            a /= s
        return float(np.log(c).sum())

    def _forward_backward(
        self, X: np.ndarray, names: list[str]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Posterior quantities of N possible sequences of equal length, X (N, T).

        Returns E (T, N, K), alpha_hat, beta_hat (T, N, K) and log_c (T, N).
        """
        E = self.emissionprob.T[X.T]                  # (T, N, K)
        alpha, log_c = self._forward(E)
        bad = np.isinf(log_c).any(axis=0)
        if bad.any():
            raise ValueError(
                f"{names[int(np.argmax(bad))]} has probability zero under this model (impossible "
                "transition or emission), so its posteriors are undefined"
            )
        return E, alpha, self._backward(E, log_c), log_c

    def posteriors(self, obs: object) -> np.ndarray:
        """State posteriors ``gamma`` (T, K): ``gamma[t, i] = P(h_t = i | x_1..x_T)``.

        Raises ``ValueError`` if the sequence is impossible under the model.
        """
        x = self._obs(obs)
        _, alpha, beta, _ = self._forward_backward(x[None, :], ["obs"])
        gamma = alpha[:, 0] * beta[:, 0]
        return gamma / gamma.sum(axis=1, keepdims=True)

    def viterbi(self, obs: object) -> tuple[np.ndarray, float]:
        """Most probable state path and its joint log-probability.

        Returns ``(path, log_prob)``: ``path`` int (T,) maximises P(h, x), and
        ``log_prob = max_h log P(h, x)``. For an impossible sequence
        ``log_prob`` is ``-inf`` and the path is meaningless.
        """
        x = self._obs(obs)
        return viterbi_path(_log(self.startprob), _log(self.transmat), _log(self.emissionprob).T[x])

    # -- learning ----------------------------------------------------------------------------
    def _expected_counts(
        self, sequences: Sequence[np.ndarray]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """E-step: expected start, transition and emission counts, and the log-likelihood.

        Sequences of equal length are processed together, as one batch.
        """
        K, M = self.n_states, self.n_symbols
        start, trans, emit = np.zeros(K), np.zeros((K, K)), np.zeros((K, M))
        total = 0.0
        by_length: dict[int, list[int]] = {}
        for i, x in enumerate(sequences):
            by_length.setdefault(len(x), []).append(i)
        for T, idx in by_length.items():
            X = np.stack([sequences[i] for i in idx])            # (N, T)
            E, alpha, beta, log_c = self._forward_backward(X, [f"sequence {i}" for i in idx])
            gamma = alpha * beta
            gamma /= gamma.sum(axis=2, keepdims=True)
            start += gamma[0].sum(axis=0)
            if T > 1:
                # xi[t, n, i, j] = alpha_hat[t, n, i] A[i, j] E[t+1, n, j] beta_hat[t+1, n, j] / c[t+1, n]
                weighted = E[1:] * beta[1:] / np.exp(log_c[1:])[:, :, None]
                trans += self.transmat * (alpha[:-1].reshape(-1, K).T @ weighted.reshape(-1, K))
            onehot = np.eye(M)[X.T.reshape(-1)]                 # (T * N, M)
            emit += gamma.reshape(-1, K).T @ onehot
            total += float(log_c.sum())
        return start, trans, emit, total

    def fit(self, sequences: Sequence[object], n_iter: int = 100, tol: float = 1e-6) -> "HMM":
        """Baum-Welch (EM) on a list of observation sequences.

        Each iteration computes the expected counts under the current tables
        (E-step) and replaces the tables by the normalised counts (M-step);
        a state never visited keeps its old row. Stops after ``n_iter``
        iterations or when the log-likelihood improves by less than ``tol``.
        Updates ``startprob``, ``transmat`` and ``emissionprob`` in place and
        returns the model; ``log_likelihoods_`` gets the total log-likelihood
        of the sequences under the parameters at the start of each iteration
        (it never decreases).
        """
        if isinstance(sequences, np.ndarray) and sequences.ndim == 1:
            raise ValueError("sequences must be a list of 1-D observation sequences, got one 1-D array; "
                             "wrap it in a list: fit([obs])")
        xs = [self._obs(s, f"sequence {i}") for i, s in enumerate(sequences)]
        if not xs:
            raise ValueError("sequences must contain at least one sequence, got none")
        if n_iter < 1:
            raise ValueError(f"n_iter must be >= 1, got {n_iter}")
        self.log_likelihoods_ = []
        for _ in range(n_iter):
            start, trans, emit, total = self._expected_counts(xs)
            self.log_likelihoods_.append(total)
            self.startprob = start / start.sum()
            self.transmat = _normalise_rows(trans, self.transmat)
            self.emissionprob = _normalise_rows(emit, self.emissionprob)
            if len(self.log_likelihoods_) > 1 and total - self.log_likelihoods_[-2] < tol:
                break
        return self


def _normalise_rows(counts: np.ndarray, old: np.ndarray) -> np.ndarray:
    """Rows of ``counts`` divided by their sums; rows with no counts keep ``old``."""
    totals = counts.sum(axis=1, keepdims=True)
    return np.divide(counts, totals, out=old.copy(), where=totals > 0)
