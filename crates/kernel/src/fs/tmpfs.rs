//! A tmpfs regular file open (Linux's shmem_file_operations): its bytes
//! are the inode's [`TmpFile`](super::pagecache::TmpFile), frames of guest
//! RAM shared with every mapping of it.

use super::file::{inode_name, FileOps, Io, OpResult};
use super::pagecache::pages_of;
use super::{Data, Loc};
use crate::errno::{Errno, KResult};
use crate::mm::{FilePages, Phys};
use std::any::Any;

/// Linux's MAX_LFS_FILESIZE on 64-bit: the largest file offset.
pub const MAX_LFS_FILESIZE: u64 = i64::MAX as u64;

pub struct TmpfsFile {
    pub loc: Loc,
}

impl TmpfsFile {
    /// read(2) at `io.pos`: what lies before the end, a hole as zeros.
    pub fn read_at(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        io.phys.reap();
        let mut i = self.loc.inode.borrow_mut();
        let Data::File(t) = &i.data else {
            return Err(Errno::EINVAL.into());
        };
        let offset = io.pos;
        let mut out = vec![0; (t.size().saturating_sub(offset) as usize).min(len)];
        t.read(io.phys, offset, &mut out);
        i.atime = io.now;
        io.pos = offset + out.len() as u64;
        Ok(out)
    }

    /// A mapping maps the file's own frames.
    pub fn pages(&self, phys: &mut Phys, name: &[u8]) -> KResult<FilePages> {
        Ok(pages_of(phys, &self.loc, name)?.map_or(FilePages::None, FilePages::Cache))
    }
}

impl FileOps for TmpfsFile {
    fn name(&self) -> String {
        inode_name(&self.loc)
    }

    fn read_iter(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        self.read_at(io, len)
    }

    /// write(2) at `io.pos` or the end: what fits before
    /// MAX_LFS_FILESIZE is written, EFBIG at it; ENOSPC past tmpfs's limit.
    fn write_iter(&self, io: &mut Io, data: &[u8]) -> OpResult<usize> {
        io.phys.reap();
        let mut i = self.loc.inode.borrow_mut();
        let id = i.id;
        let Data::File(file) = &mut i.data else {
            return Err(Errno::EINVAL.into());
        };
        let offset = if io.append { file.size() } else { io.pos };
        if offset >= MAX_LFS_FILESIZE {
            return Err(Errno::EFBIG.into());
        }
        let len = data.len().min((MAX_LFS_FILESIZE - offset) as usize);
        let n = file.write(io.phys, id, offset, &data[..len])?;
        i.mtime = io.now;
        i.ctime = io.now;
        io.pos = offset + n as u64;
        Ok(n)
    }

    fn mmap(&self, phys: &mut Phys, name: &[u8]) -> KResult<FilePages> {
        self.pages(phys, name)
    }

    fn loc(&self) -> Option<&Loc> {
        Some(&self.loc)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
