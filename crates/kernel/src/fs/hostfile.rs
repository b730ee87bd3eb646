//! A regular file of a host directory mount, open: its bytes are the host
//! file's, read and written through its handle (`host.rs`), and the page
//! cache's copy of them while something maps it.

use super::file::{inode_name, FileOps, Io, OpResult};
use super::pagecache::{pages_of, read_through, write_through};
use super::{Data, Loc};
use crate::errno::{Errno, KResult};
use crate::mm::{FilePages, Phys};
use std::any::Any;

pub struct HostFile {
    pub loc: Loc,
}

impl FileOps for HostFile {
    fn name(&self) -> String {
        inode_name(&self.loc)
    }

    /// One host pread, with the pages a mapping has changed since.
    fn read_iter(&self, io: &mut Io, len: usize) -> OpResult<Vec<u8>> {
        io.phys.reap();
        let mut i = self.loc.inode.borrow_mut();
        let Data::Host(h) = &i.data else {
            return Err(Errno::EINVAL.into());
        };
        let offset = io.pos;
        let mut buf = vec![0; len];
        let n = h.read_at(offset, &mut buf)?;
        buf.truncate(n);
        read_through(io.phys, i.id, offset, &mut buf);
        i.atime = io.now;
        io.pos = offset + n as u64;
        Ok(buf)
    }

    /// One host pwrite, and the same bytes into the pages that map it.
    fn write_iter(&self, io: &mut Io, data: &[u8]) -> OpResult<usize> {
        io.phys.reap();
        let mut i = self.loc.inode.borrow_mut();
        let id = i.id;
        let Data::Host(h) = &mut i.data else {
            return Err(Errno::EINVAL.into());
        };
        let offset = if io.append { h.size } else { io.pos };
        let n = h.write_at(offset, data)?;
        write_through(io.phys, id, offset, &data[..n]);
        i.mtime = io.now;
        i.ctime = io.now;
        io.pos = offset + n as u64;
        Ok(n)
    }

    fn mmap(&self, phys: &mut Phys, name: &[u8]) -> KResult<FilePages> {
        Ok(pages_of(phys, &self.loc, name)?.map_or(FilePages::None, FilePages::Cache))
    }

    fn loc(&self) -> Option<&Loc> {
        Some(&self.loc)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
