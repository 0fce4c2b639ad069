//! `cvxcnn export-network` and `certify --network NET.safetensors` on the real binary: the file
//! holds the result's weights exactly, certifies to the same numbers as the JSON layout, is the
//! same bytes every time, and bad files are refused naming the tensor.

use std::path::PathBuf;
use std::process::{Command, Output};

fn run(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("run cvxcnn")
}

fn ok(args: &[&str]) {
    let o = run(args);
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn read_json(p: &PathBuf) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
}

#[test]
fn safetensors_network_certifies_as_its_json() {
    let dir = tempfile::tempdir().unwrap();
    let p = |n: &str| dir.path().join(n);
    let s = |b: &PathBuf| b.display().to_string();
    let (result, net, net2) = (p("r.json"), p("n.safetensors"), p("n2.safetensors"));
    ok(&[
        "solve",
        "problems/channels_stride.json",
        "--quiet",
        "--out",
        &s(&result),
    ]);
    ok(&["export-network", &s(&result), "--out", &s(&net)]);
    ok(&[
        "export-network",
        &s(&result),
        "--format",
        "safetensors",
        "--out",
        &s(&net2),
    ]);
    assert_eq!(std::fs::read(&net).unwrap(), std::fs::read(&net2).unwrap());
    let r = read_json(&result);
    let weights = serde_json::json!({
        "filters": r["filters"], "output_weights": r["output_weights"], "biases": r["biases"],
    });
    std::fs::write(p("n.json"), weights.to_string()).unwrap();
    ok(&[
        "certify",
        "problems/channels_stride.json",
        "--network",
        &s(&p("n.json")),
        "--quiet",
        "--out",
        &s(&p("a.json")),
    ]);
    ok(&[
        "certify",
        "problems/channels_stride.json",
        "--network",
        &s(&net),
        "--quiet",
        "--out",
        &s(&p("b.json")),
    ]);
    let (a, b) = (read_json(&p("a.json")), read_json(&p("b.json")));
    assert_eq!(a, b);
    // The decoded network is the optimum: its certificate closes.
    assert_eq!(b["network"]["certified"], true);
    // Another problem's convolution refuses the file before solving, naming the tensor.
    let o = run(&[
        "certify",
        "problems/digits_bias.json",
        "--network",
        &s(&net),
        "--quiet",
    ]);
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1));
    assert!(err.contains("tensor \"conv.weight\" has shape"), "{err}");
    // Three-layer results have no such layout.
    ok(&[
        "solve",
        "problems/three_layer.json",
        "--quiet",
        "--out",
        &s(&p("t.json")),
    ]);
    let o = run(&[
        "export-network",
        &s(&p("t.json")),
        "--out",
        &s(&p("t.safetensors")),
    ]);
    assert_eq!(o.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&o.stderr).contains("three-layer network has no fixed-width"));
    assert!(!p("t.safetensors").exists());
}
