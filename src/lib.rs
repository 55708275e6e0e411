//! resc — a compiler for `.resnet` files.
//!
//! The pipeline runs in one direction, each phase in its own module:
//! `source`/`diag` → [`syntax`] (pest grammar → AST) → [`elab`] (AST → IR) → [`ir`]
//! → [`check`] (shapes, costs) → CLI. A module uses only what is to its left.

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
pub use lower::{compile, compile_file, Net, Network};
