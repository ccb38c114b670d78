"""The mLSTM's hand-written backward pass (``plugins/unirep/mlstm.py``, ``Recurrence``) against autograd
recording the same recurrence op by op (``MLSTMStack.hand_backward = False``), in the same run.

One fine-tuning step = forward, mean pool, linear head, MSE, backward, AdamW step, at batch 8 (the
fine-tuned models' batch) on real sequences: stability's (45 residues on average) and GB1's (265).
UniRep-64, -256 and -1900, fp32. The two variants start from the same weights and take turns on the
same batches, so both see the same machine load; their gradients after the first step are compared.
Prints JSON.

    ZOO_DATA_DIR=../shared/data python bench/mlstm_backward.py [--steps 3] [--sizes 64,256,1900]
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import time

import numpy as np
import torch
from zoo_plugins.shared.backbone import masked_mean
from zoo_plugins.unirep import plugin as unirep
from zoo_tasks import gb1, tape

BATCH = 8


def step(backbone, head, opt, sequences, y) -> float:
    start = time.perf_counter()
    tokens, attention, pool = backbone.tokenize(sequences)
    pred = head(masked_mean(backbone(tokens, attention), pool)).squeeze(-1)
    loss = torch.nn.functional.mse_loss(pred, y)
    opt.zero_grad()
    loss.backward()
    opt.step()
    return time.perf_counter() - start


def compare(size: int, data, steps: int) -> dict:
    rng = np.random.default_rng(0)
    batches = [rng.choice(len(data), BATCH, replace=False) for _ in range(steps + 1)]
    hand = unirep.backbone(unirep.weights_path({}, size), size, False).train()
    autograd = copy.deepcopy(hand)
    autograd.mlstm.hand_backward = False
    runs = {}
    for name, backbone in (("hand-written backward", hand), ("autograd", autograd)):
        torch.manual_seed(0)
        head = torch.nn.Linear(backbone.hidden_size, 1)
        runs[name] = [backbone, head, torch.optim.AdamW([*backbone.parameters(), *head.parameters()], lr=1e-5), []]
    worst = 0.0
    for i, idx in enumerate(batches):
        sequences = [data.sequences[j] for j in idx]
        y = torch.tensor(data.targets[idx], dtype=torch.float32)
        for backbone, head, opt, seconds in runs.values():
            seconds.append(step(backbone, head, opt, sequences, y))
        if i == 0:  # the same weights and batch: the same gradients
            pairs = zip(hand.parameters(), autograd.parameters())
            worst = max(float((a.grad - b.grad).abs().max() / (b.grad.abs().max() + 1e-12)) for a, b in pairs)
    rate = {name: BATCH / float(np.mean(run[3][1:])) for name, run in runs.items()}  # step 0 is warm-up
    return {
        "sequences_per_s": {k: round(v, 2) for k, v in rate.items()},
        "speedup": round(rate["hand-written backward"] / rate["autograd"], 2),
        "max_relative_gradient_difference": float(f"{worst:.2g}"),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=3, help="timed steps per variant (after one warm-up)")
    parser.add_argument("--sizes", default="64,256,1900", help="UniRep sizes, comma-separated")
    args = parser.parse_args()
    torch.set_num_threads(os.cpu_count() or 1)
    data_dir = os.environ.get("ZOO_DATA_DIR")
    tasks = {
        "stability": tape.load("stability", data_dir=data_dir).train,
        "gb1_sampled": gb1.load("sampled", data_dir=data_dir).train,
    }
    out: dict = {"batch": BATCH, "mean_length": {}, "results": {}}
    for task, data in tasks.items():
        out["mean_length"][task] = round(float(np.mean([len(s) for s in data.sequences])), 1)
        for size in (int(s) for s in args.sizes.split(",")):
            out["results"][f"unirep-{size} {task}"] = compare(size, data, args.steps)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
