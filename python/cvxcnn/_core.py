"""Functions over the native layer: problems in, results out, as dicts with numpy arrays."""

from __future__ import annotations

import json
import os
from typing import Any, Callable, Mapping, Optional, Union

import numpy as np

from . import _cvxcnn

__all__ = [
    "SolverError",
    "solve",
    "certify",
    "export",
    "predict",
    "decision_function",
    "export_network",
    "path",
]

#: Problem keys whose value may be an array instead of a path.
ARRAY_KEYS = ("inputs", "targets", "test_inputs", "test_targets")

#: Result keys that hold weights (returned as numpy arrays).
WEIGHT_KEYS = (
    "filters",
    "output_weights",
    "biases",
    "inner_filters",
    "circulant_filters",
    "inner_weights",
    "inner_biases",
)

Problem = Union[str, "os.PathLike[str]", Mapping[str, Any]]
Progress = Callable[[str, int, int], Any]


class SolverError(RuntimeError):
    """A solve that did not converge, or whose certificate did not close.

    Attributes
    ----------
    status : str
        The solver's status (``"max_iterations"``, ``"max_time"``, ...), or ``"not_certified"``
        when the solver reported optimal but the duality gap did not close.
    result : dict
        The result as it is (its ``status`` says what it is worth); pass
        ``allow_inexact=True`` to get it returned instead of this exception.
    """

    def __init__(self, message: str, status: str, result: dict):
        super().__init__(message)
        self.status = status
        self.result = result


def _as_array(key: str, value: Any) -> np.ndarray:
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except ValueError as e:  # ragged nested lists (numpy >= 1.24)
            raise ValueError(
                f'problem["{key}"]: not a rectangular array ({e}); give every sample the same '
                "shape"
            ) from None
    if arr.dtype == object:
        raise ValueError(
            f'problem["{key}"]: a ragged or object array (dtype object); give a rectangular '
            "float array, every sample with the same shape"
        )
    return arr


def _problem_args(problem: Problem) -> dict:
    """Keyword arguments of the native functions for a problem path or dict."""
    if isinstance(problem, (str, os.PathLike)):
        return {"path": os.fspath(problem)}
    if not isinstance(problem, Mapping):
        raise TypeError(
            f"problem must be a dict in the problem-file schema or a path, not "
            f"{type(problem).__name__}"
        )
    spec = {}
    arrays = {}
    for k, v in problem.items():
        if k in ARRAY_KEYS and not isinstance(v, (str, os.PathLike)):
            arrays[k] = _as_array(k, v)
            spec[k] = ""  # replaced by the native layer with the array's name
        elif isinstance(v, os.PathLike):
            spec[k] = os.fspath(v)
        else:
            spec[k] = v
    try:
        text = json.dumps(spec, default=_json_default, allow_nan=False)
    except ValueError as e:
        raise ValueError(f"problem: {e}; give finite numbers") from None
    return {"json": text, "arrays": arrays}


def _json_default(o: Any) -> Any:
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, np.generic):
        return o.item()
    raise TypeError(f"{type(o).__name__} is not JSON serializable")


def _with_arrays(value: Any, key: Optional[str] = None) -> Any:
    """The result JSON with weights as numpy arrays (rectangular lists only)."""
    if isinstance(value, dict):
        return {k: _with_arrays(v, k) for k, v in value.items()}
    if isinstance(value, list):
        if key in WEIGHT_KEYS:
            try:
                arr = np.asarray(value, dtype=np.float64)
            except ValueError:  # ragged (e.g. three-layer inner filters of varying width)
                return [np.asarray(v, dtype=np.float64) for v in value]
            return arr
        return [_with_arrays(v) for v in value]
    return value


def _result_json(result: Union[Mapping[str, Any], str, "os.PathLike[str]"]) -> str:
    if isinstance(result, (str, os.PathLike)):
        with open(result, encoding="utf-8") as f:
            return f.read()
    return json.dumps(result, default=_json_default)


def _progress(progress: Optional[Progress], verbose: bool) -> Optional[Progress]:
    if progress is not None or not verbose:
        return progress
    try:
        from tqdm.auto import tqdm
    except ImportError:  # no tqdm: one line per phase on stderr
        import sys

        seen = set()

        def line(phase: str, done: int, total: int) -> None:
            if phase not in seen:
                seen.add(phase)
                print(f"cvxcnn: {phase} ...", file=sys.stderr)

        return line
    bars: dict = {}

    def bar(phase: str, done: int, total: int) -> None:
        b = bars.get(phase)
        if b is None:
            b = bars[phase] = tqdm(total=total, desc=phase, leave=False)
        b.total = total
        b.n = done
        b.refresh()
        if done >= total:
            b.close()

    return bar


def _options(solver: str, options: dict) -> str:
    opts = {"solver": solver, **options}
    return json.dumps({k: v for k, v in opts.items() if v is not None})


def solve(
    problem: Problem,
    *,
    solver: str = "clarabel",
    allow_inexact: bool = False,
    progress: Optional[Progress] = None,
    verbose: bool = False,
    **options: Any,
) -> dict:
    """Solve a problem to global optimality and decode its network.

    Parameters
    ----------
    problem : dict or path
        A dict in the problem-file schema (docs/problem-files.md) whose ``inputs``, ``targets``,
        ``test_inputs`` and ``test_targets`` may be numpy arrays (``[n, C, L]`` or
        ``[n, C, H, W]`` float32/float64 inputs; ``[n]`` float or integer targets) instead of
        paths, or the path of a problem file. Paths in a dict are relative to the working
        directory.
    solver : {"clarabel", "al", "auto"}
        The backend, as ``cvxcnn solve --solver``; ``"auto"`` runs ``"al"`` on the problems it
        takes with at least 100 samples and ``"clarabel"`` on the others (``result["solver"]``
        says which ran).
    allow_inexact : bool
        Return a result whose status is not ``optimal`` (or whose certificate did not close)
        instead of raising :class:`SolverError`.
    progress : callable, optional
        ``progress(phase, done, total)``, called at most every 50 ms from the solving threads; an
        exception it raises stops the solve and is re-raised.
    verbose : bool
        Show progress bars (``tqdm`` when installed) when no ``progress`` is given.
    **options
        ``max_iter``, ``time_limit``, ``tol_gap_abs``, ``tol_gap_rel``, ``tol_feas``,
        ``linear_solver`` (clarabel); ``tol_gap``, ``polish`` (al); ``reduce``, ``coupling``:
        the CLI's flags.

    Returns
    -------
    dict
        The result, with the keys of a result file (docs/results.md); weights (``filters``,
        ``output_weights``, ``biases``, ...) are numpy arrays.

    Raises
    ------
    ValueError
        Bad input, with the CLI's message naming the key, the value and the fix.
    SolverError
        The solve did not converge or certify (``.status``, ``.result``).
    KeyboardInterrupt
        Ctrl-C while solving (checked at every progress step).
    """
    return _solve(problem, solver, allow_inexact, progress, verbose, options)


def _solve(problem, solver, allow_inexact, progress, verbose, options, network=None):
    net_json = net_file = None
    if network is not None:
        if isinstance(network, (str, os.PathLike)):
            net_file = os.fspath(network)
        else:
            keys = ("filters", "output_weights", "biases")
            net_json = json.dumps(
                {k: network[k] for k in keys if k in network and network[k] is not None},
                default=_json_default,
            )
    text, failure = _cvxcnn.solve(
        options=_options(solver, options),
        network_json=net_json,
        network_file=net_file,
        progress=_progress(progress, verbose),
        **_problem_args(problem),
    )
    result = _with_arrays(json.loads(text))
    if failure is not None and not allow_inexact:
        message, status = failure
        raise SolverError(
            f"{message}; pass allow_inexact=True to keep the result anyway", status, result
        )
    return result


def certify(
    problem: Problem,
    *,
    network: Union[None, Mapping[str, Any], str, "os.PathLike[str]"] = None,
    solver: str = "clarabel",
    progress: Optional[Progress] = None,
    verbose: bool = False,
    **options: Any,
) -> dict:
    """Solve a problem and return its dual certificate (as ``cvxcnn certify``).

    Parameters
    ----------
    problem : dict or path
        As for :func:`solve`.
    network : dict or path, optional
        Also certify this network: a dict with ``filters``, ``output_weights`` (and ``biases``)
        in the result-file layout (a result from :func:`solve` will do), or the path of a
        safetensors file in the layout of :func:`export_network` (e.g. a PyTorch model saved with
        ``safetensors.torch.save_file(model.state_dict(), path)``).
    solver, progress, verbose, **options
        As for :func:`solve`.

    Returns
    -------
    dict
        The certificate (``certified``, ``lower_bound``, ``gap``, ...; docs/results.md); with
        ``network``, ``{"network": ..., "optimum": ...}``; for a one-vs-rest problem
        ``{"task": "one_vs_rest", "classes": [{"class": c, "certificate": ...}, ...]}``. A
        certificate that does not close is returned with ``"certified": False`` (its bound is
        valid whatever the solver did), not raised.
    """
    result = _solve(problem, solver, True, progress, verbose, options, network)
    if result.get("task") == "one_vs_rest":
        return {
            "task": "one_vs_rest",
            "classes": [
                {"class": m["class"], "certificate": m["certificate"]} for m in result["models"]
            ],
        }
    if network is not None and "network_certificate" in result:
        return {"network": result["network_certificate"], "optimum": result["certificate"]}
    return result["certificate"]


def export(
    problem: Problem,
    format: str,
    path: Union[str, "os.PathLike[str]"],
    *,
    progress: Optional[Progress] = None,
    **options: Any,
) -> None:
    """Write the conic program ``solve`` would hand to the solver (as ``cvxcnn export``).

    Parameters
    ----------
    problem : dict or path
        As for :func:`solve`.
    format : {"cbf", "mps", "clarabel_json"}
        The file format (docs/exports.md).
    path : path
        The output file.
    **options
        ``reduce``, ``coupling``.
    """
    text = _cvxcnn.export(
        format,
        options=json.dumps(options),
        progress=progress,
        **_problem_args(problem),
    )
    _write_atomic(path, text.encode())


def _write_atomic(path: Union[str, "os.PathLike[str]"], data: bytes) -> None:
    path = os.fspath(path)
    tmp = f"{path}.cvxcnn-{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def predict(result: Union[Mapping[str, Any], str, "os.PathLike[str]"], X: Any) -> np.ndarray:
    """Outputs of a result's network, or predicted labels of a one-vs-rest result.

    Parameters
    ----------
    result : dict or path
        A result from :func:`solve`, or a result file (or its ``json.load``).
    X : numpy.ndarray
        ``[n, C, L]`` or ``[n, C, H, W]`` float32/float64 inputs with the training inputs'
        per-sample shape.

    Returns
    -------
    numpy.ndarray
        ``f(x)`` per sample (float64), or the class labels (int64) of a one-vs-rest result.
    """
    return _cvxcnn.predict(_result_json(result), _as_array("X", X))


def decision_function(
    result: Union[Mapping[str, Any], str, "os.PathLike[str]"], X: Any
) -> np.ndarray:
    """Outputs of every network of a result: ``[n, k]``, one column per class (``k = 1`` for a
    scalar result)."""
    return _cvxcnn.predict(_result_json(result), _as_array("X", X), scores=True)


def export_network(
    result: Union[Mapping[str, Any], str, "os.PathLike[str]"],
    path: Union[str, "os.PathLike[str]"],
    format: str = "safetensors",
) -> None:
    """Write a result's decoded network as a PyTorch ``state_dict`` in a safetensors file.

    The tensors are ``conv.weight`` ``[m, C, kh, kw]`` (``[m, C, kl]`` for signals),
    ``conv.bias`` ``[m]`` (with a bias) and ``fc.weight`` ``[k, m]`` (``k = 1``, or one row per
    class of a one-vs-rest result), float64; docs/python.md has the PyTorch module they load
    into. Circular and three-layer results are refused with the reason.
    """
    if format != "safetensors":
        raise ValueError(f'format = "{format}": the network format is "safetensors"')
    _write_atomic(path, _cvxcnn.export_network(_result_json(result)))


def path(
    problem: Problem,
    betas: "list[float]",
    *,
    solver: str = "al",
    allow_inexact: bool = False,
    progress: Optional[Progress] = None,
    **options: Any,
) -> dict:
    """Solve one problem for several weight decays, each warm-started from the previous one
    (``cvxcnn path``).

    Parameters
    ----------
    problem : dict or path
        As for :func:`solve` (a scalar two-layer problem).
    betas : list of float
        The weight decays, each finite, > 0 and listed once (usually decreasing).
    solver : {"al", "fista", "clarabel"}
        As ``cvxcnn path --solver``.
    allow_inexact : bool
        Return a path in which some β did not end ``optimal`` instead of raising
        :class:`SolverError`.
    **options
        ``tol_gap``, ``max_iter``, ``time_limit``, ``polish``, ``reduce``.

    Returns
    -------
    dict
        The path (docs/results.md, "Path files"): one entry per β.
    """
    text = _cvxcnn.beta_path(
        [float(b) for b in betas],
        options=json.dumps({"solver": solver, **options}),
        progress=progress,
        **_problem_args(problem),
    )
    report = _with_arrays(json.loads(text))
    bad = next((e for e in report.get("entries", []) if e.get("status") != "optimal"), None)
    if bad is not None and not allow_inexact:
        raise SolverError(
            f"at β = {bad['beta']} the solver stopped with status {bad['status']} after "
            f"{bad['iterations']} iterations; raise max_iter/time_limit or loosen tol_gap, or pass "
            "allow_inexact=True to keep the path",
            bad["status"],
            report,
        )
    return report
