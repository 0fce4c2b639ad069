//! The MPS exporter and reader: a small standard set with known optima (Clarabel directly, after
//! write → parse, and — when `highspy` is installed — HiGHS on the written file), the refusal of
//! cones, a golden file, and fuzzing of the reader.

mod common;

use cvxcnn::backend::Status;
use cvxcnn::backend::clarabel::{ClarabelSettings, solve};
use cvxcnn::export::mps::{self, WriteError};
use cvxcnn::ir::{ConeKind, ConicProgram};
use proptest::prelude::*;
use std::path::PathBuf;
use std::process::Command;

/// Bounds in the file: `min −2x − y + z + 2w + w² − 1` with `x + y ≤ 3`, `x ≤ 2` (and the default
/// `x ≥ 0`), `y ≥ 0.5`, `z = 1.5`, `w ≥ 0` by default. `x = 2, y = 1, z = 1.5, w = 0`, and the
/// objective row's RHS 1 is the constant −1: optimum `−4 − 1 + 1.5 + 0 − 1 = −4.5`.
const BOUNDS_FILE: &str = "\
NAME bounds
ROWS
 N obj
 L cap
COLUMNS
 x obj -2 cap 1
 y obj -1 cap 1
 z obj 1
 w obj 2
RHS
 RHS obj 1
 RHS cap 3
BOUNDS
 UP BND x 2
 LO BND y 0.5
 FX BND z 1.5
QUADOBJ
 w w 2
ENDATA
";

fn standard_set() -> Vec<(&'static str, ConicProgram, f64)> {
    let mut set: Vec<(&'static str, ConicProgram, f64)> = common::problems()
        .into_iter()
        .filter(|s| !s.conic)
        .map(|s| (s.name, s.program, s.optimum))
        .collect();
    set.push((
        "bounds",
        mps::parse(BOUNDS_FILE).expect("bounds file"),
        -4.5,
    ));
    set
}

fn optimum(p: &ConicProgram) -> f64 {
    let s = solve(p, &ClarabelSettings::default()).expect("solve");
    assert_eq!(s.status, Status::Optimal);
    s.primal_objective
}

fn golden_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/golden/mps_tiny.mps")
}

fn golden() -> String {
    std::fs::read_to_string(golden_path()).expect("tests/golden/mps_tiny.mps")
}

#[test]
fn standard_set_known_optima_directly_and_after_round_trip() {
    for (name, p, known) in standard_set() {
        let direct = optimum(&p);
        assert!(
            (direct - known).abs() < 1e-7,
            "{name}: direct {direct} vs {known}"
        );
        let text = mps::write(&p).expect("write");
        let back = mps::parse(&text).expect("parse");
        let round = optimum(&back);
        assert!(
            (round - known).abs() < 1e-7,
            "{name}: round trip {round} vs {known}"
        );
        // Writing what was read gives the same bytes.
        assert_eq!(mps::write(&back).unwrap(), text, "{name}");
    }
}

#[test]
fn cone_block_is_refused_by_name() {
    let mut p = common::qp_equality_sum_program();
    p.add_rows("norm_c[0]", ConeKind::SecondOrder, 3);
    let e = mps::write(&p).unwrap_err();
    assert!(matches!(&e, WriteError::Cone { block, .. } if block == "norm_c[0]"));
    let msg = e.to_string();
    assert!(
        msg.contains("norm_c[0]") && msg.contains("second-order"),
        "{msg}"
    );
    assert!(msg.contains("--format cbf"), "{msg}");
}

#[test]
fn golden_tiny_is_byte_identical_and_deterministic() {
    let text = mps::write(&common::golden_mps_program()).unwrap();
    if std::env::var_os("CVXCNN_BLESS").is_some() {
        std::fs::write(golden_path(), &text).unwrap();
    }
    assert_eq!(
        text,
        golden(),
        "rerun with CVXCNN_BLESS=1 to regenerate (then check by eye)"
    );
    assert_eq!(mps::write(&common::golden_mps_program()).unwrap(), text);
    let back = mps::parse(&text).unwrap();
    assert!((optimum(&back) - 0.625).abs() < 1e-7);
}

/// HiGHS (through `highspy`, when installed) agrees on every optimum of the written files, which
/// checks the objective-constant sign (`offset = −RHS(obj)`) and the `½xᵀQx` scaling of QUADOBJ
/// against an independent reader. HiGHS picks its reader by extension, so the files are `*.mps`.
#[test]
fn highs_agrees_when_available() {
    let has_highs = Command::new("python3")
        .args(["-c", "import highspy"])
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_highs {
        eprintln!("highspy not installed: skipping the HiGHS cross-check");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let set = standard_set();
    let mut paths = Vec::new();
    for (name, p, _) in &set {
        let path = dir.path().join(format!("{name}.mps"));
        std::fs::write(&path, mps::write(p).unwrap()).unwrap();
        paths.push(path);
    }
    let script = "\
import sys, highspy
for path in sys.argv[1:]:
    h = highspy.Highs()
    h.setOptionValue('output_flag', False)
    assert h.readModel(path) == highspy.HighsStatus.kOk, path
    h.run()
    assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal, (path, h.getModelStatus())
    print(repr(h.getInfo().objective_function_value))
";
    let out = Command::new("python3")
        .arg("-c")
        .arg(script)
        .args(&paths)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // HiGHS prints a banner on stdout; the values are the last lines.
    let values: Vec<f64> = stdout
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    assert_eq!(values.len(), set.len(), "{stdout}");
    for ((name, _, known), v) in set.iter().zip(values) {
        assert!((v - known).abs() < 1e-6, "{name}: HiGHS {v} vs {known}");
    }
}

const POOL: &[&str] = &[
    "", "x0", "x1", "r0", "r1", "obj", "RHS", "BND", "0", "-1", "1e308", "1e999", "-0", "nan",
    "inf", "1.5.2", "'MARKER'", "'INTORG'", "N", "E", "L", "G", "FR", "UP", "MI", "BV", "ROWS",
    "COLUMNS", "RHS", "RANGES", "BOUNDS", "QUADOBJ", "QMATRIX", "QSECTION", "OBJSENSE", "MAX",
    "ENDATA", "*", "\t", "é",
];

/// Applies `(op, a, b, pick)` edits to the lines of `text`.
fn mutate(text: &str, ops: &[(u8, usize, usize, usize)]) -> String {
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    for &(op, a, b, pick) in ops {
        let tok = POOL[pick % POOL.len()];
        if lines.is_empty() {
            lines.push(tok.into());
            continue;
        }
        let (i, j) = (a % lines.len(), b % lines.len());
        match op % 6 {
            0 => {
                lines.remove(i);
            }
            1 => {
                let l = lines[i].clone();
                lines.insert(i, l);
            }
            2 => lines.swap(i, j),
            3 => {
                // Replace one whitespace-separated token, keeping the line's indentation.
                let indent = lines[i].starts_with(char::is_whitespace);
                let mut toks: Vec<&str> = lines[i].split_whitespace().collect();
                if !toks.is_empty() {
                    let k = j % toks.len();
                    toks[k] = tok;
                }
                let joined = toks.join(" ");
                lines[i] = if indent { format!(" {joined}") } else { joined };
            }
            4 => lines.truncate(i),
            _ => {
                let l = if b % 2 == 0 {
                    format!(" {tok}")
                } else {
                    tok.into()
                };
                lines.insert(i, l);
            }
        }
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out
}

/// Whatever parses is a valid program the writer takes, and writing is then a fixed point.
fn parse_is_total(text: &str) {
    if let Ok(p) = mps::parse(text) {
        assert!(p.check().is_ok());
        let written = mps::write(&p).expect("a parsed program is writable");
        let again = mps::parse(&written).expect("written text parses");
        assert_eq!(mps::write(&again).unwrap(), written);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn parse_never_panics_on_random_bytes(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        parse_is_total(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn parse_never_panics_on_mutated_golden(
        ops in prop::collection::vec((any::<u8>(), any::<usize>(), any::<usize>(), any::<usize>()), 1..6)
    ) {
        parse_is_total(&mutate(&golden(), &ops));
    }
}
