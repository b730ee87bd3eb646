//! Helpers shared by cleave's tests, and only by tests (every user has it as
//! a dev-dependency): one seeded random generator, so that a failing seed
//! reproduces anywhere; one RISC-V instruction encoder; a writer of minimal
//! static riscv64 executables; the rule for skipping a test that needs a
//! missing tool; the host's compilers; and the way to kill a test's process
//! tree.
//!
//! testkit does not depend on `rv`, so `rv`'s own tests can use it without
//! linking a second copy of `rv`'s types.

pub mod elf;
pub mod encode;
mod group;
mod rng;
mod skip;
pub mod tools;

pub use group::kill_group;
pub use rng::Rng;
pub use skip::{in_ci, skip};
