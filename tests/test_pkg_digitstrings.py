"""seqcourse.digitstrings: rendering, seeding, over-segmentation."""

import numpy as np
import pytest

from seqcourse.digitstrings import make_dataset, make_string, oversegment, segment_images


def test_same_seed_same_images():
    a = make_dataset(6, np.random.default_rng(3))
    b = make_dataset(6, np.random.default_rng(3))
    for x, y in zip(a, b):
        assert x.label == y.label and np.array_equal(x.image, y.image)


def test_shapes_and_range():
    s = make_string([2, 0, 0], np.random.default_rng(1))
    assert s.text == "200" and s.image.shape[0] == 8 and len(s.bounds) == 3
    assert 0.0 <= s.image.min() and s.image.max() <= 1.0
    assert s.image.shape[1] >= 3 * 5 - 2


def test_lengths_vary_and_digits_touch():
    data = make_dataset(60, np.random.default_rng(2), min_len=1, max_len=4)
    assert {len(s.label) for s in data} == {1, 2, 3, 4}
    touching = sum(any(b[0] <= a[1] for a, b in zip(s.bounds, s.bounds[1:])) for s in data)
    assert touching > 5


def test_cuts_cover_true_boundaries():
    data = make_dataset(40, np.random.default_rng(4), min_len=2, max_len=4)
    misses = 0
    for s in data:
        cuts = oversegment(s.image)
        assert cuts[0] == 0 and cuts[-1] == s.image.shape[1] and np.all(np.diff(cuts) > 0)
        assert len(cuts) - 1 > len(s.label)            # over-segmented
        for (_, end), (start, _) in zip(s.bounds, s.bounds[1:]):
            if np.min(np.abs(cuts - (end + start) / 2)) > 1.5:
                misses += 1
    assert misses <= 6


def test_segment_images_shape():
    s = make_string([7, 1], np.random.default_rng(5))
    cuts = oversegment(s.image)
    arcs = np.array([[0, 1], [0, 2], [1, 3]])
    assert segment_images(s.image, cuts, arcs).shape == (3, 8, 8)


def test_bad_inputs():
    with pytest.raises(ValueError, match="digits"):
        make_string([12], np.random.default_rng(0))
    with pytest.raises(ValueError, match="shape"):
        oversegment(np.zeros((5, 10)))
