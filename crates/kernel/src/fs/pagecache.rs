//! The VFS side of the page cache (mm/filemap.rs): which files can be
//! mapped, where their pages come from, and how a writable file's bytes
//! stay coherent with its cached pages.
//!
//! A tmpfs file's bytes are its object's frames ([`TmpFile`]). A host file
//! on a writable mount keeps its bytes in the host file; while something
//! maps it, the pages in its object are the newer copy (a MAP_SHARED store
//! lands there), so read() takes cached pages from the frames, write()
//! updates both, and truncate drops the cached pages past the end (and
//! their mappings: the next touch is SIGBUS). msync, fsync and the last
//! unmap write the dirty frames back. A read-only host file's pages never
//! change, so its object is shared by every run of it (filemap.rs).

use super::memfd::{F_SEAL_FUTURE_WRITE, F_SEAL_GROW, F_SEAL_SEAL, F_SEAL_SHRINK, F_SEAL_WRITE};
use super::{Data, InodeRef, Loc, S_IFMT, S_IFREG};
use crate::errno::{Errno, KResult};
use crate::mm::{copy_page_from, MemObject, PageSource, Phys, PAGE_SIZE};
use std::cell::{Cell, RefCell};
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::PathBuf;
use std::rc::Rc;

type Obj = Rc<RefCell<MemObject>>;

/// A tmpfs file (Linux's shmem): its bytes are the frames of its page
/// cache object, so --mem bounds them and the tmpfs limit counts them. The
/// file is sparse: a page gets a frame when first written (or touched
/// through a mapping); a hole reads as zeros. A file made with content (the
/// initramfs, a /proc snapshot) keeps it aside until a page is written.
pub struct TmpFile {
    src: Rc<TmpfsPages>,
    /// The pages with frames, made at the first write or mapping.
    pages: Option<Obj>,
    /// Its seals (`fs::memfd`): F_SEAL_SEAL alone but on a memfd made to
    /// be sealed, as Linux's shmem files.
    seals: u32,
}

/// What a tmpfs file's object reads a page from that has no frame yet.
struct TmpfsPages {
    size: Cell<u64>,
    /// Bytes the file was made with; only the first `initial_len` still
    /// count (a truncate cuts them).
    initial: Vec<u8>,
    initial_len: Cell<u64>,
    name: RefCell<Vec<u8>>,
}

impl PageSource for TmpfsPages {
    fn size(&self) -> u64 {
        self.size.get()
    }

    fn read_page(&self, index: u64, page: &mut [u8]) -> KResult<()> {
        let len = self.initial_len.get() as usize;
        copy_page_from(&self.initial[..len], index, page);
        Ok(())
    }

    /// The frames are the file: nothing to write back.
    fn write_back(&self, _: u64, _: &[u8]) -> KResult<()> {
        Ok(())
    }

    fn name(&self) -> Vec<u8> {
        self.name.borrow().clone()
    }
}

impl Default for TmpFile {
    fn default() -> TmpFile {
        TmpFile::new(Vec::new())
    }
}

impl TmpFile {
    /// A file holding `data`.
    pub fn new(data: Vec<u8>) -> TmpFile {
        let len = data.len() as u64;
        TmpFile {
            src: Rc::new(TmpfsPages {
                size: Cell::new(len),
                initial: data,
                initial_len: Cell::new(len),
                name: RefCell::default(),
            }),
            pages: None,
            seals: F_SEAL_SEAL,
        }
    }

    pub fn seals(&self) -> u32 {
        self.seals
    }

    pub fn set_seals(&mut self, seals: u32) {
        self.seals = seals;
    }

    /// Whether its seals let it be resized to `len` (Linux's
    /// shmem_setattr): EPERM.
    pub fn check_resize(&self, len: u64) -> KResult<()> {
        let size = self.size();
        if (self.seals & F_SEAL_SHRINK != 0 && len < size)
            || (self.seals & F_SEAL_GROW != 0 && len > size)
        {
            return Err(Errno::EPERM);
        }
        Ok(())
    }

    pub fn size(&self) -> u64 {
        self.src.size.get()
    }

    /// 512-byte blocks it holds (st_blocks): its pages with frames or
    /// content.
    pub fn blocks(&self) -> u64 {
        let initial = self.src.initial_len.get().div_ceil(PAGE_SIZE);
        let written = self.pages.as_ref().map_or(0, |o| {
            let o = o.borrow();
            (o.frames() - o.cached_range(0..initial).count()) as u64
        });
        (initial + written) * (PAGE_SIZE / 512)
    }

    /// Its bytes while nothing was written (how the boot reads /sbin/init
    /// from the unpacked archive, before there are frames); None after.
    pub fn unwritten(&self) -> Option<&[u8]> {
        let len = self.src.initial_len.get().min(self.size()) as usize;
        self.pages.is_none().then(|| &self.src.initial[..len])
    }

    /// Its page cache object, made on first use. `id` is the inode's: the
    /// cache finds the object by it to truncate its mappings.
    pub fn pages(&mut self, phys: &mut Phys, id: u64) -> Obj {
        if let Some(obj) = &self.pages {
            return obj.clone();
        }
        let obj = phys.cache.shmem_object(self.src.clone());
        phys.cache.insert_by_inode(id, &obj);
        self.pages = Some(obj.clone());
        obj
    }

    /// Reads into `out` from `offset`: how many bytes there were.
    pub fn read(&self, phys: &Phys, offset: u64, out: &mut [u8]) -> usize {
        let n = self.size().saturating_sub(offset).min(out.len() as u64) as usize;
        let obj = self.pages.as_ref().map(|o| o.borrow());
        each_page(offset, n, |index, in_page, at, len| {
            let out = &mut out[at..at + len];
            match obj.as_ref().and_then(|o| o.cached(index)) {
                Some(pfn) => out.copy_from_slice(&phys.mem.frame(pfn)[in_page..in_page + len]),
                None => {
                    let mut page = [0; PAGE_SIZE as usize];
                    let _ = self.src.read_page(index, &mut page);
                    out.copy_from_slice(&page[in_page..in_page + len]);
                }
            }
        });
        n
    }

    /// Writes `data` at `offset`, giving pages frames as needed: how much
    /// was written before the file system or memory filled (ENOSPC,
    /// ENOMEM when nothing was).
    pub fn write(&mut self, phys: &mut Phys, id: u64, offset: u64, data: &[u8]) -> KResult<usize> {
        if self.seals & (F_SEAL_WRITE | F_SEAL_FUTURE_WRITE) != 0 {
            return Err(Errno::EPERM);
        }
        let mut data = data;
        if self.seals & F_SEAL_GROW != 0 && offset.saturating_add(data.len() as u64) > self.size() {
            // Linux writes page by page and stops at the first that would
            // grow the file: what ends on a page boundary within it is
            // written.
            let limit = self.size() / PAGE_SIZE * PAGE_SIZE;
            if limit <= offset {
                return Err(Errno::EPERM);
            }
            data = &data[..(limit - offset) as usize];
        }
        let obj = self.pages(phys, id);
        let mut obj = obj.borrow_mut();
        let mut done = 0;
        let mut err = None;
        each_page(offset, data.len(), |index, in_page, at, len| {
            if err.is_some() {
                return;
            }
            match obj.frame(phys, index) {
                Ok((pfn, _)) => {
                    phys.mem.frame_mut(pfn)[in_page..in_page + len]
                        .copy_from_slice(&data[at..at + len]);
                    done += len;
                }
                Err(e) => err = Some(e),
            }
        });
        if done > 0 {
            let end = offset + done as u64;
            self.src.size.set(self.size().max(end));
        }
        match err {
            Some(e) if done == 0 => Err(e),
            _ => Ok(done),
        }
    }

    /// Sets the size; pages past it go (their mappings are the caller's,
    /// `Kernel::truncate_pagecache`), the rest of the last page reads as
    /// zeros.
    pub fn truncate(&mut self, phys: &mut Phys, len: u64) {
        self.src.size.set(len);
        let initial = self.src.initial_len.get().min(len);
        self.src.initial_len.set(initial);
        if let Some(obj) = &self.pages {
            obj.borrow_mut().truncate(phys, len);
        }
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
    let mut inode = loc.inode.borrow_mut();
    if inode.mode & S_IFMT != S_IFREG {
        return Ok(None);
    }
    let id = inode.id;
    if let Data::File(t) = &mut inode.data {
        if !name.is_empty() {
            *t.src.name.borrow_mut() = name.to_vec();
        }
        return Ok(Some(t.pages(phys, id)));
    }
    if let Some(obj) = phys.cache.by_inode(id) {
        return Ok(Some(obj));
    }
    let source: Rc<dyn PageSource> = match &inode.data {
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

/// read() of a host file on a writable mount (inode) `id`: `out` holds the file's bytes from
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

/// fsync and fdatasync of the file at `loc`: its dirty mapped pages go
/// back to it, and a host file, with them, to the host's disk.
pub fn fsync(phys: &mut Phys, loc: &Loc, data_only: bool) -> KResult<()> {
    phys.reap();
    let id = loc.inode.borrow().id;
    if let Some(obj) = phys.cache.by_inode(id) {
        obj.borrow().write_back(phys, 0, u64::MAX)?;
    }
    if let Data::Host(h) = &loc.inode.borrow().data {
        h.sync(data_only)?;
    }
    Ok(())
}

/// write() to a host file on a writable mount (inode) `id`: the cached pages get the bytes
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tmpfs_files_are_sparse_frames() {
        let mut phys = Phys::new(64 * 4096);
        let mut f = TmpFile::new(b"initial".to_vec());
        assert_eq!(f.unwritten(), Some(&b"initial"[..]));
        // 256 GiB away: one frame.
        let far = 256 << 30;
        assert_eq!(f.write(&mut phys, 1, far, b"far"), Ok(3));
        assert_eq!(f.size(), far + 3);
        assert_eq!(phys.used_frames(), 1);
        assert_eq!(f.blocks(), 2 * 8);
        let mut buf = [1u8; 10];
        assert_eq!(f.read(&phys, 0, &mut buf), 10);
        assert_eq!(&buf, b"initial\0\0\0");
        assert_eq!(f.read(&phys, far - 2, &mut buf), 5);
        assert_eq!(&buf[..5], b"\0\0far");
        // Truncating gives the frames back; the cut initial bytes stay cut.
        f.truncate(&mut phys, 3);
        f.truncate(&mut phys, 10);
        phys.reap();
        assert_eq!(phys.used_frames(), 0);
        assert_eq!(f.read(&phys, 0, &mut buf), 10);
        assert_eq!(&buf, b"ini\0\0\0\0\0\0\0");
        drop(f);
        phys.reap();
        assert_eq!(phys.cache.shmem_usage().0, 0);
    }

    #[test]
    fn a_full_tmpfs_is_enospc() {
        let mut phys = Phys::new(64 * 4096);
        let (_, max) = phys.cache.shmem_usage();
        let mut f = TmpFile::default();
        let page = PAGE_SIZE as usize;
        let data = vec![1; (max + 1) * page];
        // What fits is written; then nothing more.
        assert_eq!(f.write(&mut phys, 1, 0, &data), Ok(max * page));
        assert_eq!(
            f.write(&mut phys, 1, (max * page) as u64, b"x"),
            Err(Errno::ENOSPC)
        );
        let mut other = TmpFile::default();
        assert_eq!(other.write(&mut phys, 2, 0, b"x"), Err(Errno::ENOSPC));
        f.truncate(&mut phys, 0);
        assert_eq!(other.write(&mut phys, 2, 0, b"x"), Ok(1));
    }
}
