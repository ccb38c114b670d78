#!/usr/bin/env bash
# The runs behind leaderboard/README.md, in the order they were made (the leaderboard's header
# names the machine and the commits). Every step resumes: rerunning skips the jobs that already
# finished, and a job killed mid-training resumes from its last epoch. The published runs are in
# leaderboard/runs/ (zoo import leaderboard/runs loads them; nothing has to be recomputed).
set -uo pipefail
export ZOO_DATA_DIR="${ZOO_DATA_DIR:-../shared/data}"

# supervised, default profile (linear picks alpha on valid), 3 seeds: 28 jobs
zoo eval --all --model linear --model cnn
# frozen UniRep-1900 + ridge (the embedding is cached; GB1's five splits share one embedding)
zoo eval --model unirep --task stability
zoo eval --model unirep --task gb1_one_vs_rest --task gb1_two_vs_rest --task gb1_three_vs_rest \
         --task gb1_low_vs_high --task gb1_sampled
# learning curves: nested, seeded train subsets; model selection on a valid subset of ~N/4
zoo eval --model linear --model cnn --model unirep --task stability --train-sizes 24,96,384,1536,6144,full
zoo eval --model linear --model cnn --model unirep --task gb1_low_vs_high --task gb1_sampled \
         --task gb1_three_vs_rest --train-sizes 24,96,384,1536,full
zoo eval --model linear --model cnn --model unirep --task gb1_two_vs_rest --train-sizes 24,96,full
zoo eval --model linear --model cnn --task fluorescence --train-sizes 24,96,384,1536,6144,full
# the paper's linear model (alpha 1, clipped) and the models whose weights cannot be had offline
zoo eval --model linear --profile paper
for m in esm2-8m esm2-35m esm2-150m esm2-650m esm1b-650m tape-bert; do
  zoo eval --model "$m" --model "$m-finetune" --seeds 1        # recorded as unavailable, with the reason
done
# the rest of the UniRep family, frozen (idle machine: 357 and 73 fluorescence sequences/s)
zoo eval --model unirep-64 --model unirep-256 --task stability --task gb1_one_vs_rest --task gb1_two_vs_rest \
         --task gb1_three_vs_rest --task gb1_low_vs_high --task gb1_sampled
zoo eval --model unirep-64 --model unirep-256 --task fluorescence
zoo eval --model unirep-64 --model unirep-256 --task fluorescence --task stability --train-sizes 24,96,384,1536,6144,full
zoo eval --model unirep-64 --model unirep-256 --task gb1_low_vs_high --task gb1_sampled --task gb1_three_vs_rest \
         --train-sizes 24,96,384,1536,full
zoo eval --model unirep-64 --model unirep-256 --task gb1_two_vs_rest --train-sizes 24,96,full
# issue 13: the paper's CNN recipe in full (fp32; 50 epochs of 21,446 at batch 256)
zoo eval --model cnn --profile paper --task fluorescence --seeds 3
# issue 14: zero-shot (N = 0) and augmented UniRep models; UniRep's log-likelihood and embedding share one pass
zoo eval --model unirep-64-zeroshot --model unirep-64-augmented --model unirep-64-augmented-embedding --all
zoo eval --model unirep-256-zeroshot --model unirep-256-augmented --model unirep-256-augmented-embedding --all
zoo eval --model unirep-zeroshot --model unirep-augmented --model unirep-augmented-embedding \
         --task fluorescence                                    # one UniRep-1900 pass, ~55 min idle (16.6 seq/s)
# issue 13.5: the CNN's shape chosen on valid, GB1 (3 seeds where finished; see the page's seed counts)
zoo eval --model cnn-grid --task gb1_one_vs_rest --task gb1_two_vs_rest --task gb1_three_vs_rest \
         --task gb1_low_vs_high --task gb1_sampled --seeds 3
# issue 13.4: ridge on one-hot + pairs of co-occurring mutations (epistasis), every task and the curves
zoo eval --model linear-pairwise --all
zoo eval --model linear-pairwise --task stability --task fluorescence --train-sizes 24,96,384,1536,6144,full
zoo eval --model linear-pairwise --task gb1_low_vs_high --task gb1_sampled --task gb1_three_vs_rest \
         --train-sizes 24,96,384,1536,full
zoo eval --model linear-pairwise --task gb1_two_vs_rest --train-sizes 24,96,full
# issue 13: the paper's stability CNN (bf16 autocast: 1.23x here), then the paper's ensemble: its first
# member is that net (taken from the cache of finished training), then the dilated and LinearMaxPool nets;
# the dilated row then reuses the ensemble's member
zoo eval --model cnn --profile paper --task stability --seeds 3 -o precision=bf16   # seed 0 done; ~55 min a seed idle
zoo eval --model cnn --profile paper --no-clip --task stability --seeds 3 -o precision=bf16  # unclipped: reuses the nets
# issue 14: UniRep-64 fine-tuned to convergence (early stopping on valid), unclipped so the verdict can pair it
zoo eval --model unirep-64-finetune --profile paper --no-clip --task gb1_one_vs_rest --task gb1_two_vs_rest \
         --task gb1_three_vs_rest --seeds 1                   # three_vs_rest still training at the session's end
# issue 13.6, on a lent H100: the paper CNNs (fluorescence fp32 and bf16, stability fp32, bf16, dilated,
# ensemble seed 0), then the fluorescence CNN unclipped; each stream's bundle loaded with `zoo import`
#   OUT=... BUDGET=480 bash bench/gpu_run.sh cnn; OUT=... BUDGET=150 bash bench/gpu_run.sh fluorescence-unclipped
#   for b in gpu-bundles/*; do zoo import $b; done
zoo eval --model unirep-64-finetune --profile paper --no-clip --task gb1_low_vs_high --task gb1_sampled --seeds 1
# issue 13.3: the paper code's initialisation, fluorescence seed 0, then its unclipped twin (from the cache)
zoo eval --model cnn --profile paper --task fluorescence --seeds 1 -o init=flax
zoo eval --model cnn --profile paper --no-clip --task fluorescence --seeds 1 -o init=flax
# issue 13.4: the CNN and a one-hot ridge blended, the weight chosen on valid (the CNN taken from the cache
# of finished training where a cnn job had trained it; the fluorescence paper seed 0 trained here, 838 s)
zoo eval --model cnn-linear-blend --profile paper --task fluorescence --seeds 1
zoo eval --model cnn-linear-blend --profile paper --no-clip --task fluorescence --seeds 1
zoo eval --model cnn-linear-blend --profile paper -o init=flax --task fluorescence --seeds 1
zoo eval --model cnn-linear-blend --profile paper --no-clip -o init=flax --task fluorescence --seeds 1
zoo eval --model cnn-linear-blend --profile paper -o precision=bf16 --task stability --seeds 1
zoo eval --model cnn-linear-blend --profile paper --no-clip -o precision=bf16 --task stability --seeds 1
zoo eval --model cnn-linear-blend -o ridge=pairwise --task gb1_low_vs_high --task gb1_sampled --task gb1_three_vs_rest \
         --task gb1_two_vs_rest --task gb1_one_vs_rest --seeds 3
zoo eval --model cnn-linear-blend --task fluorescence --seeds 3
zoo eval --model cnn -o pool=attention --task stability --seeds 3         # issue 13.4: attention pooling
zoo eval --model cnn -o pool=attention --task fluorescence --seeds 1
zoo eval --model cnn -o schedule=cosine -o epochs=15 --task stability --seeds 3       # issue 13.4: longer, with a schedule
zoo eval --model cnn-ensemble -o schedule=cosine -o epochs=15 --task stability --seeds 1  # members: the 3 seeds above
zoo eval --model cnn-linear-blend -o schedule=cosine -o epochs=15 --task stability --seeds 3
zoo eval --model unirep-zeroshot --model unirep-augmented --model unirep-augmented-embedding --task stability \
         --task gb1_one_vs_rest                                 # issue 14: UniRep-1900's likelihood pass on stability
# two streams side by side, one thread each (OMP_NUM_THREADS=1: bench/parallel_jobs.py, docs/scaling.md)
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip --task stability --seeds 1 &
( export OMP_NUM_THREADS=1
  zoo eval --model unirep-64-finetune --profile paper --no-clip --task gb1_sampled --seeds 1
  zoo eval --model unirep-256-finetune --profile paper --no-clip --task gb1_one_vs_rest --task gb1_two_vs_rest --seeds 1
  # issue 13.4: the blend's first member an ensemble (-o members=3; members from the cache where trained)
  zoo eval --model cnn-linear-blend -o members=3 -o schedule=cosine -o epochs=15 --task stability --seeds 1
  for clip in --clip --no-clip; do
    zoo eval --model cnn-ensemble --profile paper $clip --task fluorescence --seeds 1   # members: cnn seeds 0-2
    zoo eval --model cnn-linear-blend -o members=3 --profile paper $clip --task fluorescence --seeds 1
  done ) &
wait
# issue 14: UniRep-1900 fine-tuned on an H100 (two calls of one warm machine; bench/README.md), imported
#   OUT=... bash bench/gpu_run.sh stage; OUT=... BUDGET=540 TRAIN_S=330 bash bench/gpu_run.sh unirep-1900
#   zoo import <each bundle in its bundles.tgz>
OMP_NUM_THREADS=1 zoo eval --model cnn -o schedule=cosine -o epochs=15 -o filters=256 --task stability --seeds 1
# issue 13.5: cnn's default stability recipe raised (recipe 1: the cosine 15-epoch nets, from the cache)
zoo eval --model cnn --task stability --seeds 3
zoo eval --model cnn --task stability --train-sizes 24,96,384,1536,6144,full   # its learning curve again
zoo leaderboard && zoo export                                    # the page, its figures and the bundle
# issue 14.4: the augmented models on the learning curves, and UniRep-1900's zero-shot and augmented rows on
# the four other GB1 splits. Listed above until now, but never run: the published page lacked them. Every
# embedding and log-likelihood was in the cache, so these are ridge fits (about an hour on one thread)
A="--model unirep-64-augmented --model unirep-64-augmented-embedding --model unirep-256-augmented --model unirep-256-augmented-embedding"
zoo eval $A --task gb1_two_vs_rest --train-sizes 24,96,full
zoo eval $A --task gb1_low_vs_high --task gb1_sampled --task gb1_three_vs_rest --train-sizes 24,96,384,1536,full
zoo eval $A --task stability --task fluorescence --train-sizes 24,96,384,1536,6144,full
zoo eval --model unirep-zeroshot --model unirep-augmented --model unirep-augmented-embedding --task gb1_two_vs_rest \
         --task gb1_three_vs_rest --task gb1_low_vs_high --task gb1_sampled
B="--model unirep-augmented --model unirep-augmented-embedding"
zoo eval $B --task gb1_two_vs_rest --train-sizes 24,96,full
zoo eval $B --task gb1_low_vs_high --task gb1_sampled --task gb1_three_vs_rest --train-sizes 24,96,384,1536,full
zoo eval $B --model unirep --task stability --task fluorescence --train-sizes 24,96,384,1536,6144,full
# issue 14: the two fine-tunes left running, resumed (one thread each) until they finished
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip --task fluorescence --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task gb1_three_vs_rest --seeds 1
wait
# issue 13.4: five copies of the default stability recipe averaged (members 0-2 from the cache)
zoo eval --model cnn-ensemble -o members=5 --task stability --seeds 1
zoo leaderboard && zoo export
# issue 14: UniRep-256 on gb1_low_vs_high, resumed at epoch 8 until it stopped early (one thread)
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task gb1_low_vs_high --seeds 1
# issue 13.4: other shapes of the default stability recipe (seed 0 each; none beats recipe 1 on valid), then
# an ensemble across architectures: recipe 1's five copies (from the cache) and one net of two other shapes
zoo eval --model cnn --task stability --seeds 1 -o 'dilations=[1,2,1]'
zoo eval --model cnn --task stability --seeds 1 -o layers=5
zoo eval --model cnn --task stability --seeds 1 -o kernel=9
zoo eval --model cnn-ensemble -o members=5 -o 'shapes=["dilated","kernel9"]' --task stability --seeds 1
zoo leaderboard && zoo export
# queued, not all finished yet (CPU time; each resumes where it stopped; see the closing notes):
# zoo eval --model cnn --profile paper --task stability --seeds 3 -o precision=bf16   # CPU seeds 1-2 (GPU has 3 seeds)
# zoo eval --model cnn-ensemble --profile paper --task stability -o precision=bf16     # the CPU's ensemble
# zoo eval --model unirep-64-finetune --model unirep-256-finetune --profile paper --no-clip --all  # issue 14
#   started, resumable: unirep-256-finetune on stability (2 of 20 epochs; its checkpoint was lost with
#   that session's machine, before checkpoints/ existed, so it starts over), and
#   zoo eval --model cnn-ensemble -o members=5 -o 'shapes=["dilated","kernel9"]' --task fluorescence --seeds 1
#   (stopped in its dilated member's first epoch; its checkpoint was lost the same way)
# issue 14: trainings that outlive a session keep their epoch checkpoints in the repository's checkpoints/
# (ZOO_CHECKPOINT_DIR), committed when the session stops; the next session resumes them (checkpoints/README.md).
# UniRep-256 on gb1_sampled started over (its cache-only checkpoint was lost with the last machine), and
# UniRep-64 on stability again with a higher cap: at -o epochs=20 its valid was still rising at epoch 19
export ZOO_CHECKPOINT_DIR=checkpoints
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task gb1_sampled --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip -o epochs=60 --task stability --seeds 1
wait
# issue 14: UniRep-1900 fine-tuned on stability and fluorescence alone on an H100 (two jobs sharing the card,
# one 512 s call after `stage`; the published bundle and checkpoints/ out of the index for the two calls):
#   OUT=... bash bench/gpu_run.sh stage
#   OUT=... BUDGET=570 TRAIN_S=430 TASKS="stability fluorescence" bash bench/gpu_run.sh unirep-1900
#   zoo import <each bundle in its bundles.tgz>
# then the two carried trainings resumed from checkpoints/ (one thread each)
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task gb1_sampled --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip -o epochs=60 --task gb1_sampled --seeds 1 &
# and UniRep-64 on gb1_three_vs_rest with the higher cap too (at 20 epochs its valid was still rising)
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip -o epochs=60 --task gb1_three_vs_rest --seeds 1 &
wait -n  # and once a thread is free, gb1_low_vs_high likewise (best epoch 19 of 20 at the cap)
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip -o epochs=60 --task gb1_low_vs_high --seeds 1
wait
# next session: gb1_low_vs_high resumed at epoch 20 from checkpoints/ and stopped early after 36 (best 33);
# UniRep-256 on fluorescence and stability started (one thread each), checkpointed every 600 s inside
# their epochs as well (ZOO_CHECKPOINT_SECONDS) and carried in checkpoints/ (each resumes there)
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task fluorescence --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task stability --seeds 1 &
# and UniRep-64 on fluorescence with the higher cap (at -o epochs=20 its best epoch was 19 of 20)
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip -o epochs=60 --task fluorescence --seeds 1
wait
# next session: both UniRep-256 runs resumed from checkpoints/ (one thread each), and issue 13.4's
# global-epistasis model (one-hot latent through a sigmoid) on every task, beside them
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task stability --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task fluorescence --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model global-epistasis --seeds 1
wait
# next session: UniRep-256 on stability resumed at epoch 9 from checkpoints/ and stopped early after 14
# (best 11); beside it, issue 13's paper recipe on stability with the paper code's initialisation (seed 0),
# then UniRep-64 on fluorescence (-o epochs=60) resumed at epoch 8, stopped again after epoch 12
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task stability --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model cnn --profile paper -o init=flax -o precision=bf16 --task stability --seeds 1
zoo eval --model cnn --profile paper --no-clip -o init=flax -o precision=bf16 --task stability --seeds 1
wait
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip -o epochs=60 --task fluorescence --seeds 1
# next session: both fluorescence fine-tunes resumed from checkpoints/ (one thread each): UniRep-64 stopped
# early after 22 epochs (best 19), UniRep-256 was stopped after epoch 9 and, resumed once more, after 10; beside them the fluorescence ensemble across architectures, stopped unfinished:
# its dilated member (3 x 256 filters over 237 residues) ran about 11.5 s a step, three jobs and the tests on 2 cores
OMP_NUM_THREADS=1 zoo eval --model unirep-64-finetune --profile paper --no-clip -o epochs=60 --task fluorescence --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task fluorescence --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model cnn-ensemble -o members=5 -o 'shapes=["dilated","kernel9"]' --task fluorescence --seeds 1
wait
zoo leaderboard && zoo export
# next session: UniRep-256 on fluorescence resumed from checkpoints/ (epoch 11 with two threads, then one), and
# beside it UniRep-256 on gb1_three_vs_rest with a 60-epoch cap (the 20-epoch run kept its epoch 19 of 20: not
# converged); both stopped at an epoch's end and carried in checkpoints/
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task fluorescence --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip -o epochs=60 --task gb1_three_vs_rest --seeds 1
wait
zoo leaderboard && zoo export
# next session: both resumed from checkpoints/ (one thread each): UniRep-256 on gb1_three_vs_rest stopped early
# after 33 of 60 epochs (epoch 30 kept); UniRep-256 on fluorescence stopped inside epoch 19 and carried again
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task fluorescence --seeds 1 &
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip -o epochs=60 --task gb1_three_vs_rest --seeds 1
wait
zoo leaderboard && zoo export
# next session: UniRep-256 on fluorescence resumed inside epoch 19 and reached the cap of 20 (epoch 20 kept,
# valid 0.780, test 0.673); its checkpoint left checkpoints/ once the run was recorded
OMP_NUM_THREADS=1 zoo eval --model unirep-256-finetune --profile paper --no-clip --task fluorescence --seeds 1
zoo leaderboard && zoo export
# and after it, the fluorescence ensemble across architectures (two threads), started over: members 0-4 (recipe 1,
# about a minute each), then the dilated net at about 3 minutes an epoch; stopped after its epoch 11 of 20 and
# carried in checkpoints/ (the kernel9 net not started)
ZOO_CHECKPOINT_DIR=checkpoints zoo eval --model cnn-ensemble -o members=5 -o 'shapes=["dilated","kernel9"]' --task fluorescence --seeds 1
zoo leaderboard && zoo export
