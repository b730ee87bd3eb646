//! memfd_create and the seals' fcntl commands (see `crate::fs::memfd`).

use crate::errno::{Errno, KResult};
use crate::fs::file::{OpenFile, O_RDWR};
use crate::fs::memfd::*;
use crate::fs::tmpfs::TmpfsFile;
use crate::fs::InodeRef;
use crate::mm::Backing;
use crate::task::Kernel;
use std::rc::Rc;

pub const F_ADD_SEALS: i32 = 1033;
pub const F_GET_SEALS: i32 = 1034;

/// memfd_create(name, flags).
pub fn memfd_create(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let flags = a[1] as u32;
    // MFD_HUGETLB and its page sizes are not supported: EINVAL, as a
    // kernel without hugetlbfs says.
    if flags & !(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC) != 0 {
        return Err(Errno::EINVAL);
    }
    if flags & MFD_EXEC != 0 && flags & MFD_NOEXEC_SEAL != 0 {
        return Err(Errno::EINVAL);
    }
    let name = match k.read_user_cstr(a[0], MFD_NAME_MAX_LEN + 1) {
        Err(Errno::ENAMETOOLONG) => return Err(Errno::EINVAL),
        name => name?,
    };
    let now = k.clock.realtime(&k.hart);
    let loc = new_inode(&k.vfs, &name, flags, now);
    {
        let cred = k.cred();
        let mut i = loc.inode.borrow_mut();
        i.uid = cred.euid;
        i.gid = cred.egid;
        i.charge = Some(k.phys.cache.charge_tmpfs_inode(0)?);
    }
    let file = OpenFile::new(Box::new(TmpfsFile { loc }), O_RDWR);
    super::fs::fd_install(k, Rc::new(file), flags & MFD_CLOEXEC != 0, 0)
}

/// fcntl's F_ADD_SEALS and F_GET_SEALS on `file`.
pub fn fcntl_seals(k: &mut Kernel, file: &OpenFile, cmd: i32, arg: u64) -> KResult<u64> {
    if cmd == F_ADD_SEALS {
        if !file.writable() {
            return Err(Errno::EPERM);
        }
        if arg as u32 & !F_ALL_SEALS != 0 {
            return Err(Errno::EINVAL);
        }
    }
    // Only tmpfs's files have seals (Linux's memfd_file_seals_ptr asks
    // for shmem's file operations; procfs's files only wrap them).
    let Some(TmpfsFile { loc }) = file.downcast::<TmpfsFile>() else {
        return Err(Errno::EINVAL);
    };
    if cmd == F_GET_SEALS {
        return seals(&loc.inode).map(u64::from);
    }
    let mapped = shared_writable_maps(k, &loc.inode);
    add_seals(&loc.inode, arg as u32, mapped)?;
    Ok(0)
}

/// Whether a process maps `inode`'s pages shared and may write them
/// (Linux's i_mmap_writable).
fn shared_writable_maps(k: &Kernel, inode: &InodeRef) -> bool {
    let Some(obj) = k.phys.cache.by_inode(inode.borrow().id) else {
        return false;
    };
    k.tasks().any(|t| {
        t.mm.borrow().vmas().any(|v| {
            v.shared
                && v.may_write
                && matches!(&v.backing, Backing::Object { obj: o, .. } if Rc::ptr_eq(o, &obj))
        })
    })
}
