"""Pretrained networks as backbones: batched mean-pooled embedding, and end-to-end fine-tuning.

A backbone is a torch module with ``hidden_size``, ``tokenize(sequences) -> (tokens, attention,
pool)`` and ``forward(tokens, attention) -> (B, T, H)``. ``attention`` marks the real tokens
the network may read; ``pool`` marks the positions averaged into the sequence's embedding.
"""

from __future__ import annotations

import copy
import math
import time
from functools import partial
from typing import Any, Callable, Sequence

import numpy as np
import torch
from torch import nn

from zoo import Split, names

from .device import pick


def masked_mean(hidden: torch.Tensor, pool: torch.Tensor) -> torch.Tensor:
    weights = pool.to(hidden.dtype).unsqueeze(-1)
    return (hidden * weights).sum(1) / weights.sum(1).clamp(min=1)


def _batches(sequences: Sequence[str], batch_size: int):
    order = np.argsort([len(s) for s in sequences], kind="stable")  # bucket by length: little padding
    for start in range(0, len(order), batch_size):
        yield order[start : start + batch_size]


def out_of_memory(exc: BaseException) -> bool:
    """CUDA raises OutOfMemoryError; torch's CPU allocator raises a RuntimeError that says so."""
    return isinstance(exc, (torch.OutOfMemoryError, MemoryError)) or "can't allocate memory" in str(exc)


def mean_readout(hidden: torch.Tensor, tokens: torch.Tensor, attention: torch.Tensor, pool: torch.Tensor):
    return masked_mean(hidden, pool)


def embed(
    backbone: Any,
    sequences: Sequence[str],
    batch_size: int = 32,
    progress: Callable[[int, int], None] | None = None,
    readout: Callable[..., torch.Tensor] = mean_readout,
    width: int | None = None,
) -> np.ndarray:
    """(n, width) float32 per-sequence features, in input order: by default the mean-pooled
    embedding (width: the hidden size); ``readout(hidden, tokens, attention, pool)`` gives others
    from the same forward pass (UniRep's log-likelihood beside its embedding).

    A batch that runs out of memory is retried at half the size instead of failing the job.
    """
    device = pick()
    backbone.to(device).eval()
    out = np.empty((len(sequences), width or backbone.hidden_size), dtype=np.float32)
    done, size = 0, batch_size
    pending = list(_batches(sequences, batch_size))
    with torch.inference_mode():
        while pending:
            idx = pending.pop(0)
            try:
                tokens, attention, pool = (t.to(device) for t in backbone.tokenize([sequences[i] for i in idx]))
                out[idx] = readout(backbone(tokens, attention), tokens, attention, pool).float().cpu().numpy()
            except (torch.OutOfMemoryError, MemoryError, RuntimeError) as exc:
                if len(idx) == 1 or not out_of_memory(exc):
                    raise
                size = max(1, len(idx) // 2)
                pending[:0] = [idx[:size], idx[size:]]
                continue
            done += len(idx)
            if progress:
                progress(done, len(sequences))
    return out


class FineTuned:
    """The backbone plus a linear head on its mean-pooled output, trained end to end on train.

    Bounded by ``max_steps`` and ``max_seconds`` (the CPU profile), or run for up to ``epochs`` (the
    paper/GPU profile). Targets are standardised on train; the steps and seconds actually used
    are recorded in ``params``, so a bounded run is reported as such.
    """

    def __init__(
        self,
        make_backbone: Callable[[], nn.Module],
        *,
        seed: int,
        lr: float = 1e-5,
        head_lr: float = 1e-3,
        batch_size: int = 8,
        epochs: int = 1,
        patience: int | None = None,
        max_steps: int | None = None,
        max_seconds: float | None = None,
        progress: Callable[..., None] | None = None,
        precision: str = "fp32",
    ):
        self.make_backbone, self.seed, self.progress = make_backbone, seed, progress
        self.params: dict[str, Any] = {
            "precision": precision,
            "lr": lr,
            "head_lr": head_lr,
            "batch_size": batch_size,
            "epochs": epochs,
            "patience": patience,
            "max_steps": max_steps,
            "max_seconds": max_seconds,
        }
        self.backbone: Any = None  # built in fit(): a network with tokenize(), forward() and hidden_size

    def _forward(self, sequences: Sequence[str], nets: tuple[Any, Any] | None = None) -> torch.Tensor:
        backbone, head = nets or (self.backbone, self.head)
        tokens, attention, pool = (t.to(self.device) for t in backbone.tokenize(list(sequences)))
        return head(masked_mean(backbone(tokens, attention), pool)).squeeze(-1)

    def _probe(self, train: Split, y: torch.Tensor):
        """One training step of copies of the nets on the first batch (``-o precision=auto`` times it)."""
        from .precision import train_step

        nets = (copy.deepcopy(self.backbone), copy.deepcopy(self.head))
        opt = torch.optim.AdamW([*nets[0].parameters(), *nets[1].parameters()])
        n = min(self.params["batch_size"], len(train))
        forward = partial(self._forward, train.sequences[:n], nets)
        return lambda precision: train_step(opt, forward, y[:n], precision, self.device)

    def _state(self) -> dict[str, Any]:
        return {"backbone": self.backbone.state_dict(), "head": self.head.state_dict()}

    def _load(self, state: dict[str, Any]) -> None:
        self.backbone.load_state_dict(state["backbone"])
        self.head.load_state_dict(state["head"])

    def fit(self, train: Split, valid: Split) -> None:
        """Whole epochs (under ``paper``) or bounded steps (the CPU profile). After each whole epoch:
        valid Spearman, the best epoch's weights kept (TAPE's early stopping on valid), a checkpoint and
        per-epoch metrics; a killed job resumes from its last finished epoch, or from inside a long epoch
        (a checkpoint every ZOO_CHECKPOINT_SECONDS, zoo.training.checkpoint_seconds)."""
        from scipy.stats import spearmanr

        from . import checkpoint
        from .precision import resolve, train_step

        p = self.params
        torch.manual_seed(self.seed)
        rng = np.random.default_rng(self.seed)
        self.device = pick()
        requested = p["precision"]
        self.backbone = self.make_backbone().to(self.device)
        self.head = nn.Linear(self.backbone.hidden_size, 1).to(self.device)
        p["trainable_parameters"] = sum(
            q.numel() for q in [*self.backbone.parameters(), *self.head.parameters()] if q.requires_grad
        )
        self.mean, self.scale = float(train.targets.mean()), float(train.targets.std() or 1.0)
        y = torch.tensor((train.targets - self.mean) / self.scale, dtype=torch.float32, device=self.device)
        opt = torch.optim.AdamW(
            [
                {"params": self.backbone.parameters(), "lr": p["lr"]},
                {"params": self.head.parameters(), "lr": p["head_lr"]},
            ]
        )
        probe = self._probe(train, y) if requested == "auto" else None
        p["precision"] = self.precision = resolve(requested, self.device, probe)
        per_epoch = math.ceil(len(train) / p["batch_size"])
        total = min(p["epochs"] * per_epoch, p["max_steps"] or math.inf)
        start, step, epoch = time.perf_counter(), 0, 0
        best: tuple[float, dict | None, int] = (-math.inf, None, 0)
        # the requested precision: an `auto` job resumes even if its timing probe chose otherwise this time
        recipe = checkpoint.fingerprint({**p, "precision": requested, "seed": self.seed, "n_train": len(train)})
        state = checkpoint.load(recipe, rng)
        inside: tuple[np.ndarray, list[float], int] | None = None  # a checkpoint saved inside an epoch
        if state is not None:
            self._load(state["model"])
            opt.load_state_dict(state["opt"])
            best, epoch, step = (
                (state["best_score"], state["best_state"], state["best_epoch"]),
                state["epoch"],
                state["done"],
            )
            p["resumed_from_epoch"], p["resumed_from_step"] = epoch, step
            if "order" in state:  # the epoch's shuffle, its losses so far and where it stood
                inside = (state["order"].numpy(), list(state["losses"]), int(state["position"]))

        def save(**inside_epoch: Any) -> None:
            checkpoint.save(
                {
                    "recipe": recipe,
                    "model": self._state(),
                    "opt": opt.state_dict(),
                    "best_score": best[0],
                    "best_state": best[1],
                    "best_epoch": best[2],
                    "epoch": epoch,
                    "done": step,
                    **inside_epoch,
                },
                rng,
            )

        def out_of_time() -> bool:
            return bool(p["max_seconds"]) and time.perf_counter() - start > p["max_seconds"]

        def converged() -> bool:  # early stopping on valid, as TAPE: no better epoch for `patience` epochs
            return bool(p["patience"]) and epoch > 0 and epoch - best[2] >= p["patience"]

        while step < total and not out_of_time() and not converged():
            self.backbone.train()
            order, losses, first = inside or (rng.permutation(len(train)), [], 0)
            inside = None
            for begin in range(first, len(order), p["batch_size"]):
                idx = order[begin : begin + p["batch_size"]]
                forward = partial(self._forward, [train.sequences[i] for i in idx])
                losses.append(train_step(opt, forward, y[idx], self.precision, self.device))
                step += 1
                following = begin + p["batch_size"]
                if following < len(order) and step < total and checkpoint.due():  # a long epoch: save inside it
                    save(order=torch.from_numpy(order), losses=losses, position=following)
                if self.progress:
                    self.progress(step, int(total), f"epoch {epoch + 1}/{p['epochs']}")
                if step >= total or out_of_time():
                    break
            if begin + p["batch_size"] < len(order):  # stopped inside an epoch: bounded by steps or seconds
                break
            epoch += 1
            score = float(spearmanr(valid.targets, self.predict(valid.sequences)).statistic)
            if score > best[0]:
                best = (score, copy.deepcopy(self._state()), epoch)
            checkpoint.log_epoch(
                epoch, {names.EPOCH_TRAIN_LOSS: float(np.mean(losses)), names.EPOCH_VALID_SPEARMAN: score}
            )
            save()
        if best[1] is not None:
            self._load(best[1])
            p["best_epoch"] = best[2]
        p["epochs_done"], p["steps_done"], p["stopped_early"] = epoch, step, converged()
        p["train_seconds"] = round(time.perf_counter() - start, 1)

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self.backbone is None:
            raise RuntimeError("call fit() before predict()")
        self.backbone.eval()
        out = np.empty(len(sequences))
        with torch.inference_mode():
            from .precision import autocast

            for idx in _batches(sequences, 32):
                with autocast(getattr(self, "precision", "fp32"), self.device):
                    out[idx] = self._forward([sequences[i] for i in idx]).double().cpu().numpy()
        return out * self.scale + self.mean
