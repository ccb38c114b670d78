"""A fair-esm ESM-2 checkpoint in transformers' layout: the same weights, renamed, saved with
``save_pretrained`` and an ``EsmTokenizer`` of the same alphabet, so ``--model hf:FOLDER`` and the
``esm`` plugin run one network (tests/test_hf.py checks that both give the same embeddings).

The renaming follows the module structure of both libraries: fair-esm's ``layers.N.self_attn.q_proj``
is transformers' ``encoder.layer.N.attention.self.query``, and so on (``RENAME``).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

RENAME = [  # fair-esm key pattern -> transformers EsmModel key
    (r"embed_tokens\.", "embeddings.word_embeddings."),
    (r"layers\.(\d+)\.self_attn\.q_proj\.", r"encoder.layer.\1.attention.self.query."),
    (r"layers\.(\d+)\.self_attn\.k_proj\.", r"encoder.layer.\1.attention.self.key."),
    (r"layers\.(\d+)\.self_attn\.v_proj\.", r"encoder.layer.\1.attention.self.value."),
    (r"layers\.(\d+)\.self_attn\.out_proj\.", r"encoder.layer.\1.attention.output.dense."),
    (r"layers\.(\d+)\.self_attn_layer_norm\.", r"encoder.layer.\1.attention.LayerNorm."),
    (r"layers\.(\d+)\.fc1\.", r"encoder.layer.\1.intermediate.dense."),
    (r"layers\.(\d+)\.fc2\.", r"encoder.layer.\1.output.dense."),
    (r"layers\.(\d+)\.final_layer_norm\.", r"encoder.layer.\1.LayerNorm."),
    (r"emb_layer_norm_after\.", "encoder.emb_layer_norm_after."),
]
DROPPED = ("lm_head.", "contact_head.", "rot_emb.inv_freq")  # not part of EsmModel's encoder (or recomputed)


def rename(state: dict[str, Any]) -> dict[str, Any]:
    """An ``ESM2`` module's state dict under transformers' ``EsmModel`` names."""
    out = {}
    for key, value in state.items():
        if any(part in key for part in DROPPED):
            continue
        for pattern, target in RENAME:
            if re.match(pattern, key):
                out[re.sub(pattern, target, key, count=1)] = value
                break
        else:
            raise ValueError(f"fair-esm key {key!r} has no counterpart in transformers' EsmModel")
    return out


def convert(model: Any, alphabet: Any, folder: str | Path) -> Path:
    """Save fair-esm ``model`` (an ``esm.model.esm2.ESM2``) and its alphabet as a transformers folder."""
    from transformers import EsmConfig, EsmModel, EsmTokenizer

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    layer = model.layers[0]
    config = EsmConfig(
        vocab_size=len(alphabet.all_toks),
        hidden_size=model.embed_dim,
        num_hidden_layers=model.num_layers,
        num_attention_heads=model.attention_heads,
        intermediate_size=layer.fc1.out_features,
        position_embedding_type="rotary",
        token_dropout=model.token_dropout,
        mask_token_id=alphabet.mask_idx,
        pad_token_id=alphabet.padding_idx,
        layer_norm_eps=1e-5,
        emb_layer_norm_before=False,
        max_position_embeddings=1026,
    )
    hf = EsmModel(config, add_pooling_layer=False)
    missing, unexpected = hf.load_state_dict(rename(model.state_dict()), strict=False)
    leftover = [k for k in missing if "rotary_embeddings" not in k and "contact_head" not in k]
    if leftover or unexpected:
        raise ValueError(f"conversion left {leftover} unset and {unexpected} unused")
    hf.save_pretrained(folder)
    (folder / "vocab.txt").write_text("\n".join(alphabet.all_toks) + "\n")
    EsmTokenizer(str(folder / "vocab.txt")).save_pretrained(folder)
    return folder
