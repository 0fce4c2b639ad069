//! Irredundant generators of a polyhedral cone, and nonnegative least squares.
//!
//! For one sign pattern the convex program constrains c ∈ ℝʰ to the polyhedral cone
//! P = {c : B c ≥ 0}, where B (m × h) has thousands of rows b_k but h is small. By Farkas' lemma
//! the dual cone of P is K = cone{b_k} = {Bᵀα : α ≥ 0}, and a row b_k can be dropped without
//! changing P exactly when b_k ∈ cone{b_j : j ≠ k}. A subset S of the rows with cone(B_S) = K
//! therefore satisfies {c : B_S c ≥ 0} = P, and the smallest such S consists of one row per
//! extreme ray of K (when K is pointed; when K contains a line, see [`irredundant_rows`]).
//!
//! The same NNLS gives the support function used for certificates:
//! max{v·u : ‖u‖₂ ≤ 1, B u ≥ 0} = min_{α ≥ 0} ‖v + Bᵀα‖₂, the distance from v to the polar cone
//! −K, i.e. `nnls(B, −v).norm`.
//!
//! The reduction itself (Clarkson's extreme-ray search) is implemented in the private `extreme`
//! module of [`crate::reduce`], the NNLS in [`crate::linalg`]; this module is their public face.

pub use super::extreme::irredundant_rows;
pub use crate::linalg::{Nnls, nnls};
