"""A fair-esm model as a backbone: per-residue representations of the last layer."""

from __future__ import annotations

import torch
from torch import nn


class ESMBackbone(nn.Module):
    def __init__(self, model: nn.Module, alphabet):
        super().__init__()
        self.model, self.alphabet = model, alphabet
        self.layer = model.num_layers
        self.hidden_size = model.embed_dim
        self.converter = alphabet.get_batch_converter()

    def tokenize(self, sequences: list[str]):
        limit = getattr(self.model, "max_positions", None) or 1024  # ESM-1b's learned positions; ESM-2 trained at 1024
        longest = max(map(len, sequences))
        if longest + 2 > limit:  # BOS and EOS take two positions
            from zoo import ZooError

            raise ZooError(
                f"a sequence of {longest} residues is longer than this ESM model's maximum of "
                f"{limit - 2}. Fix: crop the sequences, or use a model without the limit (unirep)."
            )
        _, _, tokens = self.converter([(str(i), s) for i, s in enumerate(sequences)])
        attention = tokens != self.alphabet.padding_idx
        pool = attention.clone()
        pool[:, 0] = False  # BOS
        pool &= tokens != self.alphabet.eos_idx
        return tokens, attention, pool

    def forward(self, tokens: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        return self.model(tokens, repr_layers=[self.layer])["representations"][self.layer]
