"""Decoded networks as ONNX models (built with the ``onnx`` package's helpers)."""

from __future__ import annotations

import json
import os
import struct
from typing import Any, Mapping, Union

import numpy as np

from . import _cvxcnn
from ._core import _result_json, _write_atomic

__all__ = ["to_onnx", "read_state_dict"]

#: The ONNX opset the models use.
OPSET = 13


def read_state_dict(data: bytes) -> "tuple[dict[str, np.ndarray], dict]":
    """The tensors and the ``cvxcnn`` layout of a safetensors file in the layout of
    :func:`cvxcnn.export_network` (read with numpy alone)."""
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    meta = header.pop("__metadata__", {}) or {}
    body = data[8 + n :]
    dtypes = {"F64": "<f8", "F32": "<f4"}
    tensors = {}
    for name, info in header.items():
        start, end = info["data_offsets"]
        arr = np.frombuffer(body[start:end], dtype=dtypes[info["dtype"]])
        tensors[name] = arr.reshape(info["shape"]).astype(np.float64)
    layout = json.loads(meta["cvxcnn"]) if "cvxcnn" in meta else {}
    return tensors, layout


def to_onnx(
    result: Union[Mapping[str, Any], str, "os.PathLike[str]"],
    path: Union[str, "os.PathLike[str]", None] = None,
) -> Any:
    """The decoded two-layer network of a result as an ONNX model.

    The model takes ``x``, float32 ``[n, C, L]`` or ``[n, C, H, W]``, and computes
    Conv → ReLU (none for a linear activation) → the pooling → MatMul, as the PyTorch module of
    docs/python.md. A scalar result has one output ``output`` ``[n]``; a one-vs-rest result has
    ``scores`` ``[n, k]`` (one column per class, ascending labels) and ``label`` ``[n]`` (int64,
    the class with the largest score). Outputs equal :func:`cvxcnn.predict`'s to float32
    accuracy.

    Parameters
    ----------
    result : dict or path
        A result from :func:`cvxcnn.solve` (or a result file, or its ``json.load``).
    path : path, optional
        Also save the model there.

    Returns
    -------
    onnx.ModelProto
    """
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    tensors, layout = read_state_dict(_cvxcnn.export_network(_result_json(result)))
    conv = tensors["conv.weight"]
    fc = tensors["fc.weight"]
    bias = tensors.get("conv.bias")
    if conv.shape[0] == 0:
        # The zero network: one zero filter with a zero output weight computes the same zeros.
        conv = np.zeros((1,) + conv.shape[1:])
        fc = np.zeros((fc.shape[0], 1))
        bias = None if bias is None else np.zeros(1)
    spatial = conv.ndim - 2
    shape = list(layout["input_shape"])
    f32 = lambda a, name: numpy_helper.from_array(np.asarray(a, dtype=np.float32), name)  # noqa: E731
    inits = [f32(conv, "conv.weight"), f32(fc.T, "fc.weight_t")]
    conv_inputs = ["x", "conv.weight"]
    if bias is not None:
        inits.append(f32(bias, "conv.bias"))
        conv_inputs.append("conv.bias")
    pads = list(layout["padding"]) * 2
    nodes = [
        helper.make_node(
            "Conv",
            conv_inputs,
            ["z"],
            kernel_shape=list(conv.shape[2:]),
            strides=list(layout["stride"]),
            pads=pads,
        )
    ]
    act = "z"
    if layout.get("activation", "relu") == "relu":
        nodes.append(helper.make_node("Relu", ["z"], ["a"]))
        act = "a"
    axes = numpy_helper.from_array(np.arange(2, 2 + spatial, dtype=np.int64), "spatial_axes")
    inits.append(axes)
    pooling = layout["pooling"]
    if pooling == "sum":
        nodes.append(helper.make_node("ReduceSum", [act, "spatial_axes"], ["h"], keepdims=0))
    elif pooling == "average":
        nodes.append(helper.make_node("ReduceMean", [act], ["h"], axes=list(range(2, 2 + spatial)), keepdims=0))
    elif pooling == "max":
        nodes.append(helper.make_node("ReduceMax", [act], ["h"], axes=list(range(2, 2 + spatial)), keepdims=0))
    elif pooling == "local_average":
        size = list(layout["pool_size"])
        nodes.append(helper.make_node("AveragePool", [act], ["p"], kernel_shape=size, strides=size))
        nodes.append(helper.make_node("ReduceSum", ["p", "spatial_axes"], ["h"], keepdims=0))
    else:
        raise ValueError(f"pooling {pooling!r} has no ONNX form here")
    nodes.append(helper.make_node("MatMul", ["h", "fc.weight_t"], ["scores"]))
    k = fc.shape[0]
    x_info = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n"] + shape)
    if "classes" in layout:
        inits.append(numpy_helper.from_array(np.asarray(layout["classes"], dtype=np.int64), "classes"))
        nodes.append(helper.make_node("ArgMax", ["scores"], ["best"], axis=1, keepdims=0))
        nodes.append(helper.make_node("Gather", ["classes", "best"], ["label"], axis=0))
        outputs = [
            helper.make_tensor_value_info("scores", TensorProto.FLOAT, ["n", k]),
            helper.make_tensor_value_info("label", TensorProto.INT64, ["n"]),
        ]
    else:
        inits.append(numpy_helper.from_array(np.asarray([-1], dtype=np.int64), "flat"))
        nodes.append(helper.make_node("Reshape", ["scores", "flat"], ["output"]))
        outputs = [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["n"])]
    graph = helper.make_graph(nodes, "cvxcnn", [x_info], outputs, initializer=inits)
    model = helper.make_model(
        graph, producer_name="cvxcnn", opset_imports=[helper.make_opsetid("", OPSET)]
    )
    model.ir_version = min(model.ir_version, 8)
    onnx.checker.check_model(model)
    if path is not None:
        _write_atomic(path, model.SerializeToString())
    return model
