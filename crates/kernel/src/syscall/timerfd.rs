//! timerfd's system calls (see `crate::fs::timerfd`): timerfd_create,
//! timerfd_settime and timerfd_gettime.

use super::time::{itimerspec_bytes, read_timespec};
use crate::errno::{Errno, KResult};
use crate::fs::file::{OpenFile, O_CLOEXEC, O_NONBLOCK, O_RDWR};
use crate::fs::timerfd::*;
use crate::task::Kernel;
use std::rc::Rc;

/// The alarm clocks would wake a suspended machine: CAP_WAKE_ALARM only.
fn alarm(clock: i32) -> bool {
    matches!(clock, CLOCK_REALTIME_ALARM | CLOCK_BOOTTIME_ALARM)
}

/// timerfd_create(clockid, flags).
pub fn timerfd_create(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (clock, flags) = (a[0] as i32, a[1] as u32);
    let clocks = [
        CLOCK_REALTIME,
        CLOCK_MONOTONIC,
        CLOCK_BOOTTIME,
        CLOCK_REALTIME_ALARM,
        CLOCK_BOOTTIME_ALARM,
    ];
    if flags & !(O_CLOEXEC | O_NONBLOCK) != 0 || !clocks.contains(&clock) {
        return Err(Errno::EINVAL);
    }
    if alarm(clock) && !k.cred().privileged() {
        return Err(Errno::EPERM);
    }
    let id = k.vfs.new_id();
    let file = OpenFile::new(
        Box::new(Timerfd::new(id, clock)),
        O_RDWR | (flags & O_NONBLOCK),
    );
    super::fs::fd_install(k, Rc::new(file), flags & O_CLOEXEC != 0, 0)
}

/// The timerfd open on `fd`: EBADF for no fd, EINVAL for another file.
fn timerfd(k: &Kernel, fd: u64) -> KResult<Rc<OpenFile>> {
    let file = super::fs::file(k, fd)?;
    file.downcast::<Timerfd>().ok_or(Errno::EINVAL)?;
    Ok(file)
}

fn as_timerfd(file: &OpenFile) -> &Timerfd {
    file.downcast().expect("checked")
}

/// timerfd_settime(fd, flags, new_value, old_value).
pub fn timerfd_settime(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (fd, flags, new, old) = (a[0], a[1] as u32, a[2], a[3]);
    let interval = read_timespec(k, new)?;
    let value = read_timespec(k, new.wrapping_add(16))?;
    if flags & !(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET) != 0 {
        return Err(Errno::EINVAL);
    }
    let file = timerfd(k, fd)?;
    let t = as_timerfd(&file);
    if alarm(t.clock) && !k.cred().privileged() {
        return Err(Errno::EPERM);
    }
    let previous = t.set(k, flags, value, interval);
    if old != 0 {
        k.copy_to_user(old, &itimerspec_bytes(previous))?;
    }
    Ok(0)
}

/// timerfd_gettime(fd, curr_value).
pub fn timerfd_gettime(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let file = timerfd(k, a[0])?;
    let cur = as_timerfd(&file).get(k.monotonic());
    k.copy_to_user(a[1], &itimerspec_bytes(cur))?;
    Ok(0)
}
