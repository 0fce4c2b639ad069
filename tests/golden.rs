//! Golden results: the JSON `cvxcnn solve` writes for every shipped problem, and a hash of every
//! file `cvxcnn export` writes, pinned so that a refactor is provably behaviour-preserving — the
//! same keys in the same order, the same values, byte-identical exports.
//!
//! Clock-dependent keys (`timings`, `total_s`) are masked. Numbers are compared to
//! `1e-6 · max(1, |golden|)`: far below any change of formula (the objectives differ between
//! architectures and variants in their second digit), far above the last-bit noise a reordered
//! sum could leave in an interior-point solution. Exports are hashed (FNV-1a, 64 bits) and must
//! match exactly.
//!
//! Regenerate after an intended change with `CVXCNN_UPDATE_GOLDEN=1 cargo test --release --test
//! golden -- --include-ignored`, and review the diff of `tests/golden/` before committing it.
//! The larger problems are `#[ignore]`d to keep the default suite fast; CI runs them all.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn updating() -> bool {
    std::env::var_os("CVXCNN_UPDATE_GOLDEN").is_some()
}

/// A JSON value with its object keys in the order they were written.
#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Number(f64),
    String(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

/// A small JSON reader that keeps key order (serde_json's map sorts keys unless a feature is
/// enabled, which would also change the binary under test).
struct Reader<'a> {
    s: &'a [u8],
    i: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) {
        self.ws();
        assert_eq!(
            self.s[self.i], c,
            "expected {:?} at byte {}",
            c as char, self.i
        );
        self.i += 1;
    }

    fn string(&mut self) -> String {
        self.eat(b'"');
        let start = self.i;
        while self.s[self.i] != b'"' {
            self.i += if self.s[self.i] == b'\\' { 2 } else { 1 };
        }
        let raw = std::str::from_utf8(&self.s[start..self.i]).unwrap();
        self.i += 1;
        serde_json::from_str(&format!("\"{raw}\"")).unwrap()
    }

    fn value(&mut self) -> Json {
        self.ws();
        match self.s[self.i] {
            b'{' => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.s[self.i] == b'}' {
                    self.i += 1;
                    return Json::Object(fields);
                }
                loop {
                    let k = self.string();
                    self.eat(b':');
                    fields.push((k, self.value()));
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b'}' {
                        return Json::Object(fields);
                    }
                }
            }
            b'[' => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s[self.i] == b']' {
                    self.i += 1;
                    return Json::Array(items);
                }
                loop {
                    items.push(self.value());
                    self.ws();
                    self.i += 1;
                    if self.s[self.i - 1] == b']' {
                        return Json::Array(items);
                    }
                }
            }
            b'"' => Json::String(self.string()),
            b't' => {
                self.i += 4;
                Json::Bool(true)
            }
            b'f' => {
                self.i += 5;
                Json::Bool(false)
            }
            b'n' => {
                self.i += 4;
                Json::Null
            }
            _ => {
                let start = self.i;
                while self.i < self.s.len() && b"+-.0123456789eE".contains(&self.s[self.i]) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                Json::Number(text.parse().unwrap())
            }
        }
    }
}

fn parse(text: &str) -> Json {
    Reader {
        s: text.as_bytes(),
        i: 0,
    }
    .value()
}

/// Clock-dependent values replaced by null.
fn mask(v: Json) -> Json {
    match v {
        Json::Object(fields) => Json::Object(
            fields
                .into_iter()
                .map(|(k, v)| {
                    let v = if k == "timings" || k == "total_s" {
                        Json::Null
                    } else {
                        mask(v)
                    };
                    (k, v)
                })
                .collect(),
        ),
        Json::Array(items) => Json::Array(items.into_iter().map(mask).collect()),
        other => other,
    }
}

/// Every difference between `got` and `want` at `path`: a key out of place, a type, a string, or a
/// number beyond the tolerance.
fn compare(got: &Json, want: &Json, path: &str, out: &mut Vec<String>) {
    match (got, want) {
        (Json::Object(g), Json::Object(w)) => {
            let gk: Vec<&str> = g.iter().map(|(k, _)| k.as_str()).collect();
            let wk: Vec<&str> = w.iter().map(|(k, _)| k.as_str()).collect();
            if gk != wk {
                out.push(format!("{path}: keys {gk:?}, golden {wk:?}"));
                return;
            }
            for ((k, gv), (_, wv)) in g.iter().zip(w) {
                compare(gv, wv, &format!("{path}.{k}"), out);
            }
        }
        (Json::Array(g), Json::Array(w)) => {
            if g.len() != w.len() {
                out.push(format!("{path}: {} items, golden {}", g.len(), w.len()));
                return;
            }
            for (i, (gv, wv)) in g.iter().zip(w).enumerate() {
                compare(gv, wv, &format!("{path}[{i}]"), out);
            }
        }
        (Json::Number(g), Json::Number(w)) => {
            if (g - w).abs() > 1e-6 * w.abs().max(1.0) {
                out.push(format!("{path}: {g:e}, golden {w:e}"));
            }
        }
        (g, w) if g == w => {}
        (g, w) => out.push(format!("{path}: {g:?}, golden {w:?}")),
    }
}

fn run(args: &[&str]) -> Vec<u8> {
    let o = Command::new(env!("CARGO_BIN_EXE_cvxcnn"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run cvxcnn");
    assert!(
        o.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    o.stdout
}

/// Solves `problems/{name}.json` and compares the result with `tests/golden/results/{name}.json`.
fn check_result(name: &str) {
    let problem = format!("problems/{name}.json");
    let text = String::from_utf8(run(&["solve", &problem, "--quiet"])).unwrap();
    // Kept for the independent certificate checker (bench/verify_shipped.py --results), so CI
    // re-checks this binary's certificates without solving every problem twice.
    let kept = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("golden-results");
    std::fs::create_dir_all(&kept).unwrap();
    std::fs::write(kept.join(format!("{name}.json")), &text).unwrap();
    let file = root().join(format!("tests/golden/results/{name}.json"));
    if updating() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, &text).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}; generate it (module docs)", file.display()));
    let mut diffs = Vec::new();
    compare(&mask(parse(&text)), &mask(parse(&want)), name, &mut diffs);
    assert!(
        diffs.is_empty(),
        "{name}: the result differs from its golden file in {} places:\n{}",
        diffs.len(),
        diffs
            .iter()
            .take(20)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
}

/// FNV-1a, 64 bits: enough to tell two exports apart, and stable across Rust versions.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Exports `problems/{name}.json` in `format` and compares its hash with the golden list.
fn check_export(name: &str, format: &str) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("x.{format}"));
    let problem = format!("problems/{name}.json");
    run(&[
        "export",
        &problem,
        "--format",
        format,
        "--out",
        out.to_str().unwrap(),
        "--quiet",
    ]);
    let bytes = std::fs::read(&out).unwrap();
    let line = format!("{name} {format} {} {:016x}", bytes.len(), fnv1a(&bytes));
    let file = root().join(format!("tests/golden/exports/{name}.{format}.txt"));
    if updating() {
        std::fs::create_dir_all(file.parent().unwrap()).unwrap();
        std::fs::write(&file, format!("{line}\n")).unwrap();
        return;
    }
    let want = std::fs::read_to_string(&file)
        .unwrap_or_else(|e| panic!("{}: {e}; generate it (module docs)", file.display()));
    assert_eq!(line, want.trim(), "{name}: the {format} export changed");
}

macro_rules! golden {
    ($($(#[$attr:meta])* $test:ident: $name:literal $(, $format:literal)*;)*) => {$(
        #[test]
        $(#[$attr])*
        fn $test() {
            check_result($name);
            $(check_export($name, $format);)*
        }
    )*};
}

golden! {
    signal_exact: "signal_exact", "cbf", "clarabel-json";
    exact3_channels: "exact3_channels", "cbf";
    channels_stride: "channels_stride", "cbf";
    circular: "circular", "cbf";
    circular_bias: "circular_bias", "cbf";
    circular_exact: "circular_exact", "cbf";
    three_layer: "three_layer", "cbf";
    digits_linear: "digits_linear", "cbf";
    digits: "digits", "cbf", "clarabel-json";
    #[ignore = "5 s; CI runs it"]
    digits_l1: "digits_l1", "cbf", "mps";
    #[ignore = "5 s; CI runs it"]
    digits_local_average: "digits_local_average", "cbf";
    #[ignore = "13 s; CI runs it"]
    digits_max: "digits_max", "cbf";
    #[ignore = "12 s; CI runs it"]
    digits_stride_padding: "digits_stride_padding", "cbf";
    #[ignore = "15 s; CI runs it"]
    digits_bias: "digits_bias", "cbf";
    #[ignore = "34 s; CI runs it"]
    digits_all: "digits_all", "cbf";
    #[ignore = "38 s; CI runs it"]
    digits_circular: "digits_circular", "cbf";
    #[ignore = "51 s; CI runs it"]
    digits_three_layer: "digits_three_layer", "cbf";
    #[ignore = "75 s; CI runs it"]
    digits_ovr: "digits_ovr";
    #[ignore = "8 s; CI runs it"]
    digits_logistic: "digits_logistic", "cbf";
    #[ignore = "9 s; CI runs it"]
    digits_hinge: "digits_hinge", "cbf";
}

/// Every shipped problem has its golden test: a problem added to `problems/` without one fails here.
#[test]
fn every_shipped_problem_is_pinned() {
    let src = std::fs::read_to_string(root().join("tests/golden.rs")).unwrap();
    for entry in std::fs::read_dir(root().join("problems")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        if let Some(stem) = name.strip_suffix(".json") {
            assert!(
                src.contains(&format!("\"{stem}\"")),
                "problems/{name} has no golden test"
            );
        }
    }
}

/// The comparison catches what it is for: a changed number, a moved key, a dropped key.
#[test]
fn the_comparison_catches_changes() {
    let want = parse(r#"{"a": 1.0, "b": {"c": [1, 2], "d": "x"}, "timings": {"s": 3}}"#);
    let same = parse(r#"{"a": 1.0000000001, "b": {"c": [1, 2], "d": "x"}, "timings": {"s": 9}}"#);
    let mut d = Vec::new();
    compare(&mask(same), &mask(want.clone()), "", &mut d);
    assert!(d.is_empty(), "{d:?}");
    for changed in [
        r#"{"a": 1.001, "b": {"c": [1, 2], "d": "x"}, "timings": {}}"#,
        r#"{"b": {"c": [1, 2], "d": "x"}, "a": 1.0, "timings": {}}"#,
        r#"{"a": 1.0, "b": {"c": [1], "d": "x"}, "timings": {}}"#,
        r#"{"a": 1.0, "b": {"c": [1, 2]}, "timings": {}}"#,
        r#"{"a": 1.0, "b": {"c": [1, 2], "d": "y"}, "timings": {}}"#,
    ] {
        let mut d = Vec::new();
        compare(&mask(parse(changed)), &mask(want.clone()), "", &mut d);
        assert!(!d.is_empty(), "not caught: {changed}");
    }
}
