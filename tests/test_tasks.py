"""Task data in each format, validation errors, and the download path over loopback."""

from __future__ import annotations

import http.server
import io
import json
import pickle
import re
import tarfile
import threading

import lmdb
import numpy as np
import pandas as pd
import pytest
from zoo_tasks import readers, tape
from zoo_tasks.download import safe_extract
from zoo_tasks.readers import DataError

from zoo import ZooError
from zoo.cache import file_digest


def test_full_csv_matches_tape_counts(data_dir):
    data = tape.load("stability", data_dir=str(data_dir))
    assert (len(data.train), len(data.valid), len(data.test)) == (53614, 2512, 12851)
    assert list(data.files.values()) == ["47c89fbee6c38d1222277640970e40a5091823ae4fbd6559a7dd7e2e7f3cce9a"]
    # the source's duplicates and train/test overlap are reported, not dropped
    assert "train has 43 duplicate sequences (kept as in the source)" in data.notes
    assert "26 train sequences also appear in test (kept as in the source)" in data.notes


def test_subset_is_flagged_as_not_comparable(subset_dir):
    data = tape.load("fluorescence", data_dir=str(subset_dir))
    assert len(data.train) == 400
    assert any("differ from TAPE's 21446/5362/27217" in note for note in data.notes)


@pytest.fixture(scope="module")
def official_valid_lmdb(tmp_path_factory, data_dir):
    root = tmp_path_factory.mktemp("lmdb")
    safe_extract(data_dir / "fluorescence" / "tape_official_fluorescence_valid.lmdb.tar.gz", root / "x")
    return root / "x" / "fluorescence_valid.lmdb"


def test_reads_tapes_official_lmdb(official_valid_lmdb, data_dir):
    split = readers.read_lmdb(official_valid_lmdb, "log_fluorescence")
    assert len(split) == 5362
    csv = tape.load("fluorescence", data_dir=str(data_dir)).valid
    assert split.sequences == csv.sequences  # same records, same (LMDB) order
    assert np.allclose(split.targets, csv.targets, atol=1e-6)


def write_tape_lmdb(path, frame: pd.DataFrame, target_key: str) -> None:
    """TAPE's data_pytorch layout: pickled dicts under str(index), plus num_examples."""
    env = lmdb.open(str(path), map_size=1 << 28)
    with env.begin(write=True) as txn:
        for i, (seq, y) in enumerate(zip(frame.sequence, frame.target)):
            record = {"primary": seq, "protein_length": len(seq), target_key: np.array([y], dtype=np.float32)}
            txn.put(str(i).encode(), pickle.dumps(record))
        txn.put(b"num_examples", pickle.dumps(len(frame)))
    env.close()


def tape_layout(root, task: str, frame: pd.DataFrame, fmt: str) -> None:
    folder = root / task
    folder.mkdir(parents=True)
    key = tape.TASKS[task]["target"]
    for split in readers.SPLITS:
        part = frame[frame.split == split]
        if fmt == "lmdb":
            write_tape_lmdb(folder / f"{task}_{split}.lmdb", part, key)
        else:
            records = [
                {"primary": s, "protein_length": len(s), key: [float(y)]} for s, y in zip(part.sequence, part.target)
            ]
            (folder / f"{task}_{split}.json").write_text(json.dumps(records))


@pytest.mark.parametrize("fmt", ["lmdb", "json"])
def test_task_reads_tape_formats(tmp_path, subset_dir, fmt):
    frame = pd.read_csv(subset_dir / "stability" / "stability.csv.gz")
    tape_layout(tmp_path, "stability", frame, fmt)
    data = tape.load("stability", data_dir=str(tmp_path))
    assert data.train.sequences == list(frame[frame.split == "train"].sequence)
    assert np.allclose(data.test.targets, frame[frame.split == "test"].target, atol=1e-5)
    assert len(data.files) == 3


def test_lmdb_refuses_arbitrary_pickles(tmp_path):
    env = lmdb.open(str(tmp_path / "evil.lmdb"))
    with env.begin(write=True) as txn:
        txn.put(b"num_examples", pickle.dumps(1))
        txn.put(b"0", pickle.dumps({"primary": "ACD", "stability_score": io.BytesIO(b"x")}))
    env.close()
    with pytest.raises(DataError, match="cannot be decoded.*refusing to unpickle _io.BytesIO"):
        readers.read_lmdb(tmp_path / "evil.lmdb", "stability_score")


GOOD_ROWS = "sequence,target,split\nACDE,1.0,train\nACDF,2.0,valid\nACDG,0.5,test\n"


@pytest.mark.parametrize(
    "content, message",
    [
        (GOOD_ROWS.replace("ACDF", "ACDx"), r"line 3: sequence has 'x' at position 4.*Fix: correct or drop"),
        (GOOD_ROWS.replace("ACDF", "AC*F"), r"line 3: sequence has '\*' at position 3"),
        (GOOD_ROWS.replace("ACDG", "AC G"), r"line 4: sequence has ' ' at position 3"),
        (GOOD_ROWS.replace("ACDF", "ACdF"), r"line 3: sequence has 'd' at position 3.*\(uppercase"),
        (GOOD_ROWS.replace("2.0", "nan"), r"line 3: target is nan, not a finite number"),
        (GOOD_ROWS.replace("2.0", "inf"), r"line 3: target is inf, not a finite number"),
        (GOOD_ROWS.replace("2.0", ""), r"line 3: target is nan, not a finite number"),
        (GOOD_ROWS.replace("sequence,", "seq,"), r"missing column\(s\) sequence.*needs the header"),
        (GOOD_ROWS.replace("test\n", "tst\n"), r"split labels 'tst' \(first on line 4\) are not train, valid or test"),
    ],
)
def test_bad_input_names_file_row_and_fix(tmp_path, content, message):
    path = tmp_path / "stability" / "stability.csv"
    path.parent.mkdir()
    path.write_text(content)
    with pytest.raises(DataError, match=message) as err:
        tape.load("stability", data_dir=str(tmp_path))
    assert str(path) in str(err.value)


def test_missing_data_says_where_it_looked(tmp_path):
    with pytest.raises(DataError, match="no data for task 'fluorescence'.*ZOO_DATA_DIR"):
        tape.load("fluorescence", data_dir=str(tmp_path))


def test_truncated_gzip_is_reported(tmp_path, data_dir):
    blob = (data_dir / "stability" / "stability.csv.gz").read_bytes()
    path = tmp_path / "stability" / "stability.csv.gz"
    path.parent.mkdir()
    path.write_bytes(blob[: len(blob) // 2])
    with pytest.raises(DataError, match="cannot be read as CSV.*damaged or truncated"):
        tape.load("stability", data_dir=str(tmp_path))


def test_extraction_refuses_escaping_paths(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        info = tarfile.TarInfo("../escaped.txt")
        info.size = 3
        tar.addfile(info, io.BytesIO(b"bad"))
    with pytest.raises(Exception, match="cannot unpack"):
        safe_extract(archive, tmp_path / "out" / "target")
    assert not (tmp_path / "out" / "escaped.txt").exists()
    assert not (tmp_path / "out" / "target").exists()


@pytest.fixture
def tape_server(tmp_path, subset_dir):
    """TAPE's data_pytorch tarball for stability, built from real rows, served on 127.0.0.1."""
    frame = pd.read_csv(subset_dir / "stability" / "stability.csv.gz")
    tape_layout(tmp_path / "build", "stability", frame, "lmdb")
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "stability.tar.gz", "w:gz") as tar:
        tar.add(tmp_path / "build" / "stability", arcname="stability")
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/{{task}}.tar.gz", frame
    server.shutdown()


def test_download_checks_tape_counts(tape_server, tmp_path, monkeypatch):
    url, _ = tape_server
    monkeypatch.setattr(tape, "TAPE_URL", url)  # the network edge: loopback instead of S3
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(
        DataError, match="split sizes 400/100/150 differ from TAPE's 53614/2512/12851.*delete the cache"
    ):
        tape.load("stability")


def test_download_unpacks_into_cache_and_reuses_it(tape_server, tmp_path, monkeypatch):
    url, frame = tape_server
    monkeypatch.setattr(tape, "TAPE_URL", url)
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setitem(tape.TASKS["stability"], "counts", {"train": 400, "valid": 100, "test": 150})
    data = tape.load("stability")
    assert data.valid.sequences == list(frame[frame.split == "valid"].sequence)
    lmdb_dir = tmp_path / "cache" / "tape" / "stability" / "stability_train.lmdb"
    assert lmdb_dir.is_dir()
    assert not (tmp_path / "cache" / "tape" / "stability.tar.gz").exists()
    monkeypatch.setattr(tape, "TAPE_URL", "http://127.0.0.1:9/unreachable/{task}.tar.gz")
    assert len(tape.load("stability").train) == 400  # second load: from the cache, no network


def test_unreachable_download_says_how_to_go_offline(tmp_path, monkeypatch):
    monkeypatch.setattr(tape, "TAPE_URL", "http://127.0.0.1:9/{task}.tar.gz")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(Exception, match="cannot download .*ZOO_DATA_DIR"):
        tape.load("fluorescence")
    assert not list((tmp_path / "cache").rglob("*.part"))


# --- GB1 (FLIP) -------------------------------------------------------------------------------

from zoo_tasks import gb1  # noqa: E402

GB1_COUNTS = {
    "one_vs_rest": (25, 3, 8705),
    "two_vs_rest": (381, 43, 8309),
    "three_vs_rest": (2691, 299, 5743),
    "low_vs_high": (4580, 509, 3644),
    "sampled": (6289, 699, 1745),
}


@pytest.mark.parametrize("split", sorted(GB1_COUNTS))
def test_gb1_official_splits(split, data_dir):
    data = gb1.load(split, data_dir=str(data_dir))
    assert (len(data.train), len(data.valid), len(data.test)) == GB1_COUNTS[split]
    assert {len(s) for s in data.train.sequences} == {265}


@pytest.fixture
def flip_server(tmp_path, data_dir):
    """FLIP's splits.zip layout (set + validation columns), built from real GB1 rows, served on 127.0.0.1."""
    import zipfile

    served = tmp_path / "served"
    served.mkdir()
    archive = served / "splits.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        for split in gb1.SPLITS:
            frame = pd.read_csv(data_dir / "gb1" / f"gb1_{split}.csv.gz").groupby("split").head(20)
            flip = pd.DataFrame(
                {
                    "sequence": frame.sequence,
                    "target": frame.target,
                    "set": frame.split.replace({"valid": "train"}),
                    "validation": frame.split.eq("valid"),
                }
            )
            zf.writestr(f"splits/{split}.csv", flip.to_csv(index=False))
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/splits.zip", file_digest(archive)
    server.shutdown()


def test_flip_download_is_verified_and_converted(flip_server, tmp_path, monkeypatch):
    url, digest = flip_server
    monkeypatch.setattr(gb1, "FLIP_URL", url)  # the network edge: loopback instead of GitHub
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(Exception, match=f"has sha256 {digest}, expected {gb1.FLIP_SHA256}"):
        gb1.load("two_vs_rest")
    monkeypatch.setattr(gb1, "FLIP_SHA256", digest)
    data = gb1.load("two_vs_rest")
    assert (len(data.train), len(data.valid), len(data.test)) == (20, 20, 20)  # validation==True became valid
    assert (tmp_path / "cache" / "flip-gb1" / "gb1_sampled.csv.gz").exists()
    assert not (tmp_path / "cache" / "flip-gb1" / "splits.zip").exists()


# --- issue 10: inputs that crashed or hung the CLI ------------------------------------------------


def test_truncated_lmdb_is_an_error_not_a_bus_error(tmp_path, subset_dir):
    """`truncate -s 8192 stability_train.lmdb/data.mdb` killed zoo eval with SIGBUS (exit 135). Run in a
    child process, so a regression shows up as a dead child instead of a dead test run."""
    import subprocess
    import sys

    frame = pd.read_csv(subset_dir / "stability" / "stability.csv.gz")
    tape_layout(tmp_path, "stability", frame, "lmdb")
    data = tmp_path / "stability" / "stability_train.lmdb" / "data.mdb"
    with open(data, "r+b") as fh:
        fh.truncate(8192)
    code = (
        "from zoo_tasks import tape\ntry:\n    tape.load('stability', data_dir=%r)\n"
        "except Exception as exc:\n    print(type(exc).__name__, exc)\n" % str(tmp_path)
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("DataError") and "truncated: 8,192 bytes, but its header says" in out.stdout


def test_lmdb_without_num_examples_is_named(tmp_path):
    env = lmdb.open(str(tmp_path / "odd.lmdb"))
    with env.begin(write=True) as txn:
        txn.put(b"0", pickle.dumps({"primary": "ACD", "stability_score": 1.0}))
    env.close()
    with pytest.raises(DataError, match="has no 'num_examples' record, so it is not one of TAPE's LMDB splits"):
        readers.read_lmdb(tmp_path / "odd.lmdb", "stability_score")


@pytest.mark.parametrize("label", ["Test", "train ", "holdout"])
def test_unknown_split_labels_are_an_error_naming_them(tmp_path, label):
    """Rows labelled Test, 'train ' or holdout vanished silently with exit 0."""
    path = tmp_path / "stability" / "stability.csv"
    path.parent.mkdir()
    path.write_text(GOOD_ROWS + f"ACDH,0.7,{label}\n")
    with pytest.raises(DataError, match=f"split labels {label!r} \\(first on line 5\\) are not train, valid or test"):
        tape.load("stability", data_dir=str(tmp_path))


def test_a_fifo_as_the_data_file_is_refused_instead_of_hanging(tmp_path):
    import os

    path = tmp_path / "stability" / "stability.csv"
    path.parent.mkdir()
    os.mkfifo(path)
    with pytest.raises(DataError, match="not a regular file"):
        tape.load("stability", data_dir=str(tmp_path))


@pytest.mark.parametrize("member", ["stability_train.lmdb", "/abs/stability/x.txt", "/stability/stability_train.lmdb"])
def test_a_tarball_without_the_task_folder_is_refused_and_leaves_nothing(tmp_path, monkeypatch, member):
    """No top-level stability/ folder (or an absolute member) gave FileNotFoundError and left staging behind."""
    served = tmp_path / "served"
    served.mkdir()
    with tarfile.open(served / "stability.tar.gz", "w:gz") as tar:
        info = tarfile.TarInfo(member)
        info.size = 3
        tar.addfile(info, io.BytesIO(b"abc"))
    handler = lambda *a, **kw: http.server.SimpleHTTPRequestHandler(*a, directory=str(served), **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(tape, "TAPE_URL", f"http://127.0.0.1:{server.server_address[1]}/{{task}}.tar.gz")
        monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
        for _ in range(2):  # and again: nothing left behind trips the next download
            with pytest.raises(ZooError, match="cannot unpack|has no top-level stability/ folder") as err:
                tape.load("stability")
            if member.startswith("/stability"):  # the data filter would strip the "/" and keep it as the task
                assert "holds an absolute path, '/stability/stability_train.lmdb'" in str(err.value)
            left = [p.name for p in (tmp_path / "cache" / "tape").iterdir()]
            assert left == [], left
    finally:
        server.shutdown()


@pytest.mark.parametrize(("target", "shown"), [("[0.5, 99]", "[0.5, 99]"), ("true", "True"), ('"many"', "many")])
def test_a_json_target_that_is_not_one_number_is_refused(tmp_path, target, shown):
    """Before: a target given as [x, 99] became x, and true became 1.0."""
    from zoo_tasks.readers import read_json

    path = tmp_path / "stability_train.json"
    path.write_text(
        f'[{{"primary": "ACDE", "stability_score": 1.0}}, {{"primary": "ACDF", "stability_score": {target}}}]'
    )
    with pytest.raises(DataError, match=rf"record 1: target is {re.escape(shown)}, not a finite number"):
        read_json(path, "stability_score")


def test_a_one_element_target_as_tapes_lmdb_keeps_it_is_one_number(tmp_path):
    from zoo_tasks.readers import read_json

    path = tmp_path / "stability_train.json"
    path.write_text('[{"primary": "ACDE", "stability_score": [1.5]}, {"primary": "ACDF", "stability_score": 2}]')
    assert read_json(path, "stability_score").targets.tolist() == [1.5, 2.0]
