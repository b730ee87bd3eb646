//! The host's standard streams, as the first process's fds 0, 1 and 2 see
//! them: passed through to whatever the host's fds are (terminal, pipe or
//! regular file). As an open file (the console, `FileOps for HostStdio`),
//! a read or write never makes the host thread wait: see [`host_read`]
//! and [`host_write`], which host FIFOs share.

use super::file::{FileOps, Io, OpError, OpResult, Processes, Readiness};
use super::file::{O_RDWR, POLLIN, POLLOUT};
use super::stat::Stat;
use super::tty::Terminal;
use super::{Stream, Vfs};
use crate::errno::{Errno, KResult};
use crate::wait::{PollKey, WaitReason};
use rustix::fd::{AsFd, BorrowedFd};
use rustix::fs::SeekFrom;
use std::any::Any;
use std::io;
use std::time::Duration;

/// statfs's f_type for a host pipe and for anything else behind a host
/// stream (a terminal's devpts).
pub const PIPEFS_MAGIC: u64 = 0x5049_5045;
const DEVPTS_SUPER_MAGIC: u64 = 0x1cd1;
/// Writes up to this size to a pipe are atomic, and POLLOUT promises room
/// for them.
const PIPE_BUF: usize = super::pipe::PIPE_BUF;

/// One of the host's standard streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostStdio {
    Stdin,
    Stdout,
    Stderr,
}

impl HostStdio {
    /// Runs `f` on the host fd. The standard streams live as long as the
    /// process, so borrowing them is always sound.
    fn with_fd<T>(self, f: impl FnOnce(BorrowedFd) -> T) -> T {
        match self {
            HostStdio::Stdin => f(io::stdin().as_fd()),
            HostStdio::Stdout => f(io::stdout().as_fd()),
            HostStdio::Stderr => f(io::stderr().as_fd()),
        }
    }

    /// The host fd's access mode (O_RDONLY, O_WRONLY or O_RDWR); O_RDWR
    /// when the host has no such fd, whose calls then fail as the host's.
    pub fn access_mode(self) -> u32 {
        self.with_fd(|fd| rustix::fs::fcntl_getfl(fd))
            .map_or(O_RDWR, |f| (f & rustix::fs::OFlags::RWMODE).bits())
    }

    /// One host read(2): a short count is as legitimate here as on Linux.
    pub fn read(self, buf: &mut [u8]) -> KResult<usize> {
        self.with_fd(|fd| rustix::io::read(fd, buf))
            .map_err(Errno::from)
    }

    /// One host write(2), unbuffered: the guest does its own buffering.
    pub fn write(self, data: &[u8]) -> KResult<usize> {
        self.with_fd(|fd| rustix::io::write(fd, data))
            .map_err(Errno::from)
    }

    pub fn stat(self) -> KResult<rustix::fs::Stat> {
        self.with_fd(|fd| rustix::fs::fstat(fd))
            .map_err(Errno::from)
    }

    /// Whether its readiness can change: a pipe, a socket or a terminal can
    /// become readable or writable; a file or /dev/null always is.
    pub fn can_change(self) -> bool {
        use rustix::fs::FileType;
        self.stat().is_ok_and(|st| {
            let t = FileType::from_raw_mode(st.st_mode);
            matches!(t, FileType::Fifo | FileType::Socket)
                || crate::fs::tty::Terminal::of_stdio(self).is_ok()
        })
    }

    /// The host's poll(2) answer for `events` (POLL* bits), waiting at most
    /// `timeout`. The host's bits are the asm-generic ones the guest uses.
    pub fn poll(self, events: u16, timeout: std::time::Duration) -> u16 {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let timeout = Timespec {
            tv_sec: timeout.as_secs() as i64,
            tv_nsec: i64::from(timeout.subsec_nanos()),
        };
        self.with_fd(|fd| {
            let mut p = [PollFd::from_borrowed_fd(
                fd,
                PollFlags::from_bits_retain(events),
            )];
            match rustix::event::poll(&mut p, Some(&timeout)) {
                Ok(_) => p[0].revents().bits(),
                // Interrupted or failed: nothing is known to be ready.
                Err(_) => 0,
            }
        })
    }

    pub fn seek(self, pos: rustix::fs::SeekFrom) -> KResult<u64> {
        self.with_fd(|fd| rustix::fs::seek(fd, pos))
            .map_err(Errno::from)
    }
}

/// A host descriptor a guest reads or writes as a stream: one of the
/// host's standard streams, or a host FIFO. The system-call layer polls it
/// before each read or write, never letting the host thread wait on it.
pub trait HostIo {
    /// The host's poll(2) answer now for `events` (POLL* bits).
    fn ready(&self, events: u16) -> u16;
    /// One host read(2).
    fn read(&self, buf: &mut [u8]) -> KResult<usize>;
    /// One host write(2).
    fn write(&self, data: &[u8]) -> KResult<usize>;
}

impl HostIo for HostStdio {
    fn ready(&self, events: u16) -> u16 {
        HostStdio::poll(*self, events, Duration::ZERO)
    }

    fn read(&self, buf: &mut [u8]) -> KResult<usize> {
        HostStdio::read(*self, buf)
    }

    fn write(&self, data: &[u8]) -> KResult<usize> {
        HostStdio::write(*self, data)
    }
}

/// Writes to host stream `s` (a standard stream or a FIFO) without
/// making the host thread wait on it: a chunk at a time while the host has
/// room, and with none the caller blocks as a poller of the console does,
/// `io.done` counting the bytes already written (as a pipe write's). A
/// broken pipe is EPIPE, which raises SIGPIPE as Linux's does.
pub fn host_write(s: &impl HostIo, io: &mut Io, data: &[u8]) -> OpResult<usize> {
    let mut done = io.done.min(data.len());
    while done < data.len() {
        // POLLOUT on a pipe promises room for PIPE_BUF bytes: a chunk that
        // size never makes the host thread wait (nor does a tty's, in
        // practice); errors show as POLLERR or POLLHUP and the write says
        // which.
        if s.ready(POLLOUT) == 0 {
            if io.nonblock {
                return if done > 0 {
                    Ok(done)
                } else {
                    Err(Errno::EAGAIN.into())
                };
            }
            io.done = done;
            return Err(OpError::Block(WaitReason::Poll(vec![PollKey::Console])));
        }
        let end = data.len().min(done + PIPE_BUF);
        match s.write(&data[done..end]) {
            Ok(n) => done += n,
            Err(_) if done > 0 => break,
            Err(e) => return Err(e.into()),
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
pub fn host_read(s: &impl HostIo, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
    if s.ready(POLLIN) == 0 {
        if io.nonblock {
            return Err(Errno::EAGAIN.into());
        }
        return Err(OpError::Block(WaitReason::Poll(vec![PollKey::Console])));
    }
    let mut buf = vec![0; len];
    let n = s.read(&mut buf)?;
    buf.truncate(n);
    Ok(buf)
}

/// The console: one of the host's standard streams, open in the guest.
impl FileOps for HostStdio {
    /// A host pipe or socket by its host inode, as Linux would show it;
    /// anything else is the console.
    fn name(&self) -> String {
        use rustix::fs::FileType;
        match HostStdio::stat(*self) {
            Ok(st) => match FileType::from_raw_mode(st.st_mode) {
                FileType::Fifo => format!("pipe:[{}]", st.st_ino),
                FileType::Socket => format!("socket:[{}]", st.st_ino),
                _ => "/dev/console".into(),
            },
            Err(_) => "/dev/console".into(),
        }
    }

    fn read_iter(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        host_read(self, io, len)
    }

    fn write_iter(&self, io: &mut Io, data: &[u8]) -> OpResult<usize> {
        host_write(self, io, data)
    }

    /// The host fd's own lseek: a host file keeps its offset on the host.
    fn llseek(&self, offset: i64, whence: i32) -> KResult<u64> {
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
        HostStdio::seek(*self, pos)
    }

    fn poll(&self, events: u16, _procs: &dyn Processes) -> Readiness {
        Readiness {
            mask: HostStdio::poll(*self, events, Duration::ZERO),
            key: Some(PollKey::Console),
        }
    }

    fn terminal(&self) -> Option<Terminal> {
        Terminal::of_stdio(*self).ok()
    }

    /// The host's kind (character device, pipe, regular file) passed
    /// through lets the guest's libc pick the buffering the host program
    /// would. A host terminal is the guest's console, so that ttyname
    /// finds it where /proc/self/fd says it is.
    fn stat(&self, vfs: &Vfs) -> KResult<Stat> {
        if self.terminal().is_some() {
            let root = vfs.root();
            if let Ok(console) = vfs.walk(&root, &root, b"/dev/console", true) {
                return Ok(Stat::of(&console));
            }
        }
        Ok(Stat::host(&HostStdio::stat(*self)?))
    }

    fn magic(&self) -> u64 {
        let fifo = HostStdio::stat(*self)
            .is_ok_and(|st| rustix::fs::FileType::from_raw_mode(st.st_mode).is_fifo());
        if fifo {
            PIPEFS_MAGIC
        } else {
            DEVPTS_SUPER_MAGIC
        }
    }

    fn write_may_block(&self) -> bool {
        true
    }

    fn stream(&self) -> Option<Stream> {
        Some(Stream::Host(*self))
    }

    /// The host's stream may be a regular file, whose pread works.
    fn positioned(&self) -> bool {
        true
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
