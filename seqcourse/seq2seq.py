"""An encoder-decoder in torch, with optional source reversal and attention.

Shapes: ``B`` sentences, source length ``S``, target length ``T``, hidden size
``H``, embedding size ``E``, target vocabulary ``V``.

* **Encoder**: a GRU (or LSTM) reads the embedded source ``(B, S, E)`` and
  gives states ``h_1..h_S`` ``(B, S, H)``; padding is skipped with packed
  sequences, so the final state ``h_S`` is that of each sentence's last real token.
  With ``reverse_source=True`` each sentence is read back to front (padding
  stays at the end), which puts the first source words next to the first
  target words.
* **Decoder** (one step): ``s_t = GRUCell([emb(y_{t-1}); c_{t-1}], s_{t-1})``,
  starting from ``s_0 = h_S``.  Without attention the context is always
  ``c = h_S``: the whole sentence squeezed into one vector (the *bottleneck*).
  With attention

      e_tj = v^T tanh(W s_t + U h_j)            (additive, Bahdanau)
      e_tj = s_t . h_j / sqrt(H)                (dot product)
      a_t  = softmax_j(e_tj)  over the real positions j (padding masked to -inf)
      c_t  = sum_j a_tj h_j

  and the next-token logits are ``Linear([s_t; c_t; emb(y_{t-1})])``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from .translation import BOS, EOS, PAD

__all__ = ["Seq2Seq", "masked_attention", "reverse_padded", "make_batch", "train_seq2seq",
           "greedy_batch", "step_function", "exact_match", "token_cross_entropy"]


def masked_attention(scores: torch.Tensor, values: torch.Tensor,
                     mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Softmax of ``scores`` ``(B, S)`` over the positions where ``mask`` ``(B, S)``
    is True; return ``(context (B, H), weights (B, S))`` with ``values`` ``(B, S, H)``."""
    if scores.shape != mask.shape or values.shape[:2] != scores.shape:
        raise ValueError(f"scores {tuple(scores.shape)}, mask {tuple(mask.shape)} and values "
                         f"{tuple(values.shape)} must agree as (B, S), (B, S), (B, S, H)")
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
    return torch.bmm(weights.unsqueeze(1), values).squeeze(1), weights


def reverse_padded(src: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    """Reverse each row's first ``lengths[b]`` entries, leaving the padding at the end."""
    S = src.shape[1]
    pos = torch.arange(S, device=src.device).expand_as(src)
    idx = torch.where(pos < lengths[:, None], lengths[:, None] - 1 - pos, pos)
    return torch.gather(src, 1, idx)


class Seq2Seq(nn.Module):
    """GRU/LSTM encoder-decoder; ``attention`` in ``(None, "additive", "dot")``."""

    def __init__(self, src_vocab: int, tgt_vocab: int, emb: int = 32, hidden: int = 64,
                 cell: str = "gru", attention: str | None = "additive",
                 reverse_source: bool = False):
        super().__init__()
        if cell not in ("gru", "lstm"):
            raise ValueError(f"cell must be 'gru' or 'lstm', got {cell!r}")
        if attention not in (None, "additive", "dot"):
            raise ValueError(f"attention must be None, 'additive' or 'dot', got {attention!r}")
        self.cell, self.attention, self.reverse_source = cell, attention, reverse_source
        self.hidden = hidden
        self.src_emb = nn.Embedding(src_vocab, emb, padding_idx=PAD)
        self.tgt_emb = nn.Embedding(tgt_vocab, emb, padding_idx=PAD)
        rnn = nn.GRU if cell == "gru" else nn.LSTM
        self.encoder = rnn(emb, hidden, batch_first=True)
        self.decoder = (nn.GRUCell if cell == "gru" else nn.LSTMCell)(emb + hidden, hidden)
        if attention == "additive":
            self.att_W = nn.Linear(hidden, hidden, bias=False)
            self.att_U = nn.Linear(hidden, hidden, bias=True)
            self.att_v = nn.Linear(hidden, 1, bias=False)
        self.out = nn.Linear(2 * hidden + emb, tgt_vocab)

    # -- encoder ----------------------------------------------------------------------
    def encode(self, src: torch.Tensor, lengths: torch.Tensor) -> dict[str, Any]:
        """Encode ``src`` ``(B, S)`` of true ``lengths`` ``(B,)``; return a memory dict
        with ``states (B, S, H)``, ``keys`` (projected states), ``mask (B, S)`` and
        the decoder's initial state."""
        if src.ndim != 2 or lengths.shape != (src.shape[0],):
            raise ValueError(f"src must be (B, S) and lengths (B,), got {tuple(src.shape)} and "
                             f"{tuple(lengths.shape)}")
        if self.reverse_source:
            src = reverse_padded(src, lengths)
        packed = pack_padded_sequence(self.src_emb(src), lengths.cpu(), batch_first=True,
                                      enforce_sorted=False)
        out, final = self.encoder(packed)
        states, _ = pad_packed_sequence(out, batch_first=True, total_length=src.shape[1])
        mask = torch.arange(src.shape[1], device=src.device)[None, :] < lengths[:, None]
        if self.cell == "gru":
            s0 = final[0]
            summary = s0
        else:
            s0 = (final[0][0], final[1][0])
            summary = s0[0]
        keys = self.att_U(states) if self.attention == "additive" else states
        return {"states": states, "keys": keys, "mask": mask, "summary": summary, "init": s0}

    # -- decoder ----------------------------------------------------------------------
    def _context(self, s: torch.Tensor, memory: dict) -> tuple[torch.Tensor, torch.Tensor | None]:
        if self.attention is None:
            return memory["summary"], None
        if self.attention == "additive":
            scores = self.att_v(torch.tanh(self.att_W(s)[:, None, :] + memory["keys"])).squeeze(2)
        else:
            scores = torch.einsum("bh,bsh->bs", s, memory["keys"]) / math.sqrt(self.hidden)
        return masked_attention(scores, memory["states"], memory["mask"])

    def init_state(self, memory: dict) -> tuple[Any, torch.Tensor]:
        """Decoder state before the first step: (recurrent state, previous context)."""
        return memory["init"], memory["summary"]

    def step(self, y_prev: torch.Tensor, state: tuple[Any, torch.Tensor], memory: dict
             ) -> tuple[torch.Tensor, tuple[Any, torch.Tensor], torch.Tensor | None]:
        """One decoder step: previous tokens ``(B,)`` -> logits ``(B, V)``, new state,
        attention weights ``(B, S)`` (``None`` without attention)."""
        rec, ctx_prev = state
        e = self.tgt_emb(y_prev)
        rec = self.decoder(torch.cat([e, ctx_prev], dim=1), rec)
        s = rec if self.cell == "gru" else rec[0]
        ctx, weights = self._context(s, memory)
        logits = self.out(torch.cat([s, ctx, e], dim=1))
        return logits, (rec, ctx), weights

    def forward(self, src: torch.Tensor, lengths: torch.Tensor, tgt_in: torch.Tensor
                ) -> torch.Tensor:
        """Teacher forcing: logits ``(B, T, V)`` for decoder inputs ``tgt_in`` ``(B, T)``
        (``BOS`` followed by the target shifted right)."""
        memory = self.encode(src, lengths)
        state = self.init_state(memory)
        logits = []
        for t in range(tgt_in.shape[1]):
            lt, state, _ = self.step(tgt_in[:, t], state, memory)
            logits.append(lt)
        return torch.stack(logits, dim=1)


# -- data ---------------------------------------------------------------------------
@dataclass
class Batch:
    src: torch.Tensor        # (B, S)
    lengths: torch.Tensor    # (B,)
    tgt_in: torch.Tensor     # (B, T): BOS y_1 .. y_{T-1}
    tgt_out: torch.Tensor    # (B, T): y_1 .. y_T (= EOS), PAD after


def _pad(seqs: Sequence[Sequence[int]]) -> torch.Tensor:
    T = max(len(s) for s in seqs)
    out = torch.full((len(seqs), T), PAD, dtype=torch.long)
    for i, s in enumerate(seqs):
        out[i, : len(s)] = torch.as_tensor(list(s), dtype=torch.long)
    return out


def make_batch(src_ids: Sequence[Sequence[int]], tgt_ids: Sequence[Sequence[int]] | None = None,
               device: torch.device | str = "cpu") -> Batch:
    """Pad id lists (sources without EOS, targets ending with EOS) into a :class:`Batch`."""
    src = _pad(src_ids).to(device)
    lengths = torch.tensor([len(s) for s in src_ids], dtype=torch.long, device=device)
    if tgt_ids is None:
        return Batch(src, lengths, None, None)
    tgt_out = _pad(tgt_ids).to(device)
    tgt_in = _pad([[BOS] + list(t[:-1]) for t in tgt_ids]).to(device)
    return Batch(src, lengths, tgt_in, tgt_out)


def token_cross_entropy(model: Seq2Seq, batch: Batch) -> torch.Tensor:
    """Mean cross-entropy per target token under teacher forcing (padding ignored)."""
    logits = model(batch.src, batch.lengths, batch.tgt_in)
    return nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]),
                                       batch.tgt_out.reshape(-1), ignore_index=PAD)


def train_seq2seq(model: Seq2Seq, src_ids: Sequence[Sequence[int]],
                  tgt_ids: Sequence[Sequence[int]], steps: int, batch_size: int = 64,
                  lr: float = 3e-3, seed: int = 0, progress: bool = True,
                  clip: float = 1.0) -> list[float]:
    """Adam on random mini-batches for ``steps`` updates; returns the loss curve."""
    from seqcourse.progress import tqdm

    dev = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    model.train()
    for _ in tqdm(range(steps), disable=not progress, desc="training", leave=False):
        idx = rng.choice(len(src_ids), size=min(batch_size, len(src_ids)), replace=False)
        batch = make_batch([src_ids[i] for i in idx], [tgt_ids[i] for i in idx], dev)
        loss = token_cross_entropy(model, batch)
        opt.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


# -- decoding -------------------------------------------------------------------------
@torch.no_grad()
def greedy_batch(model: Seq2Seq, src_ids: Sequence[Sequence[int]], max_len: int = 40,
                 batch_size: int = 512) -> tuple[list[list[int]], list[np.ndarray | None]]:
    """Greedy decoding of many sentences at once.

    Returns the output ids (ending with EOS when produced) and, per sentence,
    the attention weights ``(len(output), len(source))`` (``None`` without attention).
    """
    dev = next(model.parameters()).device
    outs, atts = [], []
    for start in range(0, len(src_ids), batch_size):
        chunk = src_ids[start:start + batch_size]
        b = make_batch(chunk, None, dev)
        memory = model.encode(b.src, b.lengths)
        state = model.init_state(memory)
        y = torch.full((len(chunk),), BOS, dtype=torch.long, device=dev)
        done = torch.zeros(len(chunk), dtype=torch.bool, device=dev)
        toks, ws = [], []
        for _ in range(max_len):
            logits, state, w = model.step(y, state, memory)
            y = logits.argmax(dim=1)
            toks.append(y)
            ws.append(w)
            done |= y == EOS
            if bool(done.all()):
                break
        toks_np = torch.stack(toks, 1).cpu().numpy()
        w_np = torch.stack(ws, 1).cpu().numpy() if model.attention else None
        for i, src in enumerate(chunk):
            row = list(toks_np[i])
            n = row.index(EOS) + 1 if EOS in row else len(row)
            outs.append([int(t) for t in row[:n]])
            if w_np is not None:
                w = w_np[i, :n, : len(src)]
                if model.reverse_source:
                    w = w[:, ::-1]              # columns back in the source's own order
                atts.append(w)
            else:
                atts.append(None)
    return outs, atts


def step_function(model: Seq2Seq, src: Sequence[int]):
    """Adapter for :mod:`seqcourse.decoding`: returns ``(step, init_state)`` for one
    source sentence.  A hypothesis's state is ``(decoder state, attention weights
    of its last step)``; ``state[1]`` is ``None`` at the start and without attention.
    With ``reverse_source`` the weights are given in the source's own order."""
    dev = next(model.parameters()).device
    b = make_batch([list(src)], None, dev)
    with torch.no_grad():
        memory = model.encode(b.src, b.lengths)
        init = model.init_state(memory)

    def expand(m: dict, n: int) -> dict:
        out = {}
        for k, v in m.items():
            out[k] = tuple(x.expand(n, *x.shape[1:]) for x in v) if isinstance(v, tuple) \
                else v.expand(n, *v.shape[1:])
        return out

    def stack(items: list) -> Any:
        if isinstance(items[0], tuple):
            return tuple(torch.cat(parts, 0) for parts in zip(*items))
        return torch.cat(items, 0)

    def split(x: Any, i: int) -> Any:
        return tuple(p[i:i + 1] for p in x) if isinstance(x, tuple) else x[i:i + 1]

    @torch.no_grad()
    def step(prefixes: list[list[int]], states: list[Any]):
        n = len(prefixes)
        rec = stack([s[0][0] for s in states])
        ctx = stack([s[0][1] for s in states])
        y = torch.tensor([p[-1] for p in prefixes], dtype=torch.long, device=dev)
        logits, (rec, ctx), w = model.step(y, (rec, ctx), expand(memory, n))
        logp = torch.log_softmax(logits.double(), dim=1).cpu().numpy()
        new = []
        for i in range(n):
            wi = None
            if w is not None:
                wi = w[i].cpu().numpy()
                if model.reverse_source:
                    wi = wi[::-1].copy()
            new.append(((split(rec, i), split(ctx, i)), wi))
        return logp, new

    return step, (init, None)


def exact_match(hypotheses: Sequence[Sequence[str]],
                references: Sequence[Sequence[Sequence[str]]]) -> float:
    """Fraction of hypotheses equal to one of their references."""
    if len(hypotheses) != len(references):
        raise ValueError(f"{len(hypotheses)} hypotheses but {len(references)} reference lists")
    hits = sum(list(h) in [list(r) for r in refs] for h, refs in zip(hypotheses, references))
    return hits / max(1, len(hypotheses))
