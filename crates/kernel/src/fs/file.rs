//! Open file descriptions (Linux's `struct file`): what an fd refers to,
//! with the offset and status flags that dup and fork share, and the
//! object behind it ([`FileOps`], Linux's `file_operations`).
//!
//! Every kind of open file is one object in a module of its own: pipe
//! ends (`pipe.rs`), the host's standard streams (`stdio.rs`), host FIFOs
//! (`fifo.rs`), tmpfs files (`tmpfs.rs`), host files (`hostfile.rs`),
//! directories (`dir.rs`), devices (`dev.rs`), procfs files
//! (`proc/file.rs`), eventfds, pidfds; `open.rs` picks the object an open
//! of an inode makes. The system-call layer checks the fd and the access
//! mode, then calls the object, whatever its kind.

use super::stat::Stat;
use super::tmpfs::MAX_LFS_FILESIZE;
use super::tty::Terminal;
use super::{Loc, Stream, Vfs, S_IFMT, S_IFREG};
use crate::errno::{Errno, KResult};
use crate::mm::{FilePages, Mm, Phys};
use crate::wait::{PollKey, WaitReason};
use rand::RngCore;
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

pub const O_ACCMODE: u32 = 3;
pub const O_RDONLY: u32 = 0;
pub const O_WRONLY: u32 = 1;
pub const O_RDWR: u32 = 2;
pub const O_CREAT: u32 = 0o100;
pub const O_EXCL: u32 = 0o200;
pub const O_NOCTTY: u32 = 0o400;
pub const O_TRUNC: u32 = 0o1000;
pub const O_APPEND: u32 = 0o2000;
pub const O_NONBLOCK: u32 = 0o4000;
pub const O_DIRECTORY: u32 = 0o200000;
pub const O_NOFOLLOW: u32 = 0o400000;
pub const O_CLOEXEC: u32 = 0o2000000;
pub const O_PATH: u32 = 0o10000000;
pub const O_TMPFILE: u32 = 0o20000000 | O_DIRECTORY;

// poll events (asm-generic).
pub const POLLIN: u16 = 0x1;
pub const POLLPRI: u16 = 0x2;
pub const POLLOUT: u16 = 0x4;
pub const POLLERR: u16 = 0x8;
pub const POLLHUP: u16 = 0x10;
pub const POLLNVAL: u16 = 0x20;
pub const POLLRDNORM: u16 = 0x40;
pub const POLLRDBAND: u16 = 0x80;
pub const POLLWRNORM: u16 = 0x100;
pub const POLLWRBAND: u16 = 0x200;
pub const POLLRDHUP: u16 = 0x2000;
/// What a file without a poll operation reports (Linux's DEFAULT_POLLMASK).
pub const DEFAULT_POLLMASK: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

/// The pseudo file system a file with no inode of its own lives in
/// (statfs's f_type; Linux's anon_inodefs).
pub const ANON_INODE_FS_MAGIC: u64 = 0x0904_1934;

/// An open file as an object (Linux's `file_operations`): what read,
/// write, lseek, poll, ioctl and mmap do on it. The system-call layer
/// checks the fd and the access mode, then calls the object, whatever its
/// kind. An operation a kind does not have keeps the default, which fails
/// with the errno Linux gives. An operation that cannot complete yet
/// returns [`OpError::Block`] with what to wait for; the caller blocks.
///
/// What belongs to the inode rather than to the open file (fstat of a
/// file in the tree, statfs, truncate, fsync, chmod, chown, utimes, the
/// directory an *at call starts from) is reached through [`Self::loc`],
/// the file's place in the tree, as Linux reaches it through `f_path`.
/// Release, on the last close, is the object's `Drop`.
pub trait FileOps {
    /// The name /proc/PID/fd shows for it (a file in the tree shows its
    /// path instead).
    fn name(&self) -> String;

    /// read(2) of at most `len` bytes, for kinds that need nothing but
    /// themselves (eventfd): `read_iter`'s default.
    fn read(&self, _nonblock: bool, _len: usize) -> OpResult<Vec<u8>> {
        Err(OpError::Errno(Errno::EINVAL))
    }

    /// write(2) of `data`: how much was taken (`write_iter`'s default).
    fn write(&self, _nonblock: bool, _data: &[u8]) -> OpResult<usize> {
        Err(OpError::Errno(Errno::EINVAL))
    }

    /// Whether a write that fails with EPIPE raises SIGPIPE in the writer:
    /// a pipe's does (Linux's pipe_write), as does a stream socket's
    /// (unix_stream_sendmsg); a datagram or seqpacket socket's does not.
    fn write_raises_sigpipe(&self) -> bool {
        true
    }

    /// read(2) and pread(2) of at most `len` bytes at `io.pos`, which a
    /// kind with an offset advances (Linux's `read_iter`).
    fn read_iter(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        self.read(io.nonblock, len)
    }

    /// read(2) for the kinds whose bytes depend on who reads and when (a
    /// signalfd dequeues the caller's signals, a timerfd counts its
    /// expiries until now): they answer here, with the task table as
    /// `caller`, and keep no position. None for every other kind, which
    /// `read_iter` answers. (An `Io` cannot carry the task table: it
    /// borrows guest RAM out of it.)
    fn read_by(
        &self,
        _caller: &mut dyn Processes,
        _nonblock: bool,
        _len: usize,
    ) -> Option<OpResult<Vec<u8>>> {
        None
    }

    /// write(2) and pwrite(2) of `data` at `io.pos` (the end with
    /// `io.append`): how much was taken. A kind whose write can block
    /// after taking part of the data says so in `write_may_block`, and
    /// keeps in `io.done` what it took before it blocked.
    fn write_iter(&self, io: &mut Io, data: &[u8]) -> OpResult<usize> {
        self.write(io.nonblock, data)
    }

    /// lseek(2) for kinds that keep no offset (Linux's no_llseek unless
    /// the kind has one): `seek`'s default.
    fn llseek(&self, _offset: i64, _whence: i32) -> KResult<u64> {
        Err(Errno::ESPIPE)
    }

    /// lseek(2) on an open file whose offset is `pos`: by default a file
    /// of the tree moves it within its size ([`generic_llseek`]), and any
    /// other calls `llseek`.
    fn seek(&self, pos: &Cell<u64>, offset: i64, whence: i32) -> KResult<u64> {
        match self.loc() {
            Some(loc) => {
                let size = loc.inode.borrow().size();
                generic_llseek(pos, size, offset, whence)
            }
            None => self.llseek(offset, whence),
        }
    }

    /// poll for `events`; `procs` answers for files that watch a process.
    fn poll(&self, _events: u16, _procs: &dyn Processes) -> Readiness {
        Readiness {
            mask: DEFAULT_POLLMASK,
            key: None,
        }
    }

    /// ioctl(2) `cmd` with argument `arg` (a pointer into `io`'s memory
    /// or a value), for the requests the kind has; the fd's own (FIOCLEX,
    /// FIONBIO) and a terminal's are the system-call layer's. By default a
    /// file of the tree other than a directory answers FIONREAD (what lies
    /// between the position and the end), and the rest is ENOTTY, as
    /// Linux's answer to a request nobody knows.
    fn ioctl(&self, io: &mut Io, cmd: u32, arg: u64) -> OpResult<u64> {
        match (cmd, self.loc()) {
            (FIONREAD, Some(loc)) if !loc.is_dir() => {
                let size = loc.inode.borrow().size();
                fionread(io, arg, size.saturating_sub(io.pos))
            }
            _ => Err(Errno::ENOTTY.into()),
        }
    }

    /// The terminal it is, for the terminal ioctls and job control.
    fn terminal(&self) -> Option<Terminal> {
        None
    }

    /// What a mapping of it maps: its page-cache object, zeros
    /// (/dev/zero), or nothing (ENODEV). `name` is its path, which
    /// /proc/PID/maps shows.
    fn mmap(&self, _phys: &mut Phys, _name: &[u8]) -> KResult<FilePages> {
        Ok(FilePages::None)
    }

    /// fstat of a file with no place in the tree: Linux's anonymous
    /// inode (one inode, mode 0600 and no file type) unless the kind has
    /// its own.
    fn stat(&self, _vfs: &Vfs) -> KResult<Stat> {
        Ok(Stat::kernel_inode(0xf, 1, 0o600))
    }

    /// statfs's f_type of a file with no place in the tree.
    fn magic(&self) -> u64 {
        ANON_INODE_FS_MAGIC
    }

    /// getdents64: the `linux_dirent64` records from entry `pos` on that
    /// fit in `size` bytes, and the position after them; ENOTDIR unless
    /// it is a directory.
    fn getdents(
        &self,
        _vfs: &Vfs,
        _root: &Loc,
        _pos: u64,
        _size: usize,
    ) -> KResult<(Vec<u8>, u64)> {
        Err(Errno::ENOTDIR)
    }

    /// Its place in the tree (Linux's `f_path`); None for a file with no
    /// inode there (a pipe, a host stream, anon_inode files).
    fn loc(&self) -> Option<&Loc> {
        None
    }

    /// Whether pread and pwrite may name a position (Linux's
    /// FMODE_PREAD): an open of the tree may, unless its kind is a stream
    /// (a pipe, a FIFO, a terminal); a file with no place there (an
    /// anon_inode file, a socket) is ESPIPE.
    fn positioned(&self) -> bool {
        self.loc().is_some()
    }

    /// Whether a write may block after taking part of the data (a pipe,
    /// a terminal): the system call then makes one pass of a bounded size,
    /// so that the restarted call sees the same bytes and `io.done`
    /// counts within them.
    fn write_may_block(&self) -> bool {
        false
    }

    /// For a file with no place in the tree that /proc/PID/fd can open
    /// again (a pipe, a host stream): what the link leads to.
    fn stream(&self) -> Option<Stream> {
        None
    }

    /// For the calls that take only one kind (pidfd_send_signal takes a
    /// pidfd): the object, to downcast (Linux compares `f_op`).
    fn as_any(&self) -> &dyn Any;
}

/// Why a file operation did not complete.
pub enum OpError {
    Errno(Errno),
    /// It would block (and the file is not O_NONBLOCK): wait for this,
    /// then restart the call.
    Block(WaitReason),
}

impl From<Errno> for OpError {
    fn from(e: Errno) -> OpError {
        OpError::Errno(e)
    }
}

pub type OpResult<T> = Result<T, OpError>;

/// What an operation may use beyond its file (Linux's kiocb, and the
/// kernel's globals its file operations reach): guest RAM, the caller's
/// address space, the clock and entropy, and the position and flags of
/// this call.
pub struct Io<'a> {
    pub phys: &'a mut Phys,
    /// The caller's address space, for an ioctl's pointer.
    pub mm: Rc<RefCell<Mm>>,
    pub rng: &'a mut dyn RngCore,
    /// CLOCK_REALTIME, for the times an inode keeps (zero for a file
    /// with no inode in the tree, which keeps none).
    pub now: Duration,
    /// O_NONBLOCK: EAGAIN rather than blocking.
    pub nonblock: bool,
    /// O_APPEND: a write goes at the end.
    pub append: bool,
    /// The position the call reads or writes at (the open file's offset,
    /// or pread's); a kind with an offset advances it.
    pub pos: u64,
    /// What a write that blocked partway had taken: the restarted call
    /// continues from there. Set by the write before it blocks.
    pub done: usize,
    /// The caller's RLIMIT_FSIZE (u64::MAX for none): how large a
    /// regular file's write may make it.
    pub fsize_limit: u64,
    /// Set by a write refused at `fsize_limit`: the caller is sent
    /// SIGXFSZ.
    pub fsize_exceeded: bool,
}

impl Io<'_> {
    pub fn copy_to_user(&mut self, addr: u64, data: &[u8]) -> KResult<()> {
        self.mm.borrow_mut().write_user(self.phys, addr, data)
    }

    pub fn copy_from_user(&mut self, addr: u64, buf: &mut [u8]) -> KResult<()> {
        self.mm.borrow_mut().read_user(self.phys, addr, buf)
    }

    /// How many of `len` bytes a regular file's write at `offset` may
    /// write (Linux's generic_write_check_limits): what fits below
    /// RLIMIT_FSIZE, then below MAX_LFS_FILESIZE; EFBIG for a write that
    /// starts at or past either, with `fsize_exceeded` set at the first.
    pub fn write_limit(&mut self, offset: u64, len: usize) -> OpResult<usize> {
        let mut len = len;
        if self.fsize_limit != u64::MAX {
            if offset >= self.fsize_limit {
                self.fsize_exceeded = true;
                return Err(Errno::EFBIG.into());
            }
            len = len.min((self.fsize_limit - offset).min(usize::MAX as u64) as usize);
        }
        if offset >= MAX_LFS_FILESIZE {
            return Err(Errno::EFBIG.into());
        }
        Ok(len.min((MAX_LFS_FILESIZE - offset).min(usize::MAX as u64) as usize))
    }
}

/// FIONREAD: `n` bytes can be read, as an int at `arg`.
pub const FIONREAD: u32 = 0x541b;

/// Answers FIONREAD with `n` (capped at INT_MAX, as Linux's int is).
pub fn fionread(io: &mut Io, arg: u64, n: u64) -> OpResult<u64> {
    let n = n.min(i32::MAX as u64) as u32;
    io.copy_to_user(arg, &n.to_le_bytes())?;
    Ok(0)
}

/// The name of a file of the tree, for the rare caller that asks it
/// rather than its path.
pub fn inode_name(loc: &Loc) -> String {
    String::from_utf8_lossy(&loc.inode.borrow().name).into_owned()
}

/// lseek for a file of `size` bytes whose offset is `pos` (Linux's
/// generic_file_llseek, with SEEK_DATA and SEEK_HOLE as for a file
/// without holes).
pub fn generic_llseek(pos: &Cell<u64>, size: u64, offset: i64, whence: i32) -> KResult<u64> {
    let size = size as i64;
    let base = match whence {
        0 => 0,
        1 => pos.get() as i64,
        2 => size,
        3 | 4 if offset < 0 || offset >= size => return Err(Errno::ENXIO),
        3 => 0,
        4 => {
            pos.set(size as u64);
            return Ok(size as u64);
        }
        _ => return Err(Errno::EINVAL),
    };
    let new = base.checked_add(offset).ok_or(Errno::EOVERFLOW)?;
    if new < 0 {
        return Err(Errno::EINVAL);
    }
    pos.set(new as u64);
    Ok(new as u64)
}

/// What files ask of the task table, which answers it (the files layer
/// sits below tasks): how a process stands (pidfds), the clocks
/// (timerfds) and the calling thread's signals (signalfds).
pub trait Processes {
    /// None once `pid` has been reaped (or never was); whether it has ended.
    fn ended(&self, pid: u32) -> Option<bool>;

    /// CLOCK_MONOTONIC now: the time line timers keep their expiries on.
    fn monotonic(&self) -> Duration;

    /// CLOCK_REALTIME now.
    fn realtime(&self) -> Duration;

    /// The calling thread's process.
    fn current_tgid(&self) -> u32;

    /// The signals pending for the calling thread: its own and its
    /// process's.
    fn signals_pending(&self) -> u64;

    /// Dequeues the calling thread's lowest pending signal in `mask`, as
    /// its siginfo_t.
    fn take_signal(&mut self, mask: u64) -> Option<[u8; 128]>;
}

/// What poll learns from one file: the events that hold now, and what
/// to wait on for them to change (None: nothing will change them).
pub struct Readiness {
    pub mask: u16,
    pub key: Option<PollKey>,
}

pub struct OpenFile {
    ops: Box<dyn FileOps>,
    /// Access mode and status flags (O_APPEND, O_NONBLOCK, ...).
    pub flags: Cell<u32>,
    pub offset: Cell<u64>,
    /// A regular file opened for writing holds its inode's writer count.
    write_access: Option<super::WriteAccess>,
}

impl OpenFile {
    /// An open file of kind `ops`: `OpenFile::new(Box::new(obj), flags)`.
    /// A regular file opened for writing takes its inode's writer count
    /// here, as Linux's do_dentry_open does.
    pub fn new(ops: Box<dyn FileOps>, flags: u32) -> OpenFile {
        let mut file = OpenFile {
            ops,
            flags: Cell::new(flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)),
            offset: Cell::new(0),
            write_access: None,
        };
        if file.writable() {
            file.write_access = file
                .loc()
                .filter(|loc| loc.inode.borrow().mode & S_IFMT == S_IFREG)
                .map(|loc| super::WriteAccess::new(loc.inode.clone()));
        }
        file
    }

    /// The object: what the file does.
    pub fn ops(&self) -> &dyn FileOps {
        &*self.ops
    }

    /// The object as kind `T`, if it is one.
    pub fn downcast<T: 'static>(&self) -> Option<&T> {
        self.ops.as_any().downcast_ref()
    }

    /// Its place in the tree, if it has one.
    pub fn loc(&self) -> Option<&Loc> {
        self.ops.loc()
    }

    pub fn readable(&self) -> bool {
        let f = self.flags.get();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_RDONLY | O_RDWR)
    }

    pub fn writable(&self) -> bool {
        let f = self.flags.get();
        f & O_PATH == 0 && matches!(f & O_ACCMODE, O_WRONLY | O_RDWR)
    }

    pub fn nonblock(&self) -> bool {
        self.flags.get() & O_NONBLOCK != 0
    }

    /// The file's poll operation (Linux's vfs_poll) for `events`.
    pub fn poll(&self, procs: &dyn Processes, events: u16) -> Readiness {
        self.ops.poll(events, procs)
    }

    /// What fstat reports: its inode's attributes, or for a file with no
    /// place in the tree, the kind's own.
    pub fn stat(&self, vfs: &Vfs) -> KResult<Stat> {
        match self.loc() {
            Some(loc) => Ok(Stat::of(loc)),
            None => self.ops.stat(vfs),
        }
    }
}
