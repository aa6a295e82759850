"""Image captioning and video description in torch, small enough to train on a laptop CPU.

The captioner of lecture 07 is an *encoder* and a *decoder*::

    f = CNN(I)                                  image (N, 3, S, S) -> feature f (N, F)
    (h_0, c_0) = (tanh(W_0 f + b_0), 0)          conditioning on the initial state ("init")
    x_t = [E w_t ; f]  or  E w_t                 conditioning at every step ("input") or not
    h_t, c_t = LSTM(x_t, h_{t-1}, c_{t-1})       hidden size H, embeddings E (V, D)
    log P(S_{t+1} = . | I, S_0..S_t) = log_softmax(W_o h_t + b_o)

("both" uses both ways). A caption is the token sequence ``S_0 = <bos>, S_1 .. S_n, S_{n+1} = <eos>``
and the training loss is minus the log-likelihood, summed over the words of each caption and
averaged over captions,

    -log P(S | I) = -sum_{t=1}^{n+1} log P(S_t | I, S_0..S_{t-1}),

computed by *teacher forcing*: the decoder reads ``inputs = S[:-1]`` and is scored on
``targets = S[1:]`` (shifted by one), padded to a common length with ``<pad>``, whose positions a
mask takes out of the sum.

``make_step`` turns a trained captioner and one image into the step function of
``seqcourse.decoding`` (``step(prefixes, states) -> (log_probs (B, V), new_states)``) so that greedy
decoding and beam search work unchanged.

For clips (N, T, 3, S, S) a frame encoder gives features (N, T, F); ``temporal_pool`` averages
them over time for an order-blind action classifier, ``RecurrentFrameClassifier`` reads them in
order, and ``VideoDescriber`` encodes them with an LSTM and describes the clip with a stacked
two-layer LSTM decoder.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import nn
from seqcourse.progress import tqdm

from . import scenes as S

__all__ = [
    "PAD", "BOS", "EOS", "Vocabulary", "ConvEncoder", "PresenceHead", "presence_targets",
    "pretrain_encoder", "CaptionDecoder", "Captioner", "caption_log_likelihood", "caption_loss",
    "train_captioner", "encode_images", "make_step", "greedy_captions", "beam_captions",
    "semantic_accuracy", "temporal_pool", "PooledFrameClassifier", "RecurrentFrameClassifier",
    "train_classifier", "VideoDescriber", "train_describer", "describe",
]

PAD, BOS, EOS = "<pad>", "<bos>", "<eos>"
CONDITIONS = ("init", "input", "both")


# -- vocabulary -----------------------------------------------------------------------------------
class Vocabulary:
    """Words <-> integer ids, with ``<pad>`` = 0, ``<bos>`` = 1, ``<eos>`` = 2 first."""

    def __init__(self, words: Sequence[str] = S.WORDS):
        self.itos = [PAD, BOS, EOS] + [w for w in dict.fromkeys(words) if w not in (PAD, BOS, EOS)]
        self.stoi = {w: i for i, w in enumerate(self.itos)}
        self.pad, self.bos, self.eos = 0, 1, 2

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, tokens: Sequence[str]) -> list[int]:
        """``<bos> w_1 .. w_n <eos>`` as ids."""
        unknown = [t for t in tokens if t not in self.stoi or t in (PAD, BOS, EOS)]
        if unknown:
            raise ValueError(f"words not in the vocabulary (or special symbols inside a caption): {unknown}")
        return [self.bos] + [self.stoi[t] for t in tokens] + [self.eos]

    def decode(self, ids: Sequence[int]) -> list[str]:
        """Words of ``ids``, dropping ``<bos>``/``<pad>`` and stopping at the first ``<eos>``."""
        out = []
        for i in ids:
            i = int(i)
            if i == self.eos:
                break
            if i not in (self.pad, self.bos):
                out.append(self.itos[i])
        return out

    def batch(self, captions: Sequence[Sequence[str]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Teacher-forcing tensors for a list of captions, each (N, L) with L = longest + 1:

        ``inputs`` = <bos> w_1 .. w_n (then <pad>), ``targets`` = w_1 .. w_n <eos> (then <pad>),
        ``mask`` = 1.0 where the target is a real word or <eos>, 0.0 on padding.
        """
        seqs = [self.encode(c) for c in captions]
        L = max(len(s) for s in seqs) - 1
        inputs = torch.full((len(seqs), L), self.pad, dtype=torch.long)
        targets = torch.full((len(seqs), L), self.pad, dtype=torch.long)
        for n, s in enumerate(seqs):
            inputs[n, :len(s) - 1] = torch.tensor(s[:-1])
            targets[n, :len(s) - 1] = torch.tensor(s[1:])
        return inputs, targets, (targets != self.pad).double()


# -- image encoder and its pre-training -------------------------------------------------------------
class ConvEncoder(nn.Module):
    """Two 3x3 convolutions with ReLU and 2x2 max-pooling, then two summaries of the (S/4, S/4) map:

    * *what*: the maximum of every channel over all positions (C2 numbers, translation-invariant);
    * *where*: a linear map of the flattened map, then ReLU (``features - C2`` numbers).

    (N, 3, S, S) -> (N, features); S must be divisible by 4.
    """

    def __init__(self, features: int = 64, image_size: int = 32, channels: tuple[int, int] = (8, 24)):
        super().__init__()
        if image_size % 4:
            raise ValueError(f"image_size must be divisible by 4, got {image_size}")
        c1, c2 = channels
        if features <= c2:
            raise ValueError(f"features must exceed the {c2} channels of the last convolution, got {features}")
        self.conv = nn.Sequential(
            nn.Conv2d(3, c1, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Conv2d(c1, c2, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(c2 * (image_size // 4) ** 2, features - c2)
        self.features, self.image_size = features, image_size

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if images.ndim != 4 or images.shape[1:] != (3, self.image_size, self.image_size):
            raise ValueError(f"images must have shape (N, 3, {self.image_size}, {self.image_size}), "
                             f"got {tuple(images.shape)}")
        h = self.conv(images)
        return torch.cat([h.amax(dim=(2, 3)), torch.relu(self.fc(h.flatten(1)))], dim=1)


def presence_targets(scenes: Sequence[Sequence[S.Obj]]) -> np.ndarray:
    """Multi-label targets (N, 12): is there a <colour> <shape> in the scene (colour-major order)?"""
    kinds = [(c, s) for c in S.COLOURS for s in S.SHAPES]
    out = np.zeros((len(scenes), len(kinds)))
    for n, scene in enumerate(scenes):
        for o in scene:
            out[n, kinds.index((o.colour, o.shape))] = 1.0
    return out


class PresenceHead(nn.Module):
    """The pre-training task: an encoder and a linear layer of 12 logits (colour x shape)."""

    def __init__(self, encoder: ConvEncoder):
        super().__init__()
        self.encoder = encoder
        self.out = nn.Linear(encoder.features, len(S.COLOURS) * len(S.SHAPES))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.out(self.encoder(images))


def _as_tensor(x: Any, dev: torch.device, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.as_tensor(np.asarray(x), dtype=dtype).to(dev) if not isinstance(x, torch.Tensor) else x.to(dev, dtype)


def pretrain_encoder(encoder: ConvEncoder, images: np.ndarray, scenes: Sequence[Sequence[S.Obj]],
                     epochs: int = 5, batch_size: int = 32, lr: float = 1e-2, seed: int = 0,
                     progress: bool = True) -> list[float]:
    """Train ``encoder`` (in place) on colour-and-shape presence; return the mean loss per epoch."""
    dev = next(encoder.parameters()).device
    model = PresenceHead(encoder).to(dev)
    x = _as_tensor(images, dev)
    y = _as_tensor(presence_targets(scenes), dev)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in tqdm(range(epochs), desc="pre-training", disable=not progress, leave=False):
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for idx in order.split(batch_size):
            loss = nn.functional.binary_cross_entropy_with_logits(model(x[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
    return losses


def presence_accuracy(encoder: ConvEncoder, head_images: np.ndarray, scenes: Sequence, head: nn.Module) -> float:
    """Fraction of scenes whose 12 presence bits are all predicted right (helper for the lecture)."""
    with torch.no_grad():
        dev = next(head.parameters()).device
        pred = head(_as_tensor(head_images, dev)).cpu().numpy() > 0
    return float(np.mean(np.all(pred == (presence_targets(scenes) > 0), axis=1)))


# -- decoder --------------------------------------------------------------------------------------
class CaptionDecoder(nn.Module):
    """An LSTM language model conditioned on a feature vector, ``condition`` in CONDITIONS.

    * ``"init"``: ``h_0 = tanh(W_0 f + b_0)``, ``c_0 = 0``; the inputs are the word embeddings;
    * ``"input"``: ``h_0 = c_0 = 0``; the input at every step is ``[E w_t ; f]``;
    * ``"both"``: both.

    ``layers`` > 1 stacks LSTMs (each layer's initial state is conditioned the same way).
    """

    def __init__(self, vocab_size: int, feature_size: int, embed_size: int = 16, hidden_size: int = 64,
                 condition: str = "init", layers: int = 1):
        super().__init__()
        if condition not in CONDITIONS:
            raise ValueError(f"condition must be one of {CONDITIONS}, got {condition!r}")
        self.condition, self.layers, self.hidden_size = condition, layers, hidden_size
        self.feature_size = feature_size
        self.embed = nn.Embedding(vocab_size, embed_size)
        extra = feature_size if condition in ("input", "both") else 0
        self.lstm = nn.LSTM(embed_size + extra, hidden_size, num_layers=layers, batch_first=True)
        self.init_h = nn.Linear(feature_size, hidden_size * layers) if condition in ("init", "both") else None
        self.out = nn.Linear(hidden_size, vocab_size)

    def initial_state(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``(h_0, c_0)``, each (layers, N, H)."""
        N = features.shape[0]
        zeros = features.new_zeros(self.layers, N, self.hidden_size)
        if self.init_h is None:
            return zeros, zeros.clone()
        h0 = torch.tanh(self.init_h(features)).view(N, self.layers, self.hidden_size).transpose(0, 1)
        return h0.contiguous(), zeros

    def forward(self, features: torch.Tensor, inputs: torch.Tensor,
                state: tuple[torch.Tensor, torch.Tensor] | None = None
                ) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        """Logits (N, L, V) for ``inputs`` (N, L) token ids, and the final state."""
        if features.ndim != 2 or features.shape[1] != self.feature_size:
            raise ValueError(f"features must have shape (N, {self.feature_size}), got {tuple(features.shape)}")
        if inputs.ndim != 2 or inputs.shape[0] != features.shape[0]:
            raise ValueError(f"inputs must have shape (N, L) with N = {features.shape[0]}, got {tuple(inputs.shape)}")
        x = self.embed(inputs)
        if self.condition in ("input", "both"):
            x = torch.cat([x, features[:, None, :].expand(-1, inputs.shape[1], -1)], dim=2)
        if state is None:
            state = self.initial_state(features)
        h, state = self.lstm(x, state)
        return self.out(h), state


class Captioner(nn.Module):
    """A ``ConvEncoder`` and a ``CaptionDecoder``: images (N, 3, S, S) and inputs (N, L) -> logits."""

    def __init__(self, encoder: ConvEncoder, decoder: CaptionDecoder):
        super().__init__()
        self.encoder, self.decoder = encoder, decoder

    def forward(self, images: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        return self.decoder(self.encoder(images), inputs)[0]


def caption_log_likelihood(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """``log P(S | I)`` of each caption (N,): the masked sum over t of ``log_softmax(logits)[t, target_t]``.

    ``logits`` (N, L, V); ``targets`` (N, L) already shifted by one (``S_1 .. S_{n+1}``); ``mask`` (N, L).
    """
    if logits.ndim != 3 or targets.shape != logits.shape[:2] or mask.shape != targets.shape:
        raise ValueError(f"expected logits (N, L, V), targets and mask (N, L); got {tuple(logits.shape)}, "
                         f"{tuple(targets.shape)}, {tuple(mask.shape)}")
    logp = torch.log_softmax(logits, dim=-1).gather(2, targets[..., None]).squeeze(2)
    return (logp * mask.to(logp.dtype)).sum(dim=1)


def caption_loss(logits: torch.Tensor, targets: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Minus the log-likelihood, averaged over the captions of the batch (nats per caption)."""
    return -caption_log_likelihood(logits, targets, mask).mean()


def encode_images(encoder: ConvEncoder, images: np.ndarray, batch_size: int = 512,
                  dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Features (N, F) of ``images`` without gradients, on the encoder's device."""
    dev = next(encoder.parameters()).device
    was = encoder.training
    encoder.eval()
    with torch.no_grad():
        x = _as_tensor(images, dev, next(encoder.parameters()).dtype)
        out = torch.cat([encoder(b) for b in x.split(batch_size)]) if len(x) else x.new_zeros(0, encoder.features)
    encoder.train(was)
    return out.to(dtype)


@dataclass
class CaptionData:
    """Images (N, 3, S, S) and, for every image, the list of its correct captions."""

    images: np.ndarray
    captions: list[list[list[str]]]


def train_captioner(model: Captioner, images: np.ndarray, captions: Sequence[Sequence[Sequence[str]]],
                    vocab: Vocabulary, epochs: int = 10, batch_size: int = 64, lr: float = 5e-3,
                    fine_tune: bool = False, seed: int = 0, progress: bool = True) -> list[float]:
    """Teacher-forcing training; return the mean loss (nats per caption) of each epoch.

    ``captions[n]`` lists the correct captions of image ``n``: every epoch draws one of them at random
    for each image, so the model sees that a picture has many right descriptions. With
    ``fine_tune=False`` the encoder is frozen: its features are computed once and only the decoder
    learns (fast); with ``fine_tune=True`` the gradient flows into the CNN too.
    """
    if len(images) != len(captions):
        raise ValueError(f"one caption list per image: {len(images)} images, {len(captions)} lists")
    dev = next(model.parameters()).device
    dtype = next(model.decoder.parameters()).dtype
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    for p in model.encoder.parameters():
        p.requires_grad_(fine_tune)
    params = [p for p in model.parameters() if p.requires_grad]
    opt = torch.optim.Adam(params, lr=lr)
    x = _as_tensor(images, dev, next(model.encoder.parameters()).dtype)
    frozen = None if fine_tune else encode_images(model.encoder, images, dtype=dtype)
    losses = []
    for _ in tqdm(range(epochs), desc="captioning" + (" (fine-tuning)" if fine_tune else ""),
                  disable=not progress, leave=False):
        chosen = [c[int(rng.integers(len(c)))] for c in captions]
        inputs, targets, mask = (t.to(dev) for t in vocab.batch(chosen))
        order, total = torch.randperm(len(x), generator=gen), 0.0
        for idx in order.split(batch_size):
            feats = frozen[idx.to(dev)] if frozen is not None else model.encoder(x[idx]).to(dtype)
            logits, _ = model.decoder(feats, inputs[idx])
            loss = caption_loss(logits, targets[idx], mask[idx])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(params, 5.0)
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(x))
    for p in model.encoder.parameters():
        p.requires_grad_(True)
    return losses


# -- generation -----------------------------------------------------------------------------------
def make_step(decoder: CaptionDecoder, feature: torch.Tensor):
    """The step function of ``seqcourse.decoding`` for one image's ``feature`` (F,) or (1, F).

    Returns ``(step, init_state)``: ``step(prefixes, states)`` feeds the last token of every prefix
    with its state ``(h, c)`` (each (layers, H)) and returns float64 log-probabilities (B, V) and the
    new states.
    """
    feature = feature.reshape(1, -1)
    h0, c0 = decoder.initial_state(feature)
    init_state = (h0[:, 0].detach(), c0[:, 0].detach())

    def step(prefixes: list[list[int]], states: list[Any]) -> tuple[np.ndarray, list[Any]]:
        B = len(prefixes)
        tokens = torch.tensor([[p[-1]] for p in prefixes], device=feature.device)
        h = torch.stack([s[0] for s in states], dim=1)
        c = torch.stack([s[1] for s in states], dim=1)
        with torch.no_grad():
            logits, (h, c) = decoder(feature.expand(B, -1), tokens, (h, c))
            logp = torch.log_softmax(logits[:, 0].double(), dim=-1).cpu().numpy()
        return logp, [(h[:, b], c[:, b]) for b in range(B)]

    return step, init_state


def greedy_captions(model: Captioner, images: np.ndarray, vocab: Vocabulary, max_len: int = 16,
                    features: torch.Tensor | None = None) -> list[list[str]]:
    """The most probable word at every step, batched over images, until ``<eos>`` or ``max_len``."""
    dec = model.decoder
    dtype = next(dec.parameters()).dtype
    feats = encode_images(model.encoder, images, dtype=dtype) if features is None else features
    N = feats.shape[0]
    with torch.no_grad():
        state = dec.initial_state(feats)
        tokens = torch.full((N, 1), vocab.bos, dtype=torch.long, device=feats.device)
        out = torch.zeros((N, max_len), dtype=torch.long)
        done = torch.zeros(N, dtype=torch.bool)
        for t in range(max_len):
            logits, state = dec(feats, tokens, state)
            tokens = logits[:, -1].argmax(dim=-1, keepdim=True)
            out[:, t] = tokens[:, 0].cpu()
            done |= out[:, t] == vocab.eos
            if bool(done.all()):
                break
    return [vocab.decode(row.tolist()) for row in out]


def beam_captions(model: Captioner, image: np.ndarray, vocab: Vocabulary, beam_width: int = 5,
                  max_len: int = 16, length_penalty: float = 0.0) -> list[tuple[list[str], float]]:
    """Beam search (``seqcourse.decoding.beam_search``) for one image (3, S, S).

    Returns ``(words, score)`` best first; with ``length_penalty=0`` the score is ``log P(S | I)``.
    """
    from .decoding import beam_search

    dtype = next(model.decoder.parameters()).dtype
    feat = encode_images(model.encoder, np.asarray(image)[None], dtype=dtype)[0]
    step, init = make_step(model.decoder, feat)
    found = beam_search(step, init, vocab.bos, vocab.eos, beam_width, max_len, length_penalty)
    return [(vocab.decode(tokens), score) for tokens, score in found]


def semantic_accuracy(generated: Sequence[Sequence[str]], scenes: Sequence[Sequence[S.Obj]],
                      complete: bool = False) -> float:
    """Fraction of ``generated`` captions whose parsed content is true of their scene
    (and, with ``complete``, names every object)."""
    if len(generated) != len(scenes):
        raise ValueError(f"one caption per scene: {len(generated)} captions, {len(scenes)} scenes")
    check = S.is_complete if complete else S.is_true
    return float(np.mean([check(c, s) for c, s in zip(generated, scenes)])) if len(scenes) else float("nan")


# -- video ----------------------------------------------------------------------------------------
def encode_clips(encoder: ConvEncoder, frames: np.ndarray, dtype: torch.dtype = torch.float64) -> torch.Tensor:
    """Per-frame features (N, T, F) of clips (N, T, 3, S, S)."""
    frames = np.asarray(frames)
    if frames.ndim != 5:
        raise ValueError(f"frames must have shape (N, T, 3, S, S), got {frames.shape}")
    N, T = frames.shape[:2]
    return encode_images(encoder, frames.reshape(N * T, *frames.shape[2:]), dtype=dtype).view(N, T, -1)


def temporal_pool(features: torch.Tensor) -> torch.Tensor:
    """Mean over time: (N, T, F) -> (N, F). The result does not depend on the order of the frames."""
    if features.ndim != 3:
        raise ValueError(f"features must have shape (N, T, F), got {tuple(features.shape)}")
    return features.mean(dim=1)


class PooledFrameClassifier(nn.Module):
    """Average the frame features over time, then a small MLP: (N, T, F) -> logits (N, classes)."""

    def __init__(self, feature_size: int, n_classes: int, hidden_size: int = 64):
        super().__init__()
        self.mlp = nn.Sequential(nn.Linear(feature_size, hidden_size), nn.ReLU(), nn.Linear(hidden_size, n_classes))

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.mlp(temporal_pool(features))


class RecurrentFrameClassifier(nn.Module):
    """An LSTM reads the frame features in order; its last state is classified."""

    def __init__(self, feature_size: int, n_classes: int, hidden_size: int = 32):
        super().__init__()
        self.lstm = nn.LSTM(feature_size, hidden_size, batch_first=True)
        self.out = nn.Linear(hidden_size, n_classes)

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        if features.ndim != 3:
            raise ValueError(f"features must have shape (N, T, F), got {tuple(features.shape)}")
        _, (h, _) = self.lstm(features)
        return self.out(h[-1])


def train_classifier(model: nn.Module, features: torch.Tensor, labels: Sequence[int], epochs: int = 30,
                     batch_size: int = 64, lr: float = 5e-3, seed: int = 0, progress: bool = True) -> list[float]:
    """Cross-entropy training of a frame classifier on precomputed features (N, T, F)."""
    dev = next(model.parameters()).device
    y = torch.as_tensor(np.asarray(labels), dtype=torch.long, device=dev)
    if len(y) != len(features):
        raise ValueError(f"one label per clip: {len(features)} clips, {len(y)} labels")
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in tqdm(range(epochs), desc="action recognition", disable=not progress, leave=False):
        order, total = torch.randperm(len(y), generator=gen), 0.0
        for idx in order.split(batch_size):
            idx = idx.to(dev)
            loss = nn.functional.cross_entropy(model(features[idx]), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(y))
    return losses


def accuracy(model: nn.Module, features: torch.Tensor, labels: Sequence[int]) -> float:
    """Fraction of clips whose most probable class is the label."""
    with torch.no_grad():
        pred = model(features).argmax(dim=-1).cpu().numpy()
    return float(np.mean(pred == np.asarray(labels)))


class VideoDescriber(nn.Module):
    """Video to sentence: an LSTM encoder over frame features, a stacked 2-layer LSTM decoder.

    The encoder's final ``(h, c)`` of both layers is the decoder's initial state (the clip is
    summarised in a fixed-size state, as in sequence-to-sequence translation), and the decoder also
    sees the mean frame feature at every step.
    """

    def __init__(self, vocab_size: int, feature_size: int, hidden_size: int = 48, embed_size: int = 16,
                 layers: int = 2):
        super().__init__()
        self.encoder = nn.LSTM(feature_size, hidden_size, num_layers=layers, batch_first=True)
        self.decoder = CaptionDecoder(vocab_size, feature_size, embed_size, hidden_size, "input", layers)

    def encode(self, features: torch.Tensor) -> tuple[torch.Tensor, tuple[torch.Tensor, torch.Tensor]]:
        if features.ndim != 3:
            raise ValueError(f"features must have shape (N, T, F), got {tuple(features.shape)}")
        _, state = self.encoder(features)
        return temporal_pool(features), state

    def forward(self, features: torch.Tensor, inputs: torch.Tensor) -> torch.Tensor:
        pooled, state = self.encode(features)
        return self.decoder(pooled, inputs, state)[0]


def train_describer(model: VideoDescriber, features: torch.Tensor, sentences: Sequence[Sequence[Sequence[str]]],
                    vocab: Vocabulary, epochs: int = 20, batch_size: int = 64, lr: float = 5e-3, seed: int = 0,
                    progress: bool = True) -> list[float]:
    """Teacher forcing on clips; ``sentences[n]`` lists the correct sentences of clip ``n``."""
    dev = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    gen = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    losses = []
    for _ in tqdm(range(epochs), desc="video description", disable=not progress, leave=False):
        chosen = [c[int(rng.integers(len(c)))] for c in sentences]
        inputs, targets, mask = (t.to(dev) for t in vocab.batch(chosen))
        order, total = torch.randperm(len(features), generator=gen), 0.0
        for idx in order.split(batch_size):
            idx = idx.to(dev)
            loss = caption_loss(model(features[idx], inputs[idx]), targets[idx], mask[idx])
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item() * len(idx)
        losses.append(total / len(features))
    return losses


def describe(model: VideoDescriber, features: torch.Tensor, vocab: Vocabulary, max_len: int = 8) -> list[list[str]]:
    """Greedy sentences for clips with frame features (N, T, F)."""
    with torch.no_grad():
        pooled, state = model.encode(features)
        N = features.shape[0]
        tokens = torch.full((N, 1), vocab.bos, dtype=torch.long, device=features.device)
        out = torch.zeros((N, max_len), dtype=torch.long)
        for t in range(max_len):
            logits, state = model.decoder(pooled, tokens, state)
            tokens = logits[:, -1].argmax(dim=-1, keepdim=True)
            out[:, t] = tokens[:, 0].cpu()
    return [vocab.decode(row.tolist()) for row in out]
