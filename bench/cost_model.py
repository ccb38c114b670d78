"""The cost model behind docs/scaling.md: how embedding cost grows with sequence length and model size.

ESM-2's official architectures (8M, 35M, 150M, 650M) are built with random weights, which cost
exactly what the trained ones cost, and timed through the zoo's own embedding path
(zoo_plugins.backbone.embed) at several sequence lengths. The FLOPs of each forward are counted
analytically, so each measurement also gives the FLOP rate this machine reached. Prints JSON.

    python bench/cost_model.py [--lengths 64,128,256,512] [--seconds 20] > bench/results/cost_model.json
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch

from zoo_plugins.backbone import embed
from zoo_plugins.esm_net import ESMBackbone

# fair-esm's published ESM-2 configurations: (layers, width, heads)
ESM2 = {"esm2-8m": (6, 320, 20), "esm2-35m": (12, 480, 20), "esm2-150m": (30, 640, 20), "esm2-650m": (33, 1280, 20)}
AMINO = "ACDEFGHIKLMNPQRSTVWY"


def flop_per_sequence(layers: int, width: int, tokens: int) -> float:
    """Forward FLOPs (2 per multiply-add): 12 d^2 per token per layer for the projections and the
    4d feed-forward, plus 4 L^2 d per layer for the attention scores and their weighted sum."""
    return layers * (2 * 12 * width * width * tokens + 4 * tokens * tokens * width)


def time_model(name: str, lengths: list[int], budget: float, rng: np.random.Generator) -> list[dict]:
    import esm

    layers, width, heads = ESM2[name]
    alphabet = esm.data.Alphabet.from_architecture("ESM-1b")
    torch.manual_seed(0)
    model = esm.model.esm2.ESM2(layers, width, heads, alphabet).eval()
    backbone = ESMBackbone(model, alphabet)
    params = sum(p.numel() for p in model.parameters())
    rows = []
    for length in lengths:
        batch = max(1, 4096 // length)
        sequences = ["".join(rng.choice(list(AMINO), length)) for _ in range(batch)]
        embed(backbone, sequences[:1], batch_size=1)  # warm up
        done, start = 0, time.perf_counter()
        while done == 0 or time.perf_counter() - start < budget:
            embed(backbone, sequences, batch_size=batch)
            done += batch
            if time.perf_counter() - start > budget:
                break
        seconds = (time.perf_counter() - start) / done
        flop = flop_per_sequence(layers, width, length + 2)  # <cls> and <eos>
        rows.append({"model": name, "parameters": params, "length": length, "batch": batch,
                     "seconds_per_sequence": seconds, "gflop_per_sequence": flop / 1e9,
                     "gflop_per_s": flop / seconds / 1e9})
        print(json.dumps(rows[-1]), flush=True, file=__import__("sys").stderr)
    return rows


def exponent(xs, ys) -> float:
    """Slope of log(y) on log(x): cost ~ x ** slope."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="64,128,256,512")
    parser.add_argument("--models", default=",".join(ESM2))
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget per (model, length)")
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")]
    rng = np.random.default_rng(0)
    rows = [r for name in args.models.split(",") for r in time_model(name, lengths, args.seconds, rng)]
    by_model = {}
    for name in args.models.split(","):
        mine = [r for r in rows if r["model"] == name]
        by_model[name] = {"length_exponent": exponent([r["length"] for r in mine],
                                                      [r["seconds_per_sequence"] for r in mine])}
    at = lengths[len(lengths) // 2]
    mid = [r for r in rows if r["length"] == at]
    result = {"machine": f"{os.cpu_count()} CPU threads, torch {torch.__version__} (threads {torch.get_num_threads()})",
              "rows": rows, "by_model": by_model,
              "size_exponent_at_length": {"length": at, "exponent": exponent([r["parameters"] for r in mid],
                                                                              [r["seconds_per_sequence"] for r in mid])}}
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
