//! epoll's system calls (see `crate::fs::epoll`): epoll_create1,
//! epoll_ctl, epoll_pwait and epoll_pwait2 (riscv64 has no epoll_create
//! or epoll_wait; libc builds them on these).
//!
//! A waiter with nothing to report blocks on the epoll's own key, which
//! every change to an item's file announces; it is restarted then and
//! takes the ready list again. Its deadline and temporary signal mask are
//! ppoll's (`poll::Wait`): a handler ends the wait with EINTR, never a
//! restart, as Linux's.

use super::poll::{new_wait, restarted_wait, restoring_mask, Wait};
use super::time::read_timespec;
use crate::errno::{Errno, KResult};
use crate::fs::epoll::{epoll_of, max_user_watches, Epoll, EPOLL_CTL_DEL};
use crate::fs::file::{OpenFile, O_CLOEXEC, O_RDWR};
use crate::mm::{PAGE_SIZE, TASK_SIZE};
use crate::task::Kernel;
use std::rc::Rc;
use std::time::Duration;

/// struct epoll_event on riscv64: u32 events, 4 bytes of padding, u64
/// data (only x86-64 packs it).
const EVENT_SIZE: u64 = 16;
/// The most events one wait may ask for (Linux's EP_MAX_EVENTS).
const EP_MAX_EVENTS: i32 = (i32::MAX as u64 / EVENT_SIZE) as i32;

/// epoll_create1(flags).
pub fn epoll_create1(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[0] as u32;
    if flags & !O_CLOEXEC != 0 {
        return Err(Errno::EINVAL);
    }
    let id = k.vfs.new_id();
    let max = max_user_watches(k.phys.total_frames() * PAGE_SIZE as usize);
    let epoll = Epoll::new(id, k.cred().uid, max);
    let file = OpenFile::new(Box::new(epoll), O_RDWR);
    super::fs::fd_install(k, Rc::new(file), flags & O_CLOEXEC != 0, 0)
}

/// The epoll open on `epfd`: EBADF for no fd, EINVAL for another file.
fn epoll_file(k: &Kernel, epfd: u64) -> KResult<Rc<OpenFile>> {
    let file = super::fs::file(k, epfd)?;
    epoll_of(&file).ok_or(Errno::EINVAL)?;
    Ok(file)
}

/// epoll_ctl(epfd, op, fd, event).
pub fn epoll_ctl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (epfd, op, fd, event) = (a[0], a[1] as i32, a[2] as i32, a[3]);
    let (events, data) = if op != EPOLL_CTL_DEL {
        let mut b = [0u8; EVENT_SIZE as usize];
        k.copy_from_user(event, &mut b)?;
        let events = u32::from_le_bytes(b[..4].try_into().unwrap());
        (events, u64::from_le_bytes(b[8..].try_into().unwrap()))
    } else {
        (0, 0)
    };
    let epfile = super::fs::file(k, epfd)?;
    let target = super::fs::file(k, fd as u64)?;
    // An epoll fd and its own file, or another file's fd as epfd, are
    // EINVAL (after the target's EPERM).
    let ep = match epoll_of(&epfile) {
        Some(ep) => ep,
        None => {
            target.poll(k, 0).key.ok_or(Errno::EPERM)?;
            return Err(Errno::EINVAL);
        }
    };
    ep.ctl(k, op, fd, &target, events, data)?;
    Ok(0)
}

/// epoll_pwait(epfd, events, maxevents, timeout, sigmask, sigsetsize):
/// `timeout` in milliseconds, negative for none.
pub fn epoll_pwait(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let wait = match restarted_wait(k) {
        Some(wait) => wait,
        None => {
            let ms = a[3] as i32;
            let timeout = (ms >= 0).then(|| Duration::from_millis(ms as u64));
            new_wait(k, timeout, false, Some((a[4], a[5])))?
        }
    };
    let result = do_wait(k, a, &wait);
    restoring_mask(k, result)
}

/// epoll_pwait2(epfd, events, maxevents, timeout, sigmask, sigsetsize):
/// `timeout` a timespec, NULL for none.
pub fn epoll_pwait2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let wait = match restarted_wait(k) {
        Some(wait) => wait,
        None => {
            let timeout = if a[3] != 0 {
                Some(read_timespec(k, a[3])?)
            } else {
                None
            };
            new_wait(k, timeout, false, Some((a[4], a[5])))?
        }
    };
    let result = do_wait(k, a, &wait);
    restoring_mask(k, result)
}

/// Linux's do_epoll_wait and ep_poll: the ready items' events, else a
/// wait for them until the deadline.
fn do_wait(k: &mut Kernel, a: &[u64; 6], wait: &Wait) -> KResult<u64> {
    let (epfd, uevents, max) = (a[0], a[1], a[2] as i32);
    if max <= 0 || max > EP_MAX_EVENTS {
        return Err(Errno::EINVAL);
    }
    let end = uevents.checked_add(max as u64 * EVENT_SIZE);
    if end.is_none_or(|end| end > TASK_SIZE) {
        return Err(Errno::EFAULT);
    }
    let file = epoll_file(k, epfd)?;
    let ep = epoll_of(&file).expect("checked");
    let events = ep.send_events(k, max as usize);
    if !events.is_empty() {
        let mut b = Vec::with_capacity(events.len() * EVENT_SIZE as usize);
        for (revents, data) in &events {
            b.extend_from_slice(&revents.to_le_bytes());
            b.extend_from_slice(&[0; 4]);
            b.extend_from_slice(&data.to_le_bytes());
        }
        k.copy_to_user(uevents, &b)?;
        return Ok(wait.finish(k, 0, events.len() as u64));
    }
    if wait.expired(k) {
        return Ok(wait.finish(k, 0, 0));
    }
    wait.block(k, vec![ep.key()], 0)?;
    Ok(wait.finish(k, 0, 0))
}
