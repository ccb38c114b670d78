"""Regression metrics. Spearman is the headline; Pearson and MSE come with it."""

from __future__ import annotations

import numpy as np
from scipy import stats

PRIMARY = "spearman"


def regression_metrics(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    y_true = np.asarray(y_true, dtype=np.float64)
    y_pred = np.asarray(y_pred, dtype=np.float64)
    constant = np.ptp(y_pred) == 0
    return {
        # a constant prediction has no rank order: scipy warns and returns nan, say so explicitly
        "spearman": float("nan") if constant else float(stats.spearmanr(y_true, y_pred).statistic),
        "pearson": float("nan") if constant else float(stats.pearsonr(y_true, y_pred).statistic),
        "mse": float(np.mean((y_true - y_pred) ** 2)),
    }
