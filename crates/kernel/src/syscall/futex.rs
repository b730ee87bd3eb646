//! futex(2) and the robust-list calls: argument decoding and Linux's checks,
//! in Linux's order, over the wait queues of `task::futex`.

use super::int;
use super::time::read_timespec;
use crate::errno::{Errno, KResult};
use crate::task::futex::*;
use crate::task::Kernel;
use std::time::Duration;

/// The futex commands that take a timeout in their fourth argument; the
/// others read it as a count (val2).
fn has_timeout(cmd: u32) -> bool {
    matches!(
        cmd,
        FUTEX_WAIT | FUTEX_LOCK_PI | FUTEX_LOCK_PI2 | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI
    )
}

/// futex(uaddr, op, val, timeout or val2, uaddr2, val3): Linux's sys_futex
/// and do_futex.
pub fn futex(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (uaddr, op, val, utime, uaddr2, val3) =
        (a[0], a[1] as u32, a[2] as u32, a[3], a[4], a[5] as u32);
    let cmd = op & FUTEX_CMD_MASK;
    let private = op & FUTEX_PRIVATE_FLAG != 0;
    let realtime = op & FUTEX_CLOCK_REALTIME != 0;
    let timeout = if utime != 0 && has_timeout(cmd) {
        Some(read_timespec(k, utime)?)
    } else {
        None
    };
    // FUTEX_CLOCK_REALTIME is for absolute timeouts only (Linux reverted
    // letting FUTEX_WAIT take it).
    if realtime
        && !matches!(
            cmd,
            FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2
        )
    {
        return Err(Errno::ENOSYS);
    }
    // REQUEUE, CMP_REQUEUE and WAKE_OP pass a second count where the
    // timeout pointer would be: its low 32 bits, as a C int.
    let val2 = utime as u32 as i32;
    // Only WAIT's timeout is relative; WAIT_BITSET's is absolute.
    let deadline = match (cmd, timeout) {
        (_, None) => Deadline::Never,
        (FUTEX_WAIT, Some(t)) => Deadline::Relative(t),
        (_, Some(t)) if realtime => Deadline::Realtime(t),
        (_, Some(t)) => Deadline::Monotonic(t),
    };
    match cmd {
        FUTEX_WAIT => futex_wait(k, uaddr, private, val, FUTEX_BITSET_MATCH_ANY, deadline),
        FUTEX_WAIT_BITSET => futex_wait(k, uaddr, private, val, val3, deadline),
        FUTEX_WAKE => futex_wake(k, uaddr, private, val as i32, FUTEX_BITSET_MATCH_ANY),
        FUTEX_WAKE_BITSET => futex_wake(k, uaddr, private, val as i32, val3),
        FUTEX_REQUEUE => futex_requeue(k, uaddr, private, uaddr2, val as i32, val2, None),
        FUTEX_CMP_REQUEUE => futex_requeue(k, uaddr, private, uaddr2, val as i32, val2, Some(val3)),
        FUTEX_WAKE_OP => futex_wake_op(k, uaddr, private, uaddr2, val as i32, val2, val3),
        // PI futexes (LOCK_PI, LOCK_PI2, UNLOCK_PI, TRYLOCK_PI,
        // WAIT_REQUEUE_PI, CMP_REQUEUE_PI) are not implemented; FUTEX_FD
        // is gone from Linux too.
        _ => Err(Errno::ENOSYS),
    }
}

/// A futex timeout as the guest gave it.
enum Deadline {
    Never,
    /// FUTEX_WAIT: from now, on CLOCK_MONOTONIC.
    Relative(Duration),
    /// FUTEX_WAIT_BITSET: absolute CLOCK_MONOTONIC time.
    Monotonic(Duration),
    /// FUTEX_WAIT_BITSET | FUTEX_CLOCK_REALTIME: absolute CLOCK_REALTIME.
    Realtime(Duration),
}

impl Deadline {
    /// The CLOCK_MONOTONIC instant the wait ends, which is what the
    /// blocking framework's deadlines are measured on. A realtime deadline
    /// is converted once, now: nothing can set the realtime clock here, so
    /// the two clocks keep their distance. A time too far to represent is
    /// no deadline at all (Linux saturates at KTIME_MAX).
    fn resolve(self, k: &Kernel) -> Option<Duration> {
        let now = k.monotonic();
        match self {
            Deadline::Never => None,
            Deadline::Relative(t) => now.checked_add(t),
            Deadline::Monotonic(t) => Some(t),
            Deadline::Realtime(t) => now.checked_add(t.saturating_sub(k.clock.realtime(&k.hart))),
        }
    }
}

/// Linux's futex_wait: sleeps until woken if the word at `uaddr` still
/// holds `val`. Returns 0 when woken (completed by the waker), EAGAIN if
/// the word differs, ETIMEDOUT when the deadline passes first.
fn futex_wait(
    k: &mut Kernel,
    uaddr: u64,
    private: bool,
    val: u32,
    bitset: u32,
    deadline: Deadline,
) -> KResult<u64> {
    let tid = k.current_tid();
    // A wake completes the call; a restart means the deadline passed or
    // the sleep was interrupted. Linux restarts an interrupted wait from
    // scratch (futex_wait_restart), with the absolute deadline it had.
    let restart = k.restart();
    k.futex.unqueue(tid);
    if restart.is_some_and(|r| r.timed_out) {
        return Err(Errno::ETIMEDOUT);
    }
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let mm = k.mm();
    let key = get_futex_key(&mut k.phys, &mm, uaddr, private, KeyAccess::Read)?;
    let uval = mm.borrow_mut().read_user_u32(&mut k.phys, uaddr)?;
    if uval != val {
        return Err(Errno::EAGAIN);
    }
    let deadline = match restart {
        Some(r) => r.deadline,
        None => deadline.resolve(k),
    };
    if deadline.is_some_and(|d| d <= k.monotonic()) {
        return Err(Errno::ETIMEDOUT);
    }
    Err(k.futex_wait_queue(key, bitset, deadline))
}

/// Linux's futex_wake: wakes up to `nr` waiters whose bitset intersects
/// `bitset`; returns how many.
fn futex_wake(k: &mut Kernel, uaddr: u64, private: bool, nr: i32, bitset: u32) -> KResult<u64> {
    if bitset == 0 {
        return Err(Errno::EINVAL);
    }
    let mm = k.mm();
    let key = get_futex_key(&mut k.phys, &mm, uaddr, private, KeyAccess::Read)?;
    Ok(k.futex_wake(&key, bitset, nr) as u64)
}

/// Linux's futex_requeue without PI: for CMP_REQUEUE first EAGAIN unless
/// the word at `uaddr` holds `cmpval`; wakes `nr_wake` waiters of `uaddr`,
/// moves up to `nr_requeue` others to `uaddr2`, returns woken + moved.
fn futex_requeue(
    k: &mut Kernel,
    uaddr: u64,
    private: bool,
    uaddr2: u64,
    nr_wake: i32,
    nr_requeue: i32,
    cmpval: Option<u32>,
) -> KResult<u64> {
    if nr_wake < 0 || nr_requeue < 0 {
        return Err(Errno::EINVAL);
    }
    let mm = k.mm();
    let key1 = get_futex_key(&mut k.phys, &mm, uaddr, private, KeyAccess::Read)?;
    let key2 = get_futex_key(&mut k.phys, &mm, uaddr2, private, KeyAccess::Read)?;
    if let Some(cmpval) = cmpval {
        let uval = mm.borrow_mut().read_user_u32(&mut k.phys, uaddr)?;
        if uval != cmpval {
            return Err(Errno::EAGAIN);
        }
    }
    Ok(k.futex_requeue(&key1, &key2, nr_wake as usize, nr_requeue as usize) as u64)
}

/// Linux's futex_wake_op: applies the encoded operation to the word at
/// `uaddr2`, wakes up to `nr_wake` waiters of `uaddr`, and if the word's
/// old value passed the encoded comparison, up to `nr_wake2` of `uaddr2`.
/// Returns the total woken. glibc's condition variables used this.
fn futex_wake_op(
    k: &mut Kernel,
    uaddr: u64,
    private: bool,
    uaddr2: u64,
    nr_wake: i32,
    nr_wake2: i32,
    encoded: u32,
) -> KResult<u64> {
    let mm = k.mm();
    let key1 = get_futex_key(&mut k.phys, &mm, uaddr, private, KeyAccess::Read)?;
    let key2 = get_futex_key(&mut k.phys, &mm, uaddr2, private, KeyAccess::Write)?;
    let op = WakeOp::decode(encoded);
    op.check()?;
    // One hart: nothing runs between the read and the write, so this is
    // the atomic read-modify-write Linux does with an AMO. The write checks
    // writability before changing anything.
    let old = mm.borrow_mut().read_user_u32(&mut k.phys, uaddr2)?;
    let new = op.apply(old)?;
    mm.borrow_mut().write_user_u32(&mut k.phys, uaddr2, new)?;
    let wake2 = op.compare(old)?;
    let mut woken = k.futex_wake(&key1, FUTEX_BITSET_MATCH_ANY, nr_wake);
    if wake2 {
        woken += k.futex_wake(&key2, FUTEX_BITSET_MATCH_ANY, nr_wake2);
    }
    Ok(woken as u64)
}

/// get_robust_list(pid, head_ptr, len_ptr): the list head of thread `pid`
/// (0: the caller) and its size.
pub fn get_robust_list(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let pid = int(a[0]);
    let tid = match pid {
        0 => k.current_tid(),
        p if p > 0 => p as u32,
        _ => return Err(Errno::ESRCH),
    };
    let head = k.robust_list_of(tid)?;
    k.copy_to_user(a[2], &ROBUST_LIST_HEAD_SIZE.to_le_bytes())?;
    k.copy_to_user(a[1], &head.to_le_bytes())?;
    Ok(0)
}
