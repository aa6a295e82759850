"""Generated pictures and clips with captions that can be checked: the data of lecture 07.

A *scene* is a tuple of one to three objects. Every object has a shape, a colour, a size and the
pixel position of its centre (x to the right, y downwards, like an image's columns and rows)::

    Obj(shape="circle", colour="red", size="big", x=20.5, y=9.0)

``render`` paints scenes into RGB images of shape (N, 3, S, S) (channels first, as torch's
``Conv2d`` expects), values in [0, 1], with a little pixel noise.

Captions come from a small grammar, and a scene has *several* correct captions (the order of the
objects, an optional size word, which relation is named)::

    caption   := object                                  (one object)
               | object relation object                  (two objects)
               | object "," object "and" object          (three objects, any order)
    object    := "a" [size] colour shape
    relation  := "left" "of" | "right" "of" | "above" | "below"

Relations are geometric: ``A left of B`` holds when ``x_A < x_B - margin`` and ``A above B`` when
``y_A < y_B - margin`` (y grows downwards); the generator keeps pairs of objects either aligned
or clearly apart, so no relation is a borderline case.

``parse_caption`` reads a caption back into its objects and relation, and ``is_true`` checks that
content against a scene: the tool that measures *semantic accuracy* of a captioning model.

A *clip* is a short video of one moving object with an action label (``ACTIONS``) and the
sentences that describe it ("the red square moves left"); ``render_clips`` gives frames of shape
(N, T, 3, S, S). A clip played backwards is a clip of the opposite action (left and right, up and
down, grow and shrink), which is what defeats order-blind pooling over time.

Everything is numpy, seeded by the ``numpy.random.Generator`` the caller passes, and fast.
"""

from __future__ import annotations

import itertools
from typing import NamedTuple, Sequence

import numpy as np

__all__ = [
    "SHAPES", "COLOURS", "SIZES", "RELATIONS", "ACTIONS", "WORDS", "RGB",
    "Obj", "Clip", "Parsed",
    "radius", "relation_holds", "true_relations", "random_scene", "make_scenes", "render",
    "object_phrases", "captions", "sample_caption", "parse_caption", "is_true", "is_complete",
    "random_clip", "make_clips", "render_clips", "clip_sentences", "sample_sentence",
    "reverse_clip", "as_dicts",
]

SHAPES = ("square", "circle", "triangle")
COLOURS = ("red", "green", "blue", "yellow")
SIZES = ("small", "big")
RELATIONS = ("left of", "right of", "above", "below")
ACTIONS = ("left", "right", "up", "down", "grow", "shrink", "bounce")
#: Every word the captions and sentences use (without start, end and padding symbols).
WORDS = ("a", "the", ",", "and", "left", "right", "of", "above", "below", *SIZES, *COLOURS, *SHAPES,
         "moves", "up", "down", "grows", "shrinks", "bounces")

RGB = {"red": (0.9, 0.12, 0.1), "green": (0.15, 0.75, 0.15), "blue": (0.15, 0.3, 0.95),
       "yellow": (0.95, 0.85, 0.1)}
_RADIUS32 = {"small": 4.0, "big": 6.5}   # half-widths in pixels on a 32 x 32 image
_REFERENCE_SIZE = 32


class Obj(NamedTuple):
    """One object of a scene: attributes and the pixel position of its centre."""

    shape: str
    colour: str
    size: str
    x: float
    y: float


class Parsed(NamedTuple):
    """The content of a caption: objects as (size or None, colour, shape), and the relation
    ``(i, name, j)`` between objects ``i`` and ``j`` (``None`` when there is none)."""

    objects: tuple[tuple[str | None, str, str], ...]
    relation: tuple[int, str, int] | None


class Clip(NamedTuple):
    """A clip of one object: its attributes, the action, and per-frame x, y and half-width."""

    shape: str
    colour: str
    size: str
    action: str
    xs: np.ndarray
    ys: np.ndarray
    radii: np.ndarray


# -- geometry -----------------------------------------------------------------------------------
def radius(size: str, image_size: int = _REFERENCE_SIZE) -> float:
    """Half-width in pixels of an object of ``size`` on an image of ``image_size`` pixels."""
    if size not in _RADIUS32:
        raise ValueError(f"size must be one of {SIZES}, got {size!r}")
    return _RADIUS32[size] * image_size / _REFERENCE_SIZE


def _margin(image_size: int) -> float:
    return 3.0 * image_size / _REFERENCE_SIZE


def relation_holds(a: Obj, relation: str, b: Obj, image_size: int = _REFERENCE_SIZE) -> bool:
    """Whether ``a <relation> b`` is true: centres more than a margin (3 px on 32) apart."""
    m = _margin(image_size)
    if relation == "left of":
        return a.x < b.x - m
    if relation == "right of":
        return a.x > b.x + m
    if relation == "above":
        return a.y < b.y - m
    if relation == "below":
        return a.y > b.y + m
    raise ValueError(f"relation must be one of {RELATIONS}, got {relation!r}")


def true_relations(a: Obj, b: Obj, image_size: int = _REFERENCE_SIZE) -> list[str]:
    """The relations ``r`` for which ``a r b`` holds, in the order of ``RELATIONS``."""
    return [r for r in RELATIONS if relation_holds(a, r, b, image_size)]


def _pair_ok(a: Obj, b: Obj, image_size: int) -> bool:
    """No overlap, and along each axis either aligned (<= 1 px) or clearly apart (>= 2 margins)."""
    s = image_size / _REFERENCE_SIZE
    gap = radius(a.size, image_size) + radius(b.size, image_size) + 2 * s
    dx, dy = abs(a.x - b.x), abs(a.y - b.y)
    if dx < gap and dy < gap:
        return False
    return all(d <= 1.0 * s or d >= 2 * _margin(image_size) for d in (dx, dy))


def _check_rng(rng: object) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise ValueError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                         f"got {type(rng).__name__}")
    return rng


def random_scene(rng: np.random.Generator, n_objects: int = 2, image_size: int = _REFERENCE_SIZE,
                 distinct: bool = True) -> tuple[Obj, ...]:
    """A random scene of ``n_objects`` (1 to 3) objects that fit on the image without touching.

    With ``distinct`` (the default) no two objects share both colour and shape, so that every
    caption names each object unambiguously.
    """
    _check_rng(rng)
    if n_objects not in (1, 2, 3):
        raise ValueError(f"n_objects must be 1, 2 or 3, got {n_objects!r}")
    if image_size < 16:
        raise ValueError(f"image_size must be at least 16 pixels, got {image_size}")
    kinds = [(c, s) for c in COLOURS for s in SHAPES]
    for _ in range(1_000):
        if distinct:
            picks = [kinds[i] for i in rng.choice(len(kinds), size=n_objects, replace=False)]
        else:
            picks = [kinds[i] for i in rng.integers(len(kinds), size=n_objects)]
        objs: list[Obj] = []
        for colour, shape in picks:            # place one object at a time, retrying its position
            size = SIZES[int(rng.integers(2))]
            r = radius(size, image_size)
            for _ in range(200):
                x, y = rng.uniform(r + 1, image_size - 1 - r, size=2)
                o = Obj(shape, colour, size, float(round(x, 1)), float(round(y, 1)))
                if all(_pair_ok(o, b, image_size) for b in objs):
                    objs.append(o)
                    break
            else:
                break
        if len(objs) == n_objects:
            return tuple(objs)
    raise RuntimeError("could not place the objects; use a larger image_size")  # pragma: no cover


def make_scenes(n: int, rng: np.random.Generator, n_objects: Sequence[int] | int = (1, 2),
                image_size: int = _REFERENCE_SIZE) -> list[tuple[Obj, ...]]:
    """``n`` random scenes, the number of objects drawn uniformly from ``n_objects``."""
    _check_rng(rng)
    counts = [n_objects] if isinstance(n_objects, (int, np.integer)) else list(n_objects)
    if not counts or any(c not in (1, 2, 3) for c in counts):
        raise ValueError(f"n_objects must be 1, 2, 3 or a list of them, got {n_objects!r}")
    if n < 0:
        raise ValueError(f"n must be non-negative, got {n}")
    return [random_scene(rng, int(counts[int(rng.integers(len(counts)))]), image_size) for _ in range(n)]


# -- rendering ----------------------------------------------------------------------------------
def _mask(shape: str, x: float, y: float, r: float, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    dx, dy = cols - x, rows - y
    if shape == "square":
        return (np.abs(dx) <= r) & (np.abs(dy) <= r)
    if shape == "circle":
        return dx ** 2 + dy ** 2 <= (r + 0.5) ** 2
    if shape == "triangle":   # apex up, base at the bottom
        return (dy >= -r) & (dy <= r) & (np.abs(dx) <= (dy + r) / 2 + 0.5)
    raise ValueError(f"shape must be one of {SHAPES}, got {shape!r}")


def _paint(image: np.ndarray, shape: str, colour: str, x: float, y: float, r: float) -> None:
    size = image.shape[-1]
    rows, cols = np.mgrid[0:size, 0:size]
    m = _mask(shape, x, y, r, cols, rows)
    if colour not in RGB:
        raise ValueError(f"colour must be one of {COLOURS}, got {colour!r}")
    image[:, m] = np.asarray(RGB[colour], dtype=image.dtype)[:, None]


def render(scenes: Sequence[Sequence[Obj]], image_size: int = _REFERENCE_SIZE, noise: float = 0.03,
           rng: np.random.Generator | None = None) -> np.ndarray:
    """Paint ``scenes`` into float32 images (N, 3, image_size, image_size), values in [0, 1].

    The background is dark grey; ``noise`` is the standard deviation of Gaussian pixel noise
    drawn from ``rng`` (no noise when ``rng`` is None).
    """
    if isinstance(scenes, Obj) or (len(scenes) and isinstance(scenes[0], Obj)):
        raise ValueError("render expects a list of scenes (each a tuple of Obj); wrap one scene "
                         "in a list: render([scene])")
    out = np.full((len(scenes), 3, image_size, image_size), 0.1, dtype=np.float32)
    for img, scene in zip(out, scenes):
        for o in scene:
            _paint(img, o.shape, o.colour, o.x, o.y, radius(o.size, image_size))
    if rng is not None and noise > 0:
        out += rng.normal(0.0, noise, size=out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0, out=out)


# -- captions -----------------------------------------------------------------------------------
def object_phrases(o: Obj) -> list[list[str]]:
    """The ways to name one object: with and without its size word."""
    return [["a", o.colour, o.shape], ["a", o.size, o.colour, o.shape]]


def captions(scene: Sequence[Obj], image_size: int = _REFERENCE_SIZE) -> list[list[str]]:
    """Every caption of the grammar that is true and complete for ``scene``, sorted.

    One object: 2 captions (size word or not). Two objects: both orders, every relation that
    holds, each object with or without its size (8 or 16). Three objects: every order with or
    without each size (48).
    """
    scene = tuple(scene)
    if len(scene) not in (1, 2, 3):
        raise ValueError(f"a scene has 1 to 3 objects, got {len(scene)}")
    out: list[list[str]] = []
    if len(scene) == 1:
        out = object_phrases(scene[0])
    elif len(scene) == 2:
        for a, b in itertools.permutations(scene):
            for rel in true_relations(a, b, image_size):
                for pa, pb in itertools.product(object_phrases(a), object_phrases(b)):
                    out.append(pa + rel.split() + pb)
    else:
        for a, b, c in itertools.permutations(scene):
            for pa, pb, pc in itertools.product(*(object_phrases(o) for o in (a, b, c))):
                out.append(pa + [","] + pb + ["and"] + pc)
    return sorted(out)


def sample_caption(scene: Sequence[Obj], rng: np.random.Generator,
                   image_size: int = _REFERENCE_SIZE) -> list[str]:
    """One correct caption of ``scene`` drawn uniformly from ``captions(scene)``."""
    _check_rng(rng)
    options = captions(scene, image_size)
    return list(options[int(rng.integers(len(options)))])


def _parse_object(tokens: list[str], i: int) -> tuple[tuple[str | None, str, str], int] | None:
    if i >= len(tokens) or tokens[i] != "a":
        return None
    i += 1
    size = None
    if i < len(tokens) and tokens[i] in SIZES:
        size, i = tokens[i], i + 1
    if i + 1 >= len(tokens) or tokens[i] not in COLOURS or tokens[i + 1] not in SHAPES:
        return None
    return (size, tokens[i], tokens[i + 1]), i + 2


def parse_caption(caption: Sequence[str] | str) -> Parsed | None:
    """Read a caption (a token list or a space-separated string) into its content.

    Returns ``None`` when the caption is not a sentence of the grammar (an unfinished caption,
    a repeated word, a missing article ...)::

        parse_caption("a big red square left of a blue circle")
        -> Parsed(objects=(('big', 'red', 'square'), (None, 'blue', 'circle')),
                  relation=(0, 'left of', 1))
    """
    tokens = caption.split() if isinstance(caption, str) else list(caption)
    if not all(isinstance(t, str) for t in tokens):
        raise ValueError("a caption is a list of word strings (or one string)")
    first = _parse_object(tokens, 0)
    if first is None:
        return None
    obj, i = first
    if i == len(tokens):
        return Parsed((obj,), None)
    rel = None
    for name in RELATIONS:
        words = name.split()
        if tokens[i:i + len(words)] == words:
            rel, i = name, i + len(words)
            break
    if rel is not None:
        second = _parse_object(tokens, i)
        if second is None or second[1] != len(tokens):
            return None
        return Parsed((obj, second[0]), (0, rel, 1))
    if tokens[i] != ",":
        return None
    second = _parse_object(tokens, i + 1)
    if second is None or second[1] >= len(tokens) or tokens[second[1]] != "and":
        return None
    third = _parse_object(tokens, second[1] + 1)
    if third is None or third[1] != len(tokens):
        return None
    return Parsed((obj, second[0], third[0]), None)


def _matches(desc: tuple[str | None, str, str], o: Obj) -> bool:
    size, colour, shape = desc
    return o.colour == colour and o.shape == shape and (size is None or size == o.size)


def is_true(caption: Sequence[str] | str, scene: Sequence[Obj], image_size: int = _REFERENCE_SIZE) -> bool:
    """Whether the content of ``caption`` is true of ``scene``.

    True when the caption parses, and its objects can be matched to *distinct* objects of the
    scene with the same colour and shape (and size, where the caption gives one) such that the
    relation, if any, holds between the matched objects. A caption that names fewer objects than
    the scene has can be true (see ``is_complete``); an ungrammatical one is never true.
    """
    parsed = parse_caption(caption)
    if parsed is None:
        return False
    scene = tuple(scene)
    k = len(parsed.objects)
    for chosen in itertools.permutations(range(len(scene)), k):
        if not all(_matches(d, scene[j]) for d, j in zip(parsed.objects, chosen)):
            continue
        if parsed.relation is None:
            return True
        i, rel, j = parsed.relation
        if relation_holds(scene[chosen[i]], rel, scene[chosen[j]], image_size):
            return True
    return False


def is_complete(caption: Sequence[str] | str, scene: Sequence[Obj], image_size: int = _REFERENCE_SIZE) -> bool:
    """True and naming every object of the scene."""
    parsed = parse_caption(caption)
    return parsed is not None and len(parsed.objects) == len(scene) and is_true(caption, scene, image_size)


def as_dicts(scene: Sequence[Obj]) -> list[dict]:
    """A scene as a list of plain dicts (``{"shape", "colour", "size", "x", "y"}``)."""
    return [o._asdict() for o in scene]


# -- clips --------------------------------------------------------------------------------------
def random_clip(rng: np.random.Generator, action: str, n_frames: int = 8,
                image_size: int = _REFERENCE_SIZE) -> Clip:
    """One clip of a single object doing ``action`` over ``n_frames`` frames.

    Moves cover 8 px (on a 32-pixel image) at a constant speed; ``grow`` and ``shrink`` change the
    half-width between the small and the big size and back (so the size word of the sentence is
    the size at the start); ``bounce`` goes up 8 px and comes back. Opposite actions have the
    same distribution of positions, so each is the other played backwards.
    """
    _check_rng(rng)
    if action not in ACTIONS:
        raise ValueError(f"action must be one of {ACTIONS}, got {action!r}")
    if n_frames < 3:
        raise ValueError(f"n_frames must be at least 3, got {n_frames}")
    s = image_size / _REFERENCE_SIZE
    colour = COLOURS[int(rng.integers(len(COLOURS)))]
    shape = SHAPES[int(rng.integers(len(SHAPES)))]
    size = SIZES[int(rng.integers(2))]
    t = np.linspace(0.0, 1.0, n_frames)
    span = 8.0 * s
    r_small, r_big = radius("small", image_size), radius("big", image_size)
    r_max = r_big + 0.5 * s
    lo, hi = r_max + 1, image_size - 1 - r_max
    x0, y0 = rng.uniform(lo, hi - span, size=2)   # the start of a move to the right / downwards
    radii = np.full(n_frames, radius(size, image_size))
    xs, ys = np.full(n_frames, x0 + span / 2), np.full(n_frames, y0 + span / 2)
    if action in ("left", "right"):
        xs = x0 + span * t
    elif action in ("up", "down"):
        ys = y0 + span * t
    elif action in ("grow", "shrink"):
        size = "small"
        radii = r_small + (r_big - r_small) * t
    else:  # bounce: up and back
        ys = y0 + span - span * (1 - np.abs(2 * t - 1))
    if action in ("left", "up", "shrink"):
        xs, ys, radii = xs[::-1], ys[::-1], radii[::-1]
        if action == "shrink":
            size = "big"
    return Clip(shape, colour, size, action, np.round(xs, 2), np.round(ys, 2), np.round(radii, 2))


def reverse_clip(clip: Clip) -> Clip:
    """The clip played backwards, labelled with the action it then shows."""
    opposite = {"left": "right", "right": "left", "up": "down", "down": "up", "grow": "shrink",
                "shrink": "grow", "bounce": "bounce"}
    size = {"grow": "big", "shrink": "small"}.get(clip.action, clip.size)
    return Clip(clip.shape, clip.colour, size, opposite[clip.action], clip.xs[::-1], clip.ys[::-1],
                clip.radii[::-1])


def make_clips(n: int, rng: np.random.Generator, actions: Sequence[str] = ACTIONS, n_frames: int = 8,
               image_size: int = _REFERENCE_SIZE) -> list[Clip]:
    """``n`` clips, the action of each drawn uniformly from ``actions``."""
    _check_rng(rng)
    bad = [a for a in actions if a not in ACTIONS]
    if bad or not len(actions):
        raise ValueError(f"actions must be a non-empty list from {ACTIONS}, got {list(actions)!r}")
    return [random_clip(rng, actions[int(rng.integers(len(actions)))], n_frames, image_size)
            for _ in range(n)]


def render_clips(clips: Sequence[Clip], image_size: int = _REFERENCE_SIZE, noise: float = 0.03,
                 rng: np.random.Generator | None = None) -> np.ndarray:
    """Frames of ``clips`` as float32 (N, T, 3, image_size, image_size), values in [0, 1]."""
    if isinstance(clips, Clip):
        raise ValueError("render_clips expects a list of clips; wrap one clip in a list")
    if not len(clips):
        return np.zeros((0, 0, 3, image_size, image_size), dtype=np.float32)
    T = len(clips[0].xs)
    if any(len(c.xs) != T for c in clips):
        raise ValueError("all clips must have the same number of frames")
    out = np.full((len(clips), T, 3, image_size, image_size), 0.1, dtype=np.float32)
    for frames, c in zip(out, clips):
        for frame, x, y, r in zip(frames, c.xs, c.ys, c.radii):
            _paint(frame, c.shape, c.colour, float(x), float(y), float(r))
    if rng is not None and noise > 0:
        out += rng.normal(0.0, noise, size=out.shape).astype(np.float32)
    return np.clip(out, 0.0, 1.0, out=out)


_VERB = {"left": ["moves", "left"], "right": ["moves", "right"], "up": ["moves", "up"],
         "down": ["moves", "down"], "grow": ["grows"], "shrink": ["shrinks"], "bounce": ["bounces"]}


def clip_sentences(clip: Clip) -> list[list[str]]:
    """The correct sentences of a clip: "the [size] colour shape <verb>", size optional."""
    verb = _VERB[clip.action]
    return [["the", clip.colour, clip.shape, *verb], ["the", clip.size, clip.colour, clip.shape, *verb]]


def sample_sentence(clip: Clip, rng: np.random.Generator) -> list[str]:
    """One of ``clip_sentences(clip)``, drawn uniformly."""
    _check_rng(rng)
    options = clip_sentences(clip)
    return list(options[int(rng.integers(len(options)))])
