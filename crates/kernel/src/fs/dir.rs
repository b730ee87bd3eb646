//! A directory open (tmpfs, host or procfs): read and write are EISDIR,
//! getdents64 lists it, the offset counts entries.

use super::file::{inode_name, FileOps, Io, OpResult};
use super::{Loc, Vfs};
use crate::errno::{Errno, KResult};
use std::any::Any;

pub struct Dir {
    pub loc: Loc,
}

impl FileOps for Dir {
    fn name(&self) -> String {
        inode_name(&self.loc)
    }

    fn read_iter(&self, _io: &mut Io, _len: usize) -> OpResult<Vec<u8>> {
        Err(Errno::EISDIR.into())
    }

    fn write_iter(&self, _io: &mut Io, _data: &[u8]) -> OpResult<usize> {
        Err(Errno::EISDIR.into())
    }

    /// The entries from index `pos` on as `struct linux_dirent64`s (ino,
    /// the next entry's index as d_off, reclen, d_type, the name and its
    /// NUL, 8-aligned); EINVAL when not even the first fits.
    fn getdents(&self, vfs: &Vfs, root: &Loc, pos: u64, size: usize) -> KResult<(Vec<u8>, u64)> {
        let entries = vfs.entries(root, &self.loc)?;
        let mut out = Vec::new();
        let mut index = pos as usize;
        while let Some((name, ino, dtype)) = entries.get(index) {
            let reclen = (19 + name.len() + 1).div_ceil(8) * 8;
            if out.len() + reclen > size {
                if out.is_empty() {
                    return Err(Errno::EINVAL);
                }
                break;
            }
            let mut rec = vec![0u8; reclen];
            rec[..8].copy_from_slice(&ino.to_le_bytes());
            rec[8..16].copy_from_slice(&((index + 1) as i64).to_le_bytes());
            rec[16..18].copy_from_slice(&(reclen as u16).to_le_bytes());
            rec[18] = *dtype;
            rec[19..19 + name.len()].copy_from_slice(name);
            out.extend(rec);
            index += 1;
        }
        Ok((out, index as u64))
    }

    fn loc(&self) -> Option<&Loc> {
        Some(&self.loc)
    }

    fn as_any(&self) -> &dyn Any {
        self
    }
}
