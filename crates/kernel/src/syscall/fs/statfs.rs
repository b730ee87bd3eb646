//! statfs, fstatfs and sysinfo.

use super::super::AT_FDCWD;
use super::fdtable::file;
use super::namei::{lookup_at, path_arg};
use crate::errno::KResult;
use crate::fs::statfs::StatFs;
use crate::task::Kernel;

/// ST_VALID: f_flags is meaningful (Linux always sets it).
const ST_VALID: u64 = 0x20;

/// riscv64's struct statfs (asm-generic, 64-bit words, 120 bytes):
/// type, bsize, blocks, bfree, bavail, files, ffree, fsid[2] (u32),
/// namelen, frsize, flags, spare[4].
fn statfs_bytes(s: &StatFs) -> [u8; 120] {
    let mut b = [0; 120];
    b[..8].copy_from_slice(&s.f_type.to_le_bytes());
    for (i, w) in s.words.iter().enumerate() {
        b[8 + i * 8..][..8].copy_from_slice(&w.to_le_bytes());
    }
    b[64..72].copy_from_slice(&s.namelen.to_le_bytes());
    b[72..80].copy_from_slice(&s.words[0].to_le_bytes());
    b[80..88].copy_from_slice(&(s.flags | ST_VALID).to_le_bytes());
    b
}

pub fn statfs(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let path = path_arg(k, a[0])?;
    let loc = lookup_at(k, AT_FDCWD, &path, true, false)?;
    let s = StatFs::of(&k.vfs, &k.phys, &loc)?;
    k.copy_to_user(a[1], &statfs_bytes(&s))?;
    Ok(0)
}

/// fstatfs: the file system of the file's place in the tree, or the
/// pseudo file system of a file with none (pipefs, anon_inodefs).
pub fn fstatfs(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let f = file(k, a[0])?;
    let s = match f.loc() {
        Some(loc) => StatFs::of(&k.vfs, &k.phys, loc)?,
        None => StatFs::pseudo(f.ops().magic()),
    };
    k.copy_to_user(a[1], &statfs_bytes(&s))?;
    Ok(0)
}

/// sysinfo(info): what /proc/meminfo, /proc/uptime and /proc/loadavg say
/// (`free` and `uptime` read this).
pub fn sysinfo(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let b = crate::fs::proc::array::sysinfo(k);
    k.copy_to_user(a[0], &b)?;
    Ok(0)
}
