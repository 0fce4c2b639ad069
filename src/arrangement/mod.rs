//! Sign patterns `D_i` of the hyperplane arrangement of the stacked patches (formulations.md §1).
pub mod exact;
