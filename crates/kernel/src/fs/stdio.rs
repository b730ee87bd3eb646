//! The host's standard streams, as the first process's fds 0, 1 and 2 see
//! them: passed through to whatever the host's fds are (terminal, pipe or
//! regular file).

use super::file::O_RDWR;
use crate::errno::{Errno, KResult};
use rustix::fd::{AsFd, BorrowedFd};
use std::io;

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
        self.poll(events, std::time::Duration::ZERO)
    }

    fn read(&self, buf: &mut [u8]) -> KResult<usize> {
        HostStdio::read(*self, buf)
    }

    fn write(&self, data: &[u8]) -> KResult<usize> {
        HostStdio::write(*self, data)
    }
}
