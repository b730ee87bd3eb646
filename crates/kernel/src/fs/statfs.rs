//! What statfs reports of a file system, before the system-call layer lays
//! it out as riscv64's `struct statfs`.

use super::{Data, FsType, Loc, Vfs};
use crate::errno::KResult;
use crate::mm::{Phys, PAGE_SIZE};

const TMPFS_MAGIC: u64 = 0x0102_1994;
const PROC_SUPER_MAGIC: u64 = 0x9fa0;
const ST_RDONLY: u64 = 1;

pub struct StatFs {
    pub f_type: u64,
    /// bsize, blocks, bfree, bavail, files, ffree.
    pub words: [u64; 6],
    pub namelen: u64,
    pub flags: u64,
}

impl StatFs {
    /// A kernel-internal file system of type `magic` (pipefs,
    /// anon_inodefs): pages, and nothing to count.
    pub fn pseudo(magic: u64) -> StatFs {
        StatFs {
            f_type: magic,
            words: [PAGE_SIZE, 0, 0, 0, 0, 0],
            namelen: 255,
            flags: 0,
        }
    }

    /// The file system `loc` is in. tmpfs reports Linux's default size,
    /// half of RAM; a host directory passes the host's figures through.
    pub fn of(vfs: &Vfs, phys: &Phys, loc: &Loc) -> KResult<StatFs> {
        let ro = if vfs.readonly(loc) { ST_RDONLY } else { 0 };
        if let Data::Host(h) = &loc.inode.borrow().data {
            let s = h.statfs()?;
            #[allow(clippy::unnecessary_cast)]
            return Ok(StatFs {
                f_type: s.f_type as u64,
                words: [
                    s.f_bsize as u64,
                    s.f_blocks as u64,
                    s.f_bfree as u64,
                    s.f_bavail as u64,
                    s.f_files as u64,
                    s.f_ffree as u64,
                ],
                namelen: s.f_namelen as u64,
                flags: s.f_flags as u64 | ro,
            });
        }
        Ok(match vfs.fs_of(loc) {
            FsType::Proc => StatFs {
                flags: ro,
                ..StatFs::pseudo(PROC_SUPER_MAGIC)
            },
            _ => {
                let (used, max) = phys.cache.shmem_usage();
                let free = ((max - used).min(phys.free_frames())) as u64;
                let (inodes_used, inodes) = phys.cache.inode_usage();
                let ffree = (inodes - inodes_used) as u64;
                StatFs {
                    f_type: TMPFS_MAGIC,
                    words: [PAGE_SIZE, max as u64, free, free, inodes as u64, ffree],
                    namelen: 255,
                    flags: ro,
                }
            }
        })
    }
}
