//! Opening files: openat (the VFS's open: which inode, the checks Linux's
//! do_open makes, and the object `fs::open` makes for it), creating and
//! truncating files, and pipe2.

use super::super::{int, AT_FDCWD};
use super::fdtable::{fd_close, fd_install, file};
use super::namei::{fsinfo, lookup_at, now, path_arg, permitted, start_dir};
use crate::errno::{Errno, KResult};
use crate::fs::fifo::HostFifo;
use crate::fs::file::*;
use crate::fs::host::HostStream;
use crate::fs::open::{inode_file, reopen};
use crate::fs::pipe::PipeEnd;
use crate::fs::{Data, Loc, S_IFDIR, S_IFIFO, S_IFMT, S_IFREG};
use crate::task::Kernel;
use crate::wait::{PollKey, WaitReason};
use std::rc::Rc;

/// openat(dirfd, path, flags, mode).
pub fn openat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (dirfd, flags, mode) = (int(a[0]), a[2] as u32, a[3] as u32);
    let path = path_arg(k, a[1])?;
    if flags & O_TMPFILE == O_TMPFILE {
        return Err(Errno::EOPNOTSUPP);
    }
    let fs = fsinfo(k);
    crate::fs::proc::array::sync(k);
    let start = start_dir(k, dirfd, &path, false)?;
    let follow = flags & O_NOFOLLOW == 0;
    let path_only = flags & O_PATH != 0;
    let acc = flags & O_ACCMODE;
    let loc = if flags & O_CREAT != 0 && !path_only {
        let parent = k.vfs.walk_parent(&fs.root, &start, &path)?;
        let name = &parent.name[..];
        let existing = if name == b"." || name == b".." {
            Some(k.vfs.walk(&fs.root, &start, &path, true)?)
        } else {
            match k.vfs.lookup_crossed(&parent.dir, name) {
                Ok(l) => Some(l),
                Err(Errno::ENOENT) => None,
                Err(e) => return Err(e),
            }
        };
        match existing {
            Some(_) if flags & O_EXCL != 0 => return Err(Errno::EEXIST),
            Some(l) if l.inode.borrow().is_symlink() => {
                if !follow {
                    return Err(Errno::ELOOP);
                }
                match k.vfs.walk(&fs.root, &start, &path, true) {
                    // A dangling link: O_CREAT makes its target, as in Linux.
                    Err(Errno::ENOENT) => {
                        let target = k.vfs.readlink(&l)?;
                        let to = k.vfs.walk_parent(&fs.root, &parent.dir, &target)?;
                        if to.trailing_slash || k.vfs.lookup(&to.dir, &to.name).is_ok() {
                            return Err(Errno::ENOENT);
                        }
                        if !permitted(k, &to.dir, 3) {
                            return Err(Errno::EACCES);
                        }
                        let perm = mode & 0o7777 & !fs.umask;
                        create(
                            k,
                            &to.dir,
                            &to.name,
                            S_IFREG | perm,
                            Data::File(Default::default()),
                        )?
                    }
                    found => found?,
                }
            }
            Some(l) => {
                if l.is_dir() {
                    return Err(Errno::EISDIR);
                }
                if parent.trailing_slash {
                    return Err(Errno::ENOTDIR);
                }
                l
            }
            None => {
                if parent.trailing_slash {
                    return Err(Errno::EISDIR);
                }
                if !permitted(k, &parent.dir, 3) {
                    return Err(Errno::EACCES);
                }
                let perm = mode & 0o7777 & !fs.umask;
                create(
                    k,
                    &parent.dir,
                    name,
                    S_IFREG | perm,
                    Data::File(Default::default()),
                )?
            }
        }
    } else {
        k.vfs.walk(&fs.root, &start, &path, follow)?
    };
    let loc = crate::fs::proc::file::snapshot(k, loc, flags)?;
    let (is_dir, is_symlink, is_reg) = {
        let i = loc.inode.borrow();
        (i.is_dir(), i.is_symlink(), i.mode & S_IFMT == S_IFREG)
    };
    if is_symlink && !path_only {
        return Err(Errno::ELOOP);
    }
    if flags & O_DIRECTORY != 0 && !is_dir {
        return Err(Errno::ENOTDIR);
    }
    if let (false, Some(ops)) = (path_only, reopen(&loc, acc)) {
        let file = Rc::new(OpenFile::new(ops?, flags));
        return fd_install(k, file, flags & O_CLOEXEC != 0, 0);
    }
    if !path_only {
        if is_dir && (acc != O_RDONLY || flags & O_CREAT != 0) {
            return Err(Errno::EISDIR);
        }
        // O_TRUNC writes whatever the access mode (Linux's open adds
        // MAY_WRITE for it and truncates even an O_RDONLY open).
        let trunc = flags & O_TRUNC != 0 && is_reg;
        let writes = (acc != O_RDONLY && is_reg) || trunc;
        if writes && k.vfs.readonly(&loc) {
            return Err(Errno::EROFS);
        }
        let want = match acc {
            O_RDONLY => 4,
            O_WRONLY => 2,
            _ => 6,
        } | if trunc { 2 } else { 0 };
        if !permitted(k, &loc, want) {
            return Err(Errno::EACCES);
        }
        if writes {
            get_write_access(&loc)?;
        }
        if let Some(stream) = open_host_special(k, &loc, flags)? {
            let fifo = HostFifo { loc, stream };
            let file = Rc::new(OpenFile::new(Box::new(fifo), flags));
            return fd_install(k, file, flags & O_CLOEXEC != 0, 0);
        }
        if trunc {
            truncate_file(k, &loc, 0)?;
        }
    }
    let flags = if path_only {
        flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    } else {
        flags
    };
    let file = Rc::new(OpenFile::new(inode_file(&k.vfs, loc), flags));
    fd_install(k, file, flags & O_CLOEXEC != 0, 0)
}

/// Opening a device node, FIFO or socket of a host mount: a device is
/// EACCES (host mounts are nodev); a FIFO is opened on the host at once,
/// non-blocking, so that the kernel never waits on it. A writer that
/// finds no reader gets ENXIO with O_NONBLOCK, else it waits for one as a
/// poller of the host streams. None for every other file.
fn open_host_special(k: &mut Kernel, loc: &Loc, flags: u32) -> KResult<Option<HostStream>> {
    let fifo = loc.inode.borrow().mode & S_IFMT == S_IFIFO;
    match HostStream::open_special(loc, flags & O_ACCMODE) {
        None => Ok(None),
        Some(Err(Errno::ENXIO)) if fifo && flags & O_NONBLOCK == 0 => {
            k.host_stream_opened();
            Err(k.block(WaitReason::Poll(vec![PollKey::Console]), None))
        }
        Some(Ok(stream)) => {
            if fifo {
                k.host_stream_opened();
            }
            Ok(Some(stream))
        }
        Some(Err(e)) => Err(e),
    }
}

/// Creates a tmpfs node owned by the caller.
pub(crate) fn create(k: &Kernel, dir: &Loc, name: &[u8], mode: u32, data: Data) -> KResult<Loc> {
    if name == b"." || name == b".." {
        return Err(Errno::EEXIST);
    }
    // A tmpfs inode costs host memory: it is charged to tmpfs's limits,
    // after the checks that come first on Linux.
    let charge = match &data {
        _ if dir.inode.borrow().is_host() => None,
        Data::Symlink(target) => Some(k.phys.cache.charge_tmpfs_inode(target.len())),
        _ => Some(k.phys.cache.charge_tmpfs_inode(0)),
    };
    let charge = match charge.transpose() {
        Err(e) if k.vfs.lookup(dir, name).is_err() => return Err(e),
        charge => charge.ok().flatten(),
    };
    let loc = k.vfs.create(dir, name, mode, data, now(k))?;
    let cred = k.cred();
    let mut i = loc.inode.borrow_mut();
    if i.is_host() {
        // The host file is the creator's where the host allows it; else
        // it shows the owner the host gave it.
        let owned = i.uid == cred.euid && i.gid == cred.egid;
        drop(i);
        if !owned {
            let _ = crate::fs::host::set_owner(&loc.inode, Some(cred.euid), Some(cred.egid));
        }
        return Ok(loc);
    }
    i.uid = cred.euid;
    i.gid = cred.egid;
    i.charge = charge;
    drop(i);
    Ok(loc)
}

pub(crate) fn truncate_file(k: &mut Kernel, loc: &Loc, len: u64) -> KResult<()> {
    if k.vfs.readonly(loc) {
        return Err(Errno::EROFS);
    }
    k.phys.reap();
    let t = now(k);
    loc.inode.borrow_mut().truncate(&mut k.phys, len, t)?;
    let id = loc.inode.borrow().id;
    k.truncate_pagecache(id, len);
    Ok(())
}

/// Linux's get_write_access: a program a process runs is kept from
/// writers (exe_file_deny_write_access). Exec of a file open for writing
/// is allowed, as since Linux 6.11.
fn get_write_access(loc: &Loc) -> KResult<()> {
    if loc.inode.borrow().running > 0 {
        return Err(Errno::ETXTBSY);
    }
    Ok(())
}

/// truncate(path, length), in do_sys_truncate's order of checks.
pub fn truncate(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let path = path_arg(k, a[0])?;
    crate::fs::proc::array::sync(k);
    let loc = lookup_at(k, AT_FDCWD, &path, true, false)?;
    let mode = loc.inode.borrow().mode & S_IFMT;
    if mode == S_IFDIR {
        return Err(Errno::EISDIR);
    }
    if mode != S_IFREG {
        return Err(Errno::EINVAL);
    }
    if k.vfs.readonly(&loc) {
        return Err(Errno::EROFS);
    }
    if !permitted(k, &loc, 2) {
        return Err(Errno::EACCES);
    }
    get_write_access(&loc)?;
    truncate_file(k, &loc, a[1])?;
    Ok(0)
}

pub fn ftruncate(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    if (a[1] as i64) < 0 {
        return Err(Errno::EINVAL);
    }
    let f = file(k, a[0])?;
    match f.loc() {
        Some(loc) if f.writable() => truncate_file(k, loc, a[1])?,
        Some(_) if f.flags.get() & O_PATH == 0 => return Err(Errno::EINVAL),
        Some(_) => return Err(Errno::EBADF),
        None => return Err(Errno::EINVAL),
    }
    Ok(0)
}

pub fn pipe2(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[1] as u32;
    if flags & !(O_CLOEXEC | O_NONBLOCK | 0o40000) != 0 {
        return Err(Errno::EINVAL);
    }
    k.check_user_writable(a[0], 8)?;
    let id = k.vfs.new_id();
    let cred = k.cred();
    let (r, w) = PipeEnd::pair(id, &k.vfs.pipe_users, cred.uid, cred.euid == 0);
    let status = flags & O_NONBLOCK;
    let cloexec = flags & O_CLOEXEC != 0;
    let rfd = fd_install(
        k,
        Rc::new(OpenFile::new(Box::new(r), O_RDONLY | status)),
        cloexec,
        0,
    )?;
    let w = Rc::new(OpenFile::new(Box::new(w), O_WRONLY | status));
    let wfd = fd_install(k, w, cloexec, 0).inspect_err(|_| {
        let _ = fd_close(k, rfd);
    })?;
    let mut b = [0; 8];
    b[..4].copy_from_slice(&(rfd as u32).to_le_bytes());
    b[4..].copy_from_slice(&(wfd as u32).to_le_bytes());
    k.copy_to_user(a[0], &b)?;
    Ok(0)
}
