"""The paper's supervised CNNs, their ensembles, and the CNN + ridge blend."""
