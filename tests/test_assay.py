"""Issue 15.1: an assay file is a task (zoo eval --task path/to/assay.csv, ZOO_TASKS_DIR)."""

from __future__ import annotations

import gzip
import re

import pandas as pd
import pytest

from zoo import ZooError, assay
from zoo.cli import main
from zoo.taskfile import DataError
from zoo.tracking import Tracker

GFP_WT = (
    "SKGEELFTGVVPILVELDGDVNGHKFSVSGEGEGDATYGKLTLKFICTTGKLPVPWPTLVTTLSYGVQCFSRYPDHMKQHDFFKSAMPEGYVQERTIFFKDDGNYKTRAEV"
    "KFEGDTLVNRIELKGIDFKEDGNILGHKLEYNYNSHNVYIMADKQKNGIKVNFKIRHNIEDGSVQLADHYQQNTPIGDGPVLLPDNHYLSTQSALSKDPNEKRDHMVLLEFVTA"
    "AGITHGMDELYK"
)


@pytest.fixture(scope="module")
def gfp_scan(data_dir, tmp_path_factory):
    """Sarkisyan's real single-mutant GFP measurements, written as a user's DMS file: mutation codes with
    1-based positions (the raw table's are 0-based with an 'S' prefix) and a WT row carrying the sequence."""
    raw = pd.read_csv(
        data_dir / "fluorescence" / "sarkisyan2016_amino_acid_genotypes_to_brightness.tsv.gz",
        sep="\t",
        keep_default_na=False,
    )
    singles = raw[
        (raw.aaMutations.str.count(":") == 0)
        & (raw.aaMutations != "")
        & ~raw.aaMutations.str.contains("*", regex=False)
    ]
    codes = [f"{c[1]}{int(c[2:-1]) + 1}{c[-1]}" for c in singles.aaMutations]
    wt_target = float(raw[raw.aaMutations == ""].medianBrightness.iloc[0])
    frame = pd.DataFrame(
        {
            "mutant": ["WT", *codes],
            "sequence": [GFP_WT] + [""] * len(codes),
            "target": [wt_target, *singles.medianBrightness],
        }
    )
    folder = tmp_path_factory.mktemp("assays")
    path = folder / "gfp_singles.csv"
    frame.to_csv(path, index=False)
    return path


def test_mutation_codes_build_checked_variants_and_positions_are_held_out(gfp_scan):
    data = assay.load(gfp_scan, split="positions")
    total = len(data.train) + len(data.valid) + len(data.test)
    assert total == 1 + 1084 and len(data.test) > 50  # the WT and 1,084 single mutants (stops dropped)
    changed = lambda seq: {i for i, (a, b) in enumerate(zip(seq, GFP_WT)) if a != b}  # noqa: E731
    train_positions = set().union(*(changed(s) for s in data.train.sequences))
    test_positions = set().union(*(changed(s) for s in data.test.sequences))
    assert test_positions and not train_positions & test_positions  # no test position seen in training
    assert GFP_WT in data.train.sequences and "split: held-out positions" in data.notes[0]
    random = assay.load(gfp_scan)
    assert 0.75 < len(random.train) / total < 0.85 and random.files != data.files  # the rule is in the digest


def test_one_command_evaluates_an_assay_file_and_an_edit_reruns_it(gfp_scan, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    args = ["eval", "--task", str(gfp_scan), "--model", "linear"]
    assert main(args) == 0
    capsys.readouterr()
    [run] = Tracker().job_runs()
    assert run["tags.task"] == "gfp_singles" and run["tags.outcome"] == "ok"
    assert str(gfp_scan) in run["tags.data_files"] and "split:random" in run["tags.data_files"]
    assert main(args) == 0 and "1 skipped" in capsys.readouterr().out  # resumes
    frame = pd.read_csv(gfp_scan)
    frame.loc[5, "target"] = float(frame.loc[5, "target"]) + 0.5
    frame.to_csv(gfp_scan, index=False)
    assert main(args) == 0 and "1 ok" in capsys.readouterr().out  # the file changed: its job reruns


def test_a_wild_type_fasta_and_gzipped_files_work(tmp_path):
    (tmp_path / "wt.fasta").write_text(">parent\nMKTAYIAKQR\nQISFVKSHFS\n")
    rows = "mutant,target\n" + "\n".join(
        f"{a}{i}{b},{i * 0.1 + (b == 'A')}"
        for i, (a, b) in enumerate(zip("MKTAYIAKQRQISFVKSHFS", "AAAGAAGAAAAAAAAAAAAA"), start=1)
        if a != b
    )
    path = tmp_path / "scan.csv.gz"
    path.write_bytes(gzip.compress(rows.encode()))
    data = assay.load(path, wild_type=str(tmp_path / "wt.fasta"))
    assert len(data.train) + len(data.valid) + len(data.test) == rows.count("\n")
    assert data.train.sequences[0] != "MKTAYIAKQRQISFVKSHFS" and assay.task_name(path) == "scan"


@pytest.mark.parametrize(
    "content, words",
    [
        ("sequence,target,weight\nACDE,1,2\n", "unknown: weight. Fix: use sequence,target"),
        ("mutant,target\nWT,1\n", "mutation codes need a wild type"),
        ("mutant,sequence,target\nWT,ACDE,1\nA1G,,2\nC2K,,x\n", "line 4: target 'x' is not a finite number"),
        (
            "mutant,sequence,target\nWT,ACDE,1\nA1G,,2\nG1A,,3\n",
            "line 4: 'G1A' says position 1 is G, but the wild type has A",
        ),
        ("mutant,sequence,target\nWT,ACDE,1\nA1G,,2\nA1G,,3\n", "line 4 repeats the variant of line 3"),
        ("mutant,sequence,target\nWT,ACDE,1\nA9G,,2\n", "position 9 in 'A9G' is outside the wild type"),
        ("mutant,sequence,target\nWT,ACDE,1\nA1-,,2\n", "mutation 'A1-' is not like A42G"),
        ("mutant,sequence,target\nWT,ACDE,1\nA1*,,2\n", "'A1\\*' introduces a stop codon.*Fix: drop that row"),
    ],
)
def test_bad_assay_files_name_file_line_and_fix(tmp_path, content, words):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=words.replace("(", r"\(")) as err:
        assay.load(path)
    assert str(path) in str(err.value) and "Fix" in str(err.value)


def test_a_folder_of_assays_becomes_tasks(gfp_scan, monkeypatch, capsys):
    monkeypatch.setenv("ZOO_TASKS_DIR", str(gfp_scan.parent))
    assert main(["tasks"]) == 0
    assert "gfp_singles" in capsys.readouterr().out
    with pytest.raises(ZooError, match="no such file"):
        from zoo.commands.evaluate import assay_task

        assay_task(None, "missing.csv", None)


def test_held_out_positions_defeat_a_one_hot_model_and_the_failure_says_why(gfp_scan, tmp_path, monkeypatch, capsys):
    """A one-hot ridge learns nothing about positions it never saw mutated: its test predictions are constant,
    so the job fails with the reason instead of recording a NaN score."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    assert main(["eval", "--task", str(gfp_scan), "--model", "linear", "--split", "positions"]) == 1
    assert "held-out positions, one-hot" in capsys.readouterr().err  # the per-job line, whole


@pytest.mark.parametrize(
    ("fasta", "content", "words"),
    [
        (
            ">a\nACDE\n>b\nFGHI\n",
            "mutant,target\nA1G,1\nC2A,2\n",
            r"holds 2 records.*Fix: keep the wild type's record only",
        ),
        (None, "mutant,sequence,target\nWT,ACDE,1\nC2A:C2G,,2\n", r"line 3: 'C2A:C2G' mutates position 2 twice"),
        (">wt\nACDE\n", "mutant,sequence,target\nWT,ACDF,1\nC2A,,2\n", r"line 2: the WT row's sequence .* differs"),
        (None, "mutant,sequence,target\nWT,ACDE,1\nC2A,AGDE,2\n", r"line 3: the sequence column .*'C2A' gives AADE"),
    ],
)
def test_an_assay_file_that_contradicts_itself_is_refused_not_altered(tmp_path, fasta, content, words):
    """Each of these was silently altered before: two FASTA records concatenated into one wild type, the
    later of two codes at one position kept, a WT row overridden by --wild-type, a sequence column that
    contradicts the row's code ignored."""
    path = tmp_path / "assay.csv"
    path.write_text(content)
    wild_type = None
    if fasta:
        (tmp_path / "wt.fasta").write_text(fasta)
        wild_type = str(tmp_path / "wt.fasta")
    with pytest.raises(DataError, match=words) as err:
        assay.load(path, wild_type=wild_type)
    assert "Fix" in str(err.value)


def test_a_sequence_column_that_agrees_with_the_codes_is_accepted(tmp_path):
    path = tmp_path / "assay.csv"
    path.write_text("mutant,sequence,target\n" + "".join(f"C2{a},A{a}DE,{i}\n" for i, a in enumerate("ADEFGHIKLM")))
    (tmp_path / "wt.fasta").write_text(">wt\nACDE\n")
    data = assay.load(path, wild_type=str(tmp_path / "wt.fasta"))
    assert len(data.train) + len(data.valid) + len(data.test) == 10


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--task", "{d1}/same.csv", "--task", "{d2}/same.csv"], "would both be task 'same'"),
        (["--task", "{d1}/split.csv", "--split", "positions"], "has a split column, so --split positions"),
        (["--task", "stability", "--split", "positions"], "--split applies to assay files"),
        (["--all", "--model", "linear", "--task", "stability"], "--all runs every model on every task"),
        (
            ["--task", "{d1}/bad.csv", "--model", "linear", "--model", "cnn"],
            "bad.csv: line 2: mutation 'x' is not like A42G",
        ),
    ],
)
def test_eval_usage_errors_are_one_line_exit_2_and_log_no_runs(tmp_path, monkeypatch, capsys, args, words):
    """Before: d2/same.csv silently replaced d1/same.csv; --split positions was ignored; --all was dropped;
    a bad file exited 1 with one failed MLflow run per job."""
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.chdir(tmp_path)
    d1, d2 = tmp_path / "d1", tmp_path / "d2"
    for folder, offset in ((d1, 0), (d2, 1)):
        folder.mkdir()
        rows = "".join(
            f"{a}{b}{c},{i + offset}\n" for i, (a, b, c) in enumerate(zip("ACDEF" * 4, "GHIKL" * 4, "MNPQR"))
        )
        (folder / "same.csv").write_text("sequence,target\n" + rows)
    (d1 / "split.csv").write_text("sequence,target,split\nACD,1,train\nACE,2,valid\nACF,3,test\n")
    (d1 / "bad.csv").write_text("sequence,mutant,target\nACD,x,1\n")
    code = main(["eval", *[a.format(d1=d1, d2=d2) for a in args], "--seeds", "1"])
    err = capsys.readouterr().err
    assert code == 2 and re.search(words, err), err
    assert "Traceback" not in err
    assert not (tmp_path / "mlflow.db").exists() or Tracker().job_runs() == []


def test_proteingym_files_are_tasks_as_they_are(data_dir):
    """`zoo eval --task TCRG1_MOUSE_Tsuboyama_2023_1E0L.csv.gz` failed with "columns mutant, mutated_sequence,
    DMS_score, … Fix: use sequence,target…". Every shared ProteinGym assay now reads, all its variants, and
    the wild type its codes and sequences imply is ProteinGym's own target_seq."""
    folder = data_dir / "proteingym"
    reference = pd.read_csv(folder / "reference.csv").set_index("DMS_filename")
    files = sorted(folder.glob("*.csv.gz"))
    assert len(files) == 11
    for path in files:
        data = assay.load(path)
        raw = pd.read_csv(path)
        assert len(data.train) + len(data.valid) + len(data.test) == len(raw), path.name
        target = dict(zip(raw["mutated_sequence"], raw["DMS_score"]))
        assert all(target[s] == y for s, y in zip(data.train.sequences, data.train.targets))
        codes, given = list(raw["mutant"]), list(raw["mutated_sequence"])
        assert assay._implied_wild_type(codes, given, path) == reference.loc[path.name, "target_seq"], path.name


@pytest.mark.parametrize("score", ["score", "fitness", "DMS_score"])
def test_a_users_own_score_column_name_is_read(tmp_path, score):
    """`mutant,score` was refused."""
    (tmp_path / "wt.fasta").write_text(">wt\nACDEFGHIKL\n")
    rows = "".join(f"{a}{i + 1}{b},{i}\n" for i, (a, b) in enumerate(zip("ACDEFGHIKL", "MNPQRSTVWY")))
    path = tmp_path / "mine.csv"
    path.write_text(f"mutant,{score}\n{rows}")
    data = assay.load(path, wild_type=str(tmp_path / "wt.fasta"))
    assert sorted([*data.train.targets, *data.valid.targets, *data.test.targets]) == list(range(10))


@pytest.mark.parametrize(
    ("content", "words"),
    [
        (
            "mutant,mutated_sequence,DMS_score\nA1G,GCDE,1\nC2A,AADE,2\nD3A,ACAF,3\n",
            "line 4: its code and sequence imply a wild type that differs from line 2's at position 4",
        ),
        (
            "mutant,mutated_sequence,DMS_score\nA1G,GCDE,1\nC2A,ACDE,2\n",
            "line 3: 'C2A' puts A at position 2, but its sequence has C there",
        ),
        (
            "mutant,sequence,mutated_sequence,target\nA1G,GCDE,GCDE,1\n",
            "columns sequence and mutated_sequence would both be the sequence",
        ),
        (
            "mutant,mutated_sequence,score,DMS_score\nA1G,GCDE,1,1\n",
            "columns DMS_score and score would both be the target",
        ),
    ],
)
def test_a_proteingym_style_file_that_contradicts_itself_is_refused(tmp_path, content, words):
    path = tmp_path / "assay.csv"
    path.write_text(content)
    with pytest.raises(DataError, match=re.escape(words)):
        assay.load(path)
