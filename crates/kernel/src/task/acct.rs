//! Accounting: what getrusage, wait4's rusage, times() and the CPU-time
//! clocks report (Linux's kernel/sys.c getrusage and the task's
//! utime/stime, min_flt/maj_flt, nvcsw/nivcsw), and the limits and timers
//! that run on CPU time: RLIMIT_CPU (SIGXCPU each second past the soft
//! limit, SIGKILL at the hard one), ITIMER_VIRTUAL (user time) and
//! ITIMER_PROF (user and system time).
//!
//! A thread's [`Usage`] grows as it runs: guest instructions are user
//! time, the kernel's work for its traps system time (`sched.rs` charges
//! both), each page fault the kernel resolved a minor fault (every page
//! comes from memory or a file read at once: no fault waits for a disk,
//! so none is major), each time it blocks a voluntary context switch and
//! each time its slice ends with another thread chosen an involuntary
//! one. A thread that exits adds its usage to its process's
//! (`ThreadGroup::dead_threads`); a reaped process adds its own and its
//! reaped children's to its parent's `children`, which is RUSAGE_CHILDREN.

use super::rlimit::RLIMIT_CPU;
use super::sigdeliver::SigTarget;
use super::signal::{SigInfo, Signal, SI_KERNEL};
use super::{Kernel, Tid};
use std::time::Duration;

/// Clock ticks per second as user space sees them (USER_HZ).
pub const USER_HZ: u64 = 100;

/// getrusage's `who`.
pub const RUSAGE_SELF: i32 = 0;
pub const RUSAGE_CHILDREN: i32 = -1;
pub const RUSAGE_THREAD: i32 = 1;

/// sizeof(struct rusage) on riscv64: two timevals and fourteen longs.
pub const RUSAGE_SIZE: usize = 144;

/// The counters of Linux's struct rusage that cleave keeps.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    /// Time running guest instructions.
    pub utime: Duration,
    /// Time in the kernel on the thread's behalf.
    pub stime: Duration,
    pub minflt: u64,
    pub majflt: u64,
    /// Context switches: the thread blocked (voluntary), or its slice
    /// ended and another thread ran (involuntary).
    pub nvcsw: u64,
    pub nivcsw: u64,
    /// The most memory resident at once, in KiB (ru_maxrss): a maximum,
    /// not a sum.
    pub maxrss: u64,
}

impl Usage {
    /// User and system time together: what the CPU-time clocks show.
    pub fn cpu(&self) -> Duration {
        self.utime + self.stime
    }

    /// Adds `other`'s counters (the larger maxrss).
    pub fn add(&mut self, other: &Usage) {
        self.utime += other.utime;
        self.stime += other.stime;
        self.minflt += other.minflt;
        self.majflt += other.majflt;
        self.nvcsw += other.nvcsw;
        self.nivcsw += other.nivcsw;
        self.maxrss = self.maxrss.max(other.maxrss);
    }

    /// struct rusage as riscv64 lays it out; what cleave does not count
    /// (shared sizes, swaps, blocks, messages, signals) is 0, as Linux's.
    pub fn to_rusage(&self) -> [u8; RUSAGE_SIZE] {
        let mut b = [0; RUSAGE_SIZE];
        let mut put = |at: usize, v: u64| b[at..at + 8].copy_from_slice(&v.to_le_bytes());
        put(0, self.utime.as_secs());
        put(8, u64::from(self.utime.subsec_micros()));
        put(16, self.stime.as_secs());
        put(24, u64::from(self.stime.subsec_micros()));
        put(32, self.maxrss);
        put(64, self.minflt);
        put(72, self.majflt);
        put(128, self.nvcsw);
        put(136, self.nivcsw);
        b
    }
}

/// A duration in clock ticks (times(), /proc, siginfo's si_utime).
pub fn ticks(d: Duration) -> u64 {
    (d.as_nanos() / (1_000_000_000 / u128::from(USER_HZ))) as u64
}

impl Kernel {
    /// RUSAGE_SELF: every thread of the current process, live or exited,
    /// and the most memory its address space has held.
    pub fn process_usage(&self) -> Usage {
        let group = self.group();
        let g = group.borrow();
        let mut usage = g.dead_threads;
        for t in &g.threads {
            usage.add(&self.tasks[t].usage);
        }
        let rss = self.current().mm.borrow().hiwater_rss_kib();
        usage.maxrss = usage.maxrss.max(rss);
        usage
    }

    /// CPU time used by all threads of the current process.
    pub fn process_cpu_time(&self) -> Duration {
        let g = self.current().group.borrow();
        let live: Duration = g.threads.iter().map(|t| self.tasks[t].usage.cpu()).sum();
        live + g.dead_threads.cpu()
    }

    /// After `tid` was charged: RLIMIT_CPU and the CPU-time interval
    /// timers of its process (Linux's check_process_timers).
    pub(crate) fn check_cpu_limits(&mut self, tid: Tid) {
        let Some(group) = self.tasks.get(&tid).map(|t| t.group.clone()) else {
            return;
        };
        let (limit, virt, prof) = {
            let g = group.borrow();
            let limit = g.rlimits.get(RLIMIT_CPU);
            (limit, g.itimer_virtual, g.itimer_prof)
        };
        if limit.cur == u64::MAX && virt.is_none() && prof.is_none() {
            return;
        }
        let (user, total) = {
            let g = group.borrow();
            let live = g.threads.iter().filter_map(|t| self.tasks.get(t));
            let (mut user, mut total) = (g.dead_threads.utime, g.dead_threads.cpu());
            for t in live {
                user += t.usage.utime;
                total += t.usage.cpu();
            }
            (user, total)
        };
        let secs = total.as_secs();
        if limit.cur != u64::MAX {
            if limit.max != u64::MAX && secs >= limit.max {
                self.send_kernel_signal(tid, Signal::SIGKILL);
                return;
            }
            if secs >= limit.cur {
                // Linux raises the soft limit a second at a time, so that
                // the next SIGXCPU comes a second of CPU time later.
                group.borrow_mut().rlimits.next_cpu_second();
                self.send_kernel_signal(tid, Signal::SIGXCPU);
            }
        }
        for (which, now) in [(ITIMER_VIRTUAL, user), (ITIMER_PROF, total)] {
            let mut g = group.borrow_mut();
            let slot = match which {
                ITIMER_VIRTUAL => &mut g.itimer_virtual,
                _ => &mut g.itimer_prof,
            };
            let Some((at, interval)) = *slot else {
                continue;
            };
            if now < at {
                continue;
            }
            *slot = (!interval.is_zero()).then_some((at + interval, interval));
            drop(g);
            let sig = if which == ITIMER_VIRTUAL {
                Signal::SIGVTALRM
            } else {
                Signal::SIGPROF
            };
            self.send_kernel_signal(tid, sig);
        }
    }

    /// A signal from the kernel (SI_KERNEL) to the process of `tid`.
    fn send_kernel_signal(&mut self, tid: Tid, sig: Signal) {
        let tgid = self.tasks[&tid].group.borrow().tgid;
        self.send_signal(SigTarget::Process(tgid), SigInfo::new(sig, SI_KERNEL));
    }

    /// ITIMER_VIRTUAL's or ITIMER_PROF's clock for the current process:
    /// its user time, or its user and system time.
    pub fn itimer_clock(&self, which: i32) -> Duration {
        if which == ITIMER_VIRTUAL {
            let group = self.group();
            let g = group.borrow();
            let live = g.threads.iter().map(|t| self.tasks[t].usage.utime);
            live.sum::<Duration>() + g.dead_threads.utime
        } else {
            self.process_cpu_time()
        }
    }
}

pub const ITIMER_REAL: i32 = 0;
pub const ITIMER_VIRTUAL: i32 = 1;
pub const ITIMER_PROF: i32 = 2;

impl Kernel {
    /// setitimer(ITIMER_VIRTUAL or ITIMER_PROF): arms the timer to expire
    /// after `value` more of its clock (disarms it for zero), then every
    /// `interval`; returns what was set before, as getitimer says it.
    pub fn set_itimer_cpu(
        &mut self,
        which: i32,
        value: Duration,
        interval: Duration,
    ) -> (Duration, Duration) {
        let old = self.get_itimer_cpu(which);
        let now = self.itimer_clock(which);
        let group = self.group();
        let mut g = group.borrow_mut();
        let slot = if which == ITIMER_VIRTUAL {
            &mut g.itimer_virtual
        } else {
            &mut g.itimer_prof
        };
        *slot = (!value.is_zero()).then_some((now + value, interval));
        old
    }

    /// getitimer(ITIMER_VIRTUAL or ITIMER_PROF): the time left and the
    /// interval. A timer due but not yet fired has one tick left, as on
    /// Linux.
    pub fn get_itimer_cpu(&self, which: i32) -> (Duration, Duration) {
        let g = self.current().group.borrow();
        let timer = if which == ITIMER_VIRTUAL {
            g.itimer_virtual
        } else {
            g.itimer_prof
        };
        drop(g);
        let Some((at, interval)) = timer else {
            return (Duration::ZERO, Duration::ZERO);
        };
        let now = self.itimer_clock(which);
        let tick = Duration::from_nanos(1_000_000_000 / USER_HZ);
        (
            at.checked_sub(now).filter(|d| !d.is_zero()).unwrap_or(tick),
            interval,
        )
    }
}
