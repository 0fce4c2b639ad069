//! Exact constraint reduction (formulations.md §7).
pub mod cone;
