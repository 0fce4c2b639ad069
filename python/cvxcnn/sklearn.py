"""scikit-learn estimators over :func:`cvxcnn.solve`: ``ConvexCNNClassifier`` (binary, and one
network per class for more classes) and ``ConvexCNNRegressor``.

Every fit solves the convex program of the network to global optimality (over the sampled or
exact sign patterns) and keeps the decoded network and its certificate.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted

from . import _core

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:  # pragma: no cover - older scikit-learn
    def _validate_data(est, X="no_validation", y="no_validation", reset=True, **kw):
        return est._validate_data(X, y, reset=reset, **kw)


__all__ = ["ConvexCNNClassifier", "ConvexCNNRegressor"]

#: Checks of ``parametrize_with_checks`` that cannot apply, with the reason.
XFAIL_CHECKS = {
    "check_sample_weight_equivalence_on_dense_data": (
        "sample weights are not supported: the convex program weighs every sample equally"
    ),
    "check_sample_weight_equivalence_on_sparse_data": (
        "sample weights are not supported: the convex program weighs every sample equally"
    ),
}

DEFAULT_ARRANGEMENTS = {"mode": "sample", "count": 100, "seed": 0}


def _per_axis(value, dims: int, name: str):
    if value is None:
        return None
    if np.isscalar(value):
        return [int(value)] * dims
    value = [int(v) for v in value]
    if len(value) != dims:
        raise ValueError(
            f"{name} = {value} has {len(value)} entries but the inputs have {dims} spatial "
            f"axes; give {dims} (or one int)"
        )
    return value


class _ConvexCNN(BaseEstimator):
    """Shared parameters and the problem they describe."""

    def __init__(
        self,
        *,
        architecture: str = "two_layer",
        kernel: Any = None,
        stride: Any = None,
        padding: Any = None,
        pooling: str = "sum",
        pool_size: Any = None,
        activation: str = "relu",
        bias: bool = False,
        inner_filters: int = 2,
        beta: float = 0.1,
        filter_norm: str = "l2",
        arrangements: Optional[dict] = None,
        input_shape: Optional[Sequence[int]] = None,
        solver: str = "clarabel",
        solver_options: Optional[dict] = None,
        allow_inexact: bool = False,
        verbose: bool = False,
    ):
        self.architecture = architecture
        self.kernel = kernel
        self.stride = stride
        self.padding = padding
        self.pooling = pooling
        self.pool_size = pool_size
        self.activation = activation
        self.bias = bias
        self.inner_filters = inner_filters
        self.beta = beta
        self.filter_norm = filter_norm
        self.arrangements = arrangements
        self.input_shape = input_shape
        self.solver = solver
        self.solver_options = solver_options
        self.allow_inexact = allow_inexact
        self.verbose = verbose

    # -- data ------------------------------------------------------------------------------

    def _samples(self, X, reset: bool) -> np.ndarray:
        """``X`` as ``[n, C, L]`` or ``[n, C, H, W]`` float64."""
        X = _validate_data(
            self, X, reset=reset, dtype=np.float64, allow_nd=True, ensure_min_samples=1
        )
        if X.ndim == 2:
            shape = self.input_shape
            if shape is None:
                shape = (1, X.shape[1])  # 1-D signals of length d, one channel
            shape = tuple(int(s) for s in shape)
            if len(shape) not in (2, 3) or int(np.prod(shape)) != X.shape[1]:
                raise ValueError(
                    f"input_shape = {shape} does not fit X with {X.shape[1]} features; give "
                    f"(C, L) or (C, H, W) with C·L (or C·H·W) = {X.shape[1]}"
                )
            X = X.reshape((X.shape[0],) + shape)
        elif X.ndim not in (3, 4):
            raise ValueError(
                f"X has {X.ndim} axes; give [n, d] (with input_shape), [n, C, L] or [n, C, H, W]"
            )
        elif self.input_shape is not None and tuple(X.shape[1:]) != tuple(self.input_shape):
            raise ValueError(
                f"X has per-sample shape {X.shape[1:]} but input_shape = {self.input_shape}"
            )
        return np.ascontiguousarray(X)

    def _problem(self, X: np.ndarray, y: np.ndarray) -> dict:
        spatial = X.shape[2:]
        dims = len(spatial)
        arch: dict = {"kind": self.architecture}
        if self.architecture in ("two_layer", "three_layer"):
            kernel = _per_axis(self.kernel, dims, "kernel")
            if kernel is None:
                kernel = [min(3, s) for s in spatial]
            arch["kernel"] = kernel
            for key in ("stride", "padding"):
                v = _per_axis(getattr(self, key), dims, key)
                if v is not None:
                    arch[key] = v
            if self.bias:
                arch["bias"] = True
        if self.architecture == "two_layer":
            arch["pooling"] = self.pooling
            if self.pool_size is not None:
                arch["pool_size"] = _per_axis(self.pool_size, dims, "pool_size")
            if self.activation != "relu":
                arch["activation"] = self.activation
        elif self.architecture == "three_layer":
            arch["inner_filters"] = int(self.inner_filters)
        elif self.architecture == "circular":
            if self.bias:
                arch["bias"] = True
        else:
            raise ValueError(
                f"architecture = {self.architecture!r}: give 'two_layer', 'three_layer' or "
                "'circular'"
            )
        problem = {
            "inputs": X,
            "targets": y,
            "architecture": arch,
            "beta": float(self.beta),
            "arrangements": dict(self.arrangements or DEFAULT_ARRANGEMENTS),
        }
        if self.filter_norm != "l2":
            problem["filter_norm"] = self.filter_norm
        # The classifier's loss on its ±1 targets (the regressor's is always squared).
        loss = getattr(self, "loss", "squared")
        if loss != "squared":
            problem["loss"] = loss
        return problem

    def _solve(self, problem: dict) -> dict:
        return _core.solve(
            problem,
            solver=self.solver,
            allow_inexact=self.allow_inexact,
            verbose=self.verbose,
            **(self.solver_options or {}),
        )

    def _filters(self, result: dict, X: np.ndarray):
        f = np.asarray(result.get("filters", []), dtype=np.float64)
        if result.get("network", {}).get("kind") == "two_layer":
            kernel = result["network"]["kernel"]
            return f.reshape((f.shape[0] if f.ndim else 0, X.shape[1], *kernel))
        return f

    # -- tags ------------------------------------------------------------------------------

    def _more_tags(self):  # scikit-learn < 1.6
        return {"_xfail_checks": dict(XFAIL_CHECKS), "allow_nan": False}

    def __sklearn_tags__(self):  # scikit-learn >= 1.6
        tags = super().__sklearn_tags__()
        tags.input_tags.allow_nan = False
        return tags


class ConvexCNNRegressor(RegressorMixin, _ConvexCNN):
    """A two-layer (or circular, or three-layer) ReLU CNN trained to certified global optimality
    on the squared loss with weight decay.

    Parameters
    ----------
    architecture : {"two_layer", "three_layer", "circular"}
        ``architecture.kind`` of the problem file.
    kernel, stride, padding : int or sequence of int, optional
        Per spatial axis (one int for every axis). ``kernel`` defaults to 3 per axis, at most the
        input's size.
    pooling : {"sum", "average", "max", "local_average"}
        Two-layer pooling; ``pool_size`` for ``"local_average"``.
    activation : {"relu", "linear"}
        Two-layer activation.
    bias : bool
        A bias per neuron.
    inner_filters : int
        Three-layer ``inner_filters``.
    beta : float
        Weight decay β ≥ 0.
    filter_norm : {"l2", "l1"}
        Filter norm of the weight decay.
    arrangements : dict, optional
        The problem file's ``arrangements``; default ``{"mode": "sample", "count": 100,
        "seed": 0}``.
    input_shape : sequence of int, optional
        Per-sample shape ``(C, L)`` or ``(C, H, W)`` of a flat ``X`` ``[n, d]``; by default a flat
        ``X`` is ``n`` one-channel signals of length ``d``. ``X`` may also be given as
        ``[n, C, L]`` or ``[n, C, H, W]``.
    solver : {"clarabel", "al"}
        The backend.
    solver_options : dict, optional
        Keyword options of :func:`cvxcnn.solve` (``max_iter``, ``tol_gap``, ...).
    allow_inexact : bool
        Keep a fit whose solve did not converge instead of raising :class:`cvxcnn.SolverError`.
    verbose : bool
        Progress bars (tqdm).

    Attributes
    ----------
    result_ : dict
        The result of the solve (docs/results.md), weights as numpy arrays.
    filters_ : numpy.ndarray
        ``[m, C, kh, kw]`` (``[m, C, kl]`` for signals) first-layer filters of a two-layer network.
    output_weights_ : numpy.ndarray
        ``[m]``.
    biases_ : numpy.ndarray or None
    certificate_ : dict
        The dual certificate (``certified``, ``lower_bound``, ``gap``, ...).
    objective_ : float
        The certified optimum.
    n_features_in_ : int
    """

    def fit(self, X, y):
        """Solve the training problem on ``X`` and ``y``.

        Parameters
        ----------
        X : array-like of shape (n, d), (n, C, L) or (n, C, H, W)
        y : array-like of shape (n,)

        Returns
        -------
        self
        """
        X4 = self._samples(X, reset=True)
        _, y = _validate_data(self, X4.reshape(len(X4), -1), y, reset=False, y_numeric=True,
                              dtype=np.float64)
        result = self._solve(self._problem(X4, np.asarray(y, dtype=np.float64)))
        self.result_ = result
        self.filters_ = self._filters(result, X4)
        self.output_weights_ = np.asarray(result.get("output_weights", []), dtype=np.float64)
        self.biases_ = result.get("biases")
        self.certificate_ = result["certificate"]
        self.objective_ = float(result["objective"])
        return self

    def predict(self, X):
        """Network outputs ``f(x)``, shape ``(n,)``."""
        check_is_fitted(self, "result_")
        return _core.predict(self.result_, self._samples(X, reset=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        # A convolution with pooling is shift-invariant along the signal: it cannot fit the
        # checks' generic regression data (one informative feature at a fixed position).
        tags.regressor_tags.poor_score = True
        return tags

    def _more_tags(self):
        return {**super()._more_tags(), "poor_score": True}


def _solve_class(est: "ConvexCNNClassifier", X4: np.ndarray, y: np.ndarray, positive) -> dict:
    return est._solve(est._problem(X4, np.where(y == positive, 1.0, -1.0)))


class ConvexCNNClassifier(ClassifierMixin, _ConvexCNN):
    """A ReLU CNN classifier trained to certified global optimality: one network on ±1 targets
    for two classes, one network per class (one-vs-rest, in parallel with ``n_jobs``) for more.

    Parameters
    ----------
    n_jobs : int, optional
        Classes solved at once through joblib (its backend: threads, processes, Dask, Ray).
    loss : {"squared", "logistic", "hinge"}
        The problem file's ``loss`` on the ±1 targets (docs/problem-files.md): ``"logistic"``
        (exponential cones) and ``"hinge"`` need ``solver="clarabel"``.
    **others
        As :class:`ConvexCNNRegressor`.

    Attributes
    ----------
    classes_ : numpy.ndarray
        The labels, ascending.
    result_ : dict
        The result: a scalar result for two classes, or ``{"task": "one_vs_rest", "classes":
        [...], "models": [{"class": c, ...result of class c...}, ...]}``.
    filters_, output_weights_, biases_, certificate_ :
        As for the regressor for two classes; lists with one entry per class otherwise.
    objective_ : float
        The certified optimum (summed over the classes).
    """

    def __init__(
        self,
        *,
        architecture: str = "two_layer",
        kernel: Any = None,
        stride: Any = None,
        padding: Any = None,
        pooling: str = "sum",
        pool_size: Any = None,
        activation: str = "relu",
        bias: bool = False,
        inner_filters: int = 2,
        beta: float = 0.1,
        filter_norm: str = "l2",
        arrangements: Optional[dict] = None,
        input_shape: Optional[Sequence[int]] = None,
        solver: str = "clarabel",
        solver_options: Optional[dict] = None,
        allow_inexact: bool = False,
        verbose: bool = False,
        n_jobs: Optional[int] = None,
        loss: str = "squared",
    ):
        super().__init__(
            architecture=architecture,
            kernel=kernel,
            stride=stride,
            padding=padding,
            pooling=pooling,
            pool_size=pool_size,
            activation=activation,
            bias=bias,
            inner_filters=inner_filters,
            beta=beta,
            filter_norm=filter_norm,
            arrangements=arrangements,
            input_shape=input_shape,
            solver=solver,
            solver_options=solver_options,
            allow_inexact=allow_inexact,
            verbose=verbose,
        )
        self.n_jobs = n_jobs
        self.loss = loss

    def fit(self, X, y):
        """Solve the training problem(s) on ``X`` and labels ``y``.

        Parameters
        ----------
        X : array-like of shape (n, d), (n, C, L) or (n, C, H, W)
        y : array-like of shape (n,)

        Returns
        -------
        self
        """
        X4 = self._samples(X, reset=True)
        _, y = _validate_data(self, X4.reshape(len(X4), -1), y, reset=False)
        check_classification_targets(y)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(
                f"y holds one class ({self.classes_[0]!r}); a classifier needs at least 2 classes"
            )
        if len(self.classes_) == 2:
            result = _solve_class(self, X4, y, self.classes_[1])
            self.result_ = result
            self.filters_ = self._filters(result, X4)
            self.output_weights_ = np.asarray(result.get("output_weights", []))
            self.biases_ = result.get("biases")
            self.certificate_ = result["certificate"]
            self.objective_ = float(result["objective"])
            return self
        from joblib import Parallel, delayed

        results = Parallel(n_jobs=self.n_jobs)(
            delayed(_solve_class)(self, X4, y, c) for c in self.classes_
        )
        models = []
        for c, r in zip(self.classes_, results):
            models.append({"class": int(c) if np.issubdtype(type(c), np.integer) else c, **r})
        self.result_ = {"task": "one_vs_rest", "classes": list(self.classes_), "models": models}
        self.filters_ = [self._filters(r, X4) for r in results]
        self.output_weights_ = [np.asarray(r.get("output_weights", [])) for r in results]
        self.biases_ = [r.get("biases") for r in results]
        self.certificate_ = [r["certificate"] for r in results]
        self.objective_ = float(sum(r["objective"] for r in results))
        return self

    def decision_function(self, X):
        """Network outputs: ``(n,)`` for two classes (positive: ``classes_[1]``), ``(n, k)``
        otherwise."""
        check_is_fitted(self, "result_")
        X4 = self._samples(X, reset=False)
        if len(self.classes_) == 2:
            return _core.predict(self.result_, X4)
        return np.column_stack([_core.predict(m, X4) for m in self.result_["models"]])

    def predict(self, X):
        """Labels: the sign of the output for two classes, the largest output otherwise (ties to
        the smaller label)."""
        scores = self.decision_function(X)
        if scores.ndim == 1:
            return self.classes_[(scores >= 0).astype(int)]
        return self.classes_[np.argmax(scores, axis=1)]

    def onnx_result(self) -> dict:
        """The fitted model as one result for :func:`cvxcnn.to_onnx` /
        :func:`cvxcnn.export_network` (integer labels for more than two classes)."""
        check_is_fitted(self, "result_")
        return self.result_

    def __sklearn_tags__(self):
        return super().__sklearn_tags__()

    def _more_tags(self):
        return super()._more_tags()
