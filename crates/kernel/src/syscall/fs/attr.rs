//! The attributes of a file: access, chmod, chown, utimensat. A host
//! file keeps them on the host, through its handle (`fs::host`).

use super::super::int;
use super::fdtable::file;
use super::namei::{lookup_at, now, path_arg, permitted};
use super::namei::{AT_EACCESS, AT_EMPTY_PATH, AT_SYMLINK_NOFOLLOW};
use crate::errno::{Errno, KResult};
use crate::fs::file::O_PATH;
use crate::fs::{Loc, S_IFMT};
use crate::task::Kernel;
use std::time::Duration;

fn access(k: &mut Kernel, dirfd: i32, path_addr: u64, mode: u64, flags: u64) -> KResult<u64> {
    if mode & !7 != 0 || flags & !(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, path_addr)?;
    let loc = lookup_at(
        k,
        dirfd,
        &path,
        flags & AT_SYMLINK_NOFOLLOW == 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let mode = mode as u32;
    if mode & 2 != 0 && k.vfs.readonly(&loc) {
        return Err(Errno::EROFS);
    }
    if mode != 0 && !permitted(k, &loc, mode) {
        return Err(Errno::EACCES);
    }
    Ok(0)
}

pub fn faccessat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    access(k, int(a[0]), a[1], a[2] & 0xffff_ffff, 0)
}

pub fn faccessat2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    access(k, int(a[0]), a[1], a[2] & 0xffff_ffff, a[3] & 0xffff_ffff)
}

fn chmod(k: &Kernel, loc: &Loc, mode: u64) -> KResult<u64> {
    if k.vfs.readonly(loc) {
        return Err(Errno::EROFS);
    }
    let cred = k.cred();
    let mut i = loc.inode.borrow_mut();
    if cred.euid != 0 && cred.euid != i.uid {
        return Err(Errno::EPERM);
    }
    if i.is_host() {
        // Kept by the host file, where the next run finds it too.
        drop(i);
        crate::fs::host::set_mode(&loc.inode, mode as u32 & 0o7777)?;
        return Ok(0);
    }
    i.mode = (i.mode & S_IFMT) | (mode as u32 & 0o7777);
    i.ctime = now(k);
    Ok(0)
}

pub fn fchmod(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    match f.loc() {
        Some(loc) if f.flags.get() & O_PATH == 0 => chmod(k, loc, a[1]),
        Some(_) => Err(Errno::EBADF),
        // A pipe or a standard stream: nothing to keep the mode in.
        _ => Ok(0),
    }
}

pub fn fchmodat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[1])?;
    let loc = lookup_at(k, int(a[0]), &path, true, false)?;
    chmod(k, &loc, a[2])
}

/// The inode of fd `fd` for fchown and futimens: EBADF for O_PATH.
fn fd_loc(k: &Kernel, fd: u64) -> KResult<Option<Loc>> {
    let f = file(k, fd)?;
    match f.loc() {
        Some(_) if f.flags.get() & O_PATH != 0 => Err(Errno::EBADF),
        Some(loc) => Ok(Some(loc.clone())),
        // A pipe or a standard stream: nothing to keep it in.
        _ => Ok(None),
    }
}

fn chown(k: &Kernel, loc: &Loc, uid: u32, gid: u32) -> KResult<u64> {
    if k.vfs.readonly(loc) {
        return Err(Errno::EROFS);
    }
    let cred = k.cred();
    let mut i = loc.inode.borrow_mut();
    if cred.euid != 0 {
        let uid_ok = uid == u32::MAX || uid == i.uid;
        let gid_ok = gid == u32::MAX
            || (cred.euid == i.uid && (gid == cred.egid || cred.groups.contains(&gid)));
        if !uid_ok || !gid_ok {
            return Err(Errno::EPERM);
        }
    }
    if i.is_host() {
        // The host refuses (EPERM) what cleave's user may not give away.
        drop(i);
        let id = |n: u32| (n != u32::MAX).then_some(n);
        crate::fs::host::set_owner(&loc.inode, id(uid), id(gid))?;
        return Ok(0);
    }
    if uid != u32::MAX {
        i.uid = uid;
    }
    if gid != u32::MAX {
        i.gid = gid;
    }
    i.ctime = now(k);
    Ok(0)
}

pub fn fchown(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    match fd_loc(k, a[0])? {
        Some(loc) => chown(k, &loc, a[1] as u32, a[2] as u32),
        None => Ok(0),
    }
}

pub fn fchownat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[4] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, a[1])?;
    let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
    let loc = lookup_at(k, int(a[0]), &path, follow, flags & AT_EMPTY_PATH != 0)?;
    chown(k, &loc, a[2] as u32, a[3] as u32)
}

const UTIME_NOW: i64 = (1 << 30) - 1;
const UTIME_OMIT: i64 = (1 << 30) - 2;

/// utimensat(dirfd, path, times[2], flags); a NULL path is dirfd itself
/// (futimens).
pub fn utimensat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[3] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let t = now(k);
    let mut times = [(0i64, UTIME_NOW); 2];
    if a[2] != 0 {
        let mut b = [0; 32];
        k.copy_from_user(a[2], &mut b)?;
        for (i, ts) in times.iter_mut().enumerate() {
            let sec = i64::from_le_bytes(b[i * 16..][..8].try_into().unwrap());
            let nsec = i64::from_le_bytes(b[i * 16 + 8..][..8].try_into().unwrap());
            if !(0..1_000_000_000).contains(&nsec) && nsec != UTIME_NOW && nsec != UTIME_OMIT {
                return Err(Errno::EINVAL);
            }
            *ts = (sec, nsec);
        }
    }
    let loc = if a[1] == 0 {
        match fd_loc(k, a[0])? {
            Some(loc) => loc,
            None => return Ok(0),
        }
    } else {
        let path = path_arg(k, a[1])?;
        let follow = flags & AT_SYMLINK_NOFOLLOW == 0;
        lookup_at(k, int(a[0]), &path, follow, flags & AT_EMPTY_PATH != 0)?
    };
    if k.vfs.readonly(&loc) {
        return Err(Errno::EROFS);
    }
    let set_now = times.iter().all(|t| t.1 == UTIME_NOW);
    let cred = k.cred();
    let owner = cred.euid == 0 || cred.euid == loc.inode.borrow().uid;
    if !(owner || set_now && permitted(k, &loc, 2)) {
        return Err(if set_now { Errno::EACCES } else { Errno::EPERM });
    }
    let value = |(sec, nsec): (i64, i64)| match nsec {
        UTIME_OMIT => None,
        UTIME_NOW => Some(t),
        _ => Some(Duration::new(sec.max(0) as u64, nsec as u32)),
    };
    if loc.inode.borrow().is_host() {
        crate::fs::host::set_times(&loc.inode, value(times[0]), value(times[1]))?;
        return Ok(0);
    }
    let mut i = loc.inode.borrow_mut();
    for (n, time) in times.into_iter().enumerate() {
        let Some(value) = value(time) else {
            continue;
        };
        if n == 0 {
            i.atime = value;
        } else {
            i.mtime = value;
        }
    }
    i.ctime = t;
    Ok(0)
}
