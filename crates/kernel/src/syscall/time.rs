//! Clocks and sleeping.

use super::int;
use crate::errno::{Errno, KResult};
use crate::task::sigdeliver::SigTarget;
use crate::task::signal::Signal;
use crate::task::timer::{
    Notify, PosixTimer, SIGEV_NONE, SIGEV_SIGNAL, SIGEV_THREAD, SIGEV_THREAD_ID,
};
use crate::task::Kernel;
use crate::wait::WaitReason;
use std::time::Duration;

const CLOCK_REALTIME: i32 = 0;
const CLOCK_MONOTONIC: i32 = 1;
const CLOCK_PROCESS_CPUTIME_ID: i32 = 2;
const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
const CLOCK_MONOTONIC_RAW: i32 = 4;
const CLOCK_REALTIME_COARSE: i32 = 5;
const CLOCK_MONOTONIC_COARSE: i32 = 6;
const CLOCK_BOOTTIME: i32 = 7;
const CLOCK_REALTIME_ALARM: i32 = 8;
const CLOCK_BOOTTIME_ALARM: i32 = 9;
const CLOCK_TAI: i32 = 11;

const TIMER_ABSTIME: u64 = 1;

/// The tick of the coarse clocks: one jiffy at Debian's HZ=250.
const COARSE_RESOLUTION: Duration = Duration::from_millis(4);

/// The time on `clock` now, or EINVAL for a clock that does not exist.
fn now(k: &Kernel, clock: i32) -> KResult<Duration> {
    Ok(match clock {
        CLOCK_REALTIME | CLOCK_REALTIME_COARSE | CLOCK_REALTIME_ALARM | CLOCK_TAI => {
            k.clock.realtime(&k.hart)
        }
        // Nothing suspends, so BOOTTIME equals MONOTONIC.
        CLOCK_MONOTONIC
        | CLOCK_MONOTONIC_RAW
        | CLOCK_MONOTONIC_COARSE
        | CLOCK_BOOTTIME
        | CLOCK_BOOTTIME_ALARM => k.clock.monotonic(&k.hart),
        CLOCK_PROCESS_CPUTIME_ID => k.process_cpu_time(),
        CLOCK_THREAD_CPUTIME_ID => k.current().usage.cpu(),
        _ => return Err(Errno::EINVAL),
    })
}

pub(super) fn timespec_bytes(d: Duration) -> [u8; 16] {
    let mut b = [0; 16];
    b[..8].copy_from_slice(&(d.as_secs() as i64).to_le_bytes());
    b[8..].copy_from_slice(&i64::from(d.subsec_nanos()).to_le_bytes());
    b
}

/// A struct timespec from the guest: EFAULT, or EINVAL when it is not a
/// valid non-negative time.
pub(super) fn read_timespec(k: &mut Kernel, addr: u64) -> KResult<Duration> {
    let mut b = [0; 16];
    k.copy_from_user(addr, &mut b)?;
    let sec = i64::from_le_bytes(b[..8].try_into().unwrap());
    let nsec = i64::from_le_bytes(b[8..].try_into().unwrap());
    if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
        return Err(Errno::EINVAL);
    }
    Ok(Duration::new(sec as u64, nsec as u32))
}

pub fn clock_gettime(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let t = now(k, int(a[0]))?;
    k.copy_to_user(a[1], &timespec_bytes(t))?;
    Ok(0)
}

pub fn clock_getres(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let clock = int(a[0]);
    now(k, clock)?;
    let res = match clock {
        CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => COARSE_RESOLUTION,
        _ => Duration::from_nanos(1),
    };
    if a[1] != 0 {
        k.copy_to_user(a[1], &timespec_bytes(res))?;
    }
    Ok(0)
}

pub fn gettimeofday(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[0] != 0 {
        let t = k.clock.realtime(&k.hart);
        let mut b = [0; 16];
        b[..8].copy_from_slice(&(t.as_secs() as i64).to_le_bytes());
        b[8..].copy_from_slice(&i64::from(t.subsec_micros()).to_le_bytes());
        k.copy_to_user(a[0], &b)?;
    }
    if a[1] != 0 {
        // struct timezone: UTC, no DST.
        k.copy_to_user(a[1], &[0; 8])?;
    }
    Ok(0)
}

/// Sleeps the current thread until `deadline` (CLOCK_MONOTONIC) through
/// the blocking framework: the call blocks, and when it runs again it keeps
/// the deadline of its first run, so time already slept is not lost. A
/// handler ends a relative sleep with EINTR and the time left written to
/// `rem` (its restart block; Some(0) writes nothing), an absolute one
/// (`rem` None) with EINTR alone.
fn sleep_until(k: &mut Kernel, deadline: Duration, rem: Option<u64>) -> KResult<u64> {
    if k.monotonic() >= deadline {
        return Ok(0);
    }
    k.block(WaitReason::Sleep, Some(deadline));
    let Some(rem) = rem else {
        return Err(Errno::ERESTARTNOHAND);
    };
    k.write_time_left(rem);
    Err(Errno::ERESTART_RESTARTBLOCK)
}

pub fn nanosleep(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if let Some(deadline) = k.restart().and_then(|r| r.deadline) {
        return sleep_until(k, deadline, Some(a[1]));
    }
    let d = read_timespec(k, a[0])?;
    let deadline = k.monotonic() + d;
    sleep_until(k, deadline, Some(a[1]))
}

pub fn clock_nanosleep(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (clock, flags) = (int(a[0]), a[1]);
    match clock {
        CLOCK_REALTIME
        | CLOCK_MONOTONIC
        | CLOCK_BOOTTIME
        | CLOCK_TAI
        | CLOCK_PROCESS_CPUTIME_ID => {}
        // Clocks that exist but cannot be slept on.
        CLOCK_MONOTONIC_RAW | CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => {
            return Err(Errno::EOPNOTSUPP)
        }
        _ => return Err(Errno::EINVAL),
    }
    let rem = (flags & TIMER_ABSTIME == 0).then_some(a[3]);
    if let Some(deadline) = k.restart().and_then(|r| r.deadline) {
        return sleep_until(k, deadline, rem);
    }
    let t = read_timespec(k, a[2])?;
    // An absolute time on any clock becomes a CLOCK_MONOTONIC deadline.
    let d = if flags & TIMER_ABSTIME != 0 {
        t.saturating_sub(now(k, clock)?)
    } else {
        t
    };
    let deadline = k.monotonic() + d;
    sleep_until(k, deadline, rem)
}

// ---- POSIX timers (see task/timer.rs).

/// struct sigevent: sigev_value, sigev_signo, sigev_notify, then the
/// union whose first int is the thread id; 64 bytes.
const SIGEVENT_SIZE: usize = 64;

/// The timer a call names, from the current process, or EINVAL.
fn timer_id(k: &Kernel, id: u64) -> KResult<i32> {
    let id = int(id);
    if k.group().borrow().posix_timers.map.contains_key(&id) {
        Ok(id)
    } else {
        Err(Errno::EINVAL)
    }
}

/// A negative clock id names a CPU-time clock (Linux's
/// MAKE_PROCESS_CPUCLOCK: the pid's complement << 3, a per-thread bit, and
/// which count). The process's own, what glibc passes for
/// CLOCK_PROCESS_CPUTIME_ID, is that clock; the rest are not supported.
fn cpu_clock(k: &Kernel, clock: i32) -> KResult<i32> {
    let pid = !(clock >> 3) as u32;
    let (per_thread, which) = (clock & 4 != 0, clock & 3);
    if per_thread || which == 3 || (pid != 0 && pid != k.group().borrow().tgid) {
        return Err(Errno::EINVAL);
    }
    Ok(CLOCK_PROCESS_CPUTIME_ID)
}

/// timer_create(clockid, sevp, timerid).
pub fn timer_create(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (clock, sevp, idp) = (int(a[0]), a[1], a[2]);
    let event = if sevp != 0 {
        let mut b = [0u8; SIGEVENT_SIZE];
        k.copy_from_user(sevp, &mut b)?;
        Some(b)
    } else {
        None
    };
    let clock = if clock < 0 {
        cpu_clock(k, clock)?
    } else {
        clock
    };
    match clock {
        CLOCK_REALTIME | CLOCK_MONOTONIC | CLOCK_BOOTTIME | CLOCK_TAI => {}
        // Clocks that exist but have no timers.
        CLOCK_MONOTONIC_RAW | CLOCK_REALTIME_COARSE | CLOCK_MONOTONIC_COARSE => {
            return Err(Errno::EOPNOTSUPP)
        }
        // Waking the system needs CAP_WAKE_ALARM.
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM if !k.cred().privileged() => {
            return Err(Errno::EPERM)
        }
        CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM | CLOCK_PROCESS_CPUTIME_ID => {}
        // Per-thread CPU-time timers are not supported yet
        // (docs/compatibility.md).
        _ => return Err(Errno::EINVAL),
    }
    let tgid = k.group().borrow().tgid;
    // None: SIGALRM to the process with the timer's id as its value.
    let notify = match event {
        None => None,
        Some(b) => {
            let word = |at: usize| i32::from_le_bytes(b[at..at + 4].try_into().unwrap());
            let value = u64::from_le_bytes(b[..8].try_into().unwrap());
            let (signo, how, tid) = (word(8), word(12), word(16));
            let target = match how {
                SIGEV_NONE => None,
                SIGEV_SIGNAL | SIGEV_THREAD => Some(SigTarget::Process(tgid)),
                SIGEV_THREAD_ID if tid > 0 && k.tgid_of(tid as u32) == Some(tgid) => {
                    Some(SigTarget::Thread(tid as u32))
                }
                _ => return Err(Errno::EINVAL),
            };
            Some(match target {
                None => Notify::None,
                Some(target) => Notify::Signal {
                    sig: Signal::from_guest(u64::from(signo as u32))?,
                    value,
                    target,
                },
            })
        }
    };
    let group = k.group();
    let id = group.borrow_mut().posix_timers.add(|id| PosixTimer {
        clock,
        notify: notify.unwrap_or(Notify::Signal {
            sig: Signal::SIGALRM,
            value: id as u64,
            target: SigTarget::Process(tgid),
        }),
        expires: None,
        interval: Duration::ZERO,
        requeue: false,
        seq: 0,
        overrun_last: 0,
    });
    if let Err(e) = k.write_user_u32(idp, id as u32) {
        group.borrow_mut().posix_timers.map.remove(&id);
        return Err(e);
    }
    Ok(0)
}

/// struct itimerspec: it_interval, then it_value.
pub(super) fn itimerspec_bytes((value, interval): (Duration, Duration)) -> [u8; 32] {
    let mut b = [0; 32];
    b[..16].copy_from_slice(&timespec_bytes(interval));
    b[16..].copy_from_slice(&timespec_bytes(value));
    b
}

/// timer_settime(timerid, flags, new_value, old_value).
pub fn timer_settime(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (flags, new, old) = (a[1], a[2], a[3]);
    if new == 0 {
        return Err(Errno::EINVAL);
    }
    let interval = read_timespec(k, new)?;
    let value = read_timespec(k, new.wrapping_add(16))?;
    let id = timer_id(k, a[0])?;
    let previous = k.posix_timer_get(id).ok_or(Errno::EINVAL)?;
    let clock = k.group().borrow().posix_timers.map[&id].clock;
    let base = k.timer_now(clock);
    let at = if value.is_zero() {
        None
    } else if flags & TIMER_ABSTIME != 0 {
        // An absolute time on the timer's clock, on the time line its
        // expiry is kept on (CLOCK_MONOTONIC, or CPU time).
        Some(base + value.saturating_sub(now(k, clock)?))
    } else {
        Some(base + value)
    };
    k.arm_posix_timer(
        id,
        at,
        if at.is_some() {
            interval
        } else {
            Duration::ZERO
        },
    );
    if old != 0 {
        k.copy_to_user(old, &itimerspec_bytes(previous))?;
    }
    Ok(0)
}

pub fn timer_gettime(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let id = timer_id(k, a[0])?;
    let cur = k.posix_timer_get(id).ok_or(Errno::EINVAL)?;
    k.copy_to_user(a[1], &itimerspec_bytes(cur))?;
    Ok(0)
}

pub fn timer_getoverrun(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let id = timer_id(k, a[0])?;
    let overrun = k.group().borrow().posix_timers.map[&id].overrun_last;
    Ok(u64::from(overrun))
}

pub fn timer_delete(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let id = timer_id(k, a[0])?;
    // Disarmed first: a signal it still has queued becomes stale.
    k.arm_posix_timer(id, None, Duration::ZERO);
    k.group().borrow_mut().posix_timers.map.remove(&id);
    Ok(0)
}
