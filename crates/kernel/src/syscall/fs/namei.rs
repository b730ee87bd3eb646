//! Paths: the arguments that name them, where they start (dirfd), their
//! resolution and the permission checks on what they find (Linux's
//! namei.c), and the calls that change the tree: mkdir, unlink, rename,
//! link, symlink; chdir.
//!
//! The tree's own operations are the VFS's (`crate::fs`); what is left
//! here that looks at an inode's data (a tmpfs directory's entries, a host
//! file's) decides between tmpfs and a host mount, as Linux's inode
//! operations would.

use super::super::{int, AT_FDCWD};
use super::fdtable::file;
use super::open::create;
use crate::errno::{Errno, KResult};
use crate::fs::{Data, Device, Loc, S_IFBLK, S_IFCHR, S_IFDIR, S_IFIFO, S_IFLNK};
use crate::fs::{Parent, S_IFMT, S_IFREG, S_IFSOCK};
use crate::task::{FsInfo, Kernel};
use std::collections::BTreeMap;
use std::rc::Rc;
use std::time::Duration;

const PATH_MAX: usize = 4096;

pub(super) const AT_SYMLINK_NOFOLLOW: u64 = 0x100;
pub(super) const AT_REMOVEDIR: u64 = 0x200;
pub(super) const AT_SYMLINK_FOLLOW: u64 = 0x400;
pub(super) const AT_NO_AUTOMOUNT: u64 = 0x800;
pub(super) const AT_EMPTY_PATH: u64 = 0x1000;
pub(super) const AT_EACCESS: u64 = 0x200;
pub(super) const RENAME_NOREPLACE: u64 = 1;

pub(super) fn now(k: &Kernel) -> Duration {
    k.clock.realtime(&k.hart)
}

pub(super) fn fsinfo(k: &Kernel) -> FsInfo {
    k.current().fs.borrow().clone()
}

pub(super) fn path_arg(k: &mut Kernel, addr: u64) -> KResult<Vec<u8>> {
    k.read_user_cstr(addr, PATH_MAX - 1)
}

/// Where a path given with `dirfd` starts: the cwd (AT_FDCWD or an
/// absolute path) or the directory open on `dirfd`; with `empty` and an
/// empty path, the file open on `dirfd` itself (AT_EMPTY_PATH).
pub fn start_dir(k: &Kernel, dirfd: i32, path: &[u8], empty: bool) -> KResult<Loc> {
    if (path.first() == Some(&b'/')) || dirfd == AT_FDCWD {
        if path.is_empty() && !empty {
            return Err(Errno::ENOENT);
        }
        return Ok(fsinfo(k).cwd);
    }
    let f = file(k, dirfd as u32 as u64)?;
    let Some(loc) = f.loc() else {
        return Err(if path.is_empty() {
            Errno::EACCES
        } else {
            Errno::ENOTDIR
        });
    };
    if path.is_empty() {
        if !empty {
            return Err(Errno::ENOENT);
        }
        return Ok(loc.clone());
    }
    if !loc.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    Ok(loc.clone())
}

/// Resolves `path` relative to `dirfd`.
pub(crate) fn lookup_at(
    k: &Kernel,
    dirfd: i32,
    path: &[u8],
    follow: bool,
    empty: bool,
) -> KResult<Loc> {
    crate::fs::proc::array::sync(k);
    let start = start_dir(k, dirfd, path, empty)?;
    if path.is_empty() {
        return Ok(start);
    }
    let fs = fsinfo(k);
    k.vfs.walk(&fs.root, &start, path, follow)
}

/// The parent directory and last name of `path` relative to `dirfd`.
pub(crate) fn parent_at(k: &Kernel, dirfd: i32, path: &[u8]) -> KResult<crate::fs::Parent> {
    crate::fs::proc::array::sync(k);
    let start = start_dir(k, dirfd, path, false)?;
    let fs = fsinfo(k);
    k.vfs.walk_parent(&fs.root, &start, path)
}

/// Whether the current credentials grant `bits` (4 r, 2 w, 1 x) on `loc`.
pub(crate) fn permitted(k: &Kernel, loc: &Loc, bits: u32) -> bool {
    let i = loc.inode.borrow();
    if i.is_host() {
        return crate::fs::host_access(&i, bits);
    }
    k.cred().permits(&i, bits)
}

/// Where a name the caller makes (a directory, a node) goes: path `path`
/// at `dirfd`, a name not taken, in a directory the caller may write and
/// search.
fn new_name_at(k: &mut Kernel, dirfd: u64, path: u64) -> KResult<Parent> {
    let path = path_arg(k, path)?;
    let parent = parent_at(k, int(dirfd), &path)?;
    if parent.name == b"."
        || parent.name == b".."
        || k.vfs.lookup(&parent.dir, &parent.name).is_ok()
    {
        return Err(Errno::EEXIST);
    }
    if !permitted(k, &parent.dir, 3) {
        return Err(Errno::EACCES);
    }
    Ok(parent)
}

pub fn mkdirat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let parent = new_name_at(k, a[0], a[1])?;
    let umask = fsinfo(k).umask;
    let mode = S_IFDIR | (a[2] as u32 & 0o7777 & !umask);
    create(
        k,
        &parent.dir,
        &parent.name,
        mode,
        Data::Dir(BTreeMap::new()),
    )?;
    Ok(0)
}

/// mknodat(dirfd, path, mode, dev) in Linux's order of checks: the type
/// (a directory is EPERM, an unknown type EINVAL), the path, EEXIST, the
/// directory's permission, then CAP_MKNOD (root) for a device node. A
/// FIFO is a pipe its opens share (a real FIFO on a host mount); a device
/// node is one of the devices cleave has (`fs::Device`), chosen by its
/// number. Sockets, block devices and numbers of other devices are
/// EPERM: cleave has no inode for them.
pub fn mknodat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (mode, dev) = (a[2] as u32, a[3] as u32);
    let kind = match mode & S_IFMT {
        0 => S_IFREG,
        S_IFDIR => return Err(Errno::EPERM),
        t @ (S_IFREG | S_IFCHR | S_IFBLK | S_IFIFO | S_IFSOCK) => t,
        _ => return Err(Errno::EINVAL),
    };
    let parent = new_name_at(k, a[0], a[1])?;
    let device = matches!(kind, S_IFCHR | S_IFBLK);
    if device && k.cred().euid != 0 {
        return Err(Errno::EPERM);
    }
    let data = match kind {
        S_IFREG => Data::File(Default::default()),
        S_IFIFO => Data::Fifo(Default::default()),
        S_IFCHR => match Device::ALL.into_iter().find(|d| d.rdev() == u64::from(dev)) {
            Some(d) => Data::Device(d),
            None => return Err(Errno::EPERM),
        },
        _ => return Err(Errno::EPERM),
    };
    let umask = fsinfo(k).umask;
    create(
        k,
        &parent.dir,
        &parent.name,
        kind | (mode & 0o7777 & !umask),
        data,
    )?;
    Ok(0)
}

pub fn unlinkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[2] & 0xffff_ffff;
    if flags & !AT_REMOVEDIR != 0 {
        return Err(Errno::EINVAL);
    }
    let rmdir = flags & AT_REMOVEDIR != 0;
    let path = path_arg(k, a[1])?;
    let parent = parent_at(k, int(a[0]), &path)?;
    match &parent.name[..] {
        b"." => return Err(if rmdir { Errno::EINVAL } else { Errno::EISDIR }),
        b".." => {
            return Err(if rmdir {
                Errno::ENOTEMPTY
            } else {
                Errno::EISDIR
            })
        }
        _ => {}
    }
    let victim = k.vfs.lookup(&parent.dir, &parent.name)?;
    let (is_dir, empty) = {
        let i = victim.inode.borrow();
        (i.is_dir(), i.is_empty_dir()?)
    };
    if rmdir {
        if !is_dir {
            return Err(Errno::ENOTDIR);
        }
        if k.vfs
            .lookup_crossed(&parent.dir, &parent.name)
            .is_ok_and(|l| l.mnt != victim.mnt)
        {
            return Err(Errno::EBUSY);
        }
        if !empty {
            return Err(if k.vfs.readonly(&victim) {
                Errno::EROFS
            } else {
                Errno::ENOTEMPTY
            });
        }
    } else if is_dir {
        return Err(Errno::EISDIR);
    } else if parent.trailing_slash {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(k, &parent.dir, 3) {
        return Err(Errno::EACCES);
    }
    remove_entry(k, &parent.dir, &parent.name)?;
    Ok(0)
}

/// Removes entry `name` of `dir`; an extra hard link gives its charge
/// back.
fn remove_entry(k: &Kernel, dir: &Loc, name: &[u8]) -> KResult<()> {
    let inode = k.vfs.unlink_entry(dir, name, now(k))?;
    if let Some(charge) = &inode.borrow().charge {
        charge.unlink();
    }
    Ok(())
}

pub fn renameat2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[4] & 0xffff_ffff;
    if flags & !RENAME_NOREPLACE != 0 {
        return Err(Errno::EINVAL);
    }
    let old = path_arg(k, a[1])?;
    let new = path_arg(k, a[3])?;
    let from = parent_at(k, int(a[0]), &old)?;
    let to = parent_at(k, int(a[2]), &new)?;
    for n in [&from.name, &to.name] {
        if n == b"." || n == b".." {
            return Err(Errno::EBUSY);
        }
    }
    let src = k.vfs.lookup(&from.dir, &from.name)?;
    if src.mnt != to.dir.mnt {
        return Err(Errno::EXDEV);
    }
    let src_dir = src.is_dir();
    if (from.trailing_slash || to.trailing_slash) && !src_dir {
        return Err(Errno::ENOTDIR);
    }
    if src_dir {
        // No directory moves into itself.
        let root = fsinfo(k).root;
        let mut cur = to.dir.clone();
        loop {
            if Rc::ptr_eq(&cur.inode, &src.inode) {
                return Err(Errno::EINVAL);
            }
            let up = k.vfs.parent(&root, &cur);
            if up.same(&cur) {
                break;
            }
            cur = up;
        }
    }
    if src.inode.borrow().is_host() {
        // The host's rename(2) has the same rules; it checks them itself.
        if flags & RENAME_NOREPLACE != 0 && k.vfs.lookup(&to.dir, &to.name).is_ok() {
            return Err(Errno::EEXIST);
        }
        if k.vfs.readonly(&to.dir) {
            return Err(Errno::EROFS);
        }
        crate::fs::rename_host(&from.dir.inode, &from.name, &to.dir.inode, &to.name)?;
        return Ok(0);
    }
    if let Ok(dst) = k.vfs.lookup(&to.dir, &to.name) {
        if flags & RENAME_NOREPLACE != 0 {
            return Err(Errno::EEXIST);
        }
        if Rc::ptr_eq(&dst.inode, &src.inode) {
            return Ok(0);
        }
        let dst_empty = match &dst.inode.borrow().data {
            Data::Dir(e) => e.is_empty(),
            _ => true,
        };
        match (src_dir, dst.is_dir()) {
            (false, true) => return Err(Errno::EISDIR),
            (true, false) => return Err(Errno::ENOTDIR),
            (true, true) if !dst_empty => return Err(Errno::ENOTEMPTY),
            _ => {}
        }
        remove_entry(k, &to.dir, &to.name)?;
    }
    let t = now(k);
    let inode = k.vfs.unlink_entry(&from.dir, &from.name, t)?;
    {
        let mut i = inode.borrow_mut();
        i.nlink = if src_dir { 2 } else { i.nlink + 1 };
    }
    k.vfs.link(&to.dir, &to.name, &inode, t)?;
    Ok(0)
}

pub fn linkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[4] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let old = path_arg(k, a[1])?;
    let new = path_arg(k, a[3])?;
    let src = lookup_at(
        k,
        int(a[0]),
        &old,
        flags & AT_SYMLINK_FOLLOW != 0,
        flags & AT_EMPTY_PATH != 0,
    )?;
    let to = parent_at(k, int(a[2]), &new)?;
    if src.is_dir() {
        return Err(Errno::EPERM);
    }
    if to.name == b"." || to.name == b".." || k.vfs.lookup(&to.dir, &to.name).is_ok() {
        return Err(Errno::EEXIST);
    }
    if src.mnt != to.dir.mnt {
        return Err(Errno::EXDEV);
    }
    if to.trailing_slash {
        return Err(Errno::ENOENT);
    }
    let t = now(k);
    let tmpfs = !src.inode.borrow().is_host();
    if tmpfs {
        let mut i = src.inode.borrow_mut();
        let charge = i.charge.get_or_insert_with(|| k.phys.cache.tmpfs_links());
        charge.link()?;
    }
    if let Err(e) = k.vfs.link(&to.dir, &to.name, &src.inode, t) {
        if let Some(charge) = &src.inode.borrow().charge {
            charge.unlink();
        }
        return Err(e);
    }
    let mut i = src.inode.borrow_mut();
    i.nlink += 1;
    i.ctime = t;
    Ok(0)
}

pub fn symlinkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let target = path_arg(k, a[0])?;
    let path = path_arg(k, a[2])?;
    if target.is_empty() {
        return Err(Errno::ENOENT);
    }
    let parent = parent_at(k, int(a[1]), &path)?;
    if parent.trailing_slash && k.vfs.lookup(&parent.dir, &parent.name).is_err() {
        return Err(Errno::ENOENT);
    }
    create(
        k,
        &parent.dir,
        &parent.name,
        S_IFLNK | 0o777,
        Data::Symlink(target),
    )?;
    Ok(0)
}

pub fn chdir(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[0])?;
    let loc = lookup_at(k, AT_FDCWD, &path, true, false)?;
    set_cwd(k, loc)
}

pub fn fchdir(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let loc = f.loc().ok_or(Errno::ENOTDIR)?;
    set_cwd(k, loc.clone())
}

fn set_cwd(k: &mut Kernel, loc: Loc) -> KResult<u64> {
    if !loc.is_dir() {
        return Err(Errno::ENOTDIR);
    }
    if !permitted(k, &loc, 1) {
        return Err(Errno::EACCES);
    }
    k.current().fs.borrow_mut().cwd = loc;
    Ok(0)
}
