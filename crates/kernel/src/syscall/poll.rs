//! Waiting on many files: ppoll and pselect6 (riscv64 has no poll or
//! select; libc builds them on these), and eventfd2.
//!
//! A poller scans its files through each one's poll operation
//! (`OpenFile::poll`). When nothing is ready it blocks on
//! `WaitReason::Poll` with the keys of every file that can change (pipes
//! and eventfds by id, pidfds by process, the host streams), until its
//! deadline; any change to one of them restarts the call, which scans
//! again. The call keeps its first deadline across restarts, and a signal
//! mask it installs stays in place until it returns, as rt_sigsuspend's
//! does: a signal that arrives then runs its handler with the caller's
//! mask restored after, and the call fails with EINTR (never restarted,
//! Linux's ERESTARTNOHAND). The time left is written back to the
//! timeout, as Linux does.

use super::time::{read_timespec, timespec_bytes};
use crate::errno::{Errno, KResult};
use crate::fs::eventfd::{Eventfd, EFD_SEMAPHORE};
use crate::fs::file::*;
use crate::task::signal::{SIGSET_SIZE, UNBLOCKABLE};
use crate::task::Kernel;
use crate::wait::{PollKey, WaitReason};
use std::rc::Rc;
use std::time::Duration;

/// Restart data: the timeout is written back on return.
const WRITE_BACK: u64 = 1;

/// What select's three sets wait for (Linux's POLLIN_SET and friends).
const POLLIN_SET: u16 = POLLRDNORM | POLLRDBAND | POLLIN | POLLHUP | POLLERR;
const POLLOUT_SET: u16 = POLLWRBAND | POLLWRNORM | POLLOUT | POLLERR;
const POLLEX_SET: u16 = POLLPRI;

/// The wait of one ppoll, pselect6 or epoll_pwait call: its deadline
/// (None: forever) and whether the time left is written back.
pub(super) struct Wait {
    deadline: Option<Duration>,
    write_back: bool,
    timed_out: bool,
    /// A mask to install while waiting (first run only).
    mask: Option<u64>,
}

/// Reads the timeout and the temporary mask on the first run; a restarted
/// call keeps its deadline and the mask already installed.
fn wait_args(k: &mut Kernel, tsp: u64, mask: Option<(u64, u64)>) -> KResult<Wait> {
    if let Some(wait) = restarted_wait(k) {
        return Ok(wait);
    }
    let timeout = if tsp != 0 {
        Some(read_timespec(k, tsp)?)
    } else {
        None
    };
    new_wait(k, timeout, timeout.is_some_and(|t| !t.is_zero()), mask)
}

/// The wait of a restarted call: its first deadline, the mask already
/// installed.
pub(super) fn restarted_wait(k: &Kernel) -> Option<Wait> {
    k.restart().map(|r| Wait {
        deadline: r.deadline,
        write_back: r.data & WRITE_BACK != 0,
        timed_out: r.timed_out,
        mask: None,
    })
}

/// The wait of a call's first run: `timeout` from now (None: forever),
/// and the temporary mask at `mask`'s (address, size), if any.
pub(super) fn new_wait(
    k: &mut Kernel,
    timeout: Option<Duration>,
    write_back: bool,
    mask: Option<(u64, u64)>,
) -> KResult<Wait> {
    let mask = match mask {
        Some((addr, size)) if addr != 0 => {
            if size != SIGSET_SIZE {
                return Err(Errno::EINVAL);
            }
            Some(k.read_user_u64(addr)? & !UNBLOCKABLE)
        }
        _ => None,
    };
    let now = k.monotonic();
    Ok(Wait {
        deadline: timeout.map(|t| now + t),
        write_back,
        timed_out: timeout.is_some_and(|t| t.is_zero()),
        mask,
    })
}

impl Wait {
    /// Nothing is ready: Ok when the time is up (the call returns 0), else
    /// blocks on `keys`, installing the temporary mask; a handler ends the
    /// wait with EINTR, the time left written to `tsp`.
    pub(super) fn block(&self, k: &mut Kernel, keys: Vec<PollKey>, tsp: u64) -> KResult<()> {
        let t = k.current();
        let mask = self.mask.unwrap_or(t.sigmask);
        let signal = (t.pending.set | t.group.borrow().pending.set) & !mask != 0;
        if self.expired(k) && !signal {
            return Ok(());
        }
        if let Some(mask) = self.mask {
            let t = k.current_mut();
            t.sig.saved_mask = Some(t.sigmask);
            t.sigmask = mask;
        }
        let data = if self.write_back { WRITE_BACK } else { 0 };
        k.block_with(WaitReason::Poll(keys), self.deadline, data);
        if self.write_back {
            k.write_time_left(tsp);
        }
        Err(Errno::ERESTARTNOHAND)
    }

    /// Whether the time is up.
    pub(super) fn expired(&self, k: &Kernel) -> bool {
        self.timed_out || self.deadline.is_some_and(|d| d <= k.monotonic())
    }

    /// A normal return: the caller's mask back, the time left written.
    pub(super) fn finish(&self, k: &mut Kernel, tsp: u64, result: u64) -> u64 {
        restore_mask(k);
        if let (true, Some(deadline)) = (self.write_back, self.deadline) {
            let left = deadline.saturating_sub(k.monotonic());
            // A timeout that cannot be written back is not an error.
            let _ = k.copy_to_user(tsp, &timespec_bytes(left));
        }
        result
    }
}

/// The file open on `fd` for poll: None for no fd (or an O_PATH one,
/// which poll cannot use either).
fn poll_file(k: &Kernel, fd: u64) -> Option<Rc<OpenFile>> {
    let f = super::fs::file(k, fd).ok()?;
    (f.flags.get() & O_PATH == 0).then_some(f)
}

/// Puts back the mask a temporary one replaced, if any.
fn restore_mask(k: &mut Kernel) {
    let t = k.current_mut();
    if let Some(mask) = t.sig.saved_mask.take() {
        t.sigmask = mask;
    }
}

/// A restarted call that fails puts the caller's mask back (one that
/// blocks keeps the temporary one).
pub(super) fn restoring_mask(k: &mut Kernel, result: KResult<u64>) -> KResult<u64> {
    if result.is_err_and(|e| !e.is_restart()) {
        restore_mask(k);
    }
    result
}

/// ppoll(fds, nfds, tsp, sigmask, sigsetsize).
pub fn ppoll(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let result = do_ppoll(k, a);
    restoring_mask(k, result)
}

/// pselect6(n, inp, outp, exp, tsp, sig): `sig` points at { sigset
/// pointer, its size }.
pub fn pselect6(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let result = do_pselect6(k, a);
    restoring_mask(k, result)
}

fn do_ppoll(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (ufds, nfds, tsp) = (a[0], a[1] as u32, a[2]);
    let wait = wait_args(k, tsp, Some((a[3], a[4])))?;
    if u64::from(nfds) > k.nofile_limit() {
        return Err(Errno::EINVAL);
    }
    let mut b = vec![0u8; nfds as usize * 8];
    k.copy_from_user(ufds, &mut b)?;
    let mut ready = 0;
    let mut keys = Vec::new();
    for pfd in b.chunks_exact_mut(8) {
        let fd = i32::from_le_bytes(pfd[..4].try_into().unwrap());
        let events = u16::from_le_bytes(pfd[4..6].try_into().unwrap());
        let revents = if fd < 0 {
            0
        } else if let Some(f) = poll_file(k, fd as u64) {
            let r = f.poll(k, events);
            let mask = r.mask & (events | POLLERR | POLLHUP);
            if mask == 0 {
                keys.extend(r.key);
            }
            mask
        } else {
            POLLNVAL
        };
        ready += u64::from(revents != 0);
        pfd[6..8].copy_from_slice(&revents.to_le_bytes());
    }
    if ready == 0 {
        // Nothing to report: revents stay as the caller left them until
        // the call returns.
        wait.block(k, keys, tsp)?;
    }
    k.copy_to_user(ufds, &b)?;
    Ok(wait.finish(k, tsp, ready))
}

fn do_pselect6(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (n, tsp) = (a[0] as i32, a[4]);
    let mask = if a[5] != 0 && k.restart().is_none() {
        let mut b = [0u8; 16];
        k.copy_from_user(a[5], &mut b)?;
        let word = |i: usize| u64::from_le_bytes(b[i * 8..][..8].try_into().unwrap());
        Some((word(0), word(1)))
    } else {
        None
    };
    let wait = wait_args(k, tsp, mask)?;
    if n < 0 {
        return Err(Errno::EINVAL);
    }
    let n = (n as usize).min(crate::task::files::NR_OPEN);
    // Each set is n bits, in whole longs.
    let bytes = n.div_ceil(64) * 8;
    let mut sets = [Vec::new(), Vec::new(), Vec::new()];
    for (set, &addr) in sets.iter_mut().zip(&a[1..4]) {
        *set = vec![0u8; bytes];
        if addr != 0 {
            k.copy_from_user(addr, set)?;
        }
    }
    let bit = |set: &[u8], fd: usize| set[fd / 8] & (1 << (fd % 8)) != 0;
    let mut out = [vec![0u8; bytes], vec![0u8; bytes], vec![0u8; bytes]];
    let mut ready = 0;
    let mut keys = Vec::new();
    let wanted = [POLLIN_SET, POLLOUT_SET, POLLEX_SET];
    for fd in 0..n {
        let asked: Vec<bool> = sets.iter().map(|s| bit(s, fd)).collect();
        if !asked.contains(&true) {
            continue;
        }
        let f = super::fs::file(k, fd as u64)?;
        let events = POLLEX_SET
            | if asked[0] { POLLIN_SET } else { 0 }
            | if asked[1] { POLLOUT_SET } else { 0 };
        let r = f.poll(k, events);
        let mut any = false;
        for i in 0..3 {
            if asked[i] && r.mask & wanted[i] != 0 {
                out[i][fd / 8] |= 1 << (fd % 8);
                ready += 1;
                any = true;
            }
        }
        if !any {
            keys.extend(r.key);
        }
    }
    if ready == 0 {
        wait.block(k, keys, tsp)?;
    }
    for (set, &addr) in out.iter().zip(&a[1..4]) {
        if addr != 0 {
            k.copy_to_user(addr, set)?;
        }
    }
    Ok(wait.finish(k, tsp, ready))
}

/// eventfd2(initval, flags).
pub fn eventfd2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (initval, flags) = (u64::from(a[0] as u32), a[1] as u32);
    if flags & !(O_CLOEXEC | O_NONBLOCK | EFD_SEMAPHORE) != 0 {
        return Err(Errno::EINVAL);
    }
    let id = k.vfs.new_id();
    let efd = Eventfd::new(id, initval, flags & EFD_SEMAPHORE != 0);
    let file = OpenFile::new(Box::new(efd), O_RDWR | (flags & O_NONBLOCK));
    super::fs::fd_install(k, Rc::new(file), flags & O_CLOEXEC != 0, 0)
}
