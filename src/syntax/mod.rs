//! Syntax: the pest grammar (`grammar/resnet.pest`) and the AST built from it, and the
//! visitors that walk that AST ([`visit`], [`visit_mut`]).
//!
//! Architecture invariant: pest types never leave this module; callers see only
//! [`ast`] and [`Diagnostic`](crate::diag::Diagnostic)s with code E01xx.

pub mod ast;
mod parser;
pub mod visit;
pub mod visit_mut;

pub use parser::parse;
