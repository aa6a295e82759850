"""seqcourse.longrange: the tasks' definitions checked by brute force, the models' shapes,
and state_gradient_norms against the numpy LSTM's BPTT (seqcourse.gated)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from seqcourse import gated, longrange as lr


def test_recall_task_marks_step_zero_and_labels_it():
    x, y = lr.recall_task(7, 5, np.random.default_rng(0), n_symbols=3)
    assert x.shape == (6, 7, 4) and y.shape == (7,)
    np.testing.assert_array_equal(x[..., :3].sum(-1), 1.0)
    np.testing.assert_array_equal(x[:, :, 3], np.r_[1.0, np.zeros(5)][:, None] * np.ones(7))
    np.testing.assert_array_equal(x[0, :, :3].argmax(-1), y)


def test_adding_problem_sums_the_two_marked_values_and_baseline_mse():
    x, y = lr.adding_problem(20000, 10, np.random.default_rng(1))
    assert x.shape == (10, 20000, 2)
    np.testing.assert_array_equal(x[:, :, 1].sum(0), 2.0)
    assert np.all(x[:5, :, 1].sum(0) == 1) and np.all(x[5:, :, 1].sum(0) == 1)
    np.testing.assert_allclose(y, (x[..., 0] * x[..., 1]).sum(0))
    assert abs(np.mean((y - 1.0) ** 2) - 1 / 6) < 0.01


def test_coarticulation_tags_depend_on_the_next_symbol():
    x, y = lr.coarticulation_task(5, 6, np.random.default_rng(2), n_symbols=4)
    ids = x.argmax(-1)
    for t in range(6):
        for n in range(5):
            nxt_group = int(ids[t + 1, n] >= 2) if t < 5 else 0
            assert y[t, n] == 2 * ids[t, n] + nxt_group


@pytest.mark.parametrize("kind", ["rnn", "lstm", "gru"])
def test_models_shapes_and_training_reduces_loss(kind):
    torch.manual_seed(0)
    m = lr.Classifier(kind, 5, 8, 4).double()
    losses = lr.train(m, lambda r: lr.recall_task(16, 3, r), 60, seed=0, lr=0.03)
    assert len(losses) == 60 and np.mean(losses[-10:]) < np.mean(losses[:10])
    x, y = lr.recall_task(50, 3, np.random.default_rng(3))
    assert 0.0 <= lr.accuracy(m, x, y) <= 1.0
    tagger = lr.Tagger(kind, 4, 6, 8, bidirectional=True).double()
    xt, yt = lr.coarticulation_task(3, 7, np.random.default_rng(4))
    assert tagger(torch.tensor(xt)).shape == (7, 3, 8)
    with pytest.raises(ValueError, match="labels must have shape"):
        lr.accuracy(tagger, xt, yt[:, :2])


def test_state_gradient_norms_match_numpy_bptt():
    torch.manual_seed(1)
    m = lr.Classifier("lstm", 5, 6, 4).double()
    x, y = lr.recall_task(3, 7, np.random.default_rng(5))
    norms = lr.state_gradient_norms(m, x, y)
    # the same quantity from the numpy BPTT: total dL/dh_t is dL/dh_{t}'s carry
    p = gated.params_from_torch(m.rnn)
    h, c, cache = gated.lstm_forward(x, np.zeros((3, 6)), np.zeros((3, 6)), p)
    logits = torch.tensor(h[-1], requires_grad=True)
    torch.nn.functional.cross_entropy(m.head(logits), torch.tensor(y)).backward()
    dh = np.zeros(h.shape)
    dh[-1] = logits.grad.numpy()
    total, dc, expected = dh[-1], np.zeros((3, 6)), [np.linalg.norm(dh[-1], axis=-1).mean()]
    for t in range(len(h) - 1, 0, -1):           # walk back: what step t sends to h_{t-1}
        g = gated.lstm_step_backward(total, dc, cache["steps"][t])
        total, dc = g["h_prev"], g["c_prev"]
        expected.append(np.linalg.norm(total, axis=-1).mean())
    expected = expected[::-1]
    np.testing.assert_allclose(norms, expected, rtol=1e-8)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="lag must be a positive integer"):
        lr.recall_task(3, 0, np.random.default_rng(0))
    with pytest.raises(ValueError, match="kind must be one of"):
        lr.Classifier("transformer", 3, 4, 2)
