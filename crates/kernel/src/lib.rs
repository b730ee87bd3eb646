//! cleave's kernel: memory management, tasks, files and the Linux riscv64
//! system-call ABI, on top of the `rv` hart.
#![forbid(unsafe_code)]

pub mod entry;
pub mod errno;
pub mod fs;
pub mod ipc;
pub mod loader;
pub mod mm;
pub mod syscall;
pub mod task;
pub mod wait;
