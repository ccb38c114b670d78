"""The UniRep family (64, 256, 1900): frozen, fine-tuned, zero-shot and augmented."""
