"""seqcourse.translation: the grammar's word order, agreement, lengths, references."""

from __future__ import annotations

import numpy as np
import pytest

from seqcourse import translation as tr


def test_verb_final_source_and_verb_second_target():
    s = (tr.Clause(tr.NP("kan", False, ("gran",)), "vid", tr.NP("mis", True, ("ros", "pik"))),)
    assert tr.source_tokens(s) == ["lo", "kan", "grano", "le", "misi", "rose", "pike", "vida"]
    refs = tr.target_references(s)
    assert refs[0] == "the big dog sees the red small cats".split()
    assert "the big dog watches the small red cats".split() in refs
    assert len(refs) == 4                         # 2 synonyms x 2 adjective orders


def test_agreement_of_determiner_adjective_and_verb():
    s = (tr.Clause(tr.NP("ruv", True, ("vel",)), "dorm"),)
    assert tr.source_tokens(s) == ["le", "ruvi", "vele", "dorman"]
    assert tr.translate(s) == ["the", "old", "women", "sleep"]


def test_postposition_becomes_preposition_and_clauses_join():
    s = (tr.Clause(tr.NP("pel"), "kur", None, ("ne", tr.NP("bek"))),
         tr.Clause(tr.NP("tor"), "kant"))
    assert tr.source_tokens(s) == "lo pel lo bek ne kura e lo tor kanta".split()
    assert tr.translate(s) == "the child runs in the garden and the bird sings".split()


def test_lengths_are_in_range_and_long_sentences_exist():
    rng = np.random.default_rng(0)
    pairs = tr.make_pairs(300, rng, 3, 25)
    lengths = [len(s) for s, _ in pairs]
    assert min(lengths) >= 3 and max(lengths) <= 25
    long_ = tr.make_pairs(20, rng, 20, 24)
    assert all(20 <= len(s) <= 24 for s, _ in long_)
    assert tr.make_pairs(5, rng, 3, 3)[0][0].__len__() == 3


def test_seeded_distinct_and_held_out():
    a = tr.make_pairs(100, np.random.default_rng(5))
    b = tr.make_pairs(100, np.random.default_rng(5))
    assert a == b
    assert len({tuple(s) for s, _ in a}) == 100
    test = tr.make_pairs(50, np.random.default_rng(6), exclude=[s for s, _ in a])
    assert not {tuple(s) for s, _ in test} & {tuple(s) for s, _ in a}


def test_vocabularies_cover_everything_and_round_trip():
    sv, tv = tr.source_vocab(), tr.target_vocab()
    assert 40 <= len(sv) <= 120 and 30 <= len(tv) <= 100
    assert sv.itos[:3] == ["<pad>", "<bos>", "<eos>"]
    for src, refs in tr.make_pairs(200, np.random.default_rng(1), 3, 25):
        ids = sv.encode(src)
        assert ids[-1] == tr.EOS and sv.decode(ids) == src
        for r in refs:
            assert tv.decode(tv.encode(r)) == r
    with pytest.raises(ValueError):
        sv.encode(["dog"])


def test_pad_batch():
    out, lengths = tr.pad_batch([[5, 6, 7], [8]])
    assert out.tolist() == [[5, 6, 7], [8, 0, 0]] and lengths.tolist() == [3, 1]
    with pytest.raises(ValueError):
        tr.pad_batch([])


def test_friendly_errors():
    with pytest.raises(ValueError):
        tr.sample_sentence(np.random.default_rng(0), 5, 4)
