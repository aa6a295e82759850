"""Lecture 07: the numbers its text states, read from what the executed notebook printed.

The notebook is executed once per flavour (tests/notebook_runs.py); every claim is checked under
the native CPU kernels and the portable ones, with the margins the text uses.
"""

from __future__ import annotations

import re

import pytest

from notebook_runs import FLAVOURS, cell_text, executed, markdown, probe_text, stated

PATH = "lectures/07_captioning.ipynb"


@pytest.fixture(scope="module", params=FLAVOURS)
def lecture(request):
    return executed(PATH, request.param)


def numbers(pattern: str, text: str) -> list[float]:
    m = re.search(pattern, text)
    assert m, f"no line matching {pattern!r} in:\n{text}"
    return [float(g) for g in m.groups()]


def test_many_correct_captions_and_the_truth_check(lecture):
    text = cell_text(lecture, "correct captions per image")
    assert "correct captions per image: [2, 8, 16]" in text
    text = cell_text(lecture, "the objects swapped")
    assert re.search(r"': true = True", text) and "true = False  (the objects swapped)" in text


def test_teacher_forcing_equals_stepwise_log_likelihood(lecture):
    text = cell_text(lecture, "teacher forcing vs step by step")
    a, b = numbers(r"max gap ([\d.e+-]+); vs cross_entropy: ([\d.e+-]+)", text)
    assert a < 1e-10 and b < 1e-10


def test_initial_state_only_is_the_weakest_conditioning(lecture):
    text = cell_text(lecture, "for condition in C.CONDITIONS")
    bleu = {c: numbers(rf"condition {c}\s*: loss [\d.]+  BLEU\s+([\d.]+)", text)[0] for c in ("init", "input", "both")}
    assert bleu["input"] > bleu["init"] + 5 and bleu["both"] > bleu["init"] + 5


def test_fine_tuning_beats_the_frozen_encoder(lecture):
    text = cell_text(lecture, "fine_tune=True")
    (frozen,) = numbers(r"frozen encoder, 18 epochs: BLEU\s+([\d.]+)", text)
    (tuned,) = numbers(r"fine-tuned encoder, 12 \+ 6 epochs: BLEU\s+([\d.]+)", text)
    assert tuned > frozen - 3


def test_beam_lists_alternatives_with_probabilities(lecture):
    text = cell_text(lecture, "beam_width=4")
    probs = [float(p) for p in re.findall(r"p = ([\d.]+)", text)]
    assert len(probs) >= 9 and all(0 < p < 1 for p in probs)


def test_beam_loses_to_greedy_only_where_it_pruned_greedys_prefix(lecture):
    text = cell_text(lecture, "def beam_vs_greedy(")
    rows = {int(w): [int(n) for n in rest] for w, *rest in re.findall(
        r"beam width (\d+) vs greedy on 300 held-out images: more probable (\d+), equally probable (\d+), "
        r"less probable (\d+); greedy's prefix pruned on (\d+), on every less probable one: True", text)}
    assert set(rows) == {1, 4}, text
    more1, same1, less1, pruned1 = rows[1]
    assert less1 == 0 and pruned1 == 0 and more1 >= 1          # never below greedy; sometimes above
    more4, same4, less4, pruned4 = rows[4]
    assert 0.15 * 300 < more4 < 0.45 * 300                     # "between a quarter and a third"
    assert same4 > (300 - more4) / 2                           # "the same caption on most of the others"
    assert 1 <= less4 < 0.05 * 300 and pruned4 >= less4        # "a few (under 5%)", each one pruned
    m = re.search(r"greedy's prefix '([a-z ]+)' was pruned at step (\d+); the beam kept:\n((?:      p = .*\n)+)", text)
    assert m and len(m.group(1).split()) == int(m.group(2))
    kept = [float(p) for p in re.findall(r"p = ([\d.]+)", m.group(3))]
    assert len(kept) == 4 and kept == sorted(kept, reverse=True)
    stated(markdown(PATH), "for **width 1** that is true", "between a quarter and a third of them in our runs",
           "a **less probable** one on a few (under 5%)", "On every one of those greedy's prefix had been pruned")


def test_bleu_needs_many_references_and_is_not_truth(lecture):
    text = cell_text(lecture, "one_ref = ")
    all_refs, one = numbers(r"against all correct captions\s+([\d.]+), against one random correct caption\s+([\d.]+)", text)
    assert all_refs > one + 10
    (high,) = numbers(r"false captions with sentence BLEU above 40: (\d+) of", text)
    assert high > 0


def test_mean_pooling_cannot_tell_left_from_right(lecture):
    text = cell_text(lecture, "PooledFrameClassifier")
    (gap,) = numbers(r"max difference ([\d.e+-]+)", text)
    assert gap < 1e-6
    p7, plr = numbers(r"mean pooling: 7 actions ([\d.]+)% \| left vs right ([\d.]+)%", text)
    r7, rlr = numbers(r"recurrent\s+: 7 actions ([\d.]+)% \| left vs right ([\d.]+)%", text)
    assert p7 < 60 and 30 < plr < 70 and r7 > 70 and rlr > 85


def test_video_describer_has_two_layers_and_beats_chance_on_actions(lecture):
    text = cell_text(lecture, "VideoDescriber")
    assert "layers in the decoder: 2" in text
    (verb,) = numbers(r"right action word: ([\d.]+)%", text)
    assert verb > 20


def test_explorer_runs_headless_and_after_run_all(lecture):
    text = cell_text(lecture, "make_caption_explorer(tuned, vocab)")
    assert "greedy:" in text and "p = " in text



@pytest.mark.slow
def test_caption_explorer_works_after_run_all_with_new_values():
    """tests/probes/07_captioning.py rebinds the model and data globals and calls the explorer's
    callback with scenes the notebook never drew: one shape ('none' as the second), then two."""
    out = probe_text(executed(PATH, "again"))
    scenes = re.findall(r"^scene: (.*)$", out, re.M)
    assert scenes == ["small green triangle at (20, 10)",
                      "big yellow circle at (8, 24); small red square at (24, 8)"], out
    greedy = re.findall(r"^greedy: (.*)  \((true|FALSE)\)$", out, re.M)
    returned = re.findall(r"^probe returned: greedy '(.*)', (\d+) beam captions$", out, re.M)
    assert len(greedy) == 2 and [g for g, _ in greedy] == [g for g, _ in returned]
    assert all(n == "5" for _, n in returned)
    probs = [float(p) for p in re.findall(r"^  p = ([\d.]+)  ", out, re.M)]
    assert len(probs) == 10 and all(0 < p <= 1 for p in probs)
    assert probs[:5] == sorted(probs[:5], reverse=True) and probs[5:] == sorted(probs[5:], reverse=True)
    assert probs[:5] != probs[5:]                       # another scene, other captions
