"""safetensors and ONNX exports against predict, and certify of a safetensors network."""

import json
import struct

import numpy as np
import pytest

import cvxcnn
from conftest import PROBLEMS, load_problem_arrays

safetensors_numpy = pytest.importorskip("safetensors.numpy")


@pytest.fixture(scope="module")
def solved():
    spec = load_problem_arrays("channels_stride.json")
    return spec, cvxcnn.solve(spec)


def torch_forward(t, layout, x):
    """The PyTorch module of docs/python.md, written in numpy: Conv1d → ReLU → pooling → Linear."""
    w = t["conv.weight"]  # [m, C, kl]
    (s,), (p,) = layout["stride"], layout["padding"]
    xp = np.pad(x, ((0, 0), (0, 0), (p, p)))
    k = w.shape[2]
    positions = range(0, xp.shape[2] - k + 1, s)
    z = np.stack([np.einsum("ncl,mcl->nm", xp[:, :, i : i + k], w) for i in positions], axis=2)
    if "conv.bias" in t:
        z = z + t["conv.bias"][None, :, None]
    a = np.maximum(z, 0)
    h = a.mean(axis=2) if layout["pooling"] == "average" else a.sum(axis=2)
    return h @ t["fc.weight"].T


def test_safetensors_layout_and_outputs(solved, tmp_path, cli):
    spec, result = solved
    path = tmp_path / "net.safetensors"
    cvxcnn.export_network(result, path)
    t = safetensors_numpy.load_file(str(path))
    m, c = result["neurons"], spec["inputs"].shape[1]
    assert sorted(t) == ["conv.weight", "fc.weight"]
    assert t["conv.weight"].shape == (m, c, 3) and t["fc.weight"].shape == (1, m)
    assert t["conv.weight"].dtype == np.float64
    assert np.array_equal(t["conv.weight"].reshape(m, -1), result["filters"])
    _, layout = cvxcnn.read_state_dict(path.read_bytes())
    f = torch_forward(t, layout, spec["inputs"])[:, 0]
    assert np.allclose(f, cvxcnn.predict(result, spec["inputs"]), rtol=1e-12, atol=1e-12)
    # The CLI writes the same bytes.
    out = tmp_path / "r.json"
    cli("solve", PROBLEMS / "channels_stride.json", "--quiet", "--out", out)
    cli("export-network", out, "--out", tmp_path / "cli.safetensors")
    assert (tmp_path / "cli.safetensors").read_bytes() == path.read_bytes()


def test_certify_of_a_safetensors_network_equals_certify_of_its_json(solved, tmp_path, cli):
    spec, result = solved
    # A "PyTorch-trained" network: the optimum perturbed, saved as float32 by safetensors.numpy.
    rng = np.random.default_rng(0)
    m = result["neurons"]
    w = (result["filters"] + 0.01 * rng.standard_normal(result["filters"].shape)).astype(np.float32)
    v = (result["output_weights"] * 0.9).astype(np.float32)
    path = tmp_path / "torch.safetensors"
    safetensors_numpy.save_file(
        {"conv.weight": w.reshape(m, spec["inputs"].shape[1], 3), "fc.weight": v.reshape(1, m)},
        str(path),
    )
    as_json = {"filters": w.astype(np.float64), "output_weights": v.astype(np.float64)}
    a = cvxcnn.certify(spec, network=path)
    b = cvxcnn.certify(spec, network=as_json)
    assert a == b
    net, opt = a["network"], a["optimum"]
    # The lower bound holds for the given network, whose objective is above the optimum.
    assert net["lower_bound"] <= net["primal_objective"]
    assert opt["primal_objective"] <= net["primal_objective"]
    assert net["gap"] > 1e-6
    # The CLI certifies the same file to the same numbers.
    out = tmp_path / "c.json"
    cli("certify", PROBLEMS / "channels_stride.json", "--network", path, "--quiet", "--out", out, check=False)
    cli_net = json.loads(out.read_text())["network"]
    assert cli_net["primal_objective"] == net["primal_objective"]
    assert cli_net["lower_bound"] == net["lower_bound"]


@pytest.mark.parametrize(
    "tensors, message",
    [
        ({"fc.weight": np.zeros((1, 2))}, 'missing tensor "conv.weight"'),
        ({"conv.weight": np.zeros((2, 2, 3)), "fc.weight": np.zeros((1, 2)), "extra": np.zeros(1)}, 'unexpected tensor "extra"'),
        ({"conv.weight": np.zeros((2, 2, 3)), "fc.weight": np.zeros((1, 2)), "conv.bias": np.zeros(2)}, 'unexpected tensor "conv.bias"'),
        ({"conv.weight": np.zeros((2, 3, 4)), "fc.weight": np.zeros((1, 2))}, "needs [m, 3, 3]"),
        ({"conv.weight": np.zeros((2, 3, 3)), "fc.weight": np.zeros((2, 2))}, "needs [1, 2]"),
        ({"conv.weight": np.zeros((2, 3, 3), dtype=np.float16), "fc.weight": np.zeros((1, 2))}, "dtype F16"),
    ],
)
def test_bad_safetensors_networks_are_refused(tmp_path, tensors, message, cli):
    path = tmp_path / "bad.safetensors"
    safetensors_numpy.save_file(tensors, str(path))
    with pytest.raises(ValueError) as e:
        cvxcnn.certify(load_problem_arrays("channels_stride.json"), network=path)
    assert message in str(e.value), str(e.value)
    r = cli("certify", PROBLEMS / "channels_stride.json", "--network", path, "--quiet", check=False)
    assert r.returncode == 1 and message in r.stderr and "panicked" not in r.stderr


def test_not_a_safetensors_file(tmp_path):
    path = tmp_path / "junk.safetensors"
    path.write_bytes(struct.pack("<Q", 1 << 40) + b"junk")
    with pytest.raises(ValueError, match="not a safetensors file"):
        cvxcnn.certify(load_problem_arrays("channels_stride.json"), network=path)


def test_circular_networks_are_refused_with_the_reason(tmp_path):
    result = cvxcnn.solve(PROBLEMS / "three_layer.json")
    with pytest.raises(ValueError, match="three-layer network has no fixed-width"):
        cvxcnn.export_network(result, tmp_path / "n.safetensors")


@pytest.mark.parametrize("name", ["channels_stride.json", "digits_local_average.json", "digits_max.json"])
def test_onnx_outputs_equal_predict(name, tmp_path):
    ort = pytest.importorskip("onnxruntime")
    spec = load_problem_arrays(name)
    result = cvxcnn.solve(spec, allow_inexact=True)
    model = cvxcnn.to_onnx(result, tmp_path / "m.onnx")
    x = spec["inputs"][:50]
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"), providers=["CPUExecutionProvider"])
    (out,) = sess.run(None, {"x": x.astype(np.float32)})
    want = cvxcnn.predict(result, x)
    scale = max(1.0, np.abs(want).max())
    assert np.abs(out - want).max() <= 1e-4 * scale, np.abs(out - want).max()
    assert model.graph.output[0].name == "output"
