import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
PROBLEMS = ROOT / "problems"


def cli_binary() -> pathlib.Path:
    """The release CLI: $CVXCNN_BIN, else $CARGO_TARGET_DIR/release, else target/release."""
    if os.environ.get("CVXCNN_BIN"):
        return pathlib.Path(os.environ["CVXCNN_BIN"])
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    return target / "release" / "cvxcnn"


@pytest.fixture(scope="session")
def cli():
    binary = cli_binary()
    assert binary.exists(), f"{binary} is missing: run `cargo build --release` first"

    def run(*args, check=True):
        return subprocess.run(
            [str(binary), *map(str, args)], capture_output=True, text=True, check=check
        )

    return run


def load_problem_arrays(name: str) -> dict:
    """A shipped problem as a dict whose data are numpy arrays."""
    path = PROBLEMS / name
    spec = json.loads(path.read_text())
    for key in ("inputs", "targets", "test_inputs", "test_targets"):
        if key in spec:
            spec[key] = np.load(path.parent / spec[key])
    return spec


def strip_times(value):
    """A result without its wall-clock timings (everything else is deterministic)."""
    if isinstance(value, dict):
        return {
            k: strip_times(v)
            for k, v in value.items()
            if k not in ("timings", "solve_s", "seconds", "search_s", "add_s")
            and not k.endswith("_s")
        }
    if isinstance(value, list):
        return [strip_times(v) for v in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
