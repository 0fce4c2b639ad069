"""Type stubs of the native layer ``cvxcnn._cvxcnn`` (use the functions of ``cvxcnn`` instead)."""

from typing import Any, Callable, Mapping, Optional, Tuple

import numpy as np
import numpy.typing as npt

__version__: str

def solve(
    path: Optional[str] = None,
    json: Optional[str] = None,
    arrays: Optional[Mapping[str, npt.NDArray[Any]]] = None,
    options: str = "{}",
    network_json: Optional[str] = None,
    network_file: Optional[str] = None,
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> Tuple[str, Optional[Tuple[str, str]]]:
    """Solve a problem file (``path``) or problem JSON (``json``, with ``arrays`` standing for
    its paths); returns the result JSON and, when a model did not converge or certify, the
    message and status."""

def export(
    format: str,
    path: Optional[str] = None,
    json: Optional[str] = None,
    arrays: Optional[Mapping[str, npt.NDArray[Any]]] = None,
    options: str = "{}",
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> str:
    """The program as CBF, MPS or Clarabel JSON text."""

def predict(result_json: str, x: npt.NDArray[Any], scores: bool = False) -> npt.NDArray[Any]:
    """Outputs (float64) or labels (int64) of a result's networks on ``x``; ``scores``: every
    network's outputs ``[n, k]``."""

def export_network(result_json: str) -> bytes:
    """A result's network as a PyTorch state_dict in safetensors bytes."""

def beta_path(
    betas: list[float],
    path: Optional[str] = None,
    json: Optional[str] = None,
    arrays: Optional[Mapping[str, npt.NDArray[Any]]] = None,
    options: str = "{}",
    progress: Optional[Callable[[str, int, int], Any]] = None,
) -> str:
    """The β path JSON (``cvxcnn path``)."""
