"""Generators for every data set the course uses.

Nothing is downloaded: each function builds its data from a seeded
``numpy.random.Generator``, so the same seed always gives the same data.
"""

from __future__ import annotations

import numpy as np

from .kalman import constant_velocity_model

__all__ = [
    "moving_object",
    "sine_mixture",
    "sentiment_reviews",
    "POSITIVE_WORDS",
    "NEGATIVE_WORDS",
    "surf_corpus",
    "agreement_probes",
    "surf_rides",
    "surf_is_grammatical",
    "who_plays_first",
    "NER_LABELS",
]


# -- real-valued sequences ---------------------------------------------------
def moving_object(
    T: int,
    rng: np.random.Generator,
    dt: float = 1.0,
    process_noise: float = 0.05,
    measurement_noise: float = 2.0,
    dims: int = 2,
) -> tuple[np.ndarray, np.ndarray]:
    """An object drifting in the plane under random accelerations, seen by a
    noisy position sensor.

    Returns the true states (T, 2 * dims) = [positions, velocities] and the
    measurements (T, dims), drawn from exactly the model that
    :func:`seqcourse.kalman.constant_velocity_model` describes.
    """
    m = constant_velocity_model(dt, process_noise, measurement_noise, dims)
    n = 2 * dims
    state = np.concatenate([np.zeros(dims), rng.normal(0.0, 1.0, dims)])
    chol_q = np.linalg.cholesky(m["Q"] + 1e-12 * np.eye(n))
    states, zs = np.empty((T, n)), np.empty((T, dims))
    for t in range(T):
        state = m["F"] @ state + chol_q @ rng.standard_normal(n)
        states[t] = state
        zs[t] = m["H"] @ state + measurement_noise * rng.standard_normal(dims)
    return states, zs


def sine_mixture(
    T: int,
    rng: np.random.Generator,
    periods: tuple[float, ...] = (25.0, 9.0),
    amplitudes: tuple[float, ...] = (1.0, 0.5),
    noise: float = 0.1,
) -> np.ndarray:
    """A sum of sinusoids with random phases plus white noise: shape (T,)."""
    t = np.arange(T)
    x = sum(
        a * np.sin(2 * np.pi * t / p + rng.uniform(0, 2 * np.pi))
        for p, a in zip(periods, amplitudes)
    )
    return np.asarray(x + noise * rng.standard_normal(T))


# -- sentiment reviews -------------------------------------------------------
POSITIVE_WORDS = ("good", "great", "fun", "charming", "clever", "moving")
NEGATIVE_WORDS = ("bad", "dull", "boring", "awful", "clumsy", "weak")
_SUBJECTS = ("the film", "the plot", "the acting", "the ending", "the music", "the script")

# In each template {a} is the word the review rejects and {b} the verdict it
# keeps: the label is the polarity of {b}.
_HINGE_TEMPLATES = (
    "{s} was not {a} , it was {b}",
    "i expected {a} but {s} was {b}",
    "{s} was {b} , not {a}",
    "{s} was {b} and never {a}",
)
_PLAIN_TEMPLATES = ("{s} was {b}", "a {b} story and {s} was {b}", "{s} felt {b}")


def sentiment_reviews(
    n: int, rng: np.random.Generator, kind: str = "hinge"
) -> tuple[list[list[str]], np.ndarray]:
    """Short movie reviews with binary labels (1 = positive).

    ``kind="plain"``: the verdict word alone decides the label, so a bag of
    single words is enough.  ``kind="hinge"``: every review holds one positive
    and one negative word and the label depends on which one is negated or
    comes last.  Swapping the two words flips the label but not the bag of
    words, so no unigram model can beat chance; bigrams such as
    ``("not", "good")`` and ``("was", "good")`` carry the answer.

    Returns the tokenised reviews and the labels (n,).
    """
    templates = {"hinge": _HINGE_TEMPLATES, "plain": _PLAIN_TEMPLATES}
    if kind not in templates:
        raise ValueError(f"kind must be 'hinge' or 'plain', got {kind!r}")
    docs, labels = [], np.empty(n, dtype=np.int64)
    for i in range(n):
        label = int(rng.integers(2))
        pos, neg = rng.choice(POSITIVE_WORDS), rng.choice(NEGATIVE_WORDS)
        kept, rejected = (pos, neg) if label == 1 else (neg, pos)
        template = templates[kind][rng.integers(len(templates[kind]))]
        subject = _SUBJECTS[rng.integers(len(_SUBJECTS))]
        docs.append(template.format(s=subject, a=rejected, b=kept).split())
        labels[i] = label
    return docs, labels


# -- a small language for n-gram models -------------------------------------
_NOUNS = {  # singular -> (plural, things it rides)
    "surfer": ("surfers", ("wave", "board")),
    "jockey": ("jockeys", ("horse", "pony")),
    "sailor": ("sailors", ("ferry", "boat")),
    "child": ("children", ("bike", "swing")),
    "pilot": ("pilots", ("plane", "glider")),
}
_MODIFIERS = (
    (),
    ("near", "the", "pier"),
    ("with", "the", "red", "hat"),
    ("from", "the", "town", "by", "the", "sea"),
)
_ADJECTIVES = ("tired", "happy", "late", "cold")
_TIMES = ((), ("today",), ("at", "dawn"), ("again",))


def _noun(rng: np.random.Generator) -> tuple[str, bool]:
    singular = list(_NOUNS)[rng.integers(len(_NOUNS))]
    plural = bool(rng.integers(2))
    return (_NOUNS[singular][0] if plural else singular), plural


def surf_corpus(n: int, rng: np.random.Generator) -> list[list[str]]:
    """``n`` sentences of a small English-like language (lists of tokens).

    Two kinds of sentence, chosen at random:

    * ``the surfer rode the wave today``: what is ridden depends on who rides,
      three words back, so only a 4-gram model or larger predicts it;
    * ``the sailors with the red hat were happy``: ``was``/``were`` must agree
      with the subject across a modifier of 0 to 6 words, a long-range
      dependency that defeats any n-gram model shorter than the gap.
    """
    sentences = []
    for _ in range(n):
        noun, plural = _noun(rng)
        singular = noun if not plural else next(s for s, v in _NOUNS.items() if v[0] == noun)
        if rng.random() < 0.5:
            rides = _NOUNS[singular][1]
            obj = rides[rng.integers(len(rides))]
            time = _TIMES[rng.integers(len(_TIMES))]
            sentences.append(["the", noun, "rode", "the", obj, *time])
        else:
            mod = _MODIFIERS[rng.integers(len(_MODIFIERS))]
            adj = _ADJECTIVES[rng.integers(len(_ADJECTIVES))]
            sentences.append(["the", noun, *mod, "were" if plural else "was", adj])
    return sentences


def agreement_probes() -> list[tuple[list[str], str, int]]:
    """Every (prefix, correct verb, gap) for the was/were agreement test.

    ``prefix`` ends just before the verb; ``gap`` is the number of words
    between the subject noun and the verb.
    """
    probes = []
    for singular, (plural, _) in _NOUNS.items():
        for noun, verb in ((singular, "was"), (plural, "were")):
            for mod in _MODIFIERS:
                probes.append((["the", noun, *mod], verb, len(mod)))
    return probes


def surf_rides() -> dict[str, tuple[str, ...]]:
    """What each subject of :func:`surf_corpus` rides, singular and plural forms
    alike: ``{"surfer": ("wave", "board"), "surfers": ("wave", "board"), ...}``."""
    out: dict[str, tuple[str, ...]] = {}
    for singular, (plural, rides) in _NOUNS.items():
        out[singular] = out[plural] = tuple(rides)
    return out


def surf_is_grammatical(sentence: list[str]) -> bool:
    """Whether ``sentence`` (a list of tokens) is one that :func:`surf_corpus`
    can produce: a rider with something it rides, or a subject whose verb
    (``was``/``were``) agrees with it, with the modifiers, adjectives and time
    phrases of the language.  Used to grade sentences an n-gram model generates.
    """
    if isinstance(sentence, str):
        raise ValueError(
            f"sentence must be a list of tokens, got the str {sentence[:30]!r}; split it first"
        )
    toks = list(sentence)
    if len(toks) < 2 or toks[0] != "the":
        return False
    plural_of = {s: v[0] for s, v in _NOUNS.items()}
    noun = toks[1]
    if noun in plural_of:
        plural = False
    elif noun in plural_of.values():
        plural = True
    else:
        return False
    rest = toks[2:]
    if rest[:2] == ["rode", "the"] and len(rest) >= 3:
        return rest[2] in surf_rides()[noun] and tuple(rest[3:]) in _TIMES
    for mod in _MODIFIERS:
        if tuple(rest[: len(mod)]) == mod and len(rest) == len(mod) + 2:
            verb, adj = rest[len(mod):]
            return verb == ("were" if plural else "was") and adj in _ADJECTIVES
    return False


# -- named-entity tagging ----------------------------------------------------
NER_LABELS = {0: "other", 1: "person", 2: "place"}

# A dialogue in the spirit of a famous comedy routine, where the players of a
# baseball team are called Who, What and Nobody: the same word is a person in
# one place and an ordinary word in another.  Labels: 0 other, 1 person, 2 place.
_WHO_PLAYS_FIRST = (
    ("tell me the names of the players on your team", "0 0 0 0 0 0 0 0 0 0"),
    ("who plays on first base", "1 0 0 2 0"),
    ("who is the man on first", "0 0 0 0 0 2"),
    ("what plays second and nobody plays third", "1 0 2 0 1 0 2"),
    ("what is the name of the man on second", "0 0 0 0 0 0 0 0 2"),
    ("no what is on second , who is on first", "0 1 0 0 2 0 1 0 0 2"),
    ("i asked you who is on first", "0 0 0 0 0 0 2"),
    ("exactly , who is on first and nobody is on third", "0 0 1 0 0 2 0 1 0 0 2"),
)


def who_plays_first() -> tuple[list[list[str]], list[np.ndarray]]:
    """A tiny tagging data set: tokenised lines and one label per token.

    Shows why tagging needs context: ``who`` and ``what`` are sometimes the
    names of players (label 1) and sometimes question words (label 0).
    """
    tokens = [line.split() for line, _ in _WHO_PLAYS_FIRST]
    labels = [np.array([int(v) for v in tags.split()]) for _, tags in _WHO_PLAYS_FIRST]
    for toks, labs in zip(tokens, labels):
        assert len(toks) == len(labs), (toks, labs)
    return tokens, labels
