"""Unit tests of seqcourse.scenes: rendering, the caption grammar, the parser and the truth check.

The independent reference for positions is the rendered image itself: the centroid of each
object's colour, measured from the pixels, must agree with the scene's coordinates, so the
relations the captions state are checked against what is painted.
"""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from seqcourse import scenes as S


def test_scenes_are_seeded_and_rendered_with_the_documented_shape():
    a = S.make_scenes(20, np.random.default_rng(1), (1, 2, 3))
    b = S.make_scenes(20, np.random.default_rng(1), (1, 2, 3))
    assert a == b
    imgs = S.render(a, rng=np.random.default_rng(2))
    assert imgs.shape == (20, 3, 32, 32) and imgs.dtype == np.float32
    assert imgs.min() >= 0 and imgs.max() <= 1
    np.testing.assert_array_equal(imgs, S.render(b, rng=np.random.default_rng(2)))
    assert S.render(a[:2], image_size=48).shape == (2, 3, 48, 48)
    assert {len(s) for s in a} == {1, 2, 3}


def test_painted_centroids_match_the_coordinates_and_relations():
    scenes = S.make_scenes(200, np.random.default_rng(3), (1, 2, 3))
    imgs = S.render(scenes)   # no noise: each object's colour marks exactly its pixels
    rows, cols = np.mgrid[0:32, 0:32]
    for img, scene in zip(imgs, scenes):
        for o in scene:
            if sum(p.colour == o.colour for p in scene) > 1:
                continue
            m = np.all(np.abs(img - np.asarray(S.RGB[o.colour])[:, None, None]) < 1e-6, axis=0)
            assert m.sum() > 10
            if o.shape != "triangle":   # a triangle's centroid sits below its box centre
                assert abs(cols[m].mean() - o.x) < 0.6 and abs(rows[m].mean() - o.y) < 0.6
        for a, b in itertools.permutations(scene, 2):
            # relations are far from the margin: never a borderline case
            assert abs(a.x - b.x) <= 1 or abs(a.x - b.x) >= 6
            assert abs(a.y - b.y) <= 1 or abs(a.y - b.y) >= 6


def test_every_generated_caption_parses_and_is_true_and_complete():
    rng = np.random.default_rng(4)
    for scene in S.make_scenes(150, rng, (1, 2, 3)):
        caps = S.captions(scene)
        assert len(caps) == len({tuple(c) for c in caps}) > 1    # several correct captions
        for cap in caps:
            assert set(cap) <= set(S.WORDS)
            parsed = S.parse_caption(cap)
            assert parsed is not None and len(parsed.objects) == len(scene)
            assert S.is_true(cap, scene) and S.is_complete(cap, scene)
        assert S.sample_caption(scene, rng) in caps


def test_caption_counts_follow_the_grammar():
    one = (S.Obj("circle", "red", "big", 10, 10),)
    two = (S.Obj("circle", "red", "big", 8, 8), S.Obj("square", "blue", "small", 24, 24))
    aligned = (S.Obj("circle", "red", "big", 8, 8), S.Obj("square", "blue", "small", 8.5, 24))
    three = two + (S.Obj("triangle", "green", "small", 24, 8),)
    assert len(S.captions(one)) == 2
    assert len(S.captions(two)) == 16            # 2 orders x 2 relations x 4 size choices
    assert len(S.captions(aligned)) == 8         # only above / below
    assert len(S.captions(three)) == 48
    assert ["a", "red", "circle", "above", "a", "blue", "square"] in S.captions(aligned)


def test_parser_reads_content_and_rejects_ungrammatical_captions():
    p = S.parse_caption("a big red square left of a blue circle")
    assert p == S.Parsed((("big", "red", "square"), (None, "blue", "circle")), (0, "left of", 1))
    assert S.parse_caption("a red square , a blue circle and a small green triangle").relation is None
    for bad in ["", "a", "a red", "red square", "a red square left a blue circle", "a red square of",
                "a red square left of", "a red square a blue circle", "a red red square",
                "a red square left of a blue circle <eos>", "a big small red square",
                "a red square , a blue circle", "a red square and a blue circle"]:
        assert S.parse_caption(bad) is None, bad
        assert not S.is_true(bad, (S.Obj("square", "red", "big", 5, 5),))


def test_truth_check_catches_wrong_attributes_and_relations():
    scene = (S.Obj("square", "red", "big", 8, 8), S.Obj("circle", "blue", "small", 24, 24))
    assert S.is_true("a red square left of a blue circle", scene)
    assert S.is_true("a blue circle below a big red square", scene)
    assert S.is_true("a blue circle", scene) and not S.is_complete("a blue circle", scene)
    assert not S.is_true("a blue circle left of a red square", scene)       # order swapped
    assert not S.is_true("a red circle left of a blue square", scene)       # colours swapped
    assert not S.is_true("a small red square left of a blue circle", scene)  # wrong size
    assert not S.is_true("a red square left of a red square", scene)        # one object twice
    dup = (S.Obj("square", "red", "big", 8, 8), S.Obj("square", "red", "small", 24, 8))
    assert S.is_true("a red square left of a red square", dup)


def test_truth_check_against_brute_force_on_random_captions():
    rng = np.random.default_rng(5)
    words_obj = lambda: ["a"] + ([S.SIZES[rng.integers(2)]] if rng.random() < .5 else []) + [
        S.COLOURS[rng.integers(4)], S.SHAPES[rng.integers(3)]]
    n_true = 0
    for scene in S.make_scenes(300, rng, 2):
        cap = words_obj() + S.RELATIONS[rng.integers(4)].split() + words_obj()
        p = S.parse_caption(cap)
        brute = any(
            all(o.colour == c and o.shape == s and z in (None, o.size) for (z, c, s), o in zip(p.objects, pair))
            and S.relation_holds(pair[0], p.relation[1], pair[1])
            for pair in itertools.permutations(scene, 2))
        assert S.is_true(cap, scene) == brute
        n_true += brute
    assert n_true > 0


def test_clips_reverse_into_the_opposite_action():
    rng = np.random.default_rng(6)
    clips = S.make_clips(40, rng, n_frames=9)
    frames = S.render_clips(clips)
    assert frames.shape == (40, 9, 3, 32, 32)
    for c, f in zip(clips, frames):
        r = S.reverse_clip(c)
        np.testing.assert_array_equal(S.render_clips([r])[0], f[::-1])
        if c.action in ("left", "right"):
            assert np.sign(c.xs[-1] - c.xs[0]) == (1 if c.action == "right" else -1)
        if c.action == "grow":
            assert c.radii[-1] > c.radii[0] and c.size == "small"
        assert S.clip_sentences(c)[0][-1] in {"left", "right", "up", "down", "grows", "shrinks", "bounces"}
        assert set(S.clip_sentences(c)[1]) <= set(S.WORDS)
    # mean pooling over time cannot tell a clip from its reversal
    left = [c for c in clips if c.action == "left"][0]
    np.testing.assert_allclose(S.render_clips([left])[0].mean(0),
                               S.render_clips([S.reverse_clip(left)])[0].mean(0), atol=1e-6)


def test_friendly_errors():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match="n_objects"):
        S.random_scene(rng, 4)
    with pytest.raises(ValueError, match="Generator"):
        S.make_scenes(3, 0)
    with pytest.raises(ValueError, match="list of scenes"):
        S.render(S.random_scene(rng, 1))
    with pytest.raises(ValueError, match="action"):
        S.random_clip(rng, "jump")
    with pytest.raises(ValueError, match="relation"):
        S.relation_holds(S.Obj("square", "red", "big", 1, 1), "near", S.Obj("square", "red", "big", 1, 1))
