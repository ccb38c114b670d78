"""The machine's practical float32 peak: the best of a few large torch matrix products (GFLOP/s).

A reference for the FLOP rates the other benches report. Run it on an idle machine.
"""

import json
import time

import torch

a, b = torch.randn(4096, 4096), torch.randn(4096, 4096)
a @ b
best = 0.0
for _ in range(5):
    start = time.perf_counter()
    a @ b
    best = max(best, 2 * 4096**3 / (time.perf_counter() - start) / 1e9)
print(json.dumps({"threads": torch.get_num_threads(), "sgemm_gflop_per_s": round(best, 1)}))
