"""The built-in models on real data subsets, and the CNN's fast first layer against nn.Conv1d."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from zoo_plugins.cnn import plugin as cnn
from zoo_plugins.cnn.net import CNN
from zoo_plugins.linear import plugin as linear
from zoo_plugins.shared import onehot
from zoo_tasks import tape

from zoo import ZooError
from zoo.metrics import regression_metrics


@pytest.fixture(scope="module")
def fluorescence(subset_dir):
    return tape.load("fluorescence", data_dir=str(subset_dir))


def test_onehot_tokens_pad_and_reject():
    tok = onehot.tokens(["AC", "Y"])
    assert tok.tolist() == [[0, 1], [19, onehot.PAD]]
    assert onehot.flat_onehot(["AC"], 3).reshape(3, onehot.VOCAB).sum(axis=1).tolist() == [1, 1, 1]
    with pytest.raises(ValueError, match="'B'"):
        onehot.tokens(["ABC"])


def test_linear_learns_fluorescence(fluorescence):
    model = linear.make_ridge(task="fluorescence", seed=0, profile="default", options={"alpha": 1.0})
    with pytest.raises(RuntimeError, match="fit"):
        model.predict(["ACD"])
    model.fit(fluorescence.train, fluorescence.valid)
    pred = model.predict(fluorescence.test.sequences)
    assert pred.shape == (150,) and pred.dtype == np.float64
    # 400 training variants already rank the 4+-mutation test set well above chance
    assert regression_metrics(fluorescence.test.targets, pred)["spearman"] > 0.3
    assert model.predict(["SKGEE"]).shape == (1,)  # shorter than training: padded


def test_cnn_trains_and_is_deterministic_under_a_seed(fluorescence):
    options = {"filters": 64, "epochs": 8, "batch_size": 32, "lr": [3e-3, 3e-3]}
    preds = []
    for _ in range(2):
        model = cnn.make_cnn(task="fluorescence", seed=7, profile="default", options=options)
        model.fit(fluorescence.train, fluorescence.valid)
        preds.append(model.predict(fluorescence.test.sequences))
    assert np.array_equal(preds[0], preds[1])
    assert np.isfinite(preds[0]).all()
    assert model.params["filters"] == 64 and 1 <= model.params["best_epoch"] <= 8
    assert regression_metrics(fluorescence.test.targets, preds[0])["spearman"] > 0.2
    other = cnn.make_cnn(task="fluorescence", seed=8, profile="default", options=options)
    other.fit(fluorescence.train, fluorescence.valid)
    assert not np.array_equal(other.predict(fluorescence.test.sequences), preds[0])


def test_cnn_prediction_does_not_depend_on_batch_padding(fluorescence):
    model = cnn.make_cnn(task="stability", seed=0, profile="default", options={"filters": 16, "epochs": 1})
    model.fit(fluorescence.train, fluorescence.valid)
    seqs = fluorescence.test.sequences[:3]
    together = model.predict(seqs + ["ACDEFGHIK" * 40])  # one long neighbour pads the batch
    alone = np.array([model.predict([s])[0] for s in seqs])
    assert np.allclose(together[:3], alone, atol=1e-5)


def test_paper_recipes_are_the_papers():
    assert cnn.recipe("fluorescence", "paper", {})["filters"] == 1024
    stab = cnn.recipe("stability", "paper", {})
    assert (stab["layers"], stab["batch_size"], stab["epochs"], stab["lr"]) == (3, 16, 5, (5e-4, 5e-5))
    assert stab["select_on_valid"] is False
    assert cnn.recipe("stability", "default", {"dilations": [1, 2, 1]})["dilations"] == [1, 2, 1]
    # the default stability recipe, raised (recipe 1): 15 cosine epochs, as strong as the paper's on valid
    default = cnn.recipe("stability", "default", {})
    assert (default["epochs"], default["schedule"], default["filters"]) == (15, "cosine", 128)
    assert cnn.recipe("stability", "default", {"schedule": "constant"})["schedule"] == "constant"


def test_linear_max_pool_projects_each_position_then_takes_the_max(fluorescence):
    """The paper's LinearMaxPool (-o lens=N): a Linear layer at every real position, then the masked max;
    its own lr and weight decay group ([conv, lens, head]; given [conv, head], the lens takes the head's)."""
    import torch
    from zoo_plugins.cnn.net import CNN
    from zoo_plugins.shared import onehot

    from zoo import ZooError

    torch.manual_seed(0)
    net = CNN(2, 8, 3, lens=16)
    tokens = torch.from_numpy(onehot.tokens(["ACDEFG", "KLM"]))
    lengths = torch.tensor([6, 3])
    with torch.no_grad():
        h = torch.relu(net.first(tokens))
        h = torch.relu(net.rest[0]((h * (torch.arange(6)[None, :] < lengths[:, None])[:, :, None]).transpose(1, 2)))
        per_position = net.lens(h.transpose(1, 2))
        expected = torch.stack([per_position[0, :6].amax(0), per_position[1, :3].amax(0)])
        assert torch.allclose(net(tokens, lengths), net.head(expected).squeeze(-1), atol=1e-6)
    groups = net.param_groups((1e-3, 1e-4, 1e-5), (0.0, 0.1, 0.2))
    assert [g["lr"] for g in groups] == [1e-3, 1e-4, 1e-5] and groups[1]["params"][0] is net.lens.weight
    with pytest.raises(ZooError, match="take one number or 3 \\(conv, lens, head\\)"):
        cnn.make_cnn(task="stability", seed=0, profile="default", options={"lens": 4, "lr": [1e-3] * 4})
    two = cnn.make_cnn(task="stability", seed=0, profile="default", options={"lens": 4, "lr": [1e-3, 1e-4]})
    assert two.recipe["lr"] == (1e-3, 1e-4, 1e-4)  # the lens takes the head's
    model = cnn.make_cnn(task="stability", seed=0, profile="default", options={"lens": 8, "filters": 8, "epochs": 1})
    model.fit(fluorescence.train, fluorescence.valid)
    assert np.isfinite(model.predict(fluorescence.test.sequences)).all() and model.params["lens"] == 8


@pytest.mark.parametrize("layers, dilation", [(1, 1), (1, 2), (3, 1)])
def test_embedding_first_layer_equals_conv1d(layers, dilation):
    torch.manual_seed(0)
    fast = CNN(layers, 12, 5, [dilation] * layers, first="embedding")
    slow = CNN(layers, 12, 5, [dilation] * layers, first="conv1d")
    fast.first.load_conv1d(slow.first)
    for a, b in zip(
        list(fast.rest.parameters()) + list(fast.head.parameters()),
        list(slow.rest.parameters()) + list(slow.head.parameters()),
    ):
        a.data.copy_(b.data)
    lengths = torch.tensor([40, 33, 12, 7])
    tok = torch.randint(0, 20, (4, 40))
    tok[torch.arange(40)[None, :] >= lengths[:, None]] = onehot.PAD
    out_fast, out_slow = fast(tok, lengths), slow(tok, lengths)
    assert torch.allclose(out_fast, out_slow, atol=1e-5)
    out_fast.sum().backward()
    out_slow.sum().backward()
    grad_slow = slow.first.weight.grad.permute(2, 1, 0).reshape(-1, 12)
    assert torch.allclose(fast.first.table.weight.grad, grad_slow, atol=1e-5)
    assert torch.allclose(fast.first.bias.grad, slow.first.bias.grad, atol=1e-5)


def test_flax_init_is_the_paper_codes_initialisation(fluorescence):
    """-o init=flax: lecun-normal conv and lens kernels (std 1/sqrt(fan_in), truncated at 2 sigma), zero
    biases, a xavier-uniform head with a bias of about 1e-6; torch's defaults stay the default."""
    torch.manual_seed(0)
    net = CNN(3, 1024, 5, lens=256, init="flax")
    fan_ins = {"first": onehot.VOCAB * 5, "conv": 1024 * 5, "lens": 1024}
    weights = {"first": net.first.table.weight, "conv": net.rest[0].weight, "lens": net.lens.weight}
    for name, w in weights.items():
        std = 1 / np.sqrt(fan_ins[name])
        assert abs(float(w.std()) / std - 1) < 0.05, name
        assert float(w.abs().max()) <= 2 * std / 0.8796 + 1e-6, name  # truncated at two sigmas
    assert all(float(b.abs().max()) == 0 for b in (net.first.bias, net.rest[0].bias, net.lens.bias))
    bound = np.sqrt(6 / (256 + 1))
    assert float(net.head.weight.abs().max()) <= bound and float(net.head.weight.std()) > bound / 2
    assert float(net.head.bias.abs().max()) < 1e-5
    torch.manual_seed(0)
    default = CNN(1, 64, 5)  # torch's head: uniform +-1/sqrt(64)
    assert float(default.head.bias.abs().max()) > 1e-4
    with pytest.raises(ZooError, match="-o init=jax: choose one of torch, flax"):
        CNN(1, 8, 5, init="jax")
    model = cnn.make_cnn(task="fluorescence", seed=0, profile="default", options={"init": "flax", "epochs": 2})
    model.fit(fluorescence.train, fluorescence.valid)
    assert model.params["init"] == "flax" and np.isfinite(model.predict(fluorescence.test.sequences)).all()


def test_device_is_the_cpu_here_and_a_missing_gpu_is_named(monkeypatch):
    import torch
    from zoo_plugins.shared.device import pick

    monkeypatch.delenv("ZOO_DEVICE", raising=False)
    assert pick() == torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        monkeypatch.setenv("ZOO_DEVICE", "cuda")
        with pytest.raises(ZooError, match="ZOO_DEVICE=cuda, but torch sees no GPU.*Fix: unset ZOO_DEVICE"):
            pick()


def test_cnn_grid_keeps_the_shape_with_the_best_valid_spearman(fluorescence, tmp_path, monkeypatch):
    """Issue 13.5: the shape is chosen on valid, never on test; every candidate trained and scored,
    the chosen one predicts, and its recipe is recorded."""
    from scipy.stats import spearmanr

    from zoo import training

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    logged: list[dict] = []
    model = cnn.make_grid(task="gb1_sampled", seed=0, profile="default", options={"epochs": 2, "filters": None})
    with training.job("grid", lambda m, step: logged.append(m)):
        model.fit(fluorescence.train, fluorescence.valid)
    p = model.params
    scores = p["valid_spearman_by_candidate"]
    assert list(scores) == list(cnn.GRID) and p["chosen"] == max(scores, key=lambda k: scores[k])
    chosen = model.chosen.predict(fluorescence.valid.sequences)
    assert round(float(spearmanr(fluorescence.valid.targets, chosen).statistic), 4) == scores[p["chosen"]]
    assert np.array_equal(model.predict(fluorescence.test.sequences), model.chosen.predict(fluorescence.test.sequences))
    assert p["chosen.layers"] == model.chosen.params["layers"]
    assert {k.split("_")[0] for m in logged for k in m} == {f"candidate{k}" for k in range(len(cnn.GRID))}


def _epistatic(rng, n: int, parent: str, sites: list[int], options: str, coupling: dict) -> tuple[list, np.ndarray]:
    """Variants of ``parent`` with 2–4 mutations at ``sites``: fitness is a sum of pair terms only."""
    seqs, ys = [], []
    for _ in range(n):
        seq = list(parent)
        for pos in rng.choice(sites, size=rng.integers(2, 5), replace=False):
            seq[pos] = rng.choice(list(options))
        seqs.append("".join(seq))
        ys.append(sum(v for (a, b), v in coupling.items() if seq[a[0]] == a[1] and seq[b[0]] == b[1]))
    return seqs, np.array(ys, dtype=float) + rng.normal(scale=0.05, size=n)


def test_pairwise_ridge_learns_what_one_hot_ridge_cannot():
    """Issue 13.4: a landscape made only of pair terms (epistasis) is ranked by the pairwise ridge and not
    by the one-hot ridge; the pair columns are the co-occurring mutations seen at least min_count times."""
    from zoo_plugins.linear.pairwise import PairwiseRidge

    from zoo import Split
    from zoo.testing import check_model

    rng = np.random.default_rng(0)
    parent, sites = "MKTAYIAKQRQISFVKSHFSRQ", [2, 5, 9, 13, 17]
    mutations = [(p, a) for p in sites for a in "WYF"]
    coupling = {
        (mutations[i], mutations[j]): rng.choice([-2.0, 2.0])
        for i in range(15)
        for j in range(i + 1, 15)
        if mutations[i][0] != mutations[j][0] and rng.random() < 0.3
    }
    train, valid, test = (Split(*_epistatic(rng, n, parent, sites, "WYF", coupling)) for n in (600, 150, 300))
    pairwise = linear.make_pairwise(task="t", seed=0, profile="default", options={"min_count": 2})
    pairwise.fit(train, valid)
    one_hot = linear.make_ridge(task="t", seed=0, profile="default", options={})
    one_hot.fit(train, valid)
    score = {m: regression_metrics(test.targets, m.predict(test.sequences))["spearman"] for m in (pairwise, one_hot)}
    assert score[pairwise] > 0.8 and score[pairwise] > score[one_hot] + 0.3, score
    assert 0 < pairwise.params["pair_features"] <= 90  # 10 site pairs x 3 x 3 residues
    assert 500 < pairwise.params["sequences_with_pairs"] <= 600  # a "mutation" to the parent residue is none
    # far from the reference (more than max_mutations): the one-hot part only, no pair columns
    far = PairwiseRidge(max_mutations=3)
    far.fit(train, valid)
    assert far.params["sequences_with_pairs"] < pairwise.params["sequences_with_pairs"]
    check_model(linear.make_pairwise, {"min_count": 1})


def test_cnn_linear_blend_chooses_its_weight_on_valid_and_reuses_the_cnn(fluorescence, tmp_path, monkeypatch):
    """Issue 13.4, an ensemble across architectures: the CNN and the one-hot ridge, blended with the
    weight that ranks valid best (never test). Weight 1 is the CNN alone and 0 the ridge alone, so the
    blend is chosen no worse on valid than either; the CNN is `cnn`'s net at that seed, taken from the
    cache of finished training when `cnn` has trained it."""
    from scipy.stats import spearmanr

    from zoo import training

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    options = {"epochs": 2, "filters": 32, "alpha": 10.0}
    alone = cnn.make_cnn(task="fluorescence", seed=0, profile="default", options={"epochs": 2, "filters": 32})
    with training.job("cnn", lambda m, step: None):
        alone.fit(fluorescence.train, fluorescence.valid)
    model = cnn.make_blend(task="fluorescence", seed=0, profile="default", options=options)
    with pytest.raises(RuntimeError, match="fit"):
        model.predict(["ACD"])
    with training.job("blend", lambda m, step: None):
        model.fit(fluorescence.train, fluorescence.valid)
    p = model.params
    net, ridge = model.models
    assert p["cnn.reused_training"] is True and p["linear.alpha"] == 10.0

    def valid_score(pred):
        return round(float(spearmanr(fluorescence.valid.targets, pred).statistic), 4)

    scores = p["valid_spearman_by_weight"]
    assert scores["1.0"] == valid_score(alone.predict(fluorescence.valid.sequences))
    assert scores["0.0"] == valid_score(ridge.predict(fluorescence.valid.sequences))
    assert scores[str(p["weight"])] == max(scores.values()) >= max(scores["0.0"], scores["1.0"])
    w, test = p["weight"], fluorescence.test.sequences
    assert np.allclose(model.predict(test), w * net.predict(test) + (1 - w) * ridge.predict(test))
    assert p["trainable_parameters"] == alone.params["trainable_parameters"] + ridge.params["trainable_parameters"]
    pairwise = cnn.make_blend(task="gb1_sampled", seed=0, profile="default", options={"ridge": "pairwise"})
    assert type(pairwise.factories[1]()).__name__ == "PairwiseRidge"
    # -o members=2: the first member is `cnn-ensemble` at that seed, whose member 0 is `cnn` seed 0
    averaged = cnn.make_blend(task="fluorescence", seed=0, profile="default", options={**options, "members": 2})
    with training.job("blend-ensemble", lambda m, step: None):
        averaged.fit(fluorescence.train, fluorescence.valid)
    q = averaged.params
    assert q["cnn.members"] == 2 and q["cnn.member_seeds"] == [0, 1] and q["cnn.member_reused"] == [True, False]
    assert q["valid_spearman_by_weight"]["0.0"] == scores["0.0"]  # the same ridge


def test_attention_pooling_weighs_only_real_positions_and_trains(fluorescence, tmp_path, monkeypatch):
    """Issue 13.4, attention pooling: a sequence's prediction does not depend on the padding its batch
    adds, the weights are a softmax over its own positions, and the net trains (recorded as hp.pool)."""
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    torch.manual_seed(0)
    net = CNN(2, 16, 5, pool="attention").eval()
    short, long = "MKTAYIAKQR", "SKGEELFTGVVPILVELDGDVNG"
    tok = torch.from_numpy(onehot.tokens([short, long]))
    alone = torch.from_numpy(onehot.tokens([short]))
    with torch.no_grad():
        together = net(tok, torch.tensor([len(short), len(long)]))
        assert torch.allclose(together[0], net(alone, torch.tensor([len(short)]))[0], atol=1e-6)
    model = cnn.make_cnn(
        task="fluorescence", seed=0, profile="default", options={"epochs": 3, "filters": 32, "pool": "attention"}
    )
    model.fit(fluorescence.train, fluorescence.valid)
    assert model.params["pool"] == "attention" and model.net.attend is not None
    assert regression_metrics(fluorescence.test.targets, model.predict(fluorescence.test.sequences))["spearman"] > 0.2


def test_a_cosine_schedule_decays_every_groups_learning_rate(fluorescence, tmp_path, monkeypatch):
    """Issue 13.4, longer training with a schedule: -o schedule=cosine sets each group's learning rate from
    the step count alone (so a resumed job continues the same curve); each epoch's rate is logged."""
    from zoo import training

    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path))
    logged: list[dict] = []
    options = {"epochs": 4, "filters": 16, "schedule": "cosine", "lr": [1e-3, 1e-2]}
    model = cnn.make_cnn(task="fluorescence", seed=0, profile="default", options=options)
    with training.job("cosine", lambda m, step: logged.append(m)):
        model.fit(fluorescence.train, fluorescence.valid)
    rates = [m["epoch_lr"] for m in logged if "epoch_lr" in m]
    steps = model.params["epochs"] * -(-len(fluorescence.train) // model.params["batch_size"])
    assert len(rates) == 4 and rates == sorted(rates, reverse=True)
    assert rates[-1] == pytest.approx(1e-3 * 0.5 * (1 + np.cos(np.pi * (steps - 1) / steps)))
    assert model.params["schedule"] == "cosine"


def test_an_ensemble_adds_members_of_other_shapes():
    """Issue 13.4, ensembles across architectures: ``-o shapes=[...]`` adds one net of each named shape
    to the copies of the task's recipe. Member k of seed s keeps seed s·m + k (m members), so at seed 0
    the copies are `cnn` seeds 0 … and their finished training is reused."""
    from zoo_plugins.cnn import plugin as cnn

    from zoo.contract import ContractError

    options = {"members": 5, "shapes": ["dilated", "kernel9"], "epochs": 4}
    mixed = cnn.make_ensemble(task="stability", seed=0, profile="default", options=options)
    members = [mixed.make_member(k) for k in range(mixed.size)]
    assert mixed.size == 7 and [m.seed for m in members] == list(range(7))
    plain = cnn.make_cnn(task="stability", seed=3, profile="default", options={"epochs": 4}).recipe
    assert members[3].recipe == plain  # the copies are `cnn`
    assert members[5].recipe == {**plain, "layers": 3, "dilations": [1, 2, 1]}
    assert members[6].recipe == {**plain, "kernel": 9}
    assert mixed.params["member_shapes"] == ["recipe"] * 5 + ["dilated", "kernel9"]
    spec = cnn.ENSEMBLE_OPTIONS["shapes"]
    with pytest.raises(ContractError, match="Did you mean 'kernel9'"):
        spec.check("cnn-ensemble", "shapes", ["dilated", "kernal9"])
    with pytest.raises(ContractError, match="expected list"):
        spec.check("cnn-ensemble", "shapes", "dilated")


def test_global_epistasis_recovers_a_sigmoid_landscape_that_ridge_distorts(fluorescence):
    """Issue 13.4: when additive mutation effects are read through a sigmoid (a threshold, a
    saturation), the sigmoid model ranks variants with more mutations than it trained on by their
    true additive score, and a ridge does not; its gradient is the loss's; and it learns GFP."""
    from scipy.optimize import check_grad
    from zoo_plugins.linear.epistasis import objective

    from zoo import Split
    from zoo.testing import check_model

    rng = np.random.default_rng(0)
    parent, sites, options = "MKTAYIAKQRQISFVKSHFSRQ", list(range(1, 21, 2)), "WYF"
    effect = {(p, a): rng.normal() for p in sites for a in options}

    def variants(n: int, most: int):
        seqs, latent = [], []
        for _ in range(n):
            seq = list(parent)
            mutated = rng.choice(sites, size=rng.integers(1, most + 1), replace=False)
            for p in mutated:
                seq[p] = rng.choice(list(options))
            seqs.append("".join(seq))
            latent.append(sum(effect[(p, seq[p])] for p in mutated))
        latent = np.array(latent)
        return seqs, 1 / (1 + np.exp(-2 * (latent + 1))) + rng.normal(scale=0.02, size=n), latent

    train, valid, (test, _, latent) = variants(300, 3), variants(100, 3), variants(300, 8)
    models = {
        "global-epistasis": linear.make_epistasis(task="t", seed=0, profile="default", options={}),
        "ridge": linear.make_ridge(task="t", seed=0, profile="default", options={}),
    }
    score = {}
    for name, model in models.items():
        model.fit(Split(*train[:2]), Split(*valid[:2]))
        score[name] = regression_metrics(latent, model.predict(test))["spearman"]
    assert score["global-epistasis"] > 0.99 and score["global-epistasis"] > score["ridge"] + 0.02, score
    fitted = models["global-epistasis"].params
    assert fitted["link_low"] < train[1].min() and fitted["link_high"] > train[1].max()
    assert fitted["train_sigmoid_range"][0] < 0.1  # it uses the sigmoid's bend, not only its linear middle
    x = onehot.sparse_onehot(train[0], len(parent))
    theta = rng.normal(scale=0.3, size=x.shape[1] + 1)
    args = (x, train[1], -0.1, 1.2, 3.0)
    assert check_grad(lambda t: objective(t, *args)[0], lambda t: objective(t, *args)[1], theta) < 1e-5
    check_model(linear.make_epistasis, {"max_iter": 50})
    gfp = linear.make_epistasis(task="fluorescence", seed=0, profile="default", options={})
    gfp.fit(fluorescence.train, fluorescence.valid)
    assert regression_metrics(fluorescence.test.targets, gfp.predict(fluorescence.test.sequences))["spearman"] > 0.3
