//! The file descriptor table. Each fd refers to an open file description
//! (`fs::OpenFile`) and has its own FD_CLOEXEC. The first process's fds 0,
//! 1 and 2 are the host's standard streams, passed through to whatever the
//! host's fds are (terminal, pipe or regular file), so the guest sees their
//! kind.

use super::{Kernel, Tid};
use crate::errno::{Errno, KResult};
use crate::fs::file::{Processes, O_NONBLOCK, O_RDWR};
use crate::fs::pidfd::Pidfd;
use crate::fs::{FileKind, OpenFile};
use rustix::fd::{AsFd, BorrowedFd};
use std::io;
use std::rc::Rc;

/// One of the host's standard streams.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostStdio {
    Stdin,
    Stdout,
    Stderr,
}

/// One descriptor: the open file description it refers to (shared by dup
/// and fork) and its own FD_CLOEXEC.
#[derive(Clone)]
pub struct Fd {
    pub file: Rc<OpenFile>,
    pub cloexec: bool,
}

/// Linux's `files_struct`: shared by CLONE_FILES, copied otherwise (the
/// copy shares the open file descriptions, hence their offsets).
#[derive(Clone, Default)]
pub struct Files {
    fds: Vec<Option<Fd>>,
}

/// The most descriptors a process may have (RLIMIT_NOFILE's default).
pub const NR_OPEN: usize = 1024;

impl Files {
    /// 0, 1 and 2 open on the host's stdin, stdout and stderr, with the
    /// host fds' access modes (reading the write end of a host pipe is
    /// EBADF, as it would be natively).
    pub fn host_stdio() -> Files {
        let fd = |s: HostStdio| {
            Some(Fd {
                file: Rc::new(OpenFile::new(FileKind::Console(s), s.access_mode())),
                cloexec: false,
            })
        };
        Files {
            fds: vec![
                fd(HostStdio::Stdin),
                fd(HostStdio::Stdout),
                fd(HostStdio::Stderr),
            ],
        }
    }

    /// The descriptor `fd`, or EBADF.
    pub fn entry(&self, fd: u64) -> KResult<&Fd> {
        usize::try_from(fd)
            .ok()
            .and_then(|fd| self.fds.get(fd))
            .and_then(Option::as_ref)
            .ok_or(Errno::EBADF)
    }

    /// The file open on `fd`, or EBADF.
    pub fn get(&self, fd: u64) -> KResult<Rc<OpenFile>> {
        Ok(self.entry(fd)?.file.clone())
    }

    /// Closes `fd`, returning its file (dropped by the caller, after the
    /// table is no longer borrowed).
    pub fn close(&mut self, fd: u64) -> KResult<Rc<OpenFile>> {
        self.entry(fd)?;
        Ok(self.fds[fd as usize].take().expect("checked").file)
    }

    /// Installs `file` on the lowest free fd at or above `min` and below
    /// `limit` (RLIMIT_NOFILE): EMFILE.
    pub fn install(
        &mut self,
        file: Rc<OpenFile>,
        cloexec: bool,
        min: usize,
        limit: usize,
    ) -> KResult<u64> {
        let free = (min..limit.min(NR_OPEN)).find(|&i| self.fds.get(i).is_none_or(Option::is_none));
        let fd = free.ok_or(Errno::EMFILE)?;
        if self.fds.len() <= fd {
            self.fds.resize(fd + 1, None);
        }
        self.fds[fd] = Some(Fd { file, cloexec });
        Ok(fd as u64)
    }

    /// Installs `file` on exactly `fd` (dup3), returning what it replaced.
    pub fn install_at(
        &mut self,
        fd: u64,
        file: Rc<OpenFile>,
        cloexec: bool,
    ) -> KResult<Option<Fd>> {
        let fd = usize::try_from(fd)
            .ok()
            .filter(|&f| f < NR_OPEN)
            .ok_or(Errno::EBADF)?;
        if self.fds.len() <= fd {
            self.fds.resize(fd + 1, None);
        }
        Ok(self.fds[fd].replace(Fd { file, cloexec }))
    }

    pub fn set_cloexec(&mut self, fd: u64, cloexec: bool) -> KResult<()> {
        self.entry(fd)?;
        self.fds[fd as usize].as_mut().expect("checked").cloexec = cloexec;
        Ok(())
    }

    /// exec: closes every close-on-exec descriptor, returning them.
    pub fn close_on_exec(&mut self) -> Vec<Fd> {
        let mut closed = Vec::new();
        for slot in &mut self.fds {
            if slot.as_ref().is_some_and(|f| f.cloexec) {
                closed.extend(slot.take());
            }
        }
        closed
    }
}

impl Kernel {
    /// A new pidfd for process `pid` on the lowest free fd (always
    /// close-on-exec, as Linux's); `flags` may hold O_NONBLOCK.
    pub fn install_pidfd(&mut self, pid: Tid, flags: u32) -> KResult<u64> {
        let file = OpenFile::new(
            FileKind::Anon(Box::new(Pidfd { pid })),
            O_RDWR | (flags & O_NONBLOCK),
        );
        // install caps the limit at the table's size.
        let limit = self.nofile_limit() as usize;
        let files = self.current().files.clone();
        let fd = files.borrow_mut().install(Rc::new(file), true, 0, limit);
        fd
    }

    /// The process a pidfd refers to and the file's status flags: EBADF
    /// for no fd or one that is not a pidfd (Linux's pidfd_pid).
    pub fn pidfd_target(&self, fd: u64) -> KResult<(Tid, u32)> {
        let file = self.current().files.borrow().get(fd)?;
        match &file.kind {
            FileKind::Anon(ops) => match ops.as_any().downcast_ref::<Pidfd>() {
                Some(p) => Ok((p.pid, file.flags.get())),
                None => Err(Errno::EBADF),
            },
            _ => Err(Errno::EBADF),
        }
    }
}

/// What pidfds ask of the task table.
impl Processes for Kernel {
    fn ended(&self, pid: Tid) -> Option<bool> {
        self.process(pid).map(|g| g.borrow().zombie.is_some())
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

    /// The host fd's access mode (O_RDONLY, O_WRONLY or O_RDWR); O_RDWR
    /// when the host has no such fd, whose calls then fail as the host's.
    fn access_mode(self) -> u32 {
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

    /// Waits up to `timeout` for the host stream to be readable (or at its
    /// end, or in error); returns whether it is.
    pub fn wait_readable(self, timeout: std::time::Duration) -> bool {
        self.poll(rustix::event::PollFlags::IN.bits(), timeout) != 0
    }

    pub fn seek(self, pos: rustix::fs::SeekFrom) -> KResult<u64> {
        self.with_fd(|fd| rustix::fs::seek(fd, pos))
            .map_err(Errno::from)
    }
}
