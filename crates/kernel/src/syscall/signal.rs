//! Signal dispositions and masks: recorded faithfully; delivery comes
//! later.

use crate::errno::{Errno, KResult};
use crate::task::signal::{SigAction, Signal, SIGSET_SIZE, UNBLOCKABLE};
use crate::task::Kernel;

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
