"""A character-level language model in torch, its sampler, and an offline corpus.

The corpus is text that every Python installation carries: the docstrings (or
the source) of a fixed list of standard-library modules, found through
``sysconfig.get_paths()["stdlib"]``. Nothing is downloaded and nothing is
stored in the repository; the exact text depends a little on the Python
version, so the course states results as bounds, not exact numbers.

The model reads one-hot characters with a one-layer ``tanh`` RNN
(``torch.nn.RNN``, time-major) and predicts the next character with a linear
layer and a softmax. It trains with *truncated* backpropagation through time:
the text is cut into ``batch_size`` parallel streams, each stream is read in
chunks of ``seq_len`` characters, the hidden state is carried from one chunk to
the next but detached, so gradients flow back at most ``seq_len`` steps.
"""

from __future__ import annotations

import ast
import math
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F
from seqcourse.progress import tqdm

__all__ = [
    "CORPUS_MODULES",
    "stdlib_corpus",
    "Vocab",
    "CharRNN",
    "batchify",
    "train_charlm",
    "evaluate",
    "sample",
    "TrainLog",
]

#: Standard-library files the corpus reads, in this order (missing ones are skipped).
CORPUS_MODULES = (
    "textwrap.py", "string.py", "heapq.py", "bisect.py", "fractions.py", "shlex.py",
    "difflib.py", "calendar.py", "random.py", "functools.py", "statistics.py", "argparse.py",
    "csv.py", "pathlib.py", "datetime.py", "inspect.py", "typing.py", "dataclasses.py",
    "enum.py", "pprint.py", "tokenize.py", "configparser.py", "gettext.py", "locale.py",
    "subprocess.py", "threading.py", "tarfile.py", "zipfile.py", "pickle.py", "shutil.py",
    "tempfile.py", "os.py", "ast.py", "doctest.py", "pydoc.py", "_pydecimal.py",
)


def _docstrings(source: str) -> list[str]:
    """Module, class and function docstrings of one file, in source order."""
    try:
        tree = ast.parse(source)
    except SyntaxError:  # pragma: no cover - stdlib files parse
        return []
    nodes = [tree] + sorted(
        (n for n in ast.walk(tree) if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))),
        key=lambda n: (n.lineno, n.col_offset),
    )
    return [d for n in nodes if (d := ast.get_docstring(n, clean=True))]


def stdlib_corpus(max_chars: int = 300_000, kind: str = "docstrings", stdlib: str | None = None) -> str:
    """Deterministic English-and-code text from the Python standard library.

    ``kind="docstrings"``: the docstrings of ``CORPUS_MODULES`` (prose with
    examples), separated by blank lines; ``kind="source"``: the files' source.
    Characters outside printable ASCII (plus newline) are dropped. At most
    ``max_chars`` characters are returned.
    """
    if kind not in ("docstrings", "source"):
        raise ValueError(f"kind must be 'docstrings' or 'source', got {kind!r}")
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    root = Path(stdlib or sysconfig.get_paths()["stdlib"])
    keep = set(map(chr, range(32, 127))) | {"\n"}
    parts: list[str] = []
    total = 0
    for name in CORPUS_MODULES:
        path = root / name
        if not path.is_file():
            continue
        source = path.read_text(encoding="utf-8", errors="replace").replace("\t", "    ")
        pieces = _docstrings(source) if kind == "docstrings" else [source]
        for piece in pieces:
            clean = "".join(c for c in piece if c in keep).strip()
            if clean:
                parts.append(clean)
                total += len(clean) + 2
        if total >= max_chars:
            break
    if not parts:
        raise ValueError(f"found none of the corpus files under {root}")
    return "\n\n".join(parts)[:max_chars]


@dataclass
class Vocab:
    """The sorted set of characters of a text, with encoding and decoding."""

    chars: list[str]
    index: dict[str, int] = field(init=False)

    def __post_init__(self) -> None:
        if len(set(self.chars)) != len(self.chars):
            raise ValueError("Vocab chars must be distinct")
        self.index = {c: i for i, c in enumerate(self.chars)}

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> torch.Tensor:
        """Character ids, a long tensor of shape (len(text),)."""
        unknown = sorted(set(text) - set(self.index))
        if unknown:
            raise ValueError(f"characters not in the vocabulary: {unknown[:10]}")
        return torch.tensor([self.index[c] for c in text], dtype=torch.long)

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


class CharRNN(nn.Module):
    """One-hot characters -> ``nn.RNN`` (tanh) -> linear -> logits over the vocabulary.

    ``forward(ids, h0)``: ids (T, B) long, h0 (1, B, H) or None ->
    ``(logits (T, B, V), h_T (1, B, H))``.
    """

    def __init__(self, vocab_size: int, hidden_size: int) -> None:
        super().__init__()
        if vocab_size < 2 or hidden_size < 1:
            raise ValueError(f"need vocab_size >= 2 and hidden_size >= 1, got {vocab_size}, {hidden_size}")
        self.vocab_size = vocab_size
        self.rnn = nn.RNN(vocab_size, hidden_size, nonlinearity="tanh")
        self.head = nn.Linear(hidden_size, vocab_size)

    def forward(self, ids: torch.Tensor, h0: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        if ids.dim() != 2:
            raise ValueError(f"ids must have shape (T, B), got {tuple(ids.shape)}")
        x = F.one_hot(ids, self.vocab_size).to(self.head.weight.dtype)
        h, h_last = self.rnn(x, h0)
        return self.head(h), h_last


def batchify(ids: torch.Tensor, batch_size: int) -> torch.Tensor:
    """Cut a 1-D id tensor into ``batch_size`` parallel streams: shape (L // B, B).

    Column b is a contiguous slice of the text, so a hidden state can be
    carried down each column from chunk to chunk."""
    if ids.dim() != 1:
        raise ValueError(f"ids must be 1-D, got shape {tuple(ids.shape)}")
    n = ids.numel() // batch_size
    if n < 2:
        raise ValueError(f"{ids.numel()} characters are too few for {batch_size} streams")
    return ids[: n * batch_size].view(batch_size, n).t().contiguous()


@dataclass
class TrainLog:
    """Mean training loss (nats/char) per logged window and the norms before clipping."""

    steps: list[int] = field(default_factory=list)
    train: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)


def train_charlm(
    model: CharRNN,
    ids: torch.Tensor,
    *,
    steps: int,
    seq_len: int = 32,
    batch_size: int = 32,
    lr: float = 3e-3,
    clip: float | None = 1.0,
    log_every: int = 20,
    device: torch.device | None = None,
    progress: bool = True,
) -> TrainLog:
    """Train ``model`` with Adam and truncated BPTT for ``steps`` chunks.

    Each step reads the next ``seq_len`` characters of every stream, carries
    the (detached) hidden state on, and wraps around to the start of the text
    (with a fresh zero state) at the end. Gradients are clipped to global norm
    ``clip`` when it is given.
    """
    device = device or next(model.parameters()).device
    data = batchify(ids, batch_size).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    log, window, h, pos = TrainLog(), [], None, 0
    model.train()
    for step in tqdm(range(1, steps + 1), desc="training", leave=False, disable=not progress):
        if pos + seq_len + 1 > data.shape[0]:
            pos, h = 0, None
        x, y = data[pos: pos + seq_len], data[pos + 1: pos + seq_len + 1]
        pos += seq_len
        logits, h = model(x, h)
        h = h.detach()                                  # truncate: no gradient into the last chunk
        loss = F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        norm = torch.nn.utils.clip_grad_norm_(model.parameters(), clip if clip else math.inf)
        opt.step()
        window.append(loss.item())
        if step % log_every == 0 or step == steps:
            log.steps.append(step)
            log.train.append(sum(window) / len(window))
            log.grad_norm.append(float(norm))
            window = []
    return log


@torch.no_grad()
def evaluate(model: CharRNN, ids: torch.Tensor, *, seq_len: int = 64, batch_size: int = 16) -> float:
    """Mean cross-entropy in nats per character of the next-character predictions on ``ids``
    (hidden state carried through the whole text, in ``batch_size`` streams)."""
    model.eval()
    device = next(model.parameters()).device
    data = batchify(ids, batch_size).to(device)
    total, count, h = 0.0, 0, None
    for pos in range(0, data.shape[0] - 1, seq_len):
        x, y = data[pos: pos + seq_len], data[pos + 1: pos + seq_len + 1]
        x = x[: y.shape[0]]
        logits, h = model(x, h)
        total += float(F.cross_entropy(logits.reshape(-1, model.vocab_size), y.reshape(-1), reduction="sum"))
        count += y.numel()
    model.train()
    return total / count


@torch.no_grad()
def sample(
    model: CharRNN,
    vocab: Vocab,
    prime: str,
    length: int,
    *,
    temperature: float = 1.0,
    generator: torch.Generator | None = None,
) -> str:
    """Feed ``prime`` (at least one character), then draw ``length`` characters.

    Each draw is from ``softmax(z / temperature)``: temperature 1 samples the
    model, below 1 sharpens it (towards the most likely character), above 1
    flattens it (towards uniform). ``temperature=0`` picks the argmax.
    """
    if not prime:
        raise ValueError("prime must hold at least one character")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    model.eval()
    device = next(model.parameters()).device
    ids = vocab.encode(prime).to(device)[:, None]
    logits, h = model(ids)
    last = logits[-1, 0]
    out = []
    for _ in range(length):
        if temperature == 0:
            nxt = int(last.argmax())
        else:
            probs = torch.softmax(last.double().cpu() / temperature, dim=-1)
            nxt = int(torch.multinomial(probs, 1, generator=generator))
        out.append(nxt)
        logits, h = model(torch.tensor([[nxt]], device=device), h)
        last = logits[-1, 0]
    model.train()
    return vocab.decode(out)
