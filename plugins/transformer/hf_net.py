"""Hugging Face networks as zoo backbones (torch, transformers and, for LoRA, peft)."""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import torch
from torch import nn

from zoo import Unavailable, ZooError

WEIGHT_FILES = ("*.safetensors", "*.bin")


def local_folder(ident: str) -> Path:
    """A folder holding the checkpoint: ``ident`` itself, or the hub snapshot in Hugging Face's cache
    (downloaded when online). Neither: Unavailable, with the reason."""
    if Path(ident).is_dir():
        if not (Path(ident) / "config.json").exists():
            raise ZooError(
                f"{ident} is not a save_pretrained folder (no config.json). Fix: give the folder that "
                f"holds config.json and the weights, or a hub id such as facebook/esm2_t6_8M_UR50D."
            )
        return Path(ident)
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(ident, allow_patterns=["*.json", "*.txt", "*.model", *WEIGHT_FILES]))
    except Exception as exc:  # offline, unknown id, gated repo: all mean "cannot run here"
        raise Unavailable(
            f"weights unavailable: {ident} is not a local folder and the Hugging Face hub could not "
            f"provide it ({type(exc).__name__}: {str(exc)[:160]}). Fix: save the model with "
            f"save_pretrained and pass its folder: --model hf:PATH."
        ) from None


def identity(folder: Path) -> str:
    """The embedding cache's key: a digest of the weight files, so other weights never share embeddings."""
    from zoo.cache import file_digest

    files = sorted(p for pattern in WEIGHT_FILES for p in folder.glob(pattern))
    if not files:
        raise ZooError(f"{folder} holds no weights (*.safetensors or *.bin). Fix: save the model with save_pretrained.")
    digest = hashlib.sha256("".join(file_digest(p) for p in files).encode()).hexdigest()
    return f"hf-{folder.name}-{digest[:16]}"


def load_network(folder: Path):
    from transformers import AutoConfig, AutoTokenizer, BertModel, EsmModel, T5EncoderModel
    from transformers.utils import logging

    logging.disable_progress_bar()  # the zoo shows its own progress
    # transformers' load report ("EsmModel LOAD REPORT … MISSING", with raw colour codes) names the
    # pooler a checkpoint lacks: the zoo reads the hidden states, never the pooler, so it is noise in
    # the zoo's output and logs; real loading errors still raise
    logging.set_verbosity_error()
    classes: dict[str, Any] = {"esm": EsmModel, "bert": BertModel, "t5": T5EncoderModel}
    config = AutoConfig.from_pretrained(folder)
    if config.model_type not in classes:
        raise ZooError(
            f"{folder}: model type {config.model_type!r} is not supported. Fix: use an ESM, BERT "
            f"(ProtBert) or T5 (ProtT5, Ankh) checkpoint."
        )
    return classes[config.model_type].from_pretrained(folder), AutoTokenizer.from_pretrained(folder)


class HFBackbone(nn.Module):
    """Mean over the residues' last hidden states (special tokens and padding left out)."""

    def __init__(self, model: Any, tokenizer: Any):
        super().__init__()
        self.model, self.tokenizer = model, tokenizer
        self.hidden_size = int(getattr(model.config, "hidden_size", None) or model.config.d_model)
        # ProtBert and ProtT5 read residues separated by spaces; ESM's tokenizer splits letters itself
        self.spaced = len(tokenizer.tokenize("ACD")) != 3

    def tokenize(self, sequences: list[str]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        text = [" ".join(s) if self.spaced else s for s in sequences]
        enc = self.tokenizer(text, padding=True, return_tensors="pt", return_special_tokens_mask=True)
        attention = enc["attention_mask"].bool()
        return enc["input_ids"], attention, attention & ~enc["special_tokens_mask"].bool()

    def forward(self, tokens: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=tokens, attention_mask=attention.long()).last_hidden_state


def load_backbone(folder: Path, lora: tuple[int, int] | None = None) -> HFBackbone:
    """The network as a backbone; with ``lora=(r, alpha)``, wrapped by peft so only the adapters train."""
    model, tokenizer = load_network(folder)
    if lora is not None:
        from peft import LoraConfig, get_peft_model

        # LoRA on the attention's query and value projections, as in the LoRA paper and Schmirler et al. 2024
        targets = ["q", "v"] if model.config.model_type == "t5" else ["query", "value"]
        model = get_peft_model(
            model, LoraConfig(r=lora[0], lora_alpha=lora[1], lora_dropout=0.0, target_modules=targets)
        )
    return HFBackbone(model, tokenizer)
