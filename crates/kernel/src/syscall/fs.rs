//! File system calls: descriptors, paths, pipes (see `crate::fs`).

use super::{int, AT_FDCWD, MAX_RW_COUNT};
use crate::errno::{Errno, KResult};
use crate::fs::file::*;
use crate::fs::host::HostStream;
use crate::fs::pagecache::TmpFile;
use crate::fs::pipe::{PipeEnd, PIPE_BUF};
use crate::fs::stdio::{HostIo, HostStdio};
use crate::fs::tty::{Terminal, TERMIOS_SIZE};
use crate::fs::FsType;
use crate::fs::{
    Data, Device, FileKind, Loc, OpenFile, Stream, S_IFDIR, S_IFIFO, S_IFLNK, S_IFMT, S_IFREG,
};
use crate::task::sigdeliver::SigTarget;
use crate::task::signal::{SigInfo, Signal, SIG_IGN, SI_USER};
use crate::task::{FsInfo, Kernel};
use crate::wait::{PollKey, WaitReason};
use rand::RngCore;
use rustix::fs::SeekFrom;
use rustix::termios::OptionalActions;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

/// Bytes moved between guest memory and a file per step.
const CHUNK: usize = 1 << 20;
/// UIO_MAXIOV: the most iovecs readv/writev accept.
const UIO_MAXIOV: u64 = 1024;
/// Linux's MAX_LFS_FILESIZE on 64-bit: the largest file offset.
const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;
/// PATH_MAX, counting the NUL.
const PATH_MAX: usize = 4096;

const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_REMOVEDIR: u64 = 0x200;
const AT_SYMLINK_FOLLOW: u64 = 0x400;
const AT_NO_AUTOMOUNT: u64 = 0x800;
const AT_EMPTY_PATH: u64 = 0x1000;
const AT_EACCESS: u64 = 0x200;
const RENAME_NOREPLACE: u64 = 1;

// The fd table is a RefCell shared by CLONE_FILES. Every use of it here
// goes through these helpers, each of which borrows it for one operation
// and releases it before returning: no borrow can outlive a statement and
// meet another (a borrow in a `match` scrutinee lasts the whole match).

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
fn fd_close(k: &Kernel, fd: u64) -> KResult<()> {
    let closed = k.current().files.borrow_mut().close(fd);
    closed.map(drop)
}

fn fd_cloexec(k: &Kernel, fd: u64) -> KResult<bool> {
    let cloexec = k.current().files.borrow().entry(fd)?.cloexec;
    Ok(cloexec)
}

fn fd_set_cloexec(k: &Kernel, fd: u64, cloexec: bool) -> KResult<()> {
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
fn nofile(k: &Kernel) -> usize {
    k.nofile_limit().min(crate::task::files::NR_OPEN as u64) as usize
}

fn now(k: &Kernel) -> Duration {
    k.clock.realtime(&k.hart)
}

fn fsinfo(k: &Kernel) -> FsInfo {
    k.current().fs.borrow().clone()
}

fn path_arg(k: &mut Kernel, addr: u64) -> KResult<Vec<u8>> {
    k.read_user_cstr(addr, PATH_MAX - 1)
}

/// Where a path given with `dirfd` starts: the cwd (AT_FDCWD or an
/// absolute path) or the directory open on `dirfd`; with `empty` and an
/// empty path, the file open on `dirfd` itself (AT_EMPTY_PATH).
pub fn start_dir(k: &Kernel, dirfd: i32, path: &[u8], empty: bool) -> KResult<Loc> {
    if (path.first() == Some(&b'/')) || dirfd == AT_FDCWD {
        if path.is_empty() && !empty {
            return Err(Errno::ENOENT);
        }
        return Ok(fsinfo(k).cwd);
    }
    let f = file(k, dirfd as u32 as u64)?;
    let FileKind::Inode(loc) = &f.kind else {
        return Err(if path.is_empty() {
            Errno::EACCES
        } else {
            Errno::ENOTDIR
        });
    };
    if path.is_empty() {
        if !empty {
            return Err(Errno::ENOENT);
        }
        return Ok(loc.clone());
    }
    if !loc.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(loc.clone())
}

/// Resolves `path` relative to `dirfd`.
fn lookup_at(k: &Kernel, dirfd: i32, path: &[u8], follow: bool, empty: bool) -> KResult<Loc> {
    crate::fs::proc::array::sync(k);
    let start = start_dir(k, dirfd, path, empty)?;
    if path.is_empty() {
        return Ok(start);
    }
    let fs = fsinfo(k);
    k.vfs.walk(&fs.root, &start, path, follow)
}

/// The parent directory and last name of `path` relative to `dirfd`.
fn parent_at(k: &Kernel, dirfd: i32, path: &[u8]) -> KResult<crate::fs::Parent> {
    crate::fs::proc::array::sync(k);
    let start = start_dir(k, dirfd, path, false)?;
    let fs = fsinfo(k);
    k.vfs.walk_parent(&fs.root, &start, path)
}

/// Whether the current credentials grant `bits` (4 r, 2 w, 1 x) on `loc`.
fn permitted(k: &Kernel, loc: &Loc, bits: u32) -> bool {
    let i = loc.inode.borrow();
    if matches!(i.data, Data::Host(_)) {
        return crate::fs::host_access(&i, bits);
    }
    let cred = k.cred();
    if cred.euid == 0 {
        return bits & 1 == 0 || i.is_dir() || i.mode & 0o111 != 0;
    }
    let shift = if cred.euid == i.uid {
        6
    } else if cred.egid == i.gid || cred.groups.contains(&i.gid) {
        3
    } else {
        0
    };
    (i.mode >> shift) & bits == bits
}

/// SIGPIPE to the writer of a pipe without readers, as Linux does; the
/// write itself fails with EPIPE.
fn raise_sigpipe(k: &mut Kernel) {
    let (pid, uid) = (k.current().group.borrow().tgid, k.cred().uid);
    let info = SigInfo::user(Signal::SIGPIPE, SI_USER, pid, uid);
    k.send_signal(SigTarget::Thread(k.current_tid()), info);
}

/// Writes to host stream `s` (a standard stream or a FIFO) without
/// making the host thread wait on it: a chunk at a time while the host has
/// room, and with none the caller blocks as a poller of the console does,
/// its restart word counting the bytes already written (as a pipe
/// write's). A broken pipe raises SIGPIPE as Linux does.
fn host_write(k: &mut Kernel, s: &impl HostIo, nonblock: bool, data: &[u8]) -> KResult<usize> {
    let mut done = k.restart().map_or(0, |r| r.data as usize).min(data.len());
    while done < data.len() {
        // POLLOUT on a pipe promises room for PIPE_BUF bytes: a chunk that
        // size never makes the host thread wait (nor does a tty's, in
        // practice); errors show as POLLERR or POLLHUP and the write says
        // which.
        if s.ready(POLLOUT) == 0 {
            if nonblock {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN)
                };
            }
            let reason = WaitReason::Poll(vec![PollKey::Console]);
            return Err(k.block_with(reason, None, done as u64));
        }
        let end = data.len().min(done + PIPE_BUF);
        match s.write(&data[done..end]) {
            Ok(n) => done += n,
            Err(_) if done > 0 => break,
            Err(Errno::EPIPE) => {
                raise_sigpipe(k);
                return Err(Errno::EPIPE);
            }
            Err(e) => return Err(e),
        }
    }
    Ok(done)
}

/// Reads host stream `s` (a standard stream or a FIFO) without making the
/// host thread wait on it: with nothing to read yet, the caller blocks as
/// a poller of the console does (see task/block.rs), so the other guests
/// run meanwhile, and the call runs again when input may have come. At
/// end-of-file (a FIFO without writers) the host says readable, and the
/// read says 0.
fn host_read(k: &mut Kernel, s: &impl HostIo, nonblock: bool, len: usize) -> KResult<Vec<u8>> {
    if s.ready(POLLIN) == 0 {
        if nonblock {
            return Err(Errno::EAGAIN);
        }
        return Err(k.block(WaitReason::Poll(vec![PollKey::Console]), None));
    }
    let mut buf = vec![0; len];
    let n = s.read(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// A file operation's result, blocking the caller on what it waits for.
fn blocking<T>(k: &mut Kernel, r: OpResult<T>) -> KResult<T> {
    r.map_err(|e| match e {
        OpError::Errno(e) => e,
        OpError::Block(reason) => k.block(reason, None),
    })
}

/// Reads up to `len` bytes from `f` at `pos` (or its offset), possibly
/// blocking (a pipe, the console).
fn file_read(k: &mut Kernel, f: &OpenFile, len: usize, pos: Option<u64>) -> KResult<Vec<u8>> {
    if !f.readable() {
        return Err(Errno::EBADF);
    }
    if in_background(k) && terminal(f).is_ok() {
        tty_check_change(k, Signal::SIGTTIN)?;
    }
    match &f.kind {
        FileKind::Console(s) => host_read(k, s, f.nonblock(), len),
        FileKind::Pipe(end) => {
            let mut p = end.pipe.borrow_mut();
            if p.is_empty() {
                if p.writers == 0 {
                    return Ok(Vec::new());
                }
                if f.nonblock() {
                    return Err(Errno::EAGAIN);
                }
                let id = p.id;
                drop(p);
                return Err(k.block(WaitReason::Pipe { id }, None));
            }
            let out = p.read(&k.phys, len);
            crate::fs::pipe::note_wake(p.id);
            Ok(out)
        }
        FileKind::Anon(ops) => {
            let r = ops.read_by(k, f.nonblock(), len);
            blocking(k, r)
        }
        FileKind::Inode(_) if f.host.is_some() => {
            host_read(k, f.host.as_ref().expect("checked"), f.nonblock(), len)
        }
        FileKind::Inode(loc) => {
            k.phys.reap();
            let offset = pos.unwrap_or(f.offset.get());
            let mut i = loc.inode.borrow_mut();
            let out = match &i.data {
                Data::Dir(_) => return Err(Errno::EISDIR),
                Data::File(t) => {
                    let mut out = vec![0; (t.size().saturating_sub(offset) as usize).min(len)];
                    t.read(&k.phys, offset, &mut out);
                    out
                }
                Data::Host(h) => {
                    if i.is_dir() {
                        return Err(Errno::EISDIR);
                    }
                    let mut buf = vec![0; len];
                    let n = h.read_at(offset, &mut buf)?;
                    buf.truncate(n);
                    crate::fs::pagecache::read_through(&k.phys, i.id, offset, &mut buf);
                    buf
                }
                // Only an O_PATH file is one of these, and it is not read.
                Data::Symlink(_) | Data::Stream(_) => return Err(Errno::EINVAL),
                Data::Proc(_) => return Err(Errno::EISDIR),
                Data::Device(d) => {
                    return match d {
                        Device::Null => Ok(Vec::new()),
                        Device::Zero | Device::Full => Ok(vec![0; len]),
                        Device::Random | Device::Urandom => {
                            let mut buf = vec![0; len];
                            drop(i);
                            k.rng.fill_bytes(&mut buf);
                            Ok(buf)
                        }
                        Device::Console => {
                            drop(i);
                            host_read(k, &HostStdio::Stdin, f.nonblock(), len)
                        }
                    }
                }
            };
            i.atime = now(k);
            if pos.is_none() {
                f.offset.set(offset + out.len() as u64);
            }
            Ok(out)
        }
    }
}

/// Writes `data` to `f` at `pos` (or its offset; O_APPEND at the end).
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
        if let Ok(term) = terminal(f) {
            if term.tostop(&k.vfs.console.borrow())? {
                tty_check_change(k, Signal::SIGTTOU)?;
            }
        }
    }
    match &f.kind {
        FileKind::Console(s) => host_write(k, s, f.nonblock(), data),
        FileKind::Pipe(end) => pipe_write(k, f, end, data),
        FileKind::Anon(ops) => blocking(k, ops.write(f.nonblock(), data)),
        FileKind::Inode(_) if f.host.is_some() => {
            host_write(k, f.host.as_ref().expect("checked"), f.nonblock(), data)
        }
        FileKind::Inode(loc) => {
            if k.vfs.fs_of(loc) == FsType::Proc {
                return Err(Errno::EINVAL);
            }
            k.phys.reap();
            let t = now(k);
            let mut i = loc.inode.borrow_mut();
            let append = f.flags.get() & O_APPEND != 0;
            let is_dir = i.is_dir();
            let id = i.id;
            match &mut i.data {
                Data::File(file) => {
                    let offset = if append {
                        file.size()
                    } else {
                        pos.unwrap_or(f.offset.get())
                    };
                    // Linux's MAX_LFS_FILESIZE: what fits before it is
                    // written, EFBIG at it.
                    if offset >= MAX_LFS_FILESIZE {
                        return Err(Errno::EFBIG);
                    }
                    let len = data.len().min((MAX_LFS_FILESIZE - offset) as usize);
                    let n = file.write(&mut k.phys, id, offset, &data[..len])?;
                    i.mtime = t;
                    i.ctime = t;
                    if pos.is_none() {
                        f.offset.set(offset + n as u64);
                    }
                    Ok(n)
                }
                Data::Host(h) if !is_dir => {
                    let offset = if append {
                        h.size
                    } else {
                        pos.unwrap_or(f.offset.get())
                    };
                    let n = h.write_at(offset, data)?;
                    crate::fs::pagecache::write_through(&mut k.phys, i.id, offset, &data[..n]);
                    i.mtime = t;
                    i.ctime = t;
                    if pos.is_none() {
                        f.offset.set(offset + n as u64);
                    }
                    Ok(n)
                }
                Data::Device(Device::Full) => Err(Errno::ENOSPC),
                Data::Device(Device::Console) => {
                    drop(i);
                    host_write(k, &HostStdio::Stdout, f.nonblock(), data)
                }
                Data::Device(_) => Ok(data.len()),
                Data::Dir(_) => Err(Errno::EISDIR),
                _ => Err(Errno::EROFS),
            }
        }
    }
}

/// A pipe write: atomic up to PIPE_BUF, else as much as fits, blocking
/// (the restart word counts the bytes already written) until all is in.
fn pipe_write(k: &mut Kernel, f: &OpenFile, end: &PipeEnd, data: &[u8]) -> KResult<usize> {
    let done = k.restart().map_or(0, |r| r.data as usize).min(data.len());
    let mut p = end.pipe.borrow_mut();
    if p.readers == 0 {
        drop(p);
        if done > 0 {
            return Ok(done);
        }
        raise_sigpipe(k);
        return Err(Errno::EPIPE);
    }
    let rest = &data[done..];
    // Up to PIPE_BUF, all or nothing: it fits one new page or tops up the
    // last one.
    let n = if rest.len() <= PIPE_BUF && done == 0 && !p.has_room(rest.len()) {
        0
    } else {
        match p.write(&mut k.phys, rest, done == 0) {
            Ok(n) => n,
            Err(e) if done == 0 => return Err(e),
            Err(_) => return Ok(done),
        }
    };
    let id = p.id;
    if n > 0 {
        crate::fs::pipe::note_wake(id);
    }
    drop(p);
    let done = done + n;
    if done == data.len() || (f.nonblock() && done > 0) {
        return Ok(done);
    }
    if f.nonblock() {
        return Err(Errno::EAGAIN);
    }
    Err(k.block_with(WaitReason::Pipe { id }, None, done as u64))
}

fn do_read(k: &mut Kernel, fd: u64, addr: u64, len: u64, pos: Option<u64>) -> KResult<u64> {
    let f = file(k, fd)?;
    if pos.is_some() && matches!(f.kind, FileKind::Pipe(_)) {
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

/// Whether a write to `f` may block partway and run again (a pipe, a host
/// stream, a host FIFO or the console): such a write makes one pass of at
/// most CHUNK bytes, so that the restarted call sees the same bytes and
/// its restart word (what is already written) counts within them.
fn write_may_block(f: &OpenFile) -> bool {
    match &f.kind {
        FileKind::Pipe(_) | FileKind::Console(_) => true,
        FileKind::Inode(_) if f.host.is_some() => true,
        FileKind::Inode(loc) => matches!(loc.inode.borrow().data, Data::Device(Device::Console)),
        FileKind::Anon(_) => false,
    }
}

fn do_write(k: &mut Kernel, fd: u64, addr: u64, len: u64, pos: Option<u64>) -> KResult<u64> {
    let f = file(k, fd)?;
    if pos.is_some() && matches!(f.kind, FileKind::Pipe(_)) {
        return Err(Errno::ESPIPE);
    }
    let len = len.min(MAX_RW_COUNT);
    if write_may_block(&f) {
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
fn iovecs(k: &mut Kernel, addr: u64, count: u64) -> KResult<Vec<(u64, u64)>> {
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
                if write_may_block(&f) {
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

pub fn fsync(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    sync_file(k, a[0], false)
}

pub fn fdatasync(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    sync_file(k, a[0], true)
}

/// fsync and fdatasync: the file's dirty mapped pages go back to it, and
/// a host file, with them, to the host's disk.
fn sync_file(k: &mut Kernel, fd: u64, data_only: bool) -> KResult<u64> {
    let FileKind::Inode(loc) = &file(k, fd)?.kind else {
        return Err(Errno::EINVAL);
    };
    k.phys.reap();
    let id = loc.inode.borrow().id;
    if let Some(obj) = k.phys.cache.by_inode(id) {
        obj.borrow().write_back(&k.phys, 0, u64::MAX)?;
    }
    if let Data::Host(h) = &loc.inode.borrow().data {
        h.sync(data_only)?;
    }
    Ok(0)
}

pub fn lseek(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let offset = a[1] as i64;
    let whence = int(a[2]);
    let size = match &f.kind {
        FileKind::Console(s) => {
            let pos = match whence {
                0 if offset < 0 => return Err(Errno::EINVAL),
                3 | 4 if offset < 0 => return Err(Errno::ENXIO),
                0 => SeekFrom::Start(offset as u64),
                1 => SeekFrom::Current(offset),
                2 => SeekFrom::End(offset),
                3 => SeekFrom::Data(offset as u64),
                4 => SeekFrom::Hole(offset as u64),
                _ => return Err(Errno::EINVAL),
            };
            return s.seek(pos);
        }
        FileKind::Pipe(_) => return Err(Errno::ESPIPE),
        FileKind::Inode(_) if f.host.is_some() => return Err(Errno::ESPIPE),
        FileKind::Anon(ops) => return ops.llseek(offset, whence),
        FileKind::Inode(loc) => {
            let i = loc.inode.borrow();
            if let Data::Device(_) = i.data {
                return Ok(0);
            }
            i.size() as i64
        }
    };
    let base = match whence {
        0 => 0,
        1 => f.offset.get() as i64,
        2 => size,
        3 | 4 if offset < 0 || offset >= size => return Err(Errno::ENXIO),
        3 => 0,
        4 => {
            return Ok({
                f.offset.set(size as u64);
                size as u64
            })
        }
        _ => return Err(Errno::EINVAL),
    };
    let new = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    f.offset.set(new as u64);
    Ok(new as u64)
}

// The terminal and file ioctls (asm-generic ioctls.h).
const TCGETS: u64 = 0x5401;
const TCSETS: u64 = 0x5402;
const TCSETSW: u64 = 0x5403;
const TCSETSF: u64 = 0x5404;
const TIOCSCTTY: u64 = 0x540e;
const TIOCGPGRP: u64 = 0x540f;
const TIOCSPGRP: u64 = 0x5410;
const TIOCGWINSZ: u64 = 0x5413;
const TIOCSWINSZ: u64 = 0x5414;
const FIONREAD: u64 = 0x541b;
const TIOCNOTTY: u64 = 0x5422;
const FIONBIO: u64 = 0x5421;
const TIOCGSID: u64 = 0x5429;
const FIONCLEX: u64 = 0x5450;
const FIOCLEX: u64 = 0x5451;

/// The terminal `f` refers to, or ENOTTY (see `fs::tty`).
fn terminal(f: &OpenFile) -> KResult<Terminal> {
    match &f.kind {
        FileKind::Console(s) => Terminal::of_stdio(*s),
        FileKind::Inode(loc)
            if matches!(loc.inode.borrow().data, Data::Device(Device::Console)) =>
        {
            Ok(Terminal::console())
        }
        _ => Err(Errno::ENOTTY),
    }
}

/// Whether the caller is in the background of the console: in the session
/// it is the controlling terminal of, outside its foreground group.
fn in_background(k: &Kernel) -> bool {
    let g = k.group();
    let g = g.borrow();
    let con = k.vfs.console.borrow();
    g.sid == con.session && g.pgid != con.fg_pgrp
}

/// Linux's tty_check_change, for a caller in the background: its group
/// gets `sig` (SIGTTIN for a read, SIGTTOU for the rest), which stops it,
/// and the call runs again once it is continued (or fails with EINTR if a
/// handler ran). With `sig` ignored or blocked, a read fails with EIO and
/// anything else goes ahead; so does an orphaned group, which no shell
/// would ever continue.
fn tty_check_change(k: &mut Kernel, sig: Signal) -> KResult<()> {
    let t = k.current();
    let ignored = t.sigmask & sig.bit() != 0 || t.sighand.borrow().action(sig).handler == SIG_IGN;
    if ignored {
        return if sig == Signal::SIGTTIN {
            Err(Errno::EIO)
        } else {
            Ok(())
        };
    }
    let pgid = k.group().borrow().pgid;
    if k.pgrp_orphaned(pgid, None) {
        return Err(Errno::EIO);
    }
    k.signal_pgrp(pgid, sig);
    Err(k.block(WaitReason::Other("the terminal"), None))
}

/// Whether the caller's session has the console as its controlling
/// terminal: ENOTTY for the requests that need it.
fn controlling(k: &Kernel) -> KResult<()> {
    if k.group().borrow().sid == k.vfs.console.borrow().session {
        Ok(())
    } else {
        Err(Errno::ENOTTY)
    }
}

fn read_int(k: &mut Kernel, addr: u64) -> KResult<i32> {
    let mut b = [0; 4];
    k.copy_from_user(addr, &mut b)?;
    Ok(i32::from_le_bytes(b))
}

pub fn ioctl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let cmd = a[1] & 0xffff_ffff;
    // Requests every file takes (fs/ioctl.c).
    match cmd {
        FIOCLEX | FIONCLEX => {
            fd_set_cloexec(k, a[0], cmd == FIOCLEX)?;
            return Ok(0);
        }
        FIONBIO => {
            let on = read_int(k, a[2])? != 0;
            let flags = f.flags.get() & !O_NONBLOCK;
            f.flags.set(if on { flags | O_NONBLOCK } else { flags });
            return Ok(0);
        }
        FIONREAD => {
            let n = match &f.kind {
                FileKind::Pipe(end) => end.pipe.borrow().len() as u64,
                FileKind::Inode(loc) if !loc.is_dir() && terminal(&f).is_err() => {
                    let size = loc.inode.borrow().size();
                    size.saturating_sub(f.offset.get())
                }
                _ => terminal(&f)?.pending_input()?,
            };
            k.copy_to_user(a[2], &(n.min(i32::MAX as u64) as u32).to_le_bytes())?;
            return Ok(0);
        }
        _ => {}
    }
    let term = terminal(&f)?;
    match cmd {
        TCGETS => {
            let t = term.get(&k.vfs.console.borrow())?;
            k.copy_to_user(a[2], &t)?;
        }
        TCSETS | TCSETSW | TCSETSF => {
            if in_background(k) {
                tty_check_change(k, Signal::SIGTTOU)?;
            }
            let mut t = [0; TERMIOS_SIZE];
            k.copy_from_user(a[2], &mut t)?;
            let when = match cmd {
                TCSETS => OptionalActions::Now,
                TCSETSW => OptionalActions::Drain,
                _ => OptionalActions::Flush,
            };
            term.set(&mut k.vfs.console.borrow_mut(), &t, when)?;
        }
        TIOCGWINSZ => {
            let w = term.winsize(&k.vfs.console.borrow())?;
            k.copy_to_user(a[2], &w)?;
        }
        TIOCSWINSZ => {
            let mut w = [0; 8];
            k.copy_from_user(a[2], &mut w)?;
            let old = term.winsize(&k.vfs.console.borrow());
            term.set_winsize(&mut k.vfs.console.borrow_mut(), w);
            // A new size is news to the foreground jobs, as on Linux.
            if old != Ok(w) {
                k.signal_foreground(Signal::SIGWINCH);
            }
        }
        TIOCGPGRP => {
            controlling(k)?;
            let fg = k.vfs.console.borrow().fg_pgrp;
            k.copy_to_user(a[2], &fg.to_le_bytes())?;
        }
        TIOCSPGRP => {
            // A background shell taking the terminal back has SIGTTOU
            // ignored or blocked; an orphaned one is refused.
            if in_background(k) {
                tty_check_change(k, Signal::SIGTTOU).map_err(|e| match e {
                    Errno::EIO => Errno::ENOTTY,
                    e => e,
                })?;
            }
            let pgrp = read_int(k, a[2])?;
            if pgrp < 0 {
                return Err(Errno::EINVAL);
            }
            controlling(k)?;
            // A process group of the caller's session (tiocspgrp).
            let sid = k.group().borrow().sid;
            let pgrp = pgrp as u32;
            let group_sid = k
                .processes()
                .map(|g| g.borrow())
                .find(|g| g.pgid == pgrp && g.zombie.is_none())
                .map(|g| g.sid);
            match group_sid {
                None => return Err(Errno::ESRCH),
                Some(s) if s != sid => return Err(Errno::EPERM),
                Some(_) => k.vfs.console.borrow_mut().fg_pgrp = pgrp,
            }
        }
        TIOCSCTTY => {
            let g = k.group();
            let g = g.borrow();
            if g.sid != g.tgid {
                return Err(Errno::EPERM);
            }
            let mut con = k.vfs.console.borrow_mut();
            con.session = g.sid;
            con.fg_pgrp = g.pgid;
        }
        TIOCNOTTY => {}
        TIOCGSID => {
            controlling(k)?;
            let sid = k.vfs.console.borrow().session;
            k.copy_to_user(a[2], &sid.to_le_bytes())?;
        }
        // Linux's tty layer answers requests it does not know with ENOTTY.
        _ => return Err(Errno::ENOTTY),
    }
    Ok(0)
}

/// The fields of a stat, before layout.
struct StatInfo {
    dev: u64,
    ino: u64,
    mode: u32,
    nlink: u32,
    uid: u32,
    gid: u32,
    rdev: u64,
    size: i64,
    blksize: i32,
    blocks: i64,
    atime: (i64, i64),
    mtime: (i64, i64),
    ctime: (i64, i64),
}

fn ts(d: Duration) -> (i64, i64) {
    (d.as_secs() as i64, i64::from(d.subsec_nanos()))
}

fn loc_stat(loc: &Loc) -> StatInfo {
    let i = loc.inode.borrow();
    let size = if i.is_dir() && !matches!(i.data, Data::Host(_)) {
        4096
    } else {
        i.size()
    };
    StatInfo {
        dev: i.dev,
        ino: i.ino,
        mode: i.mode,
        nlink: i.nlink,
        uid: i.uid,
        gid: i.gid,
        rdev: match &i.data {
            Data::Device(d) => d.rdev(),
            _ => 0,
        },
        size: size as i64,
        blksize: 4096,
        blocks: match &i.data {
            Data::File(f) => f.blocks() as i64,
            _ => size.div_ceil(512) as i64,
        },
        atime: ts(i.atime),
        mtime: ts(i.mtime),
        ctime: ts(i.ctime),
    }
}

/// The host's stat of a standard stream. The casts are no-ops on x86-64
/// but not on every host.
#[allow(clippy::unnecessary_cast)]
fn host_stat(s: &rustix::fs::Stat) -> StatInfo {
    StatInfo {
        dev: s.st_dev as u64,
        ino: s.st_ino as u64,
        mode: s.st_mode as u32,
        nlink: s.st_nlink as u32,
        uid: s.st_uid as u32,
        gid: s.st_gid as u32,
        rdev: s.st_rdev as u64,
        size: s.st_size as i64,
        blksize: s.st_blksize as i32,
        blocks: s.st_blocks as i64,
        atime: (s.st_atime as i64, s.st_atime_nsec as i64),
        mtime: (s.st_mtime as i64, s.st_mtime_nsec as i64),
        ctime: (s.st_ctime as i64, s.st_ctime_nsec as i64),
    }
}

fn file_stat(k: &Kernel, f: &OpenFile) -> KResult<StatInfo> {
    Ok(match &f.kind {
        // Passing the host's kind through (character device, pipe,
        // regular file) lets the guest's libc pick the buffering the host
        // program would.
        // A host terminal is the guest's console, so that ttyname finds
        // it where /proc/self/fd says it is.
        FileKind::Console(s) if Terminal::of_stdio(*s).is_ok() => {
            let root = k.vfs.root();
            match k.vfs.walk(&root, &root, b"/dev/console", true) {
                Ok(console) => loc_stat(&console),
                Err(_) => host_stat(&s.stat()?),
            }
        }
        FileKind::Console(s) => host_stat(&s.stat()?),
        FileKind::Inode(loc) => loc_stat(loc),
        FileKind::Pipe(end) => kernel_inode_stat(0xc, end.id(), S_IFIFO | 0o600),
        // Linux's anonymous inode: one inode, mode 0600 and no file type.
        FileKind::Anon(_) => kernel_inode_stat(0xf, 1, 0o600),
    })
}

/// The stat of an inode that lives in a kernel-internal file system (pipefs,
/// anon_inodefs): owned by root, empty, with no times.
fn kernel_inode_stat(dev: u64, ino: u64, mode: u32) -> StatInfo {
    StatInfo {
        dev,
        ino,
        mode,
        nlink: 1,
        uid: 0,
        gid: 0,
        rdev: 0,
        size: 0,
        blksize: 4096,
        blocks: 0,
        atime: (0, 0),
        mtime: (0, 0),
        ctime: (0, 0),
    }
}

/// riscv64's `struct stat` (asm-generic, 128 bytes).
fn stat_bytes(s: &StatInfo) -> [u8; 128] {
    let mut b = [0; 128];
    let mut put = |offset: usize, bytes: &[u8]| b[offset..][..bytes.len()].copy_from_slice(bytes);
    put(0, &s.dev.to_le_bytes());
    put(8, &s.ino.to_le_bytes());
    put(16, &s.mode.to_le_bytes());
    put(20, &s.nlink.to_le_bytes());
    put(24, &s.uid.to_le_bytes());
    put(28, &s.gid.to_le_bytes());
    put(32, &s.rdev.to_le_bytes());
    put(48, &s.size.to_le_bytes());
    put(56, &s.blksize.to_le_bytes());
    put(64, &s.blocks.to_le_bytes());
    put(72, &s.atime.0.to_le_bytes());
    put(80, &s.atime.1.to_le_bytes());
    put(88, &s.mtime.0.to_le_bytes());
    put(96, &s.mtime.1.to_le_bytes());
    put(104, &s.ctime.0.to_le_bytes());
    put(112, &s.ctime.1.to_le_bytes());
    b
}

/// `struct statx` (256 bytes), STATX_BASIC_STATS.
fn statx_bytes(s: &StatInfo) -> [u8; 256] {
    let mut b = [0; 256];
    let mut put = |offset: usize, bytes: &[u8]| b[offset..][..bytes.len()].copy_from_slice(bytes);
    put(0, &0x7ffu32.to_le_bytes());
    put(4, &(s.blksize as u32).to_le_bytes());
    put(16, &s.nlink.to_le_bytes());
    put(20, &s.uid.to_le_bytes());
    put(24, &s.gid.to_le_bytes());
    put(28, &(s.mode as u16).to_le_bytes());
    put(32, &s.ino.to_le_bytes());
    put(40, &(s.size as u64).to_le_bytes());
    put(48, &(s.blocks as u64).to_le_bytes());
    for (off, t) in [(64, s.atime), (96, s.ctime), (112, s.mtime)] {
        put(off, &t.0.to_le_bytes());
        put(off + 8, &(t.1 as u32).to_le_bytes());
    }
    let (rmaj, rmin) = ((s.rdev >> 8) as u32 & 0xfff, (s.rdev & 0xff) as u32);
    put(128, &rmaj.to_le_bytes());
    put(132, &rmin.to_le_bytes());
    let (dmaj, dmin) = ((s.dev >> 8) as u32 & 0xfff, (s.dev & 0xff) as u32);
    put(136, &dmaj.to_le_bytes());
    put(140, &dmin.to_le_bytes());
    b
}

pub fn fstat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let st = file_stat(k, &f)?;
    k.copy_to_user(a[1], &stat_bytes(&st))?;
    Ok(0)
}

/// The stat of `path` at `dirfd` (AT_EMPTY_PATH: the fd itself).
fn stat_at(k: &mut Kernel, dirfd: i32, path_addr: u64, flags: u64) -> KResult<StatInfo> {
    let path = path_arg(k, path_addr)?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return Ok(loc_stat(&fsinfo(k).cwd));
        }
        let f = file(k, dirfd as u32 as u64)?;
        return file_stat(k, &f);
    }
    let loc = lookup_at(k, dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0, false)?;
    Ok(loc_stat(&loc))
}

pub fn newfstatat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[3] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(k, int(a[0]), a[1], flags)?;
    k.copy_to_user(a[2], &stat_bytes(&st))?;
    Ok(0)
}

pub fn statx(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[2] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | 0x6000) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(k, int(a[0]), a[1], flags)?;
    k.copy_to_user(a[4], &statx_bytes(&st))?;
    Ok(0)
}

pub fn readlinkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let size = int(a[3]);
    let path = path_arg(k, a[1])?;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let loc = lookup_at(k, int(a[0]), &path, false, true)?;
    if !loc.inode.borrow().is_symlink() {
        return Err(Errno::EINVAL);
    }
    let target = k.vfs.readlink(&loc)?;
    let n = target.len().min(size as usize);
    k.copy_to_user(a[2], &target[..n])?;
    Ok(n as u64)
}

/// openat(dirfd, path, flags, mode).
pub fn openat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (dirfd, flags, mode) = (int(a[0]), a[2] as u32, a[3] as u32);
    let path = path_arg(k, a[1])?;
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    let fs = fsinfo(k);
    crate::fs::proc::array::sync(k);
    let start = start_dir(k, dirfd, &path, false)?;
    let follow = flags & O_NOFOLLOW == 0;
    let path_only = flags & O_PATH != 0;
    let acc = flags & O_ACCMODE;
    let loc = if flags & O_CREAT != 0 && !path_only {
        let parent = k.vfs.walk_parent(&fs.root, &start, &path)?;
        let name = &parent.name[..];
        let existing = if name == b"." || name == b".." {
            Some(k.vfs.walk(&fs.root, &start, &path, true)?)
        } else {
            match k.vfs.lookup_crossed(&parent.dir, name) {
                Ok(l) => Some(l),
                Err(Errno::ENOENT) => None,
                Err(e) => return Err(e),
            }
        };
        match existing {
            Some(_) if flags & O_EXCL != 0 => return Err(Errno::EEXIST),
            Some(l) if l.inode.borrow().is_symlink() => {
                if !follow {
                    return Err(Errno::ELOOP);
                }
                match k.vfs.walk(&fs.root, &start, &path, true) {
                    // A dangling link: O_CREAT makes its target, as in Linux.
                    Err(Errno::ENOENT) => {
                        let target = k.vfs.readlink(&l)?;
                        let to = k.vfs.walk_parent(&fs.root, &parent.dir, &target)?;
                        if to.trailing_slash || k.vfs.lookup(&to.dir, &to.name).is_ok() {
                            return Err(Errno::ENOENT);
                        }
                        if !permitted(k, &to.dir, 3) {
                            return Err(Errno::EACCES);
                        }
                        let perm = mode & 0o7777 & !fs.umask;
                        create(
                            k,
                            &to.dir,
                            &to.name,
                            S_IFREG | perm,
                            Data::File(Default::default()),
                        )?
                    }
                    found => found?,
                }
            }
            Some(l) => {
                if l.is_dir() {
                    return Err(Errno::EISDIR);
                }
                if parent.trailing_slash {
                    return Err(Errno::ENOTDIR);
                }
                l
            }
            None => {
                if parent.trailing_slash {
                    return Err(Errno::EISDIR);
                }
                if !permitted(k, &parent.dir, 3) {
                    return Err(Errno::EACCES);
                }
                let perm = mode & 0o7777 & !fs.umask;
                create(
                    k,
                    &parent.dir,
                    name,
                    S_IFREG | perm,
                    Data::File(Default::default()),
                )?
            }
        }
    } else {
        k.vfs.walk(&fs.root, &start, &path, follow)?
    };
    let loc = proc_snapshot(k, loc, flags)?;
    let (is_dir, is_symlink, is_reg) = {
        let i = loc.inode.borrow();
        (i.is_dir(), i.is_symlink(), i.mode & S_IFMT == S_IFREG)
    };
    if is_symlink && !path_only {
        return Err(Errno::ELOOP);
    }
    if flags & O_DIRECTORY != 0 && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    if let (false, Some(kind)) = (path_only, reopen(&loc, acc)) {
        let file = Rc::new(OpenFile::new(kind?, flags));
        return fd_install(k, file, flags & O_CLOEXEC != 0, 0);
    }
    if !path_only {
        if is_dir && (acc != O_RDONLY || flags & O_CREAT != 0) {
            return Err(Errno::EISDIR);
        }
        // O_TRUNC writes whatever the access mode (Linux's open adds
        // MAY_WRITE for it and truncates even an O_RDONLY open).
        let trunc = flags & O_TRUNC != 0 && is_reg;
        let writes = (acc != O_RDONLY && is_reg) || trunc;
        if writes && k.vfs.readonly(&loc) {
            return Err(Errno::EROFS);
        }
        let want = match acc {
            O_RDONLY => 4,
            O_WRONLY => 2,
            _ => 6,
        } | if trunc { 2 } else { 0 };
        if !permitted(k, &loc, want) {
            return Err(Errno::EACCES);
        }
        if writes {
            get_write_access(&loc)?;
        }
        if let Some(stream) = open_host_special(k, &loc, flags)? {
            let file = Rc::new(OpenFile::host_fifo(loc, flags, stream));
            return fd_install(k, file, flags & O_CLOEXEC != 0, 0);
        }
        if trunc {
            truncate_file(k, &loc, 0)?;
        }
    }
    let flags = if path_only {
        flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    } else {
        flags
    };
    let file = Rc::new(OpenFile::new(FileKind::Inode(loc), flags));
    fd_install(k, file, flags & O_CLOEXEC != 0, 0)
}

/// Opening a device node, FIFO or socket of a host mount: a device is
/// EACCES (host mounts are nodev); a FIFO is opened on the host at once,
/// non-blocking, so that the kernel never waits on it. A writer that
/// finds no reader gets ENXIO with O_NONBLOCK, else it waits for one as a
/// poller of the host streams. None for every other file.
fn open_host_special(k: &mut Kernel, loc: &Loc, flags: u32) -> KResult<Option<HostStream>> {
    let i = loc.inode.borrow();
    let Data::Host(h) = &i.data else {
        return Ok(None);
    };
    match i.mode & S_IFMT {
        S_IFREG | S_IFDIR | S_IFLNK => Ok(None),
        S_IFIFO => match HostStream::open(h, flags & O_ACCMODE) {
            Err(Errno::ENXIO) if flags & O_NONBLOCK == 0 => {
                drop(i);
                k.host_stream_opened();
                Err(k.block(WaitReason::Poll(vec![PollKey::Console]), None))
            }
            Ok(stream) => {
                drop(i);
                k.host_stream_opened();
                Ok(Some(stream))
            }
            Err(e) => Err(e),
        },
        // A socket cannot be opened (ENXIO, as Linux); a device is nodev's.
        _ => HostStream::open(h, flags & O_ACCMODE).map(Some),
    }
}

/// Opening a pipe or host stream again through /proc/PID/fd (see
/// `Data::Stream`): a pipe end that reads, writes or both, as the access
/// mode says. None for every other file.
fn reopen(loc: &Loc, acc: u32) -> Option<KResult<FileKind>> {
    let Data::Stream(stream) = &loc.inode.borrow().data else {
        return None;
    };
    Some(match stream {
        Stream::Pipe(pipe) => match pipe.upgrade() {
            Some(pipe) => Ok(FileKind::Pipe(PipeEnd::reopen(pipe, acc))),
            None => Err(Errno::ENOENT),
        },
        Stream::Host(s) => Ok(FileKind::Console(*s)),
    })
}

/// A procfs file is opened as a copy of what it says now (seq_file makes
/// it at the first read; the difference does not show). Writes to it fail
/// as Linux's to a file without a write method: EINVAL (`file_write`).
fn proc_snapshot(k: &mut Kernel, loc: Loc, flags: u32) -> KResult<Loc> {
    let kind = match &loc.inode.borrow().data {
        Data::Proc(p) if matches!(p.kind, crate::fs::proc::Kind::File { .. }) => Some(p.kind),
        _ => None,
    };
    let Some(kind) = kind else {
        return Ok(loc);
    };
    if flags & O_PATH != 0 {
        return Ok(loc);
    }
    if flags & O_TRUNC != 0 && flags & O_ACCMODE != O_RDONLY {
        return Err(Errno::EPERM);
    }
    let text = crate::fs::proc::array::generate(k, kind)?;
    let copy = {
        let i = loc.inode.borrow();
        let copy = k
            .vfs
            .new_inode(i.mode, Data::File(TmpFile::new(text)), Duration::ZERO);
        let mut c = copy.borrow_mut();
        c.dev = i.dev;
        c.ino = i.ino;
        c.uid = i.uid;
        c.gid = i.gid;
        c.parent = i.parent.clone();
        c.name = i.name.clone();
        drop(c);
        copy
    };
    Ok(Loc {
        mnt: loc.mnt,
        inode: copy,
    })
}

/// Creates a tmpfs node owned by the caller.
pub(crate) fn create(k: &Kernel, dir: &Loc, name: &[u8], mode: u32, data: Data) -> KResult<Loc> {
    if name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    // A tmpfs inode costs host memory: it is charged to tmpfs's limits,
    // after the checks that come first on Linux.
    let charge = match &data {
        _ if matches!(dir.inode.borrow().data, Data::Host(_)) => None,
        Data::Symlink(target) => Some(k.phys.cache.charge_tmpfs_inode(target.len())),
        _ => Some(k.phys.cache.charge_tmpfs_inode(0)),
    };
    let charge = match charge.transpose() {
        Err(e) if k.vfs.lookup(dir, name).is_err() => return Err(e),
        charge => charge.ok().flatten(),
    };
    let loc = k.vfs.create(dir, name, mode, data, now(k))?;
    let cred = k.cred();
    let mut i = loc.inode.borrow_mut();
    if matches!(i.data, Data::Host(_)) {
        // The host file is the creator's where the host allows it; else
        // it shows the owner the host gave it.
        let owned = i.uid == cred.euid && i.gid == cred.egid;
        drop(i);
        if !owned {
            let _ = crate::fs::host::set_owner(&loc.inode, Some(cred.euid), Some(cred.egid));
        }
        return Ok(loc);
    }
    i.uid = cred.euid;
    i.gid = cred.egid;
    i.charge = charge;
    drop(i);
    Ok(loc)
}

pub(crate) fn truncate_file(k: &mut Kernel, loc: &Loc, len: u64) -> KResult<()> {
    if k.vfs.readonly(loc) {
        return Err(Errno::EROFS);
    }
    k.phys.reap();
    let t = now(k);
    let mut i = loc.inode.borrow_mut();
    let is_dir = i.is_dir();
    match &mut i.data {
        Data::File(f) => {
            if len > MAX_LFS_FILESIZE {
                return Err(Errno::EFBIG);
            }
            f.check_resize(len)?;
            f.truncate(&mut k.phys, len);
        }
        Data::Host(_) if is_dir => return Err(Errno::EISDIR),
        Data::Host(h) => h.truncate(len)?,
        Data::Dir(_) => return Err(Errno::EISDIR),
        _ => return Err(Errno::EINVAL),
    }
    i.mtime = t;
    i.ctime = t;
    let id = i.id;
    drop(i);
    k.truncate_pagecache(id, len);
    Ok(())
}

/// Linux's get_write_access: a program a process runs is kept from
/// writers (exe_file_deny_write_access). Exec of a file open for writing
/// is allowed, as since Linux 6.11.
fn get_write_access(loc: &Loc) -> KResult<()> {
    if loc.inode.borrow().running > 0 {
        return Err(Errno::ETXTBSY);
    }
    Ok(())
}

/// truncate(path, length), in do_sys_truncate's order of checks.
pub fn truncate(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, a[0])?;
    crate::fs::proc::array::sync(k);
    let loc = lookup_at(k, AT_FDCWD, &path, true, false)?;
    let mode = loc.inode.borrow().mode & S_IFMT;
    if mode == S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if mode != S_IFREG {
        return Err(Errno::EINVAL);
    }
    if k.vfs.readonly(&loc) {
        return Err(Errno::EROFS);
    }
    if !permitted(k, &loc, 2) {
        return Err(Errno::EACCES);
    }
    get_write_access(&loc)?;
    truncate_file(k, &loc, a[1])?;
    Ok(0)
}

pub fn ftruncate(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(k, a[0])?;
    match &f.kind {
        FileKind::Inode(loc) if f.writable() => truncate_file(k, loc, a[1])?,
        FileKind::Inode(_) if f.flags.get() & O_PATH == 0 => return Err(Errno::EINVAL),
        FileKind::Inode(_) => return Err(Errno::EBADF),
        _ => return Err(Errno::EINVAL),
    }
    Ok(0)
}

pub fn getdents64(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let FileKind::Inode(loc) = &f.kind else {
        return Err(Errno::ENOTDIR);
    };
    if f.flags.get() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    let root = fsinfo(k).root;
    crate::fs::proc::array::sync(k);
    let entries = k.vfs.entries(&root, loc)?;
    let size = a[2] as usize;
    let mut out = Vec::new();
    let mut index = f.offset.get() as usize;
    while let Some((name, ino, dtype)) = entries.get(index) {
        let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
        if out.len() + reclen > size {
            if out.is_empty() {
                return Err(Errno::EINVAL);
            }
            break;
        }
        let mut rec = vec![0u8; reclen];
        rec[..8].copy_from_slice(&ino.to_le_bytes());
        rec[8..16].copy_from_slice(&((index + 1) as i64).to_le_bytes());
        rec[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
        rec[18] = *dtype;
        rec[19..19 + name.len()].copy_from_slice(name);
        out.extend(rec);
        index += 1;
    }
    k.copy_to_user(a[1], &out)?;
    f.offset.set(index as u64);
    Ok(out.len() as u64)
}

pub fn mkdirat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[1])?;
    let parent = parent_at(k, int(a[0]), &path)?;
    if parent.name == b"."
        || parent.name == b".."
        || k.vfs.lookup(&parent.dir, &parent.name).is_ok()
    {
        return Err(Errno::EEXIST);
    }
    if !permitted(k, &parent.dir, 3) {
        return Err(Errno::EACCES);
    }
    let umask = fsinfo(k).umask;
    let mode = S_IFDIR | (a[2] as u32 & 0o7777 & !umask);
    create(
        k,
        &parent.dir,
        &parent.name,
        mode,
        Data::Dir(BTreeMap::new()),
    )?;
    Ok(0)
}

pub fn unlinkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[2] & 0xffff_ffff;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let rmdir = flags & AT_REMOVEDIR != 0;
    let path = path_arg(k, a[1])?;
    let parent = parent_at(k, int(a[0]), &path)?;
    match &parent.name[..] {
        b"." => return Err(if rmdir { Errno::EINVAL } else { Errno::EISDIR }),
        b".." => {
            return Err(if rmdir {
                Errno::ENOTEMPTY
            } else {
                Errno::EISDIR
            })
        }
        _ => {}
    }
    let victim = k.vfs.lookup(&parent.dir, &parent.name)?;
    let (is_dir, empty) = {
        let i = victim.inode.borrow();
        let empty = match &i.data {
            Data::Dir(e) => e.is_empty(),
            Data::Host(h) if i.is_dir() => h.entries()?.is_empty(),
            _ => false,
        };
        (i.is_dir(), empty)
    };
    if rmdir {
        if !is_dir {
            return Err(Errno::ENOTDIR);
        }
        if k.vfs
            .lookup_crossed(&parent.dir, &parent.name)
            .is_ok_and(|l| l.mnt != victim.mnt)
        {
            return Err(Errno::EBUSY);
        }
        if !empty {
            return Err(if k.vfs.readonly(&victim) {
                Errno::EROFS
            } else {
                Errno::ENOTEMPTY
            });
        }
    } else if is_dir {
        return Err(Errno::EISDIR);
    } else if parent.trailing_slash {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(k, &parent.dir, 3) {
        return Err(Errno::EACCES);
    }
    remove_entry(k, &parent.dir, &parent.name)?;
    Ok(0)
}

/// Removes entry `name` of `dir`; an extra hard link gives its charge
/// back.
fn remove_entry(k: &Kernel, dir: &Loc, name: &[u8]) -> KResult<()> {
    let inode = k.vfs.unlink_entry(dir, name, now(k))?;
    if let Some(charge) = &inode.borrow().charge {
        charge.unlink();
    }
    Ok(())
}

pub fn renameat2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[4] & 0xffff_ffff;
    if flags & !RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    let old = path_arg(k, a[1])?;
    let new = path_arg(k, a[3])?;
    let from = parent_at(k, int(a[0]), &old)?;
    let to = parent_at(k, int(a[2]), &new)?;
    for n in [&from.name, &to.name] {
        if n == b"." || n == b".." {
            return Err(Errno::EBUSY);
        }
    }
    let src = k.vfs.lookup(&from.dir, &from.name)?;
    if src.mnt != to.dir.mnt {
        return Err(Errno::EXDEV);
    }
    let src_dir = src.is_dir();
    if (from.trailing_slash || to.trailing_slash) && !src_dir {
        return Err(Errno::ENOTDIR);
    }
    if src_dir {
        // No directory moves into itself.
        let root = fsinfo(k).root;
        let mut cur = to.dir.clone();
        loop {
            if Rc::ptr_eq(&cur.inode, &src.inode) {
                return Err(Errno::EINVAL);
            }
            let up = k.vfs.parent(&root, &cur);
            if up.same(&cur) {
                break;
            }
            cur = up;
        }
    }
    if matches!(src.inode.borrow().data, Data::Host(_)) {
        // The host's rename(2) has the same rules; it checks them itself.
        if flags & RENAME_NOREPLACE != 0 && k.vfs.lookup(&to.dir, &to.name).is_ok() {
            return Err(Errno::EEXIST);
        }
        if k.vfs.readonly(&to.dir) {
            return Err(Errno::EROFS);
        }
        crate::fs::rename_host(&from.dir.inode, &from.name, &to.dir.inode, &to.name)?;
        return Ok(0);
    }
    if let Ok(dst) = k.vfs.lookup(&to.dir, &to.name) {
        if flags & RENAME_NOREPLACE != 0 {
            return Err(Errno::EEXIST);
        }
        if Rc::ptr_eq(&dst.inode, &src.inode) {
            return Ok(0);
        }
        let dst_empty = match &dst.inode.borrow().data {
            Data::Dir(e) => e.is_empty(),
            _ => true,
        };
        match (src_dir, dst.is_dir()) {
            (false, true) => return Err(Errno::EISDIR),
            (true, false) => return Err(Errno::ENOTDIR),
            (true, true) if !dst_empty => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        remove_entry(k, &to.dir, &to.name)?;
    }
    let t = now(k);
    let inode = k.vfs.unlink_entry(&from.dir, &from.name, t)?;
    {
        let mut i = inode.borrow_mut();
        i.nlink = if src_dir { 2 } else { i.nlink + 1 };
    }
    k.vfs.link(&to.dir, &to.name, &inode, t)?;
    Ok(0)
}

pub fn linkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[4] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = path_arg(k, a[1])?;
    let new = path_arg(k, a[3])?;
    let src = lookup_at(
        k,
        int(a[0]),
        &old,
        flags & AT_SYMLINK_FOLLOW != 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let to = parent_at(k, int(a[2]), &new)?;
    if src.is_dir() {
        return Err(Errno::EPERM);
    }
    if to.name == b"." || to.name == b".." || k.vfs.lookup(&to.dir, &to.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    if src.mnt != to.dir.mnt {
        return Err(Errno::EXDEV);
    }
    if to.trailing_slash {
        return Err(Errno::ENOENT);
    }
    let t = now(k);
    let tmpfs = !matches!(src.inode.borrow().data, Data::Host(_));
    if tmpfs {
        let mut i = src.inode.borrow_mut();
        let charge = i.charge.get_or_insert_with(|| k.phys.cache.tmpfs_links());
        charge.link()?;
    }
    if let Err(e) = k.vfs.link(&to.dir, &to.name, &src.inode, t) {
        if let Some(charge) = &src.inode.borrow().charge {
            charge.unlink();
        }
        return Err(e);
    }
    let mut i = src.inode.borrow_mut();
    i.nlink += 1;
    i.ctime = t;
    Ok(0)
}

pub fn symlinkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let target = path_arg(k, a[0])?;
    let path = path_arg(k, a[2])?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let parent = parent_at(k, int(a[1]), &path)?;
    if parent.trailing_slash && k.vfs.lookup(&parent.dir, &parent.name).is_err() {
        return Err(Errno::ENOENT);
    }
    create(
        k,
        &parent.dir,
        &parent.name,
        S_IFLNK | 0o777,
        Data::Symlink(target),
    )?;
    Ok(0)
}

fn access(k: &mut Kernel, dirfd: i32, path_addr: u64, mode: u64, flags: u64) -> KResult<u64> {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, path_addr)?;
    let loc = lookup_at(
        k,
        dirfd,
        &path,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let mode = mode as u32;
    if mode & 2 != 0 && k.vfs.readonly(&loc) {
        return Err(Errno::EROFS);
    }
    if mode != 0 && !permitted(k, &loc, mode) {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn faccessat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    access(k, int(a[0]), a[1], a[2] & 0xffff_ffff, 0)
}

pub fn faccessat2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    access(k, int(a[0]), a[1], a[2] & 0xffff_ffff, a[3] & 0xffff_ffff)
}

fn chmod(k: &Kernel, loc: &Loc, mode: u64) -> KResult<u64> {
    if k.vfs.readonly(loc) {
        return Err(Errno::EROFS);
    }
    let cred = k.cred();
    let mut i = loc.inode.borrow_mut();
    if cred.euid != 0 && cred.euid != i.uid {
        return Err(Errno::EPERM);
    }
    if matches!(i.data, Data::Host(_)) {
        // Kept by the host file, where the next run finds it too.
        drop(i);
        crate::fs::host::set_mode(&loc.inode, mode as u32 & 0o7777)?;
        return Ok(0);
    }
    i.mode = (i.mode & S_IFMT) | (mode as u32 & 0o7777);
    i.ctime = now(k);
    Ok(0)
}

pub fn fchmod(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    match &f.kind {
        FileKind::Inode(loc) if f.flags.get() & O_PATH == 0 => chmod(k, loc, a[1]),
        FileKind::Inode(_) => Err(Errno::EBADF),
        // A pipe or a standard stream: nothing to keep the mode in.
        _ => Ok(0),
    }
}

pub fn fchmodat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[1])?;
    let loc = lookup_at(k, int(a[0]), &path, true, false)?;
    chmod(k, &loc, a[2])
}

/// The inode of fd `fd` for fchown and futimens: EBADF for O_PATH.
fn fd_loc(k: &Kernel, fd: u64) -> KResult<Option<Loc>> {
    let f = file(k, fd)?;
    match &f.kind {
        FileKind::Inode(_) if f.flags.get() & O_PATH != 0 => Err(Errno::EBADF),
        FileKind::Inode(loc) => Ok(Some(loc.clone())),
        // A pipe or a standard stream: nothing to keep it in.
        _ => Ok(None),
    }
}

fn chown(k: &Kernel, loc: &Loc, uid: u32, gid: u32) -> KResult<u64> {
    if k.vfs.readonly(loc) {
        return Err(Errno::EROFS);
    }
    let cred = k.cred();
    let mut i = loc.inode.borrow_mut();
    if cred.euid != 0 {
        let uid_ok = uid == u32::MAX || uid == i.uid;
        let gid_ok = gid == u32::MAX
            || (cred.euid == i.uid && (gid == cred.egid || cred.groups.contains(&gid)));
        if !uid_ok || !gid_ok {
            return Err(Errno::EPERM);
        }
    }
    if matches!(i.data, Data::Host(_)) {
        // The host refuses (EPERM) what cleave's user may not give away.
        drop(i);
        let id = |n: u32| (n != u32::MAX).then_some(n);
        crate::fs::host::set_owner(&loc.inode, id(uid), id(gid))?;
        return Ok(0);
    }
    if uid != u32::MAX {
        i.uid = uid;
    }
    if gid != u32::MAX {
        i.gid = gid;
    }
    i.ctime = now(k);
    Ok(0)
}

pub fn fchown(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    match fd_loc(k, a[0])? {
        Some(loc) => chown(k, &loc, a[1] as u32, a[2] as u32),
        None => Ok(0),
    }
}

pub fn fchownat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[4] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, a[1])?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let loc = lookup_at(k, int(a[0]), &path, follow, flags & AT_EMPTY_PATH != 0)?;
    chown(k, &loc, a[2] as u32, a[3] as u32)
}

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// utimensat(dirfd, path, times[2], flags); a NULL path is dirfd itself
/// (futimens).
pub fn utimensat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[3] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let t = now(k);
    let mut times = [(0i64, UTIME_NOW); 2];
    if a[2] != 0 {
        let mut b = [0; 32];
        k.copy_from_user(a[2], &mut b)?;
        for (i, ts) in times.iter_mut().enumerate() {
            let sec = i64::from_le_bytes(b[i * 16..][..8].try_into().unwrap());
            let nsec = i64::from_le_bytes(b[i * 16 + 8..][..8].try_into().unwrap());
            if !(0..1_000_000_000).contains(&nsec) && nsec != UTIME_NOW && nsec != UTIME_OMIT {
                return Err(Errno::EINVAL);
            }
            *ts = (sec, nsec);
        }
    }
    let loc = if a[1] == 0 {
        match fd_loc(k, a[0])? {
            Some(loc) => loc,
            None => return Ok(0),
        }
    } else {
        let path = path_arg(k, a[1])?;
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        lookup_at(k, int(a[0]), &path, follow, flags & AT_EMPTY_PATH != 0)?
    };
    if k.vfs.readonly(&loc) {
        return Err(Errno::EROFS);
    }
    let set_now = times.iter().all(|t| t.1 == UTIME_NOW);
    let cred = k.cred();
    let owner = cred.euid == 0 || cred.euid == loc.inode.borrow().uid;
    if !(owner || set_now && permitted(k, &loc, 2)) {
        return Err(if set_now { Errno::EACCES } else { Errno::EPERM });
    }
    let value = |(sec, nsec): (i64, i64)| match nsec {
        UTIME_OMIT => None,
        UTIME_NOW => Some(t),
        _ => Some(Duration::new(sec.max(0) as u64, nsec as u32)),
    };
    if matches!(loc.inode.borrow().data, Data::Host(_)) {
        crate::fs::host::set_times(&loc.inode, value(times[0]), value(times[1]))?;
        return Ok(0);
    }
    let mut i = loc.inode.borrow_mut();
    for (n, time) in times.into_iter().enumerate() {
        let Some(value) = value(time) else {
            continue;
        };
        if n == 0 {
            i.atime = value;
        } else {
            i.mtime = value;
        }
    }
    i.ctime = t;
    Ok(0)
}

pub fn chdir(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[0])?;
    let loc = lookup_at(k, AT_FDCWD, &path, true, false)?;
    set_cwd(k, loc)
}

pub fn fchdir(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let FileKind::Inode(loc) = &f.kind else {
        return Err(Errno::ENOTDIR);
    };
    set_cwd(k, loc.clone())
}

fn set_cwd(k: &mut Kernel, loc: Loc) -> KResult<u64> {
    if !loc.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(k, &loc, 1) {
        return Err(Errno::EACCES);
    }
    k.current().fs.borrow_mut().cwd = loc;
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

const F_DUPFD: i32 = 0;
const F_GETFD: i32 = 1;
const F_SETFD: i32 = 2;
const F_GETFL: i32 = 3;
const F_SETFL: i32 = 4;
const F_DUPFD_CLOEXEC: i32 = 1030;
const F_SETPIPE_SZ: i32 = 1031;
const F_GETPIPE_SZ: i32 = 1032;
const FD_CLOEXEC: u64 = 1;

pub fn fcntl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    match int(a[1]) {
        cmd @ (F_DUPFD | F_DUPFD_CLOEXEC) => {
            let min = usize::try_from(int(a[2])).map_err(|_| Errno::EINVAL)?;
            if min >= nofile(k) {
                return Err(Errno::EINVAL);
            }
            fd_install(k, f, cmd == F_DUPFD_CLOEXEC, min)
        }
        F_GETFD => Ok(u64::from(fd_cloexec(k, a[0])?)),
        F_SETFD => {
            fd_set_cloexec(k, a[0], a[2] & FD_CLOEXEC != 0)?;
            Ok(0)
        }
        cmd @ (F_SETPIPE_SZ | F_GETPIPE_SZ) => {
            let FileKind::Pipe(end) = &f.kind else {
                return Err(Errno::EBADF);
            };
            let mut pipe = end.pipe.borrow_mut();
            let size = if cmd == F_GETPIPE_SZ {
                pipe.size()
            } else {
                pipe.set_size(a[2] as u32, k.cred().euid == 0)?
            };
            Ok(size as u64)
        }
        cmd @ (super::memfd::F_ADD_SEALS | super::memfd::F_GET_SEALS) => {
            super::memfd::fcntl_seals(k, &f, cmd, a[2])
        }
        F_GETFL => Ok(u64::from(f.flags.get())),
        F_SETFL => {
            if f.flags.get() & O_PATH != 0 {
                return Err(Errno::EBADF);
            }
            let settable = O_APPEND | O_NONBLOCK;
            let new = (f.flags.get() & !settable) | (a[2] as u32 & settable);
            f.flags.set(new);
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn pipe2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[1] as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK | 0o40000) != 0 {
        return Err(Errno::EINVAL);
    }
    k.check_user_writable(a[0], 8)?;
    let id = k
        .vfs
        .new_inode(S_IFIFO, Data::File(Default::default()), Duration::ZERO)
        .borrow()
        .id;
    let cred = k.cred();
    let (r, w) = PipeEnd::pair(id, &k.vfs.pipe_users, cred.uid, cred.euid == 0);
    let status = flags & O_NONBLOCK;
    let cloexec = flags & O_CLOEXEC != 0;
    let rfd = fd_install(
        k,
        Rc::new(OpenFile::new(FileKind::Pipe(r), O_RDONLY | status)),
        cloexec,
        0,
    )?;
    let w = Rc::new(OpenFile::new(FileKind::Pipe(w), O_WRONLY | status));
    let wfd = fd_install(k, w, cloexec, 0).inspect_err(|_| {
        let _ = fd_close(k, rfd);
    })?;
    let mut b = [0; 8];
    b[..4].copy_from_slice(&(rfd as u32).to_le_bytes());
    b[4..].copy_from_slice(&(wfd as u32).to_le_bytes());
    k.copy_to_user(a[0], &b)?;
    Ok(0)
}

// mount(2) flags.
const MS_RDONLY: u64 = 1;
const MS_REMOUNT: u64 = 32;
const MS_BIND: u64 = 4096;
const MS_MOVE: u64 = 8192;
/// MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED: propagation changes.
const MS_PROPAGATION: u64 = (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20);
const MS_MGC_MSK: u64 = 0xffff_0000;
const MS_MGC_VAL: u64 = 0xc0ed_0000;

/// A string argument of mount(2) that may be NULL.
fn opt_str(k: &mut Kernel, addr: u64) -> KResult<Option<Vec<u8>>> {
    if addr == 0 {
        return Ok(None);
    }
    k.read_user_cstr(addr, PATH_MAX - 1).map(Some)
}

/// mount(source, target, fstype, flags, data): new tmpfs and proc
/// instances, MS_BIND, MS_REMOUNT (read-only or not); propagation changes
/// are accepted and change nothing (there is one mount namespace).
pub fn mount(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let mut flags = a[3];
    if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags &= !MS_MGC_MSK;
    }
    let source = opt_str(k, a[0])?;
    let fstype = opt_str(k, a[2])?;
    let target = path_arg(k, a[1])?;
    let at = lookup_at(k, AT_FDCWD, &target, true, false)?;
    if !k.cred().privileged() {
        return Err(Errno::EPERM);
    }
    let readonly = flags & MS_RDONLY != 0;
    if flags & MS_REMOUNT != 0 {
        if !k.vfs.is_mount_root(&at) {
            return Err(Errno::EINVAL);
        }
        k.vfs.remount(&at, readonly);
        return Ok(0);
    }
    if flags & MS_BIND != 0 {
        let source = source.ok_or(Errno::EFAULT)?;
        let src = lookup_at(k, AT_FDCWD, &source, true, false)?;
        if src.is_dir() != at.is_dir() {
            return Err(if at.is_dir() {
                Errno::ENOTDIR
            } else {
                Errno::EISDIR
            });
        }
        if !src.is_dir() {
            // Binding a single file would need a mount on a file.
            return Err(Errno::EINVAL);
        }
        k.vfs.bind(&src, &at, readonly);
        return Ok(0);
    }
    if flags & MS_PROPAGATION != 0 {
        return Ok(0);
    }
    if flags & MS_MOVE != 0 {
        return Err(Errno::EINVAL);
    }
    let fstype = match fstype.as_deref() {
        Some(b"tmpfs") => FsType::Tmpfs,
        Some(b"proc") => FsType::Proc,
        Some(_) => return Err(Errno::ENODEV),
        None => return Err(Errno::EINVAL),
    };
    if !at.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let source = source.unwrap_or_else(|| b"none".to_vec());
    k.vfs.mount_new(&at, fstype, &source, readonly);
    Ok(0)
}

const MNT_FORCE: u64 = 1;
const MNT_DETACH: u64 = 2;
const MNT_EXPIRE: u64 = 4;
const UMOUNT_NOFOLLOW: u64 = 8;

/// Whether anything still uses mount `mnt`: a cwd or root, an open file,
/// or a mount inside it (umount's EBUSY).
fn mount_busy(k: &Kernel, mnt: usize) -> bool {
    if k.vfs.has_submounts(mnt) {
        return true;
    }
    k.tasks().any(|t| {
        let fs = t.fs.borrow();
        if fs.cwd.mnt == mnt || fs.root.mnt == mnt {
            return true;
        }
        let files = t.files.borrow();
        (0..crate::task::files::NR_OPEN as u64).any(|fd| {
            files
                .get(fd)
                .is_ok_and(|f| matches!(&f.kind, FileKind::Inode(l) if l.mnt == mnt))
        })
    })
}

/// umount2(target, flags). MNT_DETACH detaches even when busy; what is
/// open in it stays usable.
pub fn umount2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[1] & 0xffff_ffff;
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0
        || flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0
    {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, a[0])?;
    let loc = lookup_at(k, AT_FDCWD, &path, flags & UMOUNT_NOFOLLOW == 0, false)?;
    if !k.cred().privileged() {
        return Err(Errno::EPERM);
    }
    if !k.vfs.is_mount_root(&loc) {
        return Err(Errno::EINVAL);
    }
    if loc.mnt == 0 || flags & MNT_DETACH == 0 && mount_busy(k, loc.mnt) {
        return Err(Errno::EBUSY);
    }
    k.vfs.umount(&loc)?;
    Ok(0)
}

/// chroot(path): the process's root (shared under CLONE_FS); the cwd
/// stays where it is, as in Linux.
pub fn chroot(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[0])?;
    let loc = lookup_at(k, AT_FDCWD, &path, true, false)?;
    if !loc.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(k, &loc, 1) {
        return Err(Errno::EACCES);
    }
    if !k.cred().privileged() {
        return Err(Errno::EPERM);
    }
    k.current().fs.borrow_mut().root = loc;
    Ok(0)
}

const TMPFS_MAGIC: u64 = 0x0102_1994;
const PROC_SUPER_MAGIC: u64 = 0x9fa0;
const PIPEFS_MAGIC: u64 = 0x5049_5045;
const DEVPTS_SUPER_MAGIC: u64 = 0x1cd1;
const ANON_INODE_FS_MAGIC: u64 = 0x0904_1934;
const ST_RDONLY: u64 = 1;
/// ST_VALID: f_flags is meaningful (Linux always sets it).
const ST_VALID: u64 = 0x20;

/// riscv64's struct statfs (asm-generic, 64-bit words, 120 bytes):
/// type, bsize, blocks, bfree, bavail, files, ffree, fsid[2] (u32),
/// namelen, frsize, flags, spare[4].
fn statfs_bytes(f_type: u64, words: [u64; 6], namelen: u64, flags: u64) -> [u8; 120] {
    let mut b = [0; 120];
    b[..8].copy_from_slice(&f_type.to_le_bytes());
    for (i, w) in words.iter().enumerate() {
        b[8 + i * 8..][..8].copy_from_slice(&w.to_le_bytes());
    }
    b[64..72].copy_from_slice(&namelen.to_le_bytes());
    b[72..80].copy_from_slice(&words[0].to_le_bytes());
    b[80..88].copy_from_slice(&(flags | ST_VALID).to_le_bytes());
    b
}

/// The statfs of the file system `loc` is in. tmpfs reports Linux's
/// default size, half of RAM; a host directory passes the host's figures
/// through.
fn loc_statfs(k: &Kernel, loc: &Loc) -> KResult<[u8; 120]> {
    let ro = if k.vfs.readonly(loc) { ST_RDONLY } else { 0 };
    let page = crate::mm::PAGE_SIZE;
    if let Data::Host(h) = &loc.inode.borrow().data {
        let s = h.statfs()?;
        #[allow(clippy::unnecessary_cast)]
        let words = [
            s.f_bsize as u64,
            s.f_blocks as u64,
            s.f_bfree as u64,
            s.f_bavail as u64,
            s.f_files as u64,
            s.f_ffree as u64,
        ];
        #[allow(clippy::unnecessary_cast)]
        let (f_type, namelen, flags) = (s.f_type as u64, s.f_namelen as u64, s.f_flags as u64);
        return Ok(statfs_bytes(f_type, words, namelen, flags | ro));
    }
    Ok(match k.vfs.fs_of(loc) {
        FsType::Proc => statfs_bytes(PROC_SUPER_MAGIC, [page, 0, 0, 0, 0, 0], 255, ro),
        _ => {
            let (used, max) = k.phys.cache.shmem_usage();
            let blocks = max as u64;
            let free = ((max - used).min(k.phys.free_frames())) as u64;
            let (inodes_used, inodes) = k.phys.cache.inode_usage();
            let ffree = (inodes - inodes_used) as u64;
            let words = [page, blocks, free, free, inodes as u64, ffree];
            statfs_bytes(TMPFS_MAGIC, words, 255, ro)
        }
    })
}

pub fn statfs(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[0])?;
    let loc = lookup_at(k, AT_FDCWD, &path, true, false)?;
    let b = loc_statfs(k, &loc)?;
    k.copy_to_user(a[1], &b)?;
    Ok(0)
}

pub fn fstatfs(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let page = crate::mm::PAGE_SIZE;
    let b = match &f.kind {
        FileKind::Inode(loc) => loc_statfs(k, loc)?,
        FileKind::Pipe(_) => statfs_bytes(PIPEFS_MAGIC, [page, 0, 0, 0, 0, 0], 255, 0),
        FileKind::Anon(_) => statfs_bytes(ANON_INODE_FS_MAGIC, [page, 0, 0, 0, 0, 0], 255, 0),
        FileKind::Console(s) => {
            let fifo = s
                .stat()
                .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_fifo());
            let magic = if fifo {
                PIPEFS_MAGIC
            } else {
                DEVPTS_SUPER_MAGIC
            };
            statfs_bytes(magic, [page, 0, 0, 0, 0, 0], 255, 0)
        }
    };
    k.copy_to_user(a[1], &b)?;
    Ok(0)
}

/// sysinfo(info): what /proc/meminfo, /proc/uptime and /proc/loadavg say
/// (`free` and `uptime` read this).
pub fn sysinfo(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let b = crate::fs::proc::array::sysinfo(k);
    k.copy_to_user(a[0], &b)?;
    Ok(0)
}
