//! Resource usage and priorities (Linux's kernel/sys.c): getrusage,
//! times, getpriority and setpriority. What is counted and how is in
//! `task/acct.rs`; what nice does to scheduling in `task/sched.rs`.

use super::int;
use crate::errno::{Errno, KResult};
use crate::task::acct::{ticks, Usage, RUSAGE_CHILDREN, RUSAGE_SELF, RUSAGE_THREAD};
use crate::task::rlimit::RLIMIT_NICE;
use crate::task::{Kernel, Tid};

/// getrusage(who, usage).
pub fn getrusage(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let usage = match int(a[0]) {
        RUSAGE_SELF => k.process_usage(),
        RUSAGE_CHILDREN => k.group().borrow().children,
        RUSAGE_THREAD => {
            let mut usage = k.current().usage;
            usage.maxrss = k.mm().borrow().hiwater_rss_kib();
            usage
        }
        _ => return Err(Errno::EINVAL),
    };
    k.copy_to_user(a[1], &usage.to_rusage())?;
    Ok(0)
}

/// times(buf): the process's and its reaped children's user and system
/// times in clock ticks; returns clock ticks since boot, as Linux's
/// jiffies, which start 5 minutes before zero so that a program that
/// mishandles their wrap fails early.
pub fn times(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[0] != 0 {
        let own = k.process_usage();
        let children: Usage = k.group().borrow().children;
        let mut b = [0u8; 32];
        for (i, d) in [own.utime, own.stime, children.utime, children.stime]
            .into_iter()
            .enumerate()
        {
            b[i * 8..i * 8 + 8].copy_from_slice(&ticks(d).to_le_bytes());
        }
        k.copy_to_user(a[0], &b)?;
    }
    const INITIAL_TICKS: u64 = (-300i64 * 100) as u64;
    Ok(INITIAL_TICKS.wrapping_add(ticks(k.monotonic())))
}

const PRIO_PROCESS: i32 = 0;
const PRIO_PGRP: i32 = 1;
const PRIO_USER: i32 = 2;

/// The threads `which` and `who` name (0: the caller's own thread,
/// process group or user), as Linux's getpriority walks them: ESRCH when
/// none.
fn prio_targets(k: &Kernel, which: i32, who: i32) -> KResult<Vec<Tid>> {
    let me = k.current();
    let tids: Vec<Tid> = match which {
        PRIO_PROCESS if who == 0 => vec![me.tid],
        PRIO_PROCESS => k
            .task(who as Tid)
            .filter(|_| who > 0)
            .map(|t| t.tid)
            .into_iter()
            .collect(),
        PRIO_PGRP => {
            let pgid = if who == 0 {
                me.group.borrow().pgid
            } else {
                who as Tid
            };
            k.tasks()
                .filter(|t| t.group.borrow().pgid == pgid)
                .map(|t| t.tid)
                .collect()
        }
        PRIO_USER => {
            let uid = if who == 0 {
                me.group.borrow().cred.uid
            } else {
                who as u32
            };
            k.tasks()
                .filter(|t| t.group.borrow().cred.uid == uid)
                .map(|t| t.tid)
                .collect()
        }
        _ => return Err(Errno::EINVAL),
    };
    if tids.is_empty() {
        return Err(Errno::ESRCH);
    }
    Ok(tids)
}

/// getpriority(which, who): the highest priority of the threads named,
/// as 20 - nice (1..=40: the call never returns a negative number;
/// glibc turns it back into a nice value).
pub fn getpriority(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let tids = prio_targets(k, int(a[0]), int(a[1]))?;
    let best = tids
        .iter()
        .filter_map(|&t| k.task(t))
        .map(|t| 20 - t.sched.nice)
        .max()
        .unwrap_or(0);
    Ok(best as u64)
}

/// setpriority(which, who, nice): sets the nice value (clamped to
/// -20..=19) of every thread named. Another user's thread is EPERM, and
/// a lower nice than a thread has needs RLIMIT_NICE (20 - nice at most
/// the limit) or privilege: EACCES. As Linux, the last failure is the
/// result, though the threads allowed were changed.
pub fn setpriority(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let tids = prio_targets(k, int(a[0]), int(a[1]))?;
    let nice = int(a[2]).clamp(-20, 19);
    let cred = k.cred();
    let nice_limit = k.rlimit(RLIMIT_NICE).cur;
    let mut result = Ok(0);
    for tid in tids {
        let task = k.task(tid).expect("named thread exists");
        let (uid, euid) = {
            let g = task.group.borrow();
            (g.cred.uid, g.cred.euid)
        };
        if uid != cred.euid && euid != cred.euid && !cred.privileged() {
            result = Err(Errno::EPERM);
            continue;
        }
        let can_nice = (20 - nice) as u64 <= nice_limit || cred.privileged();
        if nice < task.sched.nice && !can_nice {
            result = Err(Errno::EACCES);
            continue;
        }
        k.set_nice(tid, nice);
    }
    result
}
