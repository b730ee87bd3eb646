//! timerfd (Linux's fs/timerfd.c): a timer whose expiries are read from
//! a file descriptor as a u64 count.
//!
//! Expiries are kept on the CLOCK_MONOTONIC time line (an absolute
//! CLOCK_REALTIME time is converted when armed, as POSIX timers' are) and
//! counted when the file is read, polled or asked for its time: a
//! periodic timer that nobody reads costs nothing. Only the next expiry
//! is announced: the armed timers are in [`ARMED`] by expiry, which the
//! run loop fires (`expire`) and counts among its deadlines
//! (`next_expiry`), so that a reader or poller blocked on the timer's key
//! is woken then, in real or virtual time alike. As in Linux, a timer is
//! announced again only once its expiries have been read.
//!
//! The realtime clock cannot be set here (no clock_settime), so
//! TFD_TIMER_CANCEL_ON_SET is accepted and never cancels.

use super::file::{FileOps, OpError, OpResult, Processes, Readiness};
use super::file::{POLLIN, POLLRDNORM};
use super::pipe::note_wake;
use crate::errno::{Errno, KResult};
use crate::wait::{after, missed, PollKey, WaitReason};
use std::any::Any;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::time::Duration;

pub const CLOCK_REALTIME: i32 = 0;
pub const CLOCK_MONOTONIC: i32 = 1;
pub const CLOCK_BOOTTIME: i32 = 7;
pub const CLOCK_REALTIME_ALARM: i32 = 8;
pub const CLOCK_BOOTTIME_ALARM: i32 = 9;

pub const TFD_TIMER_ABSTIME: u32 = 1;
pub const TFD_TIMER_CANCEL_ON_SET: u32 = 2;

thread_local! {
    /// The armed timerfds not yet announced, by (CLOCK_MONOTONIC expiry, id).
    static ARMED: RefCell<BTreeSet<(Duration, u64)>> = const { RefCell::new(BTreeSet::new()) };
}

/// The earliest expiry to announce: a deadline of the run loop.
pub fn next_expiry() -> Option<Duration> {
    ARMED.with(|a| a.borrow().first().map(|&(at, _)| at))
}

/// Announces every timerfd whose expiry has come by `now`.
pub fn expire(now: Duration) {
    ARMED.with(|a| {
        let mut a = a.borrow_mut();
        while let Some(&(at, id)) = a.first() {
            if at > now {
                break;
            }
            a.remove(&(at, id));
            note_wake(id);
        }
    });
}

pub struct Timerfd {
    /// Kernel-wide unique, from the inode numbers: what its expiries are
    /// announced on.
    id: u64,
    pub clock: i32,
    /// The next expiry not yet counted (CLOCK_MONOTONIC), if armed.
    expires: Cell<Option<Duration>>,
    interval: Cell<Duration>,
    /// Expiries counted but not yet read.
    ticks: Cell<u64>,
}

impl Timerfd {
    pub fn new(id: u64, clock: i32) -> Timerfd {
        Timerfd {
            id,
            clock,
            expires: Cell::new(None),
            interval: Cell::new(Duration::ZERO),
            ticks: Cell::new(0),
        }
    }

    /// Sets the next expiry, to be announced when it comes.
    fn set_expiry(&self, at: Option<Duration>) {
        ARMED.with(|a| {
            let mut a = a.borrow_mut();
            if let Some(old) = self.expires.get() {
                a.remove(&(old, self.id));
            }
            if let Some(at) = at {
                a.insert((at, self.id));
            }
        });
        self.expires.set(at);
    }

    /// Counts the expiries up to `now` into `ticks`, moving a periodic
    /// timer on to its next one (Linux's hrtimer_forward_now).
    fn count(&self, now: Duration) {
        let Some(at) = self.expires.get().filter(|&at| at <= now) else {
            return;
        };
        let interval = self.interval.get();
        let n = 1 + missed(at, now, interval);
        self.ticks.set(self.ticks.get().saturating_add(n));
        let next = (!interval.is_zero()).then(|| after(at, interval, n));
        self.set_expiry(next);
    }

    /// timerfd_gettime: (time left, interval), counting what has expired.
    pub fn get(&self, now: Duration) -> (Duration, Duration) {
        self.count(now);
        let left = self.expires.get().map_or(Duration::ZERO, |at| at - now);
        (left, self.interval.get())
    }

    /// timerfd_settime: arms (a zero `value` disarms) to expire at `value`
    /// (absolute on the timer's clock with TFD_TIMER_ABSTIME, else from
    /// now), then every `interval`; returns the old setting. Expiries not
    /// read are dropped.
    pub fn set(
        &self,
        procs: &dyn Processes,
        flags: u32,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        let now = procs.monotonic();
        let old = self.get(now);
        self.ticks.set(0);
        self.interval.set(interval);
        let at = if value.is_zero() {
            None
        } else if flags & TFD_TIMER_ABSTIME == 0 {
            Some(now + value)
        } else if matches!(self.clock, CLOCK_REALTIME | CLOCK_REALTIME_ALARM) {
            // The realtime clock is the monotonic one plus a fixed offset.
            Some((value + now).saturating_sub(procs.realtime()))
        } else {
            Some(value)
        };
        self.set_expiry(at);
        old
    }

    /// The expiries since the last read, as a u64, waiting for one.
    fn read_now(
        &self,
        caller: &mut dyn Processes,
        nonblock: bool,
        len: usize,
    ) -> OpResult<Vec<u8>> {
        if len < 8 {
            return Err(Errno::EINVAL.into());
        }
        self.count(caller.monotonic());
        let ticks = self.ticks.replace(0);
        if ticks == 0 {
            if nonblock {
                return Err(Errno::EAGAIN.into());
            }
            return Err(OpError::Block(WaitReason::Poll(vec![PollKey::File(
                self.id,
            )])));
        }
        Ok(ticks.to_le_bytes().to_vec())
    }
}

impl FileOps for Timerfd {
    fn name(&self) -> String {
        "anon_inode:[timerfd]".into()
    }

    /// Readable once it has expired. Polling counts nothing: the timer
    /// moves on only when read, as Linux's.
    fn poll(&self, _events: u16, procs: &dyn Processes) -> Readiness {
        let expired = self.expires.get().is_some_and(|at| at <= procs.monotonic());
        let mask = if self.ticks.get() > 0 || expired {
            POLLIN | POLLRDNORM
        } else {
            0
        };
        Readiness {
            mask,
            key: Some(PollKey::File(self.id)),
        }
    }

    fn read_by(
        &self,
        caller: &mut dyn Processes,
        nonblock: bool,
        len: usize,
    ) -> Option<OpResult<Vec<u8>>> {
        Some(self.read_now(caller, nonblock, len))
    }

    /// Linux's noop_llseek: the offset stays 0.
    fn llseek(&self, _offset: i64, _whence: i32) -> KResult<u64> {
        Ok(0)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

impl Drop for Timerfd {
    fn drop(&mut self) {
        self.set_expiry(None);
    }
}
