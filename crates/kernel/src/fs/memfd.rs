//! memfd (Linux's mm/memfd.c): an unlinked tmpfs file made by
//! memfd_create, and the seals that restrict how any tmpfs file may
//! change from then on (F_ADD_SEALS, F_GET_SEALS).
//!
//! A memfd is an ordinary tmpfs file (`pagecache::TmpFile`) that no
//! directory holds: its bytes are guest frames, a MAP_SHARED mapping
//! shares them across fork like any file's, and it goes with its last
//! open file and mapping. /proc/PID/fd shows it as "/memfd:NAME
//! (deleted)". Its seals live with the file's pages (`TmpFile::seals`):
//! writes and resizes check them there, mmap and F_ADD_SEALS in the
//! system-call layer, which knows the mappings.

use super::{Data, InodeRef, Loc, Vfs, S_IFREG};
use crate::errno::{Errno, KResult};
use std::rc::Rc;
use std::time::Duration;

pub const F_SEAL_SEAL: u32 = 0x1;
pub const F_SEAL_SHRINK: u32 = 0x2;
pub const F_SEAL_GROW: u32 = 0x4;
pub const F_SEAL_WRITE: u32 = 0x8;
pub const F_SEAL_FUTURE_WRITE: u32 = 0x10;
pub const F_SEAL_EXEC: u32 = 0x20;
pub const F_ALL_SEALS: u32 =
    F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE | F_SEAL_EXEC;

pub const MFD_CLOEXEC: u32 = 0x1;
pub const MFD_ALLOW_SEALING: u32 = 0x2;
pub const MFD_NOEXEC_SEAL: u32 = 0x8;
pub const MFD_EXEC: u32 = 0x10;

/// The longest name (Linux's MFD_NAME_MAX_LEN: NAME_MAX less "memfd:").
pub const MFD_NAME_MAX_LEN: usize = 255 - 6;

/// A new memfd's inode: a tmpfs file of no directory, named for
/// /proc/PID/fd as if it were "/memfd:NAME", with the seals `flags` ask
/// for (none but F_SEAL_SEAL without MFD_ALLOW_SEALING).
pub fn new_inode(vfs: &Vfs, name: &[u8], flags: u32, now: Duration) -> Loc {
    let mut mode = S_IFREG | 0o777;
    let mut seals = F_SEAL_SEAL;
    if flags & MFD_NOEXEC_SEAL != 0 {
        mode &= !0o111;
        seals = F_SEAL_EXEC;
    } else if flags & MFD_ALLOW_SEALING != 0 {
        seals = 0;
    }
    let root = vfs.root();
    let inode = vfs.new_inode(mode, Data::File(Default::default()), now);
    {
        let mut i = inode.borrow_mut();
        i.nlink = 0;
        i.name = [&b"memfd:"[..], name].concat();
        i.parent = Rc::downgrade(&root.inode);
        if let Data::File(f) = &mut i.data {
            f.set_seals(seals);
        }
    }
    Loc {
        mnt: root.mnt,
        inode,
    }
}

/// F_GET_SEALS: EINVAL for a file that is not tmpfs's.
pub fn seals(inode: &InodeRef) -> KResult<u32> {
    match &inode.borrow().data {
        Data::File(f) => Ok(f.seals()),
        _ => Err(Errno::EINVAL),
    }
}

/// F_ADD_SEALS (once the caller checked its fd is open for writing and
/// `seals` are seals), given whether a shared mapping of the file may
/// write (EBUSY for F_SEAL_WRITE, as Linux's mapping_deny_writable).
pub fn add_seals(inode: &InodeRef, seals: u32, mapped: bool) -> KResult<()> {
    let mut i = inode.borrow_mut();
    let exec = i.mode & 0o111 != 0;
    let Data::File(f) = &mut i.data else {
        return Err(Errno::EINVAL);
    };
    if f.seals() & F_SEAL_SEAL != 0 {
        return Err(Errno::EPERM);
    }
    if seals & F_SEAL_WRITE != 0 && mapped {
        return Err(Errno::EBUSY);
    }
    let mut seals = seals;
    // Sealing an executable file's exec bits seals its contents too (W^X).
    if seals & F_SEAL_EXEC != 0 && exec {
        seals |= F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_FUTURE_WRITE;
    }
    f.set_seals(f.seals() | seals);
    Ok(())
}

/// Whether the seals forbid writes, for mmap: a shared mapping may then
/// neither write nor be made writable.
pub fn write_sealed(inode: &InodeRef) -> bool {
    matches!(&inode.borrow().data, Data::File(f) if f.seals() & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0)
}
