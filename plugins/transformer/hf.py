"""Hugging Face protein language models, by name: ``--model hf:ID``.

``ID`` is a hub id (``facebook/esm2_t6_8M_UR50D``, ``Rostlab/prot_bert``,
``Rostlab/prot_t5_xl_uniref50``, ``ElnaggarLab/ankh-base``) or a local ``save_pretrained`` folder.
Three variants, by prefix:

- ``hf:ID``: frozen mean embedding of the last layer + ridge head, through the shared embedding cache;
- ``hf-finetune:ID``: the whole network fine-tuned with a linear head;
- ``hf-lora:ID``: LoRA adapters (``peft``) and the head fine-tuned, the network frozen.

Supported architectures: EsmModel (ESM-2, ESM-1b), BertModel (ProtBert) and T5EncoderModel
(ProtT5, Ankh), chosen by the checkpoint's ``model_type``. Online, a hub id downloads into Hugging
Face's cache; offline, a local folder works; when neither does, the job ends "unavailable" with
the reason. The fine-tuned variants share the checkpoint/resume and precision options of the other
fine-tuned models. Registration is torch-free; plugins/transformer/hf_net.py does the work.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from functools import lru_cache, partial
from pathlib import Path

from zoo import hookimpl
from zoo.contract import Option

from ..shared.device import GPU_JOB
from ..shared.variants import FINETUNE_OPTIONS, PROFILES

VARIANTS = {"hf": "frozen", "hf-finetune": "finetune", "hf-lora": "lora"}
LORA_OPTIONS = {"lora_r": Option(8, int, minimum=1), "lora_alpha": Option(16, int, minimum=1)}


def slug(ident: str) -> str:
    """A model name part for a hub id or a folder: ``facebook/esm2_t6_8M_UR50D`` -> ``facebook.esm2_t6_8m_ur50d``;
    a local folder's name, then the first 8 hex digits of its config's and weights' digest
    (``tiny.3fa2c1d0``), so that other weights under the same folder name are another model with other
    job keys, never "already finished"."""
    if Path(ident).is_dir() and (Path(ident) / "config.json").exists():
        base = re.sub(r"[^a-z0-9_.-]+", "-", Path(ident).name.lower()).strip("-._")[:39] or "model"
        return f"{base}.{folder_facts(Path(ident))[0][:8]}"
    base = Path(ident).name if Path(ident).is_dir() else ident.replace("/", ".")
    return re.sub(r"[^a-z0-9_.-]+", "-", base.lower()).strip("-._")[:48] or "model"


def folder_facts(folder: Path) -> tuple[str, int]:
    """A local ``save_pretrained`` folder's digest (config.json and every weight file) and its parameter
    count, read from the weight files' headers (safetensors) or tensors (``.bin``); remembered per file
    size and time, so a folder is hashed once a process."""
    files = sorted(p for pattern in ("*.safetensors", "*.bin") for p in folder.glob(pattern))
    stamp = tuple((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in [folder / "config.json", *files])
    return _facts(stamp)


@lru_cache(maxsize=64)
def _facts(stamp: tuple[tuple[str, int, int], ...]) -> tuple[str, int]:
    from zoo.cache import file_digest

    paths = [Path(name) for name, _, _ in stamp]
    digest = hashlib.sha256("".join(file_digest(p) for p in paths).encode()).hexdigest()
    return digest, sum(_count(p) for p in paths[1:])


def _count(path: Path) -> int:
    if path.suffix == ".safetensors":  # an 8-byte header length, then a JSON header with every shape
        with open(path, "rb") as fh:
            header = json.loads(fh.read(int.from_bytes(fh.read(8), "little")))
        return sum(math.prod(t["shape"]) for k, t in header.items() if k != "__metadata__")
    import torch

    state = torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    return sum(t.numel() for t in state.values() if hasattr(t, "numel"))


def availability(ident: str) -> str:
    if Path(ident).is_dir():
        return "ready (local folder)" if (Path(ident) / "config.json").exists() else f"{ident} has no config.json"
    return f"downloads {ident} from the Hugging Face hub on first use (needs network), or uses its cache"


@hookimpl
def resolve_model(name, register):
    prefix, _, ident = name.partition(":")
    if prefix not in VARIANTS or not ident:
        return None
    variant = VARIANTS[prefix]
    model_name = f"hf.{slug(ident)}" + ("" if variant == "frozen" else f"-{variant}")
    common = dict(pretrained=True, resources=GPU_JOB, availability=partial(availability, ident), **PROFILES)
    if Path(ident).is_dir() and (Path(ident) / "config.json").exists():
        common["parameters"] = folder_facts(Path(ident))[1]
    if variant == "frozen":
        register(
            model_name,
            partial(make_frozen, ident),
            deterministic=True,
            approach="frozen",
            options={"batch_size": Option(16, int, minimum=1)},
            description=f"{ident} (Hugging Face) frozen mean embedding + ridge head",
            **common,
        )
    else:
        options = {k: v for k, v in FINETUNE_OPTIONS.items() if k != "weights"}
        register(
            model_name,
            partial(make_finetuned, ident, variant == "lora"),
            approach="fine-tuned",
            options={**options, **(LORA_OPTIONS if variant == "lora" else {})},
            description=f"{ident} (Hugging Face) {'LoRA' if variant == 'lora' else 'fully'} fine-tuned",
            **common,
        )
    return model_name


def make_frozen(ident: str, *, task, seed, profile, options, progress=None):
    from ..shared.frozen import frozen_model
    from .hf_net import identity, load_backbone, local_folder

    folder = local_folder(ident)
    return frozen_model(identity(folder), lambda: load_backbone(folder), options, progress)


def make_finetuned(ident: str, lora: bool, *, task, seed, profile, options, progress=None):
    from ..shared.variants import finetuned
    from .hf_net import load_backbone, local_folder

    folder = local_folder(ident)  # unavailable now, rather than inside fit()
    if lora:
        lora_options = (int(options["lora_r"]), int(options["lora_alpha"]))
        return finetuned(
            lambda: load_backbone(folder, lora=lora_options),
            seed=seed,
            profile=profile,
            options=options,
            progress=progress,
            lr=5e-4,
        )
    return finetuned(lambda: load_backbone(folder), seed=seed, profile=profile, options=options, progress=progress)
