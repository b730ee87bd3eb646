//! Memory system calls: thin wrappers over the address space, which checks
//! the arguments as Linux does.

use crate::errno::{Errno, KResult};
use crate::fs::file::O_PATH;
use crate::mm::{MapFile, Mm, MAP_ANONYMOUS, MAP_SHARED, PAGE_SIZE, PROT_WRITE};
use crate::task::rlimit::RLIMIT_AS;
use crate::task::Kernel;
use std::cell::RefCell;
use std::rc::Rc;

/// The caller's address space, held to the caller's RLIMIT_AS (which is
/// per process, while the space may be shared with a vfork child or a
/// CLONE_VM process that has limits of its own).
fn mm(k: &Kernel) -> Rc<RefCell<Mm>> {
    let limit = k.group().borrow().rlimits.get(RLIMIT_AS).cur;
    let mm = k.mm();
    mm.borrow_mut().set_as_limit(limit);
    mm
}

pub fn brk(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let mm = mm(k);
    let brk = mm.borrow_mut().brk(&mut k.phys, a[0]);
    Ok(brk)
}

pub fn mmap(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let (addr, len, prot, flags, fd, offset) = (a[0], a[1], a[2], a[3], a[4], a[5]);
    if flags & MAP_ANONYMOUS != 0 {
        let mm = mm(k);
        let result = mm
            .borrow_mut()
            .mmap(&mut k.phys, addr, len, prot, flags, offset);
        return result;
    }
    // riscv's sys_mmap checks the offset before it looks at the fd.
    if offset % PAGE_SIZE != 0 {
        return Err(Errno::EINVAL);
    }
    let file = super::fs::file(k, u64::from(fd as u32))?;
    if file.flags.get() & O_PATH != 0 {
        return Err(Errno::EBADF);
    }
    // /proc/PID/maps names the file by its guest path.
    let name = match file.loc() {
        Some(loc) => {
            let root = k.current().fs.borrow().root.clone();
            k.vfs.path_of(&root, loc)
        }
        None => Vec::new(),
    };
    // A file sealed against writes has no writable shared mapping, now
    // or after mprotect (Linux's memfd_check_seals_mmap).
    let sealed = file
        .loc()
        .is_some_and(|loc| crate::fs::memfd::write_sealed(&loc.inode));
    if sealed && flags & MAP_SHARED != 0 && prot & PROT_WRITE != 0 {
        return Err(Errno::EPERM);
    }
    let pages = file.ops().mmap(&mut k.phys, &name)?;
    let map = MapFile {
        pages,
        readable: file.readable(),
        writable: file.writable() && !sealed,
    };
    let mm = mm(k);
    let result = mm
        .borrow_mut()
        .mmap_file(&mut k.phys, addr, len, prot, flags, offset, &map);
    result
}

pub fn munmap(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let mm = mm(k);
    let result = mm.borrow_mut().munmap(&mut k.phys, a[0], a[1]);
    result.map(|()| 0)
}

pub fn mprotect(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let mm = mm(k);
    let result = mm.borrow_mut().mprotect(&mut k.phys, a[0], a[1], a[2]);
    result.map(|()| 0)
}

pub fn mremap(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let mm = mm(k);
    let result = mm
        .borrow_mut()
        .mremap(&mut k.phys, a[0], a[1], a[2], a[3], a[4]);
    result
}

pub fn madvise(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let mm = mm(k);
    let result = mm.borrow_mut().madvise(&mut k.phys, a[0], a[1], a[2]);
    result.map(|()| 0)
}

pub fn msync(k: &mut Kernel, a: &[u64; 6]) -> KResult<u64> {
    let mm = mm(k);
    let result = mm.borrow_mut().msync(&k.phys, a[0], a[1], a[2]);
    result.map(|()| 0)
}
