//! The scheduler: which runnable thread gets the hart next, and for how
//! long (a small CFS: Linux's kernel/sched/fair.c with its nice weights,
//! without groups). `Kernel::schedule`, what the run loop (`crate::entry`) calls
//! before each slice, fires the timers and wake-ups that are due, picks
//! the thread and switches the hart to it (`switch_to`), or idles.
//!
//! # Charging
//!
//! Everything a thread makes the kernel do is charged to it, in
//! instruction-equivalents (*units*): each guest instruction is one unit,
//! and each trap (a system call, a page fault, a fault that becomes a
//! signal) costs [`TRAP_COST`] more, or in real time what the host took
//! for it if that is more (at virtual time's 10 ns a unit, see `clock.rs`).
//! In deterministic mode the charge is exactly [`TRAP_COST`], and virtual
//! time passes by it, so that the same run charges the same. A call that
//! returns at once (a read on an empty O_NONBLOCK pipe, waitpid with
//! WNOHANG, getpid) is charged like any other: a thread looping on one uses
//! its slice up as a thread looping on instructions does.
//!
//! # Choosing
//!
//! A thread runs for a slice of [`SLICE`] units, across as many traps as
//! that takes, unless it blocks, yields or exits first. Each thread's
//! charges add up to its `vruntime`, scaled by its weight, which its nice
//! value gives (Linux's table: nice 0 weighs 1024, each step a factor of
//! about 1.25; SCHED_IDLE weighs 3); when a slice ends, the waiting thread
//! with the least vruntime is next (first come, first served among
//! equals), so that every runnable thread gets a share of the hart in
//! proportion to its weight over time: all the same share at equal nice.
//! `min_vruntime` follows the least vruntime of the runnable threads and
//! never goes back; it places threads that join the queue:
//!
//! - a new thread (fork, clone) at `min_vruntime + SLICE`: behind the
//!   threads already waiting, so that a fork bomb's children queue up
//!   behind everyone else (Linux's START_DEBIT);
//! - a woken thread (from a sleep, a wait, poll, a pipe, a futex, a signal)
//!   at `max(its vruntime, min_vruntime - SLICE)`: a thread that has slept
//!   gets up to one slice of credit and goes ahead of every thread that
//!   has kept running (Linux's sleeper credit), while a thread that has
//!   run more than its share (one that wakes often and runs long) keeps
//!   its debt;
//! - a thread that yields (sched_yield) behind the last waiting thread:
//!   every other runnable thread runs before it runs again.
//!
//! # Deadlines
//!
//! The hart's budget stops at the next deadline (a sleep, a timeout, an
//! alarm): exactly there in virtual time, a little early in real time,
//! where the hart runs faster than virtual time's 100 MIPS. A thread that
//! its deadline wakes ends the current slice if it is ahead of the current
//! thread in vruntime, as a sleeper that has not used more than its share
//! is. Threads woken by other threads (a pipe written, a futex woken) wait
//! for the slice to end, so that a writer and its reader do not take turns
//! at every write.
//!
//! # The bound
//!
//! The bound below is for threads of equal weight (vruntime then counts
//! units); a lighter thread's units count more and it waits accordingly.
//!
//! Let S be [`SLICE`] units and O the most a single trap can be charged
//! beyond the rest of a slice ([`TRAP_COST`] in deterministic mode; the
//! host time of the longest system call otherwise). Every runnable thread's
//! vruntime stays within [min_vruntime - S, min_vruntime + S + O], and
//! min_vruntime does not move while a woken thread waits below it. So:
//!
//! - A thread whose deadline has come, and that has used no more than its
//!   share (its vruntime at most `min_vruntime` when it wakes: any thread
//!   that slept at least as long as it last ran, for one), runs within
//!   K * (S + O) units of work of its deadline, plus the trap in progress
//!   (O), where K is the number of threads woken before it that are still
//!   waiting: each of them runs at most one slice first. How many other
//!   threads are runnable, computing or looping on system calls (a fork
//!   bomb's thousands), does not enter: they all wait behind it. With K = 0,
//!   the usual case, it runs as soon as its deadline is noticed.
//! - A thread that has used more than its share waits, in addition, until
//!   the others have caught up with it.
//! - Any runnable thread runs within (N - 1) * (3S + 2O) units, N being the
//!   number of runnable threads.
//!
//! In deterministic mode a unit is 10 ns of virtual time, so S + O is
//! about 10.5 ms; `sleep 0.1` beside 1000 computing and 1000
//! getppid-looping processes takes 100.003 ms of virtual time.

use super::{Kernel, Tid};
use crate::mm::TlbFlush;
use std::collections::{BTreeMap, BTreeSet};
use std::rc::Rc;
use std::time::Duration;

/// The units (instructions and kernel work) a thread runs before the
/// scheduler looks at the others.
pub const SLICE: u64 = 1 << 20;

/// What one trap costs at least, in units: about what a system call costs
/// a native riscv64 machine in instructions. A thread that loops on a
/// system call uses its slice up within SLICE / TRAP_COST calls.
pub const TRAP_COST: u64 = 128;

pub const SCHED_OTHER: u32 = 0;
pub const SCHED_FIFO: u32 = 1;
pub const SCHED_RR: u32 = 2;
pub const SCHED_BATCH: u32 = 3;
pub const SCHED_IDLE: u32 = 5;
pub const SCHED_DEADLINE: u32 = 6;

/// A thread's scheduling attributes (Linux's policy, rt_priority and
/// static_prio as a nice value).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SchedAttr {
    pub policy: u32,
    /// 1..=99 under SCHED_FIFO and SCHED_RR, else 0.
    pub rt_priority: u32,
    /// -20 (most favoured) ..= 19.
    pub nice: i32,
}

/// The weight of nice 0: a thread of weight w is charged
/// units * NICE_0_WEIGHT / w of vruntime.
const NICE_0_WEIGHT: u64 = 1024;

/// Linux's sched_prio_to_weight: each nice step is about 10% of CPU
/// time between two busy threads (a factor of 1.25).
const NICE_TO_WEIGHT: [u64; 40] = [
    88761, 71755, 56483, 46273, 36291, 29154, 23254, 18705, 14949, 11916, 9548, 7620, 6100, 4904,
    3906, 3121, 2501, 1991, 1586, 1277, 1024, 820, 655, 526, 423, 335, 272, 215, 172, 137, 110, 87,
    70, 56, 45, 36, 29, 23, 18, 15,
];

/// SCHED_IDLE's weight (Linux's WEIGHT_IDLEPRIO).
const IDLE_WEIGHT: u64 = 3;

impl SchedAttr {
    /// The thread's share of the hart against others. cleave has no
    /// real-time class: SCHED_FIFO and SCHED_RR threads are fair threads
    /// of the heaviest weight (nice -20), so that none can starve the
    /// others; SCHED_BATCH is SCHED_OTHER's.
    pub fn weight(&self) -> u64 {
        match self.policy {
            SCHED_IDLE => IDLE_WEIGHT,
            SCHED_FIFO | SCHED_RR => NICE_TO_WEIGHT[0],
            _ => NICE_TO_WEIGHT[(self.nice + 20).clamp(0, 39) as usize],
        }
    }
}

/// The runnable threads: the one whose slice is running, and the others
/// in order of vruntime.
#[derive(Default)]
pub struct RunQueue {
    /// The thread whose slice is running, if any.
    current: Option<Tid>,
    /// Units charged to the current thread since it was picked.
    used: u64,
    /// The waiting threads by (vruntime, arrival, tid): the first is next.
    waiting: BTreeSet<(u64, u64, Tid)>,
    /// Each waiting thread's key in `waiting`.
    keys: BTreeMap<Tid, (u64, u64)>,
    /// Counts arrivals, so that equal vruntimes run first come first
    /// served.
    arrivals: u64,
    /// The least vruntime of the runnable threads, never decreasing.
    min_vruntime: u64,
    /// Units charged to every thread since boot: the kernel's measure of
    /// work done, for what must happen every so much of it.
    pub total: u64,
}

impl RunQueue {
    /// Whether no thread is runnable.
    pub fn is_empty(&self) -> bool {
        self.current.is_none() && self.waiting.is_empty()
    }

    /// Whether `tid` is runnable (running its slice or waiting).
    pub fn contains(&self, tid: Tid) -> bool {
        self.current == Some(tid) || self.keys.contains_key(&tid)
    }

    fn insert(&mut self, tid: Tid, vruntime: u64) {
        self.arrivals += 1;
        self.waiting.insert((vruntime, self.arrivals, tid));
        self.keys.insert(tid, (vruntime, self.arrivals));
    }

    /// Takes `tid` off the queue (it blocked, stopped or exited). Returns
    /// whether it was on it.
    pub fn remove(&mut self, tid: Tid) -> bool {
        if self.current == Some(tid) {
            self.current = None;
            return true;
        }
        match self.keys.remove(&tid) {
            Some((v, a)) => self.waiting.remove(&(v, a, tid)),
            None => false,
        }
    }

    /// `from` is now called `to` (exec from a non-leader thread takes the
    /// leader's tid).
    pub fn rename(&mut self, from: Tid, to: Tid) {
        if self.current == Some(from) {
            self.current = Some(to);
        } else if let Some((v, a)) = self.keys.remove(&from) {
            self.waiting.remove(&(v, a, from));
            self.waiting.insert((v, a, to));
            self.keys.insert(to, (v, a));
        }
    }

    /// Forgets every thread (shutdown).
    pub fn clear(&mut self) {
        *self = RunQueue::default();
    }
}

/// How a thread joins the run queue (see the module comment).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    New,
    Woken,
}

impl Kernel {
    /// Puts the next thread to run on the hart and returns it, after the
    /// timers and wake-ups that are due; waits when nothing is runnable.
    /// None when the kernel stops: PID 1 ended, no thread is left, or
    /// nothing can ever wake (a deadlock).
    pub(crate) fn schedule(&mut self) -> Option<Tid> {
        loop {
            if self.init_exit.is_some() || self.tasks.is_empty() {
                return None;
            }
            if !self.timers.is_empty() {
                self.expire_timers();
            }
            if !self.alarms.is_empty() {
                self.expire_alarms();
            }
            if !self.posix_timers.is_empty() {
                self.expire_posix_timers();
            }
            if crate::fs::timerfd::next_expiry().is_some() {
                crate::fs::timerfd::expire(self.monotonic());
            }
            self.check_console();
            // Whatever ran since the last pass (a trap, a death on the way
            // back to user mode, exec) may have closed pipe ends or changed
            // pipes, and a timer or a signal may have changed a file that
            // an epoll watches: their waiters are woken before anyone is
            // chosen.
            self.wake_pipes();
            if let Some(tid) = self.pick_next() {
                self.switch_to(tid);
                return Some(tid);
            }
            if !self.idle() {
                self.deadlock = true;
                return None;
            }
        }
    }

    /// After signal delivery: hands the terminal to the host shell if the
    /// main program stopped. Returns whether `tid` still goes back to user
    /// mode (it may have ended, or stopped with its group).
    pub(crate) fn back_to_user(&mut self, tid: Tid) -> bool {
        if std::mem::take(&mut self.group_stopped) {
            self.stop_with_main();
        }
        self.on_hart == Some(tid) && !self.is_blocked(tid)
    }

    /// Charges a slice of `instructions` that took `wall` on the host to
    /// `tid` (CPU time, vruntime) and fires the CPU-time timers it expired.
    pub(crate) fn account_slice(&mut self, tid: Tid, wall: Duration, instructions: u64) {
        let cost = self.clock.slice_cost(wall, instructions);
        self.current_mut().usage.utime += cost;
        self.charge(tid, instructions);
        self.expire_cpu_timers();
        self.check_cpu_limits(tid);
    }

    /// Puts `tid`'s registers and page table on the hart.
    fn switch_to(&mut self, tid: Tid) {
        if self.on_hart == Some(tid) {
            return;
        }
        let next_mm = self.tasks[&tid].mm.clone();
        let prev = self.on_hart.and_then(|t| self.tasks.get_mut(&t));
        // Compare address spaces, not roots: a released space's root frame
        // may already serve a new one, whose translations differ.
        let same_mm = prev.as_ref().is_some_and(|p| Rc::ptr_eq(&p.mm, &next_mm));
        if let Some(prev) = prev {
            prev.regs = self.hart.regs.clone();
        }
        self.hart.regs = self.tasks[&tid].regs.clone();
        if !same_mm {
            self.hart.set_page_table(next_mm.borrow().root());
        }
        self.hart.clear_reservation();
        self.on_hart = Some(tid);
    }

    /// Applies what the current address space says the TLB must forget.
    pub(crate) fn sync_tlb(&mut self) {
        let Some(task) = self.on_hart.and_then(|t| self.tasks.get(&t)) else {
            return;
        };
        let flush = task.mm.borrow_mut().take_tlb_flush();
        match flush {
            TlbFlush::None => {}
            TlbFlush::Pages(pages) => pages.iter().for_each(|&va| self.hart.flush_tlb_page(va)),
            TlbFlush::All => self.hart.flush_tlb(),
        }
    }

    /// The thread to run now: the current one while its slice lasts, else
    /// the waiting thread with the least vruntime (the current one going
    /// back among the waiting). None when nothing is runnable.
    pub(super) fn pick_next(&mut self) -> Option<Tid> {
        if let Some(cur) = self.rq.current {
            if self.rq.used < SLICE {
                return Some(cur);
            }
            // Slice used up: back among the others, ahead of none with
            // less vruntime.
            self.rq.current = None;
            let v = self.tasks[&cur].vruntime;
            self.rq.insert(cur, v);
        }
        let &(v, a, tid) = self.rq.waiting.first()?;
        self.rq.waiting.remove(&(v, a, tid));
        self.rq.keys.remove(&tid);
        // The thread whose slice ended gives way while still runnable: an
        // involuntary context switch.
        if let Some(prev) = self.on_hart.filter(|&p| p != tid && self.rq.contains(p)) {
            self.tasks.get_mut(&prev).expect("queued task").usage.nivcsw += 1;
        }
        self.rq.current = Some(tid);
        self.rq.used = 0;
        self.update_min_vruntime();
        Some(tid)
    }

    /// The hart's instruction budget: what is left of the current
    /// thread's slice, but no further than the next deadline, so that a
    /// sleeper's time is noticed when it comes.
    pub(crate) fn budget(&self) -> u64 {
        let left = SLICE.saturating_sub(self.rq.used).max(1);
        match self.next_deadline() {
            Some(d) => left.min(self.clock.instructions_until(&self.hart, d)),
            None => left,
        }
    }

    /// A thread whose deadline woke it (a sleep, a timeout) ends the
    /// current slice if it is ahead of the current thread in vruntime, as
    /// any sleeper that has not used more than its share is: it runs next.
    /// Threads woken by other threads (a pipe written, a futex woken) wait
    /// for the slice to end, so that a writer and its reader do not take
    /// turns at every write.
    pub(super) fn preempt_for_deadline(&mut self, woken: Tid) {
        let Some(cur) = self.rq.current.filter(|&c| c != woken) else {
            return;
        };
        let ahead = match (self.tasks.get(&woken), self.tasks.get(&cur)) {
            (Some(w), Some(c)) => w.vruntime < c.vruntime,
            _ => false,
        };
        if ahead && self.rq.contains(woken) {
            self.rq.used = SLICE;
        }
    }

    /// Charges `units` of work to `tid`: to its vruntime, scaled by its
    /// weight (a nice 19 thread's units count about 68 times a nice 0
    /// thread's), and, if it is running its slice, to the slice.
    pub(super) fn charge(&mut self, tid: Tid, units: u64) {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return;
        };
        task.vruntime += units * NICE_0_WEIGHT / task.sched.weight();
        self.rq.total += units;
        if self.rq.current == Some(tid) {
            self.rq.used += units;
        }
    }

    /// Linux's update_min_vruntime: the least vruntime of the runnable
    /// threads, if that is more than before.
    fn update_min_vruntime(&mut self) {
        let current = self.rq.current.map(|t| self.tasks[&t].vruntime);
        let first = self.rq.waiting.first().map(|&(v, _, _)| v);
        let least = match (current, first) {
            (Some(c), Some(f)) => c.min(f),
            (c, f) => match c.or(f) {
                Some(v) => v,
                None => return,
            },
        };
        self.rq.min_vruntime = self.rq.min_vruntime.max(least);
    }

    /// Puts runnable `tid` on the run queue, placed as `how` says (see the
    /// module comment).
    pub(super) fn enqueue(&mut self, tid: Tid, how: Placement) {
        if self.rq.contains(tid) {
            return;
        }
        self.update_min_vruntime();
        let min = self.rq.min_vruntime;
        let task = self.tasks.get_mut(&tid).expect("queued task exists");
        task.vruntime = match how {
            Placement::New => min + SLICE,
            Placement::Woken => task.vruntime.max(min.saturating_sub(SLICE)),
        };
        let v = task.vruntime;
        self.rq.insert(tid, v);
    }

    /// sched_yield: the current thread's slice ends and it goes behind
    /// every waiting thread. Alone, it just goes on.
    pub fn yield_now(&mut self) {
        let Some(cur) = self.rq.current else {
            return;
        };
        let Some(&(last, _, _)) = self.rq.waiting.last() else {
            return;
        };
        self.rq.current = None;
        let task = self.tasks.get_mut(&cur).expect("current task exists");
        task.vruntime = task.vruntime.max(last);
        let v = task.vruntime;
        self.rq.insert(cur, v);
    }

    /// Sets thread `tid`'s nice value (setpriority): its later charges
    /// are weighed by it.
    pub fn set_nice(&mut self, tid: Tid, nice: i32) {
        if let Some(task) = self.tasks.get_mut(&tid) {
            task.sched.nice = nice;
        }
    }

    /// Sets thread `tid`'s policy and real-time priority
    /// (sched_setscheduler, sched_setparam).
    pub fn set_policy(&mut self, tid: Tid, policy: u32, rt_priority: u32) {
        if let Some(task) = self.tasks.get_mut(&tid) {
            task.sched.policy = policy;
            task.sched.rt_priority = rt_priority;
        }
    }

    /// The slice's end after a trap that took `wall` on the host: charges
    /// `tid` for the kernel's work (see the module comment), as CPU time
    /// too.
    pub(crate) fn charge_trap(&mut self, tid: Tid, wall: Duration) {
        let (units, cpu) = self.clock.kernel_cost(&mut self.hart, wall, TRAP_COST);
        if let Some(task) = self.tasks.get_mut(&tid) {
            task.usage.stime += cpu;
        }
        self.charge(tid, units);
        self.check_cpu_limits(tid);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_queue_is_ordered_by_vruntime_then_arrival() {
        let mut rq = RunQueue::default();
        rq.insert(3, 10);
        rq.insert(1, 5);
        rq.insert(2, 10);
        let order: Vec<Tid> = rq.waiting.iter().map(|&(_, _, t)| t).collect();
        assert_eq!(order, [1, 3, 2]);
        assert!(rq.remove(3));
        assert!(!rq.remove(3));
        rq.rename(2, 7);
        assert!(rq.contains(7) && !rq.contains(2));
        let order: Vec<Tid> = rq.waiting.iter().map(|&(_, _, t)| t).collect();
        assert_eq!(order, [1, 7]);
    }
}
