"""UniRep embedding throughput: the zoo's path vs tape-proteins' UniRepModel as shipped.

Baseline: tape-proteins' UniRepModel with its weight norm (recomputed at every time step), one
sequence at a time. Zoo: the same model with weight norm folded, batched by length, under
torch.inference_mode. Both embed the same fluorescence sequences in the same process, and their
embeddings are compared. Prints JSON, including the FLOP rate reached.

    python bench/unirep_throughput.py [--n 256] [--baseline-n 256] [--batch-size 64]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np
import torch
from zoo_plugins.shared.backbone import embed
from zoo_plugins.unirep import plugin as unirep
from zoo_plugins.unirep.babbler import UniRepBackbone, convert, load_backbone
from zoo_tasks import tape

HIDDEN, INPUT = 1900, 10
# multiply-adds per token: wmx (10x1900), wmh (1900x1900), wx (10x7600), wh (1900x7600)
FLOP_PER_TOKEN = 2 * (INPUT * HIDDEN + HIDDEN * HIDDEN + INPUT * 4 * HIDDEN + HIDDEN * 4 * HIDDEN)


def as_shipped(path) -> UniRepBackbone:
    from tape import UniRepConfig, UniRepModel

    model = UniRepModel(UniRepConfig())
    with np.load(path) as npz:
        model.load_state_dict(convert(dict(npz)))
    return UniRepBackbone(model.eval())


def baseline_embed(backbone: UniRepBackbone, sequences) -> np.ndarray:
    out = []
    with torch.no_grad():
        for seq in sequences:  # batch size 1, as tape's embed command runs it by default
            tokens, attention, _ = backbone.tokenize([seq])
            out.append(backbone(tokens, attention).mean(1)[0].numpy())
    return np.stack(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR"))
    parser.add_argument("--n", type=int, default=256, help="sequences embedded by the zoo's path")
    parser.add_argument("--baseline-n", type=int, default=256, help="of those, how many the baseline embeds")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    sequences = tape.load("fluorescence", data_dir=args.data_dir).train.sequences[: args.n]
    path = unirep.weights_path({})

    fast = load_backbone(path)
    start = time.perf_counter()
    ours = embed(fast, sequences, batch_size=args.batch_size)
    fast_s = time.perf_counter() - start

    slow = as_shipped(path)
    subset = sequences[: args.baseline_n]
    start = time.perf_counter()
    theirs = baseline_embed(slow, subset)
    slow_s = time.perf_counter() - start

    tokens = sum(len(s) + 1 for s in sequences)
    print(
        json.dumps(
            {
                "sequences": len(sequences),
                "baseline_sequences": len(subset),
                "threads": torch.get_num_threads(),
                "zoo_seq_per_s": round(len(sequences) / fast_s, 2),
                "baseline_seq_per_s": round(len(subset) / slow_s, 3),
                "ratio": round((len(sequences) / fast_s) / (len(subset) / slow_s), 1),
                "max_abs_diff": float(np.abs(ours[: len(subset)] - theirs).max()),
                "zoo_gflop_per_s": round(tokens * FLOP_PER_TOKEN / fast_s / 1e9, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
