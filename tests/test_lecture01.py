"""Lecture 01: the outcomes the lecture states, read from what the lecture printed.

The notebook is executed once per test run and flavour (``tests/notebook_runs.py``): "native",
and "portable" (torch's generic kernels, MKL limited to SSE4.2, as on another processor). Each
claims test reads the numbers the lecture printed under both, checks them against the digits its
text quotes (and that the text quotes them), and checks the qualitative claim behind each number.
Nothing is retrained here. The second half tests, in-process and fast, the package functions the
lecture builds on (`linpred`, `kalman`, `ngram`, `textclass`, `data`, `ffn`).
"""

from __future__ import annotations

import itertools
import re

import numpy as np
import pytest
import torch

from notebook_runs import FLAVOURS, cell_text, executed, number, markdown, probe_text, stated
from seqcourse import ffn
from seqcourse.data import sine_mixture, surf_corpus, surf_is_grammatical, surf_rides
from seqcourse.kalman import kalman_update
from seqcourse.linpred import (fit_ar, interpolation_matrix, lag_matrix, multistep_rmse,
                               normal_equations)
from seqcourse.ngram import NGramLM
from seqcourse.textclass import train_and_evaluate, train_fasttext

PATH = "lectures/01_sequences.ipynb"

pytestmark = pytest.mark.usefixtures("one_torch_thread")  # see conftest.py


@pytest.fixture(scope="module", params=FLAVOURS)
def lecture(request):
    return executed(PATH, request.param)


@pytest.fixture(scope="module")
def text() -> str:
    """The lecture's markdown, whitespace-normalised: where the numbers are stated."""
    return markdown(PATH)


def numbers(out: str, pattern: str) -> list[str]:
    """Every match of ``pattern`` (one group per number) in ``out``, as the printed strings."""
    found = re.findall(pattern, out)
    assert found, f"no line matching {pattern!r} in:\n{out}"
    return [g for m in found for g in (m if isinstance(m, tuple) else (m,))]



def rmse(a, b) -> float:
    return float(np.sqrt(np.mean((np.asarray(a) - np.asarray(b)) ** 2)))


# -- section 3: the four views -----------------------------------------------------------------
def test_hysteresis_switches_less_than_a_single_threshold(lecture, text):
    out = cell_text(lecture, "def hysteresis(")
    assert numbers(out, r"single threshold (\d+), hysteresis (\d+); the clean signal changes sign (\d+)") == [
        "42", "24", "24"]
    stated(text, "single threshold at 0 switches 42 times, the hysteresis only 24 times",
           "changes sign (24;")


# -- section 4: the Kalman filter ----------------------------------------------------------------
def test_kalman_beats_the_sensor_with_honest_bands(lecture, text):
    out = cell_text(lecture, "rmse_meas, rmse_filt = ")
    meas, filt, lower = numbers(out, r"measurements ([\d.]+), Kalman filter ([\d.]+) \(([\d.]+)% lower\)")
    coverage = number(out, r"band: ([\d.]+)%")
    vel = number(out, r"velocity RMSE ([\d.]+)")
    assert (meas, filt, lower, coverage, vel) == ("2.019", "1.200", "40.6", 96.8, 0.447)
    assert float(filt) < float(meas) and 90 <= coverage <= 99
    stated(text, "RMSE of 2.019 per coordinate", "by 1.200, 40.6% lower", "96.8% of the true",
           "RMSE of 0.447", "from 2.019 to 1.200 with 96.8%")


def test_kalman_with_wrong_noise_levels(lecture, text):
    out = cell_text(lecture, "def filter_with(")
    rows = {(float(q), float(r)): (float(e), float(c)) for q, r, e, c in
            re.findall(r"^\s*([\d.]+)\s+([\d.]+)\s+([\d.]+)\s+([\d.]+)%$", out, re.M)}
    assert len(rows) == 5
    assert min(rows, key=lambda k: rows[k][0]) == (0.05, 2.0)
    assert rows[0.0005, 2.0] == (2.759, 33.5) and rows[0.05, 0.2] == (1.725, 15.5)
    assert rows[0.05, 20.0] == (2.845, 100.0) and rows[0.05, 2.0] == (1.2, 96.8)
    assert rows[5.0, 2.0] == (1.71, 95.2)
    stated(text, "error grows to 1.710 while the coverage stays nominal (95.2%)")
    stated(text, "collapses to 33.5%", "grows to 2.759", "RMSE 1.725", "coverage 15.5%", "(RMSE 2.845)",
           "covers 100.0% of the truth")


# -- section 5: tagging needs context --------------------------------------------------------------
def test_who_plays_first_needs_context(lecture, text):
    out = cell_text(lecture, "lines, tags = who_plays_first()")
    assert number(out, r"sees only the word: ([\d.]+)%") == 95.4
    assert "determines the label: True" in out
    stated(text, "the best it can do on this dialogue is 95.4%")


# -- section 6: linear prediction ---------------------------------------------------------------------
def test_one_step_versus_recursive_forecast_errors(lecture, text):
    out = cell_text(lecture, "lead_rmse[p] = multistep_rmse(")
    lead = {int(p): (float(a), float(b), float(c)) for p, a, b, c in
            re.findall(r"AR\(\s*(\d+)\): one-step RMSE ([\d.]+), 10 steps ([\d.]+), 50 steps ([\d.]+)", out)}
    assert {p: (v[0], v[2]) for p, v in lead.items()} == {4: (0.226, 0.801), 8: (0.192, 0.695),
                                                          16: (0.110, 0.115)}
    assert lead[4][2] > 3 * lead[4][0] and lead[16][2] < 1.5 * lead[16][0]
    stated(text, "noise level of 0.1 (0.110)", "noise (0.226)", "(RMSE 0.801", "(0.695)", "still at 0.115")


def test_interpolation_beats_extrapolation(lecture, text):
    out = cell_text(lecture, "X_two, y_two = interpolation_matrix(")
    extrap, interp = numbers(out, r"extrapolation RMSE ([\d.]+), interpolation RMSE ([\d.]+)")
    fwd, both = numbers(out, r"forward only RMSE ([\d.]+), both ends ([\d.]+)")
    assert (extrap, interp, fwd, both) == ("0.224", "0.125", "0.587", "0.489")
    assert float(interp) < 0.75 * float(extrap) and float(both) < float(fwd)
    stated(text, "error is 0.125 against 0.224", "gives 0.489 instead of 0.587")


def test_interpolation_matrix_layout():
    X, y = interpolation_matrix(np.arange(10.0), 2)
    assert X.shape == (6, 4) and y.tolist() == [2, 3, 4, 5, 6, 7]
    assert X[0].tolist() == [1, 0, 3, 4]          # before (most recent first), after (nearest first)
    with pytest.raises(ValueError, match=r"need more than 2p = 10 samples.*got 10"):
        interpolation_matrix(np.arange(10.0), 5)


# -- sections 6 and 8: the surf language ---------------------------------------------------------------
def test_surfer_needs_a_four_gram(lecture, text):
    out = cell_text(lecture, "ride_mass = {}")
    mass = [float(v) for v in numbers(out, r"mass on the right objects ([\d.]+)")]
    assert mass == [0.050, 0.200, 0.997]
    assert mass[0] < 0.1 and 0.15 < mass[1] < 0.25 and mass[2] > 0.99
    stated(text, "only 0.050 of its probability", "0.200, the share of 2", "puts 0.997 on the right")


def test_n_and_k_are_chosen_on_dev_and_test_is_reported_once(lecture, text):
    out = cell_text(lecture, "def true_logprob(")
    floor = number(out, r"the true generator's is ([\d.]+)")
    table = {int(r[0]): [float(v) for v in r[1:]] for r in
             re.findall(r"^\s*(\d)" + r"\s+([\d.]+)" * 5 + r"$", out, re.M)}
    ks = (0.001, 0.01, 0.1, 1.0, 10.0)
    pp = {(n, k): row[j] for n, row in table.items() for j, k in enumerate(ks)}
    assert "development-set perplexity" in out and floor == 2.024 and sorted(table) == list(range(1, 9))
    assert (pp[1, 0.01], pp[2, 0.01], pp[4, 0.01], pp[8, 0.01]) == (21.406, 3.375, 2.111, 2.051)
    assert (pp[2, 10.0], pp[8, 10.0]) == (5.239, 7.827)
    assert floor <= pp[8, 0.01] < pp[4, 0.01] < pp[2, 0.01] < pp[1, 0.01] and pp[8, 10.0] > pp[2, 10.0]
    assert all(pp[n, 0.01] >= floor for n in table) and min(pp.values()) < 1.01 * floor
    n_best, k_best, test_pp, floor_test = numbers(
        out, r"chosen on dev: n = (\d+), k = ([\d.]+); test perplexity, reported once: ([\d.]+) "
             r"\(true generator on test: ([\d.]+)\)")
    assert (int(n_best), float(k_best)) == min(pp, key=pp.get) == (8, 0.001)   # the dev table's minimum
    assert (test_pp, floor_test) == ("2.037", "2.020") and float(test_pp) >= float(floor_test)
    # the table is computed on the development set; the test set appears once, for the chosen model
    source = [c.source for c in lecture.cells if "def true_logprob(" in c.source][0]
    assert "perplexity(surf_dev)" in source and source.count("surf_test") == 2
    stated(text, "21.406 for the unigram model, 3.375 for the bigram, 2.111 for the 4-gram and 2.051",
           "true generator's 2.024", "the 8-gram (7.827) is worse than the bigram (5.239)",
           "chooses $n = 8$ and $k = 0.001$", "that model has perplexity 2.037, against 2.020",
           "the best add-$k$ model above comes within 1% of the true generator")


def test_generated_sentences_become_grammatical_with_n(lecture, text):
    out = cell_text(lecture, "grammatical = {}")
    frac = {int(n): float(v) for n, v in re.findall(r"(\d): ([\d.]+)", out.splitlines()[-1])}
    assert {n: frac[n] for n in (2, 3, 5, 8)} == {2: 0.115, 3: 0.415, 5: 0.87, 8: 0.995}
    assert frac[2] < 0.2 < frac[3] < frac[5] and frac[8] > 0.9
    stated(text, "only 0.115 of the time, the trigram 0.415, the 5-gram 0.87 and the 8-gram 0.995")


def test_agreement_is_right_exactly_within_the_window(lecture, text):
    out = cell_text(lecture, "probes = agreement_probes()")
    gaps = [int(g) for g in re.search(r"^\s+n((?:\s+\d+)+)\s+overall", out, re.M).group(1).split()]
    assert gaps == [0, 3, 4, 6]
    overall = {}
    for row in re.findall(r"^\s*(\d)((?:\s+[\d.]+){5})$", out, re.M):
        n, vals = int(row[0]), [float(v) for v in row[1].split()]
        assert vals[:4] == [1.0 if n >= g + 2 else 0.5 for g in gaps], n
        overall[n] = vals[4]
    assert overall == {2: 0.625, 3: 0.625, 4: 0.625, 5: 0.75, 6: 0.875, 7: 0.875, 8: 1.0}
    stated(text, "the accuracy is 0.625 for $n = 2$ to 4, 0.750 for $n = 5$, 0.875 for $n = 6$ and 7",
           "8-gram reaches 1.000")


def test_unseen_ngrams_under_zipf(lecture, text):
    out = cell_text(lecture, "def ngram_codes(")
    last = [line for line in out.splitlines() if line.startswith("300,000")][0]
    unseen = [float(v) for v in re.findall(r"([\d.]+)%", last)]
    assert unseen == [4.3, 46.7, 83.4]
    stated(text, "4.3% of the test words are still new", "46.7% of the test bigrams and 83.4% of the trigrams")


# -- section 8: smoothing with shorter contexts (float64 counting: the same digits everywhere) ------------------
def test_harbour_corpus_split(lecture, text):
    out = cell_text(lecture, "def harbour_corpus(")
    assert "4000 training, 500 development and 500 test sentences" in out
    assert numbers(out, r"(\d+) different words in training; (\d+) of them occur once") == ["1694", "756"]
    stated(text, "80/10/10", "(`split_corpus`)")


def test_perplexity_falls_as_the_vocabulary_shrinks(lecture, text):
    out = cell_text(lecture, "for min_count in (1, 2, 3, 5, 20, 10 ** 9):")
    rows = [(int(m), int(v), float(o), float(p)) for m, v, o, p in
            re.findall(r"^\s*(\d+)\s+(\d+)\s+([\d.]+)%\s+([\d.]+)$", out, re.M)]
    assert [r[0] for r in rows] == [1, 2, 3, 5, 20, 10 ** 9]
    assert rows[0][1:] == (1696, 3.0, 14.392) and rows[1][1:] == (940, 5.6, 9.319)
    assert rows[4][1:] == (143, 17.5, 4.449) and rows[5][1:] == (2, 100.0, 1.421)
    assert all(a[1] > b[1] and a[2] < b[2] and a[3] > b[3] for a, b in zip(rows, rows[1:]))
    stated(text, "shrinks from 1696 to 143 words", "from 3.0% to 17.5%", "from 14.392 to 4.449",
           "reaches 1.421", "(940 words, 5.6% OOV on the development set)")


def test_interpolation_weights_are_fitted_by_em_on_dev(lecture, text):
    out = cell_text(lecture, "interp = InterpolatedLM(3).fit(tr)")
    lam = [float(x) for x in re.search(r"lambdas chosen on dev \(orders 0..3\): \[([^\]]+)\]", out).group(1).split()]
    assert lam == [0.027, 0.059, 0.387, 0.527]
    assert number(out, r"on dev .*dev perplexity ([\d.]+)") == 12.836
    em, grid = (float(v) for v in numbers(out, r"EM (-[\d.]+), best of \d+ grid points (-[\d.]+)"))
    assert em >= grid
    on_train = [float(x) for x in re.search(r"chosen on train: \[([^\]]+)\]", out).group(1).split()]
    assert on_train[3] > 0.9 and number(out, r"on train: .*dev perplexity ([\d.]+)") > 1000
    stated(text, "0.027, 0.059, 0.387 and 0.527", "development perplexity of 12.836", "explodes above 1000")


def test_held_out_counts_shrink_by_a_discount(lecture, text):
    out = cell_text(lecture, "half_a, half_b = ")
    means = [float(v) for v in re.findall(r"\d -> ([\d.]+)", out)]
    assert means == [0.43, 1.25, 2.40, 3.12, 3.99]
    assert all(0.5 < c - m < 1.05 for c, m in zip(range(1, 6), means))
    stated(text, "occur 0.43 times on average", "1.25, 2.40, 3.12 and 3.99 times", "between 0.57 and 1.01")


def test_kneser_ney_hand_example_and_exhaustive_sums(lecture, text):
    out = cell_text(lecture, "kn_tiny = KneserNeyLM(2, 0.5).fit(tiny)")
    found = dict(((w, c), frac) for w, c, frac, _, _ in re.findall(
        r"P_KN\((\w+) \| (\w+)\) = (\d+/\d+) = ([\d.]+); package ([\d.]+)", out))
    assert found == {("boat", "red"): "559/704", ("zealand", "red"): "15/704", ("boat", "zebra"): "31/176"}
    assert all(a == b for *_, a, b in re.findall(r"P_KN\((\w+) \| (\w+)\) = (\d+/\d+) = ([\d.]+); package ([\d.]+)", out))
    assert "continuation counts: {'zealand': 1, 'boat': 2, 'new': 2}" in out
    stated(text, "\\frac{559}{704}", "\\frac{15}{704}", "\\frac{31}{176}", "\\frac{7.5}{88}")
    assert "2340 distributions (4 models, n = 1..4, every context) each sum to 1" in cell_text(
        lecture, "for ctx in itertools.product(symbols, repeat=n - 1):")


def test_continuation_counts_demote_zealand(lecture, text):
    out = cell_text(lecture, "first_kind = [s for s in tr")
    z, z_left, noun, noun_count, noun_left = numbers(
        out, r"'zealand': (\d+) occurrences, after (\d+) different word\(s\); '(\w+)': (\d+) occurrences, "
             r"after (\d+) different words")
    assert (z, z_left, noun, noun_count, noun_left) == ("1183", "1", "vinu", "590", "73")
    probs = {name: (float(a), float(b)) for name, a, b in re.findall(
        r"(interpolation|Kneser-Ney)\s+P\(zealand \| \w+\) = (\S+), P\(vinu \| \w+\) = (\S+)", out)}
    assert probs == {"interpolation": (2.95e-03, 1.49e-03), "Kneser-Ney": (5.84e-05, 4.26e-03)}
    assert probs["interpolation"][0] > probs["interpolation"][1] and probs["Kneser-Ney"][0] < probs["Kneser-Ney"][1]
    assert "context 'ginera'" in out
    stated(text, "occurs 1183 times in training", "(590)", "against 73 different words",
           "($2.95\\times10^{-3}$ against $1.49\\times10^{-3}$)", "($4.26\\times10^{-3}$ against $5.84\\times10^{-5}$)")


def test_kneser_ney_beats_interpolation_beats_add_k(lecture, text):
    out = cell_text(lecture, "k_grid = (0.001, 0.003")
    methods = ("add-k", "interpolation", "Kneser-Ney")
    pp = {}
    for n, *vals in re.findall(r"^\s*(\d)" + r"\s+([\d.]+) \(([\d.]+)\)" * 3 + r"$", out, re.M):
        for j, m in enumerate(methods):
            pp[m, int(n)] = (float(vals[2 * j]), float(vals[2 * j + 1]))
    assert sorted({n for _, n in pp}) == [1, 2, 3, 4]
    for n in (2, 3, 4):
        for split in (0, 1):
            assert pp["Kneser-Ney", n][split] < pp["interpolation", n][split] < pp["add-k", n][split], (n, split)
    dev1 = [pp[m, 1][0] for m in methods]
    assert max(dev1) < 1.001 * min(dev1) and dev1 == [63.150, 63.149, 63.149]
    assert pp["add-k", 2][0] == 15.858 and pp["add-k", 4][0] == 44.940
    assert pp["add-k", 2][0] == min(pp["add-k", n][0] for n in range(1, 5))
    assert (pp["interpolation", 3][0], pp["interpolation", 4][0], pp["Kneser-Ney", 4]) == (12.836, 12.833, (8.947, 9.301))
    assert pp["Kneser-Ney", 4][0] < pp["Kneser-Ney", 3][0] < pp["Kneser-Ney", 2][0]
    discounts = dict(re.findall(r"n=(\d) chosen on dev:.*Kneser-Ney d=([\d.]+)", out))
    assert [discounts[n] for n in "234"] == ["0.7", "0.8", "0.9"]
    # the interpolation row for n = 3 is the model fitted by EM in the interpolation cell
    assert re.search(r"n=3 chosen on dev:.*interpolation lambdas 0.03 0.06 0.39 0.53;", out)
    best = cell_text(lecture, "best_method, best_n = min(smooth_pp")
    assert "chosen on the development set: Kneser-Ney, n = 4; its test perplexity, reported once: 9.301" in best
    assert min(pp, key=lambda key: pp[key][0]) == ("Kneser-Ney", 4)
    stated(text, "agree to within 0.1% (63.150, 63.149, 63.149", "best at $n = 2$ (15.858)",
           "(44.940 for the 4-gram)", "(12.836 for the trigram, 12.833 for the 4-gram)", "to 8.947",
           "Kneser–Ney with $n = 4$ ($d = 0.9$); its test perplexity, reported once, is 9.301",
           "(0.7, 0.8, 0.9 for $n$ = 2, 3, 4)",
           "Kneser–Ney beats interpolation, which beats add-$k$")


# -- section 7: bags of n-grams -------------------------------------------------------------------------
def test_unigrams_fail_and_bigrams_succeed_on_hinge_reviews(lecture, text):
    out = cell_text(lecture, "results, models = {}, {}")
    acc = {(kind, orders): float(v) for kind, orders, v in
           re.findall(r"(\w+) reviews, n-gram orders (\(.*?\))\s*: test accuracy ([\d.]+)", out)}
    assert acc == {("hinge", "(1,)"): 0.469, ("hinge", "(1, 2)"): 1.0,
                   ("plain", "(1,)"): 1.0, ("plain", "(1, 2)"): 1.0}
    assert 0.40 <= acc["hinge", "(1,)"] <= 0.60
    stated(text, "at chance, 0.469 test accuracy", "unigrams 0.469")


def test_swapping_the_adjectives_fools_unigrams_only(lecture):
    out = cell_text(lecture, "def swap_adjectives(")
    assert "identical predictions on every review and its twin: True" in out
    assert number(out, r"twin right in ([\d.]+)% of the pairs") > 95


# -- section 9: feed-forward networks (float64, so the digits are the same on any CPU) ---------------------
def test_width_sweep_numbers(lecture, text):
    out = cell_text(lecture, "trained = ffn.width_sweep(")
    rows = {int(m): (float(a), float(b)) for m, a, b in
            re.findall(r"^\s*(\d+)\s+([\d.e+-]+)\s+([\d.e+-]+)$", out, re.M)}
    trained = {m: v[0] for m, v in rows.items()}
    constructed = {m: v[1] for m, v in rows.items()}
    assert trained == {1: 0.651, 2: 0.651, 4: 0.0438, 8: 0.0392, 16: 0.0159, 32: 0.00477, 64: 0.00281}
    assert constructed[64] == 5.39e-06
    assert number(out, r"construction is (\d+) times better") == 521
    assert trained[1] < constructed[1] and trained[4] < constructed[4]
    assert all(trained[m] > constructed[m] for m in (8, 16, 32, 64))
    assert trained[1] > trained[4] > trained[16] > trained[64]
    stated(text, "from 0.651 (1 unit) to 0.00281 (64 units)", "reaches 5.39e-06, about 521 times smaller",
           "no better than the 1-unit one (0.651")
    active = cell_text(lecture, "fraction of points where each unit is active")
    assert re.search(r"active: \[0\.\s+0\.\]", active), active      # both units dead


def test_sawtooth_is_not_learned_from_random_starts(lecture, text):
    out = cell_text(lecture, "saw_var = ffn.sawtooth(")
    var, shallow, deep = numbers(out, r"target variance ([\d.]+); trained MSE: shallow 64 units ([\d.]+), "
                                      r"deep 4 layers x 2 units ([\d.]+)")
    assert (var, shallow, deep) == ("0.0846", "0.0751", "0.0846")
    assert float(shallow) > 0.5 * float(var) and float(deep) > 0.5 * float(var)
    stated(text, "ends at MSE 0.0751, and the deep $4\\times2$ architecture at 0.0846, against 0.0846")
    pieces = [int(p) for p, _ in re.findall(r"^\s*\d+\s+(\d+)\s+\d+\s+(\d+)\s+\d+$", out, re.M)]
    assert pieces == [2 ** k for k in range(1, 9)]


def test_adaptive_optimisers_beat_sgd(lecture, text):
    out = cell_text(lecture, "opt_hist = ffn.compare_optimizers(")
    finals = dict(re.findall(r"^(\w+)\s+train MSE: epoch 1 [\d.]+, epoch 60 ([\d.]+)", out, re.M))
    assert finals == {"SGD": "0.0672", "Adagrad": "0.0055", "RMSprop": "0.0090", "Adam": "0.0046"}
    assert all(float(finals[n]) < float(finals["SGD"]) / 3 for n in ("Adagrad", "RMSprop", "Adam"))
    stated(text, "SGD is at 0.0672, while Adagrad (0.0055), RMSprop (0.0090) and Adam (0.0046)")


def test_dropout_and_early_stopping_reduce_overfitting(lecture, text):
    out = cell_text(lecture, "reg = ffn.regularisation_experiment(")
    rows = {name.strip(): (int(n), int(best), tr, te) for name, n, best, tr, te in re.findall(
        r"^(plain|dropout|early stopping)\s+epochs run\s+(\d+), best epoch\s+(\d+), final train MSE (\S+),"
        r" best validation [\d.]+, test MSE ([\d.]+)", out, re.M)}
    assert rows["plain"][0] == 300 and rows["plain"][2:] == ("4.8e-07", "0.4536")
    assert rows["dropout"][0] == 300 and rows["dropout"][2:] == ("3.0e-02", "0.3348")
    assert rows["early stopping"][:2] == (33, 3) and rows["early stopping"][3] == "0.2710"
    test = {k: float(v[3]) for k, v in rows.items()}
    assert test["dropout"] < test["plain"] and test["early stopping"] < test["plain"]
    stated(text, "training error to 4.8e-07", "test MSE is 0.4536", "after 33 epochs, restores the weights of "
           "epoch 3 and reaches a test MSE of 0.2710", "training error of 3.0e-02 and reaches 0.3348")


def test_normalisation_makes_a_deep_network_trainable(lecture, text):
    out = cell_text(lecture, "norm_hist = ffn.normalisation_experiment(")
    final = dict(re.findall(r"norm=(\w+)\s*: train MSE epoch 1 [\d.]+, epoch 30 ([\d.]+)", out))
    assert final == {"none": "0.1594", "batch": "0.0038", "layer": "0.0539"}
    var = number(cell_text(lecture, "opt_hist = ffn.compare_optimizers("), r"variance of the target: ([\d.]+)")
    assert var == 0.1592
    assert float(final["batch"]) < float(final["none"]) / 10
    assert float(final["layer"]) < float(final["none"]) / 2.5
    stated(text, "(0.1594, the variance of the target is 0.1592)", "it reaches 0.0038",
           "layer normalisation 0.0539, about three times lower")


def test_seeded_mlp_is_float64_repeatable_and_in_torch_range():
    a = ffn.seeded_mlp(3, 7, 2, depth=2, seed=5, norm="layer")
    b = ffn.seeded_mlp(3, 7, 2, depth=2, seed=5, norm="layer")
    c = ffn.seeded_mlp(3, 7, 2, depth=2, seed=6, norm="layer")
    pa, pb, pc = (list(m.parameters()) for m in (a, b, c))
    assert all(p.dtype == torch.float64 for p in pa)
    assert all(torch.equal(x, y) for x, y in zip(pa, pb))
    assert not all(torch.equal(x, y) for x, y in zip(pa, pc))
    for layer in (m for m in a if isinstance(m, torch.nn.Linear)):
        bound = 1 / np.sqrt(layer.in_features)
        assert layer.weight.abs().max() <= bound and layer.bias.abs().max() <= bound


def test_fasttext_trains_in_float64_and_repeats():
    docs = [["was", "good"], ["not", "good"], ["was", "bad"], ["not", "bad"]] * 5
    labels = np.array([1, 0, 0, 1] * 5)
    _, m1 = train_fasttext(docs, labels, (1, 2), seed=3, epochs=5, progress=False)
    _, m2 = train_fasttext(docs, labels, (1, 2), seed=3, epochs=5, progress=False)
    assert all(p.dtype == torch.float64 for p in m1.parameters())
    assert all(torch.equal(p, q) for p, q in zip(m1.parameters(), m2.parameters()))


# -- package functions the lecture builds on (in-process, fast) --------------------------------------------
def test_ema_recursion_equals_explicit_sum():
    x = sine_mixture(300, np.random.default_rng(201), noise=0.3)
    alpha, s, rec = 0.2, 0.0, []
    for v in x:
        s = (1 - alpha) * s + alpha * v
        rec.append(s)
    explicit = [alpha * (1 - alpha) ** (t - np.arange(1, t + 1)) @ x[:t] for t in range(1, 301)]
    np.testing.assert_allclose(rec, explicit, rtol=1e-12, atol=1e-12)


def test_scalar_kalman_gain_matches_matrix_code():
    for prior_var, meas_var, prior_mean, z in [(4.0, 1.0, 1.0, 3.0), (0.3, 7.0, -2.0, 5.0)]:
        gain = prior_var / (prior_var + meas_var)
        mean, var = kalman_update(np.array([prior_mean]), np.array([[prior_var]]), np.array([z]),
                                  np.eye(1), np.array([[meas_var]]))
        np.testing.assert_allclose(mean, [prior_mean + gain * (z - prior_mean)], rtol=1e-12)
        np.testing.assert_allclose(1 / var[0, 0], 1 / prior_var + 1 / meas_var, rtol=1e-12)


def test_ar2_recovers_two_cos_omega_and_minus_one():
    omega = 2 * np.pi / 17
    pure = 3.0 * np.sin(omega * np.arange(300) + 0.7)
    model = fit_ar(pure, 2, intercept=False)
    np.testing.assert_allclose(model.coef, [2 * np.cos(omega), -1.0], atol=1e-9)


def test_ar4_roots_give_the_periods_of_a_clean_mixture():
    clean = sine_mixture(400, np.random.default_rng(402), noise=0.0)
    roots = np.roots(np.r_[1.0, -fit_ar(clean, 4, intercept=False).coef])
    np.testing.assert_allclose(np.sort(2 * np.pi / np.abs(np.angle(roots)))[::2], [9.0, 25.0], rtol=1e-6)


def test_normal_equations_match_fit_ar():
    x = sine_mixture(400, np.random.default_rng(401))
    for p, intercept in [(4, True), (3, False)]:
        gram, rhs = normal_equations(x, p, intercept=intercept)
        assert gram.shape == (p + intercept, p + intercept) and rhs.shape == (p + intercept,)
        model = fit_ar(x, p, intercept=intercept)
        expected = np.r_[model.coef, model.intercept] if intercept else model.coef
        np.testing.assert_allclose(np.linalg.solve(gram, rhs), expected, rtol=1e-8, atol=1e-10)


def test_multistep_rmse_matches_forecast_by_hand():
    x = sine_mixture(120, np.random.default_rng(5))
    model = fit_ar(x[:80], 3)
    start, horizon = 90, 7
    errs = []
    for t0 in range(start, len(x) - horizon + 1):
        errs.append(model.forecast(x[:t0], horizon) - x[t0:t0 + horizon])
    expected = np.sqrt(np.mean(np.square(errs), axis=0))
    np.testing.assert_allclose(multistep_rmse(model, x, start, horizon), expected, rtol=1e-12)
    # lead 1 is the one-step error
    one = model.one_step(x[start - 3:])[: len(x) - horizon + 1 - start]
    np.testing.assert_allclose(expected[0], rmse(one, x[start:len(x) - horizon + 1]), rtol=1e-12)


def test_multistep_rmse_errors():
    model = fit_ar(np.sin(np.arange(50.0)), 3)
    with pytest.raises(ValueError, match=r"start must be an integer >= p = 3.*got 2"):
        multistep_rmse(model, np.arange(50.0), 2, 5)
    with pytest.raises(ValueError, match=r"horizon must be an integer >= 1, got 0"):
        multistep_rmse(model, np.arange(50.0), 10, 0)
    with pytest.raises(ValueError, match=r"start \+ horizon must be <= len\(x\) = 50.*got 45 \+ 6 = 51"):
        multistep_rmse(model, np.arange(50.0), 45, 6)


@pytest.fixture(scope="module")
def surf():
    return surf_corpus(3000, np.random.default_rng(601)), surf_corpus(1000, np.random.default_rng(602))


def test_surf_rides_and_grammar_checker(surf):
    rides = surf_rides()
    assert rides["surfer"] == rides["surfers"] == ("wave", "board") and len(rides) == 10
    train, _ = surf
    assert all(surf_is_grammatical(s) for s in train)
    for bad in ["the surfer rode the horse", "the surfers near the pier was happy",
                "the surfer was", "the", "a surfer was happy", "the surfer rode the wave at",
                "the jockey with the red hat were cold", "the pilot near the pier rode the plane"]:
        assert not surf_is_grammatical(bad.split()), bad
    with pytest.raises(ValueError, match="must be a list of tokens, got the str"):
        surf_is_grammatical("the surfer rode the wave")


def test_train_and_evaluate_is_repeatable_and_validates():
    docs = [["was", "good"], ["not", "good"], ["was", "bad"], ["not", "bad"]] * 5
    labels = np.array([1, 0, 0, 1] * 5)
    a = train_and_evaluate(docs, labels, docs, labels, (1, 2), seed=3, epochs=60, progress=False)
    b = train_and_evaluate(docs, labels, docs, labels, (1, 2), seed=3, epochs=60, progress=False)
    assert a == b == 1.0
    assert train_and_evaluate(docs, labels, docs, labels, (1,), seed=3, epochs=60, progress=False) <= 0.75
    with pytest.raises(ValueError, match=r"labels of shape \(20,\), got shape \(19,\)"):
        train_fasttext(docs, labels[:-1], (1,), progress=False)
    with pytest.raises(ValueError, match=r"epochs must be an integer >= 1, got 0"):
        train_fasttext(docs, labels, (1,), epochs=0, progress=False)
    with pytest.raises(ValueError, match="labels must be non-negative integers"):
        train_fasttext(docs, labels * 0.5, (1,), progress=False)


def test_activation_derivatives_match_autograd():
    z = torch.linspace(-6, 6, 241, dtype=torch.float64, requires_grad=True)
    for name, fn in {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}.items():
        (g,) = torch.autograd.grad(fn(z).sum(), z)
        np.testing.assert_allclose(ffn.activation_derivative(name, z.detach().numpy()), g.numpy(), atol=1e-12)
        np.testing.assert_allclose(ffn.activation(name, z.detach().numpy()), fn(z).detach().numpy(), atol=1e-12)
    assert ffn.activation("sigmoid", np.array([-1000.0, 1000.0])).tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match=r"activation must be one of .*got 'gelu'"):
        ffn.activation("gelu", np.zeros(3))


def test_two_layer_forward_matches_torch_and_checks_shapes():
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 5), torch.nn.Tanh(), torch.nn.Linear(5, 2)).double()
    x = np.random.default_rng(0).normal(size=(4, 3))
    W1, b1, W2, b2 = (p.detach().numpy() for p in net.parameters())
    np.testing.assert_allclose(ffn.two_layer_forward(x, W1, b1, W2, b2), net(torch.tensor(x)).detach().numpy(),
                               rtol=1e-12)
    with pytest.raises(ValueError, match=r"x must have shape \(N, 3\).*got \(4, 2\)"):
        ffn.two_layer_forward(x[:, :2], W1, b1, W2, b2)


def test_mlp_builder():
    net = ffn.mlp(2, 8, 3, depth=2, act="tanh", dropout=0.1, norm="layer")
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "LayerNorm", "Tanh", "Dropout"] * 2 + ["Linear"]
    assert net(torch.zeros(5, 2)).shape == (5, 3)
    with pytest.raises(ValueError, match=r"norm must be None, 'batch' or 'layer', got 'group'"):
        ffn.mlp(2, 8, 3, norm="group")
    with pytest.raises(ValueError, match=r"depth must be an integer >= 1, got 0"):
        ffn.mlp(2, 8, 3, depth=0)


def test_relu_interpolant_is_exact_and_obeys_the_error_bound():
    f = lambda x: np.sin(3 * x) + 0.3 * x ** 2  # noqa: E731
    xs = np.linspace(-2, 2, 4001)
    for m in (1, 4, 16, 64):
        knots = np.linspace(-2, 2, m + 1)
        net = ffn.relu_interpolant(knots, f(knots))
        assert net[0].out_features == m
        out = net(torch.tensor(xs)[:, None]).detach().numpy()[:, 0]
        np.testing.assert_allclose(out, np.interp(xs, knots, f(knots)), atol=1e-10)
        assert np.abs(out - f(xs)).max() <= (4 / m) ** 2 / 8 * 9.6 + 1e-12
    with pytest.raises(ValueError, match="strictly increasing"):
        ffn.relu_interpolant([0.0, 0.0, 1.0], [1.0, 2.0, 3.0])


def test_tent_network_is_exact_with_two_to_the_k_pieces():
    x = np.linspace(0, 1, 2 ** 10 + 1)
    for k in range(1, 9):
        y = ffn.tent_network(k)(torch.tensor(x)[:, None]).detach().numpy()[:, 0]
        np.testing.assert_allclose(y, ffn.sawtooth(x, k), atol=1e-12)
        assert ffn.count_linear_pieces(x, y) == 2 ** k
        assert sum(m.out_features for m in ffn.tent_network(k)[:-1] if isinstance(m, torch.nn.Linear)) == 2 * k
    assert ffn.count_linear_pieces(x, 3 * x + 1) == 1


def test_regression_batches_split_and_validate():
    x, y = np.arange(10.0), np.arange(10.0) * 2
    batches = ffn.regression_batches(x, y, batch_size=4, rng=np.random.default_rng(0))
    assert [len(b[0]) for b in batches] == [4, 4, 2]
    got = torch.cat([b[0] for b in batches])[:, 0]
    assert sorted(got.tolist()) == list(range(10))
    assert all(torch.equal(b[1], 2 * b[0]) for b in batches)
    with pytest.raises(ValueError, match=r"same number of rows, got 10 and 9"):
        ffn.regression_batches(x, y[:9])


@pytest.mark.parametrize("n", [1, 2, 3])
def test_add_k_distributions_sum_to_one(surf, n):
    train, _ = surf
    lm = NGramLM(n, k=0.1).fit(train)
    for ctx in itertools.islice(list(lm.counts) + [("never-seen",) * (n - 1)], 60):
        np.testing.assert_allclose(lm.distribution(ctx).sum(), 1.0, rtol=1e-12)


def test_lag_matrix_normal_equation_residual_is_orthogonal():
    x = sine_mixture(400, np.random.default_rng(401))[:400]
    X, y = lag_matrix(x, 4)
    Xa = np.hstack([X, np.ones((len(X), 1))])
    theta = np.linalg.solve(*normal_equations(x, 4))
    np.testing.assert_allclose(Xa.T @ (y - Xa @ theta), 0.0, atol=1e-9)


@pytest.mark.slow
def test_kalman_explorer_works_after_run_all_with_the_globals_rebound():
    out = probe_text(executed(PATH, "again"))  # tests/probes/01_sequences.py
    assert "explorer after Run All: RMSE 2.759, coverage 33.5%" in out     # the table's row for q = 0.0005


@pytest.mark.slow
def test_discount_explorer_works_after_run_all_with_the_globals_rebound():
    nb = executed(PATH, "again")
    out = probe_text(nb)
    rows = {float(d): (float(pp), float(lower), top) for d, pp, lower, top in re.findall(
        r"discount explorer after Run All: d=([\d.]+), context 'the ginera', dev perplexity ([\d.]+), "
        r"to the lower order ([\d.]+), top '(\S+)'", out)}
    assert sorted(rows) == [0.3, 0.8]
    default = cell_text(nb, "def make_discount_explorer(")
    assert number(default, r"dev perplexity ([\d.]+)") == rows[0.8][0] == 9.297   # the table's trigram
    assert rows[0.3][0] > rows[0.8][0]                        # d = 0.8 was the development set's choice
    assert rows[0.3][1] == pytest.approx(rows[0.8][1] * 0.3 / 0.8, abs=2e-4)   # lambda(c) is linear in d
