"""Every MLflow tag, param and metric name the zoo writes or reads, named once.

Tags have plain names so they work in the UI's search box, e.g.
``tags.task = 'stability' and tags.pretrained = 'true'``.
"""

from __future__ import annotations

# tags
KIND, MODEL, TASK, SEED, PROFILE = "kind", "model", "task", "seed", "profile"
PLUGIN, PLUGIN_VERSION, PRETRAINED, JOB_KEY = "plugin", "plugin_version", "pretrained", "job_key"
OPTIONS = "options"  # JSON of the options the user set (not the defaults): part of a row's identity
TRAIN_SIZE, OUTCOME, MESSAGE, TRACEBACK = "train_size", "outcome", "message", "traceback"
DATA_SHA256, DATA_FILES, DATA_NOTES = "data_sha256", "data_files", "data_notes"
GIT_COMMIT, MACHINE, HOST, PID = "git_commit", "machine", "host", "pid"
PRETRAINED_PARAMETERS = "pretrained_parameters"
REVISION = "recipe_revision"  # ModelSpec.revisions: a raised recipe is another row
APPROACH = "approach"  # supervised, frozen, fine-tuned, zero-shot, augmented (zoo.contract.APPROACHES)

# params
CLIP = "clip_predictions"
TRAIN_SEQUENCES = "train_sequences"
SELECTION_SEQUENCES = "selection_sequences"  # valid rows used for model selection (fewer at low N)
HP = "hp."  # prefix of what a model reports in its ``params``
TRAINABLE = "hp.trainable_parameters"
OPTION = "option."  # prefix of every option value the job ran with
# what a model that trains in epochs reports in its ``params`` (docs/plugins.md): the page's
# "Fine-tuned training" table reads them, so a capped or bounded training is never read as converged
EPOCH_CAP, EPOCHS_DONE, STEPS_DONE = "hp.epochs", "hp.epochs_done", "hp.steps_done"
BEST_EPOCH, STOPPED_EARLY, PATIENCE = "hp.best_epoch", "hp.stopped_early", "hp.patience"

# metrics
FIT_SECONDS = "fit_seconds"
TEST_SPEARMAN, VALID_SPEARMAN = "test_spearman", "valid_spearman"
# Spearman on the selection split alone (all of valid on the full train split, about N/4 rows at a training
# size N): what the leaderboard ranks configurations by, so no pick uses labels the job could not select on
SELECTION_SPEARMAN = "selection_spearman"
CI_LOW, CI_HIGH = "test_spearman_ci_low", "test_spearman_ci_high"
TEST_PEARSON, TEST_MSE = "test_pearson", "test_mse"
THROUGHPUT, PREDICT_SECONDS = "test_predict_seq_per_s", "test_predict_seconds"
# per epoch of a training, at step = epoch (``<part>_`` before them for an ensemble's member): the UI's
# training curve, and how far a stopped job got
EPOCH_TRAIN_LOSS, EPOCH_VALID_SPEARMAN = "epoch_train_loss", "epoch_valid_spearman"
EPOCH_PREFIX = "epoch_"  # every per-epoch metric's name starts so (after a member's prefix): epoch_lr too


def per_epoch(metric: str) -> bool:
    """A metric logged once an epoch (a curve), rather than once a run."""
    return metric.startswith(EPOCH_PREFIX) or f"_{EPOCH_PREFIX}" in metric


# artifacts
PREDICTIONS = "test_predictions.csv"
SCATTER = "test_scatter.png"

# run kinds
JOB, INVOCATION, LEADERBOARD = "job", "invocation", "leaderboard"
