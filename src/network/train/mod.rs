//! Training apart from evaluation: gradients, seeded random initialisation and (projected)
//! gradient descent for the three networks, as further `impl` blocks of their types. Used to train
//! the nonconvex comparison networks the convex optimum is checked against.

mod circular;
mod three_layer;
pub(super) mod two_layer;

/// Maximum number of step halvings per gradient-descent iteration before giving up.
const MAX_BACKTRACKS: usize = 60;
