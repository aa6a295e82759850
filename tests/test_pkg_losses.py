"""seqcourse.losses against torch (float64) and information-theory identities."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as TF

from seqcourse.losses import cross_entropy, entropy, kl_divergence, log_softmax, softmax


@pytest.fixture
def logits():
    return np.random.default_rng(0).normal(0.0, 3.0, size=(5, 7, 3))


@pytest.mark.parametrize("axis", [0, 1, 2, -1])
def test_log_softmax_matches_torch(logits, axis):
    ref = torch.log_softmax(torch.from_numpy(logits), dim=axis).numpy()
    out = log_softmax(logits, axis=axis)
    assert out.shape == (5, 7, 3)
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(softmax(logits, axis=axis), np.exp(ref), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(softmax(logits, axis=axis).sum(axis=axis), 1.0, atol=1e-12)


def test_log_softmax_stable_for_huge_logits():
    x = np.array([[1e4, 1e4 - 1.0, -1e4, 0.0], [-1e4, -1e4, -1e4 + 2.0, -1e4 - 5.0]])
    out = log_softmax(x)
    assert np.all(np.isfinite(out))
    ref = torch.log_softmax(torch.from_numpy(x), dim=-1).numpy()
    np.testing.assert_allclose(out, ref, rtol=1e-12, atol=1e-12)
    # shift invariance by hand: [0, -1] part of the first row
    np.testing.assert_allclose(out[0, :2], [-np.log1p(np.exp(-1.0)), -1 - np.log1p(np.exp(-1.0))],
                               rtol=1e-12)
    p = softmax(x)
    assert np.all(np.isfinite(p)) and np.all(p >= 0)
    np.testing.assert_allclose(p.sum(axis=1), 1.0, atol=1e-12)


def test_cross_entropy_matches_torch_with_n_not_c():
    rng = np.random.default_rng(1)
    N, C = 9, 4
    z = rng.normal(0.0, 2.0, size=(N, C))
    y = rng.integers(0, C, size=N)
    ref = TF.cross_entropy(torch.from_numpy(z), torch.from_numpy(y)).item()
    assert cross_entropy(z, y) == pytest.approx(ref, rel=1e-12)
    # int32 targets are class indices too
    assert cross_entropy(z, y.astype(np.int32)) == pytest.approx(ref, rel=1e-12)


def test_cross_entropy_is_mean_negative_log_likelihood():
    z = np.array([[2.0, 0.0, -1.0], [0.0, 0.0, 0.0]])
    y = np.array([0, 2])
    p0 = np.exp(2.0) / (np.exp(2.0) + 1.0 + np.exp(-1.0))
    expected = -(np.log(p0) + np.log(1 / 3)) / 2
    assert cross_entropy(z, y) == pytest.approx(expected, rel=1e-12)


def test_cross_entropy_stable_for_huge_logits():
    z = np.array([[1e4, 0.0, -1e4], [0.0, 1e4, 1e4]])
    y = np.array([1, 2])
    ref = TF.cross_entropy(torch.from_numpy(z), torch.from_numpy(y)).item()
    out = cross_entropy(z, y)
    assert np.isfinite(out)
    assert out == pytest.approx(ref, rel=1e-12)
    assert out == pytest.approx((1e4 + np.log(2.0)) / 2, rel=1e-12)


def _dist(rng, size):
    p = rng.random(size) + 0.01
    return p / p.sum()


def test_cross_entropy_decomposes_into_entropy_plus_kl():
    rng = np.random.default_rng(2)
    for _ in range(20):
        p, q = _dist(rng, 6), _dist(rng, 6)
        h_pq = -(p * np.log(q)).sum()
        assert h_pq == pytest.approx(entropy(p) + kl_divergence(p, q), rel=1e-12)


def test_entropy_and_kl_against_scipy():
    from scipy.special import entr, rel_entr

    rng = np.random.default_rng(3)
    p, q = _dist(rng, 8), _dist(rng, 8)
    assert entropy(p) == pytest.approx(entr(p).sum(), rel=1e-12)
    assert kl_divergence(p, q) == pytest.approx(rel_entr(p, q).sum(), rel=1e-12)
    # torch's KL as well (kl_div takes log q as input and p as target)
    ref = TF.kl_div(torch.from_numpy(np.log(q)), torch.from_numpy(p), reduction="sum").item()
    assert kl_divergence(p, q) == pytest.approx(ref, rel=1e-12)


def test_entropy_kl_special_values():
    assert entropy(np.full(5, 0.2)) == pytest.approx(np.log(5.0), rel=1e-12)
    assert entropy([0.0, 1.0, 0.0]) == pytest.approx(0.0, abs=1e-15)  # 0 log 0 = 0
    p = np.array([0.5, 0.5, 0.0])
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-15)
    assert kl_divergence(p, [0.25, 0.25, 0.5]) == pytest.approx(np.log(2.0), rel=1e-12)
    assert np.isposinf(kl_divergence([0.5, 0.5], [1.0, 0.0]))
    # q = 0 where p = 0 is fine
    assert np.isfinite(kl_divergence([1.0, 0.0], [0.5, 0.5]))
    rng = np.random.default_rng(4)
    for _ in range(10):
        assert kl_divergence(_dist(rng, 4), _dist(rng, 4)) > 0


def test_errors():
    z = np.zeros((4, 3))
    with pytest.raises(ValueError, match=r"logits must have shape \(N, C\), got \(12,\)"):
        cross_entropy(np.zeros(12), np.zeros(12, dtype=int))
    with pytest.raises(ValueError, match=r"targets must have shape \(N,\) = \(4,\).*got \(3,\)"):
        cross_entropy(z, np.zeros(3, dtype=int))
    with pytest.raises(ValueError, match=r"targets must have shape.*got \(4, 1\)"):
        cross_entropy(z, np.zeros((4, 1), dtype=int))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 2\], got values in \[0, 3\]"):
        cross_entropy(z, np.array([0, 1, 2, 3]))
    with pytest.raises(ValueError, match=r"got values in \[-1, 1\]"):
        cross_entropy(z, np.array([0, 1, -1, 0]))
    with pytest.raises(ValueError, match="integer class indices, got dtype float64"):
        cross_entropy(z, np.array([0.0, 1.0, 2.0, 0.0]))
    with pytest.raises(ValueError, match=r"same shape, got \(3,\) and \(4,\)"):
        kl_divergence(np.full(3, 1 / 3), np.full(4, 0.25))
