"""The functions of cvxcnn against the CLI, and bad input from Python."""

import json
import threading

import numpy as np
import pytest

import cvxcnn
from conftest import PROBLEMS, load_problem_arrays, strip_times

SHIPPED = ["signal_exact.json", "channels_stride.json", "three_layer.json", "exact3_channels.json"]


@pytest.mark.parametrize("name", SHIPPED)
def test_solve_equals_the_cli(cli, tmp_path, name):
    out = tmp_path / "r.json"
    cli("solve", PROBLEMS / name, "--quiet", "--out", out)
    expected = json.loads(out.read_text())
    got = cvxcnn.solve(PROBLEMS / name)
    # Same optimum, same weights, same certificate: the same library, bit for bit.
    assert got["objective"] == expected["objective"]
    if isinstance(got["filters"], np.ndarray):
        assert np.array_equal(got["filters"], np.asarray(expected["filters"]))
    assert strip_times(got) == strip_times(expected)
    # The same problem with its data given as numpy arrays.
    mem = cvxcnn.solve(load_problem_arrays(name))
    assert strip_times(mem) == strip_times(got)


def test_weights_are_numpy_and_predict_matches_the_cli(cli, tmp_path):
    out = tmp_path / "r.json"
    cli("solve", PROBLEMS / "channels_stride.json", "--quiet", "--out", out)
    spec = load_problem_arrays("channels_stride.json")
    result = cvxcnn.solve(spec)
    assert isinstance(result["filters"], np.ndarray) and result["filters"].ndim == 2
    assert result["filters"].shape == (result["neurons"], spec["inputs"].shape[1] * 3)
    x = spec["inputs"]
    np.save(tmp_path / "x.npy", x)
    lines = cli("predict", out, "--inputs", tmp_path / "x.npy").stdout.split()
    f = cvxcnn.predict(result, x)
    assert f.dtype == np.float64
    assert np.array_equal(f, np.array([float(v) for v in lines]))
    # The decoded network's outputs attain the certified objective.
    loss = 0.5 * np.sum((f - spec["targets"]) ** 2)
    assert abs(loss - result["loss"]) <= 1e-9 * max(1.0, result["loss"])
    # float32 inputs give the outputs of the same values in float64.
    x32 = x.astype(np.float32)
    assert np.array_equal(cvxcnn.predict(result, x32), cvxcnn.predict(result, x32.astype(np.float64)))
    # The result file itself (json.load) predicts the same.
    assert np.array_equal(cvxcnn.predict(json.loads(out.read_text()), x), f)


def test_certify_and_export_match_the_cli(cli, tmp_path):
    cert = cvxcnn.certify(PROBLEMS / "signal_exact.json")
    assert cert["certified"] and cert["scope"] == "global"
    assert cert["lower_bound"] <= cert["primal_objective"] + 1e-12
    out = tmp_path / "c.json"
    cli("certify", PROBLEMS / "signal_exact.json", "--quiet", "--out", out)
    assert strip_times(cert) == strip_times(json.loads(out.read_text()))
    cli("export", PROBLEMS / "signal_exact.json", "--format", "cbf", "--quiet", "--out", tmp_path / "a.cbf")
    cvxcnn.export(load_problem_arrays("signal_exact.json"), "cbf", tmp_path / "b.cbf")
    assert (tmp_path / "a.cbf").read_bytes() == (tmp_path / "b.cbf").read_bytes()


def _spec():
    return load_problem_arrays("signal_exact.json")


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda s: s.update(inputs=s["inputs"].astype(np.float16)), "dtype float16 is not accepted"),
        (lambda s: s.update(inputs=s["inputs"].astype(np.int64)), "integer dtype"),
        (lambda s: s["inputs"].__setitem__((2, 0, 1), np.nan), 'problem["inputs"]: input value number'),
        (lambda s: s.update(targets=np.full(len(s["targets"]), np.inf)), "target value number 0"),
        (lambda s: s.update(inputs=s["inputs"][:, 0, :]), "inputs have rank 2"),
        (lambda s: s.update(targets=s["targets"][:-1]), "targets for"),
        (lambda s: s.update(inputs=np.repeat(s["inputs"], 2, axis=2)[:, :, ::2]), "not contiguous"),
        (lambda s: s.update(inputs=[[[1.0, 2.0]], [[1.0]]]), "not a rectangular array"),
        (lambda s: s.update(inputs=np.array([[1.0, 2.0], "x"], dtype=object)), "ragged or object"),
        (lambda s: s.update(beta=-1.0), "problem: beta = -1"),
        (lambda s: s.update(unknown=1), "unknown field `unknown`"),
        (lambda s: s.update(inputs="no/such/file.npy"), "no/such/file.npy"),
    ],
)
def test_bad_input_is_a_value_error_naming_it(change, message):
    spec = _spec()
    change(spec)
    with pytest.raises(ValueError, match=None) as e:
        cvxcnn.solve(spec)
    assert message in str(e.value), str(e.value)


def test_bad_options_and_one_class_labels():
    with pytest.raises(ValueError, match="solver"):
        cvxcnn.solve(_spec(), solver="mosek")
    with pytest.raises(ValueError, match="unknown field `tol_gap_absolut`"):
        cvxcnn.solve(_spec(), tol_gap_absolut=1e-9)
    with pytest.raises(ValueError, match="tol_gap is an option"):
        cvxcnn.solve(_spec(), tol_gap=1e-6)
    spec = _spec()
    spec["targets"] = np.zeros(len(spec["targets"]), dtype=np.int64)
    spec["task"] = "one_vs_rest"
    with pytest.raises(ValueError, match="at least two classes"):
        cvxcnn.solve(spec)


def test_auto_runs_the_al_on_large_problems_and_clarabel_on_small_ones():
    # digits.json: 200 samples, a problem the AL takes; signal_exact.json: 12 samples.
    auto = cvxcnn.solve(PROBLEMS / "digits.json", solver="auto")
    al = cvxcnn.solve(PROBLEMS / "digits.json", solver="al")
    assert auto["solver"]["name"] == "al"
    assert auto["objective"] == al["objective"]
    small = cvxcnn.solve(PROBLEMS / "signal_exact.json", solver="auto")
    assert small["solver"]["name"] == "clarabel"
    assert small["objective"] == cvxcnn.solve(PROBLEMS / "signal_exact.json")["objective"]
    with pytest.raises(ValueError, match="tol_gap is an option of one solver"):
        cvxcnn.solve(PROBLEMS / "digits.json", solver="auto", tol_gap=1e-8)


def test_a_solve_that_does_not_converge_raises_solver_error():
    with pytest.raises(cvxcnn.SolverError) as e:
        cvxcnn.solve(PROBLEMS / "channels_stride.json", max_iter=2)
    assert e.value.status == "max_iterations"
    assert e.value.result["status"] == "max_iterations"
    kept = cvxcnn.solve(PROBLEMS / "channels_stride.json", max_iter=2, allow_inexact=True)
    assert kept["status"] == "max_iterations"


def test_progress_callback_and_its_exception_stop_the_solve():
    calls = []
    cvxcnn.solve(PROBLEMS / "channels_stride.json", progress=lambda *a: calls.append(a))
    assert calls and all(isinstance(p, str) and d <= t for p, d, t in calls)

    class Stop(Exception):
        pass

    def stop(phase, done, total):
        raise Stop(phase)

    with pytest.raises(Stop):
        cvxcnn.solve(PROBLEMS / "channels_stride.json", progress=stop)
    # The library holds no state across calls: the next solve is as before.
    assert cvxcnn.solve(PROBLEMS / "signal_exact.json")["certificate"]["certified"]


def test_solves_run_in_threads_without_the_gil():
    results = [None] * 3

    def work(i):
        results[i] = cvxcnn.solve(PROBLEMS / "channels_stride.json")["objective"]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results[0] == results[1] == results[2] is not None


def test_predict_refuses_wrong_shapes():
    result = cvxcnn.solve(PROBLEMS / "signal_exact.json")
    x = load_problem_arrays("signal_exact.json")["inputs"]
    with pytest.raises(ValueError, match="per-sample shape"):
        cvxcnn.predict(result, np.concatenate([x, x], axis=2))
    with pytest.raises(ValueError, match="rank"):
        cvxcnn.predict(result, x[:, 0, :])


def test_ctrl_c_stops_a_solve_with_keyboard_interrupt(tmp_path):
    # In a child interpreter: SIGINT arrives during the solve (sent from the progress callback, as
    # a terminal's Ctrl-C would arrive), the solve stops at the next progress step with
    # KeyboardInterrupt, and the interpreter goes on to solve again.
    import subprocess
    import sys

    script = tmp_path / "interrupt.py"
    script.write_text(
        "import os, signal, cvxcnn\n"
        # A parent that ignores SIGINT (a CI job started in the background) passes SIG_IGN on,
        # and Python then installs no KeyboardInterrupt handler: restore the terminal's.
        "signal.signal(signal.SIGINT, signal.default_int_handler)\n"
        f"p = {str(PROBLEMS / 'channels_stride.json')!r}\n"
        "def ctrl_c(phase, done, total):\n"
        "    os.kill(os.getpid(), signal.SIGINT)\n"
        "try:\n"
        "    cvxcnn.solve(p, progress=ctrl_c)\n"
        "    print('not interrupted')\n"
        "except KeyboardInterrupt:\n"
        "    print('interrupted')\n"
        "print(cvxcnn.solve(p)['status'])\n"
    )
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["interrupted", "optimal"]


def test_path_equals_the_cli(cli, tmp_path):
    out = tmp_path / "p.json"
    cli("path", PROBLEMS / "channels_stride.json", "--betas", "0.2,0.1,0.05", "--quiet", "--out", out)
    expected = json.loads(out.read_text())
    got = cvxcnn.path(load_problem_arrays("channels_stride.json"), [0.2, 0.1, 0.05])
    assert strip_times(got) == strip_times(expected)
    assert [e["beta"] for e in got["entries"]] == [0.2, 0.1, 0.05]
    with pytest.raises(ValueError, match="listed once|twice|repeat"):
        cvxcnn.path(PROBLEMS / "channels_stride.json", [0.1, 0.1])
