"""The CNN itself, in torch: a one-hot convolution computed as embedding lookups."""

from __future__ import annotations

import copy
import math
from functools import partial
from typing import Callable, Sequence

import numpy as np
import torch
from torch import nn

from zoo import Split, names

from ..shared import onehot
from ..shared.device import pick


class OneHotConv(nn.Module):
    """Conv1d over one-hot tokens, computed as a sum of K embedding lookups.

    A Conv1d on one-hot input multiplies mostly zeros: output[t] is just the sum
    of weight columns W[:, token[t + k*d - pad], k] over the kernel taps k. An
    EmbeddingBag in sum mode does exactly that gather-and-add, forward and
    backward, with no one-hot tensor. Positions outside the array read the PAD
    token, so a sequence's output never depends on how far its batch was padded.
    Output layout is (batch, length, channels).
    """

    offsets: torch.Tensor  # buffers, registered in __init__
    tap_base: torch.Tensor

    def __init__(self, vocab: int, channels: int, kernel: int, dilation: int = 1, pad_token: int = onehot.PAD):
        super().__init__()
        self.vocab, self.kernel, self.pad_token = vocab, kernel, pad_token
        self.table = nn.EmbeddingBag(kernel * vocab, channels, mode="sum")
        self.bias = nn.Parameter(torch.empty(channels))
        half = dilation * (kernel - 1) // 2
        self.register_buffer("offsets", torch.arange(kernel) * dilation - half, persistent=False)
        self.register_buffer("tap_base", torch.arange(kernel) * vocab, persistent=False)
        # the same initialisation as nn.Conv1d with fan_in = vocab * kernel
        bound = 1 / math.sqrt(vocab * kernel)
        nn.init.uniform_(self.table.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def rows(self, tokens: torch.Tensor) -> torch.Tensor:
        """(B, L, K) table rows that each output position sums."""
        length = tokens.shape[1]
        pos = torch.arange(length, device=tokens.device)[:, None] + self.offsets  # (L, K)
        inside = (pos >= 0) & (pos < length)
        taps = tokens[:, pos.clamp(0, length - 1)]  # (B, L, K)
        return torch.where(inside, taps, torch.full_like(taps, self.pad_token)) + self.tap_base

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        batch, length = tokens.shape
        out = self.table(self.rows(tokens).reshape(batch * length, self.kernel))
        return out.view(batch, length, -1) + self.bias

    def max_over_positions(self, tokens: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
        """max over kept positions of forward(tokens), as (B, C), without keeping (B, L, C) for backward.

        With one conv layer the max-pool follows directly, and only the arg-max position of
        each (sequence, channel) receives a gradient, so backward touches B*C*K table
        entries instead of B*L*C*K.
        """
        return _LookupMax.apply(self.rows(tokens), keep, self.table.weight) + self.bias

    @torch.no_grad()
    def load_conv1d(self, conv: nn.Conv1d) -> None:
        """Copy an nn.Conv1d's weights (channels, vocab, kernel) into the table."""
        self.table.weight.copy_(conv.weight.permute(2, 1, 0).reshape(-1, conv.out_channels))
        assert conv.bias is not None
        self.bias.copy_(conv.bias)


class _LookupMax(torch.autograd.Function):
    CHUNK = 32  # sequences per block: keeps the (chunk*L, C) block in cache

    @staticmethod
    def forward(ctx, rows, keep, table):
        batch, length, kernel = rows.shape
        values = torch.empty(batch, table.shape[1], dtype=table.dtype, device=table.device)
        where = torch.empty(batch, table.shape[1], dtype=torch.long, device=table.device)
        for start in range(0, batch, _LookupMax.CHUNK):
            stop = min(start + _LookupMax.CHUNK, batch)
            block = nn.functional.embedding_bag(rows[start:stop].reshape(-1, kernel), table, mode="sum")
            block = block.view(stop - start, length, -1)
            block.masked_fill_(~keep[start:stop, :, None], float("-inf"))
            torch.max(block, dim=1, out=(values[start:stop], where[start:stop]))
        ctx.save_for_backward(rows, where)
        ctx.table_shape = table.shape
        return values

    @staticmethod
    def backward(ctx, grad):
        rows, where = ctx.saved_tensors
        batch, channels = where.shape
        # rows[b, where[b, c], k] for every (b, c, k): the table rows that produced each max
        hit = torch.gather(rows, 1, where[:, :, None].expand(batch, channels, rows.shape[2]))
        flat = hit * channels + torch.arange(channels, device=grad.device)[None, :, None]
        grad_table = torch.zeros(ctx.table_shape, dtype=grad.dtype, device=grad.device)
        # index_add_ accumulates in a fixed order on CPU, so a seed gives bit-identical training
        grad_table.view(-1).index_add_(0, flat.reshape(-1), grad[:, :, None].expand_as(hit).reshape(-1))
        return None, None, grad_table


class CNN(nn.Module):
    """one-hot -> [conv, ReLU] x layers -> masked max over positions -> Linear(1). With ``lens`` (the
    paper's LinearMaxPool) each position is first projected to ``lens`` features by a Linear layer.
    With ``pool="attention"`` the max becomes a weighted mean: a Linear layer scores each position,
    and a softmax over the real positions weighs them."""

    def __init__(
        self,
        layers: int,
        filters: int,
        kernel: int,
        dilations: Sequence[int] | None = None,
        first: str = "embedding",
        lens: int | None = None,
        init: str = "torch",
        pool: str = "max",
    ):
        super().__init__()
        dilations = list(dilations or [1] * layers)
        if first == "embedding":
            self.first: nn.Module = OneHotConv(onehot.VOCAB, filters, kernel, dilations[0])
        else:  # the plain Conv1d on a one-hot tensor, kept for bench/ and the equivalence test
            # PAD tokens, not zeros, beyond the array edge: the same semantics as OneHotConv
            self.first = nn.Conv1d(onehot.VOCAB, filters, kernel, dilation=dilations[0])
            self.edge = dilations[0] * (kernel - 1) // 2
        self.rest = nn.ModuleList(
            nn.Conv1d(filters, filters, kernel, dilation=d, padding="same") for d in dilations[1:layers]
        )
        self.lens = nn.Linear(filters, lens) if lens else None
        self.head = nn.Linear(lens or filters, 1)
        self.attend = nn.Linear(lens or filters, 1) if pool == "attention" else None
        if init == "flax":
            self.flax_init()
        elif init != "torch":
            from zoo import ZooError

            from .plugin import INITS

            raise ZooError(f"-o init={init}: choose one of {', '.join(INITS)}")

    @torch.no_grad()
    def flax_init(self) -> None:
        """The paper's code's initialisation (Flax 0.1 defaults, and its head's own): conv and lens
        kernels lecun-normal (a normal truncated at two sigmas, scaled to std 1/sqrt(fan_in)), zero
        biases; the head xavier-uniform with bias N(0, 1e-6). torch's defaults (uniform
        +-1/sqrt(fan_in)) start with a wider head, which the paper's head learning rate barely moves."""

        def lecun(weight: torch.Tensor, fan_in: int) -> None:
            sigma = 1 / math.sqrt(fan_in) / 0.87962566103423978  # the std of N(0, 1) truncated at +-2
            nn.init.trunc_normal_(weight, std=sigma, a=-2 * sigma, b=2 * sigma)

        if isinstance(self.first, OneHotConv):
            lecun(self.first.table.weight, self.first.vocab * self.first.kernel)
            nn.init.zeros_(self.first.bias)
        for layer in [self.first, *self.rest, self.lens]:
            if isinstance(layer, (nn.Conv1d, nn.Linear)) and layer.bias is not None:
                fan_in = layer.weight[0].numel()  # in_channels * kernel, or in_features
                lecun(layer.weight, fan_in)
                nn.init.zeros_(layer.bias)
        nn.init.xavier_uniform_(self.head.weight)
        nn.init.normal_(self.head.bias, std=1e-6)

    def forward(self, tokens: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
        keep = torch.arange(tokens.shape[1], device=tokens.device)[None, :] < lengths[:, None]  # (B, L)
        if isinstance(self.first, OneHotConv) and not self.rest and self.lens is None and self.attend is None:
            # max_t relu(x_t) == relu(max_t x_t), so pool first and skip the (B, L, C) activations
            return self.head(torch.relu(self.first.max_over_positions(tokens, keep))).squeeze(-1)
        if isinstance(self.first, OneHotConv):
            h = torch.relu(self.first(tokens))  # (B, L, C)
        else:
            padded = nn.functional.pad(tokens, (self.edge, self.edge), value=onehot.PAD)
            x = nn.functional.one_hot(padded, onehot.VOCAB).float().transpose(1, 2)
            h = torch.relu(self.first(x)).transpose(1, 2)
        for conv in self.rest:
            h = h * keep[:, :, None]  # zero past the end, as SAME padding would see it
            h = torch.relu(conv(h.transpose(1, 2))).transpose(1, 2)
        if self.lens is not None:
            h = self.lens(h)
        if self.attend is not None:
            weights = torch.softmax(self.attend(h).squeeze(-1).masked_fill(~keep, float("-inf")), dim=1)
            h = (weights[:, :, None] * h).sum(dim=1)
        else:
            h = h.masked_fill(~keep[:, :, None], float("-inf")).amax(dim=1)
        return self.head(h).squeeze(-1)

    def param_groups(self, lr: Sequence[float], weight_decay: Sequence[float]) -> list[dict]:
        """lr and weight decay per group: (conv, head), or with a lens (conv, lens, head)."""
        convs = [p for n, p in self.named_parameters() if not n.startswith(("head.", "lens."))]
        modules = [self.lens, self.head] if self.lens is not None else [self.head]
        groups = [{"params": convs, "lr": lr[0], "weight_decay": weight_decay[0]}]
        for i, module in enumerate(modules, start=1):
            groups.append({"params": list(module.parameters()), "lr": lr[i], "weight_decay": weight_decay[i]})
        return groups


def _groups(value, lens: bool) -> tuple[float, ...]:
    """A number for every group, or one per group: (conv, head), or (conv, lens, head) with a lens;
    with a lens, (conv, head) gives the lens the head's value (the task recipes have two)."""
    count = 3 if lens else 2
    values = tuple(float(v) for v in value) if isinstance(value, (list, tuple)) else (float(value),) * count
    if lens and len(values) == 2:
        values = (values[0], values[1], values[1])
    if len(values) != count:
        from zoo import ZooError

        raise ZooError(
            f"lr and weight_decay take one number or {count} ({'conv, lens, head' if lens else 'conv, head'}); "
            f"got {list(values)}. Fix: e.g. -o lr=[{', '.join(['1e-3'] * count)}]."
        )
    return values


class CNNRegressor:
    """Trains :class:`CNN` on train; with ``select_on_valid`` keeps the best epoch by valid Spearman."""

    def __init__(self, recipe: dict, seed: int, progress: Callable[..., None] | None = None):
        lens = bool(recipe.get("lens"))
        self.recipe = dict(recipe, lr=_groups(recipe["lr"], lens), weight_decay=_groups(recipe["weight_decay"], lens))
        self.params = {k: (list(v) if isinstance(v, tuple) else v) for k, v in self.recipe.items()}
        self.seed = seed
        self.progress = progress
        self.net: CNN | None = None
        self.device = pick()

    def _batches(self, sequences: Sequence[str], order: np.ndarray, size: int):
        for start in range(0, len(order), size):
            idx = order[start : start + size]
            batch = [sequences[i] for i in idx]
            yield (
                idx,
                torch.from_numpy(onehot.tokens(batch)).to(self.device),
                torch.tensor([len(s) for s in batch], device=self.device),
            )

    def fit(self, train: Split, valid: Split) -> None:
        """Train epoch by epoch. Inside zoo eval each epoch ends with a checkpoint and its train loss
        and valid Spearman logged to MLflow; a killed job resumes from its last finished epoch."""
        from scipy.stats import spearmanr

        from ..shared import checkpoint
        from ..shared.precision import resolve, train_step

        r = self.recipe
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        requested = r.get("precision") or "fp32"
        self.net = CNN(
            r["layers"],
            r["filters"],
            r["kernel"],
            r["dilations"],
            lens=r.get("lens"),
            init=r.get("init") or "torch",
            pool=r.get("pool") or "max",
        ).to(self.device)
        self.params["trainable_parameters"] = sum(p.numel() for p in self.net.parameters())
        standardize = r["standardize"]
        self.mean = float(train.targets.mean()) if standardize else 0.0
        self.scale = float(train.targets.std()) if standardize else 1.0
        y = torch.tensor((train.targets - self.mean) / self.scale, dtype=torch.float32, device=self.device)
        if r["min_steps_per_epoch"]:
            r["batch_size"] = max(1, min(r["batch_size"], len(train) // r["min_steps_per_epoch"]))
            self.params["batch_size"] = r["batch_size"]
        opt = torch.optim.AdamW(self.net.param_groups(r["lr"], r["weight_decay"]))
        probe = self._probe(train, y, r["batch_size"]) if requested == "auto" else None
        self.params["precision"] = self.precision = resolve(requested, self.device, probe)
        steps_per_epoch = math.ceil(len(train) / r["batch_size"])
        total, done, first_epoch = r["epochs"] * steps_per_epoch, 0, 0
        best: tuple[float, dict | None, int] = (-math.inf, None, 0)
        # the requested precision: an `auto` job resumes even if its timing probe chose otherwise this time
        recipe = checkpoint.fingerprint(
            {**self.params, "precision": requested, "seed": self.seed, "n_train": len(train)}
        )
        finished = checkpoint.load_finished(recipe, train, valid)
        if finished is not None:  # another job trained this recipe and seed on this data
            self.net.load_state_dict(finished["net"])
            self.params.update(finished["params"], reused_training=True)
            return
        state = checkpoint.load(recipe, rng, weights="net")
        if state is not None:  # resume: the same recipe stopped after state["epoch"] epochs
            self.net.load_state_dict(state["net"])
            opt.load_state_dict(state["opt"])
            best = (state["best_score"], state["best_state"], state["best_epoch"])
            first_epoch, done = state["epoch"], state["done"]
            self.params["resumed_from_epoch"] = first_epoch
        schedule = r.get("schedule") or "constant"
        for epoch in range(first_epoch, r["epochs"]):
            self.net.train()
            losses = []
            for idx, tok, lengths in self._batches(train.sequences, rng.permutation(len(train)), r["batch_size"]):
                if schedule == "cosine":  # a function of the step count alone, so a resumed job continues it
                    for group, lr in zip(opt.param_groups, r["lr"]):
                        group["lr"] = lr * 0.5 * (1 + math.cos(math.pi * done / total))
                forward = partial(self.net, tok, lengths)
                losses.append(train_step(opt, forward, y[idx], self.precision, self.device))
                done += 1
                if self.progress:
                    self.progress(done, total, f"epoch {epoch + 1}/{r['epochs']}")
            metrics = {names.EPOCH_TRAIN_LOSS: float(np.mean(losses)), "epoch_lr": opt.param_groups[0]["lr"]}
            if r["select_on_valid"]:
                score = float(spearmanr(valid.targets, self.predict(valid.sequences)).statistic)
                metrics[names.EPOCH_VALID_SPEARMAN] = score
                if score > best[0]:
                    best = (score, copy.deepcopy(self.net.state_dict()), epoch + 1)
            checkpoint.log_epoch(epoch + 1, metrics)
            checkpoint.save(
                {
                    "recipe": recipe,
                    "net": self.net.state_dict(),
                    "opt": opt.state_dict(),
                    "best_score": best[0],
                    "best_state": best[1],
                    "best_epoch": best[2],
                    "epoch": epoch + 1,
                    "done": done,
                },
                rng,
                weights="net",
            )
        self.params["epochs_done"] = r["epochs"]
        if best[1] is not None:
            self.net.load_state_dict(best[1])
            self.params["best_epoch"] = best[2]
        reported = {k: self.params[k] for k in ("epochs_done", "best_epoch") if k in self.params}
        checkpoint.save_finished(recipe, train, valid, {"net": self.net.state_dict(), "params": reported})

    def _probe(self, train: Split, y: torch.Tensor, batch_size: int):
        """One training step of a copy of the net on the first batch (``-o precision=auto`` times it)."""
        from ..shared.precision import train_step

        assert self.net is not None  # built by fit() before it asks
        net = copy.deepcopy(self.net)
        opt = torch.optim.AdamW(net.parameters())
        idx, tok, lengths = next(self._batches(train.sequences, np.arange(min(batch_size, len(train))), batch_size))
        return lambda precision: train_step(opt, partial(net, tok, lengths), y[idx], precision, self.device)

    @torch.inference_mode()
    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self.net is None:
            raise RuntimeError("call fit() before predict()")
        self.net.eval()
        # sort by length so each batch pads little; restore the caller's order at the end
        order = np.argsort([len(s) for s in sequences], kind="stable")
        out = np.empty(len(sequences), dtype=np.float64)
        from ..shared.precision import autocast

        for idx, tok, lengths in self._batches(sequences, order, 1024):
            with autocast(getattr(self, "precision", "fp32"), self.device):
                out[idx] = self.net(tok, lengths).double().cpu().numpy()
        return out * self.scale + self.mean
