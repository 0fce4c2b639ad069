"""The digits example of docs/python.md, run as written, and its exports checked."""

import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "digits.py"


def test_digits_example_runs_as_written(tmp_path):
    ort = pytest.importorskip("onnxruntime")
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    out = subprocess.run(
        [sys.executable, str(EXAMPLE)], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    accuracy = float(re.search(r"test accuracy ([0-9.]+)", out).group(1))
    assert "certified True" in out
    assert accuracy > 0.85
    # The ONNX model reproduces the classifier's test accuracy: its labels are the estimator's.
    X, y = load_digits(return_X_y=True)
    _, X_test, _, y_test = train_test_split(X / 16, y, train_size=300, random_state=0)
    sess = ort.InferenceSession(str(tmp_path / "digits.onnx"), providers=["CPUExecutionProvider"])
    scores, labels = sess.run(None, {"x": X_test.reshape(-1, 1, 8, 8).astype(np.float32)})
    assert scores.shape == (len(X_test), 10)
    assert np.mean(labels == y_test) == accuracy
    # The state_dict: ten classes' neurons stacked, one row of fc.weight per class.
    t = safetensors_numpy.load_file(str(tmp_path / "digits.safetensors"))
    m = t["conv.weight"].shape[0]
    assert t["conv.weight"].shape == (m, 1, 3, 3) and t["fc.weight"].shape == (10, m)
    assert np.all((t["fc.weight"] != 0).sum(axis=0) <= 1)
