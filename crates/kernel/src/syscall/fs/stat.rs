//! stat, fstat, newfstatat, statx and readlinkat: what the file or its
//! inode reports (`fs::stat::Stat`), laid out as riscv64's structs.

use super::super::{int, AT_FDCWD};
use super::fdtable::file;
use super::namei::{
    fsinfo, lookup_at, path_arg, AT_EMPTY_PATH, AT_NO_AUTOMOUNT, AT_SYMLINK_NOFOLLOW,
};
use crate::errno::{Errno, KResult};
use crate::fs::stat::Stat;
use crate::task::Kernel;

/// riscv64's `struct stat` (asm-generic, 128 bytes).
fn stat_bytes(s: &Stat) -> [u8; 128] {
    let mut b = [0; 128];
    let mut put = |offset: usize, bytes: &[u8]| b[offset..][..bytes.len()].copy_from_slice(bytes);
    put(0, &s.dev.to_le_bytes());
    put(8, &s.ino.to_le_bytes());
    put(16, &s.mode.to_le_bytes());
    put(20, &s.nlink.to_le_bytes());
    put(24, &s.uid.to_le_bytes());
    put(28, &s.gid.to_le_bytes());
    put(32, &s.rdev.to_le_bytes());
    put(48, &s.size.to_le_bytes());
    put(56, &s.blksize.to_le_bytes());
    put(64, &s.blocks.to_le_bytes());
    put(72, &s.atime.0.to_le_bytes());
    put(80, &s.atime.1.to_le_bytes());
    put(88, &s.mtime.0.to_le_bytes());
    put(96, &s.mtime.1.to_le_bytes());
    put(104, &s.ctime.0.to_le_bytes());
    put(112, &s.ctime.1.to_le_bytes());
    b
}

/// `struct statx` (256 bytes), STATX_BASIC_STATS.
fn statx_bytes(s: &Stat) -> [u8; 256] {
    let mut b = [0; 256];
    let mut put = |offset: usize, bytes: &[u8]| b[offset..][..bytes.len()].copy_from_slice(bytes);
    put(0, &0x7ffu32.to_le_bytes());
    put(4, &(s.blksize as u32).to_le_bytes());
    put(16, &s.nlink.to_le_bytes());
    put(20, &s.uid.to_le_bytes());
    put(24, &s.gid.to_le_bytes());
    put(28, &(s.mode as u16).to_le_bytes());
    put(32, &s.ino.to_le_bytes());
    put(40, &(s.size as u64).to_le_bytes());
    put(48, &(s.blocks as u64).to_le_bytes());
    for (off, t) in [(64, s.atime), (96, s.ctime), (112, s.mtime)] {
        put(off, &t.0.to_le_bytes());
        put(off + 8, &(t.1 as u32).to_le_bytes());
    }
    let (rmaj, rmin) = ((s.rdev >> 8) as u32 & 0xfff, (s.rdev & 0xff) as u32);
    put(128, &rmaj.to_le_bytes());
    put(132, &rmin.to_le_bytes());
    let (dmaj, dmin) = ((s.dev >> 8) as u32 & 0xfff, (s.dev & 0xff) as u32);
    put(136, &dmaj.to_le_bytes());
    put(140, &dmin.to_le_bytes());
    b
}

pub fn fstat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let st = f.stat(&k.vfs)?;
    k.copy_to_user(a[1], &stat_bytes(&st))?;
    Ok(0)
}

/// The stat of `path` at `dirfd` (AT_EMPTY_PATH: the fd itself).
fn stat_at(k: &mut Kernel, dirfd: i32, path_addr: u64, flags: u64) -> KResult<Stat> {
    let path = path_arg(k, path_addr)?;
    if path.is_empty() && flags & AT_EMPTY_PATH != 0 {
        if dirfd == AT_FDCWD {
            return Ok(Stat::of(&fsinfo(k).cwd));
        }
        let f = file(k, dirfd as u32 as u64)?;
        return f.stat(&k.vfs);
    }
    let loc = lookup_at(k, dirfd, &path, flags & AT_SYMLINK_NOFOLLOW == 0, false)?;
    Ok(Stat::of(&loc))
}

pub fn newfstatat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[3] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(k, int(a[0]), a[1], flags)?;
    k.copy_to_user(a[2], &stat_bytes(&st))?;
    Ok(0)
}

pub fn statx(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[2] & 0xffff_ffff;
    if flags & !(AT_SYMLINK_NOFOLLOW | AT_NO_AUTOMOUNT | AT_EMPTY_PATH | 0x6000) != 0 {
        return Err(Errno::EINVAL);
    }
    let st = stat_at(k, int(a[0]), a[1], flags)?;
    k.copy_to_user(a[4], &statx_bytes(&st))?;
    Ok(0)
}

pub fn readlinkat(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let size = int(a[3]);
    let path = path_arg(k, a[1])?;
    if size <= 0 {
        return Err(Errno::EINVAL);
    }
    let loc = lookup_at(k, int(a[0]), &path, false, true)?;
    if !loc.inode.borrow().is_symlink() {
        return Err(Errno::EINVAL);
    }
    let target = k.vfs.readlink(&loc)?;
    let n = target.len().min(size as usize);
    k.copy_to_user(a[2], &target[..n])?;
    Ok(n as u64)
}
