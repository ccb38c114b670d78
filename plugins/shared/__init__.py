"""What the built-in model families share: encodings, ridge heads, selection, frozen and fine-tuned backbones,
checkpoints, precision and device."""
