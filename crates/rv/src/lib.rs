//! `rv`: an RV64GC user-mode hart.
//!
//! The hart executes guest instructions out of [`PhysMem`], translating every
//! access through the Sv39 page table whose root the kernel installs. It runs
//! until something needs the kernel and returns that as a [`Trap`] value. It
//! knows nothing of Linux: system calls, signals and processes live in the
//! kernel crate.
//!
//! Unsafe code is denied everywhere but in `jit::code_buffer`, which holds
//! and calls the translated code.

#![deny(unsafe_code)]

mod decode;
mod exec;
pub mod fpu;
mod hart;
mod jit;
mod mem;
mod mmu;

pub use hart::{Clock, Hart, Regs};
pub use mem::{PhysMem, PAGE_SIZE};
pub use mmu::pte;

/// The kind of memory access that faulted.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Access {
    Fetch,
    Load,
    Store,
}

/// Why [`Hart::run`] returned. `pc` is always left at the instruction that
/// trapped (for `Ecall` too: the kernel steps over it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Trap {
    /// `ecall`: a system call, number in a7.
    Ecall,
    /// `ebreak` or `c.ebreak`.
    Breakpoint,
    /// Not a valid RV64GC instruction (or an unsupported CSR access); `bits`
    /// holds the 16- or 32-bit instruction.
    IllegalInstruction { bits: u32 },
    /// Translation failed or the page's permissions forbid the access.
    PageFault { addr: u64, access: Access },
    /// A misaligned atomic: LR/SC and AMOs must be naturally aligned.
    Misaligned { addr: u64, access: Access },
    /// The instruction budget given to `run` is used up.
    BudgetExhausted,
}
