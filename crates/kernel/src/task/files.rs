//! The file descriptor table, for now holding only the host's standard
//! streams on fds 0, 1 and 2. The file system brings real open files; the
//! standard streams stay host files, passed through to whatever the host's
//! fds are (terminal, pipe or regular file), so the guest sees their kind.

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

/// Linux's `files_struct`: shared by CLONE_FILES, copied otherwise.
#[derive(Clone, Debug)]
pub struct Files {
    fds: Vec<Option<HostStdio>>,
}

impl Files {
    /// 0, 1 and 2 open on the host's stdin, stdout and stderr.
    pub fn host_stdio() -> Files {
        Files {
            fds: vec![
                Some(HostStdio::Stdin),
                Some(HostStdio::Stdout),
                Some(HostStdio::Stderr),
            ],
        }
    }

    /// The file open on `fd`, or EBADF.
    pub fn get(&self, fd: u64) -> KResult<HostStdio> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.fds.get(fd).copied().flatten())
            .ok_or(Errno::EBADF)
    }

    pub fn close(&mut self, fd: u64) -> KResult<()> {
        self.get(fd)?;
        self.fds[fd as usize] = None;
        Ok(())
    }
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

    /// One host read(2): a short count is as legitimate here as on Linux.
    pub fn read(self, buf: &mut [u8]) -> KResult<usize> {
        self.with_fd(|fd| rustix::io::read(fd, buf))
            .map_err(host_errno)
    }

    /// One host write(2), unbuffered: the guest does its own buffering.
    pub fn write(self, data: &[u8]) -> KResult<usize> {
        self.with_fd(|fd| rustix::io::write(fd, data))
            .map_err(host_errno)
    }

    pub fn stat(self) -> KResult<rustix::fs::Stat> {
        self.with_fd(|fd| rustix::fs::fstat(fd)).map_err(host_errno)
    }

    pub fn is_terminal(self) -> bool {
        self.with_fd(|fd| rustix::termios::isatty(fd))
    }

    pub fn termios(self) -> KResult<rustix::termios::Termios> {
        self.with_fd(|fd| rustix::termios::tcgetattr(fd))
            .map_err(host_errno)
    }

    pub fn winsize(self) -> KResult<rustix::termios::Winsize> {
        self.with_fd(|fd| rustix::termios::tcgetwinsize(fd))
            .map_err(host_errno)
    }

    pub fn seek(self, pos: rustix::fs::SeekFrom) -> KResult<u64> {
        self.with_fd(|fd| rustix::fs::seek(fd, pos))
            .map_err(host_errno)
    }
}

/// A host errno as the guest's. The host is Linux, whose errno values are
/// the asm-generic ones on every architecture cleave builds for (x86-64,
/// aarch64, riscv64), the same numbers the guest uses.
fn host_errno(e: rustix::io::Errno) -> Errno {
    Errno(e.raw_os_error())
}
