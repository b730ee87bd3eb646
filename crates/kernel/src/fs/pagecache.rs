//! The VFS side of the page cache (mm/filemap.rs): which files can be
//! mapped, where their pages come from, and how a tmpfs file's bytes stay
//! coherent with its cached pages.
//!
//! A tmpfs file keeps its bytes in the inode; while something maps it, the
//! pages in its object are the newer copy (a MAP_SHARED store lands there),
//! so read() takes cached pages from the frames, write() updates both, and
//! truncate drops the cached pages past the end (and their mappings: the
//! next touch is SIGBUS). The last unmap writes the frames back.

use super::{Data, InodeRef, Loc, S_IFMT, S_IFREG};
use crate::errno::{Errno, KResult};
use crate::mm::{copy_page_from, MemObject, PageSource, Phys, PAGE_SIZE};
use std::cell::RefCell;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::rc::Rc;

type Obj = Rc<RefCell<MemObject>>;

/// A tmpfs file's pages: its inode's bytes.
struct TmpfsPages {
    inode: InodeRef,
    name: Vec<u8>,
}

impl PageSource for TmpfsPages {
    // The inode is never borrowed while a page fault runs (system calls
    // copy user memory before or after touching it); if it were, the page
    // would read as past the end, a SIGBUS rather than a panic.
    fn size(&self) -> u64 {
        self.inode.try_borrow().map_or(0, |i| i.size())
    }

    fn read_page(&self, index: u64, page: &mut [u8]) -> KResult<()> {
        let inode = self.inode.try_borrow().map_err(|_| Errno::EIO)?;
        match &inode.data {
            Data::File(d) => copy_page_from(d, index, page),
            _ => page.fill(0),
        }
        Ok(())
    }

    fn write_back(&self, index: u64, page: &[u8]) {
        let Ok(mut inode) = self.inode.try_borrow_mut() else {
            return;
        };
        if let Data::File(d) = &mut inode.data {
            let start = (index * PAGE_SIZE).min(d.len() as u64) as usize;
            let n = (d.len() - start).min(page.len());
            d[start..start + n].copy_from_slice(&page[..n]);
        }
    }

    fn name(&self) -> Vec<u8> {
        self.name.clone()
    }
}

/// A host file's pages: read once from the open host file.
struct HostPages {
    file: std::fs::File,
    size: u64,
    path: PathBuf,
}

impl PageSource for HostPages {
    fn size(&self) -> u64 {
        self.size
    }

    fn read_page(&self, index: u64, page: &mut [u8]) -> KResult<()> {
        let mut done = 0;
        while done < page.len() {
            match self
                .file
                .read_at(&mut page[done..], index * PAGE_SIZE + done as u64)
            {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(_) => return Err(Errno::EIO),
            }
        }
        page[done..].fill(0);
        Ok(())
    }

    fn write_back(&self, _: u64, _: &[u8]) {}

    fn name(&self) -> Vec<u8> {
        self.path.as_os_str().as_encoded_bytes().to_vec()
    }
}

/// The page cache of the file at `loc`, made on first use; None if the
/// file cannot be mapped (anything but a regular file). `name` is what
/// /proc/PID/maps will show for a tmpfs file.
pub fn pages_of(phys: &mut Phys, loc: &Loc, name: &[u8]) -> KResult<Option<Obj>> {
    // A tmpfs file's bytes are whole once dropped objects wrote theirs back.
    phys.reap();
    let inode = loc.inode.borrow();
    if inode.mode & S_IFMT != S_IFREG {
        return Ok(None);
    }
    match &inode.data {
        Data::File(_) => {
            if let Some(obj) = phys.cache.tmpfs(inode.id) {
                return Ok(Some(obj));
            }
            let obj = phys.cache.object(Rc::new(TmpfsPages {
                inode: loc.inode.clone(),
                name: name.to_vec(),
            }));
            phys.cache.insert_tmpfs(inode.id, &obj);
            Ok(Some(obj))
        }
        Data::Host(h) => {
            let errno = |e: std::io::Error| Errno(e.raw_os_error().unwrap_or(Errno::EIO.0));
            // The file as it is now: a changed file is a new object. Opened
            // beneath its mount, never by a host path (host.rs).
            let file = h.open_read()?;
            let meta = file.metadata().map_err(errno)?;
            let key = (
                meta.dev(),
                meta.ino(),
                meta.size(),
                (meta.mtime(), meta.mtime_nsec()),
            );
            if let Some(obj) = phys.cache.host(key.0, key.1, key.2, key.3) {
                return Ok(Some(obj));
            }
            let obj = phys.cache.object(Rc::new(HostPages {
                file,
                size: key.2,
                path: h.host_path(),
            }));
            phys.cache.insert_host(key, obj.clone());
            Ok(Some(obj))
        }
        _ => Ok(None),
    }
}

/// read() of tmpfs inode `id`: `out` holds the file's bytes from `offset`;
/// the pages the cache holds are newer. read(), write() and truncate
/// call `Phys::reap` before they look at the bytes.
pub fn read_through(phys: &Phys, id: u64, offset: u64, out: &mut [u8]) {
    let Some(obj) = phys.cache.tmpfs(id) else {
        return;
    };
    let obj = obj.borrow();
    each_page(offset, out.len(), |index, in_page, at, n| {
        if let Some(pfn) = obj.cached(index) {
            out[at..at + n].copy_from_slice(&phys.mem.frame(pfn)[in_page..in_page + n]);
        }
    });
}

/// write() to tmpfs inode `id`: the cached pages get the bytes too.
pub fn write_through(phys: &mut Phys, id: u64, offset: u64, data: &[u8]) {
    let Some(obj) = phys.cache.tmpfs(id) else {
        return;
    };
    let obj = obj.borrow();
    each_page(offset, data.len(), |index, in_page, at, n| {
        if let Some(pfn) = obj.cached(index) {
            phys.mem.frame_mut(pfn)[in_page..in_page + n].copy_from_slice(&data[at..at + n]);
        }
    });
}

/// Calls `f(page index, offset in page, offset in buffer, length)` for each
/// page piece of [offset, offset + len).
fn each_page(offset: u64, len: usize, mut f: impl FnMut(u64, usize, usize, usize)) {
    let mut at = 0;
    while at < len {
        let pos = offset + at as u64;
        let in_page = (pos % PAGE_SIZE) as usize;
        let n = (PAGE_SIZE as usize - in_page).min(len - at);
        f(pos / PAGE_SIZE, in_page, at, n);
        at += n;
    }
}
