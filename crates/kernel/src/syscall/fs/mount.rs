//! mount, umount2 and chroot.

use super::super::AT_FDCWD;
use super::namei::{lookup_at, path_arg, permitted};
use crate::errno::{Errno, KResult};
use crate::fs::FsType;
use crate::task::Kernel;

// mount(2) flags.
const MS_RDONLY: u64 = 1;
const MS_REMOUNT: u64 = 32;
const MS_BIND: u64 = 4096;
const MS_MOVE: u64 = 8192;
/// MS_UNBINDABLE, MS_PRIVATE, MS_SLAVE, MS_SHARED: propagation changes.
const MS_PROPAGATION: u64 = (1 << 17) | (1 << 18) | (1 << 19) | (1 << 20);
const MS_MGC_MSK: u64 = 0xffff_0000;
const MS_MGC_VAL: u64 = 0xc0ed_0000;

/// A string argument of mount(2) that may be NULL.
fn opt_str(k: &mut Kernel, addr: u64) -> KResult<Option<Vec<u8>>> {
    if addr == 0 {
        return Ok(None);
    }
    path_arg(k, addr).map(Some)
}

/// mount(source, target, fstype, flags, data): new tmpfs and proc
/// instances, MS_BIND, MS_REMOUNT (read-only or not); propagation changes
/// are accepted and change nothing (there is one mount namespace).
pub fn mount(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let mut flags = a[3];
    if flags & MS_MGC_MSK == MS_MGC_VAL {
        flags &= !MS_MGC_MSK;
    }
    let source = opt_str(k, a[0])?;
    let fstype = opt_str(k, a[2])?;
    let target = path_arg(k, a[1])?;
    let at = lookup_at(k, AT_FDCWD, &target, true, false)?;
    if !k.cred().privileged() {
        return Err(Errno::EPERM);
    }
    let readonly = flags & MS_RDONLY != 0;
    if flags & MS_REMOUNT != 0 {
        if !k.vfs.is_mount_root(&at) {
            return Err(Errno::EINVAL);
        }
        k.vfs.remount(&at, readonly);
        return Ok(0);
    }
    if flags & MS_BIND != 0 {
        let source = source.ok_or(Errno::EFAULT)?;
        let src = lookup_at(k, AT_FDCWD, &source, true, false)?;
        if src.is_dir() != at.is_dir() {
            return Err(if at.is_dir() {
                Errno::ENOTDIR
            } else {
                Errno::EISDIR
            });
        }
        if !src.is_dir() {
            // Binding a single file would need a mount on a file.
            return Err(Errno::EINVAL);
        }
        k.vfs.bind(&src, &at, readonly);
        return Ok(0);
    }
    if flags & MS_PROPAGATION != 0 {
        return Ok(0);
    }
    if flags & MS_MOVE != 0 {
        return Err(Errno::EINVAL);
    }
    let fstype = match fstype.as_deref() {
        Some(b"tmpfs") => FsType::Tmpfs,
        Some(b"proc") => FsType::Proc,
        Some(_) => return Err(Errno::ENODEV),
        None => return Err(Errno::EINVAL),
    };
    if !at.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    let source = source.unwrap_or_else(|| b"none".to_vec());
    k.vfs.mount_new(&at, fstype, &source, readonly);
    Ok(0)
}

const MNT_FORCE: u64 = 1;
const MNT_DETACH: u64 = 2;
const MNT_EXPIRE: u64 = 4;
const UMOUNT_NOFOLLOW: u64 = 8;

/// Whether anything still uses mount `mnt`: a cwd or root, an open file,
/// or a mount inside it (umount's EBUSY).
fn mount_busy(k: &Kernel, mnt: usize) -> bool {
    if k.vfs.has_submounts(mnt) {
        return true;
    }
    k.tasks().any(|t| {
        let fs = t.fs.borrow();
        if fs.cwd.mnt == mnt || fs.root.mnt == mnt {
            return true;
        }
        let files = t.files.borrow();
        (0..crate::task::files::NR_OPEN as u64).any(|fd| {
            files
                .get(fd)
                .is_ok_and(|f| f.loc().is_some_and(|l| l.mnt == mnt))
        })
    })
}

/// umount2(target, flags). MNT_DETACH detaches even when busy; what is
/// open in it stays usable.
pub fn umount2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[1] & 0xffff_ffff;
    if flags & !(MNT_FORCE | MNT_DETACH | MNT_EXPIRE | UMOUNT_NOFOLLOW) != 0
        || flags & MNT_EXPIRE != 0 && flags & (MNT_FORCE | MNT_DETACH) != 0
    {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, a[0])?;
    let loc = lookup_at(k, AT_FDCWD, &path, flags & UMOUNT_NOFOLLOW == 0, false)?;
    if !k.cred().privileged() {
        return Err(Errno::EPERM);
    }
    if !k.vfs.is_mount_root(&loc) {
        return Err(Errno::EINVAL);
    }
    if loc.mnt == 0 || flags & MNT_DETACH == 0 && mount_busy(k, loc.mnt) {
        return Err(Errno::EBUSY);
    }
    k.vfs.umount(&loc)?;
    Ok(0)
}

/// chroot(path): the process's root (shared under CLONE_FS); the cwd
/// stays where it is, as in Linux.
pub fn chroot(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[0])?;
    let loc = lookup_at(k, AT_FDCWD, &path, true, false)?;
    if !loc.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(k, &loc, 1) {
        return Err(Errno::EACCES);
    }
    if !k.cred().privileged() {
        return Err(Errno::EPERM);
    }
    k.current().fs.borrow_mut().root = loc;
    Ok(0)
}
