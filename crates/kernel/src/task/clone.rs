//! clone, fork and vfork: Linux's `kernel_clone` and `copy_process`.
//!
//! A new task is the caller's copy, resource by resource, each shared or
//! duplicated by its own flag:
//!
//! | resource                         | shared with          | else          |
//! |----------------------------------|----------------------|---------------|
//! | address space (`copy_mm`)        | CLONE_VM             | `Mm::fork`: copy-on-write |
//! | fd table (`copy_files`)          | CLONE_FILES          | copied        |
//! | cwd, root, umask (`copy_fs`)     | CLONE_FS             | copied        |
//! | signal handlers (`copy_sighand`) | CLONE_SIGHAND        | copied (CLONE_CLEAR_SIGHAND: reset to default) |
//! | thread group (`copy_thread_group`) | CLONE_THREAD       | a new process |
//!
//! fork is clone with none of them (exit signal SIGCHLD); vfork is
//! CLONE_VM|CLONE_VFORK|SIGCHLD, the parent blocked until the child execs
//! or exits; a thread is CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|
//! CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|
//! CLONE_CHILD_CLEARTID.
//!
//! Honoured trivially: CLONE_SYSVSEM (no System V semaphores yet),
//! CLONE_IO (one I/O context), CLONE_DETACHED (ignored by Linux too),
//! CLONE_UNTRACED and CLONE_PTRACE (no ptrace). Not supported: namespaces
//! (EPERM, as an unprivileged caller gets it),
//! CLONE_INTO_CGROUP (EPERM... see `copy_process`), clone3's set_tid (EPERM,
//! as for a caller without CAP_CHECKPOINT_RESTORE).

use super::rlimit::RLIMIT_NPROC;
use super::signal::{Signal, SIG_DFL, SIG_IGN};
use super::{Kernel, Task, ThreadGroup, Tid};
use crate::errno::{Errno, KResult};
use crate::wait::WaitReason;
use std::cell::RefCell;
use std::rc::Rc;

/// The exit signal's byte of clone's flags word.
pub const CSIGNAL: u64 = 0xff;

bitflags::bitflags! {
    /// clone's flags (Linux's include/uapi/linux/sched.h), the exit
    /// signal apart: `CloneFlags::VM` is CLONE_VM.
    #[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
    pub struct CloneFlags: u64 {
        const NEWTIME = 0x80;
        const VM = 0x100;
        const FS = 0x200;
        const FILES = 0x400;
        const SIGHAND = 0x800;
        const PIDFD = 0x1000;
        const PTRACE = 0x2000;
        const VFORK = 0x4000;
        const PARENT = 0x8000;
        const THREAD = 0x10000;
        const NEWNS = 0x20000;
        const SYSVSEM = 0x40000;
        const SETTLS = 0x80000;
        const PARENT_SETTID = 0x100000;
        const CHILD_CLEARTID = 0x200000;
        const DETACHED = 0x400000;
        const UNTRACED = 0x800000;
        const CHILD_SETTID = 0x1000000;
        const NEWCGROUP = 0x2000000;
        const NEWUTS = 0x4000000;
        const NEWIPC = 0x8000000;
        const NEWUSER = 0x10000000;
        const NEWPID = 0x20000000;
        const NEWNET = 0x40000000;
        const IO = 0x80000000;
        const CLEAR_SIGHAND = 0x1_0000_0000;
        const INTO_CGROUP = 0x2_0000_0000;
        /// The namespace flags, none of which is supported.
        const NEW_ANY = Self::NEWNS.bits()
            | Self::NEWCGROUP.bits()
            | Self::NEWUTS.bits()
            | Self::NEWIPC.bits()
            | Self::NEWUSER.bits()
            | Self::NEWPID.bits()
            | Self::NEWNET.bits()
            | Self::NEWTIME.bits();
    }
}

/// Linux's `struct kernel_clone_args`: what clone and clone3 ask for.
#[derive(Clone, Copy, Debug, Default)]
pub struct CloneArgs {
    /// Flags without the exit signal.
    pub flags: CloneFlags,
    pub pidfd: u64,
    pub child_tid: u64,
    pub parent_tid: u64,
    pub exit_signal: u64,
    /// The new stack pointer (clone3: stack + stack_size), 0 to keep it.
    pub stack: u64,
    pub tls: u64,
    pub set_tid_size: u64,
    pub cgroup: u64,
}

impl Kernel {
    /// Linux's kernel_clone: creates the task and returns its tid to the
    /// caller, or blocks the caller (vfork) until the child releases it.
    pub fn kernel_clone(&mut self, args: &CloneArgs) -> KResult<u64> {
        let flags = args.flags;
        // clone() passes pidfd and parent_tid in one register.
        if flags.contains(CloneFlags::PIDFD)
            && flags.contains(CloneFlags::PARENT_SETTID)
            && args.pidfd == args.parent_tid
        {
            return Err(Errno::EINVAL);
        }
        let child = self.copy_process(args)?;
        if flags.contains(CloneFlags::PARENT_SETTID) {
            // Into the caller's space, after the child's was copied: a fork
            // child does not see it. A fault is ignored, as in Linux.
            let _ = self.write_user_u32(args.parent_tid, child);
        }
        if flags.contains(CloneFlags::VFORK) {
            self.tasks
                .get_mut(&child)
                .expect("child exists")
                .vfork_parent = Some(self.current_tid());
            // Woken by vfork_release with the child's tid as the result.
            return Err(self.block(WaitReason::Vfork { child }, None));
        }
        Ok(u64::from(child))
    }

    /// Linux's copy_process: validates the flags in Linux's order, then
    /// builds the child one resource at a time. Returns the child's tid;
    /// the child is runnable.
    pub fn copy_process(&mut self, args: &CloneArgs) -> KResult<Tid> {
        let flags = args.flags;
        if flags.contains(CloneFlags::NEWNS | CloneFlags::FS)
            || flags.contains(CloneFlags::NEWUSER | CloneFlags::FS)
        {
            return Err(Errno::EINVAL);
        }
        // Threads share signal handlers; shared handlers need a shared
        // address space.
        if flags.contains(CloneFlags::THREAD) && !flags.contains(CloneFlags::SIGHAND) {
            return Err(Errno::EINVAL);
        }
        if flags.contains(CloneFlags::SIGHAND) && !flags.contains(CloneFlags::VM) {
            return Err(Errno::EINVAL);
        }
        // init may not create siblings (they would have no reaper).
        let my_tgid = self.current().group.borrow().tgid;
        if flags.contains(CloneFlags::PARENT) && my_tgid == 1 {
            return Err(Errno::EINVAL);
        }
        if flags.contains(CloneFlags::THREAD)
            && flags.intersects(CloneFlags::NEWUSER | CloneFlags::NEWPID)
        {
            return Err(Errno::EINVAL);
        }
        // Linux 6.1: no pidfd for a thread.
        if flags.contains(CloneFlags::PIDFD)
            && flags.intersects(CloneFlags::DETACHED | CloneFlags::THREAD)
        {
            return Err(Errno::EINVAL);
        }
        // RLIMIT_NPROC: the tasks of the caller's real uid, unless that is
        // root (INIT_USER) or the caller has CAP_SYS_RESOURCE/CAP_SYS_ADMIN
        // (euid 0 here).
        let cred = self.cred();
        let nproc = self.current().group.borrow().rlimits.get(RLIMIT_NPROC).cur;
        if !cred.privileged() && cred.uid != 0 && self.tasks_of_user(cred.uid) >= nproc {
            return Err(Errno::EAGAIN);
        }
        // max_threads binds everyone, root included: the kernel's own
        // memory for tasks is bounded by the guest's RAM.
        if self.nr_threads() >= self.sysctl.threads_max {
            return Err(Errno::EAGAIN);
        }
        // copy_namespaces: an unprivileged caller gets EPERM.
        if flags.intersects(CloneFlags::NEW_ANY) {
            return Err(Errno::EPERM);
        }
        if flags.contains(CloneFlags::INTO_CGROUP) {
            return Err(Errno::EPERM);
        }
        // alloc_pid: choosing the pid needs CAP_CHECKPOINT_RESTORE.
        if args.set_tid_size > 0 {
            return Err(Errno::EPERM);
        }
        if flags.contains(CloneFlags::PIDFD) {
            // Where the pidfd goes must be writable, or there is no child.
            self.check_user_writable(args.pidfd, 4)?;
        }

        let mm = self.copy_mm(flags)?;
        let files = self.copy_files(flags);
        // CLONE_PIDFD: installed after the table was copied, so a child
        // with its own table does not inherit it. Its pid is the next tid.
        let pidfd = if flags.contains(CloneFlags::PIDFD) {
            match self.install_pidfd(self.next_tid, 0) {
                Ok(fd) => Some(fd),
                Err(e) => {
                    self.mmput(mm);
                    return Err(e);
                }
            }
        } else {
            None
        };
        let fs = self.copy_fs(flags);
        let sighand = self.copy_sighand(flags);
        let tid = self.alloc_tid();
        let group = self.copy_thread_group(flags, args.exit_signal, tid);

        // copy_thread: the caller's registers; the child returns 0 from the
        // call, past the ecall (the caller's pc already is), on its new
        // stack and with its new thread pointer if asked.
        let mut regs = self.hart.regs.clone();
        regs.x[10] = 0;
        if args.stack != 0 {
            regs.x[2] = args.stack;
        }
        if flags.contains(CloneFlags::SETTLS) {
            regs.x[4] = args.tls;
        }
        let me = self.current();
        let (sigmask, my_sig) = (me.sigmask, me.sig);
        // fork clears pending signals: the child has its own.
        let mut child = Task::new(tid, regs, mm, sighand, files, fs, group);
        if flags.contains(CloneFlags::CHILD_CLEARTID) {
            child.clear_child_tid = args.child_tid;
        }
        child.sigmask = sigmask;
        // The alternate stack is inherited (clone with CLONE_VM without
        // CLONE_VFORK clears it, as Linux does).
        if !flags.contains(CloneFlags::VM) || flags.contains(CloneFlags::VFORK) {
            child.sig = super::signal::ThreadSig {
                saved_mask: None,
                interrupted: false,
                waiting: 0,
                ..my_sig
            };
        }
        self.tasks.insert(tid, child);
        if flags.contains(CloneFlags::CHILD_SETTID) {
            // In the child's space (Linux writes it as the child first
            // runs); a fault is ignored.
            let mm = self.tasks[&tid].mm.clone();
            let _ = mm
                .borrow_mut()
                .write_user_u32(&mut self.phys, args.child_tid, tid);
        }
        if let Some(fd) = pidfd {
            // Checked writable above.
            let _ = self.write_user_u32(args.pidfd, fd as u32);
        }
        if my_tgid == 1 && !flags.contains(CloneFlags::THREAD) && self.main_pid.is_none() {
            self.main_pid = Some(tid);
        }
        self.enqueue(tid, super::sched::Placement::New);
        Ok(tid)
    }

    /// CLONE_VM: the same address space; else a copy-on-write copy. The
    /// parent's TLB loses the write permissions fork took away when the
    /// run loop applies its `take_tlb_flush` after this call.
    fn copy_mm(&mut self, flags: CloneFlags) -> KResult<Rc<RefCell<crate::mm::Mm>>> {
        let mm = self.current().mm.clone();
        if flags.contains(CloneFlags::VM) {
            return Ok(mm);
        }
        let child = mm.borrow_mut().fork(&mut self.phys)?;
        Ok(Rc::new(RefCell::new(child)))
    }

    /// CLONE_FILES: the same fd table; else a copy.
    fn copy_files(&mut self, flags: CloneFlags) -> Rc<RefCell<super::files::Files>> {
        let files = self.current().files.clone();
        if flags.contains(CloneFlags::FILES) {
            return files;
        }
        let copy = files.borrow().clone();
        Rc::new(RefCell::new(copy))
    }

    /// Gives `tid` a file table of its own if it shares one (Linux's
    /// unshare_fd): exec, close_range(CLOSE_RANGE_UNSHARE).
    pub fn unshare_files(&mut self, tid: Tid) {
        let task = self.tasks.get_mut(&tid).expect("task exists");
        if Rc::strong_count(&task.files) > 1 {
            let copy = task.files.borrow().clone();
            task.files = Rc::new(RefCell::new(copy));
        }
    }

    /// Gives `tid` signal handlers of its own if it shares them with
    /// another process (Linux's unshare_sighand, at exec).
    pub fn unshare_sighand(&mut self, tid: Tid) {
        let task = self.tasks.get_mut(&tid).expect("task exists");
        if Rc::strong_count(&task.sighand) > 1 {
            let copy = task.sighand.borrow().clone();
            task.sighand = Rc::new(RefCell::new(copy));
        }
    }

    /// CLONE_FS: the same cwd, root and umask; else a copy.
    fn copy_fs(&mut self, flags: CloneFlags) -> Rc<RefCell<super::FsInfo>> {
        let fs = self.current().fs.clone();
        if flags.contains(CloneFlags::FS) {
            return fs;
        }
        let copy = fs.borrow().clone();
        Rc::new(RefCell::new(copy))
    }

    /// CLONE_SIGHAND: the same handlers; else a copy, with every caught
    /// signal back to SIG_DFL under CLONE_CLEAR_SIGHAND.
    fn copy_sighand(&mut self, flags: CloneFlags) -> Rc<RefCell<super::signal::SigHand>> {
        let sighand = self.current().sighand.clone();
        if flags.contains(CloneFlags::SIGHAND) {
            return sighand;
        }
        let mut copy = sighand.borrow().clone();
        if flags.contains(CloneFlags::CLEAR_SIGHAND) {
            copy.reset_caught();
        }
        Rc::new(RefCell::new(copy))
    }

    /// CLONE_THREAD: one more thread in the caller's group; else a new
    /// process whose parent is the caller (CLONE_PARENT: the caller's
    /// parent), in the caller's process group and session.
    fn copy_thread_group(
        &mut self,
        flags: CloneFlags,
        exit_signal: u64,
        tid: Tid,
    ) -> Rc<RefCell<ThreadGroup>> {
        let group = self.current().group.clone();
        if flags.contains(CloneFlags::THREAD) {
            group.borrow_mut().threads.push(tid);
            return group;
        }
        let now = self.monotonic();
        let g = group.borrow();
        let (ppid, parent_tid, exit_signal) = if flags.contains(CloneFlags::PARENT) {
            // A sibling signals the common parent as the caller would.
            (g.ppid, g.parent_tid, g.exit_signal)
        } else {
            (g.tgid, self.current_tid(), exit_signal as u32)
        };
        let child = Rc::new(RefCell::new(ThreadGroup {
            ppid,
            parent_tid,
            pgid: g.pgid,
            sid: g.sid,
            exit_signal,
            traced: g.traced,
            // Timers, pending signals and children are not inherited.
            ..ThreadGroup::new(
                now,
                tid,
                g.cred.clone(),
                g.rlimits.clone(),
                g.exe.clone(),
                g.comm.clone(),
            )
        }));
        drop(g);
        self.groups.insert(tid, child.clone());
        child
    }

    /// Tasks of real uid `uid`, what RLIMIT_NPROC counts (Linux's
    /// ucounts): every thread not yet exited, and a process's leader until
    /// the process is reaped (a zombie counts as one).
    fn tasks_of_user(&self, uid: u32) -> u64 {
        self.groups
            .values()
            .map(|g| g.borrow())
            .filter(|g| g.cred.uid == uid)
            .map(|g| g.threads.len().max(1) as u64)
            .sum()
    }

    /// Linux's nr_threads: every thread not yet exited, and a zombie's
    /// leader until it is reaped.
    fn nr_threads(&self) -> u64 {
        let zombies = self
            .groups
            .values()
            .filter(|g| g.borrow().threads.is_empty());
        (self.tasks.len() + zombies.count()) as u64
    }
}

impl super::signal::SigHand {
    /// Every caught signal back to SIG_DFL; ignored ones stay ignored (what
    /// exec and CLONE_CLEAR_SIGHAND do).
    pub fn reset_caught(&mut self) {
        for nr in 1..super::signal::NSIG {
            let sig = Signal(nr);
            let act = self.action(sig);
            if act.handler != SIG_DFL && act.handler != SIG_IGN {
                let _ = self.set_action(sig, Default::default());
            }
        }
    }
}
