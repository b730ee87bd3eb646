//! The page cache (Linux's mm/filemap.c): a file's pages in frames, one
//! [`MemObject`] per file, shared by every mapping of the file, by exec and
//! by read() and write().
//!
//! - A tmpfs file's object lives as long as something maps it. The file's
//!   bytes stay in the inode; the object's frames are copies kept coherent:
//!   write() updates both, read() prefers the frames (a MAP_SHARED store
//!   lands there), truncate drops or zeroes them, and the last unmap writes
//!   the frames back into the inode.
//! - A host file is read-only, so its pages never change: its object stays
//!   in the cache after the last unmap, keyed by the file's identity (dev,
//!   ino) and checked against its size and mtime, so a program run many
//!   times maps the same frames each time and the hart's decode cache (one
//!   per frame) stays warm across exec.
//!
//! - The kernel's own files (the vDSO) are cached the same way.
//!
//! Accounting: a cached frame is counted once for the object plus once per
//! page-table entry mapping it. Frames of host and kernel files that nothing maps are
//! the cache's own: `Phys::alloc` evicts them when memory runs out, before
//! any allocation fails, and the kernel drops them all at shutdown.

use super::phys::Phys;
use super::vma::MemObject;
use super::PAGE_SIZE;
use crate::errno::KResult;
use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::{Rc, Weak};

/// Where a file's pages come from (and, for a writable file, go back to).
pub trait PageSource {
    /// The file's size in bytes now.
    fn size(&self) -> u64;
    /// Fills `page` with page `index` of the file: its bytes, zeros past the
    /// end of the file.
    fn read_page(&self, index: u64, page: &mut [u8]) -> KResult<()>;
    /// Takes page `index` back from the cache (only the bytes before the end
    /// of the file count). Read-only sources ignore it.
    fn write_back(&self, index: u64, page: &[u8]);
    /// The file's name, for /proc/PID/maps.
    fn name(&self) -> Vec<u8>;
}

/// A file held in memory by the kernel itself (the embedded init, an
/// executable named on the command line): read-only.
pub struct Bytes {
    pub name: Vec<u8>,
    pub data: Vec<u8>,
}

impl PageSource for Bytes {
    fn size(&self) -> u64 {
        self.data.len() as u64
    }

    fn read_page(&self, index: u64, page: &mut [u8]) -> KResult<()> {
        copy_page_from(&self.data, index, page);
        Ok(())
    }

    fn write_back(&self, _: u64, _: &[u8]) {}

    fn name(&self) -> Vec<u8> {
        self.name.clone()
    }
}

/// Fills `page` with page `index` of `data`, zero past its end.
pub fn copy_page_from(data: &[u8], index: u64, page: &mut [u8]) {
    let start = (index * PAGE_SIZE).min(data.len() as u64) as usize;
    let n = (data.len() - start).min(page.len());
    page[..n].copy_from_slice(&data[start..start + n]);
    page[n..].fill(0);
}

/// A frame of a memory object that is gone, and where its bytes go back
/// to before it is freed (a tmpfs file's pages).
pub struct Orphan {
    pub pfn: usize,
    pub back: Option<(Rc<dyn PageSource>, u64)>,
}

/// Frames of dropped objects, waiting for [`Phys::reap`]. An object may
/// go wherever its last `Rc` is dropped, where no `Phys` is at hand.
pub type Orphans = Rc<RefCell<Vec<Orphan>>>;

/// A cached host file: what identifies its content.
struct HostEntry {
    size: u64,
    mtime: (i64, i64),
    obj: Rc<RefCell<MemObject>>,
}

type Obj = Rc<RefCell<MemObject>>;

/// Every file's page cache, by file.
#[derive(Default)]
pub struct PageCache {
    /// Host files by (dev, ino): the cache holds them.
    host: HashMap<(u64, u64), HostEntry>,
    /// tmpfs files by inode id: their mappings hold them.
    tmpfs: HashMap<u64, Weak<RefCell<MemObject>>>,
    /// Files the kernel makes itself (the vDSO), by name.
    kernel: HashMap<&'static [u8], Obj>,
    /// Every object made here puts its frames here when it goes.
    orphans: Orphans,
}

impl PageCache {
    /// A new object for a file whose pages come from `source`.
    pub fn object(&self, source: Rc<dyn PageSource>) -> Obj {
        MemObject::with_source(&self.orphans, source)
    }

    /// New shared anonymous memory of `pages` pages.
    pub fn anonymous(&self, pages: u64) -> Obj {
        MemObject::new(&self.orphans, pages)
    }

    /// Frames of dropped objects not freed yet (they count as free).
    pub fn orphaned(&self) -> usize {
        self.orphans.borrow().len()
    }

    /// The cached object of host file (dev, ino) if its size and mtime are
    /// still those it was read with.
    pub fn host(&self, dev: u64, ino: u64, size: u64, mtime: (i64, i64)) -> Option<Obj> {
        self.host
            .get(&(dev, ino))
            .filter(|e| e.size == size && e.mtime == mtime)
            .map(|e| e.obj.clone())
    }

    /// Caches host file `key` = (dev, ino, size, mtime) as `obj`, in place
    /// of an older version of the file (whose frames go with its last
    /// mapping).
    pub fn insert_host(&mut self, key: (u64, u64, u64, (i64, i64)), obj: Obj) {
        let (dev, ino, size, mtime) = key;
        self.host.insert((dev, ino), HostEntry { size, mtime, obj });
    }

    /// The object of tmpfs inode `id`, if something maps it.
    pub fn tmpfs(&self, id: u64) -> Option<Obj> {
        self.tmpfs.get(&id).and_then(Weak::upgrade)
    }

    pub fn insert_tmpfs(&mut self, id: u64, obj: &Obj) {
        // Forget objects whose last mapping went, so the map stays small.
        if self.tmpfs.len() >= 64 {
            self.tmpfs.retain(|_, w| w.strong_count() > 0);
        }
        self.tmpfs.insert(id, Rc::downgrade(obj));
    }

    /// The kernel's own file `name`, made by `make` on first use: like a
    /// host file, every process maps the same frames.
    pub fn kernel_file(&mut self, name: &'static [u8], make: impl FnOnce() -> Vec<u8>) -> Obj {
        let orphans = &self.orphans;
        self.kernel
            .entry(name)
            .or_insert_with(|| {
                let data = make();
                let name = name.to_vec();
                MemObject::with_source(orphans, Rc::new(Bytes { name, data }))
            })
            .clone()
    }

    /// The objects the cache holds, for eviction.
    fn held_objects(&self) -> Vec<Obj> {
        let host = self.host.values().map(|e| e.obj.clone());
        host.chain(self.kernel.values().cloned()).collect()
    }
}

impl Phys {
    /// Frees the cached host pages nothing maps (memory pressure).
    /// Returns how many frames came free.
    pub(super) fn reclaim(&mut self) -> usize {
        let mut freed = 0;
        for obj in self.cache.held_objects() {
            freed += obj.borrow_mut().evict_unmapped(self);
        }
        freed
    }

    /// Empties the page cache of host files: at shutdown, once nothing is
    /// mapped, so that every frame is free again.
    pub fn drop_caches(&mut self) {
        self.cache.host.clear();
        self.cache.kernel.clear();
        self.cache.tmpfs.clear();
        self.reap();
    }

    /// Frees the frames of dropped objects, a tmpfs file's after copying
    /// them back into the file. Called wherever objects may have gone
    /// (unmap, exit) and before anything reads a tmpfs file's bytes.
    pub fn reap(&mut self) {
        if self.cache.orphans.borrow().is_empty() {
            return;
        }
        let orphans = std::mem::take(&mut *self.cache.orphans.borrow_mut());
        for Orphan { pfn, back } in orphans {
            if let Some((src, index)) = back {
                src.write_back(index, self.mem.frame(pfn));
            }
            self.put(pfn);
        }
    }
}
