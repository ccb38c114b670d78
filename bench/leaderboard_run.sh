#!/usr/bin/env bash
# The runs behind leaderboard/README.md, in the order they were made (the leaderboard's header
# names the machine). Every step resumes: rerunning skips the jobs that already finished.
set -uo pipefail
export ZOO_DATA_DIR="${ZOO_DATA_DIR:-../shared/data}"

zoo eval --all --model linear --model cnn                       # supervised, default profile, 3 seeds
zoo eval --model linear --profile paper                          # the paper's clipping
for m in esm2-8m esm2-35m esm2-150m esm2-650m esm1b-650m tape-bert; do
  zoo eval --model "$m" --model "$m-finetune" --seeds 1          # no weights offline: recorded as unavailable
done
zoo eval --model unirep --task stability                         # frozen UniRep-1900 + ridge
zoo eval --model unirep --task stability --force                 # the same job again, from the embedding cache
zoo eval --model unirep --task fluorescence                      # ~1.5 h on 2 cores; resumable (cache)
# learning curves: nested, seeded subsets, 3 seeds each (the full-size runs above are the last point);
# 90 jobs, 18 min 48 s, with UniRep's embeddings from the cache
zoo eval --model linear --model cnn --model unirep --task stability --task fluorescence \
         --train-sizes 24,96,384,1536,6144,full
# UniRep on GB1: the first split embeds all 8,733 variants (1,079 s); the other four reuse the cache
zoo eval --model unirep --task gb1_one_vs_rest --task gb1_two_vs_rest --task gb1_three_vs_rest \
         --task gb1_low_vs_high --task gb1_sampled
# GB1 learning curves (126 jobs with 3 seeds, 6 min 6 s; sizes below each train split:
# one_vs_rest has only 25 training variants, so it has no curve)
zoo eval --model linear --model cnn --model unirep --task gb1_low_vs_high --task gb1_sampled \
         --task gb1_three_vs_rest --train-sizes 24,96,384,1536,full
zoo eval --model linear --model cnn --model unirep --task gb1_two_vs_rest --train-sizes 24,96,full
# linear and cnn again under the final code, so every row has its cost columns (958 s + 20 s)
zoo eval --all --model linear --model cnn --force
zoo eval --model linear --profile paper --force
zoo leaderboard
# not run yet (CPU time): the CNN paper recipe at full scale, fine-tuned variants at scale
# zoo eval --model cnn --task fluorescence --profile paper --seeds 1
# zoo eval --model unirep-finetune --task stability --seeds 1    # CPU profile: 100 steps / 600 s
