//! Open file descriptions (Linux's `struct file`): what an fd refers to,
//! with the offset and status flags that dup and fork share.

use super::host::HostStream;
use super::pipe::PipeEnd;
use super::stdio::HostIo;
use super::{Data, Device, Loc};
use crate::errno::{Errno, KResult};
use crate::fs::stdio::HostStdio;
use crate::wait::{PollKey, WaitReason};
use std::any::Any;
use std::cell::Cell;
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
/// What a file without a poll operation reports (Linux's DEFAULT_POLLMASK).
pub const DEFAULT_POLLMASK: u16 = POLLIN | POLLOUT | POLLRDNORM | POLLWRNORM;

pub enum FileKind {
    /// One of the host's standard streams (the first process's 0, 1, 2).
    Console(HostStdio),
    /// A file, directory or device of the VFS.
    Inode(Loc),
    Pipe(PipeEnd),
    /// A file with no inode of its own (Linux's anon_inode files).
    Anon(Box<dyn FileOps>),
}

/// An open file as an object (Linux's `file_operations`): what read,
/// write, lseek and poll do on it. The system-call layer checks the fd
/// and the access mode, then calls the object, whatever its kind. An
/// operation a kind does not have keeps the default, which fails with the
/// errno Linux gives. An operation that cannot complete yet returns
/// [`OpError::Block`] with what to wait for; the caller blocks.
///
/// Only the kinds with no inode of their own (eventfd, pidfd) are objects
/// so far; the others are still [`FileKind`] variants.
pub trait FileOps {
    /// The name /proc/PID/fd shows for it.
    fn name(&self) -> String;

    /// read(2) of at most `len` bytes.
    fn read(&self, _nonblock: bool, _len: usize) -> OpResult<Vec<u8>> {
        Err(OpError::Errno(Errno::EINVAL))
    }

    /// read(2) as the calling thread makes it, for the kinds whose bytes
    /// depend on who reads and when (a signalfd dequeues the caller's
    /// signals, a timerfd counts its expiries until now); the others keep
    /// `read`.
    fn read_by(
        &self,
        _caller: &mut dyn Processes,
        nonblock: bool,
        len: usize,
    ) -> OpResult<Vec<u8>> {
        self.read(nonblock, len)
    }

    /// write(2) of `data`: how much was taken.
    fn write(&self, _nonblock: bool, _data: &[u8]) -> OpResult<usize> {
        Err(OpError::Errno(Errno::EINVAL))
    }

    /// lseek(2) (Linux's no_llseek unless the kind has one).
    fn llseek(&self, _offset: i64, _whence: i32) -> KResult<u64> {
        Err(Errno::ESPIPE)
    }

    /// poll for `events`; `procs` answers for files that watch a process.
    fn poll(&self, _events: u16, _procs: &dyn Processes) -> Readiness {
        Readiness {
            mask: DEFAULT_POLLMASK,
            key: None,
        }
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
    pub kind: FileKind,
    /// Access mode and status flags (O_APPEND, O_NONBLOCK, ...).
    pub flags: Cell<u32>,
    pub offset: Cell<u64>,
    /// A host FIFO's own end, open since open(2) as Linux's is: what its
    /// reads and writes use (the inode is `kind`'s).
    pub host: Option<HostStream>,
}

impl OpenFile {
    pub fn new(kind: FileKind, flags: u32) -> OpenFile {
        OpenFile {
            kind,
            flags: Cell::new(flags & !(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC)),
            offset: Cell::new(0),
            host: None,
        }
    }

    /// Host FIFO `loc` open on `stream`.
    pub fn host_fifo(loc: Loc, flags: u32, stream: HostStream) -> OpenFile {
        OpenFile {
            host: Some(stream),
            ..OpenFile::new(FileKind::Inode(loc), flags)
        }
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
        let (mask, key) = match &self.kind {
            FileKind::Pipe(end) => (end.poll(), Some(PollKey::File(end.id()))),
            FileKind::Anon(ops) => return ops.poll(events, procs),
            FileKind::Console(s) => (s.poll(events, Duration::ZERO), Some(PollKey::Console)),
            FileKind::Inode(_) if self.host.is_some() => {
                let s = self.host.as_ref().expect("checked");
                (s.ready(events), Some(PollKey::Console))
            }
            FileKind::Inode(loc) => match loc.inode.borrow().data {
                // Read from the host's stdin, written to its stdout.
                Data::Device(Device::Console) => {
                    let out = POLLOUT | POLLWRNORM | POLLWRBAND;
                    let mask = HostStdio::Stdin.poll(events & !out, Duration::ZERO)
                        | HostStdio::Stdout.poll(events & out, Duration::ZERO);
                    (mask, Some(PollKey::Console))
                }
                _ => (DEFAULT_POLLMASK, None),
            },
        };
        Readiness { mask, key }
    }
}
