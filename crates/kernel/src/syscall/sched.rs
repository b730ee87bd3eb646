//! Scheduling calls. There is one CPU (CPU 0, node 0) and one queue, the
//! fair queue of `task::sched`, where a thread's policy and nice value
//! set its weight; these calls set and report them, with Linux's
//! argument checks.

use super::int;
use crate::errno::{Errno, KResult};
use crate::task::rlimit::{RLIMIT_NICE, RLIMIT_RTPRIO};
use crate::task::sched::{self, SLICE};
use crate::task::{Kernel, Tid};
use std::time::Duration;

const SCHED_OTHER: i32 = sched::SCHED_OTHER as i32;
const SCHED_FIFO: i32 = sched::SCHED_FIFO as i32;
const SCHED_RR: i32 = sched::SCHED_RR as i32;
const SCHED_BATCH: i32 = sched::SCHED_BATCH as i32;
const SCHED_IDLE: i32 = sched::SCHED_IDLE as i32;
const SCHED_DEADLINE: i32 = sched::SCHED_DEADLINE as i32;

/// The affinity mask of the only CPU, and its size as Linux reports it:
/// cpumask_size(), one unsigned long for up to 64 CPUs.
const CPU_MASK: u64 = 1;
const CPUMASK_SIZE: u64 = 8;

/// The thread `pid` names for the sched_* calls (Linux's
/// find_process_by_pid): 0 is the caller, one that does not exist (a
/// negative pid among them) ESRCH. The calls that refuse a negative pid
/// with EINVAL check it first.
fn find_thread(k: &Kernel, pid: i32) -> KResult<Tid> {
    match pid {
        0 => Ok(k.current_tid()),
        p if p > 0 && k.task(p as Tid).is_some() => Ok(p as Tid),
        _ => Err(Errno::ESRCH),
    }
}

/// getcpu(cpu, node, tcache): CPU 0 on node 0.
pub fn getcpu(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    for addr in [a[0], a[1]] {
        if addr != 0 {
            k.copy_to_user(addr, &0u32.to_le_bytes())?;
        }
    }
    Ok(0)
}

/// sched_getaffinity(pid, len, mask): writes CPU 0's mask and returns the
/// bytes written; glibc clears the rest of the caller's buffer.
pub fn sched_getaffinity(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (pid, len, mask) = (int(a[0]), a[1], a[2]);
    // Too small for the CPUs there are, or not a whole number of longs.
    if len == 0 || len % 8 != 0 {
        return Err(Errno::EINVAL);
    }
    find_thread(k, pid)?;
    let n = len.min(CPUMASK_SIZE);
    k.copy_to_user(mask, &CPU_MASK.to_le_bytes()[..n as usize])?;
    Ok(n)
}

/// sched_setaffinity(pid, len, mask): any mask including CPU 0 is
/// accepted (and changes nothing); one without it is EINVAL.
pub fn sched_setaffinity(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (pid, len, mask) = (int(a[0]), a[1], a[2]);
    // Linux reads min(len, cpumask_size()) bytes, zero-extending.
    let mut b = [0u8; 8];
    let n = len.min(CPUMASK_SIZE) as usize;
    k.copy_from_user(mask, &mut b[..n])?;
    find_thread(k, pid)?;
    if u64::from_le_bytes(b) & CPU_MASK == 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}

/// SCHED_RESET_ON_FORK, or'ed into a policy: kept, and reported, but
/// cleave's children inherit the policy anyway (see below).
const SCHED_RESET_ON_FORK: i32 = 0x4000_0000;

/// sched_setscheduler(pid, policy, param) and, with policy -1 (keep it),
/// sched_setparam(pid, param): Linux's checks in its order. The policy
/// and priority are kept and reported; cleave has no real-time class, so
/// SCHED_FIFO and SCHED_RR run as the heaviest fair threads (see
/// `task/sched.rs`).
fn setscheduler(k: &mut Kernel, pid: i32, policy: i32, param: u64) -> KResult<u64> {
    if param == 0 || pid < 0 {
        return Err(Errno::EINVAL);
    }
    let mut b = [0u8; 4];
    k.copy_from_user(param, &mut b)?;
    let priority = i32::from_le_bytes(b);
    let tid = find_thread(k, pid)?;
    let cur = k.task(tid).expect("found").sched;
    let policy = match policy {
        -1 => cur.policy as i32,
        p => p & !SCHED_RESET_ON_FORK,
    };
    let policy = match policy {
        p @ (SCHED_OTHER | SCHED_FIFO | SCHED_RR | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE) => p,
        _ => return Err(Errno::EINVAL),
    };
    let rt = matches!(policy, SCHED_FIFO | SCHED_RR);
    // SCHED_DEADLINE needs sched_setattr's runtime and deadline.
    if !(0..=99).contains(&priority) || rt != (priority != 0) || policy == SCHED_DEADLINE {
        return Err(Errno::EINVAL);
    }
    let cred = k.cred();
    if !cred.privileged() {
        let rtprio = k.rlimit(RLIMIT_RTPRIO).cur;
        let nice_ok = (20 - cur.nice) as u64 <= k.rlimit(RLIMIT_NICE).cur;
        let target = k.task(tid).expect("found").group.borrow().cred.clone();
        let refused = (rt && policy as u32 != cur.policy && rtprio == 0)
            || (rt && priority as u32 > cur.rt_priority && priority as u64 > rtprio)
            || (cur.policy == SCHED_IDLE as u32 && policy != SCHED_IDLE && !nice_ok)
            || (target.uid != cred.euid && target.euid != cred.euid);
        if refused {
            return Err(Errno::EPERM);
        }
    }
    k.set_policy(tid, policy as u32, priority as u32);
    Ok(0)
}

pub fn sched_setscheduler(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let policy = int(a[1]);
    if policy < 0 {
        return Err(Errno::EINVAL);
    }
    setscheduler(k, int(a[0]), policy, a[2])
}

pub fn sched_setparam(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    setscheduler(k, int(a[0]), -1, a[1])
}

pub fn sched_getscheduler(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let pid = int(a[0]);
    if pid < 0 {
        return Err(Errno::EINVAL);
    }
    let tid = find_thread(k, pid)?;
    Ok(u64::from(k.task(tid).expect("found").sched.policy))
}

/// sched_getparam(pid, param): struct sched_param's only field,
/// sched_priority: the real-time priority, 0 for the fair policies.
pub fn sched_getparam(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[1] == 0 || int(a[0]) < 0 {
        return Err(Errno::EINVAL);
    }
    let tid = find_thread(k, int(a[0]))?;
    let prio = k.task(tid).expect("found").sched.rt_priority;
    k.copy_to_user(a[1], &prio.to_le_bytes())?;
    Ok(0)
}

/// sched_rr_get_interval(pid, tp): SCHED_RR's time slice (Linux's 100
/// ms), 0 for SCHED_FIFO, and a fair thread's slice (`task::sched::SLICE`
/// units of 10 ns).
pub fn sched_rr_get_interval(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if int(a[0]) < 0 {
        return Err(Errno::EINVAL);
    }
    let tid = find_thread(k, int(a[0]))?;
    let slice = match k.task(tid).expect("found").sched.policy as i32 {
        SCHED_RR => Duration::from_millis(100),
        SCHED_FIFO => Duration::ZERO,
        _ => Duration::from_nanos(SLICE * 10),
    };
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&slice.as_secs().to_le_bytes());
    b[8..].copy_from_slice(&u64::from(slice.subsec_nanos()).to_le_bytes());
    k.copy_to_user(a[1], &b)?;
    Ok(0)
}

pub fn sched_get_priority_max(_: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    match int(a[0]) {
        SCHED_FIFO | SCHED_RR => Ok(99),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}

pub fn sched_get_priority_min(_: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    match int(a[0]) {
        SCHED_FIFO | SCHED_RR => Ok(1),
        SCHED_OTHER | SCHED_BATCH | SCHED_IDLE | SCHED_DEADLINE => Ok(0),
        _ => Err(Errno::EINVAL),
    }
}
