//! Host directories mounted into the guest, read-only.
//!
//! A [`HostNode`] is one host file below the mount's host root. Lookups
//! join a single component (never "." or "..", which the VFS answers) to
//! the directory's host path and `lstat` it; symlinks are never followed
//! by the host: the VFS reads their target and resolves it in the guest's
//! view. So nothing outside the mounted directory can be reached.

use super::{Data, Inode, InodeRef, Vfs, S_IFDIR, S_IFMT};
use crate::errno::{Errno, KResult};
use std::collections::BTreeMap;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::rc::Rc;
use std::time::Duration;

pub struct HostNode {
    /// The host path.
    pub path: PathBuf,
    pub size: u64,
    /// Looked-up children, so that an entry keeps its identity.
    children: BTreeMap<Vec<u8>, InodeRef>,
}

fn host_errno(e: &std::io::Error) -> Errno {
    Errno(e.raw_os_error().unwrap_or(Errno::EIO.0))
}

fn time(secs: i64, nsec: i64) -> Duration {
    Duration::new(secs.max(0) as u64, nsec.clamp(0, 999_999_999) as u32)
}

fn inode_for(vfs: &Vfs, path: PathBuf) -> KResult<InodeRef> {
    let meta = std::fs::symlink_metadata(&path).map_err(|e| host_errno(&e))?;
    let inode = vfs.new_inode(
        meta.mode(),
        Data::Host(HostNode {
            path,
            size: meta.size(),
            children: BTreeMap::new(),
        }),
        Duration::ZERO,
    );
    {
        let mut i = inode.borrow_mut();
        i.dev = meta.dev();
        i.ino = meta.ino();
        i.nlink = meta.nlink() as u32;
        i.uid = meta.uid();
        i.gid = meta.gid();
        i.atime = time(meta.atime(), meta.atime_nsec());
        i.mtime = time(meta.mtime(), meta.mtime_nsec());
        i.ctime = time(meta.ctime(), meta.ctime_nsec());
    }
    Ok(inode)
}

/// The root inode of a mount of host directory `path`.
pub fn root_inode(vfs: &Vfs, path: PathBuf) -> KResult<InodeRef> {
    let inode = inode_for(vfs, path)?;
    if inode.borrow().mode & S_IFMT != S_IFDIR {
        return Err(Errno::ENOTDIR);
    }
    Ok(inode)
}

/// Entry `name` of host directory `dir`.
pub fn lookup(vfs: &Vfs, dir: &InodeRef, name: &[u8]) -> KResult<InodeRef> {
    let path = {
        let d = dir.borrow();
        let Data::Host(h) = &d.data else {
            return Err(Errno::ENOTDIR);
        };
        if let Some(child) = h.children.get(name) {
            return Ok(child.clone());
        }
        h.path.join(std::ffi::OsStr::from_bytes_compat(name))
    };
    let child = inode_for(vfs, path)?;
    {
        let mut c = child.borrow_mut();
        if c.is_dir() {
            c.parent = Rc::downgrade(dir);
            c.name = name.to_vec();
        }
    }
    if let Data::Host(h) = &mut dir.borrow_mut().data {
        h.children.insert(name.to_vec(), child.clone());
    }
    Ok(child)
}

trait FromBytes {
    fn from_bytes_compat(b: &[u8]) -> &std::ffi::OsStr;
}

impl FromBytes for std::ffi::OsStr {
    fn from_bytes_compat(b: &[u8]) -> &std::ffi::OsStr {
        use std::os::unix::ffi::OsStrExt;
        std::ffi::OsStr::from_bytes(b)
    }
}

impl HostNode {
    pub fn readlink(&self) -> KResult<Vec<u8>> {
        std::fs::read_link(&self.path)
            .map(|t| t.into_os_string().into_encoded_bytes())
            .map_err(|e| host_errno(&e))
    }

    /// One pread on the host file.
    pub fn read_at(&self, offset: u64, buf: &mut [u8]) -> KResult<usize> {
        let f = std::fs::File::open(&self.path).map_err(|e| host_errno(&e))?;
        f.read_at(buf, offset).map_err(|e| host_errno(&e))
    }

    /// The whole file (exec).
    pub fn read_all(&self) -> KResult<Vec<u8>> {
        std::fs::read(&self.path).map_err(|e| host_errno(&e))
    }

    /// Entries (without "." and ".."), sorted by name.
    pub fn entries(&self) -> KResult<Vec<(Vec<u8>, u64, u8)>> {
        let mut out = Vec::new();
        for e in std::fs::read_dir(&self.path).map_err(|e| host_errno(&e))? {
            let e = e.map_err(|e| host_errno(&e))?;
            let dtype = match e.file_type() {
                Ok(t) if t.is_dir() => 4,
                Ok(t) if t.is_symlink() => 10,
                Ok(t) if t.is_file() => 8,
                _ => 0,
            };
            let ino = e.metadata().map(|m| m.ino()).unwrap_or(0);
            out.push((e.file_name().into_encoded_bytes(), ino, dtype));
        }
        out.sort();
        Ok(out)
    }
}

/// Whether the host would let this user access the file with `mode` bits
/// (R_OK 4, W_OK 2, X_OK 1).
pub fn host_access(inode: &Inode, bits: u32) -> bool {
    let Data::Host(h) = &inode.data else {
        return true;
    };
    let flags = rustix::fs::Access::from_bits_truncate(bits);
    rustix::fs::access(&h.path, flags).is_ok()
}
