//! pidfds: a file descriptor that refers to a process (Linux's
//! kernel/pid.c and pidfs). Made by pidfd_open and by clone's CLONE_PIDFD;
//! used by poll (readable once the process has ended), waitid(P_PIDFD) and
//! pidfd_send_signal. Process ids are never reused here, so the pid alone
//! names the process for as long as the pidfd lives.

use super::file::{FileOps, Processes, Readiness};
use super::file::{POLLHUP, POLLIN, POLLRDNORM};
use crate::wait::PollKey;
use std::any::Any;

pub struct Pidfd {
    pub pid: u32,
}

impl FileOps for Pidfd {
    fn name(&self) -> String {
        "anon_inode:[pidfd]".into()
    }

    /// pidfd_poll: readable once every thread of the process has ended,
    /// and hung up once it has been reaped.
    fn poll(&self, _events: u16, procs: &dyn Processes) -> Readiness {
        let mask = match procs.ended(self.pid) {
            None => POLLIN | POLLRDNORM | POLLHUP,
            Some(true) => POLLIN | POLLRDNORM,
            Some(false) => 0,
        };
        Readiness {
            mask,
            key: Some(PollKey::Exit(self.pid)),
        }
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
