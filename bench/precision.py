"""fp32 against bf16 autocast for the paper's CNN recipes, in the same process on this machine.

For each recipe: training throughput (sequences/s over the same batches, fp32 and bf16 steps
interleaved so both see the same machine load) on the device the zoo would use (a GPU when
there is one, else the CPU; ``ZOO_DEVICE`` overrides), and the valid Spearman of the same recipe trained
in both precisions for a few epochs (seeds 0 and 1), which must agree within seed noise.

    python bench/precision.py [--steps 30] [--epochs 3] [--out bench/results/precision.json]
    ZOO_DEVICE=cuda python bench/precision.py --steps 200 --epochs 0   # a GPU's throughput ratio
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from scipy.stats import spearmanr
from zoo_plugins.cnn.net import CNN, CNNRegressor
from zoo_plugins.cnn.plugin import PAPER
from zoo_plugins.shared import onehot
from zoo_plugins.shared.device import pick
from zoo_plugins.shared.precision import autocast
from zoo_tasks import tape

from zoo import provenance


def step_rates(recipe: dict, sequences: list[str], steps: int, device: torch.device) -> dict[str, float]:
    """Sequences/s of training steps in each precision, alternating step by step."""
    torch.manual_seed(0)
    nets = {p: CNN(recipe["layers"], recipe["filters"], recipe["kernel"]).to(device) for p in ("fp32", "bf16")}
    opts = {p: torch.optim.AdamW(n.parameters(), lr=1e-4) for p, n in nets.items()}
    rng = np.random.default_rng(0)
    seconds = {"fp32": 0.0, "bf16": 0.0}
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)  # GPU work is asynchronous
    for i in range(steps + 2):
        batch = [sequences[j] for j in rng.choice(len(sequences), recipe["batch_size"], replace=False)]
        tok = torch.from_numpy(onehot.tokens(batch)).to(device)
        lengths, y = torch.tensor([len(s) for s in batch], device=device), torch.randn(len(batch), device=device)
        for precision in ("fp32", "bf16"):
            sync()
            start = time.perf_counter()
            with autocast(precision, device):
                out = nets[precision](tok, lengths)
            loss = torch.nn.functional.mse_loss(out.float(), y)
            opts[precision].zero_grad()
            loss.backward()
            opts[precision].step()
            sync()
            if i >= 2:  # two warm-up steps
                seconds[precision] += time.perf_counter() - start
    return {p: steps * recipe["batch_size"] / s for p, s in seconds.items()}


def valid_spearman(task: str, recipe: dict, precision: str, seed: int, epochs: int, data) -> float:
    r = dict(
        recipe, epochs=epochs, precision=precision, standardize=False, select_on_valid=False, min_steps_per_epoch=0
    )
    model = CNNRegressor(r, seed=seed)
    model.fit(data.train, data.valid)
    return float(spearmanr(data.valid.targets, model.predict(data.valid.sequences)).statistic)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument(
        "--epochs", type=int, default=3, help="epochs of the fluorescence recipe per precision (0: throughput only)"
    )
    parser.add_argument("--out", default="bench/results/precision.json")
    args = parser.parse_args()
    data_dir = os.environ.get("ZOO_DATA_DIR", "../shared/data")
    device = pick()
    report = {"machine": provenance.machine(), "torch": torch.__version__, "threads": torch.get_num_threads()}
    report["device"] = str(device)
    for task in ("stability", "fluorescence"):
        data = tape.load(task, data_dir=data_dir)
        rates = step_rates(PAPER[task], data.train.sequences, args.steps, device)
        report[task] = {
            "fp32_seq_per_s": round(rates["fp32"], 1),
            "bf16_seq_per_s": round(rates["bf16"], 1),
            "bf16_over_fp32": round(rates["bf16"] / rates["fp32"], 2),
        }
        print(task, report[task], flush=True)
    if args.epochs == 0:  # throughput only (the valid comparison can come from zoo eval runs instead)
        with open(args.out, "w") as fh:
            json.dump(report, fh, indent=2)
        return
    data = tape.load("fluorescence", data_dir=data_dir)
    scores = {
        p: [valid_spearman("fluorescence", PAPER["fluorescence"], p, s, args.epochs, data) for s in (0, 1)]
        for p in ("fp32", "bf16")
    }
    report["fluorescence_valid_spearman"] = {
        "epochs": args.epochs,
        **{p: [round(v, 4) for v in s] for p, s in scores.items()},
    }
    print(report["fluorescence_valid_spearman"], flush=True)
    with open(args.out, "w") as fh:
        json.dump(report, fh, indent=2)


if __name__ == "__main__":
    main()
