//! resc — a compiler for `.resnet` files.
//!
//! The pipeline runs in one direction, each phase in its own module:
//! `source`/`diag` → [`syntax`] (pest grammar → AST) → [`elab`] (AST → IR) → [`ir`]
//! → [`check`] (shapes, costs) → `lower` (IR → Burn module and its executor, weights;
//! feature `cpu`) → [`passes`] (the one pass manager: graph passes on the IR before
//! lowering, weight passes on the lowered net) → `train` (the run loop) → [`cli`].
//! Graph passes use only `ir` and `check` (the front end has them without Burn); weight
//! passes use `lower`, which never uses `passes`.
//! [`driver`] runs the front end on files; [`fmt`] and [`lsp`] work on the syntax tree and
//! the front end's results; [`data`] reads datasets. A module uses only what is to its
//! left. Every problem, at compile time or at run time, is a [`diag::Diagnostic`] and only
//! [`diag::render`] formats one; what reaches the terminal is the CLI's, and the training
//! loop's progress lines (`train`).

// Errors are `Diagnostic`s (code, message, labels, notes, hints, trace): larger than
// clippy's 128-byte limit for `Err` values, and only ever built on the cold path.
#![allow(clippy::result_large_err)]

pub mod check;
pub mod cli;
pub mod data;
pub mod diag;
pub mod driver;
pub mod elab;
pub mod fmt;
pub mod ir;
#[cfg(feature = "cpu")]
pub mod lower;
pub mod lsp;
pub mod passes;
pub mod source;
pub mod syntax;
#[cfg(feature = "cpu")]
pub mod train;

#[cfg(feature = "cpu")]
pub use lower::{network_from_file, network_from_text, Net, Network};
