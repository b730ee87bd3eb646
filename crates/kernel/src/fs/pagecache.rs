//! The VFS side of the page cache (mm/filemap.rs): which files can be
//! mapped, where their pages come from, and how a writable file's bytes
//! stay coherent with its cached pages.
//!
//! A writable file (a tmpfs file, a host file on a writable mount) keeps
//! its bytes where they are (the inode, the host file); while something
//! maps it, the pages in its object are the newer copy (a MAP_SHARED store
//! lands there), so read() takes cached pages from the frames, write()
//! updates both, and truncate drops the cached pages past the end (and
//! their mappings: the next touch is SIGBUS). msync, fsync and the last
//! unmap write the dirty frames back. A read-only host file's pages never
//! change, so its object is shared by every run of it (filemap.rs).

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

    fn write_back(&self, index: u64, page: &[u8]) -> KResult<()> {
        let mut inode = self.inode.try_borrow_mut().map_err(|_| Errno::EIO)?;
        if let Data::File(d) = &mut inode.data {
            let start = (index * PAGE_SIZE).min(d.len() as u64) as usize;
            let n = (d.len() - start).min(page.len());
            d[start..start + n].copy_from_slice(&page[..n]);
        }
        Ok(())
    }

    fn name(&self) -> Vec<u8> {
        self.name.clone()
    }
}

/// Fills `page` with page `index` of host file `file`, zero past its end.
fn read_host_page(file: &std::fs::File, index: u64, page: &mut [u8]) -> KResult<()> {
    let mut done = 0;
    while done < page.len() {
        match file.read_at(&mut page[done..], index * PAGE_SIZE + done as u64) {
            Ok(0) => break,
            Ok(n) => done += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return Err(Errno::EIO),
        }
    }
    page[done..].fill(0);
    Ok(())
}

/// A read-only host file's pages: read once from the open host file.
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
        read_host_page(&self.file, index, page)
    }

    fn write_back(&self, _: u64, _: &[u8]) -> KResult<()> {
        Ok(())
    }

    fn name(&self) -> Vec<u8> {
        self.path.as_os_str().as_encoded_bytes().to_vec()
    }
}

/// The pages of a host file on a writable mount: read from, and written
/// back to, the host file, opened once (it follows the file through a
/// rename). Its size is the inode's, which write() and truncate keep.
struct WritableHostPages {
    inode: InodeRef,
    file: std::fs::File,
    path: PathBuf,
}

impl PageSource for WritableHostPages {
    // The inode is never borrowed while a page fault runs (see TmpfsPages).
    fn size(&self) -> u64 {
        self.inode.try_borrow().map_or(0, |i| i.size())
    }

    fn read_page(&self, index: u64, page: &mut [u8]) -> KResult<()> {
        read_host_page(&self.file, index, page)
    }

    /// Only the bytes before the host file's end now: a page never makes
    /// the file longer (it may have shrunk behind the guest's back).
    fn write_back(&self, index: u64, page: &[u8]) -> KResult<()> {
        let size = self.file.metadata().map_err(|e| Errno::from(&e))?.size();
        let start = (index * PAGE_SIZE).min(size);
        let n = ((size - start) as usize).min(page.len());
        self.file
            .write_all_at(&page[..n], start)
            .map_err(|e| Errno::from(&e))
    }

    fn name(&self) -> Vec<u8> {
        self.path.as_os_str().as_encoded_bytes().to_vec()
    }
}

/// The path /proc/PID/maps shows for a file: the guest's, never the host's.
fn guest_path(name: &[u8]) -> PathBuf {
    use std::os::unix::ffi::OsStrExt;
    PathBuf::from(std::ffi::OsStr::from_bytes(name))
}

/// The page cache of the file at `loc`, made on first use; None if the
/// file cannot be mapped (anything but a regular file). `name` is what
/// /proc/PID/maps will show for it.
pub fn pages_of(phys: &mut Phys, loc: &Loc, name: &[u8]) -> KResult<Option<Obj>> {
    // A writable file's bytes are whole once dropped objects wrote theirs
    // back.
    phys.reap();
    let inode = loc.inode.borrow();
    if inode.mode & S_IFMT != S_IFREG {
        return Ok(None);
    }
    if let Some(obj) = phys.cache.by_inode(inode.id) {
        return Ok(Some(obj));
    }
    let source: Rc<dyn PageSource> = match &inode.data {
        Data::File(_) => Rc::new(TmpfsPages {
            inode: loc.inode.clone(),
            name: name.to_vec(),
        }),
        // Opened beneath its mount, never by a host path (host.rs); read
        // only where the host refuses writing (a file it is running, one
        // without write permission): writing back then fails as the
        // guest's write() would.
        Data::Host(h) if !h.readonly() => Rc::new(WritableHostPages {
            inode: loc.inode.clone(),
            file: h.open_write().or_else(|_| h.open_read())?,
            path: guest_path(name),
        }),
        Data::Host(h) => {
            // The file as it is now: a changed file is a new object.
            let file = h.open_read()?;
            let meta = file.metadata().map_err(|e| Errno::from(&e))?;
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
                path: guest_path(name),
            }));
            phys.cache.insert_host(key, obj.clone());
            return Ok(Some(obj));
        }
        _ => return Ok(None),
    };
    let obj = phys.cache.object(source);
    phys.cache.insert_by_inode(inode.id, &obj);
    Ok(Some(obj))
}

/// read() of writable file (inode) `id`: `out` holds the file's bytes from
/// `offset`; the pages the cache holds are newer. read(), write() and
/// truncate call `Phys::reap` before they look at the bytes.
pub fn read_through(phys: &Phys, id: u64, offset: u64, out: &mut [u8]) {
    let Some(obj) = phys.cache.by_inode(id) else {
        return;
    };
    let obj = obj.borrow();
    each_page(offset, out.len(), |index, in_page, at, n| {
        if let Some(pfn) = obj.cached(index) {
            out[at..at + n].copy_from_slice(&phys.mem.frame(pfn)[in_page..in_page + n]);
        }
    });
}

/// write() to writable file (inode) `id`: the cached pages get the bytes
/// too.
pub fn write_through(phys: &mut Phys, id: u64, offset: u64, data: &[u8]) {
    let Some(obj) = phys.cache.by_inode(id) else {
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
