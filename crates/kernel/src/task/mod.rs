//! Tasks and the kernel's one run loop.
//!
//! A [`Task`] is a thread: its registers and the per-thread state Linux
//! keeps in `task_struct`. The resources a thread may share with others,
//! each decided by its own clone flag, are reference-counted handles: the
//! address space ([`Mm`], CLONE_VM), the signal handlers ([`SigHand`],
//! CLONE_SIGHAND), the file table ([`Files`], CLONE_FILES) and the thread
//! group ([`ThreadGroup`], CLONE_THREAD: pid, limits, exit status).
//!
//! [`Kernel::run`] is the only place guest code runs: it puts the current
//! task on the hart for a slice, handles the trap the hart returns (system
//! call, page fault, fault signal, end of slice) and picks who runs next.

pub mod clock;
pub mod files;
pub mod rlimit;
pub mod signal;

use crate::errno::{Errno, KResult};
use crate::loader::{self, ElfImage, ExecError, Executable};
use crate::mm::{Mm, Phys, TlbFlush};
use crate::syscall;
use clock::Clock;
use files::Files;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use rlimit::Rlimits;
use rv::{Hart, Regs, Trap};
use signal::{SigHand, Signal};
use std::cell::RefCell;
use std::collections::{BTreeMap, VecDeque};
use std::io::Write;
use std::path::PathBuf;
use std::rc::Rc;
use std::time::{Duration, Instant};

/// A thread id; a process id is its thread group leader's tid.
pub type Tid = u32;

/// Instructions a task runs before the scheduler looks at the others.
const SLICE: u64 = 1 << 20;

/// How a process ended, as wait4 would report it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    Exited(u8),
    Killed(Signal),
}

impl ExitStatus {
    /// The wait status word: code << 8, or the signal in the low bits.
    pub fn wait_status(self) -> u32 {
        match self {
            ExitStatus::Exited(code) => u32::from(code) << 8,
            ExitStatus::Killed(sig) => sig.0,
        }
    }

    /// What a shell sets `$?` to: the code, or 128 + the signal.
    pub fn shell_code(self) -> i32 {
        match self {
            ExitStatus::Exited(code) => i32::from(code),
            ExitStatus::Killed(sig) => 128 + sig.0 as i32,
        }
    }
}

/// User and group ids (Linux's `struct cred`, the part that exists here).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cred {
    pub uid: u32,
    pub euid: u32,
    pub gid: u32,
    pub egid: u32,
}

impl Cred {
    /// The host user's ids: without a root of its own, the guest runs as
    /// the user who started cleave, so host files look the same to it.
    pub fn host() -> Cred {
        let uid = rustix::process::getuid().as_raw();
        let gid = rustix::process::getgid().as_raw();
        Cred {
            uid,
            euid: rustix::process::geteuid().as_raw(),
            gid,
            egid: rustix::process::getegid().as_raw(),
        }
    }
}

/// A thread group: what all threads of one process share (Linux's
/// `signal_struct` plus the process identity).
pub struct ThreadGroup {
    pub tgid: Tid,
    pub ppid: Tid,
    pub rlimits: Rlimits,
    /// The executable, what /proc/self/exe names.
    pub exe: PathBuf,
    /// Threads not yet exited.
    pub live_threads: usize,
    /// Set by exit_group or a fatal signal; the last thread to go reports
    /// it.
    pub exit: Option<ExitStatus>,
}

/// One thread.
pub struct Task {
    pub tid: Tid,
    /// Saved registers, valid while the task is off the hart.
    regs: Regs,
    /// set_tid_address: cleared and futex-woken at exit.
    pub clear_child_tid: u64,
    /// set_robust_list: the list head, walked at exit once futexes exist.
    pub robust_list: u64,
    /// Blocked signals.
    pub sigmask: u64,
    pub cred: Cred,
    /// CPU time this thread has used (see `Clock::slice_cost`).
    pub cpu_time: Duration,
    pub mm: Rc<RefCell<Mm>>,
    pub sighand: Rc<RefCell<SigHand>>,
    pub files: Rc<RefCell<Files>>,
    pub group: Rc<RefCell<ThreadGroup>>,
}

/// A loaded program, not yet installed in any task.
pub struct NewImage {
    pub mm: Mm,
    pub regs: Regs,
    /// The executable's absolute path.
    pub exe: PathBuf,
}

/// Kernel-wide settings, fixed at boot.
pub struct Config {
    /// Bytes of guest physical memory.
    pub mem_bytes: usize,
    /// Deterministic mode: virtual time and randomness from this seed.
    pub seed: Option<u64>,
    /// Where `--strace` lines go, if anywhere.
    pub trace: Option<Box<dyn Write>>,
}

/// What to execute: the program and the strings for its stack.
pub struct ExecRequest {
    /// Host path of the executable, as the user gave it (AT_EXECFN).
    pub path: PathBuf,
    pub argv: Vec<Vec<u8>>,
    pub envp: Vec<Vec<u8>>,
}

pub struct Kernel {
    pub hart: Hart,
    pub phys: Phys,
    tasks: BTreeMap<Tid, Task>,
    /// Runnable tasks; the front one is current.
    run_queue: VecDeque<Tid>,
    /// Whose registers are in the hart right now.
    on_hart: Option<Tid>,
    next_tid: Tid,
    pub clock: Clock,
    /// Host entropy, or a seeded generator in deterministic mode.
    pub rng: StdRng,
    trace: Option<Box<dyn Write>>,
    /// How the first process ended: what `run` returns.
    init_exit: Option<ExitStatus>,
}

impl Kernel {
    pub fn new(config: Config) -> Kernel {
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
            run_queue: VecDeque::new(),
            on_hart: None,
            next_tid: 1,
            clock,
            rng,
            trace: config.trace,
            init_exit: None,
        }
    }

    /// Creates the first process, running `req`, as the child of no one.
    pub fn spawn(&mut self, req: &ExecRequest, cred: Cred) -> Result<Tid, ExecError> {
        let rlimits = Rlimits::boot_defaults(self.phys.total_frames() as u64);
        let image = self.load_image(req, cred, rlimits.get(rlimit::RLIMIT_STACK).cur)?;
        let tid = self.alloc_tid();
        let group = ThreadGroup {
            tgid: tid,
            ppid: 0,
            rlimits,
            exe: image.exe,
            live_threads: 1,
            exit: None,
        };
        self.tasks.insert(
            tid,
            Task {
                tid,
                regs: image.regs,
                clear_child_tid: 0,
                robust_list: 0,
                sigmask: 0,
                cred,
                cpu_time: Duration::ZERO,
                mm: Rc::new(RefCell::new(image.mm)),
                sighand: Rc::new(RefCell::new(SigHand::default())),
                files: Rc::new(RefCell::new(Files::host_stdio())),
                group: Rc::new(RefCell::new(group)),
            },
        );
        self.run_queue.push_back(tid);
        Ok(tid)
    }

    /// The first half of exec: a new address space running `req`, built
    /// aside so that a failure leaves the caller untouched (execve installs
    /// the result only once nothing can fail).
    pub fn load_image(
        &mut self,
        req: &ExecRequest,
        cred: Cred,
        stack_limit: u64,
    ) -> Result<NewImage, ExecError> {
        let exe = Executable::open(&req.path)?;
        let image = ElfImage::parse(&exe.data)?;
        let mut mm = Mm::new(&mut self.phys)?;
        let mut random = [0; 16];
        self.rng.fill_bytes(&mut random);
        let args = loader::ExecArgs {
            argv: &req.argv,
            envp: &req.envp,
            execfn: req.path.as_os_str().as_encoded_bytes(),
            random,
            cred,
            stack_limit,
        };
        let start = match loader::load(&mut self.phys, &mut mm, &image, &args) {
            Ok(start) => start,
            Err(e) => {
                mm.release(&mut self.phys);
                return Err(e);
            }
        };
        // Linux's start_thread: pc and sp set, every other register zero
        // (a0 = 0 tells the C runtime there is no rtld_fini).
        let mut x = [0; 32];
        x[2] = start.sp;
        let regs = Regs {
            x,
            pc: start.entry,
            ..Regs::default()
        };
        Ok(NewImage {
            mm,
            regs,
            exe: exe.path,
        })
    }

    fn alloc_tid(&mut self) -> Tid {
        let tid = self.next_tid;
        self.next_tid += 1;
        tid
    }

    /// Runs tasks until none is left; returns how the first process ended.
    pub fn run(&mut self) -> ExitStatus {
        while let Some(&tid) = self.run_queue.front() {
            self.switch_to(tid);
            let (started, retired) = (Instant::now(), self.hart.instret());
            let trap = self.hart.run(&mut self.phys.mem, SLICE);
            let cost = self
                .clock
                .slice_cost(started.elapsed(), self.hart.instret() - retired);
            self.current_mut().cpu_time += cost;
            self.handle_trap(trap);
            self.sync_tlb();
        }
        self.init_exit
            .expect("the run queue emptied before the first process exited")
    }

    fn handle_trap(&mut self, trap: Trap) {
        match trap {
            Trap::Ecall => {
                self.hart.regs.pc += 4;
                let x = &self.hart.regs.x;
                let nr = x[17];
                let args = [x[10], x[11], x[12], x[13], x[14], x[15]];
                self.syscall(nr, args);
            }
            Trap::PageFault { addr, access } => {
                let mm = self.current().mm.clone();
                let result = mm.borrow_mut().handle_fault(&mut self.phys, addr, access);
                if let Err(fault) = result {
                    let sig = match fault {
                        crate::mm::Fault::Bus => Signal::SIGBUS,
                        // Linux's OOM killer would pick a victim; here the
                        // faulting process is the one that cannot go on.
                        crate::mm::Fault::OutOfMemory => Signal::SIGKILL,
                        crate::mm::Fault::MapErr | crate::mm::Fault::AccErr => Signal::SIGSEGV,
                    };
                    self.force_sig(sig);
                }
            }
            Trap::IllegalInstruction { .. } => self.force_sig(Signal::SIGILL),
            Trap::Breakpoint => self.force_sig(Signal::SIGTRAP),
            Trap::Misaligned { .. } => self.force_sig(Signal::SIGBUS),
            Trap::BudgetExhausted => self.run_queue.rotate_left(1),
        }
    }

    fn syscall(&mut self, nr: u64, args: [u64; 6]) {
        let pending = self
            .trace
            .is_some()
            .then(|| syscall::trace::enter(self, nr, &args));
        let result = syscall::dispatch(self, nr, &args);
        if let Some(pending) = pending {
            let line = syscall::trace::exit(self, pending, &args, result);
            if let Some(out) = self.trace.as_mut() {
                // One write per line; a trace that cannot be written must
                // not stop the guest.
                let _ = out.write_all(format!("{line}\n").as_bytes());
            }
        }
        // A task that exited in the call has no register to return into.
        if self.on_hart.is_some() {
            self.hart.regs.x[10] = match result {
                Ok(value) => value,
                Err(e) => e.as_return(),
            };
        }
    }

    /// Kills the current process with a fault signal. Handlers come with
    /// signal delivery; until then every fault is fatal, as with SIG_DFL.
    fn force_sig(&mut self, sig: Signal) {
        self.exit_group(ExitStatus::Killed(sig));
    }

    /// Ends every thread of the current process with `status`.
    pub fn exit_group(&mut self, status: ExitStatus) {
        let group = self.current().group.clone();
        group.borrow_mut().exit.get_or_insert(status);
        let tgid = group.borrow().tgid;
        let members: Vec<Tid> = self
            .tasks
            .values()
            .filter(|t| t.group.borrow().tgid == tgid)
            .map(|t| t.tid)
            .collect();
        for tid in members {
            self.exit_thread(tid, status);
        }
    }

    /// Ends one thread; the last one out ends the process with `status`
    /// unless exit_group or a signal already chose one.
    pub fn exit_thread(&mut self, tid: Tid, status: ExitStatus) {
        let task = self.tasks.remove(&tid).expect("exiting task exists");
        self.run_queue.retain(|&t| t != tid);
        if self.on_hart == Some(tid) {
            self.on_hart = None;
        }
        let mut group = task.group.borrow_mut();
        group.live_threads -= 1;
        if group.live_threads > 0 {
            return;
        }
        let status = *group.exit.get_or_insert(status);
        if group.ppid == 0 {
            self.init_exit = Some(status);
        }
        drop(group);
        // The address space goes with its last user.
        if let Ok(mm) = Rc::try_unwrap(task.mm) {
            mm.into_inner().release(&mut self.phys);
        }
    }

    /// sched_yield: the current task goes to the back of the run queue.
    pub fn yield_now(&mut self) {
        self.run_queue.rotate_left(1);
    }

    /// CPU time used by all threads of the current process.
    pub fn process_cpu_time(&self) -> Duration {
        let tgid = self.current().group.borrow().tgid;
        self.tasks
            .values()
            .filter(|t| t.group.borrow().tgid == tgid)
            .map(|t| t.cpu_time)
            .sum()
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
    fn sync_tlb(&mut self) {
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

    /// Copies guest memory at `addr` into `buf`, or EFAULT.
    pub fn copy_from_user(&mut self, addr: u64, buf: &mut [u8]) -> KResult<()> {
        let mm = self.mm();
        let result = mm.borrow_mut().read_user(&mut self.phys, addr, buf);
        result
    }

    /// Copies `data` into guest memory at `addr`, or EFAULT.
    pub fn copy_to_user(&mut self, addr: u64, data: &[u8]) -> KResult<()> {
        let mm = self.mm();
        let result = mm.borrow_mut().write_user(&mut self.phys, addr, data);
        result
    }

    /// EFAULT unless the guest could write all of [addr, addr + len);
    /// faults the pages in as a guest store would.
    pub fn check_user_writable(&mut self, addr: u64, len: usize) -> KResult<()> {
        let end = addr.checked_add(len as u64).ok_or(Errno::EFAULT)?;
        let mm = self.mm();
        let mut mm = mm.borrow_mut();
        let mut page = addr & !(crate::mm::PAGE_SIZE - 1);
        while page < end {
            mm.translate(&mut self.phys, page.max(addr), rv::Access::Store)?;
            page += crate::mm::PAGE_SIZE;
        }
        Ok(())
    }

    pub fn read_user_u64(&mut self, addr: u64) -> KResult<u64> {
        let mut b = [0; 8];
        self.copy_from_user(addr, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }

    /// A NUL-terminated string of at most `max` bytes (without the NUL):
    /// EFAULT, or ENAMETOOLONG when there is no NUL within `max`.
    pub fn read_user_cstr(&mut self, addr: u64, max: usize) -> KResult<Vec<u8>> {
        let mm = self.mm();
        let result = mm.borrow_mut().read_user_cstr(&mut self.phys, addr, max);
        result
    }

    /// Up to `len` bytes at `addr` for a trace: as much as is readable.
    pub fn peek_user(&mut self, addr: u64, len: usize) -> Vec<u8> {
        let mut buf = vec![0; len];
        let mut got = 0;
        // Page by page, so a buffer that runs into unmapped memory still
        // shows its readable start.
        while got < len {
            let at = addr.wrapping_add(got as u64);
            let chunk =
                ((crate::mm::PAGE_SIZE - at % crate::mm::PAGE_SIZE) as usize).min(len - got);
            if self.copy_from_user(at, &mut buf[got..got + chunk]).is_err() {
                break;
            }
            got += chunk;
        }
        buf.truncate(got);
        buf
    }

    /// A string for a trace, if it is readable.
    pub fn peek_user_cstr(&mut self, addr: u64) -> Option<Vec<u8>> {
        self.read_user_cstr(addr, 4096).ok()
    }

    /// The current thread group.
    pub fn group(&self) -> Rc<RefCell<ThreadGroup>> {
        self.current().group.clone()
    }
}
