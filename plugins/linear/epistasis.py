"""Global epistasis: an additive one-hot latent read through a sigmoid (Otwinowski, Sailer & Harms
2018, PNAS, "Inferring the shape of global epistasis"), one of issue 13's directions past the
paper, supervised only.

Mutations often add up on a hidden scale (folding energy, say) that the assay reads through one
nonlinearity (a stability threshold, a fluorescence that saturates). The model is
phi = one-hot . w + c and y = low + span * sigmoid(phi), the sigmoid spanning the training targets'
range widened by 5% on each side, fitted by L-BFGS on the mean squared error plus
alpha * |w|^2 / n, the ridge penalty of ``linear --profile paper`` (raw one-hot). The span is fixed
because a learned one can grow while w shrinks, sliding the fit into the sigmoid's linear middle
where the penalty no longer bites (a plain ridge again). Alpha is chosen on valid over the ridge
grid, each fit starting from the previous, larger alpha's solution. The one-hot matrix is sparse,
so a gradient costs two sparse products.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from zoo import Split

from ..shared import onehot
from ..shared.ridge import ALPHAS, pick_alpha

MARGIN = 0.05  # the sigmoid reaches 5% of the targets' range beyond their minimum and maximum


def objective(theta: np.ndarray, x: Any, y: np.ndarray, low: float, span: float, alpha: float):
    """Penalised mean squared error of low + span * sigmoid(x . w + c), and its gradient; theta = (w, c)."""
    from scipy.special import expit

    n, w = len(y), theta[:-1]
    s = expit(x @ w + theta[-1])
    r = low + span * s - y
    dphi = 2 * r / n * span * s * (1 - s)
    grad = np.concatenate([x.T @ dphi + 2 * alpha * w / n, [dphi.sum()]])
    return float(r @ r / n + alpha * (w @ w) / n), grad


class GlobalEpistasis:
    def __init__(self, alpha: float | None = None, max_iter: int = 1000):
        self.alpha, self.max_iter = alpha, max_iter
        self.params: dict = {
            "features": "flattened one-hot, 21 channels (sparse)",
            "head": "low + span * sigmoid(one-hot . w + c), L-BFGS, ridge penalty on w",
            "max_iter": max_iter,
        }
        self._theta: np.ndarray | None = None

    def _predict(self, theta: np.ndarray, x: Any) -> np.ndarray:
        from scipy.special import expit

        return self.low + self.span * expit(x @ theta[:-1] + theta[-1])

    def fit(self, train: Split, valid: Split) -> None:
        from scipy.optimize import minimize

        self.length = max(map(len, train.sequences))
        x, xv = (onehot.sparse_onehot(s.sequences, self.length) for s in (train, valid))
        y = np.asarray(train.targets, dtype=np.float64)
        width = float(y.max() - y.min()) or 1.0
        self.low, self.span = float(y.min()) - MARGIN * width, (1 + 2 * MARGIN) * width
        # start flat (w = 0) at the targets' mean
        centre = (y.mean() - self.low) / self.span
        theta = np.concatenate([np.zeros(x.shape[1]), [np.log(centre / (1 - centre))]])
        fits, iterations = {}, {}
        for alpha in sorted(ALPHAS if self.alpha is None else (self.alpha,), reverse=True):
            result = minimize(
                objective,
                theta,
                args=(x, y, self.low, self.span, alpha),
                jac=True,
                method="L-BFGS-B",
                options={"maxiter": self.max_iter, "gtol": 1e-10, "ftol": 1e-13},
            )
            theta = fits[alpha] = result.x
            iterations[str(alpha)] = int(result.nit)
        best, chosen = pick_alpha({a: self._predict(t, xv) for a, t in fits.items()}, valid.targets)
        self._theta = fits[best]
        on_sigmoid = (self._predict(self._theta, x) - self.low) / self.span
        self.params.update(
            chosen,
            alpha_chosen_on="valid" if self.alpha is None else "fixed by -o alpha",
            iterations_by_alpha=iterations,
            link_low=round(self.low, 4),
            link_high=round(self.low + self.span, 4),
            # how much of the sigmoid the training latents use: near 0.5 is its linear middle
            train_sigmoid_range=[round(float(v), 4) for v in np.quantile(on_sigmoid, [0.01, 0.99])],
            trainable_parameters=x.shape[1] + 1,
        )

    def predict(self, sequences: Sequence[str]) -> np.ndarray:
        if self._theta is None:
            raise RuntimeError("call fit() before predict()")
        return self._predict(self._theta, onehot.sparse_onehot(sequences, self.length))
