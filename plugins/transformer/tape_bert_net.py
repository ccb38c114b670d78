"""TAPE's ProteinBertModel as a backbone: mean of the residue outputs (no <cls>, no <sep>)."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn


class BertBackbone(nn.Module):
    def __init__(self, model: Any):
        super().__init__()
        from tape import TAPETokenizer

        self.model = model
        self.hidden_size = model.config.hidden_size
        self.tokenizer = TAPETokenizer(vocab="iupac")

    def tokenize(self, sequences: list[str]):
        encoded = [self.tokenizer.encode(s) for s in sequences]  # <cls> residues <sep>
        longest = max(map(len, encoded))
        tokens = torch.zeros(len(encoded), longest, dtype=torch.long)  # 0 is <pad>
        attention = torch.zeros(len(encoded), longest, dtype=torch.bool)
        for i, ids in enumerate(encoded):
            tokens[i, : len(ids)] = torch.from_numpy(ids)
            attention[i, : len(ids)] = True
        pool = attention.clone()
        pool[:, 0] = False
        pool[torch.arange(len(encoded)), torch.tensor([len(ids) - 1 for ids in encoded])] = False
        return tokens, attention, pool

    def forward(self, tokens: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        return self.model(tokens, input_mask=attention.long())[0]
