//! read, write and their positioned and vectored forms, lseek,
//! getdents64, fsync: each checks the fd and the access mode and calls the
//! open file's object (`fs::file::FileOps`), then acts on what it says:
//! a position to keep, a wait to block on, SIGPIPE to raise.

use super::super::{int, MAX_RW_COUNT};
use super::fdtable::file;
use super::ioctl::{in_background, tty_check_change};
use crate::errno::{Errno, KResult};
use crate::fs::file::{Io, OpError, OpResult, OpenFile, O_APPEND, O_PATH};
use crate::task::rlimit::RLIMIT_FSIZE;
use crate::task::sigdeliver::SigTarget;
use crate::task::signal::{SigInfo, Signal, SI_USER};
use crate::task::Kernel;
use std::time::Duration;

/// Bytes moved between guest memory and a file per step.
const CHUNK: usize = 1 << 20;
/// UIO_MAXIOV: the most iovecs readv/writev accept.
const UIO_MAXIOV: u64 = 1024;

/// What an operation on `f` at `pos` may use of the kernel (Linux's
/// kiocb): the restart word of a call that blocked partway comes back as
/// `done`.
pub(super) fn io<'a>(k: &'a mut Kernel, f: &OpenFile, pos: u64) -> Io<'a> {
    let done = k.restart().map_or(0, |r| r.data as usize);
    // Only an inode keeps times: a pipe's or socket's read needs no clock.
    let now = match f.ops().loc() {
        Some(_) => k.clock.realtime(&k.hart),
        None => Duration::ZERO,
    };
    let mm = k.mm();
    let fsize_limit = k.rlimit(RLIMIT_FSIZE).cur;
    Io {
        phys: &mut k.phys,
        mm,
        rng: &mut k.rng,
        now,
        nonblock: f.nonblock(),
        append: f.flags.get() & O_APPEND != 0,
        pos,
        done,
        fsize_limit,
        fsize_exceeded: false,
    }
}

/// A file operation's result, blocking the caller on what it waits for;
/// `done` (what a write had taken) is kept for the restarted call.
pub(super) fn blocking<T>(k: &mut Kernel, r: OpResult<T>, done: usize) -> KResult<T> {
    r.map_err(|e| match e {
        OpError::Errno(e) => e,
        OpError::Block(reason) => k.block_with(reason, None, done as u64),
    })
}

/// SIGPIPE to the writer of a pipe without readers or of a stream socket
/// shut for writing, as Linux does; the write itself fails with EPIPE.
pub(crate) fn raise_sigpipe(k: &mut Kernel) {
    let (pid, uid) = (k.current().group.borrow().tgid, k.cred().uid);
    let info = SigInfo::user(Signal::SIGPIPE, SI_USER, pid, uid);
    k.send_signal(SigTarget::Thread(k.current_tid()), info);
}

/// Reads up to `len` bytes from `f` at `pos` (or its offset, which then
/// moves), possibly blocking (a pipe, the console).
fn file_read(k: &mut Kernel, f: &OpenFile, len: usize, pos: Option<u64>) -> KResult<Vec<u8>> {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if in_background(k) && f.ops().terminal().is_some() {
        tty_check_change(k, Signal::SIGTTIN)?;
    }
    let offset = pos.unwrap_or(f.offset.get());
    if let Some(out) = crate::fs::proc::file::read_live(k, f, offset, len) {
        let out = out?;
        if pos.is_none() {
            f.offset.set(offset + out.len() as u64);
        }
        return Ok(out);
    }
    // A signalfd or timerfd reads with the task table, and keeps no
    // position.
    if let Some(r) = f.ops().read_by(k, f.nonblock(), len) {
        return blocking(k, r, 0);
    }
    let mut io = io(k, f, offset);
    let r = f.ops().read_iter(&mut io, len);
    let (at, done) = (io.pos, io.done);
    if r.is_ok() && pos.is_none() {
        f.offset.set(at);
    }
    blocking(k, r, done)
}

/// Writes `data` to `f` at `pos` (or its offset, which then moves;
/// O_APPEND at the end).
pub(crate) fn file_write(
    k: &mut Kernel,
    f: &OpenFile,
    data: &[u8],
    pos: Option<u64>,
) -> KResult<usize> {
    if !f.writable() {
        return Err(Errno::EBADF);
    }
    if in_background(k) {
        if let Some(term) = f.ops().terminal() {
            if term.tostop(&k.vfs.console.borrow())? {
                tty_check_change(k, Signal::SIGTTOU)?;
            }
        }
    }
    if let Some(r) = crate::fs::proc::file::write(k, f, data) {
        return r;
    }
    let mut io = io(k, f, pos.unwrap_or(f.offset.get()));
    let r = f.ops().write_iter(&mut io, data);
    let (at, done, fsize_exceeded) = (io.pos, io.done, io.fsize_exceeded);
    if r.is_ok() && pos.is_none() {
        f.offset.set(at);
    }
    if let Err(OpError::Errno(Errno::EPIPE)) = r {
        if f.ops().write_raises_sigpipe() {
            raise_sigpipe(k);
        }
    }
    if fsize_exceeded {
        k.raise_sigxfsz();
    }
    blocking(k, r, done)
}

fn do_read(k: &mut Kernel, fd: u64, addr: u64, len: u64, pos: Option<u64>) -> KResult<u64> {
    let f = file(k, fd)?;
    if pos.is_some() && !f.ops().positioned() {
        return Err(Errno::ESPIPE);
    }
    let len = len.min(MAX_RW_COUNT).min(CHUNK as u64) as usize;
    if len == 0 {
        return Ok(0);
    }
    // Check the buffer before consuming input that could not be delivered.
    k.check_user_writable(addr, len)?;
    let data = file_read(k, &f, len, pos)?;
    k.copy_to_user(addr, &data)?;
    Ok(data.len() as u64)
}

fn do_write(k: &mut Kernel, fd: u64, addr: u64, len: u64, pos: Option<u64>) -> KResult<u64> {
    let f = file(k, fd)?;
    if pos.is_some() && !f.ops().positioned() {
        return Err(Errno::ESPIPE);
    }
    let len = len.min(MAX_RW_COUNT);
    if f.ops().write_may_block() {
        // One pass: a restarted call sees the same bytes.
        let n = (len as usize).min(CHUNK);
        let mut buf = vec![0; n];
        k.copy_from_user(addr, &mut buf)?;
        return file_write(k, &f, &buf, None).map(|n| n as u64);
    }
    let mut done = 0;
    let mut buf = vec![0; (len as usize).min(CHUNK)];
    while done < len {
        let n = ((len - done) as usize).min(CHUNK);
        if let Err(e) = k.copy_from_user(addr + done, &mut buf[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        let written = file_write(k, &f, &buf[..n], pos.map(|p| p + done))?;
        done += written as u64;
        if written < n {
            break;
        }
    }
    Ok(done)
}

pub fn read(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    do_read(k, a[0], a[1], a[2], None)
}

pub fn write(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    do_write(k, a[0], a[1], a[2], None)
}

pub fn pread64(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    do_read(k, a[0], a[1], a[2], Some(a[3]))
}

pub fn pwrite64(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if (a[3] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    do_write(k, a[0], a[1], a[2], Some(a[3]))
}

/// The iovec array of readv/writev: (base, len) pairs, their total capped
/// at MAX_RW_COUNT as Linux's import_iovec does.
pub(crate) fn iovecs(k: &mut Kernel, addr: u64, count: u64) -> KResult<Vec<(u64, u64)>> {
    if count > UIO_MAXIOV {
        return Err(Errno::EINVAL);
    }
    let mut raw = vec![0; 16 * count as usize];
    k.copy_from_user(addr, &mut raw)?;
    let mut total = 0u64;
    let mut out = Vec::with_capacity(count as usize);
    for iov in raw.chunks_exact(16) {
        let base = u64::from_le_bytes(iov[..8].try_into().unwrap());
        let len = u64::from_le_bytes(iov[8..].try_into().unwrap());
        if (len as i64) < 0 {
            return Err(Errno::EINVAL);
        }
        let len = len.min(MAX_RW_COUNT - total);
        total += len;
        out.push((base, len));
    }
    Ok(out)
}

pub fn writev(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let iovs = iovecs(k, a[1], a[2])?;
    // Gathered into one write per chunk, so that a line printed in pieces
    // reaches a pipe in one piece, as Linux's writev does.
    let mut done = 0u64;
    let mut buf = Vec::new();
    'gather: for (base, len) in iovs {
        let mut offset = 0;
        while offset < len {
            let start = buf.len();
            let n = ((len - offset) as usize).min(CHUNK - start);
            buf.resize(start + n, 0);
            if let Err(e) = k.copy_from_user(base + offset, &mut buf[start..]) {
                buf.truncate(start);
                if done == 0 && buf.is_empty() {
                    return Err(e);
                }
                break 'gather;
            }
            offset += n as u64;
            if buf.len() == CHUNK {
                // A write that may block makes one pass (see do_write).
                if f.ops().write_may_block() {
                    break 'gather;
                }
                let written = file_write(k, &f, &buf, None)?;
                done += written as u64;
                if written < buf.len() {
                    return Ok(done);
                }
                buf.clear();
            }
        }
    }
    if !buf.is_empty() {
        done += file_write(k, &f, &buf, None)? as u64;
    }
    Ok(done)
}

pub fn readv(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let iovs = iovecs(k, a[1], a[2])?;
    let total: u64 = iovs.iter().map(|&(_, len)| len).sum();
    let len = (total as usize).min(CHUNK);
    if len == 0 {
        return Ok(0);
    }
    let buf = file_read(k, &f, len, None)?;
    let n = buf.len();
    let mut copied = 0;
    for (base, len) in iovs {
        if copied == n {
            break;
        }
        let part = (len as usize).min(n - copied);
        k.copy_to_user(base, &buf[copied..copied + part])?;
        copied += part;
    }
    Ok(n as u64)
}

pub fn lseek(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    f.ops().seek(&f.offset, a[1] as i64, int(a[2]))
}

pub fn getdents64(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    if f.flags.get() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let root = k.current().fs.borrow().root.clone();
    crate::fs::proc::array::sync(k);
    let (out, next) = f
        .ops()
        .getdents(&k.vfs, &root, f.offset.get(), a[2] as usize)?;
    k.copy_to_user(a[1], &out)?;
    f.offset.set(next);
    Ok(out.len() as u64)
}

pub fn fsync(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    sync_file(k, a[0], false)
}

pub fn fdatasync(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    sync_file(k, a[0], true)
}

/// fsync and fdatasync: the file's dirty mapped pages go back to it, and
/// a host file, with them, to the host's disk. A file outside the tree
/// (a pipe, a socket) has nothing to sync: EINVAL.
fn sync_file(k: &mut Kernel, fd: u64, data_only: bool) -> KResult<u64> {
    let f = file(k, fd)?;
    let loc = f.loc().ok_or(Errno::EINVAL)?;
    crate::fs::pagecache::fsync(&mut k.phys, loc, data_only)?;
    Ok(0)
}
