//! Architectures: each builds its convex program in the IR and decodes a solution into a network.

pub mod circular;
pub mod linear;
pub mod three_layer;
pub mod two_layer;
