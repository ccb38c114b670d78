"""Transformer protein language models: fair-esm's ESM, TAPE's bert-base, and any ``hf:`` model."""
