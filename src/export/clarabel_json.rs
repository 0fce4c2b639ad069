//! Clarabel's own serialized problem: the JSON that Rust's `SolverJSONReadWrite::save_to_file`
//! writes and Python's `clarabel.load_from_file` reads (`{"P", "q", "A", "b", "cones", "settings"}`).
//!
//! Written here from the IR directly rather than through `save_to_file`, which undoes Clarabel's
//! equilibration in floating point: this way the file holds exactly the program's numbers and is
//! byte-identical across runs. The format has no objective constant, so a nonzero constant is carried
//! by one extra variable fixed to 1 by a zero-cone row, with the constant as its cost: the file's
//! optimal value equals the program's.

use crate::backend::clarabel::{ClarabelSettings, clarabel_settings, lower};
use crate::ir::{ConeKind, ConicProgram};
use clarabel::algebra::CscMatrix;
use clarabel::solver::{DefaultSettings, SupportedConeT};
use serde::Serialize;

#[derive(Serialize)]
#[allow(non_snake_case)]
struct JsonProblemData<'a> {
    P: &'a CscMatrix<f64>,
    q: &'a [f64],
    A: &'a CscMatrix<f64>,
    b: &'a [f64],
    cones: &'a [SupportedConeT<f64>],
    settings: DefaultSettings<f64>,
}

/// The program with its objective constant moved into a variable fixed to 1.
fn without_constant(program: &ConicProgram) -> ConicProgram {
    let mut p = program.clone();
    if p.constant != 0.0 {
        let one = p.add_vars("one", 1);
        p.q[one] = p.constant;
        p.constant = 0.0;
        // Clarabel needs its zero rows anywhere; put the new one last.
        let r = p.add_rows("fix_one", ConeKind::Zero, 1);
        p.b[r] = 1.0;
        p.push(r, one, 1.0);
    }
    p
}

/// Clarabel's JSON for `program` with `settings` (deterministic bytes).
pub fn write(program: &ConicProgram, settings: &ClarabelSettings) -> String {
    let p = without_constant(program);
    let l = lower(&p);
    let mut s = clarabel_settings(settings);
    // As Clarabel's own writer does: JSON has no infinity.
    if s.time_limit == f64::INFINITY {
        s.time_limit = f64::MAX;
    }
    let data = JsonProblemData {
        P: &l.p,
        q: &l.q,
        A: &l.a,
        b: &l.b,
        cones: &l.cones,
        settings: s,
    };
    // Serializing plain numbers and vectors cannot fail.
    serde_json::to_string(&data).expect("Clarabel's problem data serializes")
}
