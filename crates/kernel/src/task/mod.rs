//! Tasks, and the kernel that holds them.
//!
//! A [`Task`] is a thread: its registers and the per-thread state Linux
//! keeps in `task_struct`. The resources a thread may share with others,
//! each decided by its own clone flag, are reference-counted handles: the
//! address space ([`Mm`], CLONE_VM), the file table ([`Files`],
//! CLONE_FILES), cwd/root/umask ([`FsInfo`], CLONE_FS), the signal handlers
//! ([`SigHand`], CLONE_SIGHAND) and the thread group ([`ThreadGroup`],
//! CLONE_THREAD: pid, parent, process group, session, limits, exit status).
//! `clone.rs` decides each of them (`copy_process`); `exec.rs` replaces the
//! image; `exit.rs` ends threads and processes and implements wait;
//! `block.rs` is how a system call waits; `sigdeliver.rs` sends and
//! delivers signals; `uaccess.rs` is the current task's access to user
//! memory; `sysvipc.rs` is what System V IPC needs of tasks, `sysctl.rs`
//! the settings /proc/sys changes.
//!
//! Processes are [`ThreadGroup`]s kept in `Kernel::groups` from fork until
//! reaped (a zombie is a group with no threads left and `zombie` set);
//! threads are kept in `Kernel::tasks` while they live.
//!
//! The run loop, `Kernel::run`, is the layer above (`crate::entry`): this
//! module gives it the steps it takes (`Kernel::schedule` picks who runs
//! next, `sched.rs`: slices of instructions and kernel work, fairly shared
//! by virtual runtime; signal delivery; accounting; the system call's
//! start and end), so that tasks never call into the system-call layer.

pub mod acct;
pub mod block;
pub mod clock;
pub mod clone;
pub mod cred;
pub mod exec;
pub mod exit;
pub mod files;
pub mod futex;
mod hostsig;
mod mapping;
pub mod rlimit;
pub mod sched;
pub mod sigdeliver;
pub mod signal;
pub mod sysctl;
pub mod sysvipc;
pub mod timer;
mod uaccess;

use crate::errno::KResult;
use crate::fs::stdio::HostStdio;
use crate::loader::{ExecError, Executable};
use crate::mm::{Mm, Phys};
use block::{Restart, TaskState};
use clock::Clock;
pub use cred::Cred;
pub use exec::{ExecRequest, NewImage};
use files::Files;
use rand::rngs::StdRng;
use rand::SeedableRng;
use rlimit::Rlimits;
use rv::{Hart, Regs};
use signal::{SigHand, Signal};
use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

/// The embedded init (userland/src/init.c), PID 1 of every boot.
pub static INIT_IMAGE: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../userland/bin/init"
));

pub use crate::wait::Tid;

/// How a process ended, as wait4 would report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(u8),
    Killed(Signal),
    /// Killed by a signal whose default action dumps core (0x80 in the
    /// wait status; no core file is written).
    Dumped(Signal),
}

impl ExitStatus {
    /// The wait status word: code << 8, or the signal in the low bits.
    pub fn wait_status(self) -> u32 {
        match self {
            ExitStatus::Exited(code) => u32::from(code) << 8,
            ExitStatus::Killed(sig) => sig.0,
            ExitStatus::Dumped(sig) => sig.0 | 0x80,
        }
    }

    /// What a shell sets `$?` to: the code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => i32::from(code),
            ExitStatus::Killed(sig) | ExitStatus::Dumped(sig) => 128 + sig.0 as i32,
        }
    }
}

/// Linux's `fs_struct`: working directory, root and umask, shared by
/// CLONE_FS and copied otherwise. Both directories are places in the VFS
/// (`crate::fs`), where guest paths are resolved.
#[derive(Clone)]
pub struct FsInfo {
    pub cwd: crate::fs::Loc,
    pub root: crate::fs::Loc,
    pub umask: u32,
}

impl FsInfo {
    /// The VFS root; the cwd is the host process's working directory when
    /// the guest can see it at the same path (the host view), else `/`.
    pub fn boot(vfs: &crate::fs::Vfs, umask: u32) -> FsInfo {
        let root = vfs.root();
        let cwd = vfs
            .walk(&root, &root, &vfs.boot_cwd(), true)
            .ok()
            .filter(crate::fs::Loc::is_dir)
            .unwrap_or_else(|| root.clone());
        FsInfo { cwd, root, umask }
    }
}

/// A thread group: what all threads of one process share (Linux's
/// `signal_struct` plus the process identity and its place in the tree).
pub struct ThreadGroup {
    pub tgid: Tid,
    /// The parent process.
    pub ppid: Tid,
    /// The parent thread (Linux's real_parent is a thread: __WNOTHREAD).
    pub parent_tid: Tid,
    pub pgid: Tid,
    pub sid: Tid,
    /// The process's ids (see [`Cred`] for why per process).
    pub cred: Cred,
    pub rlimits: Rlimits,
    /// The executable, what /proc/self/exe names.
    pub exe: crate::fs::ExeFile,
    /// The command name (at most 15 bytes), what prctl(PR_GET_NAME) and
    /// /proc/PID/comm show.
    pub comm: Vec<u8>,
    /// The threads not yet exited, oldest first.
    pub threads: Vec<Tid>,
    /// Set by exit_group or a fatal signal; the last thread to go reports
    /// it.
    pub exit: Option<ExitStatus>,
    /// How the process ended, once every thread has: a zombie until reaped.
    pub zombie: Option<ExitStatus>,
    /// Sent to the parent when the process ends (clone's low byte); 0 for
    /// none.
    pub exit_signal: u32,
    /// PR_SET_CHILD_SUBREAPER.
    pub child_subreaper: bool,
    /// Whether the process has exec'd since fork (setpgid's EACCES).
    pub did_exec: bool,
    /// Shared (process-directed) pending signals.
    pub pending: signal::SigPending,
    /// A stop not yet reported to wait (WUNTRACED): the stopping signal.
    pub stop_report: Option<Signal>,
    /// A continue not yet reported to wait (WCONTINUED).
    pub continued_report: bool,
    /// Stopped by a stop signal until SIGCONT (group stop).
    pub stopped: bool,
    /// ITIMER_REAL (alarm): CLOCK_MONOTONIC expiry and reload interval.
    pub itimer_real: Option<(Duration, Duration)>,
    /// POSIX timers (timer_create), by id.
    pub posix_timers: timer::Timers,
    /// When the process was made (fork or spawn), on CLOCK_MONOTONIC:
    /// time since boot, as /proc/PID/stat's starttime counts it.
    pub start_time: Duration,
    /// What threads that have exited used.
    pub dead_threads: acct::Usage,
    /// What reaped children used, with their own reaped children
    /// (RUSAGE_CHILDREN).
    pub children: acct::Usage,
    /// ITIMER_VIRTUAL and ITIMER_PROF: expiry on the process's user
    /// (virtual) or user and system (prof) time, and reload interval.
    pub itimer_virtual: Option<(Duration, Duration)>,
    pub itimer_prof: Option<(Duration, Duration)>,
    /// Whether system calls are traced: not for init nor for its children
    /// until they exec, so that `--strace` shows the user's program only.
    pub traced: bool,
    /// What the read and write calls moved (/proc/PID/io).
    pub io: IoAccounting,
}

/// Linux's task_io_accounting: bytes and calls of the read and write
/// families, for /proc/PID/io.
#[derive(Clone, Copy, Debug, Default)]
pub struct IoAccounting {
    pub rchar: u64,
    pub wchar: u64,
    pub syscr: u64,
    pub syscw: u64,
}

impl ThreadGroup {
    /// A new process `tgid` made at `start_time`, leader of its own session
    /// and process group, with nothing pending, no children and no timers;
    /// clone and the first spawn adjust what they inherit.
    pub fn new(
        start_time: Duration,
        tgid: Tid,
        cred: Cred,
        rlimits: Rlimits,
        exe: crate::fs::ExeFile,
        comm: Vec<u8>,
    ) -> ThreadGroup {
        ThreadGroup {
            tgid,
            ppid: 0,
            parent_tid: 0,
            pgid: tgid,
            sid: tgid,
            cred,
            rlimits,
            exe,
            comm,
            threads: vec![tgid],
            exit: None,
            zombie: None,
            exit_signal: Signal::SIGCHLD.0,
            child_subreaper: false,
            did_exec: false,
            pending: Default::default(),
            stop_report: None,
            continued_report: false,
            stopped: false,
            itimer_real: None,
            posix_timers: Default::default(),
            start_time,
            dead_threads: Default::default(),
            children: Default::default(),
            itimer_virtual: None,
            itimer_prof: None,
            traced: false,
            io: IoAccounting::default(),
        }
    }
}

/// One thread.
pub struct Task {
    pub tid: Tid,
    /// Saved registers, valid while the task is off the hart.
    regs: Regs,
    /// Runnable or blocked (see `block.rs`).
    pub state: TaskState,
    /// The earlier attempt of a blocked call (see `block.rs`).
    pub restart: Option<Restart>,
    /// set_tid_address / CLONE_CHILD_CLEARTID: cleared and futex-woken at
    /// exit.
    pub clear_child_tid: u64,
    /// set_robust_list: the list head, walked at exit by the futex code.
    pub robust_list: u64,
    /// Blocked signals.
    pub sigmask: u64,
    /// Pending signals for this thread only.
    pub pending: signal::SigPending,
    /// Alternate stack, sigsuspend's saved mask, interruption.
    pub sig: signal::ThreadSig,
    /// What this thread has used: CPU time (see `Clock::slice_cost`),
    /// faults, context switches (see `acct.rs`).
    pub usage: acct::Usage,
    /// The work charged to this thread, as the scheduler orders threads
    /// by it (see `sched.rs`), scaled by its weight.
    pub vruntime: u64,
    /// Scheduling policy, real-time priority and nice value (see
    /// `sched.rs`): inherited across clone.
    pub sched: sched::SchedAttr,
    /// vfork: the parent thread waiting for this child to exec or exit.
    pub vfork_parent: Option<Tid>,
    /// PR_SET_PDEATHSIG: the signal this thread's process gets when the
    /// parent thread exits (0: none). Not inherited; kept across exec.
    pub pdeath_signal: u32,
    /// PR_SET_TIMERSLACK: how late this thread's timed sleeps may end, in
    /// ns, and what PR_SET_TIMERSLACK 0 restores (the creator's slack at
    /// clone). Kept and reported; cleave's timers never fire late on
    /// purpose, so it changes nothing.
    pub timer_slack_ns: u64,
    pub default_timer_slack_ns: u64,
    pub mm: Rc<RefCell<Mm>>,
    pub sighand: Rc<RefCell<SigHand>>,
    pub files: Rc<RefCell<Files>>,
    pub fs: Rc<RefCell<FsInfo>>,
    pub group: Rc<RefCell<ThreadGroup>>,
}

impl Task {
    /// A runnable thread `tid` with registers `regs` and these resources:
    /// nothing pending, blocked or armed, no CPU time used. Boot and clone
    /// then set what the new thread inherits (mask, alternate stack,
    /// clear_child_tid).
    pub fn new(
        tid: Tid,
        regs: Regs,
        mm: Rc<RefCell<Mm>>,
        sighand: Rc<RefCell<SigHand>>,
        files: Rc<RefCell<Files>>,
        fs: Rc<RefCell<FsInfo>>,
        group: Rc<RefCell<ThreadGroup>>,
    ) -> Task {
        Task {
            tid,
            regs,
            state: TaskState::Runnable,
            restart: None,
            clear_child_tid: 0,
            robust_list: 0,
            sigmask: 0,
            pending: Default::default(),
            sig: Default::default(),
            usage: Default::default(),
            vruntime: 0,
            sched: Default::default(),
            vfork_parent: None,
            pdeath_signal: 0,
            timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            default_timer_slack_ns: DEFAULT_TIMER_SLACK_NS,
            mm,
            sighand,
            files,
            fs,
            group,
        }
    }
}

/// init's timer slack, which every thread inherits unless it changes it
/// (Linux's 50 µs).
pub const DEFAULT_TIMER_SLACK_NS: u64 = 50_000;

/// Kernel-wide settings, fixed at boot.
pub struct Config {
    /// Bytes of guest physical memory.
    pub mem_bytes: usize,
    /// Deterministic mode: virtual time and randomness from this seed.
    pub seed: Option<u64>,
    /// Where `--strace` lines go, if anywhere.
    pub trace: Option<Box<dyn Write>>,
}

/// What the first process inherits besides its program: Linux's init gets
/// [`Start::init`]; `cleave run`'s, [`Start::host`], since a program run
/// from a host shell inherits these across fork and exec.
pub struct Start {
    pub cred: Cred,
    pub umask: u32,
    /// Signals ignored and signals blocked (bit N-1 for signal N).
    pub ignored: u64,
    pub sigmask: u64,
}

impl Start {
    /// Root, umask 022, every signal at its default and unblocked.
    pub fn init() -> Start {
        Start {
            cred: Cred::of(0, 0),
            umask: 0o022,
            ignored: 0,
            sigmask: 0,
        }
    }

    /// The cleave process's own user, umask, ignored and blocked signals.
    pub fn host() -> Start {
        // Reading the umask means setting it; nothing creates host files
        // between the two calls.
        let umask = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o022));
        rustix::process::umask(umask);
        // The kernel publishes the dispositions in /proc/self/status.
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let mask = |key: &str| {
            let line = status.lines().find_map(|l| l.strip_prefix(key));
            line.and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
                .unwrap_or(0)
                & !signal::UNBLOCKABLE
        };
        // Rust's runtime ignores SIGPIPE in cleave itself; like the
        // children std::process starts, the guest does not inherit that.
        let sigpipe = 1 << (Signal::SIGPIPE.0 - 1);
        Start {
            cred: Cred::host(),
            umask: umask.as_raw_mode() & 0o777,
            ignored: mask("SigIgn:") & !sigpipe,
            sigmask: mask("SigBlk:"),
        }
    }
}

/// How a run ended: what the CLI reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Shutdown {
    /// How PID 1 ended (None: a deadlock stopped the kernel first).
    pub init: Option<ExitStatus>,
    /// How the main program (PID 1's first child) ended, if it did.
    pub main: Option<ExitStatus>,
    /// Every thread was blocked with nothing left to wake it.
    pub deadlock: bool,
}

pub struct Kernel {
    pub hart: Hart,
    pub phys: Phys,
    /// Live threads.
    tasks: BTreeMap<Tid, Task>,
    /// Processes, from clone until reaped (zombies included).
    groups: BTreeMap<Tid, Rc<RefCell<ThreadGroup>>>,
    /// Runnable tasks (see `sched.rs`).
    rq: sched::RunQueue,
    /// Blocked tasks, what wakers look through (see `block.rs`).
    sleepers: BTreeSet<Tid>,
    /// Blocked tasks with a deadline: (CLOCK_MONOTONIC deadline, tid).
    timers: BTreeSet<(Duration, Tid)>,
    /// Armed ITIMER_REAL timers: (CLOCK_MONOTONIC expiry, tgid); see
    /// `sigdeliver.rs`.
    alarms: BTreeSet<(Duration, Tid)>,
    /// Armed POSIX timers: (CLOCK_MONOTONIC expiry, tgid, timer id); see
    /// `timer.rs`.
    posix_timers: BTreeSet<(Duration, Tid, i32)>,
    /// When (in units of work, `RunQueue::total`) the run loop next
    /// re-checks the host streams for pollers (see `block.rs`).
    console_check_at: u64,
    /// The host terminal's signals, caught while `run` runs.
    host_signals: Option<hostsig::HostSignals>,
    /// Whether a host standard stream is a pipe, socket or terminal, whose
    /// readiness can change (set when `run` starts).
    console_can_change: bool,
    /// The idle loop's last wait found the host's stdin readable and woke
    /// the console's pollers: input that stays readable (at its end, or
    /// wanted by none of them) is not an event again until they have had a
    /// whole idle wait to block on something else.
    stdin_woke_pollers: bool,
    /// Whose registers are in the hart right now.
    on_hart: Option<Tid>,
    /// The system call being handled (see `block.rs`).
    syscall_nr: u64,
    next_tid: Tid,
    pub clock: Clock,
    /// Host entropy, or a seeded generator in deterministic mode.
    pub rng: StdRng,
    trace: Option<Box<dyn Write>>,
    /// How PID 1 ended: the kernel shuts down.
    init_exit: Option<ExitStatus>,
    /// The first child of PID 1 (the program `cleave run` names) and how
    /// it ended.
    main_pid: Option<Tid>,
    main_exit: Option<ExitStatus>,
    /// A process stopped since the run loop last looked (host job
    /// control: `Kernel::stop_with_main`).
    group_stopped: bool,
    deadlock: bool,
    /// Futex wait queues (see `futex.rs`).
    pub futex: futex::FutexTable,
    /// System V IPC objects (see `crate::ipc` and `sysvipc.rs`).
    pub ipc: crate::ipc::Ipc,
    /// The settings /proc/sys shows and root may change (`sysctl.rs`).
    pub sysctl: sysctl::Sysctl,
    /// The file system tree (see `crate::fs`).
    pub vfs: crate::fs::Vfs,
}

impl Kernel {
    /// A kernel whose file system tree is `vfs` (what `cleave run` or the
    /// boot built), with no process yet.
    pub fn new(config: Config, vfs: crate::fs::Vfs) -> Kernel {
        let mut hart = Hart::new();
        let clock = Clock::new(&mut hart, config.seed.is_some());
        let rng = match config.seed {
            Some(seed) => StdRng::seed_from_u64(seed),
            None => StdRng::from_os_rng(),
        };
        Kernel {
            hart,
            phys: Phys::new(config.mem_bytes),
            tasks: BTreeMap::new(),
            groups: BTreeMap::new(),
            rq: sched::RunQueue::default(),
            sleepers: BTreeSet::new(),
            timers: BTreeSet::new(),
            alarms: BTreeSet::new(),
            posix_timers: BTreeSet::new(),
            console_check_at: 0,
            host_signals: None,
            console_can_change: false,
            stdin_woke_pollers: false,
            on_hart: None,
            syscall_nr: 0,
            next_tid: 1,
            clock,
            rng,
            trace: config.trace,
            init_exit: None,
            main_pid: None,
            group_stopped: false,
            main_exit: None,
            deadlock: false,
            futex: futex::FutexTable::default(),
            ipc: crate::ipc::Ipc::default(),
            sysctl: sysctl::Sysctl::new(config.mem_bytes),
            vfs,
        }
    }

    /// Boots PID 1 from an executable in memory (the embedded init).
    pub fn boot_init(
        &mut self,
        image: &[u8],
        argv: Vec<Vec<u8>>,
        envp: Vec<Vec<u8>>,
        start: Start,
    ) -> Result<Tid, ExecError> {
        let exe = Executable::from_bytes(PathBuf::from("/sbin/init"), image.to_vec());
        let req = ExecRequest {
            path: exe.path.clone(),
            argv,
            envp,
        };
        let rlimits = Rlimits::boot_defaults(self.phys.total_frames() as u64);
        let image = self.load_executable(
            exe,
            &req,
            start.cred.clone(),
            rlimits.get(rlimit::RLIMIT_STACK).cur,
        )?;
        let tid = self.alloc_tid();
        let comm = exec::comm_of(&req.path);
        let group = ThreadGroup::new(self.monotonic(), tid, start.cred, rlimits, image.exe, comm);
        let group = Rc::new(RefCell::new(group));
        self.groups.insert(tid, group.clone());
        let mut task = Task::new(
            tid,
            image.regs,
            Rc::new(RefCell::new(image.mm)),
            Rc::new(RefCell::new(SigHand::ignoring(start.ignored))),
            Rc::new(RefCell::new(Files::host_stdio())),
            Rc::new(RefCell::new(FsInfo::boot(&self.vfs, start.umask))),
            group,
        );
        task.sigmask = start.sigmask;
        self.tasks.insert(tid, task);
        self.enqueue(tid, sched::Placement::New);
        Ok(tid)
    }

    /// The next pid (Linux's alloc_pid): `next_tid`, which then moves on
    /// to the next free one below kernel.pid_max (see `sysctl.rs`).
    fn alloc_tid(&mut self) -> Tid {
        let tid = self.next_tid;
        self.next_tid = self.next_free_pid(tid + 1);
        tid
    }

    /// Starts the run loop (`crate::entry`): catches the host terminal's
    /// signals and notes whether the host streams can change.
    pub(crate) fn start_run(&mut self) {
        self.host_signals = hostsig::HostSignals::catch();
        self.console_can_change = [HostStdio::Stdin, HostStdio::Stdout, HostStdio::Stderr]
            .into_iter()
            .any(HostStdio::can_change);
    }

    /// Ends the run loop: releases whatever is left, so that every frame
    /// is free, and says how the run ended.
    pub(crate) fn stop_run(&mut self) -> Shutdown {
        self.host_signals = None;
        self.shutdown();
        Shutdown {
            init: self.init_exit,
            main: self.main_exit,
            deadlock: self.deadlock,
        }
    }

    /// Wakes the waiters of every pipe, eventfd, epoll and timerfd that
    /// changed (see `fs::pipe`), and the epolls watching them, which may
    /// change in turn: each file once.
    fn wake_pipes(&mut self) {
        let mut done = std::collections::HashSet::new();
        loop {
            let ids = crate::fs::pipe::take_wakeups();
            if ids.is_empty() {
                return;
            }
            for id in ids {
                if done.insert(id) {
                    self.wake_restart(|r| r.woken_by_file(id));
                    let key = crate::wait::PollKey::File(id);
                    crate::fs::epoll::notify(key, &|epoll| {
                        self.has_pollers(crate::wait::PollKey::File(epoll))
                    });
                }
            }
        }
    }

    /// Ends every thread left and drops every process, releasing memory.
    fn shutdown(&mut self) {
        let tids: Vec<Tid> = self.tasks.keys().copied().collect();
        for tid in tids {
            if let Some(task) = self.tasks.remove(&tid) {
                self.release_task(task);
            }
        }
        self.rq.clear();
        self.sleepers.clear();
        self.timers.clear();
        self.posix_timers.clear();
        self.on_hart = None;
        self.groups.clear();
        // System V objects outlive processes, not the kernel.
        self.ipc = crate::ipc::Ipc::default();
        self.phys.drop_caches();
        // The leak check: with every address space released, no `Mm` is
        // alive and the only frames in use are tmpfs's pages, which
        // outlive every process (as files in /tmp do on Linux).
        debug_assert_eq!(self.phys.live_mms(), 0, "address spaces leaked");
        let tmpfs_frames = self.phys.cache.shmem_frames();
        debug_assert_eq!(self.phys.used_frames(), tmpfs_frames, "frames leaked");
    }

    /// Drops a task's handles, releasing the address space with its last
    /// user.
    fn release_task(&mut self, task: Task) {
        self.mmput(task.mm);
    }

    /// Linux's mmput: drops one user of an address space. With the last
    /// the `Mm` drops and its frames and page tables are freed here and
    /// now, rather than at the next reap.
    pub fn mmput(&mut self, mm: Rc<RefCell<Mm>>) {
        drop(mm);
        self.phys.reap();
    }

    /// Starts system call `nr` on the current thread: the restart state
    /// of an earlier call of another number is stale (see `block.rs`).
    pub(crate) fn enter_syscall(&mut self, nr: u64) {
        self.syscall_nr = nr;
        if self.current().restart.is_some_and(|r| r.nr != nr) {
            self.current_mut().restart = None;
        }
    }

    /// Whether the current call is traced (`--strace`).
    pub(crate) fn tracing(&self) -> bool {
        self.trace.is_some() && self.current().group.borrow().traced
    }

    /// Writes one `--strace` line.
    pub(crate) fn trace_line(&mut self, line: &str) {
        if let Some(out) = self.trace.as_mut() {
            // One write per line; a trace that cannot be written must not
            // stop the guest.
            let _ = out.write_all(format!("{line}\n").as_bytes());
        }
    }

    /// Ends the current call of `tid`: a0 = its value or -errno. A task
    /// that exited in the call has no register to return into.
    pub(crate) fn exit_syscall(&mut self, tid: Tid, result: KResult<u64>) {
        if let Some(task) = self.tasks.get_mut(&tid) {
            task.restart = None;
            let value = match result {
                Ok(value) => value,
                Err(e) => e.as_return(),
            };
            self.regs_mut(tid).x[10] = value;
        }
    }

    /// The registers of `tid`: in the hart if it is on it, else saved.
    pub fn regs_mut(&mut self, tid: Tid) -> &mut Regs {
        if self.on_hart == Some(tid) {
            &mut self.hart.regs
        } else {
            &mut self.tasks.get_mut(&tid).expect("task exists").regs
        }
    }

    /// The process `pid`, live or zombie.
    pub fn process(&self, pid: Tid) -> Option<Rc<RefCell<ThreadGroup>>> {
        self.groups.get(&pid).cloned()
    }

    /// Every process, live or zombie, by pid.
    pub fn processes(&self) -> impl Iterator<Item = &Rc<RefCell<ThreadGroup>>> {
        self.groups.values()
    }

    /// Every live thread, by tid.
    pub fn tasks(&self) -> impl Iterator<Item = &Task> {
        self.tasks.values()
    }

    /// The live thread `tid`.
    pub fn task(&self, tid: Tid) -> Option<&Task> {
        self.tasks.get(&tid)
    }

    /// The live threads of process `tgid`, oldest first.
    pub fn threads_of(&self, tgid: Tid) -> Vec<Tid> {
        self.groups
            .get(&tgid)
            .map(|g| g.borrow().threads.clone())
            .unwrap_or_default()
    }

    pub fn current_tid(&self) -> Tid {
        self.on_hart.expect("a task is on the hart")
    }

    pub fn current(&self) -> &Task {
        &self.tasks[&self.current_tid()]
    }

    pub fn current_mut(&mut self) -> &mut Task {
        let tid = self.current_tid();
        self.tasks.get_mut(&tid).expect("current task exists")
    }

    /// The current address space, for system calls.
    pub fn mm(&self) -> Rc<RefCell<Mm>> {
        self.current().mm.clone()
    }

    /// The current thread group.
    pub fn group(&self) -> Rc<RefCell<ThreadGroup>> {
        self.current().group.clone()
    }

    /// The current process's credentials (a copy).
    pub fn cred(&self) -> Cred {
        self.current().group.borrow().cred.clone()
    }
}
