//! Host directories mounted into the guest, read-only or writable.
//!
//! A [`HostNode`] is one host file below the mount's host directory, named
//! by its path relative to that directory. Every host operation starts from
//! the mount's directory fd and resolves with openat2's RESOLVE_BENEATH and
//! RESOLVE_NO_SYMLINKS, then acts on the last component with the *at calls
//! and AT_SYMLINK_NOFOLLOW: the host never follows a symlink and never
//! leaves the directory, even if something renames or replaces a directory
//! behind the guest's back. The VFS answers "." and ".." and resolves a
//! symlink's target in the guest's view. So nothing outside the mounted
//! directory can be reached, or created, from the guest.

use super::{Data, Inode, InodeRef, Vfs, S_IFDIR, S_IFLNK, S_IFMT, S_IFREG};
use crate::errno::{Errno, KResult};
use rustix::fd::OwnedFd;
use rustix::fs::{AtFlags, Mode, OFlags, ResolveFlags};
use std::collections::BTreeMap;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::rc::Rc;
use std::time::Duration;

/// The host directory a mount shows.
pub struct HostRoot {
    /// Open with O_PATH: every lookup starts here.
    dir: OwnedFd,
    /// Its host path, for /proc/mounts and messages.
    pub path: PathBuf,
    /// Nothing below it may be changed, whichever mount it is reached
    /// through (a read-only host file linked into a tmpfs directory).
    pub readonly: bool,
}

pub struct HostNode {
    root: Rc<HostRoot>,
    /// The path below the root ("" for the root itself).
    rel: PathBuf,
    pub size: u64,
    /// Looked-up children, so that an entry keeps its identity.
    children: BTreeMap<Vec<u8>, InodeRef>,
}

impl HostNode {
    pub fn readonly(&self) -> bool {
        self.root.readonly
    }
}

fn time(secs: i64, nsec: i64) -> Duration {
    Duration::new(secs.max(0) as u64, nsec.clamp(0, 999_999_999) as u32)
}

fn os(name: &[u8]) -> &std::ffi::OsStr {
    use std::os::unix::ffi::OsStrExt;
    std::ffi::OsStr::from_bytes(name)
}

const RESOLVE: ResolveFlags = ResolveFlags::BENEATH
    .union(ResolveFlags::NO_SYMLINKS)
    .union(ResolveFlags::NO_MAGICLINKS);

impl HostRoot {
    /// Opens `rel` (a directory path below the root, "" for the root).
    fn open(&self, rel: &Path, flags: OFlags, mode: Mode) -> KResult<OwnedFd> {
        let flags = flags | OFlags::CLOEXEC;
        // The root itself is what the user named (it may be a file).
        let result = if rel.as_os_str().is_empty() {
            rustix::fs::open(&self.path, flags, mode)
        } else {
            rustix::fs::openat2(&self.dir, rel, flags, mode, RESOLVE)
        };
        result.map_err(Errno::from)
    }
}

/// The inode for host file `rel` below `root`, from an lstat of it.
fn inode_for(vfs: &Vfs, root: &Rc<HostRoot>, rel: PathBuf) -> KResult<InodeRef> {
    let st = match (rel.parent(), rel.file_name()) {
        (Some(parent), Some(name)) => {
            let dir = root.open(parent, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
            rustix::fs::statat(&dir, name, AtFlags::SYMLINK_NOFOLLOW).map_err(Errno::from)?
        }
        _ => rustix::fs::fstat(&root.dir).map_err(Errno::from)?,
    };
    #[allow(clippy::unnecessary_cast)]
    let inode = vfs.new_inode(
        st.st_mode as u32,
        Data::Host(HostNode {
            root: root.clone(),
            rel,
            size: st.st_size as u64,
            children: BTreeMap::new(),
        }),
        Duration::ZERO,
    );
    #[allow(clippy::unnecessary_cast)]
    {
        let mut i = inode.borrow_mut();
        i.dev = st.st_dev as u64;
        i.ino = st.st_ino as u64;
        i.nlink = st.st_nlink as u32;
        i.uid = st.st_uid;
        i.gid = st.st_gid;
        i.atime = time(st.st_atime as i64, st.st_atime_nsec as i64);
        i.mtime = time(st.st_mtime as i64, st.st_mtime_nsec as i64);
        i.ctime = time(st.st_ctime as i64, st.st_ctime_nsec as i64);
    }
    Ok(inode)
}

/// The root inode of a mount of host directory `path`, or of the single
/// host file `path` (a top-level file of `--root`).
pub fn root_inode(vfs: &Vfs, path: PathBuf, readonly: bool) -> KResult<InodeRef> {
    let dir = rustix::fs::open(&path, OFlags::PATH | OFlags::CLOEXEC, Mode::empty())
        .map_err(Errno::from)?;
    let root = Rc::new(HostRoot {
        dir,
        path,
        readonly,
    });
    inode_for(vfs, &root, PathBuf::new())
}

fn node(dir: &InodeRef) -> KResult<(Rc<HostRoot>, PathBuf)> {
    match &dir.borrow().data {
        Data::Host(h) => Ok((h.root.clone(), h.rel.clone())),
        _ => Err(Errno::ENOTDIR),
    }
}

/// Entry `name` of host directory `dir`.
pub fn lookup(vfs: &Vfs, dir: &InodeRef, name: &[u8]) -> KResult<InodeRef> {
    let (root, rel) = {
        let d = dir.borrow();
        let Data::Host(h) = &d.data else {
            return Err(Errno::ENOTDIR);
        };
        if let Some(child) = h.children.get(name) {
            return Ok(child.clone());
        }
        (h.root.clone(), h.rel.join(os(name)))
    };
    let child = inode_for(vfs, &root, rel)?;
    {
        let mut c = child.borrow_mut();
        c.parent = Rc::downgrade(dir);
        c.name = name.to_vec();
    }
    if let Data::Host(h) = &mut dir.borrow_mut().data {
        h.children.insert(name.to_vec(), child.clone());
    }
    Ok(child)
}

/// Forgets `name` in `dir`'s cache, after it was removed or renamed.
fn forget(dir: &InodeRef, name: &[u8]) {
    if let Data::Host(h) = &mut dir.borrow_mut().data {
        h.children.remove(name);
    }
}

/// Creates `name` in writable host directory `dir`: a regular file, a
/// directory or a symlink (what `data` is), with `mode`'s permissions.
pub fn create(vfs: &Vfs, dir: &InodeRef, name: &[u8], mode: u32, data: &Data) -> KResult<InodeRef> {
    let (root, rel) = node(dir)?;
    let parent = root.open(&rel, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    let perm = Mode::from_bits_truncate(mode & 0o7777);
    match (mode & S_IFMT, data) {
        (S_IFREG, _) => {
            let how = OFlags::CREATE | OFlags::EXCL | OFlags::WRONLY | OFlags::NOFOLLOW;
            rustix::fs::openat(&parent, os(name), how | OFlags::CLOEXEC, perm)
                .map_err(Errno::from)?;
        }
        (S_IFDIR, _) => rustix::fs::mkdirat(&parent, os(name), perm).map_err(Errno::from)?,
        (S_IFLNK, Data::Symlink(target)) => {
            rustix::fs::symlinkat(os(target), &parent, os(name)).map_err(Errno::from)?
        }
        // Device nodes and fifos are not made on the host's behalf.
        _ => return Err(Errno::EPERM),
    }
    forget(dir, name);
    lookup(vfs, dir, name)
}

/// Removes `name` (a directory with `rmdir`) from host directory `dir`.
pub fn unlink(dir: &InodeRef, name: &[u8], rmdir: bool) -> KResult<()> {
    let (root, rel) = node(dir)?;
    let parent = root.open(&rel, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    let flags = if rmdir {
        AtFlags::REMOVEDIR
    } else {
        AtFlags::empty()
    };
    rustix::fs::unlinkat(&parent, os(name), flags).map_err(Errno::from)?;
    forget(dir, name);
    Ok(())
}

/// Renames `from/old` to `to/new`, both in the same host mount.
pub fn rename_host(from: &InodeRef, old: &[u8], to: &InodeRef, new: &[u8]) -> KResult<()> {
    let (root, a) = node(from)?;
    let (_, b) = node(to)?;
    let src = root.open(&a, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    let dst = root.open(&b, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    rustix::fs::renameat(&src, os(old), &dst, os(new)).map_err(Errno::from)?;
    forget(from, old);
    forget(to, new);
    Ok(())
}

/// A hard link `to/new` for `from/old`, in the same host mount.
pub fn link(from: &InodeRef, old: &[u8], to: &InodeRef, new: &[u8]) -> KResult<()> {
    let (root, a) = node(from)?;
    let (_, b) = node(to)?;
    let src = root.open(&a, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    let dst = root.open(&b, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
    rustix::fs::linkat(&src, os(old), &dst, os(new), AtFlags::empty()).map_err(Errno::from)?;
    forget(to, new);
    Ok(())
}

impl HostNode {
    /// The host path (for statfs and messages; never opened by path).
    pub fn host_path(&self) -> PathBuf {
        self.root.path.join(&self.rel)
    }

    /// The file open for reading (the page cache keeps it).
    pub fn open_read(&self) -> KResult<std::fs::File> {
        self.file(OFlags::RDONLY)
    }

    /// The file open for reading and writing (the page cache keeps it to
    /// write mapped pages back).
    pub fn open_write(&self) -> KResult<std::fs::File> {
        self.file(OFlags::RDWR)
    }

    fn file(&self, flags: OFlags) -> KResult<std::fs::File> {
        let fd = self
            .root
            .open(&self.rel, flags | OFlags::NOFOLLOW, Mode::empty())?;
        Ok(std::fs::File::from(fd))
    }

    pub fn readlink(&self) -> KResult<Vec<u8>> {
        let (Some(parent), Some(name)) = (self.rel.parent(), self.rel.file_name()) else {
            return Err(Errno::EINVAL);
        };
        let dir = self
            .root
            .open(parent, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())?;
        rustix::fs::readlinkat(&dir, name, Vec::new())
            .map(|t| t.into_bytes())
            .map_err(Errno::from)
    }

    /// One pread on the host file.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> KResult<usize> {
        self.file(OFlags::RDONLY)?
            .read_at(buf, offset)
            .map_err(|e| Errno::from(&e))
    }

    /// One pwrite (the mount is writable: the open checked).
    pub fn write_at(&mut self, offset: u64, data: &[u8]) -> KResult<usize> {
        let n = self
            .file(OFlags::WRONLY)?
            .write_at(data, offset)
            .map_err(|e| Errno::from(&e))?;
        self.size = self.size.max(offset + n as u64);
        Ok(n)
    }

    /// fsync (`data_only`: fdatasync) of the host file.
    pub fn sync(&self, data_only: bool) -> KResult<()> {
        let file = self.file(OFlags::RDONLY)?;
        let synced = if data_only {
            file.sync_data()
        } else {
            file.sync_all()
        };
        synced.map_err(|e| Errno::from(&e))
    }

    pub fn truncate(&mut self, len: u64) -> KResult<()> {
        self.file(OFlags::WRONLY)?
            .set_len(len)
            .map_err(|e| Errno::from(&e))?;
        self.size = len;
        Ok(())
    }

    /// The whole file (exec).
    pub fn read_all(&self) -> KResult<Vec<u8>> {
        use std::io::Read;
        let mut out = Vec::new();
        self.file(OFlags::RDONLY)?
            .read_to_end(&mut out)
            .map_err(|e| Errno::from(&e))?;
        Ok(out)
    }

    /// Entries (without "." and ".."), sorted by name.
    pub fn entries(&self) -> KResult<Vec<(Vec<u8>, u64, u8)>> {
        let fd = self
            .root
            .open(&self.rel, OFlags::RDONLY | OFlags::DIRECTORY, Mode::empty())?;
        let dir = rustix::fs::Dir::read_from(&fd).map_err(Errno::from)?;
        let mut out = Vec::new();
        for e in dir {
            let e = e.map_err(Errno::from)?;
            let name = e.file_name().to_bytes();
            if name == b"." || name == b".." {
                continue;
            }
            use rustix::fs::FileType;
            let dtype = match e.file_type() {
                FileType::Directory => 4,
                FileType::Symlink => 10,
                FileType::RegularFile => 8,
                FileType::CharacterDevice => 2,
                FileType::BlockDevice => 6,
                FileType::Fifo => 1,
                FileType::Socket => 12,
                FileType::Unknown => 0,
            };
            out.push((name.to_vec(), e.ino(), dtype));
        }
        out.sort();
        Ok(out)
    }

    /// The host's statfs of the file system this file is on.
    pub fn statfs(&self) -> KResult<rustix::fs::StatFs> {
        rustix::fs::fstatfs(&self.root.dir).map_err(Errno::from)
    }
}

/// Whether the host would let this user access the file with `mode` bits
/// (R_OK 4, W_OK 2, X_OK 1).
pub fn host_access(inode: &Inode, bits: u32) -> bool {
    let Data::Host(h) = &inode.data else {
        return true;
    };
    let flags = rustix::fs::Access::from_bits_truncate(bits);
    match (h.rel.parent(), h.rel.file_name()) {
        (Some(parent), Some(name)) => h
            .root
            .open(parent, OFlags::PATH | OFlags::DIRECTORY, Mode::empty())
            .is_ok_and(|dir| {
                rustix::fs::accessat(&dir, name, flags, AtFlags::SYMLINK_NOFOLLOW).is_ok()
            }),
        _ => rustix::fs::access(&h.root.path, flags).is_ok(),
    }
}
