//! The fd table as system calls use it: looking a file up, installing
//! one, close, close_range, dup.
//!
//! The table is a RefCell shared by CLONE_FILES. Every use of it goes
//! through these helpers, each of which borrows it for one operation and
//! releases it before returning: no borrow can outlive a statement and
//! meet another (a borrow in a `match` scrutinee lasts the whole match).

use crate::errno::{Errno, KResult};
use crate::fs::file::O_CLOEXEC;
use crate::fs::OpenFile;
use crate::task::Kernel;
use std::rc::Rc;

/// The file open on `fd`, or EBADF.
pub(crate) fn file(k: &Kernel, fd: u64) -> KResult<Rc<OpenFile>> {
    k.current().files.borrow().get(fd)
}

/// Installs `file` on the lowest free fd at or above `min`, below
/// RLIMIT_NOFILE (EMFILE).
pub(crate) fn fd_install(
    k: &Kernel,
    file: Rc<OpenFile>,
    cloexec: bool,
    min: usize,
) -> KResult<u64> {
    let limit = nofile(k);
    let fd = k
        .current()
        .files
        .borrow_mut()
        .install(file, cloexec, min, limit);
    fd
}

/// Closes `fd`; its file is dropped after the table is released (closing
/// a pipe end wakes its peers, a file's last close may run more code).
pub(crate) fn fd_close(k: &Kernel, fd: u64) -> KResult<()> {
    let closed = k.current().files.borrow_mut().close(fd);
    closed.map(drop)
}

pub(super) fn fd_cloexec(k: &Kernel, fd: u64) -> KResult<bool> {
    let cloexec = k.current().files.borrow().entry(fd)?.cloexec;
    Ok(cloexec)
}

pub(super) fn fd_set_cloexec(k: &Kernel, fd: u64, cloexec: bool) -> KResult<()> {
    let r = k.current().files.borrow_mut().set_cloexec(fd, cloexec);
    r
}

/// Installs `file` on exactly `fd` (dup3); what it replaced is dropped
/// after the table is released.
fn fd_install_at(k: &Kernel, fd: u64, file: Rc<OpenFile>, cloexec: bool) -> KResult<()> {
    let old = k.current().files.borrow_mut().install_at(fd, file, cloexec);
    old.map(drop)
}

/// RLIMIT_NOFILE, capped by the table's size.
pub(super) fn nofile(k: &Kernel) -> usize {
    k.nofile_limit().min(crate::task::files::NR_OPEN as u64) as usize
}

pub fn close(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    fd_close(k, a[0])?;
    Ok(0)
}

const CLOSE_RANGE_UNSHARE: u64 = 2;
const CLOSE_RANGE_CLOEXEC: u64 = 4;

/// close_range(first, last, flags).
pub fn close_range(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (first, last, flags) = (a[0] as u32, a[1] as u32, a[2] & 0xffff_ffff);
    if flags & !(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC) != 0 || first > last {
        return Err(Errno::EINVAL);
    }
    if flags & CLOSE_RANGE_UNSHARE != 0 {
        k.unshare_files(k.current_tid());
    }
    let last = u64::from(last).min(crate::task::files::NR_OPEN as u64 - 1);
    for fd in u64::from(first)..=last {
        let _ = if flags & CLOSE_RANGE_CLOEXEC != 0 {
            fd_set_cloexec(k, fd, true)
        } else {
            fd_close(k, fd)
        };
    }
    Ok(0)
}

pub fn dup(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    fd_install(k, f, false, 0)
}

pub fn dup3(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[2] as u32;
    if flags & !O_CLOEXEC != 0 || a[0] == a[1] {
        return Err(Errno::EINVAL);
    }
    let f = file(k, a[0])?;
    if a[1] >= nofile(k) as u64 {
        return Err(Errno::EBADF);
    }
    fd_install_at(k, a[1], f, flags & O_CLOEXEC != 0)?;
    Ok(a[1])
}
