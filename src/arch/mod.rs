//! Architectures: each one's convex formulation behind one trait, run by one driver.
//!
//! | module | what it holds |
//! |---|---|
//! | [`formulation`] | the contract: [`formulation::Formulation`] and the label-independent [`formulation::Prepared`] data |
//! | [`driver`] | the one solve skeleton: rounds of full-row checks, decode tolerance, certificate, report |
//! | [`dispatch`] | the one place a problem's architecture picks its formulation |
//! | [`options`], [`report`] | what a solve is asked, what it answers |
//! | [`two_layer`], [`linear`], [`circular`], [`three_layer`] | the formulations (docs/math.md §2–§9) |

pub mod circular;
pub mod dispatch;
pub mod driver;
pub mod formulation;
pub mod linear;
pub mod options;
pub mod report;
pub mod three_layer;
pub mod two_layer;
