"""Shared fixtures: the real data in ../shared/data, subsets of it, and one MLflow store per session."""

from __future__ import annotations

import contextlib
import ipaddress
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
DATA_DIR = Path(os.environ.get("ZOO_DATA_DIR") or ROOT.parent / "shared" / "data").resolve()


HAVE_DATA = (DATA_DIR / "fluorescence" / "fluorescence.csv.gz").exists()


def _this_machine(host: object) -> bool:
    name = host.decode() if isinstance(host, bytes) else str(host or "")
    if name in ("", "localhost", socket.gethostname()):
        return True
    try:
        address = ipaddress.ip_address(name.split("%")[0])
    except ValueError:
        return False
    return address.is_loopback or address.is_private or address.is_unspecified


@pytest.fixture(autouse=True)
def offline(monkeypatch):
    """The network edge, for every test: looking up any host but this machine fails as it does offline, so
    the suite never downloads (weights, data) and behaves alike with and without a network. Loopback and
    private addresses stay: the MLflow server and Ray that tests start run here."""
    lookup = socket.getaddrinfo

    def refuse(host, *args, **kwargs):
        if not _this_machine(host):
            raise socket.gaierror(socket.EAI_NONAME, f"Name or service not known (tests are offline: {host})")
        return lookup(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", refuse)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real data; tests that need it are skipped, with the reason, when it is missing (the rest run)."""
    if not HAVE_DATA:
        pytest.skip(
            f"test data not found in {DATA_DIR}: set ZOO_DATA_DIR to the folder holding fluorescence/ "
            f"and stability/ (../shared/data beside the checkout)"
        )
    return DATA_DIR


def write_subset(source: Path, dest: Path, sizes: dict[str, int], seed: int = 0) -> pd.DataFrame:
    """A seeded random subset of a real task file, written in the zoo's CSV layout."""
    frame = pd.read_csv(source)
    parts = [frame[frame.split == s].sample(n, random_state=seed) for s, n in sizes.items()]
    subset = pd.concat(parts)[["sequence", "target", "split"]]
    dest.parent.mkdir(parents=True, exist_ok=True)
    subset.to_csv(dest, index=False)
    return subset


SUBSET = {"train": 400, "valid": 100, "test": 150}


@pytest.fixture(scope="session")
def subset_dir(tmp_path_factory, data_dir) -> Path:
    """Real fluorescence and stability rows, a few hundred per split."""
    root = tmp_path_factory.mktemp("data")
    for task in ("fluorescence", "stability"):
        write_subset(data_dir / task / f"{task}.csv.gz", root / task / f"{task}.csv.gz", SUBSET)
    return root


@pytest.fixture(scope="session")
def mlflow_uri(tmp_path_factory) -> str:
    """One sqlite store for the whole session: creating one costs about two seconds."""
    root = tmp_path_factory.mktemp("mlflow")
    uri = f"sqlite:///{root / 'mlflow.db'}"
    old = os.environ.get("MLFLOW_TRACKING_URI")
    os.environ["MLFLOW_TRACKING_URI"] = uri
    cwd = os.getcwd()
    os.chdir(root)  # artifacts of a sqlite store land in ./mlruns of the working directory
    yield uri
    os.chdir(cwd)
    if old is None:
        os.environ.pop("MLFLOW_TRACKING_URI", None)
    else:
        os.environ["MLFLOW_TRACKING_URI"] = old


@pytest.fixture(scope="session")
def tiny_esm(tmp_path_factory):
    """A 1-layer ESM-2 saved as fair-esm saves its checkpoints (cfg as an argparse.Namespace)."""
    import argparse

    import esm
    import torch
    from esm.model.esm2 import ESM2

    torch.manual_seed(0)
    model = ESM2(
        num_layers=1,
        embed_dim=16,
        attention_heads=2,
        alphabet=esm.data.Alphabet.from_architecture("ESM-1b"),
        token_dropout=True,
    )
    cfg = argparse.Namespace(encoder_layers=1, encoder_embed_dim=16, encoder_attention_heads=2, token_dropout=True)
    folder = tmp_path_factory.mktemp("esm")
    torch.save(
        {"cfg": {"model": cfg}, "model": {f"encoder.{k}": v for k, v in model.state_dict().items()}},
        folder / "esm2_t6_8M_UR50D.pt",
    )
    return folder, model.eval()


@contextlib.contextmanager
def zoo_ui(uri: str):
    """`zoo ui` on a free port of 127.0.0.1 against ``uri``; yields (base URL, search(filter) -> runs over
    MLflow's REST API, output lines so far). The server is stopped afterwards."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, MLFLOW_TRACKING_URI=uri)
    proc = subprocess.Popen(
        [sys.executable, "-m", "zoo.cli", "ui", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    output: list[str] = []

    def search(experiment_id: str, query: str = "") -> list[dict]:
        body = json.dumps({"experiment_ids": [experiment_id], "max_results": 1000, "filter": query}).encode()
        request = urllib.request.Request(
            base + "/api/2.0/mlflow/runs/search", data=body, headers={"Content-Type": "application/json"}
        )
        return json.load(urllib.request.urlopen(request, timeout=30)).get("runs", [])

    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                urllib.request.urlopen(base + "/health", timeout=2).close()
                break
            except OSError:
                time.sleep(0.5)
        yield base, search, output
    finally:
        os.killpg(proc.pid, 15)
        output.append(proc.communicate(timeout=30)[0].decode())
