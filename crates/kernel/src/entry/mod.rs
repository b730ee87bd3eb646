//! Entry: the kernel's one run loop and the way into the kernel from the
//! guest (Linux's arch/riscv/kernel/entry.S and traps.c, and the
//! system-call entry of kernel/entry/common.c).
//!
//! [`Kernel::run`] is the only place guest code runs: it has the scheduler
//! (`task/sched.rs`) put a thread on the hart, delivers that thread's
//! pending signals on its way back to user mode, runs it for a slice, and
//! handles the trap the hart returns: a system call (dispatched through
//! `crate::syscall`, traced by `--strace`), a page fault, a fault signal,
//! or the end of the slice.
//!
//! This layer sits above `task`: it is what ties the system calls to the
//! tasks they run in, so that `task` never calls up into `syscall`.
//!
//! A call that blocks returns one of the restart errnos (see
//! `task/block.rs`); its thread's pc goes back onto the `ecall` so that it
//! runs again when woken, and its result's policy is kept for signal
//! delivery (`task/sigdeliver.rs`), which decides between running it again
//! and EINTR.

mod coredump;

use crate::errno::Errno;
use crate::mm::Fault;
use crate::syscall;
use crate::task::signal::{self, SigInfo, Signal};
use crate::task::{ExitStatus, Kernel, Shutdown};
use rv::Trap;
use std::time::Instant;

impl Kernel {
    /// Runs tasks until PID 1 ends (or nothing can run any more); then
    /// releases whatever is left, so that every frame is free.
    pub fn run(&mut self) -> Shutdown {
        self.start_run();
        while let Some(tid) = self.schedule() {
            // The return to user mode: pending signals first.
            if self.signal_work() {
                if let Some(info) = self.do_signal() {
                    // A signal whose default action dumps core.
                    let sig = Signal(info.signo());
                    let status = if self.do_coredump(&info) {
                        ExitStatus::Dumped(sig)
                    } else {
                        ExitStatus::Killed(sig)
                    };
                    self.exit_group(status);
                }
                // Ended, or stopped (group stop).
                if !self.back_to_user(tid) {
                    continue;
                }
            }
            let budget = self.budget();
            let (started, retired) = (Instant::now(), self.hart.instret());
            let trap = self.hart.run(&mut self.phys.mem, budget);
            let trapped = Instant::now();
            let instructions = self.hart.instret() - retired;
            self.account_slice(tid, trapped - started, instructions);
            self.handle_trap(trap);
            self.sync_tlb();
            if trap != Trap::BudgetExhausted {
                // The kernel's work is charged to the thread it was done
                // for, whatever became of it (see `task/sched.rs`).
                self.charge_trap(tid, trapped.elapsed());
            }
        }
        self.stop_run()
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
                // Not held across an exit: the last user releases the space.
                drop(mm);
                if result.is_ok() {
                    self.current_mut().usage.minflt += 1;
                }
                if let Err(fault) = result {
                    use signal::{BUS_ADRERR, SEGV_ACCERR, SEGV_MAPERR};
                    let info = match fault {
                        Fault::Bus => SigInfo::fault(Signal::SIGBUS, BUS_ADRERR, addr),
                        // Linux's OOM killer would pick a victim; here the
                        // faulting process is the one that cannot go on.
                        Fault::OutOfMemory => SigInfo::new(Signal::SIGKILL, 0x80),
                        Fault::MapErr => SigInfo::fault(Signal::SIGSEGV, SEGV_MAPERR, addr),
                        Fault::AccErr => SigInfo::fault(Signal::SIGSEGV, SEGV_ACCERR, addr),
                    };
                    self.force_sig_info(info);
                }
            }
            Trap::IllegalInstruction { .. } => {
                let pc = self.hart.regs.pc;
                let info = SigInfo::fault(Signal::SIGILL, signal::ILL_ILLOPC, pc);
                self.force_sig_info(info);
            }
            Trap::Breakpoint => {
                let pc = self.hart.regs.pc;
                let info = SigInfo::fault(Signal::SIGTRAP, signal::TRAP_BRKPT, pc);
                self.force_sig_info(info);
            }
            Trap::Misaligned { addr, .. } => {
                let info = SigInfo::fault(Signal::SIGBUS, signal::BUS_ADRALN, addr);
                self.force_sig_info(info);
            }
            // The slice is used up: `schedule` sees it.
            Trap::BudgetExhausted => {}
        }
    }

    /// The system-call entry: dispatch, trace, and the return value or
    /// the restart.
    fn syscall(&mut self, nr: u64, args: [u64; 6]) {
        let tid = self.current_tid();
        self.enter_syscall(nr);
        let pending = self
            .tracing()
            .then(|| syscall::trace::enter(self, nr, &args));
        let result = syscall::dispatch(self, nr, &args);
        let blocked = result.is_err_and(Errno::is_restart);
        if let Some(pending) = pending {
            let line = if blocked {
                syscall::trace::blocked(pending)
            } else {
                syscall::trace::exit(self, pending, &args, result)
            };
            self.trace_line(&line);
        }
        match result {
            Err(policy) if blocked => self.restart_syscall(tid, policy),
            _ => self.exit_syscall(tid, result),
        }
    }
}
