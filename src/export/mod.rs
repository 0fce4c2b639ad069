//! Exporters and readers of standard problem files. Writers are pure functions of the
//! [`ConicProgram`](crate::ir::ConicProgram); readers produce one. Byte-identical output for the same
//! program.

pub mod cbf;
pub mod clarabel_json;
pub mod mps;
