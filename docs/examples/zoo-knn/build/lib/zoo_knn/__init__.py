"""protein-zoo example plugin: k-nearest-neighbour regression."""
