//! signalfd (Linux's fs/signalfd.c): a file that dequeues the reading
//! thread's pending signals of its mask, as signalfd_siginfo records.
//!
//! The file holds only the mask: the signals are the caller's, whoever
//! that is (a forked child reads its own). It is readable while one of
//! them is pending, and its pollers wait on the caller's process's
//! [`PollKey::Signal`], which every signal queued for the process or one
//! of its threads announces, blocked or not.

use super::file::{FileOps, OpError, OpResult, Processes, Readiness};
use super::file::{POLLIN, POLLRDNORM};
use crate::errno::{Errno, KResult};
use crate::wait::{PollKey, WaitReason};
use std::any::Any;
use std::cell::Cell;

pub const SFD_CLOEXEC: u32 = 0o2000000;
pub const SFD_NONBLOCK: u32 = 0o4000;

/// struct signalfd_siginfo.
pub const RECORD_SIZE: usize = 128;

// si_code values that say how a siginfo_t's union is laid out.
const SI_KERNEL: i32 = 0x80;
const SI_TIMER: i32 = -2;
const SI_SIGIO: i32 = -5;

// The signals whose positive si_codes are their own.
const SIGILL: u32 = 4;
const SIGTRAP: u32 = 5;
const SIGBUS: u32 = 7;
const SIGFPE: u32 = 8;
const SIGSEGV: u32 = 11;
const SIGCHLD: u32 = 17;
const SIGIO: u32 = 29;
const SIGSYS: u32 = 31;

pub struct Signalfd {
    pub mask: Cell<u64>,
}

impl Signalfd {
    /// As many records as fit, waiting for the first (Linux's
    /// signalfd_read).
    fn read_now(
        &self,
        caller: &mut dyn Processes,
        nonblock: bool,
        len: usize,
    ) -> OpResult<Vec<u8>> {
        let count = len / RECORD_SIZE;
        if count == 0 {
            return Err(Errno::EINVAL.into());
        }
        let mut out = Vec::new();
        while out.len() < count * RECORD_SIZE {
            let Some(info) = caller.take_signal(self.mask.get()) else {
                break;
            };
            out.extend_from_slice(&record(&info));
        }
        if out.is_empty() {
            if nonblock {
                return Err(Errno::EAGAIN.into());
            }
            let key = PollKey::Signal(caller.current_tgid());
            return Err(OpError::Block(WaitReason::Poll(vec![key])));
        }
        Ok(out)
    }
}

impl FileOps for Signalfd {
    fn name(&self) -> String {
        "anon_inode:[signalfd]".into()
    }

    fn poll(&self, _events: u16, procs: &dyn Processes) -> Readiness {
        let mask = if procs.signals_pending() & self.mask.get() != 0 {
            POLLIN | POLLRDNORM
        } else {
            0
        };
        Readiness {
            mask,
            key: Some(PollKey::Signal(procs.current_tgid())),
        }
    }

    fn read_by(
        &self,
        caller: &mut dyn Processes,
        nonblock: bool,
        len: usize,
    ) -> Option<OpResult<Vec<u8>>> {
        Some(self.read_now(caller, nonblock, len))
    }

    /// Linux's noop_llseek: the offset stays 0.
    fn llseek(&self, _offset: i64, _whence: i32) -> KResult<u64> {
        Ok(0)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// How a siginfo_t's union is laid out (Linux's siginfo_layout).
enum Layout {
    Kill,
    Timer,
    Poll,
    Fault,
    Child,
    Rt,
    Sys,
}

fn layout(signo: u32, code: i32) -> Layout {
    if code > 0 && code < SI_KERNEL {
        match signo {
            SIGILL | SIGTRAP | SIGBUS | SIGFPE | SIGSEGV => return Layout::Fault,
            SIGCHLD => return Layout::Child,
            SIGIO => return Layout::Poll,
            SIGSYS => return Layout::Sys,
            _ => {}
        }
    }
    match code {
        SI_TIMER => Layout::Timer,
        SI_SIGIO => Layout::Poll,
        c if c < 0 => Layout::Rt,
        _ => Layout::Kill,
    }
}

/// The signalfd_siginfo record for siginfo_t `info` (Linux's
/// signalfd_copyinfo): the union's fields where the record has them.
fn record(info: &[u8; 128]) -> [u8; RECORD_SIZE] {
    let u32_at = |at: usize| u32::from_le_bytes(info[at..at + 4].try_into().unwrap());
    let u64_at = |at: usize| u64::from_le_bytes(info[at..at + 8].try_into().unwrap());
    let mut r = [0u8; RECORD_SIZE];
    let put32 = |r: &mut [u8; RECORD_SIZE], at: usize, v: u32| {
        r[at..at + 4].copy_from_slice(&v.to_le_bytes())
    };
    let put64 = |r: &mut [u8; RECORD_SIZE], at: usize, v: u64| {
        r[at..at + 8].copy_from_slice(&v.to_le_bytes())
    };
    let (signo, code) = (u32_at(0), u32_at(8) as i32);
    put32(&mut r, 0, signo); // ssi_signo
    put32(&mut r, 4, u32_at(4)); // ssi_errno
    put32(&mut r, 8, code as u32); // ssi_code
    match layout(signo, code) {
        Layout::Kill => {
            put32(&mut r, 12, u32_at(16)); // ssi_pid
            put32(&mut r, 16, u32_at(20)); // ssi_uid
        }
        Layout::Timer => {
            put32(&mut r, 24, u32_at(16)); // ssi_tid: the timer id
            put32(&mut r, 32, u32_at(20)); // ssi_overrun
            put64(&mut r, 48, u64_at(24)); // ssi_ptr
            put32(&mut r, 44, u32_at(24)); // ssi_int
        }
        Layout::Poll => {
            put32(&mut r, 28, u64_at(16) as u32); // ssi_band
            put32(&mut r, 20, u32_at(24)); // ssi_fd
        }
        Layout::Fault => put64(&mut r, 72, u64_at(16)), // ssi_addr
        Layout::Child => {
            put32(&mut r, 12, u32_at(16)); // ssi_pid
            put32(&mut r, 16, u32_at(20)); // ssi_uid
            put32(&mut r, 40, u32_at(24)); // ssi_status
            put64(&mut r, 56, u64_at(32)); // ssi_utime
            put64(&mut r, 64, u64_at(40)); // ssi_stime
        }
        Layout::Rt => {
            put32(&mut r, 12, u32_at(16)); // ssi_pid
            put32(&mut r, 16, u32_at(20)); // ssi_uid
            put64(&mut r, 48, u64_at(24)); // ssi_ptr
            put32(&mut r, 44, u32_at(24)); // ssi_int
        }
        Layout::Sys => {
            put64(&mut r, 88, u64_at(16)); // ssi_call_addr
            put32(&mut r, 84, u32_at(24)); // ssi_syscall
            put32(&mut r, 96, u32_at(28)); // ssi_arch
        }
    }
    r
}
