"""seqcourse.training: the small training loop, early stopping and to_device."""

from __future__ import annotations

from collections import namedtuple

import pytest
import torch

from seqcourse.training import History, fit, to_device


def _mse(model, batch):
    x, y = batch
    return ((model(x) - y) ** 2).mean()


def _regression_batches(w_true, n_batches, seed):
    g = torch.Generator().manual_seed(seed)
    out = []
    for _ in range(n_batches):
        x = torch.randn(16, 3, generator=g)
        out.append((x, x @ w_true + 0.01 * torch.randn(16, 1, generator=g)))
    return out


def test_fit_reduces_loss_on_linear_regression():
    torch.manual_seed(0)
    w_true = torch.tensor([[1.0], [-2.0], [0.5]])
    train = _regression_batches(w_true, 5, seed=1)
    valid = _regression_batches(w_true, 2, seed=2)
    model = torch.nn.Linear(3, 1)
    hist = fit(model, _mse, train, epochs=60, lr=0.05, valid_batches=valid, progress=False)
    assert isinstance(hist, History)
    assert len(hist) == len(hist.train) == len(hist.valid) == 60
    assert hist.train[-1] < 0.01 * hist.train[0]
    assert hist.valid[-1] < 0.01 * hist.valid[0]
    torch.testing.assert_close(model.weight.detach(), w_true.T, atol=0.02, rtol=0)
    assert hist.best_epoch is not None and 0 <= hist.best_epoch < 60
    assert hist.valid[hist.best_epoch] == pytest.approx(min(hist.valid), rel=1e-12)


def test_history_without_validation():
    model = torch.nn.Linear(3, 1)
    train = _regression_batches(torch.ones(3, 1), 2, seed=3)
    hist = fit(model, _mse, train, epochs=4, progress=False)
    assert len(hist) == 4 and hist.valid == [] and hist.best_epoch is None


def test_custom_optimizer_and_clipping_are_used():
    model = torch.nn.Linear(3, 1, bias=False)
    with torch.no_grad():
        model.weight.zero_()
    train = [(torch.eye(3), 1000.0 * torch.ones(3, 1))]
    opt = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, _mse, train, epochs=1, optimizer=opt, clip_grad_norm=1.0, progress=False)
    # one SGD step with the gradient clipped to norm 1 moves the weights by exactly 0.1
    assert float(model.weight.detach().norm()) == pytest.approx(0.1, rel=1e-5)


class _Scalar(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(()))

    def forward(self, target):
        return (self.w - target) ** 2


def test_early_stopping_restores_best_weights():
    # training pulls w from 0 towards 3; validation wants w = 1, so its loss falls, then rises
    model = _Scalar()
    train = [torch.tensor(3.0)]
    valid = [torch.tensor(1.0)]
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    seen = []

    def loss_fn(m, target):
        if not m.training:
            seen.append(float(m.w.detach()))
        return m(target)

    hist = fit(model, loss_fn, train, epochs=200, optimizer=opt, valid_batches=valid,
               patience=4, progress=False)
    best = hist.best_epoch
    assert best is not None
    assert hist.valid[best] == pytest.approx(min(hist.valid), rel=1e-12)
    # by hand: SGD on (w - 3)^2 with lr 0.05 gives w_e = 3 (1 - 0.9^(e + 1)) after epoch e,
    # closest to 1 at e = 3 (w = 1.0317)
    for e, w in enumerate(seen):
        assert w == pytest.approx(3 * (1 - 0.9 ** (e + 1)), rel=1e-5)
    assert best == 3  # the validation loss went down for a while ...
    assert hist.valid[-1] > hist.valid[best] + 1e-3  # ... and then up
    assert len(hist) == best + 4 + 1 < 200  # stopped after `patience` bad epochs
    assert len(hist.valid) == len(hist.train)
    # the restored weights are those of the best epoch, not of the last one
    assert float(model.w.detach()) == pytest.approx(seen[best], rel=1e-12)
    assert abs(float(model.w.detach()) - seen[-1]) > 1e-3
    assert float(model(torch.tensor(1.0)).detach()) == pytest.approx(hist.valid[best], rel=1e-9)


def test_errors():
    model = torch.nn.Linear(3, 1)
    train = _regression_batches(torch.ones(3, 1), 1, seed=4)
    with pytest.raises(ValueError, match="epochs must be >= 1, got 0"):
        fit(model, _mse, train, epochs=0, progress=False)
    with pytest.raises(ValueError, match=r"early stopping \(patience\) needs valid_batches"):
        fit(model, _mse, train, epochs=3, patience=2, progress=False)
    with pytest.raises(ValueError, match="train_batches yielded no batch"):
        fit(model, _mse, [], epochs=2, progress=False)
    with pytest.raises(ValueError, match="validation data yielded no batch"):
        fit(model, _mse, train, epochs=2, valid_batches=[], progress=False)


def test_to_device_nested():
    Batch = namedtuple("Batch", ["x", "y"])
    meta = torch.device("meta")
    batch = {
        "a": torch.ones(2, 3),
        "b": [torch.zeros(4), (torch.arange(5), "label", 7)],
        "c": Batch(torch.ones(3, 2), torch.ones(1)),
        "d": None,
    }
    out = to_device(batch, meta)
    assert set(out) == {"a", "b", "c", "d"}
    assert out["a"].device == meta and out["a"].shape == (2, 3)
    assert isinstance(out["b"], list) and isinstance(out["b"][1], tuple)
    assert out["b"][0].device == meta and out["b"][1][0].device == meta
    assert out["b"][1][0].dtype == torch.int64
    assert out["b"][1][1] == "label" and out["b"][1][2] == 7
    assert isinstance(out["c"], Batch) and out["c"].x.device == meta and out["c"].x.shape == (3, 2)
    assert out["d"] is None
    # the input is untouched
    assert batch["a"].device.type == "cpu"


def test_fit_with_namedtuple_batches():
    Batch = namedtuple("Batch", ["x", "y"])
    w_true = torch.tensor([[0.5], [1.0], [-1.0]])
    train = [Batch(*b) for b in _regression_batches(w_true, 3, seed=5)]
    hist = fit(torch.nn.Linear(3, 1), lambda m, b: ((m(b.x) - b.y) ** 2).mean(), train,
               epochs=5, progress=False)
    assert hist.train[-1] < hist.train[0]
