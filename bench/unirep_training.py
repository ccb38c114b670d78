"""UniRep fine-tuning throughput: the zoo's trainable mLSTM against tape-proteins' UniRepModel.

One training step = forward, mean pool, linear head, MSE, backward, AdamW step, at batch 8 (the
fine-tuned models' batch) on real stability sequences (tape's step keeps every time step's
normalised weights for the backward pass, 72 MB a step for UniRep-1900: at fluorescence's 237
residues that is over 17 GB, more than these machines can spare). Baseline: tape-proteins' UniRepModel as
shipped (weight norm recomputed at every time step) with the same head and optimiser. Zoo:
``MLSTMStack`` (``plugins/unirep/mlstm.py``: weight norm once per step, input projections of all time steps
in one product), fp32 and bf16 autocast. The steps are interleaved, so every variant sees the same
machine load, and the first step's loss is compared (same weights, same batch: same number).

Then the cost model: seconds per step at each task's mean length (time grows about linearly with
length, so the stability step is scaled), times the steps of one epoch, for UniRep-64, -256 and
-1900. Prints JSON.

    ZOO_DATA_DIR=../shared/data python bench/unirep_training.py [--steps 3]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings

import numpy as np
import torch
from zoo_plugins.shared.backbone import masked_mean
from zoo_plugins.shared.precision import autocast
from zoo_plugins.unirep import plugin as unirep
from zoo_plugins.unirep.babbler import UniRepBackbone, convert
from zoo_tasks import gb1, tape

BATCH = 8


def tape_backbone(path) -> UniRepBackbone:
    from tape import UniRepConfig, UniRepModel

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        model = UniRepModel(UniRepConfig())
    with np.load(path) as npz:
        model.load_state_dict(convert(dict(npz)))
    return UniRepBackbone(model)


class Trainer:
    def __init__(self, backbone, precision: str = "fp32"):
        torch.manual_seed(0)
        self.backbone, self.precision = backbone.train(), precision
        self.head = torch.nn.Linear(backbone.hidden_size, 1)
        params = [*backbone.parameters(), *self.head.parameters()]
        self.opt = torch.optim.AdamW(params, lr=1e-5)
        self.seconds: list[float] = []

    def step(self, sequences: list[str], y: torch.Tensor) -> float:
        start = time.perf_counter()
        tokens, attention, pool = self.backbone.tokenize(sequences)
        with autocast(self.precision, torch.device("cpu")):
            pred = self.head(masked_mean(self.backbone(tokens, attention), pool)).squeeze(-1)
        loss = torch.nn.functional.mse_loss(pred.float(), y)
        self.opt.zero_grad()
        loss.backward()
        self.opt.step()
        self.seconds.append(time.perf_counter() - start)
        return float(loss.detach())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant (after one warm-up)")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    data_dir = os.environ.get("ZOO_DATA_DIR")
    base = tape.load("stability", data_dir=data_dir)
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(base.train), BATCH, replace=False) for _ in range(args.steps + 1)]
    path = unirep.weights_path({}, 1900)
    variants = {
        "tape UniRepModel fp32": Trainer(tape_backbone(path)),
        "zoo MLSTMStack fp32": Trainer(unirep.backbone(path, 1900, False)),
        "zoo MLSTMStack bf16": Trainer(unirep.backbone(path, 1900, False), "bf16"),
    }
    first = {}
    for i, idx in enumerate(batches):
        sequences = [base.train.sequences[j] for j in idx]
        y = torch.tensor(base.train.targets[idx], dtype=torch.float32)
        for name, trainer in variants.items():
            loss = trainer.step(sequences, y)
            if i == 0:
                first[name] = loss
                trainer.seconds.clear()  # the first step is warm-up
    rate = {name: BATCH / float(np.mean(t.seconds)) for name, t in variants.items()}
    length = float(np.mean([len(s) for s in base.train.sequences]))
    out = {
        "batch": BATCH,
        "mean_length": round(length, 1),
        "sequences_per_s": {k: round(v, 2) for k, v in rate.items()},
        "speedup_fp32": round(rate["zoo MLSTMStack fp32"] / rate["tape UniRepModel fp32"], 2),
        "speedup_bf16": round(rate["zoo MLSTMStack bf16"] / rate["tape UniRepModel fp32"], 2),
        "first_step_loss": {k: round(v, 5) for k, v in first.items()},
    }
    # cost model: each size's zoo fp32 step at stability length, scaled to each task's mean length
    per_size = {1900: BATCH / rate["zoo MLSTMStack fp32"]}
    for size in (256, 64):
        trainer = Trainer(unirep.backbone(unirep.weights_path({}, size), size, False))
        for idx in batches:
            trainer.step([base.train.sequences[j] for j in idx], torch.tensor(base.train.targets[idx]).float())
        per_size[size] = float(np.mean(trainer.seconds[1:]))
    epoch_hours = {}
    for task in ("fluorescence", "stability", "gb1_three_vs_rest", "gb1_sampled", "gb1_low_vs_high"):
        data = tape.load(task, data_dir=data_dir) if "gb1" not in task else gb1.load(task[4:], data_dir=data_dir)
        scale = float(np.mean([len(s) for s in data.train.sequences])) / length
        steps = int(np.ceil(len(data.train) / BATCH))
        epoch_hours[task] = {
            f"unirep-{size}": round(seconds * scale * steps / 3600, 2) for size, seconds in per_size.items()
        }
    out["seconds_per_step_at_stability_length"] = {str(k): round(v, 3) for k, v in per_size.items()}
    out["estimated_hours_per_epoch"] = epoch_hours
    print(json.dumps(out))


if __name__ == "__main__":
    main()
