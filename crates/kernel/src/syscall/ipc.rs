//! System V IPC calls: shmget/shmat/shmdt/shmctl, semget/semop/semtimedop/
//! semctl, msgget/msgsnd/msgrcv/msgctl. Each decodes its arguments, copies
//! structs in and out in Linux's order (so that a call with several
//! mistakes fails as Linux's does) and calls `crate::ipc`; a call that
//! must wait blocks here, and is never restarted after a signal handler
//! (ERESTARTNOHAND: EINTR, as Linux's semop, msgsnd and msgrcv).

use super::int;
use crate::errno::{Errno, KResult};
use crate::ipc::msg::{MsgctlResult, MSG_COPY, MSQID_DS_SIZE};
use crate::ipc::sem::{
    SemBuf, SemctlResult, Semop, GETNCNT, GETZCNT, SEMID_DS_SIZE, SETALL, SETVAL,
};
use crate::ipc::shm::CtlResult;
use crate::ipc::{IPC_RMID, IPC_SET};
use crate::task::rlimit::RLIMIT_MEMLOCK;
use crate::task::sysvipc::IpcWaiters;
use crate::task::Kernel;
use crate::wait::WaitReason;
use std::time::Duration;

/// IPC_SET's struct, read before the object is looked at (Linux copies
/// it in first): EFAULT.
fn read_set_buf(k: &mut Kernel, cmd: i32, addr: u64, len: usize) -> KResult<Option<Vec<u8>>> {
    if cmd != IPC_SET {
        return Ok(None);
    }
    let mut b = vec![0; len];
    k.copy_from_user(addr, &mut b)?;
    Ok(Some(b))
}

pub fn shmget(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let who = k.ipc_caller();
    let id = k.ipc.shm.get(&k.phys, &who, int(a[0]), a[1], int(a[2]))?;
    Ok(id as u64)
}

pub fn shmat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let who = k.ipc_caller();
    let mm = k.mm();
    let addr = k.ipc.shm.attach(
        &mut k.phys,
        &mut mm.borrow_mut(),
        &who,
        int(a[0]),
        a[1],
        int(a[2]),
    )?;
    Ok(addr)
}

pub fn shmdt(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let who = k.ipc_caller();
    let mm = k.mm();
    k.ipc
        .shm
        .detach(&mut k.phys, &mut mm.borrow_mut(), &who, a[0])?;
    Ok(0)
}

pub fn shmctl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (id, cmd, buf) = (int(a[0]), int(a[1]), a[2]);
    let set = if id >= 0 && cmd >= 0 {
        read_set_buf(k, cmd, buf, crate::ipc::shm::SHMID_DS_SIZE)?
    } else {
        None
    };
    let who = k.ipc_caller();
    let memlock = k.group().borrow().rlimits.get(RLIMIT_MEMLOCK).cur;
    match k.ipc.shm.ctl(&who, id, cmd, set.as_deref(), memlock)? {
        CtlResult::Value(v) => Ok(v),
        CtlResult::Struct(v, b) => {
            k.copy_to_user(buf, &b)?;
            Ok(v)
        }
    }
}

pub fn semget(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let who = k.ipc_caller();
    let id = k
        .ipc
        .sem
        .get(&mut k.phys, &who, int(a[0]), int(a[1]), int(a[2]))?;
    Ok(id as u64)
}

pub fn semop(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    do_semtimedop(k, int(a[0]), a[1], a[2], None)
}

pub fn semtimedop(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if a[3] == 0 {
        return do_semtimedop(k, int(a[0]), a[1], a[2], None);
    }
    let mut ts = [0; 16];
    k.copy_from_user(a[3], &mut ts)?;
    do_semtimedop(k, int(a[0]), a[1], a[2], Some(ts))
}

/// Linux's do_semtimedop; `timeout` is the struct timespec, read already.
fn do_semtimedop(
    k: &mut Kernel,
    id: i32,
    sops_addr: u64,
    nsops: u64,
    timeout: Option<[u8; 16]>,
) -> KResult<u64> {
    if nsops < 1 || id < 0 {
        return Err(Errno::EINVAL);
    }
    if nsops > k.ipc.sem.semopm as u64 {
        return Err(Errno::E2BIG);
    }
    let mut raw = vec![0; nsops as usize * 6];
    k.copy_from_user(sops_addr, &mut raw)?;
    let sops: Vec<SemBuf> = raw
        .chunks(6)
        .map(|c| SemBuf {
            num: u16::from_le_bytes([c[0], c[1]]),
            op: i16::from_le_bytes([c[2], c[3]]),
            flg: i16::from_le_bytes([c[4], c[5]]),
        })
        .collect();
    let restart = k.restart();
    let deadline = match (restart, timeout) {
        (Some(r), _) => r.deadline,
        (None, None) => None,
        (None, Some(ts)) => {
            let sec = i64::from_le_bytes(ts[..8].try_into().expect("8 bytes"));
            let nsec = i64::from_le_bytes(ts[8..].try_into().expect("8 bytes"));
            if sec < 0 || !(0..1_000_000_000).contains(&nsec) {
                return Err(Errno::EINVAL);
            }
            Some(k.monotonic() + Duration::new(sec as u64, nsec as u32))
        }
    };
    let who = k.ipc_caller();
    match k.ipc.sem.semop(&who, id, &sops)? {
        Semop::Done { altered } => {
            if altered {
                k.wake_ipc(IpcWaiters::Sem(id));
            }
            Ok(0)
        }
        Semop::Block { .. } if restart.is_some_and(|r| r.timed_out) => Err(Errno::EAGAIN),
        Semop::Block { num, zero } => {
            k.block(WaitReason::Sem { id, num, zero }, deadline);
            Err(Errno::ERESTARTNOHAND)
        }
    }
}

pub fn semctl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (id, num, cmd, arg) = (int(a[0]), int(a[1]), int(a[2]), a[3]);
    let who = k.ipc_caller();
    let input = match cmd {
        _ if id < 0 => None,
        SETALL => {
            let n = k.ipc.sem.setall_len(&who, id)?;
            let mut b = vec![0; n * 2];
            k.copy_from_user(arg, &mut b)?;
            Some(b)
        }
        _ => read_set_buf(k, cmd, arg, SEMID_DS_SIZE)?,
    };
    let waiting = match cmd {
        GETNCNT | GETZCNT => k.sem_waiters(id, num as u16, cmd == GETZCNT),
        _ => 0,
    };
    let result = k
        .ipc
        .sem
        .ctl(&who, id, num, cmd, arg, input.as_deref(), waiting)?;
    match cmd {
        IPC_RMID => k.wake_ipc_removed(IpcWaiters::Sem(id)),
        SETVAL | SETALL | IPC_SET => k.wake_ipc(IpcWaiters::Sem(id)),
        _ => {}
    }
    match result {
        SemctlResult::Value(v) => Ok(v),
        SemctlResult::Out(v, b) => {
            k.copy_to_user(arg, &b)?;
            Ok(v)
        }
    }
}

pub fn msgget(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let who = k.ipc_caller();
    let id = k.ipc.msg.get(&who, int(a[0]), int(a[1]))?;
    Ok(id as u64)
}

pub fn msgsnd(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (id, msgp, len, flags) = (int(a[0]), a[1], a[2] as i64, int(a[3]));
    let mtype = k.read_user_u64(msgp)? as i64;
    k.ipc.msg.check_send(id, mtype, len)?;
    let mut text = vec![0; len as usize];
    k.copy_from_user(msgp + 8, &mut text)?;
    let who = k.ipc_caller();
    match k.ipc.msg.send(&mut k.phys, &who, id, mtype, &text, flags)? {
        Ok(()) => {
            k.wake_ipc(IpcWaiters::Msg(id));
            Ok(0)
        }
        Err(_) => {
            k.block(WaitReason::Msg { id }, None);
            Err(Errno::ERESTARTNOHAND)
        }
    }
}

pub fn msgrcv(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (id, msgp, size, msgtyp, flags) = (int(a[0]), a[1], a[2] as i64, a[3] as i64, int(a[4]));
    let who = k.ipc_caller();
    match k.ipc.msg.receive(&k.phys, &who, id, size, msgtyp, flags)? {
        Ok((mtype, text)) => {
            if flags & MSG_COPY == 0 {
                k.wake_ipc(IpcWaiters::Msg(id));
            }
            // The message is gone from the queue even if it cannot be
            // copied out, as on Linux.
            k.copy_to_user(msgp, &mtype.to_le_bytes())?;
            k.copy_to_user(msgp + 8, &text)?;
            Ok(text.len() as u64)
        }
        Err(_) => {
            k.block(WaitReason::Msg { id }, None);
            Err(Errno::ERESTARTNOHAND)
        }
    }
}

pub fn msgctl(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (id, cmd, buf) = (int(a[0]), int(a[1]), a[2]);
    let set = if id >= 0 && cmd >= 0 {
        read_set_buf(k, cmd, buf, MSQID_DS_SIZE)?
    } else {
        None
    };
    let who = k.ipc_caller();
    let result = k.ipc.msg.ctl(&who, id, cmd, set.as_deref())?;
    match cmd {
        IPC_RMID => k.wake_ipc_removed(IpcWaiters::Msg(id)),
        // Senders may fit a larger queue; receivers may have lost the
        // right to read (they try again).
        IPC_SET => k.wake_ipc(IpcWaiters::Msg(id)),
        _ => {}
    }
    match result {
        MsgctlResult::Value(v) => Ok(v),
        MsgctlResult::Struct(v, b) => {
            k.copy_to_user(buf, &b)?;
            Ok(v)
        }
    }
}
