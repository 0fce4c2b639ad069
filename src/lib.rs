//! cvxcnn: train small ReLU convolutional networks to certified global optimality.
//!
//! A two-layer ReLU CNN with weight decay is trained by solving the equivalent convex program over the
//! sign patterns its filters can produce on the data (Ergen & Pilanci, ICLR 2021; `formulations.md`):
//!
//! ```text
//! data → patches → arrangements → architecture builds a conic program → reduction
//!      → backend solves → decode → network → report
//! ```
//! Each arrow is one module, and nothing reaches backwards.

pub mod arch;
pub mod arrangement;
pub mod backend;
pub mod certify;
pub mod data;
pub mod error;
pub mod geometry;
pub mod ir;
pub mod network;
pub mod patches;
pub mod pipeline;
pub mod problem;
pub mod reduce;
