"""The cost model behind docs/scaling.md: how embedding cost grows with sequence length and model size.

ESM-2's official architectures (8M, 35M, 150M, 650M) are built with random weights, which cost
exactly what the trained ones cost, and timed through the zoo's own embedding path
(zoo_plugins.shared.backbone.embed) at several sequence lengths. The FLOPs of each forward are counted
analytically, so each measurement also gives the FLOP rate this machine reached. Prints JSON.

    python bench/cost_model.py [--lengths 64,128,256,512] [--seconds 20] [--gpu-tflops 200] \
        > bench/results/cost_model.json

With the tasks' real sequences (ZOO_DATA_DIR), it also prices the full zoo: FLOPs per model and
task for frozen embedding (one forward over every sequence) and for one fine-tuning epoch (about
three forwards per training sequence, plus one over valid and test), as CPU-hours at the rate
measured here and as GPU-hours at an assumed sustained rate (--gpu-tflops; not measured here).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

import numpy as np
import torch
from zoo_plugins.shared.backbone import embed
from zoo_plugins.transformer.esm_net import ESMBackbone

# fair-esm's published ESM-2 configurations: (layers, width, heads)
ESM2 = {"esm2-8m": (6, 320, 20), "esm2-35m": (12, 480, 20), "esm2-150m": (30, 640, 20), "esm2-650m": (33, 1280, 20)}
# every transformer in the zoo, for pricing: ESM-1b has ESM-2 650M's shape; TAPE's bert-base is BERT-base
TRANSFORMERS = {**ESM2, "esm1b-650m": (33, 1280, 20), "tape-bert": (12, 768, 12)}
# CPU rate borrowed from the timed model of the same shape (ESM-1b) or the nearest width (BERT-base)
RATE_FROM = {"esm1b-650m": "esm2-650m", "tape-bert": "esm2-150m"}
UNIREP_FLOP_PER_TOKEN = 2 * (10 * 1900 + 1900 * 1900 + 10 * 4 * 1900 + 1900 * 4 * 1900)  # bench/unirep_throughput.py
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
        batch = max(1, 1024 // length)
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
        rows.append(
            {
                "model": name,
                "parameters": params,
                "length": length,
                "batch": batch,
                "seconds_per_sequence": seconds,
                "gflop_per_sequence": flop / 1e9,
                "gflop_per_s": flop / seconds / 1e9,
            }
        )
        print(json.dumps(rows[-1]), flush=True, file=sys.stderr)
    return rows


def exponent(xs, ys) -> float:
    """Slope of log(y) on log(x): cost ~ x ** slope."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def task_lengths(data_dir: str | None) -> dict[str, dict[str, np.ndarray]]:
    from zoo.plugins import discover

    registry, out = discover(), {}
    for name in sorted(registry.tasks):
        data = registry.task(name).factory(data_dir=data_dir)
        out[name] = {
            split: np.array([len(s) for s in getattr(data, split).sequences]) for split in ("train", "valid", "test")
        }
    return out


def price(tasks: dict[str, dict[str, np.ndarray]], rows: list[dict], gpu_tflops: float) -> list[dict]:
    """FLOPs, CPU-hours (at the rate measured here for that model and the nearest length) and
    GPU-hours (at the assumed rate) per model and task."""

    def forward(model: str, lengths: np.ndarray) -> float:
        if model == "unirep":
            return float(UNIREP_FLOP_PER_TOKEN * (lengths + 1).sum())
        layers, width, _ = TRANSFORMERS[model]
        return float(sum(flop_per_sequence(layers, width, int(n) + 2) for n in lengths))

    def cpu_rate(model: str, length: float) -> float | None:
        if model == "unirep":  # measured by bench/unirep_throughput.py on fluorescence sequences
            path = os.path.join(os.path.dirname(__file__), "results", "unirep_throughput.json")
            with open(path) as fh:
                return json.load(fh)["zoo_gflop_per_s"] * 1e9
        mine = [r for r in rows if r["model"] == RATE_FROM.get(model, model)]
        return min(mine, key=lambda r: abs(r["length"] - length))["gflop_per_s"] * 1e9 if mine else None

    out = []
    for task, splits in tasks.items():
        every = np.concatenate(list(splits.values()))
        for model in [*TRANSFORMERS, "unirep"]:
            frozen = forward(model, every)
            epoch = 3 * forward(model, splits["train"]) + forward(
                model, np.concatenate([splits["valid"], splits["test"]])
            )
            rate = cpu_rate(model, float(every.mean()))
            out.append(
                {
                    "task": task,
                    "model": model,
                    "sequences": int(len(every)),
                    "mean_length": float(every.mean()),
                    "frozen_pflop": frozen / 1e15,
                    "finetune_epoch_pflop": epoch / 1e15,
                    "frozen_cpu_hours": frozen / rate / 3600 if rate else None,
                    # UniRep's recurrence is sequential, one step per residue: latency-bound on a
                    # GPU, so a FLOP-rate projection would flatter it; none is given
                    "frozen_gpu_hours": None if model == "unirep" else frozen / (gpu_tflops * 1e12) / 3600,
                    "finetune_epoch_gpu_hours": None if model == "unirep" else epoch / (gpu_tflops * 1e12) / 3600,
                }
            )
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", default="64,128,256,512")
    parser.add_argument("--models", default=",".join(ESM2))
    parser.add_argument("--seconds", type=float, default=20.0, help="time budget per (model, length)")
    parser.add_argument("--rows", help="reuse the timings in this earlier output instead of timing again")
    parser.add_argument(
        "--gpu-tflops",
        type=float,
        default=200.0,
        help="assumed sustained GPU rate for the GPU-hour projection (default 200 TFLOP/s, about "
        "20%% of an H100's dense bf16 peak)",
    )
    args = parser.parse_args()
    lengths = [int(n) for n in args.lengths.split(",")]
    rng = np.random.default_rng(0)
    if args.rows:
        with open(args.rows) as fh:
            rows = json.load(fh)["rows"]
    else:
        rows = [r for name in args.models.split(",") for r in time_model(name, lengths, args.seconds, rng)]
    by_model = {}
    for name in args.models.split(","):
        mine = [r for r in rows if r["model"] == name]
        by_model[name] = {
            "length_exponent": exponent([r["length"] for r in mine], [r["seconds_per_sequence"] for r in mine])
        }
    at = lengths[len(lengths) // 2]
    mid = [r for r in rows if r["length"] == at]
    result = {
        "machine": f"{os.cpu_count()} CPU threads, torch {torch.__version__} (threads {torch.get_num_threads()})",
        "rows": rows,
        "by_model": by_model,
        "size_exponent_at_length": {
            "length": at,
            "exponent": exponent([r["parameters"] for r in mid], [r["seconds_per_sequence"] for r in mid]),
        },
    }
    result["assumed_gpu_tflops"] = args.gpu_tflops
    result["tasks"] = price(task_lengths(os.environ.get("ZOO_DATA_DIR")), rows, args.gpu_tflops)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
