from typing import Any, Optional, Sequence

import numpy as np
import numpy.typing as npt
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin

XFAIL_CHECKS: dict[str, str]
DEFAULT_ARRANGEMENTS: dict[str, Any]

class _ConvexCNN(BaseEstimator):
    architecture: str
    kernel: Any
    stride: Any
    padding: Any
    pooling: str
    pool_size: Any
    activation: str
    bias: bool
    inner_filters: int
    beta: float
    filter_norm: str
    arrangements: Optional[dict[str, Any]]
    input_shape: Optional[Sequence[int]]
    solver: str
    solver_options: Optional[dict[str, Any]]
    allow_inexact: bool
    verbose: bool
    result_: dict[str, Any]
    certificate_: Any
    objective_: float
    n_features_in_: int
    def __init__(
        self,
        *,
        architecture: str = ...,
        kernel: Any = ...,
        stride: Any = ...,
        padding: Any = ...,
        pooling: str = ...,
        pool_size: Any = ...,
        activation: str = ...,
        bias: bool = ...,
        inner_filters: int = ...,
        beta: float = ...,
        filter_norm: str = ...,
        arrangements: Optional[dict[str, Any]] = ...,
        input_shape: Optional[Sequence[int]] = ...,
        solver: str = ...,
        solver_options: Optional[dict[str, Any]] = ...,
        allow_inexact: bool = ...,
        verbose: bool = ...,
    ) -> None: ...

class ConvexCNNRegressor(RegressorMixin, _ConvexCNN):
    filters_: npt.NDArray[np.float64]
    output_weights_: npt.NDArray[np.float64]
    biases_: Optional[npt.NDArray[np.float64]]
    def fit(self, X: Any, y: Any) -> "ConvexCNNRegressor": ...
    def predict(self, X: Any) -> npt.NDArray[np.float64]: ...

class ConvexCNNClassifier(ClassifierMixin, _ConvexCNN):
    n_jobs: Optional[int]
    classes_: npt.NDArray[Any]
    filters_: Any
    output_weights_: Any
    biases_: Any
    def __init__(self, *, n_jobs: Optional[int] = ..., **params: Any) -> None: ...
    def fit(self, X: Any, y: Any) -> "ConvexCNNClassifier": ...
    def decision_function(self, X: Any) -> npt.NDArray[np.float64]: ...
    def predict(self, X: Any) -> npt.NDArray[Any]: ...
    def onnx_result(self) -> dict[str, Any]: ...
