//! File system calls (see `crate::fs`), one module per topic. Each handler
//! decodes its arguments, checks the fd, the access mode and the
//! permissions, and calls the open file's object (`fs::file::FileOps`) or
//! the VFS; none looks at what kind of file it has.
//!
//! - `fdtable`: the fd table's helpers, close, dup.
//! - `read_write`: read, write and their vectored and positioned forms,
//!   lseek, getdents64, fsync; blocking and SIGPIPE.
//! - `ioctl`: ioctl, and the terminal's job control (tty_check_change).
//! - `fcntl`: fcntl.
//! - `namei`: path arguments and their resolution, permission checks,
//!   mkdir, unlink, rename, link, symlink, chdir.
//! - `open`: openat, creating and truncating files, pipe2.
//! - `attr`: access, chmod, chown, utimensat.
//! - `stat`: stat, statx, readlink.
//! - `mount`: mount, umount2, chroot.
//! - `statfs`: statfs, fstatfs, sysinfo.

mod attr;
mod fcntl;
mod fdtable;
mod ioctl;
mod mount;
mod namei;
mod open;
mod read_write;
mod stat;
mod statfs;

pub use attr::*;
pub use fcntl::*;
pub use fdtable::{close, close_range, dup, dup3};
pub(crate) use fdtable::{fd_install, file};
pub use ioctl::ioctl;
pub use mount::*;
pub use namei::*;
pub(crate) use open::{create, truncate_file};
pub use open::{ftruncate, openat, pipe2, truncate};
pub(crate) use read_write::file_write;
pub use read_write::*;
pub use stat::*;
pub use statfs::*;
