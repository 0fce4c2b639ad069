"""cvxcnn: train small ReLU CNNs to certified global optimality by convex optimization.

numpy in, certified network out::

    import cvxcnn
    result = cvxcnn.solve({"inputs": X, "targets": y,
                           "architecture": {"kind": "two_layer", "kernel": [3, 3], "pooling": "sum"},
                           "beta": 0.1, "arrangements": {"mode": "sample", "count": 200, "seed": 0}})
    result["certificate"]["certified"], result["filters"].shape

The estimators are in :mod:`cvxcnn.sklearn`; docs/python.md has the whole story.
"""

from ._core import (
    SolverError,
    certify,
    decision_function,
    export,
    export_network,
    path,
    predict,
    solve,
)
from ._cvxcnn import __version__
from ._onnx import read_state_dict, to_onnx

__all__ = [
    "SolverError",
    "certify",
    "decision_function",
    "export",
    "export_network",
    "path",
    "predict",
    "read_state_dict",
    "solve",
    "to_onnx",
    "__version__",
]
