//! Exit and wait (Linux's kernel/exit.c): ending a thread (`exit`) and a
//! process (`exit_group`), zombies, reparenting of orphans to the nearest
//! subreaper or to init, the parent's notification, and wait4/waitid's
//! choice of child and status encoding.
//!
//! Every way a thread ends goes through [`Kernel::exit_thread`], which
//! releases what the thread holds in Linux's order (see there). The last
//! thread of a process makes it a zombie: its children are reparented, its
//! parent gets the exit signal (SIGCHLD with CLD_* si_code, see
//! `sigdeliver.rs`) and its waiters are woken. wait reaps the zombie.
//! PID 1's end shuts the kernel down.

use super::block::TaskState;
use super::sigdeliver::SigTarget;
use super::signal::{SigInfo, Signal, SIG_IGN};
use super::{ExitStatus, Kernel, Task, ThreadGroup, Tid};
use crate::errno::{Errno, KResult};
use crate::wait::WaitReason;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

// wait options (asm-generic).
pub const WNOHANG: u32 = 0x1;
pub const WUNTRACED: u32 = 0x2;
pub const WSTOPPED: u32 = WUNTRACED;
pub const WEXITED: u32 = 0x4;
pub const WCONTINUED: u32 = 0x8;
pub const WNOWAIT: u32 = 0x0100_0000;
pub const WNOTHREAD: u32 = 0x2000_0000;
pub const WALL: u32 = 0x4000_0000;
pub const WCLONE: u32 = 0x8000_0000;

/// SA_NOCLDWAIT: children of a parent with it are reaped at exit.
const SA_NOCLDWAIT: u64 = 2;

// si_code values for SIGCHLD.
pub const CLD_EXITED: i32 = 1;
pub const CLD_KILLED: i32 = 2;
pub const CLD_DUMPED: i32 = 3;
pub const CLD_STOPPED: i32 = 5;
pub const CLD_CONTINUED: i32 = 6;

/// Which children a wait looks at (wait4's pid, waitid's idtype and id).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitWho {
    Any,
    Pid(Tid),
    Pgid(Tid),
}

/// A child state change that wait reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WaitResult {
    pub pid: Tid,
    pub uid: u32,
    /// wait4's status word.
    pub status: u32,
    /// waitid's si_code and si_status.
    pub code: i32,
    pub si_status: i32,
    /// The child's CPU time (its own and its reaped children's).
    pub utime: Duration,
}

impl Kernel {
    /// Ends every thread of the current process with `status`.
    pub fn exit_group(&mut self, status: ExitStatus) {
        let group = self.current().group.clone();
        group.borrow_mut().exit.get_or_insert(status);
        let tgid = group.borrow().tgid;
        for tid in self.threads_of(tgid) {
            self.exit_thread(tid, status);
        }
    }

    /// Ends one thread (Linux's do_exit); the last one out ends the
    /// process with `status` unless exit_group or a signal already chose
    /// one.
    ///
    /// This is the one exit path: exit and exit_group, a signal's default
    /// action (SIGKILL to a thread blocked in any wait too: the signal
    /// wakes it and it dies on its way back to user mode), a fatal fault,
    /// the OOM kill, execve killing the other threads and a vfork child
    /// dying all come here, and nothing of a dead thread is kept anywhere
    /// else. In Linux's order, the thread:
    ///
    /// 1. leaves the scheduler: the run queue, the timer set and the futex
    ///    queues, wherever it was waiting (exit_signals);
    /// 2. with its process's last thread, the process's timers stop:
    ///    ITIMER_REAL and the POSIX timers (exit_itimers);
    /// 3. releases its address space (exit_mm): first mm_release, which
    ///    walks the robust futex list, zeroes and wakes clear_child_tid,
    ///    and lets a vfork parent go on; then the space itself with its
    ///    last user; with the process's last thread, its semaphore
    ///    adjustments (SEM_UNDO) are applied (exit_sem);
    /// 4. closes its files and drops its cwd and root (exit_files,
    ///    exit_fs): a pipe's other end sees EOF, EPIPE or POLLHUP, its
    ///    waiters being woken before the scheduler picks the next thread
    ///    (`Kernel::run`);
    /// 5. drops its own pending signals (the process's stay with the
    ///    zombie until it is reaped, as Linux's do);
    /// 6. notifies (exit_notify): with the last thread, the process
    ///    becomes a zombie, its children are reparented and its parent is
    ///    signalled and its waiters woken (`exit_process`).
    pub fn exit_thread(&mut self, tid: Tid, status: ExitStatus) {
        let Some(task) = self.tasks.get(&tid) else {
            return;
        };
        let group = task.group.clone();
        // 1.
        self.rq.remove(tid);
        self.sleepers.remove(&tid);
        if let TaskState::Blocked(b) = &task.state {
            if let Some(d) = b.deadline {
                self.timers.remove(&(d, tid));
            }
        }
        let last = group.borrow().threads.len() == 1;
        // 2.
        if last {
            self.exit_itimers(&group);
        }
        // 3. (futex_exit_release leaves the futex queues of step 1 too.)
        self.futex_exit_release(tid);
        self.vfork_release(tid);
        let task = self.tasks.remove(&tid).expect("exiting task exists");
        if self.on_hart == Some(tid) {
            self.on_hart = None;
        }
        let Task {
            mm,
            files,
            fs,
            pending,
            cpu_time,
            ..
        } = task;
        self.mmput(mm);
        if last {
            self.exit_sem(&group);
        }
        // 4.
        drop(files);
        drop(fs);
        // 5.
        drop(pending);
        let uid = group.borrow().cred.uid;
        {
            let mut g = group.borrow_mut();
            g.threads.retain(|&t| t != tid);
            g.dead_threads_time += cpu_time;
        }
        let tgid = group.borrow().tgid;
        // 6. Children whose parent thread this was get another thread of
        // the group as parent (Linux's find_new_reaper looks in the group
        // first).
        if !last {
            if let Some(&heir) = self.threads_of(tgid).first() {
                for g in self.groups.values() {
                    let mut g = g.borrow_mut();
                    if g.parent_tid == tid && g.tgid != tgid {
                        g.parent_tid = heir;
                    }
                }
            }
        }
        if last {
            let status = *group.borrow_mut().exit.get_or_insert(status);
            self.exit_process(&group, status, uid);
        }
    }

    /// Linux's exit_itimers and the real timer's cancel: the process's
    /// ITIMER_REAL and POSIX timers stop with its last thread.
    fn exit_itimers(&mut self, group: &Rc<RefCell<ThreadGroup>>) {
        let mut g = group.borrow_mut();
        if let Some((at, _)) = g.itimer_real.take() {
            self.alarms.remove(&(at, g.tgid));
        }
        g.posix_timers.delete_all();
    }

    /// The last thread of `group` has gone: reparent its children, make it
    /// a zombie and tell its parent.
    fn exit_process(&mut self, group: &Rc<RefCell<ThreadGroup>>, status: ExitStatus, _uid: u32) {
        let tgid = group.borrow().tgid;
        if tgid == 1 {
            self.init_exit = Some(status);
            return;
        }
        if Some(tgid) == self.main_pid {
            self.main_exit = Some(status);
        }
        self.forget_original_parent(group);
        self.kill_orphaned_pgrp(group, None);
        group.borrow_mut().zombie = Some(status);
        self.wake_pidfd_pollers(tgid);
        let (ppid, exit_signal) = {
            let g = group.borrow();
            (g.ppid, g.exit_signal)
        };
        let Some(parent) = self.groups.get(&ppid).cloned() else {
            // No parent (the first process of a kernel booted without
            // init): nobody will reap it.
            self.groups.remove(&tgid);
            return;
        };
        // Linux's do_notify_parent: SIGCHLD ignored (or SA_NOCLDWAIT) by
        // the parent means the child is reaped at once.
        let sighand = self
            .threads_of(ppid)
            .first()
            .map(|t| self.tasks[t].sighand.clone());
        let mut autoreap = false;
        if exit_signal == Signal::SIGCHLD.0 {
            if let Some(sighand) = sighand {
                let act = sighand.borrow().action(Signal::SIGCHLD);
                autoreap = act.handler == SIG_IGN || act.flags & SA_NOCLDWAIT != 0;
            }
        }
        drop(parent);
        if autoreap {
            self.reap(tgid);
        }
        self.wake_restart(|r| *r == WaitReason::Child { tgid: ppid });
        // After the waiters are woken, so that a wait4 the signal would
        // interrupt runs again first and finds the zombie, as Linux's does.
        if (1..=64).contains(&exit_signal) {
            let info = Self::child_info(group, status, _uid, exit_signal);
            self.send_signal(SigTarget::Process(ppid), info);
        }
    }

    /// Linux's forget_original_parent: the children of dying `group` go to
    /// the nearest live ancestor that is a child subreaper, or to init;
    /// zombies among them are announced to the new parent.
    fn forget_original_parent(&mut self, group: &Rc<RefCell<ThreadGroup>>) {
        let tgid = group.borrow().tgid;
        let children: Vec<_> = self
            .groups
            .values()
            .filter(|g| g.borrow().ppid == tgid)
            .cloned()
            .collect();
        if children.is_empty() {
            return;
        }
        let reaper = self.find_reaper(group.borrow().ppid);
        let reaper_tid = self.threads_of(reaper).first().copied().unwrap_or(reaper);
        let mut zombies = Vec::new();
        for child in &children {
            let mut c = child.borrow_mut();
            c.ppid = reaper;
            c.parent_tid = reaper_tid;
            // Linux sends SIGCHLD for a reparented zombie (exit_signal is
            // reset to SIGCHLD on reparenting of a process).
            c.exit_signal = Signal::SIGCHLD.0;
            if let Some(status) = c.zombie {
                drop(c);
                zombies.push(Self::child_info(child, status, 0, Signal::SIGCHLD.0));
            }
        }
        for child in &children {
            self.kill_orphaned_pgrp(child, Some(tgid));
        }
        for info in zombies {
            self.send_signal(SigTarget::Process(reaper), info);
        }
        self.wake_restart(|r| *r == WaitReason::Child { tgid: reaper });
    }

    /// Linux's kill_orphaned_pgrp: when `group` exits (`parent` None) or,
    /// reparented, loses its parent `parent`, its process group may lose
    /// its last link to a parent in another group of the same session;
    /// such a newly orphaned group with a stopped member gets SIGHUP, then
    /// SIGCONT, so that its jobs are not stopped forever with no shell to
    /// continue them.
    fn kill_orphaned_pgrp(&mut self, group: &Rc<RefCell<ThreadGroup>>, parent: Option<Tid>) {
        let (tgid, pgid, sid, ppid) = {
            let g = group.borrow();
            (g.tgid, g.pgid, g.sid, g.ppid)
        };
        // Exiting, the group itself no longer counts; reparented, it does.
        let (parent, ignored) = match parent {
            None => (ppid, Some(tgid)),
            Some(p) => (p, None),
        };
        let Some(p) = self.groups.get(&parent) else {
            return;
        };
        let (ppgid, psid) = (p.borrow().pgid, p.borrow().sid);
        // The cheap tests first: a fork bomb's members exit by thousands.
        if ppgid == pgid || psid != sid {
            return;
        }
        let stopped = self
            .groups
            .values()
            .map(|g| g.borrow())
            .any(|g| g.pgid == pgid && g.stopped && Some(g.tgid) != ignored);
        if !stopped || !self.pgrp_orphaned(pgid, ignored) {
            return;
        }
        let members: Vec<Tid> = self
            .groups
            .values()
            .filter(|g| g.borrow().pgid == pgid)
            .map(|g| g.borrow().tgid)
            .collect();
        for sig in [Signal::SIGHUP, Signal::SIGCONT] {
            for &pid in &members {
                let info = SigInfo::new(sig, super::signal::SI_KERNEL);
                self.send_signal(SigTarget::Process(pid), info);
            }
        }
    }

    /// Linux's will_become_orphaned_pgrp: no member of process group
    /// `pgid` (but `ignored`, and zombies) has a parent in another group
    /// of the same session; init as a parent does not count. Except for
    /// the main program: to it, cleave's init stands for the host's shell
    /// that started cleave, which links its group to the outside (on the
    /// host, a job's group is not orphaned while its shell lives).
    pub fn pgrp_orphaned(&self, pgid: Tid, ignored: Option<Tid>) -> bool {
        !self.groups.values().any(|g| {
            let g = g.borrow();
            if g.pgid != pgid || Some(g.tgid) == ignored || g.zombie.is_some() {
                return false;
            }
            if g.ppid == 1 {
                return Some(g.tgid) == self.main_pid;
            }
            self.groups.get(&g.ppid).is_some_and(|p| {
                let p = p.borrow();
                p.pgid != pgid && p.sid == g.sid
            })
        })
    }

    /// The siginfo of a child's exit signal: CLD_EXITED, CLD_KILLED or
    /// CLD_DUMPED, with its pid, uid, status and user time in clock ticks.
    fn child_info(
        group: &Rc<RefCell<ThreadGroup>>,
        status: ExitStatus,
        uid: u32,
        exit_signal: u32,
    ) -> SigInfo {
        let g = group.borrow();
        let (code, si_status) = match status {
            ExitStatus::Exited(code) => (CLD_EXITED, i32::from(code)),
            ExitStatus::Killed(sig) => (CLD_KILLED, sig.0 as i32),
            ExitStatus::Dumped(sig) => (CLD_DUMPED, sig.0 as i32),
        };
        let ticks = (g.dead_threads_time.as_millis() / 10) as u64;
        let mut info = SigInfo::child(code, g.tgid, uid, si_status, ticks);
        info.0[0..4].copy_from_slice(&exit_signal.to_le_bytes());
        info
    }

    /// The nearest live ancestor starting at `pid` that is a child
    /// subreaper, else init.
    fn find_reaper(&self, mut pid: Tid) -> Tid {
        while let Some(g) = self.groups.get(&pid) {
            let g = g.borrow();
            if pid == 1 {
                break;
            }
            if g.child_subreaper && g.zombie.is_none() && !g.threads.is_empty() {
                return pid;
            }
            pid = g.ppid;
        }
        1
    }

    /// Removes zombie `pid`, adding its times to its parent's.
    fn reap(&mut self, pid: Tid) {
        let Some(g) = self.groups.remove(&pid) else {
            return;
        };
        self.wake_pidfd_pollers(pid);
        let (ppid, time) = {
            let g = g.borrow();
            (g.ppid, g.dead_threads_time + g.children_time)
        };
        if let Some(p) = self.groups.get(&ppid) {
            p.borrow_mut().children_time += time;
        }
    }

    /// vfork: if `tid` is a vfork child, its parent's clone returns now
    /// (with the child's tid), because the child exec'd or is exiting.
    /// Returns whether a parent was released.
    pub fn vfork_release(&mut self, tid: Tid) -> bool {
        let Some(task) = self.tasks.get_mut(&tid) else {
            return false;
        };
        match task.vfork_parent.take() {
            Some(parent) if self.blocked_on(parent) == Some(&WaitReason::Vfork { child: tid }) => {
                self.wake_complete(parent, Ok(u64::from(tid)))
            }
            _ => false,
        }
    }

    /// The core of wait4 and waitid (Linux's do_wait): reports one child
    /// of the current process matching `who` and `options`, reaping it
    /// unless WNOWAIT. Ok(None): none is ready (WNOHANG, or the caller
    /// blocks). ECHILD when no child matches at all.
    pub fn do_wait(&mut self, who: WaitWho, options: u32) -> KResult<Option<WaitResult>> {
        let me = self.current().group.clone();
        let (my_tgid, my_pgid) = {
            let g = me.borrow();
            (g.tgid, g.pgid)
        };
        let my_tid = self.current_tid();
        let mut any = false;
        let candidates: Vec<_> = self
            .groups
            .values()
            .filter(|g| g.borrow().ppid == my_tgid)
            .cloned()
            .collect();
        for child in candidates {
            let c = child.borrow();
            if c.ppid != my_tgid || c.tgid == my_tgid {
                continue;
            }
            if options & WNOTHREAD != 0 && c.parent_tid != my_tid {
                continue;
            }
            let selected = match who {
                WaitWho::Any => true,
                WaitWho::Pid(pid) => c.tgid == pid,
                WaitWho::Pgid(0) => c.pgid == my_pgid,
                WaitWho::Pgid(pgid) => c.pgid == pgid,
            };
            // A "clone child" signals its parent with something other
            // than SIGCHLD; __WCLONE selects only those, __WALL both.
            let clone_child = c.exit_signal != Signal::SIGCHLD.0;
            if !selected || (options & WALL == 0 && clone_child != (options & WCLONE != 0)) {
                continue;
            }
            any = true;
            let uid = c.cred.uid;
            let utime = c.dead_threads_time + c.children_time;
            let base = WaitResult {
                pid: c.tgid,
                uid,
                status: 0,
                code: 0,
                si_status: 0,
                utime,
            };
            if let (Some(status), true) = (c.zombie, options & WEXITED != 0) {
                let (code, si_status) = match status {
                    ExitStatus::Exited(code) => (CLD_EXITED, i32::from(code)),
                    ExitStatus::Killed(sig) => (CLD_KILLED, sig.0 as i32),
                    ExitStatus::Dumped(sig) => (CLD_DUMPED, sig.0 as i32),
                };
                let pid = c.tgid;
                drop(c);
                if options & WNOWAIT == 0 {
                    self.reap(pid);
                }
                return Ok(Some(WaitResult {
                    status: status.wait_status(),
                    code,
                    si_status,
                    ..base
                }));
            }
            if let (Some(sig), true) = (c.stop_report, options & WSTOPPED != 0) {
                drop(c);
                if options & WNOWAIT == 0 {
                    child.borrow_mut().stop_report = None;
                }
                return Ok(Some(WaitResult {
                    status: 0x7f | sig.0 << 8,
                    code: CLD_STOPPED,
                    si_status: sig.0 as i32,
                    ..base
                }));
            }
            if c.continued_report && options & WCONTINUED != 0 {
                drop(c);
                if options & WNOWAIT == 0 {
                    child.borrow_mut().continued_report = false;
                }
                return Ok(Some(WaitResult {
                    status: 0xffff,
                    code: CLD_CONTINUED,
                    si_status: Signal::SIGCONT.0 as i32,
                    ..base
                }));
            }
        }
        if any {
            Ok(None)
        } else {
            Err(Errno::ECHILD)
        }
    }

    /// Whether `task` is the current thread group's only live thread.
    pub fn is_single_threaded(&self, task: &Task) -> bool {
        task.group.borrow().threads.len() == 1
    }
}
