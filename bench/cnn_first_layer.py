"""Training throughput of the CNN with the embedding-lookup first layer vs a plain Conv1d on one-hot input.

Same architecture, same batches of real fluorescence sequences, same process. Prints
sequences/second for each and the ratio. Usage:

    python bench/cnn_first_layer.py [--layers 1 --filters 1024 --batch-size 256 --steps 10]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from zoo_plugins.cnn.net import CNN
from zoo_plugins.shared import onehot
from zoo_tasks import tape


def throughput(first: str, sequences, args) -> float:
    torch.manual_seed(0)
    net = CNN(args.layers, args.filters, args.kernel, first=first)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-3)
    rng = np.random.default_rng(0)
    batches = []
    for _ in range(args.steps + 2):
        idx = rng.choice(len(sequences), args.batch_size, replace=False)
        batch = [sequences[i] for i in idx]
        batches.append(
            (
                torch.from_numpy(onehot.tokens(batch)),
                torch.tensor([len(s) for s in batch]),
                torch.randn(args.batch_size),
            )
        )
    for i, (tok, lengths, y) in enumerate(batches):
        if i == 2:  # two warm-up steps
            start = time.perf_counter()
        loss = torch.nn.functional.mse_loss(net(tok, lengths), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return args.steps * args.batch_size / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--task", default="fluorescence")
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR"))
    parser.add_argument("--layers", type=int, default=1)
    parser.add_argument("--filters", type=int, default=1024)
    parser.add_argument("--kernel", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    sequences = tape.load(args.task, data_dir=args.data_dir).train.sequences
    conv = throughput("conv1d", sequences, args)
    emb = throughput("embedding", sequences, args)
    print(
        json.dumps(
            {
                "task": args.task,
                "layers": args.layers,
                "filters": args.filters,
                "batch_size": args.batch_size,
                "threads": torch.get_num_threads(),
                "conv1d_seq_per_s": round(conv, 1),
                "embedding_seq_per_s": round(emb, 1),
                "ratio": round(emb / conv, 2),
            }
        )
    )


if __name__ == "__main__":
    main()
