//! Signal generation and delivery (Linux's kernel/signal.c and
//! arch/riscv/kernel/signal.c).
//!
//! Sending ([`Kernel::send_signal`]) queues a siginfo on the target
//! thread's or the thread group's [`SigPending`] (standard signals
//! coalesce, real-time ones queue), unless the signal is ignored and not
//! blocked, and wakes one thread that does not block it: a thread blocked
//! in a system call is made runnable with `interrupted` set, its pc still on
//! the `ecall` (see `block.rs`).
//!
//! Delivery ([`Kernel::do_signal`]) happens on the way back to user mode:
//! the run loop calls it before putting a thread on the hart. It dequeues
//! the thread's own signals first, then the group's, lowest number first,
//! and applies the disposition: ignore, the default action (terminate, or
//! terminate with core, for the whole thread group), or a handler. A
//! handler gets Linux riscv64's `struct rt_sigframe` (siginfo, then
//! ucontext with the registers, FP state and the mask to restore) on its
//! stack or on the alternate stack, a0 = signo, a1 = &info, a2 = &uc and
//! ra = the vDSO's `__vdso_rt_sigreturn`. An interrupted system call fails
//! with EINTR then, or stays on its `ecall` to run again after the handler
//! when the handler has SA_RESTART and the call returned ERESTARTSYS (the
//! call's restart policy, see `block.rs`).
//!
//! Job control: a stop signal's default action stops the whole thread
//! group (each thread parks on its way back to user mode; one blocked in a
//! call parks when it wakes), reported to the parent through wait
//! (WUNTRACED) and SIGCHLD (CLD_STOPPED); SIGCONT resumes it (WCONTINUED,
//! CLD_CONTINUED). SIGKILL ends a stopped process.
//!
//! ITIMER_REAL (setitimer, glibc's alarm) sends SIGALRM from the run loop.
//!
//! The orphaned-process-group rule: SIGTSTP, SIGTTIN and SIGTTOU do not
//! stop a process in an orphaned process group (their default action is
//! dropped); a group that becomes orphaned with a stopped member gets
//! SIGHUP and SIGCONT (`exit.rs`).
//!
//! Not yet: ITIMER_VIRTUAL, ITIMER_PROF.

use super::block::Blocked;
use super::exit::{CLD_CONTINUED, CLD_STOPPED};
use super::signal::{
    DefaultAction, SigAction, SigHand, SigInfo, Signal, SA_NOCLDSTOP, SA_NODEFER, SA_ONSTACK,
    SA_RESETHAND, SA_RESTART, SIG_DFL, SIG_IGN, SS_AUTODISARM, UNBLOCKABLE,
};
use super::{ExitStatus, Kernel, ThreadGroup, Tid};
use crate::errno::{Errno, KResult};
use crate::wait::{PollKey, WaitReason};
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

/// What the threads of a stopped process are blocked on.
const STOPPED: &str = "stopped";

/// Who a signal is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SigTarget {
    /// One thread (tkill, tgkill, faults).
    Thread(Tid),
    /// A process: any thread of it that does not block the signal.
    Process(Tid),
}

/// `struct rt_sigframe` on riscv64: siginfo (128 bytes), then
/// `struct ucontext` (960 bytes).
pub const FRAME_SIZE: u64 = 1088;
/// Offsets inside the frame.
const UC: usize = 128;
const UC_STACK: usize = UC + 16;
const UC_SIGMASK: usize = UC + 40;
/// uc_mcontext: 16-byte aligned after the 1024-bit sigset.
const UC_MCONTEXT: usize = UC + 176;
/// sc_fpregs: the D state (f[32], fcsr) inside the 528-byte Q union.
const UC_FPREGS: usize = UC_MCONTEXT + 256;
const UC_FCSR: usize = UC_FPREGS + 256;

/// Whether a disposition discards `sig` (SIG_IGN, or SIG_DFL whose default
/// is to ignore or continue).
fn ignored(act: &SigAction, sig: Signal) -> bool {
    if sig == Signal::SIGKILL {
        return false;
    }
    match act.handler {
        SIG_IGN => true,
        SIG_DFL => matches!(
            sig.default_action(),
            DefaultAction::Ignore | DefaultAction::Continue
        ),
        _ => false,
    }
}

impl Kernel {
    /// Generates signal `info` for `target` (Linux's send_signal and
    /// complete_signal). Nothing happens for a process or thread that is
    /// gone.
    pub fn send_signal(&mut self, target: SigTarget, info: SigInfo) {
        let sig = Signal(info.signo());
        let tgid = match target {
            SigTarget::Thread(tid) => match self.tasks.get(&tid) {
                Some(t) => t.group.borrow().tgid,
                None => return,
            },
            SigTarget::Process(pid) => pid,
        };
        let threads = self.threads_of(tgid);
        let Some(&first) = threads.first() else {
            return;
        };
        // The thread whose mask decides whether an ignored signal is
        // dropped: the target thread, or the group leader while it lives.
        let probe = match target {
            SigTarget::Thread(tid) => tid,
            SigTarget::Process(pid) if self.tasks.contains_key(&pid) => pid,
            SigTarget::Process(_) => first,
        };
        self.prepare_signal(tgid, sig);
        let act = self.tasks[&probe].sighand.borrow().action(sig);
        let wants = |k: &Kernel, t: Tid| {
            let t = &k.tasks[&t];
            t.sigmask & sig.bit() == 0 || t.sig.waiting & sig.bit() != 0
        };
        // Blocked signals are never ignored (the disposition may change
        // before they are unblocked); a sigwaitinfo waiter's stay blocked.
        if ignored(&act, sig) && self.tasks[&probe].sigmask & sig.bit() == 0 {
            return;
        }
        // Init gets only the signals it has handlers for, even SIGKILL
        // (Linux's SIGNAL_UNKILLABLE): nothing may take the system down.
        if tgid == 1 && act.handler == SIG_DFL {
            return;
        }
        let chosen = match target {
            SigTarget::Thread(tid) => {
                self.tasks.get_mut(&tid).expect("target").pending.add(info);
                wants(self, tid).then_some(tid)
            }
            SigTarget::Process(_) => {
                let group = self.tasks[&first].group.clone();
                group.borrow_mut().pending.add(info);
                if wants(self, probe) {
                    Some(probe)
                } else {
                    threads.iter().copied().find(|&t| wants(self, t))
                }
            }
        };
        if let Some(tid) = chosen {
            self.signal_wake(tid, sig, &act);
        }
        self.wake_pollers(PollKey::Signal(tgid));
    }

    /// Linux's prepare_signal, the job-control part: a stop signal
    /// discards a pending SIGCONT; SIGCONT discards pending stop signals
    /// and resumes a stopped process (whatever its disposition), which its
    /// parent learns through wait (WCONTINUED) and SIGCHLD (CLD_CONTINUED).
    fn prepare_signal(&mut self, tgid: Tid, sig: Signal) {
        let threads = self.threads_of(tgid);
        let Some(&first) = threads.first() else {
            return;
        };
        let group = self.tasks[&first].group.clone();
        let stops = [
            Signal::SIGSTOP,
            Signal::SIGTSTP,
            Signal::SIGTTIN,
            Signal::SIGTTOU,
        ];
        let mask = if sig == Signal::SIGCONT {
            stops.iter().fold(0, |m, s| m | s.bit())
        } else if stops.contains(&sig) {
            Signal::SIGCONT.bit()
        } else {
            return;
        };
        group.borrow_mut().pending.discard(mask);
        for &t in &threads {
            self.tasks
                .get_mut(&t)
                .expect("thread")
                .pending
                .discard(mask);
        }
        if sig != Signal::SIGCONT || !group.borrow().stopped {
            return;
        }
        {
            let mut g = group.borrow_mut();
            g.stopped = false;
            g.stop_report = None;
            g.continued_report = true;
        }
        for &t in &threads {
            if self.blocked_on(t) == Some(&WaitReason::Other(STOPPED)) {
                self.wake_tid_restart(t);
            }
        }
        self.notify_parent_cldstop(&group, CLD_CONTINUED, Signal::SIGCONT);
    }

    /// Tells the parent of `group` that it stopped or continued: wait's
    /// waiters are woken, and SIGCHLD is sent unless the parent's SIGCHLD
    /// action has SA_NOCLDSTOP (Linux's do_notify_parent_cldstop).
    fn notify_parent_cldstop(&mut self, group: &Rc<RefCell<ThreadGroup>>, code: i32, sig: Signal) {
        let (ppid, tgid) = {
            let g = group.borrow();
            (g.ppid, g.tgid)
        };
        self.wake_restart(|r| *r == WaitReason::Child { tgid: ppid });
        let Some(&parent) = self.threads_of(ppid).first() else {
            return;
        };
        let act = self.tasks[&parent].sighand.borrow().action(Signal::SIGCHLD);
        if act.flags & SA_NOCLDSTOP != 0 {
            return;
        }
        let uid = self.tasks.values().find(|t| t.group.borrow().tgid == tgid);
        let uid = uid.map_or(0, |t| t.group.borrow().cred.uid);
        let info = SigInfo::child(code, tgid, uid, sig.0 as i32, 0);
        self.send_signal(SigTarget::Process(ppid), info);
    }

    /// A group stop: the current thread's process stops with `sig`.
    fn do_signal_stop(&mut self, sig: Signal) {
        let group = self.current().group.clone();
        {
            let mut g = group.borrow_mut();
            if g.stopped {
                return;
            }
            g.stopped = true;
            g.stop_report = Some(sig);
            g.continued_report = false;
        }
        self.group_stopped = true;
        self.notify_parent_cldstop(&group, CLD_STOPPED, sig);
    }

    /// Parks the current thread of a stopped process until SIGCONT (or
    /// SIGKILL) wakes it; a call it was in runs again then.
    fn park_stopped(&mut self) {
        let tid = self.current_tid();
        self.current_mut().sig.interrupted = false;
        let blocked = Blocked {
            reason: WaitReason::Other(STOPPED),
            deadline: None,
        };
        self.sleep(tid, blocked);
    }

    /// Arms (or, with a zero value, disarms) the current process's
    /// ITIMER_REAL; returns the old (remaining, interval).
    pub fn set_itimer_real(&mut self, value: Duration, interval: Duration) -> (Duration, Duration) {
        let old = self.get_itimer_real();
        let group = self.group();
        let tgid = group.borrow().tgid;
        if let Some((at, _)) = group.borrow_mut().itimer_real.take() {
            self.alarms.remove(&(at, tgid));
        }
        if !value.is_zero() {
            let at = self.monotonic() + value;
            group.borrow_mut().itimer_real = Some((at, interval));
            self.alarms.insert((at, tgid));
        }
        old
    }

    /// The current process's ITIMER_REAL: (time left, interval).
    pub fn get_itimer_real(&self) -> (Duration, Duration) {
        match self.group().borrow().itimer_real {
            Some((at, interval)) => {
                // An armed timer never reads as zero (Linux rounds up too).
                let left = at
                    .saturating_sub(self.monotonic())
                    .max(Duration::from_micros(1));
                (left, interval)
            }
            None => (Duration::ZERO, Duration::ZERO),
        }
    }

    /// Sends SIGALRM to every process whose ITIMER_REAL expired, reloading
    /// periodic ones (Linux's it_real_fn).
    pub(super) fn expire_alarms(&mut self) {
        let now = self.monotonic();
        while let Some(&(at, tgid)) = self.alarms.first() {
            if at > now {
                break;
            }
            self.alarms.remove(&(at, tgid));
            let Some(group) = self.groups.get(&tgid).cloned() else {
                continue;
            };
            let timer = group.borrow().itimer_real;
            if timer.map(|(a, _)| a) != Some(at) || group.borrow().zombie.is_some() {
                continue;
            }
            let interval = timer.map_or(Duration::ZERO, |(_, i)| i);
            if interval.is_zero() {
                group.borrow_mut().itimer_real = None;
            } else {
                // The next expiry after now, on the original period.
                let mut next = at + interval;
                while next <= now {
                    next += interval;
                }
                group.borrow_mut().itimer_real = Some((next, interval));
                self.alarms.insert((next, tgid));
            }
            let info = SigInfo::new(Signal::SIGALRM, super::signal::SI_KERNEL);
            self.send_signal(SigTarget::Process(tgid), info);
        }
    }

    /// Discards the pending signals in `mask` of every thread using
    /// `sighand`, and of their thread groups.
    pub fn discard_pending(&mut self, sighand: &Rc<RefCell<SigHand>>, mask: u64) {
        for t in self.tasks.values_mut() {
            if Rc::ptr_eq(&t.sighand, sighand) {
                t.pending.discard(mask);
                t.group.borrow_mut().pending.discard(mask);
            }
        }
    }

    /// Linux's signal_wake_up: a thread blocked in a system call runs again
    /// to take the signal. vfork's parent waits killably: only a fatal
    /// signal wakes it.
    fn signal_wake(&mut self, tid: Tid, sig: Signal, act: &SigAction) {
        let Some(reason) = self.blocked_on(tid).cloned() else {
            return;
        };
        let fatal = sig == Signal::SIGKILL
            || (act.handler == SIG_DFL
                && matches!(
                    sig.default_action(),
                    DefaultAction::Terminate | DefaultAction::Core
                ));
        if matches!(reason, WaitReason::Vfork { .. }) && !fatal {
            return;
        }
        // A stopped thread stays stopped for everything but SIGKILL (and
        // SIGCONT, which prepare_signal handled).
        if reason == WaitReason::Other(STOPPED) && sig != Signal::SIGKILL {
            return;
        }
        let waited = self.tasks[&tid].sig.waiting & sig.bit() != 0;
        self.wake_tid_restart(tid);
        if !waited {
            self.tasks.get_mut(&tid).expect("woken").sig.interrupted = true;
        }
    }

    /// A synchronous fault signal for the current thread (Linux's
    /// force_sig_info): a blocked or ignored fault signal cannot be
    /// survived, so it is unblocked and its action reset to the default.
    pub fn force_sig_info(&mut self, info: SigInfo) {
        let sig = Signal(info.signo());
        let task = self.current_mut();
        let blocked = task.sigmask & sig.bit() != 0;
        let sighand = task.sighand.clone();
        let act = sighand.borrow().action(sig);
        if blocked || act.handler == SIG_IGN {
            task.sigmask &= !sig.bit();
            let _ = sighand.borrow_mut().set_action(sig, SigAction::default());
        }
        let tid = self.current_tid();
        self.send_signal(SigTarget::Thread(tid), info);
    }

    /// Whether the current thread has anything for [`Kernel::do_signal`].
    pub(crate) fn signal_work(&self) -> bool {
        let t = self.current();
        let g = t.group.borrow();
        t.pending.set != 0 || t.sig.interrupted || g.pending.set != 0 || g.stopped
    }

    /// Delivers the current thread's deliverable signals before it returns
    /// to user mode. May end the thread's whole process. Returns the
    /// signal the process dies of when its default action dumps core: the
    /// caller (`crate::entry`, which may write files) dumps it, then ends
    /// the process.
    pub(crate) fn do_signal(&mut self) -> Option<SigInfo> {
        let tid = self.current_tid();
        loop {
            let task = &self.tasks[&tid];
            if task.group.borrow().stopped {
                let kill = Signal::SIGKILL.bit();
                if (task.pending.set | task.group.borrow().pending.set) & kill != 0 {
                    self.exit_group(ExitStatus::Killed(Signal::SIGKILL));
                } else {
                    self.park_stopped();
                }
                return None;
            }
            let group = task.group.clone();
            let Some(info) = self.dequeue_signal(!task.sigmask) else {
                // An interrupted call that took no handler just runs again.
                self.current_mut().sig.interrupted = false;
                return None;
            };
            let sig = Signal(info.signo());
            let sighand = self.current().sighand.clone();
            let act = sighand.borrow().action(sig);
            if sig != Signal::SIGKILL && act.handler == SIG_IGN {
                continue;
            }
            if sig == Signal::SIGKILL || act.handler == SIG_DFL {
                let status = match sig.default_action() {
                    _ if sig == Signal::SIGKILL => ExitStatus::Killed(sig),
                    DefaultAction::Terminate => ExitStatus::Killed(sig),
                    DefaultAction::Core => return Some(info),
                    DefaultAction::Stop => {
                        let pgid = group.borrow().pgid;
                        if sig == Signal::SIGSTOP || !self.pgrp_orphaned(pgid, None) {
                            self.do_signal_stop(sig);
                        }
                        continue;
                    }
                    _ => continue,
                };
                self.exit_group(status);
                return None;
            }
            if act.flags & SA_RESETHAND != 0 {
                // Only the handler goes back to SIG_DFL: the flags and
                // mask stay, as sigaction then shows (Linux's SA_ONESHOT).
                let reset = SigAction {
                    handler: SIG_DFL,
                    ..act
                };
                let _ = sighand.borrow_mut().set_action(sig, reset);
            }
            if self.setup_frame(sig, &info, &act).is_err() {
                // Linux's force_sigsegv: a frame that cannot be written
                // kills with SIGSEGV.
                let _ = sighand
                    .borrow_mut()
                    .set_action(Signal::SIGSEGV, SigAction::default());
                self.exit_group(ExitStatus::Killed(Signal::SIGSEGV));
                return None;
            }
        }
    }

    /// Takes the current thread's next pending signal among `wanted`: its
    /// own first, then its process's, lowest number first (Linux's
    /// dequeue_signal). A timer's stale signal is dropped on the way.
    pub fn dequeue_signal(&mut self, wanted: u64) -> Option<SigInfo> {
        loop {
            let task = self.current();
            let group = task.group.clone();
            let shared = group.borrow().pending.next(!wanted);
            let mut info = if let Some(sig) = task.pending.next(!wanted) {
                self.current_mut().pending.take(sig)
            } else if let Some(sig) = shared {
                group.borrow_mut().pending.take(sig)
            } else {
                None
            }?;
            if info.code() != super::timer::SI_TIMER || self.posix_timer_dequeued(&mut info) {
                return Some(info);
            }
        }
    }

    /// Ends an interrupted system call for a handler, as its restart errno
    /// says (see `block.rs`): EINTR, or (SA_RESTART on ERESTARTSYS)
    /// nothing, so that the `ecall` runs again when the handler returns.
    fn interrupted_syscall(&mut self, act: &SigAction) {
        let task = self.current_mut();
        // A call woken to run again but not run yet (a poller of the host
        // streams, say) is still in progress: the handler interrupts it as
        // it would have the wait, or the call would block again and the
        // EINTR be lost.
        let in_call = task.restart.is_some();
        if !std::mem::take(&mut task.sig.interrupted) && !in_call {
            return;
        }
        let restart = task.restart;
        let policy = restart.map_or(Errno::ERESTARTSYS, |r| r.policy);
        if act.flags & SA_RESTART != 0 && policy == Errno::ERESTARTSYS {
            return;
        }
        let task = self.current_mut();
        task.sig.waiting = 0;
        task.restart = None;
        // The restart block: the time left, where the call asked for it.
        if let Some((addr, deadline)) = restart.and_then(|r| r.time_left_to.zip(r.deadline)) {
            let left = deadline.saturating_sub(self.monotonic());
            let mut ts = [0; 16];
            ts[..8].copy_from_slice(&left.as_secs().to_le_bytes());
            ts[8..].copy_from_slice(&u64::from(left.subsec_nanos()).to_le_bytes());
            let _ = self.copy_to_user(addr, &ts);
        }
        self.hart.regs.x[10] = Errno::EINTR.as_return();
        self.hart.regs.pc += 4;
    }

    /// Builds the rt_sigframe for a handler and points the registers at
    /// it (Linux's setup_rt_frame).
    fn setup_frame(&mut self, sig: Signal, info: &SigInfo, act: &SigAction) -> KResult<()> {
        self.interrupted_syscall(act);
        let regs = self.hart.regs.clone();
        let task = self.current();
        let ss = task.sig;
        let old_mask = task.sig.saved_mask.unwrap_or(task.sigmask);
        let mut sp = regs.x[2];
        if act.flags & SA_ONSTACK != 0 && ss.altstack_size != 0 && !ss.on_altstack(sp) {
            sp = ss.altstack_sp + ss.altstack_size;
        }
        let frame = (sp.wrapping_sub(FRAME_SIZE)) & !0xf;
        let mut f = vec![0u8; FRAME_SIZE as usize];
        f[..SigInfo::SIZE].copy_from_slice(&info.0);
        let put = |f: &mut [u8], at: usize, v: u64| f[at..at + 8].copy_from_slice(&v.to_le_bytes());
        // uc_flags and uc_link are 0; uc_stack is the alternate stack.
        put(&mut f, UC_STACK, ss.altstack_sp);
        put(&mut f, UC_STACK + 8, u64::from(ss.ss_flags(regs.x[2])));
        put(&mut f, UC_STACK + 16, ss.altstack_size);
        put(&mut f, UC_SIGMASK, old_mask);
        put(&mut f, UC_MCONTEXT, regs.pc);
        for i in 1..32 {
            put(&mut f, UC_MCONTEXT + 8 * i, regs.x[i]);
        }
        for i in 0..32 {
            put(&mut f, UC_FPREGS + 8 * i, regs.f[i]);
        }
        f[UC_FCSR..UC_FCSR + 4].copy_from_slice(&regs.fcsr.to_le_bytes());
        self.copy_to_user(frame, &f)?;
        let vdso = self.current().mm.borrow().vdso;
        let task = self.current_mut();
        task.sig.saved_mask = None;
        if ss.altstack_autodisarm {
            task.sig.altstack_sp = 0;
            task.sig.altstack_size = 0;
            task.sig.altstack_autodisarm = false;
        }
        let mut mask = task.sigmask | act.mask;
        if act.flags & SA_NODEFER == 0 {
            mask |= sig.bit();
        }
        task.sigmask = mask & !UNBLOCKABLE;
        let r = &mut self.hart.regs;
        r.pc = act.handler;
        r.x[1] = vdso + crate::loader::vdso::SIGRETURN_OFFSET;
        r.x[2] = frame;
        r.x[10] = u64::from(sig.0);
        r.x[11] = frame;
        r.x[12] = frame + UC as u64;
        Ok(())
    }

    /// rt_sigreturn: restores the registers, FP state and mask the frame at
    /// sp holds (as the handler may have changed them). Returns the
    /// restored a0, which the system-call path writes back. A bad frame
    /// kills with SIGSEGV.
    pub fn sigreturn(&mut self) -> KResult<u64> {
        let frame = self.hart.regs.x[2];
        let mut f = vec![0u8; FRAME_SIZE as usize];
        if self.copy_from_user(frame, &mut f).is_err() {
            self.force_sig_info(SigInfo::new(Signal::SIGSEGV, super::signal::SI_KERNEL));
            return Ok(self.hart.regs.x[10]);
        }
        let get = |at: usize| u64::from_le_bytes(f[at..at + 8].try_into().unwrap());
        let mask = get(UC_SIGMASK) & !UNBLOCKABLE;
        let r = &mut self.hart.regs;
        r.pc = get(UC_MCONTEXT);
        for i in 1..32 {
            r.x[i] = get(UC_MCONTEXT + 8 * i);
        }
        for i in 0..32 {
            r.f[i] = get(UC_FPREGS + 8 * i);
        }
        r.fcsr = u32::from_le_bytes(f[UC_FCSR..UC_FCSR + 4].try_into().unwrap()) & 0xff;
        let a0 = r.x[10];
        self.current_mut().sigmask = mask;
        // restore_altstack: a valid uc_stack becomes the alternate stack
        // again (what SS_AUTODISARM relies on).
        let (sp, flags, size) = (get(UC_STACK), get(UC_STACK + 8) as u32, get(UC_STACK + 16));
        let me = self.current_mut();
        if me.sig.on_altstack(frame) {
            // Still on the alternate stack: Linux's do_sigaltstack refuses
            // (EPERM) and the stack stays as it is.
        } else if flags & super::signal::SS_DISABLE != 0 {
            me.sig.altstack_sp = 0;
            me.sig.altstack_size = 0;
            me.sig.altstack_autodisarm = false;
        } else if size >= super::signal::MINSIGSTKSZ {
            me.sig.altstack_sp = sp;
            me.sig.altstack_size = size;
            me.sig.altstack_autodisarm = flags & SS_AUTODISARM != 0;
        }
        Ok(a0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The offsets riscv64-linux-gnu-gcc reports for glibc's siginfo_t and
    /// ucontext_t (`offsetof`), which follow asm/ucontext.h and
    /// asm/sigcontext.h.
    #[test]
    fn frame_matches_linux_riscv64() {
        assert_eq!(FRAME_SIZE, 128 + 960);
        assert_eq!(UC_STACK - UC, 16);
        assert_eq!(UC_SIGMASK - UC, 40);
        assert_eq!(UC_MCONTEXT - UC, 176);
        assert_eq!(UC_FPREGS - UC, 432);
        assert_eq!(UC_FCSR - UC, 688);
        assert_eq!(FRAME_SIZE % 16, 0);
    }
}
