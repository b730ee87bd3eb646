//! A procfs file open: a copy of what it says at open time (seq_file makes
//! it at the first read; the difference does not show), read like a tmpfs
//! file. Writes fail as Linux's to a file without a write method.

use super::array::generate;
use crate::errno::{Errno, KResult};
use crate::fs::file::OpenFile;
use crate::fs::file::{fionread, generic_llseek, FileOps, Io, OpResult, FIONREAD};
use crate::fs::file::{O_ACCMODE, O_PATH, O_RDONLY, O_TRUNC};
use crate::fs::pagecache::TmpFile;
use crate::fs::tmpfs::TmpfsFile;
use crate::fs::{Data, FsType, Loc};
use crate::mm::{FilePages, Phys};
use crate::task::Kernel;
use std::any::Any;
use std::cell::Cell;
use std::time::Duration;

pub struct ProcFile(pub TmpfsFile);

impl FileOps for ProcFile {
    fn name(&self) -> String {
        self.0.name()
    }

    fn read_iter(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        self.0.read_at(io, len)
    }

    fn write_iter(&self, _io: &mut Io, _data: &[u8]) -> OpResult<usize> {
        Err(Errno::EINVAL.into())
    }

    /// A seq_file: SEEK_END (2) is EINVAL (its size is not known before it
    /// is read).
    fn seek(&self, pos: &Cell<u64>, offset: i64, whence: i32) -> KResult<u64> {
        if whence == 2 {
            return Err(Errno::EINVAL);
        }
        let size = self.0.loc.inode.borrow().size();
        generic_llseek(pos, size, offset, whence)
    }

    /// Its inode's size is 0, as Linux's procfs files say: FIONREAD
    /// finds nothing ahead.
    fn ioctl(&self, io: &mut Io, cmd: u32, arg: u64) -> OpResult<u64> {
        match cmd {
            FIONREAD => fionread(io, arg, 0),
            _ => Err(Errno::ENOTTY.into()),
        }
    }

    /// A seq_file has no mmap: ENODEV.
    fn mmap(&self, _phys: &mut Phys, _name: &[u8]) -> KResult<FilePages> {
        Ok(FilePages::None)
    }

    fn loc(&self) -> Option<&Loc> {
        Some(&self.0.loc)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}

/// What opening `loc` opens: for a procfs file (not O_PATH), a copy of
/// its content now, in an inode that looks like it; anything else is
/// itself.
pub fn snapshot(k: &mut Kernel, loc: Loc, flags: u32) -> KResult<Loc> {
    let kind = match &loc.inode.borrow().data {
        Data::Proc(p) if matches!(p.kind, super::Kind::File { .. }) => Some(p.kind),
        _ => None,
    };
    let Some(kind) = kind else {
        return Ok(loc);
    };
    // pagemap is read where it is read (`read_live`): whole, it would be
    // 512 MiB.
    let live = matches!(
        kind,
        super::Kind::File {
            file: super::File::Pagemap,
            ..
        }
    );
    if flags & O_PATH != 0 || live {
        return Ok(loc);
    }
    let setting = super::sys::may_open(k, kind, flags & O_ACCMODE)?;
    if flags & O_TRUNC != 0 && flags & O_ACCMODE != O_RDONLY && !setting {
        return Err(Errno::EPERM);
    }
    let text = generate(k, kind)?;
    let copy = {
        let i = loc.inode.borrow();
        let copy = k
            .vfs
            .new_inode(i.mode, Data::File(TmpFile::new(text)), Duration::ZERO);
        let mut c = copy.borrow_mut();
        c.dev = i.dev;
        c.ino = i.ino;
        c.uid = i.uid;
        c.gid = i.gid;
        c.parent = i.parent.clone();
        c.name = i.name.clone();
        drop(c);
        copy
    };
    Ok(Loc {
        mnt: loc.mnt,
        inode: copy,
    })
}

/// A read of a procfs file that is made when it is read (pagemap), with
/// the task table at hand; None for every other file.
pub fn read_live(
    k: &mut Kernel,
    f: &OpenFile,
    offset: u64,
    len: usize,
) -> Option<KResult<Vec<u8>>> {
    let loc = f.ops().loc()?.clone();
    super::array::read_live(k, &loc, offset, len)
}

/// A write to a procfs file: a kernel setting of /proc/sys changes (procfs
/// sits above the task table); None for a file of any other filesystem.
pub fn write(k: &mut Kernel, f: &OpenFile, data: &[u8]) -> Option<KResult<usize>> {
    let loc = f.ops().loc()?.clone();
    (k.vfs.fs_of(&loc) == FsType::Proc).then(|| super::sys::write(k, &loc, data))
}
