//! The signal system calls: dispositions, masks, sending (kill, tkill,
//! tgkill, rt_sigqueueinfo), waiting (rt_sigsuspend, rt_sigtimedwait),
//! the alternate stack and rt_sigreturn. Delivery is in
//! `task/sigdeliver.rs`.

use super::int;
use crate::errno::{Errno, KResult};
use crate::task::acct::{ITIMER_PROF, ITIMER_REAL, ITIMER_VIRTUAL};
use crate::task::sigdeliver::SigTarget;
use crate::task::signal::{
    SigAction, SigInfo, Signal, MINSIGSTKSZ, SIGSET_SIZE, SIG_DFL, SIG_IGN, SI_TKILL, SI_USER,
    SS_AUTODISARM, SS_DISABLE, SS_ONSTACK, UNBLOCKABLE,
};
use crate::task::{Kernel, Tid};
use crate::wait::WaitReason;
use std::time::Duration;

const SIG_BLOCK: u64 = 0;
const SIG_UNBLOCK: u64 = 1;
const SIG_SETMASK: u64 = 2;

pub fn rt_sigaction(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (sig, act, oldact, size) = (a[0], a[1], a[2], a[3]);
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let sig = Signal::from_guest(u64::from(sig as u32))?;
    let new = if act != 0 {
        let mut b = [0; SigAction::SIZE];
        k.copy_from_user(act, &mut b)?;
        Some(SigAction::from_bytes(&b))
    } else {
        None
    };
    let sighand = k.current().sighand.clone();
    let old = sighand.borrow().action(sig);
    if let Some(new) = new {
        sighand.borrow_mut().set_action(sig, new)?;
        // POSIX: a pending signal whose action becomes "ignore" is
        // discarded, from every thread sharing the handlers.
        let default_ignored = new.handler == SIG_DFL
            && sig.default_action() == crate::task::signal::DefaultAction::Ignore;
        if new.handler == SIG_IGN || default_ignored {
            k.discard_pending(&sighand, sig.bit());
        }
    }
    if oldact != 0 {
        k.copy_to_user(oldact, &old.to_bytes())?;
    }
    Ok(0)
}

pub fn rt_sigprocmask(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (how, set, oldset, size) = (a[0], a[1], a[2], a[3]);
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let old = k.current().sigmask;
    if set != 0 {
        let set = k.read_user_u64(set)?;
        let mask = match how & 0xffff_ffff {
            SIG_BLOCK => old | set,
            SIG_UNBLOCK => old & !set,
            SIG_SETMASK => set,
            _ => return Err(Errno::EINVAL),
        };
        k.current_mut().sigmask = mask & !UNBLOCKABLE;
    }
    if oldset != 0 {
        k.copy_to_user(oldset, &old.to_le_bytes())?;
    }
    Ok(0)
}

pub fn rt_sigreturn(k: &mut Kernel, _a: &[u64; 6]) -> KResult<u64> {
    k.sigreturn()
}

pub fn rt_sigpending(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[1] > SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let t = k.current();
    let set = (t.pending.set | t.group.borrow().pending.set) & t.sigmask;
    k.copy_to_user(a[0], &set.to_le_bytes()[..a[1] as usize])?;
    Ok(0)
}

/// rt_sigsuspend: the mask replaced until a handler runs; always EINTR.
pub fn rt_sigsuspend(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[1] != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    if k.restart().is_none() {
        let mask = k.read_user_u64(a[0])?;
        let t = k.current_mut();
        t.sig.saved_mask = Some(t.sigmask);
        t.sigmask = mask & !UNBLOCKABLE;
    }
    k.block(WaitReason::Other("rt_sigsuspend"), None);
    Err(Errno::ERESTARTNOHAND)
}

/// rt_sigtimedwait: dequeues one of the signals in the set (which the
/// caller normally blocks), waiting for one up to the timeout.
pub fn rt_sigtimedwait(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (set, info, timeout, size) = (a[0], a[1], a[2], a[3]);
    if size != SIGSET_SIZE {
        return Err(Errno::EINVAL);
    }
    let restart = k.restart();
    let set = k.read_user_u64(set)? & !UNBLOCKABLE;
    k.current_mut().sig.waiting = 0;
    if let Some(got) = k.dequeue_signal(set) {
        if info != 0 {
            k.copy_to_user(info, &got.0)?;
        }
        return Ok(u64::from(got.signo()));
    }
    if restart.is_some_and(|r| r.timed_out) {
        return Err(Errno::EAGAIN);
    }
    let deadline = match restart {
        Some(r) => r.deadline,
        None if timeout != 0 => {
            let mut ts = [0u8; 16];
            k.copy_from_user(timeout, &mut ts)?;
            let sec = i64::from_le_bytes(ts[..8].try_into().unwrap());
            let nsec = i64::from_le_bytes(ts[8..].try_into().unwrap());
            if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
            let d = Duration::new(sec as u64, nsec as u32);
            if d.is_zero() {
                return Err(Errno::EAGAIN);
            }
            Some(k.monotonic() + d)
        }
        None => None,
    };
    k.current_mut().sig.waiting = set;
    k.block(WaitReason::Other("rt_sigtimedwait"), deadline);
    Err(Errno::ERESTARTNOHAND)
}

/// Whether the current process may signal `pid` (Linux's
/// check_kill_permission).
fn may_kill(k: &Kernel, pid: Tid, sig: u32) -> bool {
    let Some(target) = k.process(pid) else {
        return false;
    };
    let me = k.cred();
    let t = target.borrow();
    me.may_signal(&t.cred) || (sig == Signal::SIGCONT.0 && t.sid == k.group().borrow().sid)
}

/// Sends `info` (or only checks, for signal 0) to process `pid`.
fn kill_process(k: &mut Kernel, pid: Tid, sig: u32, info: SigInfo) -> KResult<()> {
    match k.process(pid) {
        Some(g) if g.borrow().zombie.is_none() && !g.borrow().threads.is_empty() => {}
        // A zombie can be "signalled": nothing happens.
        Some(_) => return Ok(()),
        None => return Err(Errno::ESRCH),
    }
    if !may_kill(k, pid, sig) {
        return Err(Errno::EPERM);
    }
    if sig != 0 {
        k.send_signal(SigTarget::Process(pid), info);
    }
    Ok(())
}

/// The signal number argument: 0 (a check) or a signal, else EINVAL.
fn sig_arg(a: u64) -> KResult<u32> {
    let sig = int(a);
    if sig == 0 {
        Ok(0)
    } else {
        Signal::from_guest(sig as u32 as u64).map(|s| s.0)
    }
}

fn user_info(k: &Kernel, sig: u32, code: i32) -> SigInfo {
    let pid = k.group().borrow().tgid;
    SigInfo::user(Signal(sig.max(1)), code, pid, k.cred().uid)
}

/// Delivers to every process in `pids` the caller may signal: Ok when at
/// least one was, else the last error (Linux's kill_pgrp / kill -1).
fn kill_many(k: &mut Kernel, pids: Vec<Tid>, sig: u32, info: SigInfo) -> KResult<u64> {
    let mut result = Err(Errno::ESRCH);
    for pid in pids {
        match kill_process(k, pid, sig, info) {
            Ok(()) => result = Ok(0),
            Err(e) if result.is_err() => result = Err(e),
            Err(_) => {}
        }
    }
    result
}

pub fn kill(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (pid, sig) = (int(a[0]), sig_arg(a[1])?);
    let info = user_info(k, sig, SI_USER);
    let members = |k: &Kernel, pred: &dyn Fn(&crate::task::ThreadGroup) -> bool| -> Vec<Tid> {
        k.processes()
            // Zombies count (signalling one does nothing) until reaped.
            .filter(|g| pred(&g.borrow()))
            .map(|g| g.borrow().tgid)
            .collect()
    };
    match pid {
        p if p > 0 => kill_process(k, p as Tid, sig, info).map(|()| 0),
        -1 => {
            // Every process but init and the caller.
            let me = k.group().borrow().tgid;
            let pids = members(k, &|g| g.tgid != 1 && g.tgid != me);
            kill_many(k, pids, sig, info)
        }
        i32::MIN => Err(Errno::ESRCH),
        p => {
            let pgid = if p == 0 {
                k.group().borrow().pgid
            } else {
                p.unsigned_abs()
            };
            let pids = members(k, &|g| g.pgid == pgid);
            kill_many(k, pids, sig, info)
        }
    }
}

/// tkill and tgkill: one thread, SI_TKILL.
fn thread_kill(
    k: &mut Kernel,
    tgid: Option<Tid>,
    tid: i32,
    sig: u32,
    info: SigInfo,
) -> KResult<u64> {
    if tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let tid = tid as Tid;
    let owner = match k.task(tid) {
        Some(t) => t.group.borrow().tgid,
        None => return Err(Errno::ESRCH),
    };
    if tgid.is_some_and(|g| g != owner) {
        return Err(Errno::ESRCH);
    }
    if !may_kill(k, owner, sig) {
        return Err(Errno::EPERM);
    }
    if sig != 0 {
        k.send_signal(SigTarget::Thread(tid), info);
    }
    Ok(0)
}

pub fn tkill(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let sig = sig_arg(a[1])?;
    let info = user_info(k, sig, SI_TKILL);
    thread_kill(k, None, int(a[0]), sig, info)
}

pub fn tgkill(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (tgid, tid, sig) = (int(a[0]), int(a[1]), sig_arg(a[2])?);
    if tgid <= 0 {
        return Err(Errno::EINVAL);
    }
    let info = user_info(k, sig, SI_TKILL);
    thread_kill(k, Some(tgid as Tid), tid, sig, info)
}

/// The siginfo a user supplies to rt_(tg)sigqueueinfo: it may not pretend
/// to be the kernel or kill (si_code >= 0) unless it signals itself.
fn queued_info(k: &mut Kernel, sig: u32, uinfo: u64, to_self: bool) -> KResult<SigInfo> {
    let mut info = SigInfo([0; SigInfo::SIZE]);
    k.copy_from_user(uinfo, &mut info.0)?;
    if (info.code() >= 0 || info.code() == SI_TKILL) && !to_self {
        return Err(Errno::EPERM);
    }
    info.0[0..4].copy_from_slice(&sig.to_le_bytes());
    Ok(info)
}

pub fn rt_sigqueueinfo(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (pid, sig) = (int(a[0]), sig_arg(a[1])?);
    if pid <= 0 {
        return Err(Errno::ESRCH);
    }
    let to_self = pid as Tid == k.group().borrow().tgid;
    let info = queued_info(k, sig, a[2], to_self)?;
    kill_process(k, pid as Tid, sig, info).map(|()| 0)
}

pub fn rt_tgsigqueueinfo(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (tgid, tid, sig) = (int(a[0]), int(a[1]), sig_arg(a[2])?);
    if tgid <= 0 || tid <= 0 {
        return Err(Errno::EINVAL);
    }
    let to_self = tgid as Tid == k.group().borrow().tgid;
    let info = queued_info(k, sig, a[3], to_self)?;
    thread_kill(k, Some(tgid as Tid), tid, sig, info)
}

/// pidfd_send_signal(pidfd, sig, info, flags): kill (or, with `info`,
/// rt_sigqueueinfo, whose si_signo must match) for the pidfd's process.
pub fn pidfd_send_signal(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (fd, sig, uinfo, flags) = (a[0], sig_arg(a[1]), a[2], a[3] as u32);
    if flags != 0 {
        return Err(Errno::EINVAL);
    }
    let (pid, _) = k.pidfd_target(u64::from(fd as u32))?;
    let sig = sig?;
    let info = if uinfo != 0 {
        let to_self = pid == k.group().borrow().tgid;
        let info = queued_info(k, sig, uinfo, to_self)?;
        let mut signo = [0u8; 4];
        k.copy_from_user(uinfo, &mut signo)?;
        if u32::from_le_bytes(signo) != sig {
            return Err(Errno::EINVAL);
        }
        info
    } else {
        user_info(k, sig, SI_USER)
    };
    kill_process(k, pid, sig, info).map(|()| 0)
}

/// sigaltstack(ss, old_ss): stack_t is { ss_sp, ss_flags (int), ss_size }.
pub fn sigaltstack(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (ss, old) = (a[0], a[1]);
    let sp = k.hart.regs.x[2];
    let cur = k.current().sig;
    let mut new = None;
    if ss != 0 {
        let mut b = [0u8; 24];
        k.copy_from_user(ss, &mut b)?;
        let word = |i: usize| u64::from_le_bytes(b[i * 8..][..8].try_into().unwrap());
        let (ss_sp, flags, size) = (word(0), word(1) as u32, word(2));
        if cur.on_altstack(sp) {
            return Err(Errno::EPERM);
        }
        let mode = flags & !SS_AUTODISARM;
        if mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK {
            return Err(Errno::EINVAL);
        }
        if mode == SS_DISABLE {
            new = Some((0, 0, false));
        } else {
            if size < MINSIGSTKSZ {
                return Err(Errno::ENOMEM);
            }
            new = Some((ss_sp, size, flags & SS_AUTODISARM != 0));
        }
    }
    if old != 0 {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&cur.altstack_sp.to_le_bytes());
        b[8..12].copy_from_slice(&cur.ss_flags(sp).to_le_bytes());
        b[16..].copy_from_slice(&cur.altstack_size.to_le_bytes());
        k.copy_to_user(old, &b)?;
    }
    if let Some((ss_sp, size, autodisarm)) = new {
        let t = k.current_mut();
        t.sig.altstack_sp = ss_sp;
        t.sig.altstack_size = size;
        t.sig.altstack_autodisarm = autodisarm;
    }
    Ok(0)
}

/// struct itimerval (two timevals) from and to the guest.
fn read_itimerval(k: &mut Kernel, addr: u64) -> KResult<(Duration, Duration)> {
    let mut b = [0u8; 32];
    k.copy_from_user(addr, &mut b)?;
    let word = |i: usize| i64::from_le_bytes(b[i * 8..][..8].try_into().unwrap());
    let tv = |sec: i64, usec: i64| {
        if sec < 0 || !(0..1_000_000).contains(&usec) {
            return Err(Errno::EINVAL);
        }
        Ok(Duration::new(sec as u64, usec as u32 * 1000))
    };
    Ok((tv(word(2), word(3))?, tv(word(0), word(1))?))
}

fn write_itimerval(
    k: &mut Kernel,
    addr: u64,
    (value, interval): (Duration, Duration),
) -> KResult<()> {
    // Microseconds, rounded up so that an armed timer never reads as 0.
    let tv = |d: Duration| {
        let us = d.as_nanos().div_ceil(1000) as u64;
        [us / 1_000_000, us % 1_000_000]
    };
    let mut b = [0u8; 32];
    for (i, w) in tv(interval).into_iter().chain(tv(value)).enumerate() {
        b[i * 8..][..8].copy_from_slice(&w.to_le_bytes());
    }
    k.copy_to_user(addr, &b)
}

/// setitimer: ITIMER_REAL (glibc's alarm is built on it) on
/// CLOCK_MONOTONIC, ITIMER_VIRTUAL and ITIMER_PROF on the process's CPU
/// time (`task/acct.rs`).
pub fn setitimer(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let which = int(a[0]);
    if !(ITIMER_REAL..=ITIMER_PROF).contains(&which) {
        return Err(Errno::EINVAL);
    }
    let (value, interval) = if a[1] != 0 {
        read_itimerval(k, a[1])?
    } else {
        (Duration::ZERO, Duration::ZERO)
    };
    let old = if which == ITIMER_REAL {
        k.set_itimer_real(value, interval)
    } else {
        k.set_itimer_cpu(which, value, interval)
    };
    if a[2] != 0 {
        write_itimerval(k, a[2], old)?;
    }
    Ok(0)
}

pub fn getitimer(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let cur = match int(a[0]) {
        ITIMER_REAL => k.get_itimer_real(),
        which @ (ITIMER_VIRTUAL | ITIMER_PROF) => k.get_itimer_cpu(which),
        _ => return Err(Errno::EINVAL),
    };
    write_itimerval(k, a[1], cur)?;
    Ok(0)
}
