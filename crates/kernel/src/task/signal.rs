//! Signal numbers and the per-process table of dispositions. Delivery comes
//! later; for now the kernel records what the program asks for and kills
//! on faults with the signal Linux would send.

use crate::errno::{Errno, KResult};

/// A signal number, 1..=64.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Signal(pub u32);

macro_rules! signals {
    ($($name:ident = $nr:literal, $desc:literal;)*) => {
        impl Signal { $(pub const $name: Signal = Signal($nr);)* }
        impl Signal {
            /// "SIGSEGV"; real-time signals are "SIGRT_n" as strace shows them.
            pub fn name(self) -> String {
                match self.0 {
                    $($nr => stringify!($name).to_string(),)*
                    n => format!("SIGRT_{}", n - 32),
                }
            }

            /// What a shell prints when a job dies of this signal.
            pub fn description(self) -> String {
                match self.0 {
                    $($nr => $desc.to_string(),)*
                    n => format!("Real-time signal {}", n - 34),
                }
            }
        }
    };
}

signals! {
    SIGHUP = 1, "Hangup";
    SIGINT = 2, "Interrupt";
    SIGQUIT = 3, "Quit";
    SIGILL = 4, "Illegal instruction";
    SIGTRAP = 5, "Trace/breakpoint trap";
    SIGABRT = 6, "Aborted";
    SIGBUS = 7, "Bus error";
    SIGFPE = 8, "Floating point exception";
    SIGKILL = 9, "Killed";
    SIGUSR1 = 10, "User defined signal 1";
    SIGSEGV = 11, "Segmentation fault";
    SIGUSR2 = 12, "User defined signal 2";
    SIGPIPE = 13, "Broken pipe";
    SIGALRM = 14, "Alarm clock";
    SIGTERM = 15, "Terminated";
    SIGSTKFLT = 16, "Stack fault";
    SIGCHLD = 17, "Child exited";
    SIGCONT = 18, "Continued";
    SIGSTOP = 19, "Stopped (signal)";
    SIGTSTP = 20, "Stopped";
    SIGTTIN = 21, "Stopped (tty input)";
    SIGTTOU = 22, "Stopped (tty output)";
    SIGURG = 23, "Urgent I/O condition";
    SIGXCPU = 24, "CPU time limit exceeded";
    SIGXFSZ = 25, "File size limit exceeded";
    SIGVTALRM = 26, "Virtual timer expired";
    SIGPROF = 27, "Profiling timer expired";
    SIGWINCH = 28, "Window changed";
    SIGIO = 29, "I/O possible";
    SIGPWR = 30, "Power failure";
    SIGSYS = 31, "Bad system call";
}

/// Signals 1..=NSIG-1 exist; sigset_t has one bit per signal.
pub const NSIG: u32 = 65;

impl Signal {
    /// A signal number from the guest, or EINVAL.
    pub fn from_guest(nr: u64) -> KResult<Signal> {
        if (1..NSIG as u64).contains(&nr) {
            Ok(Signal(nr as u32))
        } else {
            Err(Errno::EINVAL)
        }
    }

    /// The signal's bit in a sigset_t.
    pub fn bit(self) -> u64 {
        1 << (self.0 - 1)
    }
}

/// The sigset_t riscv64 uses: 64 bits, and the size the rt_sig* calls
/// insist on.
pub const SIGSET_SIZE: u64 = 8;

/// SIGKILL and SIGSTOP can be neither caught, ignored nor blocked.
pub const UNBLOCKABLE: u64 = (1 << (9 - 1)) | (1 << (19 - 1));

pub const SIG_DFL: u64 = 0;
pub const SIG_IGN: u64 = 1;

/// struct sigaction as riscv64 passes it to rt_sigaction: no sa_restorer
/// (riscv returns from handlers through the vDSO).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SigAction {
    pub handler: u64,
    pub flags: u64,
    pub mask: u64,
}

impl SigAction {
    pub const SIZE: usize = 24;

    pub fn from_bytes(b: &[u8; Self::SIZE]) -> SigAction {
        let word = |i: usize| u64::from_le_bytes(b[i * 8..][..8].try_into().unwrap());
        SigAction {
            handler: word(0),
            flags: word(1),
            mask: word(2),
        }
    }

    pub fn to_bytes(self) -> [u8; Self::SIZE] {
        let mut b = [0; Self::SIZE];
        for (i, w) in [self.handler, self.flags, self.mask].iter().enumerate() {
            b[i * 8..][..8].copy_from_slice(&w.to_le_bytes());
        }
        b
    }
}

/// The dispositions of every signal: Linux's `sighand_struct`, shared by
/// the threads of a process (and by processes cloned with CLONE_SIGHAND).
#[derive(Clone, Debug)]
pub struct SigHand {
    actions: [SigAction; NSIG as usize - 1],
}

impl Default for SigHand {
    fn default() -> Self {
        SigHand {
            actions: [SigAction::default(); NSIG as usize - 1],
        }
    }
}

impl SigHand {
    pub fn action(&self, sig: Signal) -> SigAction {
        self.actions[sig.0 as usize - 1]
    }

    /// Installs `action`, refusing to change SIGKILL and SIGSTOP. SIGKILL and
    /// SIGSTOP are never blocked during a handler either.
    pub fn set_action(&mut self, sig: Signal, mut action: SigAction) -> KResult<()> {
        if sig == Signal::SIGKILL || sig == Signal::SIGSTOP {
            return Err(Errno::EINVAL);
        }
        action.mask &= !UNBLOCKABLE;
        self.actions[sig.0 as usize - 1] = action;
        Ok(())
    }
}
