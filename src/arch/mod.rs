//! Architectures: each builds its convex program in the IR and decodes a solution into a network.

pub mod linear;
pub mod two_layer;
