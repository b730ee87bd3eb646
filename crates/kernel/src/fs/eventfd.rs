//! eventfd: a 64-bit counter behind a file descriptor (Linux's
//! fs/eventfd.c). A write adds to it; a read takes all of it, or one in
//! semaphore mode. Readers wait while it is 0, writers while the addition
//! would reach u64::MAX. Waiters block on `WaitReason::Eventfd { id }` and
//! are woken, restarting their call, through the same wakeup list as
//! pipes (`pipe::note_wake`), which also wakes pollers.

use super::file::{FileOps, OpError, OpResult, Processes, Readiness};
use super::file::{POLLERR, POLLIN, POLLOUT, POLLRDNORM, POLLWRNORM};
use super::pipe::note_wake;
use crate::errno::{Errno, KResult};
use crate::wait::{PollKey, WaitReason};
use std::any::Any;
use std::cell::Cell;

pub const EFD_SEMAPHORE: u32 = 1;

/// The largest value the counter may hold.
const MAX: u64 = u64::MAX - 1;

pub struct Eventfd {
    /// Kernel-wide unique, from the inode numbers: what waiters wait on.
    id: u64,
    count: Cell<u64>,
    semaphore: bool,
}

impl Eventfd {
    pub fn new(id: u64, initval: u64, semaphore: bool) -> Eventfd {
        Eventfd {
            id,
            count: Cell::new(initval),
            semaphore,
        }
    }
}

impl FileOps for Eventfd {
    fn name(&self) -> String {
        "anon_inode:[eventfd]".into()
    }

    /// eventfd_poll.
    fn poll(&self, _events: u16, _procs: &dyn Processes) -> Readiness {
        let count = self.count.get();
        let mut mask = 0;
        if count > 0 {
            mask |= POLLIN | POLLRDNORM;
        }
        if count == u64::MAX {
            mask |= POLLERR;
        }
        if count < MAX {
            mask |= POLLOUT | POLLWRNORM;
        }
        Readiness {
            mask,
            key: Some(PollKey::File(self.id)),
        }
    }

    /// eventfd_read: the 8-byte counter value (or 1), waiting while it is 0.
    fn read(&self, nonblock: bool, len: usize) -> OpResult<Vec<u8>> {
        if len < 8 {
            return Err(Errno::EINVAL.into());
        }
        let count = self.count.get();
        if count == 0 {
            if nonblock {
                return Err(Errno::EAGAIN.into());
            }
            return Err(OpError::Block(WaitReason::Eventfd { id: self.id }));
        }
        let value = if self.semaphore { 1 } else { count };
        self.count.set(count - value);
        note_wake(self.id);
        Ok(value.to_le_bytes().to_vec())
    }

    /// eventfd_write: adds the 8-byte value, waiting while it does not fit.
    fn write(&self, nonblock: bool, data: &[u8]) -> OpResult<usize> {
        let Some(bytes) = data.get(..8) else {
            return Err(Errno::EINVAL.into());
        };
        let value = u64::from_le_bytes(bytes.try_into().expect("8 bytes"));
        if value == u64::MAX {
            return Err(Errno::EINVAL.into());
        }
        let count = self.count.get();
        if u64::MAX - count <= value {
            if nonblock {
                return Err(Errno::EAGAIN.into());
            }
            return Err(OpError::Block(WaitReason::Eventfd { id: self.id }));
        }
        self.count.set(count + value);
        if value > 0 {
            note_wake(self.id);
        }
        Ok(8)
    }

    /// Linux's noop_llseek: the offset stays 0.
    fn llseek(&self, _offset: i64, _whence: i32) -> KResult<u64> {
        Ok(0)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
