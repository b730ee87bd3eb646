//! Scheduling queries. There is one CPU (CPU 0, node 0) and one policy,
//! SCHED_OTHER, whose fair queue lives in `task::sched`; these calls report that
//! truthfully, with Linux's argument checks.

use super::int;
use crate::errno::{Errno, KResult};
use crate::task::{Kernel, Tid};

const SCHED_OTHER: i32 = 0;
const SCHED_FIFO: i32 = 1;
const SCHED_RR: i32 = 2;
const SCHED_BATCH: i32 = 3;
const SCHED_IDLE: i32 = 5;
const SCHED_DEADLINE: i32 = 6;

/// The affinity mask of the only CPU, and its size as Linux reports it:
/// cpumask_size(), one unsigned long for up to 64 CPUs.
const CPU_MASK: u64 = 1;
const CPUMASK_SIZE: u64 = 8;

/// The thread `pid` names for the sched_* calls: 0 is the caller; a
/// negative pid is EINVAL, an unknown one ESRCH.
fn find_thread(k: &Kernel, pid: i32) -> KResult<Tid> {
    match pid {
        0 => Ok(k.current_tid()),
        p if p < 0 => Err(Errno::EINVAL),
        p if k.task(p as Tid).is_some() => Ok(p as Tid),
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

pub fn sched_getscheduler(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    find_thread(k, int(a[0]))?;
    Ok(SCHED_OTHER as u64)
}

/// sched_getparam(pid, param): struct sched_param's only field,
/// sched_priority, is 0 under SCHED_OTHER.
pub fn sched_getparam(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[1] == 0 {
        return Err(Errno::EINVAL);
    }
    find_thread(k, int(a[0]))?;
    k.copy_to_user(a[1], &0i32.to_le_bytes())?;
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
