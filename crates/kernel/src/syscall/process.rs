//! Process identity, exit, limits and the odds and ends a C runtime asks
//! for at startup.

use super::int;
use crate::errno::{Errno, KResult};
use crate::task::clone::*;
use crate::task::exit::*;
use crate::task::rlimit::{self, Rlimit, RLIMIT_AS, RLIMIT_STACK};
use crate::task::signal::{self, Signal};
use crate::task::{ExitStatus, Kernel, ThreadGroup};
use crate::wait::WaitReason;
use rand::RngCore;
use std::cell::RefCell;
use std::rc::Rc;

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

pub fn sched_yield(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    k.yield_now();
    Ok(0)
}

/// struct new_utsname: six 65-byte strings.
pub fn uname(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    const FIELD: usize = 65;
    let host = k.sysctl.hostname.clone();
    let fields: [&[u8]; 6] = [
        b"Linux",
        &host,
        crate::task::sysctl::OSRELEASE.as_bytes(),
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
    let privileged = k.cred().privileged();
    let group = k.group();
    let old = group.borrow().rlimits.get(resource);
    if let Some(new) = new {
        group.borrow_mut().rlimits.set(resource, new, privileged)?;
        if resource == RLIMIT_STACK {
            k.mm().borrow_mut().set_stack_limit(new.cur);
        }
        if resource == RLIMIT_AS {
            k.mm().borrow_mut().set_as_limit(new.cur);
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

// ---- clone, fork, vfork, exec, wait: see task/clone.rs, exec.rs, exit.rs.

/// clone(flags, newsp, parent_tid, tls, child_tid): riscv64's order
/// (CONFIG_CLONE_BACKWARDS). The exit signal is the low byte; the upper 32
/// bits of flags are ignored, as Linux's `lower_32_bits` does.
pub fn clone(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[0] & 0xffff_ffff;
    let args = CloneArgs {
        flags: CloneFlags::from_bits_retain(flags & !CSIGNAL),
        pidfd: a[2],
        child_tid: a[4],
        parent_tid: a[2],
        exit_signal: flags & CSIGNAL,
        stack: a[1],
        tls: a[3],
        ..CloneArgs::default()
    };
    k.kernel_clone(&args)
}

/// struct clone_args sizes: VER0 (up to tls), VER1 (+ set_tid,
/// set_tid_size), VER2 (+ cgroup).
const CLONE_ARGS_SIZE_VER0: u64 = 64;
const CLONE_ARGS_SIZE_VER2: u64 = 88;
/// MAX_PID_NS_LEVEL.
const MAX_PID_NS_LEVEL: u64 = 32;

/// clone3(struct clone_args *, size): Linux's copy_clone_args_from_user
/// and clone3_args_valid, then the common path.
pub fn clone3(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (uargs, size) = (a[0], a[1]);
    if size > crate::mm::PAGE_SIZE {
        return Err(Errno::E2BIG);
    }
    if size < CLONE_ARGS_SIZE_VER0 {
        return Err(Errno::EINVAL);
    }
    // copy_struct_from_user: a bigger struct is fine if the tail is zero.
    let mut b = vec![0u8; size as usize];
    k.copy_from_user(uargs, &mut b)?;
    if b.len() > CLONE_ARGS_SIZE_VER2 as usize
        && b[CLONE_ARGS_SIZE_VER2 as usize..].iter().any(|&x| x != 0)
    {
        return Err(Errno::E2BIG);
    }
    b.resize(CLONE_ARGS_SIZE_VER2 as usize, 0);
    let w = |i: usize| u64::from_le_bytes(b[i * 8..][..8].try_into().unwrap());
    let (raw, pidfd, child_tid, parent_tid, exit_signal) = (w(0), w(1), w(2), w(3), w(4));
    let flags = CloneFlags::from_bits_retain(raw);
    let (stack, stack_size, tls, set_tid, set_tid_size, cgroup) =
        (w(5), w(6), w(7), w(8), w(9), w(10));
    if set_tid_size > MAX_PID_NS_LEVEL
        || (set_tid == 0 && set_tid_size > 0)
        || (set_tid != 0 && set_tid_size == 0)
    {
        return Err(Errno::EINVAL);
    }
    if exit_signal & !CSIGNAL != 0 || exit_signal >= u64::from(signal::NSIG) {
        return Err(Errno::EINVAL);
    }
    if flags.contains(CloneFlags::INTO_CGROUP)
        && (cgroup > i32::MAX as u64 || size < CLONE_ARGS_SIZE_VER2)
    {
        return Err(Errno::EINVAL);
    }
    if set_tid != 0 {
        let mut tids = vec![0u8; 4 * set_tid_size as usize];
        k.copy_from_user(set_tid, &mut tids)?;
    }
    // clone3_args_valid.
    let wide = CloneFlags::CLEAR_SIGHAND | CloneFlags::INTO_CGROUP;
    if raw & !(0xffff_ffff | wide.bits()) != 0
        || flags.contains(CloneFlags::DETACHED)
        || raw & CSIGNAL & !CloneFlags::NEWTIME.bits() != 0
        || flags.contains(CloneFlags::SIGHAND | CloneFlags::CLEAR_SIGHAND)
        || (flags.intersects(CloneFlags::THREAD | CloneFlags::PARENT) && exit_signal != 0)
    {
        return Err(Errno::EINVAL);
    }
    // clone3_stack_valid: the stack is [stack, stack + stack_size).
    let sp = if stack == 0 {
        if stack_size != 0 {
            return Err(Errno::EINVAL);
        }
        0
    } else {
        match stack.checked_add(stack_size) {
            Some(top) if stack_size != 0 && top <= crate::mm::TASK_SIZE => top,
            _ => return Err(Errno::EINVAL),
        }
    };
    let args = CloneArgs {
        flags,
        pidfd,
        child_tid,
        parent_tid,
        exit_signal,
        stack: sp,
        tls,
        set_tid_size,
        cgroup,
    };
    k.kernel_clone(&args)
}

/// The longest path exec accepts (PATH_MAX, NUL included).
const PATH_MAX: usize = 4096;

pub fn execve(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let filename = k.read_user_cstr(a[0], PATH_MAX - 1)?;
    if filename.is_empty() {
        return Err(Errno::ENOENT);
    }
    let cwd = k.current().fs.borrow().cwd.clone();
    k.do_execve(cwd, filename, a[1], a[2], false)
}

const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
const AT_EMPTY_PATH: u64 = 0x1000;

pub fn execveat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (dirfd, flags) = (int(a[0]), a[4] & 0xffff_ffff);
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let filename = k.read_user_cstr(a[1], PATH_MAX - 1)?;
    if filename.is_empty() && flags & AT_EMPTY_PATH == 0 {
        return Err(Errno::ENOENT);
    }
    let start = super::fs::start_dir(k, dirfd, &filename, flags & AT_EMPTY_PATH != 0)?;
    k.do_execve(
        start,
        filename,
        a[2],
        a[3],
        flags & AT_SYMLINK_NOFOLLOW != 0,
    )
}

/// sizeof(struct rusage) on riscv64: two timevals and fourteen longs.
const RUSAGE_SIZE: usize = 144;

fn rusage_bytes(utime: std::time::Duration) -> [u8; RUSAGE_SIZE] {
    let mut b = [0; RUSAGE_SIZE];
    b[..8].copy_from_slice(&(utime.as_secs() as i64).to_le_bytes());
    b[8..16].copy_from_slice(&i64::from(utime.subsec_micros()).to_le_bytes());
    b
}

/// wait4(pid, wstatus, options, rusage).
pub fn wait4(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (pid, status_addr, options, ru) = (int(a[0]), a[1], a[2] as u32, a[3]);
    if options & !(WNOHANG | WUNTRACED | WCONTINUED | WNOTHREAD | WCLONE | WALL) != 0 {
        return Err(Errno::EINVAL);
    }
    // -INT_MIN cannot be negated.
    if pid == i32::MIN {
        return Err(Errno::ESRCH);
    }
    let who = match pid {
        -1 => WaitWho::Any,
        0 => WaitWho::Pgid(0),
        p if p < 0 => WaitWho::Pgid(p.unsigned_abs()),
        p => WaitWho::Pid(p as u32),
    };
    match k.do_wait(who, options | WEXITED)? {
        Some(r) => {
            if status_addr != 0 {
                k.write_user_u32(status_addr, r.status)?;
            }
            if ru != 0 {
                k.copy_to_user(ru, &rusage_bytes(r.utime))?;
            }
            Ok(u64::from(r.pid))
        }
        None if options & WNOHANG != 0 => Ok(0),
        None => {
            let tgid = k.group().borrow().tgid;
            Err(k.block(WaitReason::Child { tgid }, None))
        }
    }
}

const P_ALL: u64 = 0;
const P_PID: u64 = 1;
const P_PGID: u64 = 2;
const P_PIDFD: u64 = 3;

/// sizeof(siginfo_t).
const SIGINFO_SIZE: usize = 128;

/// waitid(idtype, id, infop, options, rusage).
pub fn waitid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (idtype, id, infop, options, ru) =
        (a[0] & 0xffff_ffff, a[1] as u32, a[2], a[3] as u32, a[4]);
    if options & !(WNOHANG | WNOWAIT | WEXITED | WSTOPPED | WCONTINUED | WNOTHREAD | WCLONE | WALL)
        != 0
        || options & (WEXITED | WSTOPPED | WCONTINUED) == 0
    {
        return Err(Errno::EINVAL);
    }
    // A pidfd opened with O_NONBLOCK makes the wait WNOHANG, failing with
    // EAGAIN when nothing is ready.
    let mut nonblock_pidfd = false;
    let who = match idtype {
        P_ALL => WaitWho::Any,
        P_PID if (id as i32) > 0 => WaitWho::Pid(id),
        P_PGID if (id as i32) >= 0 => WaitWho::Pgid(id),
        P_PIDFD => {
            let (pid, flags) = k.pidfd_target(u64::from(id))?;
            nonblock_pidfd = flags & crate::fs::file::O_NONBLOCK != 0;
            WaitWho::Pid(pid)
        }
        _ => return Err(Errno::EINVAL),
    };
    let result = match k.do_wait(who, options)? {
        Some(r) => r,
        None if nonblock_pidfd && options & WNOHANG == 0 => return Err(Errno::EAGAIN),
        None if options & WNOHANG != 0 => {
            // Nothing ready: Linux zeroes si_signo and si_pid (and the
            // rest of the fields it would fill).
            if infop != 0 {
                k.copy_to_user(infop, &[0; 32])?;
            }
            return Ok(0);
        }
        None => {
            let tgid = k.group().borrow().tgid;
            return Err(k.block(WaitReason::Child { tgid }, None));
        }
    };
    if ru != 0 {
        k.copy_to_user(ru, &rusage_bytes(result.utime))?;
    }
    if infop != 0 {
        let mut b = [0u8; SIGINFO_SIZE];
        b[0..4].copy_from_slice(&(Signal::SIGCHLD.0 as i32).to_le_bytes());
        b[8..12].copy_from_slice(&result.code.to_le_bytes());
        b[16..20].copy_from_slice(&(result.pid as i32).to_le_bytes());
        b[20..24].copy_from_slice(&result.uid.to_le_bytes());
        b[24..28].copy_from_slice(&result.si_status.to_le_bytes());
        // si_utime, si_stime in clock ticks (USER_HZ = 100).
        let ticks = (result.utime.as_millis() / 10) as i64;
        b[32..40].copy_from_slice(&ticks.to_le_bytes());
        k.copy_to_user(infop, &b[..48])?;
    }
    Ok(0)
}

/// pidfd_open(pid, flags): a pidfd for process `pid` (not a thread).
pub fn pidfd_open(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (pid, flags) = (int(a[0]), a[1] as u32);
    let nonblock = crate::fs::file::O_NONBLOCK;
    if flags & !nonblock != 0 || pid <= 0 {
        return Err(Errno::EINVAL);
    }
    let pid = pid as u32;
    if k.process(pid).is_none() {
        // A live thread that leads no process is EINVAL, anything else is
        // gone.
        return Err(if k.task(pid).is_some() {
            Errno::EINVAL
        } else {
            Errno::ESRCH
        });
    }
    k.install_pidfd(pid, flags)
}

// ---- process groups and sessions.

/// The process `pid` (0: the caller), or ESRCH. Zombies are found too.
fn find_process(k: &Kernel, pid: i32) -> KResult<Rc<RefCell<ThreadGroup>>> {
    if pid == 0 {
        return Ok(k.group());
    }
    if pid < 0 {
        return Err(Errno::ESRCH);
    }
    k.process(pid as u32).ok_or(Errno::ESRCH)
}

pub fn setpgid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (pid, pgid) = (int(a[0]), int(a[1]));
    if pgid < 0 {
        return Err(Errno::EINVAL);
    }
    let me = k.group();
    let (my_tgid, my_sid) = (me.borrow().tgid, me.borrow().sid);
    let target = find_process(k, pid)?;
    let t = target.borrow();
    let pgid = if pgid == 0 { t.tgid } else { pgid as u32 };
    // Only the caller or one of its children (not yet exec'd, same
    // session), never a session leader.
    if t.tgid != my_tgid {
        if t.ppid != my_tgid || t.zombie.is_some() {
            return Err(Errno::ESRCH);
        }
        if t.sid != my_sid {
            return Err(Errno::EPERM);
        }
        if t.did_exec {
            return Err(Errno::EACCES);
        }
    }
    if t.sid == t.tgid {
        return Err(Errno::EPERM);
    }
    if pgid != t.tgid
        && !k
            .processes()
            .any(|g| g.borrow().pgid == pgid && g.borrow().sid == my_sid)
    {
        return Err(Errno::EPERM);
    }
    drop(t);
    target.borrow_mut().pgid = pgid;
    Ok(0)
}

pub fn getpgid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let g = find_process(k, int(a[0]))?;
    let pgid = g.borrow().pgid;
    Ok(u64::from(pgid))
}

pub fn getsid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let g = find_process(k, int(a[0]))?;
    let sid = g.borrow().sid;
    Ok(u64::from(sid))
}

pub fn setsid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    let me = k.group();
    let tgid = me.borrow().tgid;
    // A process group leader (or the pid of any group) cannot start one.
    if k.processes().any(|g| g.borrow().pgid == tgid) {
        return Err(Errno::EPERM);
    }
    let mut g = me.borrow_mut();
    g.sid = tgid;
    g.pgid = tgid;
    Ok(u64::from(tgid))
}

// ---- prctl, scheduling odds and ends, fs info.

const PR_SET_PDEATHSIG: u64 = 1;
const PR_GET_PDEATHSIG: u64 = 2;
const PR_SET_NAME: u64 = 15;
const PR_GET_NAME: u64 = 16;
const PR_SET_CHILD_SUBREAPER: u64 = 36;
const PR_GET_CHILD_SUBREAPER: u64 = 37;

pub fn prctl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let option = a[0] & 0xffff_ffff;
    match option {
        PR_SET_CHILD_SUBREAPER => {
            k.group().borrow_mut().child_subreaper = a[1] != 0;
            Ok(0)
        }
        PR_GET_CHILD_SUBREAPER => {
            let v = u32::from(k.group().borrow().child_subreaper);
            k.write_user_u32(a[1], v)?;
            Ok(0)
        }
        PR_SET_NAME => {
            let mut name = vec![0u8; 16];
            let got = k.peek_user(a[1], 16);
            if got.is_empty() {
                return Err(Errno::EFAULT);
            }
            name[..got.len()].copy_from_slice(&got);
            let end = name.iter().position(|&b| b == 0).unwrap_or(15).min(15);
            name.truncate(end);
            k.group().borrow_mut().comm = name;
            Ok(0)
        }
        PR_GET_NAME => {
            let mut name = k.group().borrow().comm.clone();
            name.resize(16, 0);
            k.copy_to_user(a[1], &name)?;
            Ok(0)
        }
        PR_SET_PDEATHSIG => {
            Signal::from_guest(a[1]).map(drop).or(if a[1] == 0 {
                Ok(())
            } else {
                Err(Errno::EINVAL)
            })?;
            Ok(0)
        }
        PR_GET_PDEATHSIG => {
            k.write_user_u32(a[1], 0)?;
            Ok(0)
        }
        _ => Err(Errno::EINVAL),
    }
}

pub fn umask(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let fs = k.current().fs.clone();
    let old = fs.borrow().umask;
    fs.borrow_mut().umask = (a[0] as u32) & 0o777;
    Ok(u64::from(old))
}

pub fn getcwd(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let fs = k.current().fs.borrow().clone();
    // A cwd outside the root (left there by chroot) is shown as Linux
    // shows it.
    let mut bytes = if k.vfs.is_below(&fs.root, &fs.cwd) {
        k.vfs.path_of(&fs.root, &fs.cwd)
    } else {
        let mut b = b"(unreachable)".to_vec();
        b.extend(k.vfs.path_of(&k.vfs.root(), &fs.cwd));
        b
    };
    bytes.push(0);
    if (a[1] as usize) < bytes.len() {
        return Err(Errno::ERANGE);
    }
    k.copy_to_user(a[0], &bytes)?;
    Ok(bytes.len() as u64)
}
