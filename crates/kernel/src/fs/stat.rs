//! What fstat and stat report of a file, before the system-call layer lays
//! it out as `struct stat` or `struct statx`.

use super::{Data, Loc};
use std::time::Duration;

/// The fields of a stat.
pub struct Stat {
    pub dev: u64,
    pub ino: u64,
    pub mode: u32,
    pub nlink: u32,
    pub uid: u32,
    pub gid: u32,
    pub rdev: u64,
    pub size: i64,
    pub blksize: i32,
    pub blocks: i64,
    pub atime: (i64, i64),
    pub mtime: (i64, i64),
    pub ctime: (i64, i64),
}

fn ts(d: Duration) -> (i64, i64) {
    (d.as_secs() as i64, i64::from(d.subsec_nanos()))
}

impl Stat {
    /// The attributes of the inode at `loc` (Linux's vfs_getattr).
    pub fn of(loc: &Loc) -> Stat {
        let i = loc.inode.borrow();
        let size = if i.is_dir() && !matches!(i.data, Data::Host(_)) {
            4096
        } else {
            i.size()
        };
        Stat {
            dev: i.dev,
            ino: i.ino,
            mode: i.mode,
            nlink: i.nlink,
            uid: i.uid,
            gid: i.gid,
            rdev: match &i.data {
                Data::Device(d) => d.rdev(),
                _ => 0,
            },
            size: size as i64,
            blksize: 4096,
            blocks: match &i.data {
                Data::File(f) => f.blocks() as i64,
                _ => size.div_ceil(512) as i64,
            },
            atime: ts(i.atime),
            mtime: ts(i.mtime),
            ctime: ts(i.ctime),
        }
    }

    /// The host's stat of a host descriptor. The casts are no-ops on
    /// x86-64 but not on every host.
    #[allow(clippy::unnecessary_cast)]
    pub fn host(s: &rustix::fs::Stat) -> Stat {
        Stat {
            dev: s.st_dev as u64,
            ino: s.st_ino as u64,
            mode: s.st_mode as u32,
            nlink: s.st_nlink as u32,
            uid: s.st_uid as u32,
            gid: s.st_gid as u32,
            rdev: s.st_rdev as u64,
            size: s.st_size as i64,
            blksize: s.st_blksize as i32,
            blocks: s.st_blocks as i64,
            atime: (s.st_atime as i64, s.st_atime_nsec as i64),
            mtime: (s.st_mtime as i64, s.st_mtime_nsec as i64),
            ctime: (s.st_ctime as i64, s.st_ctime_nsec as i64),
        }
    }

    /// The stat of an inode that lives in a kernel-internal file system
    /// (pipefs, anon_inodefs): owned by root, empty, with no times.
    pub fn kernel_inode(dev: u64, ino: u64, mode: u32) -> Stat {
        Stat {
            dev,
            ino,
            mode,
            nlink: 1,
            uid: 0,
            gid: 0,
            rdev: 0,
            size: 0,
            blksize: 4096,
            blocks: 0,
            atime: (0, 0),
            mtime: (0, 0),
            ctime: (0, 0),
        }
    }
}
