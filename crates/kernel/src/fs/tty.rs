//! The console as a terminal: what the terminal ioctls act on.
//!
//! A guest fd is a terminal exactly when Linux would say so: one of the
//! host's standard streams passed through is one when the host fd is a
//! terminal (a pipe is not: isatty is false, TCGETS is ENOTTY), and the
//! console device (/dev/tty, /dev/console) always is. The termios of a
//! host terminal is the host's own, read and set with tcgetattr and
//! tcsetattr, so canonical mode, echo and raw mode really happen; `cleave`
//! restores the host's settings when it exits. When the host has no
//! terminal, the console device keeps an emulated termios that round-trips.
//! The foreground process group and the window size set by the guest are
//! the guest's own: the host's process groups mean nothing to it.
//!
//! Job control: the console is the controlling terminal of init's session,
//! where every process starts, until a session leader claims it
//! (TIOCSCTTY), and its foreground group is init's until a guest shell
//! gives it to a job (TIOCSPGRP). A process of that session in another
//! group is in the background: its reads raise SIGTTIN, and its writes
//! (with TOSTOP) and terminal settings raise SIGTTOU, as Linux's
//! tty_check_change does (`syscall::fs::ioctl`).
//!
//! The signals the host terminal raises (Ctrl-C, Ctrl-\, Ctrl-Z, a resize)
//! reach cleave, the host's foreground process; `task::hostsig` catches
//! them and the kernel raises them in the guest's foreground process group,
//! as Linux's line discipline would. To the host's shell, cleave is the
//! program it started: when that program stops (Ctrl-Z with no guest shell
//! doing job control), cleave stops too, and the host shell's `fg`
//! continues both (`task::block`).

use crate::errno::{Errno, KResult};
use crate::fs::stdio::HostStdio;
use rustix::fd::{AsFd, BorrowedFd};
use rustix::termios::{self, OptionalActions, SpecialCodeIndex as Cc, Termios};

/// struct termios on riscv64 (asm-generic termbits): four u32 flag words,
/// c_line, c_cc[19]; TCGETS and TCSETS move these 36 bytes.
pub const TERMIOS_SIZE: usize = 36;

/// c_cc's indices, asm-generic's (the host is Linux, where they are the
/// same on every architecture cleave builds for).
const CODES: [Cc; 17] = [
    Cc::VINTR,
    Cc::VQUIT,
    Cc::VERASE,
    Cc::VKILL,
    Cc::VEOF,
    Cc::VTIME,
    Cc::VMIN,
    Cc::VSWTC,
    Cc::VSTART,
    Cc::VSTOP,
    Cc::VSUSP,
    Cc::VEOL,
    Cc::VREPRINT,
    Cc::VDISCARD,
    Cc::VWERASE,
    Cc::VLNEXT,
    Cc::VEOL2,
];

/// Linux's tty_std_termios: ICRNL|IXON, OPOST|ONLCR, B38400|CS8|CREAD|HUPCL,
/// ISIG|ICANON|ECHO|ECHOE|ECHOK|ECHOCTL|ECHOKE|IEXTEN, and INIT_C_CC.
fn std_termios() -> [u8; TERMIOS_SIZE] {
    let mut b = [0; TERMIOS_SIZE];
    for (i, w) in [0o2400u32, 0o5, 0o2277, 0o105073].iter().enumerate() {
        b[i * 4..][..4].copy_from_slice(&w.to_le_bytes());
    }
    let cc = [3, 28, 127, 21, 4, 0, 1, 0, 17, 19, 26, 0, 18, 15, 23, 22, 0];
    b[17..17 + cc.len()].copy_from_slice(&cc);
    b
}

/// Init's pid, session and process group: where every process starts.
const INIT: u32 = 1;

/// c_lflag's TOSTOP: background writes raise SIGTTOU.
const TOSTOP: u32 = 0o400;

/// The guest's view of the console.
pub struct Console {
    /// The foreground process group (TIOCSPGRP).
    pub fg_pgrp: u32,
    /// The session it is the controlling terminal of (TIOCSCTTY).
    pub session: u32,
    /// A window size set by the guest, shown instead of the host's.
    winsize: Option<[u8; 8]>,
    /// The termios when the host has no terminal.
    emulated: [u8; TERMIOS_SIZE],
}

impl Default for Console {
    fn default() -> Self {
        Console {
            fg_pgrp: INIT,
            session: INIT,
            winsize: None,
            emulated: std_termios(),
        }
    }
}

impl Console {
    /// The host window was resized: the guest sees the host's size again.
    pub fn forget_winsize(&mut self) {
        self.winsize = None;
    }
}

/// A terminal an fd refers to.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Terminal {
    /// A host standard stream that is a host terminal.
    Host(HostStdio),
    /// The console device while the host has no terminal.
    Emulated,
}

fn with_fd<T>(s: HostStdio, f: impl FnOnce(BorrowedFd) -> T) -> T {
    match s {
        HostStdio::Stdin => f(std::io::stdin().as_fd()),
        HostStdio::Stdout => f(std::io::stdout().as_fd()),
        HostStdio::Stderr => f(std::io::stderr().as_fd()),
    }
}

impl Terminal {
    /// The terminal behind host stream `s`: ENOTTY unless it is one.
    pub fn of_stdio(s: HostStdio) -> KResult<Terminal> {
        if with_fd(s, |fd| termios::isatty(fd)) {
            Ok(Terminal::Host(s))
        } else {
            Err(Errno::ENOTTY)
        }
    }

    /// The console device: the host's terminal on stdin, if there is one.
    pub fn console() -> Terminal {
        Terminal::of_stdio(HostStdio::Stdin).unwrap_or(Terminal::Emulated)
    }

    pub fn get(self, con: &Console) -> KResult<[u8; TERMIOS_SIZE]> {
        let Terminal::Host(s) = self else {
            return Ok(con.emulated);
        };
        let t = with_fd(s, |fd| termios::tcgetattr(fd)).map_err(Errno::from)?;
        let mut b = [0; TERMIOS_SIZE];
        let flags = [
            t.input_modes.bits(),
            t.output_modes.bits(),
            t.control_modes.bits(),
            t.local_modes.bits(),
        ];
        for (i, f) in flags.iter().enumerate() {
            b[i * 4..][..4].copy_from_slice(&f.to_le_bytes());
        }
        b[16] = t.line_discipline;
        for (i, cc) in CODES.into_iter().enumerate() {
            b[17 + i] = t.special_codes[cc];
        }
        Ok(b)
    }

    /// TCSETS (`Now`), TCSETSW (`Drain`), TCSETSF (`Flush`).
    pub fn set(
        self,
        con: &mut Console,
        b: &[u8; TERMIOS_SIZE],
        when: OptionalActions,
    ) -> KResult<()> {
        let Terminal::Host(s) = self else {
            con.emulated = *b;
            return Ok(());
        };
        // The host's settings, speeds included, with the guest's words.
        let mut t: Termios = with_fd(s, |fd| termios::tcgetattr(fd)).map_err(Errno::from)?;
        let word = |i: usize| u32::from_le_bytes(b[i * 4..][..4].try_into().expect("4 bytes"));
        t.input_modes = termios::InputModes::from_bits_retain(word(0));
        t.output_modes = termios::OutputModes::from_bits_retain(word(1));
        t.control_modes = termios::ControlModes::from_bits_retain(word(2));
        t.local_modes = termios::LocalModes::from_bits_retain(word(3));
        t.line_discipline = b[16];
        for (i, cc) in CODES.into_iter().enumerate() {
            t.special_codes[cc] = b[17 + i];
        }
        with_fd(s, |fd| termios::tcsetattr(fd, when, &t)).map_err(Errno::from)
    }

    /// Whether background writes raise SIGTTOU (TOSTOP).
    pub fn tostop(self, con: &Console) -> KResult<bool> {
        let t = self.get(con)?;
        let lflag = u32::from_le_bytes(t[12..16].try_into().expect("4 bytes"));
        Ok(lflag & TOSTOP != 0)
    }

    /// struct winsize: rows, columns, x and y pixels (u16 each).
    pub fn winsize(self, con: &Console) -> KResult<[u8; 8]> {
        if let Some(w) = con.winsize {
            return Ok(w);
        }
        let Terminal::Host(s) = self else {
            return Ok([0; 8]);
        };
        let w = with_fd(s, |fd| termios::tcgetwinsize(fd)).map_err(Errno::from)?;
        let mut b = [0; 8];
        for (i, v) in [w.ws_row, w.ws_col, w.ws_xpixel, w.ws_ypixel]
            .iter()
            .enumerate()
        {
            b[i * 2..][..2].copy_from_slice(&v.to_le_bytes());
        }
        Ok(b)
    }

    pub fn set_winsize(self, con: &mut Console, w: [u8; 8]) {
        con.winsize = Some(w);
    }

    /// Bytes waiting to be read (FIONREAD).
    pub fn pending_input(self) -> KResult<u64> {
        match self {
            Terminal::Host(s) => {
                with_fd(s, |fd| rustix::io::ioctl_fionread(fd)).map_err(Errno::from)
            }
            Terminal::Emulated => Ok(0),
        }
    }
}

/// The host terminal's settings as cleave found them, put back when it
/// exits: a guest that ends in raw mode must not leave the user's shell
/// in it.
pub struct SavedTerminal(Option<Termios>);

impl SavedTerminal {
    pub fn save() -> SavedTerminal {
        SavedTerminal(with_fd(HostStdio::Stdin, |fd| termios::tcgetattr(fd)).ok())
    }

    pub fn restore(&self) {
        if let Some(t) = &self.0 {
            // Nothing to do about a terminal that went away.
            let _ = with_fd(HostStdio::Stdin, |fd| {
                termios::tcsetattr(fd, OptionalActions::Now, t)
            });
        }
    }
}
