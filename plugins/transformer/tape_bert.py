"""TAPE's transformer (``bert-base``, Rao et al. 2019): frozen embeddings + ridge, and fine-tuned.

Weights come from ``-o weights=DIR`` or ``$ZOO_TAPE_DIR/bert-base`` (a folder written by
tape-proteins' ``save_pretrained``: ``config.json`` + ``pytorch_model.bin``), else from TAPE's
official name ``bert-base``, which tape-proteins downloads from TAPE's bucket into its cache.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from zoo import Unavailable, ZooError, hookimpl

from ..shared.variants import register_pair

OFFICIAL = "bert-base"
PARAMETERS = 91_888_896  # ProteinBertModel(ProteinBertConfig()), pooler included (recounted in tests)


def source(options: dict) -> str:
    if options.get("weights"):  # a folder the user named: unusable is their error to fix, not "unavailable"
        if not Path(options["weights"], "config.json").exists():
            raise ZooError(
                f"-o weights={options['weights']} is not a save_pretrained folder (no config.json). "
                f"Fix: give the folder that holds config.json and pytorch_model.bin."
            )
        return str(options["weights"])
    local = Path(os.environ.get("ZOO_TAPE_DIR", "")) / OFFICIAL
    return str(local) if os.environ.get("ZOO_TAPE_DIR") and (local / "config.json").exists() else OFFICIAL


def availability() -> str:
    try:
        where = source({})
    except Unavailable as exc:
        return str(exc)
    return (
        f"ready ({where})"
        if where != OFFICIAL
        else "downloads bert-base from TAPE's bucket on first use (needs network)"
    )


def load_model(name_or_dir: str):
    try:
        from tape import ProteinBertModel
    except ImportError:
        raise Unavailable("tape-proteins is not installed: pip install tape-proteins") from None
    why = "tape-proteins could not download or read it"
    if name_or_dir == OFFICIAL:  # name what it asked for: tape-proteins itself only logs it
        from tape.models.modeling_bert import BERT_PRETRAINED_CONFIG_ARCHIVE_MAP

        why = f"tape-proteins could not download {BERT_PRETRAINED_CONFIG_ARCHIVE_MAP[OFFICIAL]} or read it"
    try:
        model = ProteinBertModel.from_pretrained(name_or_dir)
    except Exception as exc:  # offline, tape-proteins fails inside its own config loading
        model, why = None, f"{why}: {type(exc).__name__}"
    if model is None:  # tape-proteins logs and returns None when a download fails
        raise Unavailable(
            f"weights unavailable: {name_or_dir} ({why}). Put a save_pretrained folder at "
            f"$ZOO_TAPE_DIR/{OFFICIAL} or pass -o weights=DIR."
        )
    return model


def state_digest(model) -> str:
    digest = hashlib.sha256()
    for key, tensor in sorted(model.state_dict().items()):
        digest.update(key.encode())
        digest.update(tensor.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()[:16]


def make_frozen(*, task, seed, profile, options, progress=None):
    from ..shared.frozen import frozen_model
    from .tape_bert_net import BertBackbone

    where = source(options)
    weights = Path(where) / "pytorch_model.bin"
    if weights.is_file():  # a local folder: identify it by its file, and load it only if an embedding is missing
        from zoo.cache import file_digest

        return frozen_model(
            f"tape-bert-{file_digest(weights)[:16]}", lambda: BertBackbone(load_model(where)), options, progress
        )
    model = load_model(where)  # tape-proteins' own download: the loaded weights are the identity
    return frozen_model(f"tape-bert-{state_digest(model)}", lambda: BertBackbone(model), options, progress)


def make_finetuned(*, task, seed, profile, options, progress=None):
    from ..shared.variants import finetuned

    where = source(options)
    load_model(where)  # fail now, as unavailable, rather than inside fit()

    def make_backbone():
        from .tape_bert_net import BertBackbone

        return BertBackbone(load_model(where))

    return finetuned(make_backbone, seed=seed, profile=profile, options=options, progress=progress)


@hookimpl
def register_models(register):
    register_pair(
        register,
        "tape-bert",
        make_frozen,
        make_finetuned,
        batch_size=16,
        parameters=PARAMETERS,
        availability=availability,
        frozen_description="TAPE transformer (bert-base, Pfam) frozen mean embedding + ridge head",
        finetune_description="TAPE transformer (bert-base) fine-tuned end to end (CPU profile: bounded steps)",
    )
