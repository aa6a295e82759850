"""seqcourse.charlm: the offline corpus, the vocabulary, the model's shapes and training,
and the sampler's temperature, checked against independent computations."""

from __future__ import annotations

import math
import sysconfig
from pathlib import Path

import numpy as np
import pytest
import torch

from seqcourse import charlm, rnn


pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


def test_corpus_is_deterministic_offline_text_from_the_stdlib():
    a = charlm.stdlib_corpus(50_000)
    assert a == charlm.stdlib_corpus(50_000) and len(a) == 50_000
    assert set(a) <= set(map(chr, range(32, 127))) | {"\n"}
    # it starts with the first listed module's docstring, read independently
    import textwrap
    assert a.startswith(textwrap.__doc__.strip()[:40])
    src = charlm.stdlib_corpus(20_000, kind="source")
    first = Path(sysconfig.get_paths()["stdlib"], charlm.CORPUS_MODULES[0]).read_text()
    assert src[:200] == first[:200]
    with pytest.raises(ValueError, match="kind"):
        charlm.stdlib_corpus(10, kind="poems")


def test_vocab_round_trip_and_unknown_characters():
    v = charlm.Vocab.from_text("hello")
    assert v.chars == ["e", "h", "l", "o"] and len(v) == 4
    assert v.encode("hello").tolist() == [1, 0, 2, 2, 3]
    assert v.decode(v.encode("olleh")) == "olleh"
    with pytest.raises(ValueError, match="not in the vocabulary"):
        v.encode("help")


def test_batchify_makes_contiguous_columns():
    ids = torch.arange(23)
    b = charlm.batchify(ids, 4)
    assert b.shape == (5, 4)
    assert b[:, 1].tolist() == [5, 6, 7, 8, 9]


def test_model_equals_the_numpy_rnn_with_its_weights():
    torch.manual_seed(0)
    model = charlm.CharRNN(5, 7).double()
    ids = torch.tensor([[0, 3], [4, 1], [2, 2]])
    logits, h_last = model(ids)
    assert logits.shape == (3, 2, 5) and h_last.shape == (1, 2, 7)
    params = rnn.params_from_torch(model.rnn, model.head)
    x = np.eye(5)[ids.numpy()]
    h, _ = rnn.rnn_forward(x, np.zeros((2, 7)), params)
    z = rnn.output_forward(h, params["weight_hz"], params["bias_z"])
    np.testing.assert_allclose(logits.detach().numpy(), z, rtol=1e-10, atol=1e-12)


def test_training_lowers_the_loss_below_a_uniform_guess():
    torch.manual_seed(0)
    text = "the cat sat on the mat. " * 40
    v = charlm.Vocab.from_text(text)
    ids = v.encode(text)
    model = charlm.CharRNN(len(v), 32)
    before = charlm.evaluate(model, ids, batch_size=4)
    log = charlm.train_charlm(model, ids, steps=150, seq_len=16, batch_size=4, lr=1e-2, progress=False)
    after = charlm.evaluate(model, ids, batch_size=4)
    assert before > 0.8 * math.log(len(v))
    assert after < 0.3 < before and log.train[-1] < log.train[0]
    assert all(n >= 0 for n in log.grad_norm)


def test_evaluate_equals_mean_cross_entropy_over_all_next_characters():
    torch.manual_seed(1)
    model = charlm.CharRNN(6, 5)
    ids = torch.randint(0, 6, (41,))
    got = charlm.evaluate(model, ids, seq_len=7, batch_size=1)
    logits, _ = model(ids[:-1, None])
    ref = torch.nn.functional.cross_entropy(logits[:, 0], ids[1:]).item()
    assert got == pytest.approx(ref, rel=1e-5)


def _letter_frequencies(model, v, temperature, n=400):
    g = torch.Generator().manual_seed(0)
    s = charlm.sample(model, v, "a", n, temperature=temperature, generator=g)
    return s, np.array([s.count(c) for c in v.chars]) / n


def test_temperature_sharpens_and_flattens_the_samples():
    torch.manual_seed(2)
    model = charlm.CharRNN(4, 8)
    with torch.no_grad():
        model.head.weight.zero_()
        model.head.bias.copy_(torch.tensor([2.0, 0.0, -1.0, -2.0]))   # the same distribution at every step
    v = charlm.Vocab(list("abcd"))
    greedy, _ = _letter_frequencies(model, v, 0.0, 20)
    assert greedy == "a" * 20
    _, cold = _letter_frequencies(model, v, 0.3)
    _, warm = _letter_frequencies(model, v, 1.0)
    _, hot = _letter_frequencies(model, v, 5.0)
    p1 = torch.softmax(torch.tensor([2.0, 0.0, -1.0, -2.0]), 0).numpy()
    assert abs(warm - p1).max() < 0.06                  # temperature 1 samples the model itself
    assert cold[0] > warm[0] > hot[0]
    assert hot[3] > warm[3]


def test_sample_is_reproducible_with_a_generator_and_checks_arguments():
    torch.manual_seed(3)
    model = charlm.CharRNN(4, 8)
    v = charlm.Vocab(list("abcd"))
    a = charlm.sample(model, v, "ab", 30, generator=torch.Generator().manual_seed(5))
    b = charlm.sample(model, v, "ab", 30, generator=torch.Generator().manual_seed(5))
    assert a == b and len(a) == 30 and set(a) <= set("abcd")
    with pytest.raises(ValueError, match="prime"):
        charlm.sample(model, v, "", 3)
    with pytest.raises(ValueError, match="temperature"):
        charlm.sample(model, v, "a", 3, temperature=-1)
    with pytest.raises(ValueError, match=r"\(T, B\)"):
        model(torch.tensor([1, 2]))
