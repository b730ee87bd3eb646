//! POSIX timers (Linux's kernel/time/posix-timers.c): timer_create and
//! friends. Timers belong to a thread group: fork does not inherit them,
//! exec deletes them. An armed timer is in `Kernel::posix_timers` by its
//! CLOCK_MONOTONIC expiry (realtime expiries are converted when armed),
//! next to the ITIMER_REAL alarms, and the run loop and the idle loop fire
//! it. A CLOCK_PROCESS_CPUTIME_ID timer's expiry is in its process's CPU
//! time instead: it is checked after each of the process's slices (only
//! running threads use CPU time).
//!
//! As in Linux, a periodic timer is not re-armed when it fires but when
//! its signal is dequeued (`posixtimer_rearm`): the expiries missed in
//! between are its overrun count (si_overrun, timer_getoverrun), and a
//! blocked or slow receiver costs nothing meanwhile. Re-arming or deleting
//! a timer makes a signal it still has queued stale: it is dropped at
//! dequeue, as Linux's signal sequence number does.

use super::sigdeliver::SigTarget;
use super::signal::{SigInfo, Signal};
use super::{Kernel, Tid};
use crate::wait::{after, missed};
use std::collections::BTreeMap;
use std::time::Duration;

pub const SIGEV_SIGNAL: i32 = 0;
pub const SIGEV_NONE: i32 = 1;
pub const SIGEV_THREAD: i32 = 2;
pub const SIGEV_THREAD_ID: i32 = 4;

/// The clock whose timers count their process's CPU time.
pub const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;

/// si_code of a timer's signal.
pub const SI_TIMER: i32 = -2;

/// Offsets in siginfo's _timer member.
const SI_TIMERID: usize = 16;
const SI_OVERRUN: usize = 20;
const SI_VALUE: usize = 24;
/// si_sys_private: the kernel's own word, zeroed before the guest sees it.
const SI_SYS_PRIVATE: usize = 32;

/// How a timer announces an expiry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Notify {
    /// SIGEV_NONE: only timer_gettime tells.
    None,
    /// SIGEV_SIGNAL (and SIGEV_THREAD, which the kernel treats alike) to
    /// the process, or SIGEV_THREAD_ID to one of its threads.
    Signal {
        sig: Signal,
        value: u64,
        target: SigTarget,
    },
}

#[derive(Clone, Debug)]
pub struct PosixTimer {
    pub clock: i32,
    pub notify: Notify,
    /// CLOCK_MONOTONIC expiry: when armed, or (with `requeue`) when it last
    /// fired.
    pub expires: Option<Duration>,
    pub interval: Duration,
    /// Fired, its signal queued, not yet re-armed: the next expiry is
    /// computed when the signal is dequeued.
    pub requeue: bool,
    /// Incremented by every re-arm and delete: a queued signal with an
    /// older number is stale.
    pub seq: u32,
    /// The overrun count of the last delivered signal (timer_getoverrun).
    pub overrun_last: u32,
}

/// A thread group's timers.
#[derive(Clone, Debug, Default)]
pub struct Timers {
    pub map: BTreeMap<i32, PosixTimer>,
    /// Ids count up from 0 per process and are not reused (Linux's
    /// next_posix_timer_id).
    next_id: i32,
}

impl Timers {
    /// Adds the timer `make` builds for its id, returning the id.
    pub fn add(&mut self, make: impl FnOnce(i32) -> PosixTimer) -> i32 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1) & i32::MAX;
        self.map.insert(id, make(id));
        id
    }

    /// exec: every timer goes.
    pub fn delete_all(&mut self) {
        self.map.clear();
    }
}

impl PosixTimer {
    fn cpu(&self) -> bool {
        self.clock == CLOCK_PROCESS_CPUTIME_ID
    }
}

impl Kernel {
    /// Now, on the time line the current process's timers of `clock` keep
    /// their expiries on: its CPU time, or CLOCK_MONOTONIC.
    pub fn timer_now(&self, clock: i32) -> Duration {
        if clock == CLOCK_PROCESS_CPUTIME_ID {
            self.process_cpu_time()
        } else {
            self.monotonic()
        }
    }

    /// Arms (value > 0) or disarms timer `id` of the current process to
    /// first expire at `at` (see [`Kernel::timer_now`]), then every
    /// `interval`.
    pub fn arm_posix_timer(&mut self, id: i32, at: Option<Duration>, interval: Duration) {
        let group = self.group();
        let tgid = group.borrow().tgid;
        let mut g = group.borrow_mut();
        let Some(t) = g.posix_timers.map.get_mut(&id) else {
            return;
        };
        if let (Some(old), false, false) = (t.expires, t.requeue, t.cpu()) {
            self.posix_timers.remove(&(old, tgid, id));
        }
        t.seq = t.seq.wrapping_add(1);
        t.requeue = false;
        t.interval = interval;
        t.expires = at;
        if let (Some(at), Notify::Signal { .. }, false) = (at, t.notify, t.cpu()) {
            self.posix_timers.insert((at, tgid, id));
        }
    }

    /// Timer `id`'s (time left, interval), as timer_gettime reports them.
    pub fn posix_timer_get(&mut self, id: i32) -> Option<(Duration, Duration)> {
        let group = self.group();
        let now = self.timer_now(group.borrow().posix_timers.map.get(&id)?.clock);
        let mut g = group.borrow_mut();
        let t = g.posix_timers.map.get_mut(&id)?;
        let Some(mut at) = t.expires else {
            return Some((Duration::ZERO, t.interval));
        };
        if t.notify == Notify::None && at <= now {
            // Nothing fires a SIGEV_NONE timer: it is moved on when read.
            if t.interval.is_zero() {
                t.expires = None;
                return Some((Duration::ZERO, Duration::ZERO));
            }
            at = after(at, t.interval, missed(at, now, t.interval) + 1);
            t.expires = Some(at);
        }
        // Expired with its signal not yet delivered: Linux reports 1ns.
        let left = at.saturating_sub(now).max(Duration::from_nanos(1));
        Some((left, t.interval))
    }

    /// Fires every POSIX timer whose CLOCK_MONOTONIC expiry has passed
    /// (Linux's posix_timer_fn).
    pub(super) fn expire_posix_timers(&mut self) {
        let now = self.monotonic();
        while let Some(&(at, tgid, id)) = self.posix_timers.first() {
            if at > now {
                break;
            }
            self.posix_timers.remove(&(at, tgid, id));
            self.fire_posix_timer(tgid, id, at);
        }
    }

    /// Fires the current process's CPU-time timers that have expired,
    /// after one of its slices.
    pub(super) fn expire_cpu_timers(&mut self) {
        let group = self.group();
        let armed: Vec<(i32, Duration)> = group
            .borrow()
            .posix_timers
            .map
            .iter()
            .filter(|(_, t)| t.cpu() && !t.requeue)
            .filter_map(|(&id, t)| Some((id, t.expires?)))
            .collect();
        if armed.is_empty() {
            return;
        }
        let now = self.process_cpu_time();
        let tgid = group.borrow().tgid;
        for (id, at) in armed {
            if at <= now {
                self.fire_posix_timer(tgid, id, at);
            }
        }
    }

    /// Timer `id` of process `tgid`, due at `at`, expires: its signal is
    /// queued and, if periodic, it waits for the signal's delivery to be
    /// re-armed. Nothing happens for a timer that changed since.
    fn fire_posix_timer(&mut self, tgid: Tid, id: i32, at: Duration) {
        let Some(group) = self.groups.get(&tgid).cloned() else {
            return;
        };
        let mut g = group.borrow_mut();
        let Some(t) = g.posix_timers.map.get_mut(&id) else {
            return;
        };
        let Notify::Signal { sig, value, target } = t.notify else {
            return;
        };
        if t.expires != Some(at) || t.requeue {
            return;
        }
        if t.interval.is_zero() {
            t.expires = None;
        } else {
            t.requeue = true;
        }
        let mut info = SigInfo::new(sig, SI_TIMER);
        info.0[SI_TIMERID..SI_TIMERID + 4].copy_from_slice(&id.to_le_bytes());
        info.0[SI_VALUE..SI_VALUE + 8].copy_from_slice(&value.to_le_bytes());
        info.0[SI_SYS_PRIVATE..SI_SYS_PRIVATE + 4].copy_from_slice(&t.seq.to_le_bytes());
        drop(g);
        self.send_signal(target, info);
    }

    /// A timer's signal is being dequeued by the current thread (Linux's
    /// posixtimer_deliver_signal): re-arms a periodic timer, filling in
    /// si_overrun. Returns false for a stale signal, which is dropped.
    pub(super) fn posix_timer_dequeued(&mut self, info: &mut SigInfo) -> bool {
        let word = |at: usize| i32::from_le_bytes(info.0[at..at + 4].try_into().unwrap());
        let (id, seq) = (word(SI_TIMERID), word(SI_SYS_PRIVATE) as u32);
        info.0[SI_SYS_PRIVATE..SI_SYS_PRIVATE + 4].fill(0);
        let group = self.group();
        let tgid = group.borrow().tgid;
        let Some(clock) = group.borrow().posix_timers.map.get(&id).map(|t| t.clock) else {
            return false;
        };
        let now = self.timer_now(clock);
        let mut g = group.borrow_mut();
        let Some(t) = g.posix_timers.map.get_mut(&id) else {
            return false;
        };
        if t.seq != seq {
            return false;
        }
        if let (true, Some(fired)) = (t.requeue, t.expires) {
            let overrun = missed(fired, now, t.interval);
            let next = after(fired, t.interval, overrun + 1);
            t.requeue = false;
            t.expires = Some(next);
            t.overrun_last = overrun.min(i32::MAX as u64) as u32;
            info.0[SI_OVERRUN..SI_OVERRUN + 4].copy_from_slice(&t.overrun_last.to_le_bytes());
            if !t.cpu() {
                self.posix_timers.insert((next, tgid, id));
            }
        }
        true
    }

    /// The thread group of `tid`, if it is a live thread.
    pub fn tgid_of(&self, tid: Tid) -> Option<Tid> {
        self.tasks.get(&tid).map(|t| t.group.borrow().tgid)
    }
}
