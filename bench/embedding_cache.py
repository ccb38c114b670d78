"""The embedding cache: a frozen UniRep head fitted twice on the same sequences, cold cache then warm.

The first fit embeds every sequence; the second (a new model object, as a rerun or a second head
would be) reads the cache. Same sequences, same process, a fresh cache directory. Prints JSON.

    python bench/embedding_cache.py [--task stability] [--n 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time

from zoo_plugins.unirep import plugin as unirep
from zoo_tasks import tape

from zoo import Split


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR"))
    parser.add_argument("--task", default="stability")
    parser.add_argument("--n", type=int, default=1024)
    args = parser.parse_args()
    data = tape.load(args.task, data_dir=args.data_dir)
    train = Split(data.train.sequences[: args.n], data.train.targets[: args.n])
    valid = Split(data.valid.sequences[: args.n // 4], data.valid.targets[: args.n // 4])
    os.environ["ZOO_CACHE_DIR"] = tempfile.mkdtemp(prefix="zoo-bench-cache-")
    times = []
    for _ in range(2):
        model = unirep.make_frozen(
            task=args.task, seed=0, profile="default", options={"weights": None, "batch_size": 256}
        )
        start = time.perf_counter()
        model.fit(train, valid)
        times.append(time.perf_counter() - start)
    print(
        json.dumps(
            {
                "task": args.task,
                "sequences": len(train) + len(valid),
                "cold_s": round(times[0], 2),
                "warm_s": round(times[1], 3),
                "ratio": round(times[0] / times[1], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
