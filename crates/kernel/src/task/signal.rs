//! Signal numbers, the per-process table of dispositions, siginfo, the
//! pending sets and the per-thread state; delivery is in `sigdeliver.rs`.

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
                    // glibc keeps 32 and 33 for itself: strsignal has no
                    // name for them.
                    n @ 34.. => format!("Real-time signal {}", n - 34),
                    n => format!("Unknown signal {n}"),
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
    /// Every signal at its default but those in `ignored`, which are SIG_IGN.
    pub fn ignoring(ignored: u64) -> SigHand {
        let mut hand = SigHand::default();
        for (bit, action) in hand.actions.iter_mut().enumerate() {
            if ignored & (1 << bit) != 0 {
                action.handler = SIG_IGN;
            }
        }
        hand
    }

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

// sa_flags (asm-generic).
pub const SA_NOCLDSTOP: u64 = 0x1;
pub const SA_NOCLDWAIT: u64 = 0x2;
pub const SA_SIGINFO: u64 = 0x4;
pub const SA_ONSTACK: u64 = 0x0800_0000;
pub const SA_RESTART: u64 = 0x1000_0000;
pub const SA_NODEFER: u64 = 0x4000_0000;
pub const SA_RESETHAND: u64 = 0x8000_0000;

// si_code values.
pub const SI_USER: i32 = 0;
pub const SI_KERNEL: i32 = 0x80;
pub const SI_QUEUE: i32 = -1;
pub const SI_TKILL: i32 = -6;
pub const SEGV_MAPERR: i32 = 1;
pub const SEGV_ACCERR: i32 = 2;
pub const BUS_ADRALN: i32 = 1;
pub const BUS_ADRERR: i32 = 2;
pub const ILL_ILLOPC: i32 = 1;
pub const TRAP_BRKPT: i32 = 1;

/// Signals 32 and up are real-time: they queue instead of coalescing.
pub const SIGRTMIN: u32 = 32;

/// What a signal does under SIG_DFL.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DefaultAction {
    Terminate,
    /// Terminate with a core dump (wait status 0x80).
    Core,
    Ignore,
    Stop,
    Continue,
}

impl Signal {
    pub fn default_action(self) -> DefaultAction {
        match self.0 {
            17 | 23 | 28 => DefaultAction::Ignore,
            18 => DefaultAction::Continue,
            19..=22 => DefaultAction::Stop,
            3 | 4 | 5 | 6 | 7 | 8 | 11 | 24 | 25 | 31 => DefaultAction::Core,
            _ => DefaultAction::Terminate,
        }
    }
}

/// A siginfo_t exactly as the guest sees it (128 bytes, riscv64 layout:
/// si_signo, si_errno, si_code, then the union at offset 16).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SigInfo(pub [u8; 128]);

impl SigInfo {
    pub const SIZE: usize = 128;

    pub fn new(sig: Signal, code: i32) -> SigInfo {
        let mut s = SigInfo([0; 128]);
        s.put32(0, sig.0);
        s.put32(8, code as u32);
        s
    }

    /// kill/tkill: si_pid and si_uid of the sender.
    pub fn user(sig: Signal, code: i32, pid: u32, uid: u32) -> SigInfo {
        let mut s = SigInfo::new(sig, code);
        s.put32(16, pid);
        s.put32(20, uid);
        s
    }

    /// A fault: si_addr.
    pub fn fault(sig: Signal, code: i32, addr: u64) -> SigInfo {
        let mut s = SigInfo::new(sig, code);
        s.0[16..24].copy_from_slice(&addr.to_le_bytes());
        s
    }

    /// SIGCHLD: pid, uid, status, utime and stime (clock ticks).
    pub fn child(code: i32, pid: u32, uid: u32, status: i32, utime: u64) -> SigInfo {
        let mut s = SigInfo::user(Signal::SIGCHLD, code, pid, uid);
        s.put32(24, status as u32);
        s.0[32..40].copy_from_slice(&utime.to_le_bytes());
        s
    }

    fn put32(&mut self, at: usize, v: u32) {
        self.0[at..at + 4].copy_from_slice(&v.to_le_bytes());
    }

    pub fn signo(&self) -> u32 {
        u32::from_le_bytes(self.0[0..4].try_into().unwrap())
    }

    pub fn code(&self) -> i32 {
        i32::from_le_bytes(self.0[8..12].try_into().unwrap())
    }
}

/// Pending signals (Linux's `struct sigpending`): a set, plus the
/// siginfo of each queued instance. A standard signal already pending is
/// not queued again (they coalesce); real-time signals queue.
#[derive(Clone, Debug, Default)]
pub struct SigPending {
    pub set: u64,
    queue: std::collections::VecDeque<SigInfo>,
}

impl SigPending {
    /// Adds `info`; false when a standard signal was already pending.
    pub fn add(&mut self, info: SigInfo) -> bool {
        let sig = Signal(info.signo());
        if sig.0 < SIGRTMIN && self.set & sig.bit() != 0 {
            return false;
        }
        self.set |= sig.bit();
        self.queue.push_back(info);
        true
    }

    /// The lowest-numbered pending signal not in `blocked`.
    pub fn next(&self, blocked: u64) -> Option<Signal> {
        let ready = self.set & !blocked;
        (ready != 0).then(|| Signal(ready.trailing_zeros() + 1))
    }

    /// Dequeues one instance of `sig`.
    pub fn take(&mut self, sig: Signal) -> Option<SigInfo> {
        if self.set & sig.bit() == 0 {
            return None;
        }
        let at = self.queue.iter().position(|i| i.signo() == sig.0);
        let info = at
            .and_then(|i| self.queue.remove(i))
            .unwrap_or_else(|| SigInfo::new(sig, SI_KERNEL));
        if !self.queue.iter().any(|i| i.signo() == sig.0) {
            self.set &= !sig.bit();
        }
        Some(info)
    }

    /// Discards every instance of the signals in `mask`.
    pub fn discard(&mut self, mask: u64) {
        self.set &= !mask;
        self.queue.retain(|i| Signal(i.signo()).bit() & mask == 0);
    }
}

/// sigaltstack's ss_flags.
pub const SS_ONSTACK: u32 = 1;
pub const SS_DISABLE: u32 = 2;
pub const SS_AUTODISARM: u32 = 1 << 31;
/// MINSIGSTKSZ on riscv64.
pub const MINSIGSTKSZ: u64 = 2048;

/// The per-thread signal state beyond mask and pending set.
#[derive(Clone, Copy, Debug, Default)]
pub struct ThreadSig {
    /// sigaltstack: base and size (size 0: disabled).
    pub altstack_sp: u64,
    pub altstack_size: u64,
    pub altstack_autodisarm: bool,
    /// rt_sigsuspend's caller mask, restored after the handler (Linux's
    /// saved_sigmask).
    pub saved_mask: Option<u64>,
    /// A signal woke this thread out of a blocked system call: at delivery
    /// the call fails with EINTR or restarts (SA_RESTART).
    pub interrupted: bool,
    /// rt_sigtimedwait: the signals this thread waits for.
    pub waiting: u64,
}

impl ThreadSig {
    pub fn on_altstack(&self, sp: u64) -> bool {
        self.altstack_size != 0
            && sp > self.altstack_sp
            && sp - self.altstack_sp <= self.altstack_size
    }

    /// uc_stack.ss_flags / sigaltstack's old ss_flags for stack pointer `sp`.
    pub fn ss_flags(&self, sp: u64) -> u32 {
        if self.altstack_size == 0 {
            SS_DISABLE
        } else if self.on_altstack(sp) {
            SS_ONSTACK
        } else if self.altstack_autodisarm {
            SS_AUTODISARM
        } else {
            0
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Signal;

    #[test]
    fn descriptions_are_bashs() {
        assert_eq!(Signal(9).description(), "Killed");
        assert_eq!(Signal(33).description(), "Unknown signal 33");
        assert_eq!(Signal(34).description(), "Real-time signal 0");
        assert_eq!(Signal(40).description(), "Real-time signal 6");
    }
}
