//! Credentials: the get*id and set*id calls, setfsuid, getgroups and
//! setgroups. The rules are in `task/cred.rs`; here the arguments are read
//! and the result installed in the caller's process (see `Cred` for why
//! per process).

use super::int;
use crate::errno::{Errno, KResult};
use crate::task::cred::{Ids, NGROUPS_MAX};
use crate::task::{Cred, Kernel};

/// A uid_t or gid_t argument: the low 32 bits.
fn id(arg: u64) -> u32 {
    arg as u32
}

/// Installs the new credentials in the caller's process. A change of
/// the effective or filesystem ids clears PR_SET_PDEATHSIG, as Linux's
/// commit_creds does.
fn commit(k: &mut Kernel, new: Cred) -> KResult<u64> {
    let group = k.group();
    let old = std::mem::replace(&mut group.borrow_mut().cred, new.clone());
    if (old.euid, old.egid, old.fsuid, old.fsgid) != (new.euid, new.egid, new.fsuid, new.fsgid) {
        let tgid = group.borrow().tgid;
        k.forget_pdeath_signals(tgid);
    }
    Ok(0)
}

pub fn getuid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.cred().uid))
}

pub fn geteuid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.cred().euid))
}

pub fn getgid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.cred().gid))
}

pub fn getegid(k: &mut Kernel, _: &[u64; 6]) -> KResult<u64> {
    Ok(u64::from(k.cred().egid))
}

pub fn setuid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let new = k.cred().set_id(Ids::User, id(a[0]))?;
    commit(k, new)
}

pub fn setgid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let new = k.cred().set_id(Ids::Group, id(a[0]))?;
    commit(k, new)
}

pub fn setreuid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let new = k.cred().set_re(Ids::User, id(a[0]), id(a[1]))?;
    commit(k, new)
}

pub fn setregid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let new = k.cred().set_re(Ids::Group, id(a[0]), id(a[1]))?;
    commit(k, new)
}

pub fn setresuid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let new = k.cred().set_res(Ids::User, id(a[0]), id(a[1]), id(a[2]))?;
    commit(k, new)
}

pub fn setresgid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let new = k.cred().set_res(Ids::Group, id(a[0]), id(a[1]), id(a[2]))?;
    commit(k, new)
}

/// Writes three ids, stopping at the first fault (Linux's put_user each).
fn put_three(k: &mut Kernel, a: &[u64; 6], ids: [u32; 3]) -> KResult<u64> {
    for (addr, v) in a.iter().zip(ids) {
        k.write_user_u32(*addr, v)?;
    }
    Ok(0)
}

pub fn getresuid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let c = k.cred();
    put_three(k, a, [c.uid, c.euid, c.suid])
}

pub fn getresgid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let c = k.cred();
    put_three(k, a, [c.gid, c.egid, c.sgid])
}

/// Returns the old fs id, whether or not it changed.
pub fn setfsuid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (old, new) = k.cred().set_fs(Ids::User, id(a[0]));
    commit(k, new)?;
    Ok(u64::from(old))
}

pub fn setfsgid(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (old, new) = k.cred().set_fs(Ids::Group, id(a[0]));
    commit(k, new)?;
    Ok(u64::from(old))
}

/// getgroups(size, list): size 0 asks for the count only.
pub fn getgroups(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (size, list) = (int(a[0]), a[1]);
    if size < 0 {
        return Err(Errno::EINVAL);
    }
    let groups = k.cred().groups;
    if size > 0 {
        if groups.len() > size as usize {
            return Err(Errno::EINVAL);
        }
        let bytes: Vec<u8> = groups.iter().flat_map(|g| g.to_le_bytes()).collect();
        k.copy_to_user(list, &bytes)?;
    }
    Ok(groups.len() as u64)
}

/// setgroups(size, list): needs CAP_SETGID.
pub fn setgroups(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (size, list) = (int(a[0]), a[1]);
    let cred = k.cred();
    if !cred.privileged() {
        return Err(Errno::EPERM);
    }
    if size as u32 as usize > NGROUPS_MAX {
        return Err(Errno::EINVAL);
    }
    let mut bytes = vec![0u8; 4 * size as usize];
    k.copy_from_user(list, &mut bytes)?;
    let groups = bytes
        .chunks_exact(4)
        .map(|b| u32::from_le_bytes(b.try_into().unwrap()))
        .collect();
    let new = cred.set_groups(groups)?;
    commit(k, new)
}
