"""Two fine-tuning jobs side by side, one thread each, against one job with both threads.

The mLSTM's recurrence is a long chain of small matrix products, which a second thread barely
speeds up. If so, two ``zoo eval`` streams with ``OMP_NUM_THREADS=1`` finish more work on a 2-core
machine than one stream with two threads. The same work (2 × ``--steps`` fine-tuning steps at batch
8 on real sequences, forward, mean pool, head, MSE, backward, AdamW) is done both ways: one process
with 2 threads doing all the steps, then two processes with 1 thread each doing half the steps each,
started together. The ratio is the wall time of the first over that of the second. Network loading
and a warm-up step are outside the timing. Prints JSON.

    ZOO_DATA_DIR=../shared/data python bench/parallel_jobs.py [--steps 60] [--sizes 64,256]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import time

import numpy as np

BATCH = 8


def _load(task: str):
    from zoo_tasks import gb1, tape

    data_dir = os.environ.get("ZOO_DATA_DIR")
    if task == "stability":
        return tape.load("stability", data_dir=data_dir).train
    return gb1.load("sampled", data_dir=data_dir).train


def _worker(size: int, task: str, batches: list, threads: int, barrier, results) -> None:
    import torch
    from mlstm_backward import step  # the same fine-tuning step as bench/mlstm_backward.py
    from zoo_plugins.unirep import plugin as unirep

    torch.set_num_threads(threads)
    data = _load(task)
    torch.manual_seed(0)
    backbone = unirep.backbone(unirep.weights_path({}, size), size, False).train()
    head = torch.nn.Linear(backbone.hidden_size, 1)
    opt = torch.optim.AdamW([*backbone.parameters(), *head.parameters()], lr=1e-5)

    def run(idx) -> None:
        y = torch.tensor(data.targets[idx], dtype=torch.float32)
        step(backbone, head, opt, [data.sequences[j] for j in idx], y)

    run(batches[0])  # warm-up
    barrier.wait()
    start = time.perf_counter()
    for idx in batches[1:]:
        run(idx)
    results.put(time.perf_counter() - start)


def _wall(size: int, task: str, batches: list, jobs: int) -> float:
    """Wall time for ``batches`` split over ``jobs`` processes of 2 // jobs threads, started together."""
    ctx = mp.get_context("spawn")
    barrier, results = ctx.Barrier(jobs), ctx.Queue()
    share = [batches[:1] + batches[1 + k :: jobs] for k in range(jobs)]
    procs = [ctx.Process(target=_worker, args=(size, task, share[k], 2 // jobs, barrier, results)) for k in range(jobs)]
    for p in procs:
        p.start()
    walls = [results.get() for _ in procs]
    for p in procs:
        p.join()
    return max(walls)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=60, help="timed steps per job of two (one job runs twice as many)")
    parser.add_argument("--sizes", default="64,256", help="UniRep sizes, comma-separated")
    args = parser.parse_args()
    out: dict = {"batch": BATCH, "steps_in_all": 2 * args.steps, "results": {}}
    for task in ("stability", "gb1_sampled"):
        n = len(_load(task))
        rng = np.random.default_rng(0)
        batches = [rng.choice(n, BATCH, replace=False) for _ in range(2 * args.steps + 1)]
        for size in (int(s) for s in args.sizes.split(",")):
            one, two = _wall(size, task, batches, 1), _wall(size, task, batches, 2)
            out["results"][f"unirep-{size} {task}"] = {
                "one job, 2 threads: s": round(one, 2),
                "two jobs, 1 thread each: s": round(two, 2),
                "throughput ratio": round(one / two, 2),
            }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
