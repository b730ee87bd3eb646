//! The host terminal's signals (Ctrl-C, Ctrl-\, Ctrl-Z, a resize), caught
//! while the guest runs on a host terminal and raised in the guest's
//! foreground process group (`task::block`), as Linux's line discipline
//! would (see `fs::tty`).

use super::signal::Signal;
use crate::fs::tty::Terminal;
use rustix::fd::{AsFd, BorrowedFd};
use std::io::Read;
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The host signals that belong to the guest: each with its guest number.
const FORWARDED: [(i32, Signal); 4] = [
    (signal_hook::consts::SIGINT, Signal::SIGINT),
    (signal_hook::consts::SIGQUIT, Signal::SIGQUIT),
    (signal_hook::consts::SIGTSTP, Signal::SIGTSTP),
    (signal_hook::consts::SIGWINCH, Signal::SIGWINCH),
];

/// The terminal's signals, caught while the guest runs on a host terminal
/// (dropping this gives them back to their usual effect on cleave).
pub struct HostSignals {
    ids: Vec<signal_hook::SigId>,
    caught: [Arc<AtomicBool>; FORWARDED.len()],
    /// Readable once one arrived: what an idle kernel waits on.
    wake: UnixStream,
}

impl HostSignals {
    /// Catches them when the console is a host terminal; None otherwise
    /// (cleave's stdin is a pipe or a file: nobody types Ctrl-C).
    pub fn catch() -> Option<HostSignals> {
        if Terminal::console() == Terminal::Emulated {
            return None;
        }
        let (wake, notify) = UnixStream::pair().ok()?;
        wake.set_nonblocking(true).ok()?;
        notify.set_nonblocking(true).ok()?;
        let caught = std::array::from_fn(|_| Arc::new(AtomicBool::new(false)));
        let mut signals = HostSignals {
            ids: Vec::new(),
            caught,
            wake,
        };
        for ((host, _), flag) in FORWARDED.iter().zip(&signals.caught) {
            let notify = notify.try_clone().ok()?;
            signals
                .ids
                .push(signal_hook::flag::register(*host, flag.clone()).ok()?);
            signals
                .ids
                .push(signal_hook::low_level::pipe::register(*host, notify).ok()?);
        }
        Some(signals)
    }

    /// The signals caught since the last call, as guest signals.
    pub fn take(&self) -> Vec<Signal> {
        let mut buf = [0; 64];
        while matches!((&self.wake).read(&mut buf), Ok(n) if n > 0) {}
        FORWARDED
            .iter()
            .zip(&self.caught)
            .filter(|(_, flag)| flag.swap(false, Ordering::Relaxed))
            .map(|((_, sig), _)| *sig)
            .collect()
    }

    /// Readable when a signal has arrived.
    pub fn fd(&self) -> BorrowedFd<'_> {
        self.wake.as_fd()
    }
}

impl Drop for HostSignals {
    fn drop(&mut self) {
        for id in self.ids.drain(..) {
            signal_hook::low_level::unregister(id);
        }
    }
}
