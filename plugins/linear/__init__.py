"""Linear models on one-hot sequences: the paper's ridge, pairwise (epistatic) ridge, global epistasis."""
