//! The file descriptor table. Each fd refers to an open file description
//! (`fs::OpenFile`) and has its own FD_CLOEXEC. The first process's fds 0,
//! 1 and 2 are the host's standard streams, passed through to whatever the
//! host's fds are (terminal, pipe or regular file), so the guest sees their
//! kind.

use super::{Kernel, Tid};
use crate::errno::{Errno, KResult};
use crate::fs::file::{Processes, O_NONBLOCK, O_RDWR};
use crate::fs::pidfd::Pidfd;
use crate::fs::stdio::HostStdio;
use crate::fs::OpenFile;
use std::rc::Rc;
use std::time::Duration;

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
                file: Rc::new(OpenFile::new(Box::new(s), s.access_mode())),
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
        let file = OpenFile::new(Box::new(Pidfd { pid }), O_RDWR | (flags & O_NONBLOCK));
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
        match file.downcast::<Pidfd>() {
            Some(p) => Ok((p.pid, file.flags.get())),
            None => Err(Errno::EBADF),
        }
    }
}

/// What files ask of the task table.
impl Processes for Kernel {
    fn ended(&self, pid: Tid) -> Option<bool> {
        self.process(pid).map(|g| g.borrow().zombie.is_some())
    }

    fn monotonic(&self) -> Duration {
        Kernel::monotonic(self)
    }

    fn realtime(&self) -> Duration {
        self.clock.realtime(&self.hart)
    }

    fn current_tgid(&self) -> Tid {
        self.group().borrow().tgid
    }

    fn signals_pending(&self) -> u64 {
        let t = self.current();
        t.pending.set | t.group.borrow().pending.set
    }

    fn take_signal(&mut self, mask: u64) -> Option<[u8; 128]> {
        self.dequeue_signal(mask).map(|info| info.0)
    }
}
