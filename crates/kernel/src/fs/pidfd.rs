//! pidfds: a file descriptor that refers to a process (Linux's
//! kernel/pid.c and pidfs). Made by pidfd_open and by clone's CLONE_PIDFD;
//! used by poll (readable once the process has ended), waitid(P_PIDFD) and
//! pidfd_send_signal. Process ids are never reused here, so the pid alone
//! names the process for as long as the pidfd lives.

use super::file::{Anon, FileKind, OpenFile, O_NONBLOCK, O_RDWR};
use super::file::{POLLHUP, POLLIN, POLLRDNORM};
use crate::errno::{Errno, KResult};
use crate::task::{Kernel, Tid};
use std::rc::Rc;

pub struct Pidfd {
    pub pid: Tid,
}

impl Kernel {
    /// pidfd_poll: readable once every thread of the process has ended,
    /// and hung up once it has been reaped.
    pub fn pidfd_poll(&self, pidfd: &Pidfd) -> u16 {
        match self.process(pidfd.pid) {
            None => POLLIN | POLLRDNORM | POLLHUP,
            Some(g) if g.borrow().zombie.is_some() => POLLIN | POLLRDNORM,
            Some(_) => 0,
        }
    }

    /// A new pidfd for process `pid` on the lowest free fd (always
    /// close-on-exec, as Linux's); `flags` may hold O_NONBLOCK.
    pub fn install_pidfd(&mut self, pid: Tid, flags: u32) -> KResult<u64> {
        let file = OpenFile::new(
            FileKind::Anon(Anon::Pidfd(Pidfd { pid })),
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
            FileKind::Anon(Anon::Pidfd(p)) => Ok((p.pid, file.flags.get())),
            _ => Err(Errno::EBADF),
        }
    }
}
