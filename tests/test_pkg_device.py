"""seqcourse.device() and seqcourse.seed_everything()."""

from __future__ import annotations

import random

import numpy as np
import pytest
import torch

import seqcourse


def test_env_cpu(monkeypatch):
    monkeypatch.setenv("SEQCOURSE_DEVICE", "cpu")
    assert seqcourse.device() == torch.device("cpu")
    monkeypatch.setenv("SEQCOURSE_DEVICE", "  cpu  ")
    assert seqcourse.device() == torch.device("cpu")


def test_unset_follows_cuda_availability(monkeypatch):
    monkeypatch.delenv("SEQCOURSE_DEVICE", raising=False)
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    assert seqcourse.device().type == expected
    monkeypatch.setenv("SEQCOURSE_DEVICE", "")
    assert seqcourse.device().type == expected


def test_unset_with_and_without_gpu(monkeypatch):
    monkeypatch.delenv("SEQCOURSE_DEVICE", raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert seqcourse.device().type == "cpu"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert seqcourse.device().type == "cuda"


def test_cuda_requested_without_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    for value in ("cuda", "cuda:1"):
        monkeypatch.setenv("SEQCOURSE_DEVICE", value)
        with pytest.raises(ValueError) as info:
            seqcourse.device()
        assert repr(value) in str(info.value) and "no GPU" in str(info.value)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_cuda_requested_with_gpu(monkeypatch):
    monkeypatch.setenv("SEQCOURSE_DEVICE", "cuda:0")
    assert seqcourse.device() == torch.device("cuda:0")


@pytest.mark.parametrize("value", ["nonsense", "gpu", "cuda:x"])
def test_nonsense_raises(monkeypatch, value):
    monkeypatch.setenv("SEQCOURSE_DEVICE", value)
    with pytest.raises(ValueError) as info:
        seqcourse.device()
    assert repr(value) in str(info.value) and "SEQCOURSE_DEVICE" in str(info.value)


def test_seed_everything_repeats():
    def draw(seed):
        rng = seqcourse.seed_everything(seed)
        return (rng.random(3).tolist(), np.random.random(2).tolist(), random.random(),
                torch.rand(4).tolist())

    a, b, c = draw(11), draw(11), draw(12)
    assert a == b
    for x, y in zip(a, c):
        assert x != y
    assert isinstance(seqcourse.seed_everything(np.int64(3)), np.random.Generator)


@pytest.mark.parametrize("bad", [-1, 1.5, "3", None])
def test_seed_everything_rejects_bad_seed(bad):
    with pytest.raises(ValueError, match=r"seed must be a non-negative integer, got"):
        seqcourse.seed_everything(bad)
