//! Open file descriptions (Linux's `struct file`): what an fd refers to,
//! with the offset and status flags that dup and fork share.

use super::eventfd::Eventfd;
use super::host::HostStream;
use super::pidfd::Pidfd;
use super::pipe::PipeEnd;
use super::{Data, Device, Loc};
use crate::task::block::PollKey;
use crate::task::files::HostStdio;
use crate::task::Kernel;
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
    Anon(Anon),
}

pub enum Anon {
    Eventfd(Eventfd),
    Pidfd(Pidfd),
}

impl Anon {
    /// The name /proc/PID/fd shows for it.
    pub fn name(&self) -> &'static str {
        match self {
            Anon::Eventfd(_) => "anon_inode:[eventfd]",
            Anon::Pidfd(_) => "anon_inode:[pidfd]",
        }
    }

    /// read(2): an eventfd's counter; a pidfd has no read.
    pub fn read(
        &self,
        k: &mut Kernel,
        nonblock: bool,
        len: usize,
    ) -> crate::errno::KResult<Vec<u8>> {
        match self {
            Anon::Eventfd(e) => e.read(k, nonblock, len),
            Anon::Pidfd(_) => Err(crate::errno::Errno::EINVAL),
        }
    }

    /// lseek(2): an eventfd ignores it (Linux's noop_llseek); a pidfd
    /// cannot seek.
    pub fn lseek(&self) -> crate::errno::KResult<u64> {
        match self {
            Anon::Eventfd(_) => Ok(0),
            Anon::Pidfd(_) => Err(crate::errno::Errno::ESPIPE),
        }
    }

    /// write(2): adds to an eventfd's counter; a pidfd has no write.
    pub fn write(
        &self,
        k: &mut Kernel,
        nonblock: bool,
        data: &[u8],
    ) -> crate::errno::KResult<usize> {
        match self {
            Anon::Eventfd(e) => e.write(k, nonblock, data),
            Anon::Pidfd(_) => Err(crate::errno::Errno::EINVAL),
        }
    }
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
    pub fn poll(&self, k: &Kernel, events: u16) -> Readiness {
        let (mask, key) = match &self.kind {
            FileKind::Pipe(end) => (end.poll(), Some(PollKey::File(end.id()))),
            FileKind::Anon(Anon::Eventfd(e)) => (e.poll(), Some(PollKey::File(e.id))),
            FileKind::Anon(Anon::Pidfd(p)) => (k.pidfd_poll(p), Some(PollKey::Exit(p.pid))),
            FileKind::Console(s) => (s.poll(events, Duration::ZERO), Some(PollKey::Console)),
            FileKind::Inode(_) if self.host.is_some() => {
                let s = self.host.as_ref().expect("checked");
                (s.poll(events), Some(PollKey::Console))
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
