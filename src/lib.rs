//! cvxcnn: train small ReLU convolutional networks to certified global optimality.
//!
//! A two-layer ReLU CNN with weight decay is trained by solving the equivalent convex program over the
//! sign patterns its filters can produce on the data (Ergen & Pilanci, ICLR 2021; `docs/math.md`):
//!
//! ```text
//! data → patches → arrangements → architecture builds a conic program → reduction
//!      → backend solves → decode → network → report
//! ```
//!
//! The modules form layers, and a module imports only from its own layer or those below
//! (`tests/layers.rs` enforces this table, and that nothing imports in a cycle):
//!
//! | layer | modules | what they hold |
//! |---|---|---|
//! | 0 | `error`, `clock`, `linalg`, `geometry`, `loss`, `ir`, `data`, `patches`, `evidence` | errors, small numerics, convolution geometry, the training losses, the conic IR, `.npy` data, patch matrices, the certificate's evidence record |
//! | 1 | `problem`, `network` | validated problems; the independent forward passes of every architecture (and their training) |
//! | 2 | `arrangement`, `backend` | sign patterns and their cone rows; Clarabel and OSQP |
//! | 3 | `export`, `reduce`, `certify` | CBF/MPS/Clarabel files; exact cone-row reduction; dual certificates |
//! | 4 | `arch` | every architecture's formulation behind one trait, and the one solve driver |
//! | 5 | `first_order`, `baseline`, `generate`, `global` | ADMM, polish, FISTA, working set, β paths; the SGD/Adam baseline; pattern generation by pricing; the global certificate by branch and bound |
//! | 6 | `pipeline`, `predict`, `task`, `compare` | the front door, predictions from result files, one-vs-rest, solver comparisons |
//!
//! The command line (`src/main.rs`, `src/cli/`) sits on top and uses the library as any user would.
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
pub mod clock;
pub mod compare;
pub mod data;
pub mod error;
pub mod evidence;
pub mod export;
pub mod first_order;
pub mod generate;
pub mod geometry;
pub mod global;
pub mod ir;
pub mod linalg;
pub mod loss;
pub mod network;
pub mod patches;
pub mod pipeline;
pub mod predict;
pub mod problem;
pub mod reduce;
pub mod task;
