//! Blocking: how a system call waits without blocking the host thread.
//!
//! One host thread runs every guest thread, so a call that must wait
//! (wait4, waitid, vfork's parent, nanosleep, futex, a pipe read) cannot
//! wait on the host. Instead the calling thread goes to sleep on a
//! [`WaitReason`], leaves the run queue, and the scheduler runs someone
//! else. A sleeping thread costs no host CPU: it is on no queue that the run
//! loop looks at, only (if it has a deadline) in the timer set.
//!
//! # Blocking: restartable calls
//!
//! A handler that must wait returns `Err(k.block(reason, deadline))`:
//!
//! ```text
//! pub fn wait4(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
//!     if let Some(pid) = reap_one(k, ...)? { return Ok(pid) }
//!     Err(k.block(WaitReason::Child { tgid }, None))
//! }
//! ```
//!
//! [`Kernel::block`] marks the current thread blocked and returns the
//! internal errno ERESTARTSYS (512, which never reaches the guest). The
//! system-call entry (`crate::entry`) then leaves the thread's pc ON the
//! `ecall` and every register untouched, exactly as Linux does for
//! -ERESTARTSYS. The handler must not have changed guest-visible state it
//! cannot redo (check, then block; or make the side effect idempotent).
//!
//! The restart errno a call returns is its restart policy, which signal
//! delivery applies (Linux's): ERESTARTSYS (what `block` returns) runs
//! again after a SA_RESTART handler; a call that must not (rt_sigsuspend,
//! rt_sigtimedwait, futex waits, ppoll, pselect6) returns ERESTARTNOHAND
//! instead, and nanosleep ERESTART_RESTARTBLOCK, with the address its time
//! left is written to ([`Kernel::write_time_left`]): those fail with EINTR
//! after any handler.
//!
//! # Waking
//!
//! Events wake blocked threads in one of two ways:
//!
//! - [`Kernel::wake_restart`] / [`Kernel::wake_tid_restart`]: the thread
//!   becomes runnable with its pc on the `ecall`, so the whole call runs
//!   again from scratch and re-checks its condition (wait4 re-scans the
//!   children; a spurious wakeup just blocks again). Use this when the
//!   condition is re-checkable.
//! - [`Kernel::wake_complete`]: the call finishes with the given result
//!   (a0 = value or -errno, pc past the `ecall`) without running again. Use
//!   this when re-running would be wrong: a futex whose value did not change
//!   would sleep again (a lost wakeup), and vfork's clone must not create a
//!   second child. FUTEX_WAKE is `k.wake_complete(tid, Ok(0))`.
//!
//! A deadline (CLOCK_MONOTONIC, [`Kernel::monotonic`]) passed to `block`
//! wakes the thread by restarting its call with [`Restart::timed_out`] set.
//!
//! # Restart state
//!
//! A restarted handler sees [`Kernel::restart`]: `Some` when this execution
//! re-runs a call of the same number that this thread blocked in, with the
//! deadline it blocked with (so time already slept is not lost: nanosleep
//! computes its absolute deadline once and keeps it), whether that deadline
//! expired, and one word of free per-call state (`data`, set with
//! [`Kernel::block_with`]). The state is cleared when the call completes.
//!
//! # Waiting on many things
//!
//! poll, ppoll and pselect6 block on [`WaitReason::Poll`] with a
//! [`PollKey`] for every file that can change: pipes and eventfds by the id
//! their changes are announced with, pidfds by process, and the host's
//! standard streams. Any change to one restarts the call, which scans all
//! its files again. The host streams cannot announce anything, so their
//! pollers are restarted to re-check them every slice while other threads
//! run; when nothing runs, the idle loop waits on the host's stdin (never
//! longer than the next deadline), the one place the host thread waits on
//! a host stream for a guest that asked to wait.
//!
//! # When everything sleeps
//!
//! When no thread is runnable the run loop sleeps the host until the
//! earliest deadline (in deterministic mode virtual time jumps there
//! instead). When nothing has a deadline, nothing can ever wake: the kernel
//! reports the deadlock on stderr, with what each thread waits for, and
//! shuts down.
//!
//! # Interruption by signals
//!
//! A signal for a blocked thread that does not block it wakes the thread
//! restart-style (pc on the `ecall`) and marks it interrupted
//! (`sigdeliver.rs`). On its way back to user mode, if a handler is
//! delivered, the call fails with EINTR (writing the time left from its
//! restart deadline where it asked to), or, under SA_RESTART for a call
//! that returned ERESTARTSYS, stays on its `ecall` and runs again after
//! the handler. With no
//! handler to run, the call simply runs again. A call about to block with
//! such a signal already pending is interrupted the same way at once.
//! vfork's parent is woken only by a fatal signal.

use super::sigdeliver::SigTarget;
use super::signal::{SigInfo, Signal, SI_KERNEL};
use super::{Kernel, Tid};
use crate::errno::{Errno, KResult};
use crate::fs::tty::Terminal;
use crate::wait::{PollKey, WaitReason};
use rustix::termios::OptionalActions;
use std::time::{Duration, Instant};

/// How often (in units of work, see `sched.rs`) the run loop re-checks
/// the host streams for pollers while other threads run.
const CONSOLE_CHECK: u64 = super::sched::SLICE;

/// The longest the idle loop waits on the host's stdin before re-checking
/// pollers of the other streams (a full stdout pipe) anyway.
const CONSOLE_IDLE_WAIT: Duration = Duration::from_millis(50);

/// A blocked thread's wait.
#[derive(Clone, Debug)]
pub struct Blocked {
    pub reason: WaitReason,
    /// CLOCK_MONOTONIC time at which the thread is woken anyway.
    pub deadline: Option<Duration>,
}

/// What a restarted call knows about its earlier attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Restart {
    /// The system call number that blocked.
    pub nr: u64,
    /// The deadline it blocked with.
    pub deadline: Option<Duration>,
    /// Whether the deadline woke it.
    pub timed_out: bool,
    /// Free per-call state, from [`Kernel::block_with`].
    pub data: u64,
    /// The restart errno the call returned: what a signal handler that
    /// interrupts it does to it (see the module comment).
    pub policy: Errno,
    /// Where the time left to the deadline is written when a handler
    /// interrupts the call (a timespec; see [`Kernel::write_time_left`]).
    pub time_left_to: Option<u64>,
}

/// Whether a thread can run.
#[derive(Clone, Debug, Default)]
pub enum TaskState {
    #[default]
    Runnable,
    Blocked(Blocked),
}

impl Kernel {
    /// Blocks the current thread on `reason` until woken or until
    /// `deadline` (CLOCK_MONOTONIC). Returns ERESTARTSYS, which the
    /// handler returns as its error: `return Err(k.block(reason, None))`;
    /// a call with another restart policy returns its own restart errno
    /// instead (see the module comment).
    pub fn block(&mut self, reason: WaitReason, deadline: Option<Duration>) -> Errno {
        self.block_with(reason, deadline, 0)
    }

    /// [`Kernel::block`], keeping `data` for the restarted call.
    ///
    /// A signal already pending that the mask lets through interrupts the
    /// wait at once, as it would have had it come during the wait (Linux
    /// checks signal_pending before it sleeps): one that reached a call
    /// restarted to re-check before the call ran again, or one that a
    /// temporary mask (rt_sigsuspend, ppoll, pselect6) just unblocked.
    /// vfork's parent waits for a fatal signal only, which wakes it anyway.
    pub fn block_with(
        &mut self,
        reason: WaitReason,
        deadline: Option<Duration>,
        data: u64,
    ) -> Errno {
        let tid = self.current_tid();
        let nr = self.syscall_nr;
        let killable_only = matches!(reason, WaitReason::Vfork { .. });
        let t = self.current();
        let pending = t.pending.set | t.group.borrow().pending.set;
        let interrupted = !killable_only && pending & !t.sigmask != 0;
        let task = self.current_mut();
        task.restart = Some(Restart {
            nr,
            deadline,
            timed_out: false,
            data,
            policy: Errno::ERESTARTSYS,
            time_left_to: None,
        });
        if interrupted {
            // Never asleep: the call stays on its `ecall` and the thread
            // goes on with its slice, to take the signal.
            task.sig.interrupted = true;
            return Errno::ERESTARTSYS;
        }
        self.sleep(tid, Blocked { reason, deadline });
        Errno::ERESTARTSYS
    }

    /// The restart block of the call that just blocked: when a handler
    /// interrupts it, the time left to its deadline is written at `addr`
    /// (a timespec; 0 for nowhere), as nanosleep's `rem` and ppoll's and
    /// pselect6's timeout are.
    pub fn write_time_left(&mut self, addr: u64) {
        if let Some(r) = self.current_mut().restart.as_mut() {
            r.time_left_to = (addr != 0).then_some(addr);
        }
    }

    /// The current call of `tid` blocked, returning restart errno
    /// `policy`: its pc goes back onto the `ecall`, so that it runs again
    /// when woken with every argument register as it was, and the policy
    /// is kept for signal delivery.
    pub(crate) fn restart_syscall(&mut self, tid: Tid, policy: Errno) {
        self.regs_mut(tid).pc -= 4;
        if let Some(r) = self.tasks.get_mut(&tid).and_then(|t| t.restart.as_mut()) {
            r.policy = policy;
        }
    }

    /// Puts runnable `tid` to sleep: off the run queue, among the
    /// sleepers, and in the timer set if it has a deadline. It gave the
    /// hart up: a voluntary context switch.
    pub(super) fn sleep(&mut self, tid: Tid, blocked: Blocked) {
        if let Some(d) = blocked.deadline {
            self.timers.insert((d, tid));
        }
        let task = self.tasks.get_mut(&tid).expect("sleeping task exists");
        task.state = TaskState::Blocked(blocked);
        task.usage.nvcsw += 1;
        self.rq.remove(tid);
        self.sleepers.insert(tid);
    }

    /// Wakes the pollers of a pidfd on process `tgid` (it ended or was
    /// reaped).
    pub fn wake_pidfd_pollers(&mut self, tgid: Tid) {
        self.wake_pollers(PollKey::Exit(tgid));
    }

    /// Something announced on `key` changed: its pollers run again, and
    /// the epolls watching it queue their items (`fs::epoll::notify`).
    pub fn wake_pollers(&mut self, key: PollKey) {
        self.wake_restart(|r| r.polls(key));
        crate::fs::epoll::notify(key, &|epoll| self.has_pollers(PollKey::File(epoll)));
    }

    /// Whether a thread sleeps polling `key`.
    pub(super) fn has_pollers(&self, key: PollKey) -> bool {
        self.sleepers
            .iter()
            .any(|&t| self.blocked_on(t).is_some_and(|r| r.polls(key)))
    }

    /// Restarts the pollers of the host streams so that they re-check
    /// them: at most every [`CONSOLE_CHECK`] instructions while threads run
    /// (the host thread never waits on a host stream for one guest), and
    /// from the idle loop after waiting on stdin.
    pub(super) fn check_console(&mut self) {
        let now = self.rq.total;
        if now < self.console_check_at {
            return;
        }
        self.console_check_at = now + CONSOLE_CHECK;
        self.raise_terminal_signals();
        self.wake_pollers(PollKey::Console);
    }

    /// Raises the signals the host terminal sent cleave (see
    /// `hostsig::HostSignals`) in the console's foreground process group,
    /// from the kernel (SI_KERNEL), as Linux's isig() does. A resize also
    /// drops a window size the guest set, so that it sees the new one.
    fn raise_terminal_signals(&mut self) {
        let Some(host) = &self.host_signals else {
            return;
        };
        for sig in host.take() {
            if sig == Signal::SIGWINCH {
                self.vfs.console.borrow_mut().forget_winsize();
            }
            self.signal_foreground(sig);
        }
    }

    /// Raises `sig`, from the kernel, in the console's foreground process
    /// group.
    pub fn signal_foreground(&mut self, sig: Signal) {
        let pgrp = self.vfs.console.borrow().fg_pgrp;
        self.signal_pgrp(pgrp, sig);
    }

    /// Raises `sig`, from the kernel, in process group `pgrp`.
    pub fn signal_pgrp(&mut self, pgrp: Tid, sig: Signal) {
        let members: Vec<Tid> = self
            .processes()
            .map(|g| g.borrow())
            .filter(|g| g.pgid == pgrp)
            .map(|g| g.tgid)
            .collect();
        for pid in members {
            self.send_signal(SigTarget::Process(pid), SigInfo::new(sig, SI_KERNEL));
        }
    }

    /// To the host's shell, cleave is the program it started (`cleave
    /// run`'s, or init's first child): when that program stops (Ctrl-Z
    /// with no guest shell doing job control, say), cleave stops too and
    /// the host shell has the terminal, as it would for a native program.
    /// Its `fg` continues cleave, which puts the guest's terminal settings
    /// back and continues the program's process group.
    pub(super) fn stop_with_main(&mut self) {
        if self.host_signals.is_none() {
            return;
        }
        let Some(main) = self.main_pid.and_then(|pid| self.groups.get(&pid)) else {
            return;
        };
        let (stopped, pgid) = {
            let g = main.borrow();
            (g.stopped, g.pgid)
        };
        if !stopped {
            return;
        }
        let term = Terminal::console();
        let modes = term.get(&self.vfs.console.borrow());
        let _ = signal_hook::low_level::raise(signal_hook::consts::SIGSTOP);
        if let Ok(modes) = modes {
            let _ = term.set(
                &mut self.vfs.console.borrow_mut(),
                &modes,
                OptionalActions::Now,
            );
        }
        self.vfs.console.borrow_mut().forget_winsize();
        self.signal_pgrp(pgid, Signal::SIGCONT);
    }

    /// Waits up to `timeout` (None: for as long as it takes) for input on
    /// the host's stdin, when `stdin`, or for a terminal signal. Returns
    /// whether either came.
    fn wait_host(&self, stdin: bool, timeout: Option<Duration>) -> bool {
        use rustix::event::{PollFd, PollFlags, Timespec};
        let stdin_fd = std::io::stdin();
        let mut fds = Vec::with_capacity(2);
        if stdin {
            fds.push(PollFd::new(&stdin_fd, PollFlags::IN));
        }
        if let Some(host) = &self.host_signals {
            fds.push(PollFd::from_borrowed_fd(host.fd(), PollFlags::IN));
        }
        let timeout = timeout.map(|t| Timespec {
            tv_sec: t.as_secs() as i64,
            tv_nsec: i64::from(t.subsec_nanos()),
        });
        // EINTR is a terminal signal arriving, its handler having run: an
        // event too. Only a timeout is not.
        !matches!(rustix::event::poll(&mut fds, timeout.as_ref()), Ok(0))
    }

    /// After a wait on the host: the console's pollers and the terminal's
    /// signals, now.
    fn host_event(&mut self) {
        self.console_check_at = 0;
        self.check_console();
    }

    /// A host FIFO was opened: its pollers are re-checked as those of the
    /// host's standard streams are, however those are.
    pub fn host_stream_opened(&mut self) {
        self.console_can_change = true;
    }

    /// Whether a thread polls a host stream that can change (see
    /// `Kernel::console_can_change`), itself or through an epoll: one
    /// that only polls files or /dev/null waits for ever.
    fn console_polled(&self) -> bool {
        self.console_can_change
            && (self.has_pollers(PollKey::Console)
                || crate::fs::epoll::watching(PollKey::Console)
                    .into_iter()
                    .any(|key| self.has_pollers(key)))
    }

    /// The earlier attempt of the current call, if this run restarts a call
    /// that blocked (see the module comment).
    pub fn restart(&self) -> Option<Restart> {
        self.current().restart.filter(|r| r.nr == self.syscall_nr)
    }

    /// Whether `tid` exists and is blocked.
    pub fn is_blocked(&self, tid: Tid) -> bool {
        self.tasks
            .get(&tid)
            .is_some_and(|t| matches!(t.state, TaskState::Blocked(_)))
    }

    /// What `tid` is blocked on, if it is.
    pub fn blocked_on(&self, tid: Tid) -> Option<&WaitReason> {
        match &self.tasks.get(&tid)?.state {
            TaskState::Blocked(b) => Some(&b.reason),
            TaskState::Runnable => None,
        }
    }

    /// Makes blocked `tid` runnable; its call re-runs from the `ecall`.
    /// Returns whether it was blocked.
    pub fn wake_tid_restart(&mut self, tid: Tid) -> bool {
        self.unblock(tid)
    }

    /// Wakes every thread blocked on a reason `matches` accepts, restarting
    /// their calls. Returns how many it woke.
    pub fn wake_restart(&mut self, matches: impl Fn(&WaitReason) -> bool) -> usize {
        let tids: Vec<Tid> = self
            .sleepers
            .iter()
            .copied()
            .filter(|&t| self.blocked_on(t).is_some_and(&matches))
            .collect();
        for &tid in &tids {
            self.unblock(tid);
        }
        tids.len()
    }

    /// Wakes blocked `tid`, finishing its call with `result` (a0 = value or
    /// -errno, pc past the `ecall`). Returns whether it was blocked.
    pub fn wake_complete(&mut self, tid: Tid, result: KResult<u64>) -> bool {
        if !self.unblock(tid) {
            return false;
        }
        let regs = self.regs_mut(tid);
        regs.x[10] = match result {
            Ok(v) => v,
            Err(e) => e.as_return(),
        };
        regs.pc += 4;
        self.tasks.get_mut(&tid).expect("woken task exists").restart = None;
        true
    }

    fn unblock(&mut self, tid: Tid) -> bool {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return false;
        };
        let TaskState::Blocked(b) = std::mem::take(&mut task.state) else {
            return false;
        };
        self.sleepers.remove(&tid);
        if let Some(d) = b.deadline {
            self.timers.remove(&(d, tid));
        }
        self.enqueue(tid, super::sched::Placement::Woken);
        true
    }

    /// Wakes (restarting, `timed_out` set) every thread whose deadline has
    /// passed.
    pub(super) fn expire_timers(&mut self) {
        let now = self.monotonic();
        while let Some(&(d, tid)) = self.timers.first() {
            if d > now {
                break;
            }
            self.unblock(tid);
            if let Some(r) = self.tasks.get_mut(&tid).and_then(|t| t.restart.as_mut()) {
                r.timed_out = true;
            }
            self.preempt_for_deadline(tid);
        }
    }

    /// The earliest deadline of a sleeper, an ITIMER_REAL, a POSIX timer
    /// or a timerfd: when the run loop must next look at the clock.
    pub(super) fn next_deadline(&self) -> Option<Duration> {
        let sleeper = self.timers.first().map(|&(d, _)| d);
        let alarm = self.alarms.first().map(|&(d, _)| d);
        let timer = self.posix_timers.first().map(|&(d, _, _)| d);
        let timerfd = crate::fs::timerfd::next_expiry();
        [sleeper, alarm, timer, timerfd].into_iter().flatten().min()
    }

    /// Nothing is runnable: waits for the earliest deadline. Returns false
    /// when nothing can ever wake (a deadlock), after reporting it.
    pub(super) fn idle(&mut self) -> bool {
        // A process's alarm (ITIMER_REAL) or POSIX timer can wake a thread
        // too.
        let next = self.next_deadline();
        let host = matches!(self.clock, super::clock::Clock::Host { .. });
        if self.console_polled() {
            // Input can wake a poller: wait on the host's stdin, in virtual
            // time only while no deadline could move time on.
            let wait = match next {
                None => CONSOLE_IDLE_WAIT,
                Some(_) if !host => Duration::ZERO,
                Some(d) => d.saturating_sub(self.monotonic()).min(CONSOLE_IDLE_WAIT),
            };
            let started = Instant::now();
            let event = self.wait_host(!self.stdin_woke_pollers, Some(wait));
            self.stdin_woke_pollers = event;
            if event || wait == CONSOLE_IDLE_WAIT {
                self.host_event();
            }
            // Input at its end stays readable: when that woke nobody, the
            // rest of the wait is slept rather than spun.
            if event && self.rq.is_empty() && started.elapsed() < wait {
                std::thread::sleep(wait - started.elapsed());
            }
            if !self.rq.is_empty()
                || next.is_none()
                || (host && next.is_some_and(|d| d > self.monotonic()))
            {
                return true;
            }
        }
        let Some(deadline) = next else {
            if self.host_signals.is_some() {
                // Only the terminal can wake a thread now: Ctrl-C, say.
                self.wait_host(false, None);
                self.host_event();
                return true;
            }
            self.report_deadlock("every thread is blocked and none can wake");
            return false;
        };
        let now = self.monotonic();
        if deadline > now {
            if host && self.host_signals.is_some() {
                // A terminal signal ends the sleep early.
                if self.wait_host(false, Some(deadline - now)) {
                    self.host_event();
                    return true;
                }
            } else {
                self.clock.sleep(&mut self.hart, deadline - now);
            }
            if self.monotonic() < deadline {
                // Virtual time saturated short of the deadline: nothing
                // will ever run again.
                self.report_deadlock("every thread sleeps past the end of time");
                return false;
            }
        }
        self.expire_timers();
        self.expire_alarms();
        self.expire_posix_timers();
        crate::fs::timerfd::expire(self.monotonic());
        true
    }

    fn report_deadlock(&self, why: &str) {
        let mut report = format!("cleave: deadlock: {why}:");
        for t in self.tasks.values() {
            if let TaskState::Blocked(b) = &t.state {
                report.push_str(&format!(" [tid {}: {:?}]", t.tid, b.reason));
            }
        }
        eprintln!("{report}");
    }

    /// CLOCK_MONOTONIC now: the clock deadlines are measured on.
    pub fn monotonic(&self) -> Duration {
        self.clock.monotonic(&self.hart)
    }
}
