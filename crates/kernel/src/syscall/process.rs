//! Process identity, exit, limits and the odds and ends a C runtime asks
//! for at startup.

use super::int;
use crate::errno::{Errno, KResult};
use crate::task::rlimit::{self, Rlimit, RLIMIT_STACK};
use crate::task::{ExitStatus, Kernel};
use rand::RngCore;

pub fn exit(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let tid = k.current_tid();
    k.exit_thread(tid, ExitStatus::Exited(a[0] as u8));
    Ok(0)
}

pub fn exit_group(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    k.exit_group(ExitStatus::Exited(a[0] as u8));
    Ok(0)
}

pub fn set_tid_address(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let task = k.current_mut();
    task.clear_child_tid = a[0];
    Ok(u64::from(task.tid))
}

/// sizeof(struct robust_list_head) on riscv64.
const ROBUST_LIST_HEAD_SIZE: u64 = 24;

pub fn set_robust_list(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[1] != ROBUST_LIST_HEAD_SIZE {
        return Err(Errno::EINVAL);
    }
    k.current_mut().robust_list = a[0];
    Ok(0)
}

pub fn getpid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.group().borrow().tgid))
}

pub fn getppid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.group().borrow().ppid))
}

pub fn gettid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.current_tid()))
}

pub fn getuid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.current().cred.uid))
}

pub fn geteuid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.current().cred.euid))
}

pub fn getgid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.current().cred.gid))
}

pub fn getegid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.current().cred.egid))
}

pub fn sched_yield(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    k.yield_now();
    Ok(0)
}

/// struct new_utsname: six 65-byte strings.
pub fn uname(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    const FIELD: usize = 65;
    let fields: [&[u8]; 6] = [
        b"Linux",
        b"cleave",
        b"6.1.0-cleave",
        b"#1 SMP PREEMPT_DYNAMIC",
        b"riscv64",
        b"(none)",
    ];
    let mut b = [0; 6 * FIELD];
    for (i, f) in fields.iter().enumerate() {
        b[i * FIELD..][..f.len()].copy_from_slice(f);
    }
    k.copy_to_user(a[0], &b)?;
    Ok(0)
}

/// Reads a struct rlimit, refusing cur > max.
fn read_rlimit(k: &mut Kernel, addr: u64) -> KResult<Rlimit> {
    let mut b = [0; Rlimit::SIZE];
    k.copy_from_user(addr, &mut b)?;
    Ok(Rlimit::from_bytes(&b))
}

/// Linux's do_prlimit for the current process: returns the old limit and
/// installs `new`, if any.
fn do_prlimit(k: &mut Kernel, resource: usize, new: Option<Rlimit>) -> KResult<Rlimit> {
    let privileged = k.current().cred.euid == 0;
    let group = k.group();
    let old = group.borrow().rlimits.get(resource);
    if let Some(new) = new {
        group.borrow_mut().rlimits.set(resource, new, privileged)?;
        if resource == RLIMIT_STACK {
            k.mm().borrow_mut().set_stack_limit(new.cur);
        }
    }
    Ok(old)
}

pub fn getrlimit(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let resource = rlimit::resource_from_guest(u64::from(a[0] as u32))?;
    let old = do_prlimit(k, resource, None)?;
    k.copy_to_user(a[1], &old.to_bytes())?;
    Ok(0)
}

pub fn setrlimit(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let resource = rlimit::resource_from_guest(u64::from(a[0] as u32))?;
    let new = read_rlimit(k, a[1])?;
    do_prlimit(k, resource, Some(new))?;
    Ok(0)
}

pub fn prlimit64(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (pid, resource, new, old) = (int(a[0]), a[1], a[2], a[3]);
    let resource = rlimit::resource_from_guest(u64::from(resource as u32))?;
    let new = if new != 0 {
        Some(read_rlimit(k, new)?)
    } else {
        None
    };
    // Only this process exists to be asked about.
    let tgid = k.group().borrow().tgid;
    if pid != 0 && pid as u32 != tgid {
        return Err(Errno::ESRCH);
    }
    let previous = do_prlimit(k, resource, new)?;
    if old != 0 {
        k.copy_to_user(old, &previous.to_bytes())?;
    }
    Ok(0)
}

const GRND_NONBLOCK: u64 = 1;
const GRND_RANDOM: u64 = 2;
const GRND_INSECURE: u64 = 4;

pub fn getrandom(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (addr, len, flags) = (a[0], a[1].min(i32::MAX as u64), a[2] & 0xffff_ffff);
    if flags & !(GRND_NONBLOCK | GRND_RANDOM | GRND_INSECURE) != 0
        || flags & (GRND_RANDOM | GRND_INSECURE) == GRND_RANDOM | GRND_INSECURE
    {
        return Err(Errno::EINVAL);
    }
    let mut chunk = [0u8; 256];
    let mut done = 0;
    while done < len {
        let n = ((len - done) as usize).min(chunk.len());
        k.rng.fill_bytes(&mut chunk[..n]);
        if let Err(e) = k.copy_to_user(addr + done, &chunk[..n]) {
            return if done > 0 { Ok(done) } else { Err(e) };
        }
        done += n as u64;
    }
    Ok(done)
}

/// SYS_RISCV_FLUSH_ICACHE_LOCAL: the only flag.
const FLUSH_ICACHE_LOCAL: u64 = 1;

/// The hart drops decoded instructions whenever their memory is written,
/// so there is nothing to flush; only the flags are checked.
pub fn riscv_flush_icache(_: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[2] & !FLUSH_ICACHE_LOCAL != 0 {
        return Err(Errno::EINVAL);
    }
    Ok(0)
}
