"""Issue 15.2-3: Hugging Face protein language models (frozen, fine-tuned, LoRA) on tiny random configs
the tests create, and the fair-esm and transformers ESM loaders checked against each other."""

from __future__ import annotations

import re

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from zoo.cli import main  # noqa: E402
from zoo.tracking import Tracker  # noqa: E402

AMINO = list("ACDEFGHIKLMNPQRSTVWYXBUZO")


def word_level_tokenizer(folder, specials: dict[str, str], template: str):
    """A residue-level tokenizer built offline (tokenizers' WordLevel), saved beside the model."""
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {tok: i for i, tok in enumerate([*specials.values(), *AMINO])}
    raw = Tokenizer(models.WordLevel(vocab, unk_token=specials["unk_token"]))
    raw.pre_tokenizer = pre_tokenizers.Whitespace()
    raw.post_processor = processors.TemplateProcessing(
        single=template, special_tokens=[(t, vocab[t]) for t in specials.values() if t in template]
    )
    PreTrainedTokenizerFast(tokenizer_object=raw, **specials).save_pretrained(folder)
    return vocab


@pytest.fixture(scope="module")
def tiny_hf(tmp_path_factory, tiny_esm):
    """Three 2-layer random models in save_pretrained folders: ESM (converted from the fair-esm fixture),
    BERT (ProtBert-style) and a T5 encoder (ProtT5-style)."""
    import esm as fair_esm
    from transformers import BertConfig, BertModel, T5Config, T5EncoderModel
    from zoo_plugins.transformer.esm_to_hf import convert

    root = tmp_path_factory.mktemp("hf")
    torch.manual_seed(0)
    _, fair = tiny_esm
    folders = {"esm": convert(fair, fair_esm.data.Alphabet.from_architecture("ESM-1b"), root / "tiny_esm")}
    bert = root / "tiny_bert"
    vocab = word_level_tokenizer(
        bert,
        {
            "pad_token": "[PAD]",
            "unk_token": "[UNK]",
            "cls_token": "[CLS]",
            "sep_token": "[SEP]",
            "mask_token": "[MASK]",
        },
        "[CLS] $A [SEP]",
    )
    BertModel(
        BertConfig(
            vocab_size=len(vocab), hidden_size=16, num_hidden_layers=2, num_attention_heads=2, intermediate_size=32
        ),
        add_pooling_layer=False,
    ).save_pretrained(bert)
    t5 = root / "tiny_t5"
    vocab = word_level_tokenizer(t5, {"pad_token": "<pad>", "unk_token": "<unk>", "eos_token": "</s>"}, "$A </s>")
    T5EncoderModel(
        T5Config(
            vocab_size=len(vocab), d_model=16, d_kv=8, d_ff=32, num_layers=2, num_heads=2, decoder_start_token_id=0
        )
    ).save_pretrained(t5)
    folders.update(bert=bert, t5=t5)
    return folders


@pytest.mark.parametrize("kind", ["esm", "bert", "t5"])
def test_each_architecture_embeds_residues_only(tiny_hf, kind):
    from zoo_plugins.shared.backbone import embed
    from zoo_plugins.transformer.hf_net import load_backbone

    backbone = load_backbone(tiny_hf[kind])
    tokens, attention, pool = backbone.tokenize(["MKV", "ACDEFGH"])
    assert pool.sum(dim=1).tolist() == [3, 7]  # special tokens and padding never pooled
    out = embed(backbone, ["MKV", "ACDEFGH", "MKV"])
    assert out.shape == (3, 16) and np.allclose(out[0], out[2]) and not np.allclose(out[0], out[1])


def test_hf_models_run_frozen_finetuned_and_lora_end_to_end(tiny_hf, subset_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    folder = str(tiny_hf["esm"])
    code = main(
        [
            "eval",
            "--model",
            f"hf:{folder}",
            "--model",
            f"hf-finetune:{folder}",
            "--model",
            f"hf-lora:{folder}",
            "--task",
            "stability",
            "--seeds",
            "1",
            "-o",
            "max_steps=3",
            "--data-dir",
            str(subset_dir),
        ]
    )
    out = capsys.readouterr()
    assert code == 0, out.err[-3000:]
    runs = {re.sub(r"\.[0-9a-f]{8}", "", r["tags.model"]): r for r in Tracker().job_runs()}
    assert set(runs) == {"hf.tiny_esm", "hf.tiny_esm-finetune", "hf.tiny_esm-lora"}
    assert all(r["tags.outcome"] == "ok" and r["tags.pretrained"] == "true" for r in runs.values())
    assert runs["hf.tiny_esm-finetune"]["params.hp.steps_done"] == "3"
    full = int(runs["hf.tiny_esm-finetune"]["params.hp.trainable_parameters"])
    lora = int(runs["hf.tiny_esm-lora"]["params.hp.trainable_parameters"])
    assert 0 < lora < full  # LoRA trains adapters and the head; the network stays frozen
    assert main(["plugins"]) == 0
    assert "plugin hf makes models by name: Hugging Face protein language models" in capsys.readouterr().out


def test_a_hub_id_that_cannot_be_had_is_unavailable(subset_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # the network edge: no hub
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)
    assert (
        main(["eval", "--model", "hf:facebook/esm2_t6_8M_UR50D", "--task", "stability", "--data-dir", str(subset_dir)])
        == 0
    )
    [run] = Tracker().job_runs()
    assert run["tags.outcome"] == "unavailable" and "hub could not provide it" in run["tags.message"]
    assert run["tags.model"] == "hf.facebook.esm2_t6_8m_ur50d"


def test_fair_esm_and_transformers_give_the_same_per_residue_embeddings(tiny_hf, tiny_esm):
    """The same random ESM-2 weights, loaded through the esm plugin (fair-esm) and through hf: (transformers)."""
    import esm as fair_esm
    from zoo_plugins.transformer.esm_net import ESMBackbone
    from zoo_plugins.transformer.hf_net import load_backbone

    _, fair = tiny_esm
    ours = ESMBackbone(fair, fair_esm.data.Alphabet.from_architecture("ESM-1b")).eval()
    theirs = load_backbone(tiny_hf["esm"]).eval()
    sequences = ["MKTAYIAKQR", "ACDEFGHIKLMNPQRSTVWY", "MKV"]
    with torch.inference_mode():
        a_tok, a_att, a_pool = ours.tokenize(sequences)
        b_tok, b_att, b_pool = theirs.tokenize(sequences)
        a, b = ours(a_tok, a_att), theirs(b_tok, b_att)
    assert torch.equal(a_pool, b_pool)
    assert torch.allclose(a[a_pool], b[b_pool], atol=1e-5)  # every residue of every sequence


def test_hf_folders_are_keyed_by_their_weights_and_two_of_one_name_both_run(
    tiny_hf, subset_dir, tmp_path, monkeypatch, capsys
):
    """`hf:/x/a/tiny` then `hf:/x/b/tiny` (other weights, one folder name) printed "already finished" for
    the second, naming both in one command was a name conflict, and pretrained_parameters was 0."""
    import shutil

    import torch
    from transformers import EsmModel

    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    monkeypatch.setenv("ZOO_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    a, b = tmp_path / "a" / "tiny", tmp_path / "b" / "tiny"
    shutil.copytree(tiny_hf["esm"], a)
    shutil.copytree(tiny_hf["esm"], b)
    other = EsmModel.from_pretrained(b)
    with torch.no_grad():
        for weight in other.parameters():
            weight.add_(0.01)
    other.save_pretrained(b)
    args = ["--task", "stability", "--seeds", "1", "--data-dir", str(subset_dir)]
    assert main(["eval", "--model", f"hf:{a}", "--model", f"hf:{b}", *args]) == 0, capsys.readouterr().err[-2000:]
    runs = Tracker().job_runs()
    assert len(runs) == 2 and len({r["tags.model"] for r in runs}) == 2
    assert all(re.fullmatch(r"hf\.tiny\.[0-9a-f]{8}", r["tags.model"]) for r in runs)
    from safetensors.torch import load_file

    def saved(folder):  # the tensors the checkpoint holds: what pretraining gave the model
        return sum(t.numel() for f in folder.glob("*.safetensors") for t in load_file(f).values())

    assert sorted(int(r["tags.pretrained_parameters"]) for r in runs) == sorted([saved(a), saved(b)])
    assert min(saved(a), saved(b)) > 3000

    capsys.readouterr()  # new weights in a folder: that folder's job key changes with them
    with torch.no_grad():
        for weight in other.parameters():
            weight.add_(0.01)
    other.save_pretrained(a)
    assert main(["eval", "--model", f"hf:{a}", *args]) == 0
    assert "already finished" not in capsys.readouterr().out
    assert len(Tracker().job_runs()) == 3

    shutil.rmtree(a)  # a now holds b's weights: b's finished job stands for it
    shutil.copytree(b, a)

    capsys.readouterr()  # two folders with the same weights are one model: one job, no conflict
    assert main(["eval", "--model", f"hf:{a}", "--model", f"hf:{b}", *args]) == 0
    assert "already finished" in capsys.readouterr().out
    assert len(Tracker().job_runs()) == 3


def test_loading_a_checkpoint_without_a_pooler_prints_no_load_report(tiny_hf):
    """Before: transformers printed "EsmModel LOAD REPORT … pooler.dense.weight | MISSING" with raw colour
    codes into the zoo's output (the converted ESM checkpoint has no pooler, which the zoo never uses).
    In a process of its own: transformers configures its log handler once a process."""
    import subprocess
    import sys

    script = "from zoo_plugins.transformer.hf_net import load_network; import sys; load_network(sys.argv[1])"
    done = subprocess.run([sys.executable, "-c", script, str(tiny_hf["esm"])], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "LOAD REPORT" not in done.stderr + done.stdout and "\x1b[" not in done.stderr + done.stdout
