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
//!
//! ```
//! use cvxcnn::backend::Status;
//! use cvxcnn::pipeline::{solve, SolveOptions};
//! use cvxcnn::problem::Problem;
//!
//! // 12 one-dimensional signals, kernel 2: every one of the 2nK patterns (exact mode).
//! let problem = Problem::load("problems/signal_exact.json".as_ref())?;
//! let report = solve(&problem, &SolveOptions::default(), &|_, _, _| {})?;
//! assert_eq!(report.status, Status::Optimal);
//! // The decoded network, run forward on its own, attains the convex optimum …
//! assert!((report.network_objective - report.objective).abs() < 1e-6);
//! // … and no network of any width can do better: the certificate is global.
//! assert!(report.certificate.certified);
//! # Ok::<(), cvxcnn::error::Error>(())
//! ```

pub mod arch;
pub mod arrangement;
pub mod backend;
pub mod baseline;
pub mod certify;
pub mod compare;
pub mod data;
pub mod error;
pub mod export;
pub mod first_order;
pub mod geometry;
pub mod ir;
pub mod memory;
pub mod network;
pub mod patches;
pub mod pipeline;
pub mod predict;
pub mod problem;
pub mod reduce;
pub mod task;
