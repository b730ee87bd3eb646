//! The page cache (Linux's mm/filemap.c): a file's pages in frames, one
//! [`MemObject`] per file, shared by every mapping of the file, by exec and
//! by read() and write().
//!
//! - A writable file's object (tmpfs, or a host file on a writable mount)
//!   is found by its inode and lives as long as something maps it. The
//!   file's bytes stay where they are (the inode, the host file); the
//!   object's frames are copies kept coherent: write() updates both, read()
//!   prefers the frames (a MAP_SHARED store lands there), truncate drops or
//!   zeroes them, and msync, fsync and the object's end write its dirty
//!   frames back (those a shared writable mapping has mapped).
//! - A read-only host file's pages never change: its object stays in the
//!   cache after the last unmap, keyed by the file's identity (dev, ino)
//!   and checked against its size and mtime, so a program run many times
//!   maps the same frames each time and the hart's decode cache (one per
//!   frame) stays warm across exec. At most [`MAX_HOST_FILES`] unmapped
//!   host files are kept (each holds an open host fd).
//! - The kernel's own files (the vDSO) are cached the same way.
//!
//! Accounting: a cached frame is counted once for the object plus once per
//! page-table entry mapping it. Frames of host and kernel files that nothing
//! maps are the cache's own: `Phys::alloc` evicts them when memory runs out,
//! before any allocation fails, and the kernel drops them all at shutdown.
//! An object can be dropped anywhere (its last `Rc` may be in a VMA, an
//! executable being loaded, or the cache), so it never frees frames itself:
//! it hands them to [`Phys::reap`].

use super::phys::Phys;
use super::vma::MemObject;
use super::PAGE_SIZE;
use crate::errno::{Errno, KResult};
use std::cell::{Cell, RefCell};
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
    fn write_back(&self, index: u64, page: &[u8]) -> KResult<()>;
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

    fn write_back(&self, _: u64, _: &[u8]) -> KResult<()> {
        Ok(())
    }

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
/// to before it is freed (a dirty page of a writable file).
pub struct Orphan {
    pub pfn: usize,
    pub back: Option<(Rc<dyn PageSource>, u64)>,
}

/// Frames of dropped objects, waiting for [`Phys::reap`]. An object may
/// go wherever its last `Rc` is dropped, where no `Phys` is at hand.
pub type Orphans = Rc<RefCell<Vec<Orphan>>>;

/// The pages tmpfs files hold (Linux's shmem accounting), against a
/// limit: tmpfs's default size, half of RAM. One count for every tmpfs
/// instance. Shared with the objects, which may go anywhere.
pub struct ShmemUsage {
    used: Cell<usize>,
    max: usize,
}

impl ShmemUsage {
    /// Takes `pages` more pages, or ENOSPC.
    pub fn charge(&self, pages: usize) -> KResult<()> {
        let used = self.used.get() + pages;
        if used > self.max {
            return Err(Errno::ENOSPC);
        }
        self.used.set(used);
        Ok(())
    }

    pub fn uncharge(&self, pages: usize) {
        self.used.set(self.used.get() - pages);
    }

    /// (pages used, the limit).
    pub fn usage(&self) -> (usize, usize) {
        (self.used.get(), self.max)
    }
}

/// What a tmpfs inode is charged (Linux's nr_inodes, which counts its
/// extra hard links too, and a page of the size limit for a symlink too
/// long to keep in the inode): the host memory inodes and names cost is
/// bounded with RAM. Given back when dropped.
pub struct TmpfsCharge {
    inodes: Rc<ShmemUsage>,
    /// The inode itself is charged (one the guest made).
    own: bool,
    /// Extra hard links charged.
    links: Cell<usize>,
    page: Option<Rc<ShmemUsage>>,
}

impl TmpfsCharge {
    /// One more hard link, or ENOSPC.
    pub fn link(&self) -> KResult<()> {
        self.inodes.charge(1)?;
        self.links.set(self.links.get() + 1);
        Ok(())
    }

    /// One link fewer: an extra one's charge goes back.
    pub fn unlink(&self) {
        if self.links.get() > 0 {
            self.links.set(self.links.get() - 1);
            self.inodes.uncharge(1);
        }
    }
}

impl Drop for TmpfsCharge {
    fn drop(&mut self) {
        self.inodes
            .uncharge(usize::from(self.own) + self.links.get());
        if let Some(blocks) = &self.page {
            blocks.uncharge(1);
        }
    }
}

/// Linux's SHORT_SYMLINK_LEN: a longer symlink's target takes a page.
const SHORT_SYMLINK_LEN: usize = 128;

/// A frame the kernel holds for data of its own (a pipe buffer): part of
/// the guest's RAM, so --mem bounds it. Its content is unspecified until
/// written. Dropped anywhere, it goes back to `Phys` at the next reap.
pub struct KernelPage {
    pfn: usize,
    orphans: Orphans,
}

impl KernelPage {
    pub fn pfn(&self) -> usize {
        self.pfn
    }
}

impl Drop for KernelPage {
    fn drop(&mut self) {
        let pfn = self.pfn;
        self.orphans.borrow_mut().push(Orphan { pfn, back: None });
    }
}

impl Phys {
    /// A frame for the kernel's own data, or ENOMEM.
    pub fn kernel_page(&mut self) -> KResult<KernelPage> {
        let pfn = self.alloc()?;
        let orphans = self.cache.orphans.clone();
        Ok(KernelPage { pfn, orphans })
    }
}

/// A cached host file: what identifies its content.
struct HostEntry {
    size: u64,
    mtime: (i64, i64),
    obj: Rc<RefCell<MemObject>>,
}

type Obj = Rc<RefCell<MemObject>>;

/// How many host files the cache keeps open while nothing maps them.
const MAX_HOST_FILES: usize = 256;

/// Every file's page cache, by file.
pub struct PageCache {
    /// Host files by (dev, ino): the cache holds them.
    host: HashMap<(u64, u64), HostEntry>,
    /// Writable files by inode id: their mappings hold them.
    by_inode: HashMap<u64, Weak<RefCell<MemObject>>>,
    /// Files the kernel makes itself (the vDSO), by name.
    kernel: HashMap<&'static [u8], Obj>,
    /// Every object made here puts its frames here when it goes.
    orphans: Orphans,
    /// What tmpfs files hold.
    shmem: Rc<ShmemUsage>,
    /// tmpfs inodes (Linux's nr_inodes: half as many as RAM has pages).
    inodes: Rc<ShmemUsage>,
}

impl PageCache {
    /// An empty cache for a RAM of `frames` frames.
    pub fn new(frames: usize) -> PageCache {
        PageCache {
            host: HashMap::new(),
            by_inode: HashMap::new(),
            kernel: HashMap::new(),
            orphans: Orphans::default(),
            shmem: Rc::new(ShmemUsage {
                used: Cell::new(0),
                max: frames / 2,
            }),
            inodes: Rc::new(ShmemUsage {
                used: Cell::new(0),
                max: frames / 2,
            }),
        }
    }

    /// Charges a new tmpfs inode, a symlink to `target_len` bytes if not
    /// 0: ENOSPC when tmpfs is out of inodes (or of pages for the target).
    pub fn charge_tmpfs_inode(&self, target_len: usize) -> KResult<TmpfsCharge> {
        self.inodes.charge(1)?;
        let mut charge = TmpfsCharge {
            inodes: self.inodes.clone(),
            own: true,
            links: Cell::new(0),
            page: None,
        };
        if target_len > SHORT_SYMLINK_LEN {
            self.shmem.charge(1)?;
            charge.page = Some(self.shmem.clone());
        }
        Ok(charge)
    }

    /// The charge of an inode made by the kernel (the initramfs), for the
    /// hard links the guest makes to it.
    pub fn tmpfs_links(&self) -> TmpfsCharge {
        TmpfsCharge {
            inodes: self.inodes.clone(),
            own: false,
            links: Cell::new(0),
            page: None,
        }
    }

    /// tmpfs inodes (used, limit).
    pub fn inode_usage(&self) -> (usize, usize) {
        self.inodes.usage()
    }

    /// A tmpfs file's pages: their frames are its bytes, charged to the
    /// tmpfs limit; `source` gives its size and what never-written pages
    /// hold.
    pub fn shmem_object(&self, source: Rc<dyn PageSource>) -> Obj {
        MemObject::with_source(&self.orphans, source, Some(self.shmem.clone()))
    }

    /// tmpfs pages (used, limit).
    pub fn shmem_usage(&self) -> (usize, usize) {
        self.shmem.usage()
    }

    /// A new object for a file whose pages come from `source`.
    pub fn object(&self, source: Rc<dyn PageSource>) -> Obj {
        MemObject::with_source(&self.orphans, source, None)
    }

    /// A System V shared memory segment of `pages` pages (its frames are
    /// charged with tmpfs's).
    pub fn sysv_segment(&self, pages: u64, key: i32) -> Obj {
        MemObject::sysv(&self.orphans, pages, key, self.shmem.clone())
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
        // Each cached host file holds a host fd: past a bound, the files
        // nothing maps are forgotten (their frames freed at the next reap).
        if self.host.len() >= MAX_HOST_FILES {
            self.host.retain(|_, e| Rc::strong_count(&e.obj) > 1);
        }
        let (dev, ino, size, mtime) = key;
        self.host.insert((dev, ino), HostEntry { size, mtime, obj });
    }

    /// The object of writable file (inode) `id`, if something maps it.
    pub fn by_inode(&self, id: u64) -> Option<Obj> {
        self.by_inode.get(&id).and_then(Weak::upgrade)
    }

    pub fn insert_by_inode(&mut self, id: u64, obj: &Obj) {
        // Forget objects whose last mapping went, so the map stays small.
        if self.by_inode.len() >= 64 {
            self.by_inode.retain(|_, w| w.strong_count() > 0);
        }
        self.by_inode.insert(id, Rc::downgrade(obj));
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
                MemObject::with_source(orphans, Rc::new(Bytes { name, data }), None)
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

    /// vm.drop_caches: gives back the cached pages of host and kernel
    /// files that nothing maps (they are read again when needed).
    pub fn drop_clean_caches(&mut self) {
        self.reclaim();
        self.reap();
    }

    /// Empties the page cache of host files: at shutdown, once nothing is
    /// mapped, so that every frame is free again.
    pub fn drop_caches(&mut self) {
        self.cache.host.clear();
        self.cache.kernel.clear();
        self.cache.by_inode.clear();
        self.reap();
    }

    /// Frees the frames of dropped objects, a writable file's dirty ones
    /// after writing them back to the file. Called wherever objects may
    /// have gone (unmap, exit) and before anything reads a writable file's
    /// bytes.
    pub fn reap(&mut self) {
        if self.cache.orphans.borrow().is_empty() {
            return;
        }
        let orphans = std::mem::take(&mut *self.cache.orphans.borrow_mut());
        for Orphan { pfn, back } in orphans {
            if let Some((src, index)) = back {
                // Nobody is left to tell of a failure (Linux's writeback
                // of a closed file loses its error too).
                let _ = src.write_back(index, self.mem.frame(pfn));
            }
            self.put(pfn);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mm::{
        Fault, FilePages, MapFile, Mm, MAP_ANONYMOUS, MAP_PRIVATE, MAP_SHARED, PROT_READ,
        PROT_WRITE,
    };
    use rv::Access;

    /// A read-only file of `len` bytes, byte i = i % 251.
    fn file(phys: &Phys, len: usize) -> Obj {
        let data = (0..len).map(|i| (i % 251) as u8).collect();
        phys.cache.object(Rc::new(Bytes {
            name: b"/f".to_vec(),
            data,
        }))
    }

    fn map(pages: &Obj) -> MapFile {
        MapFile {
            pages: FilePages::Cache(pages.clone()),
            readable: true,
            writable: true,
        }
    }

    #[test]
    fn mappings_share_cache_frames_and_copy_on_write() {
        let mut phys = Phys::new(64 * 4096);
        let obj = file(&phys, 2 * 4096 + 100);
        let mut mm = Mm::new(&mut phys).unwrap();
        let rw = PROT_READ | PROT_WRITE;
        let private = mm
            .mmap_file(&mut phys, 0, 3 * 4096, rw, MAP_PRIVATE, 0, &map(&obj))
            .unwrap();
        let shared = mm
            .mmap_file(&mut phys, 0, 4 * 4096, rw, MAP_SHARED, 0, &map(&obj))
            .unwrap();
        let mut b = [0u8; 2];
        mm.read_user(&mut phys, private + 4096, &mut b).unwrap();
        assert_eq!(b, [(4096 % 251) as u8, (4097 % 251) as u8]);
        // One frame: the cache's, mapped by the private page.
        let pfn = obj.borrow().cached(1).unwrap();
        assert_eq!(phys.refcount(pfn), 2);
        // A private write copies; the cache keeps the file's bytes.
        mm.write_user(&mut phys, private + 4096, b"p").unwrap();
        assert_eq!(phys.refcount(pfn), 1);
        assert_eq!(phys.mem.frame(pfn)[0], (4096 % 251) as u8);
        // A shared write lands in the cache, where a new private read sees it.
        mm.write_user(&mut phys, shared + 5, b"s").unwrap();
        let pfn0 = obj.borrow().cached(0).unwrap();
        assert_eq!(phys.mem.frame(pfn0)[5], b's');
        mm.read_user(&mut phys, private + 5, &mut b[..1]).unwrap();
        assert_eq!(b[0], b's');
        // The tail of the last page is zero; the page after it is SIGBUS.
        mm.read_user(&mut phys, shared + 2 * 4096 + 100, &mut b[..1])
            .unwrap();
        assert_eq!(b[0], 0);
        let past = mm.handle_fault(&mut phys, shared + 2 * 4096 + 4096, Access::Load);
        assert_eq!(past, Err(Fault::Bus));
        mm.release(&mut phys);
        drop(obj);
        // The object went with its last holder; its frames count as free.
        assert_eq!(phys.used_frames(), 0);
        phys.reap();
        assert_eq!(phys.used_frames(), 0);
        assert_eq!(phys.cache.orphaned(), 0);
    }

    #[test]
    fn a_read_fault_maps_the_cached_pages_around_it() {
        let mut phys = Phys::new(64 * 4096);
        let obj = file(&phys, 20 * 4096);
        // Pages 0..20 but 3 are in the cache.
        let frames: Vec<Option<usize>> = (0..20)
            .map(|i| (i != 3).then(|| obj.borrow_mut().frame(&mut phys, i).unwrap().0))
            .collect();
        let mut mm = Mm::new(&mut phys).unwrap();
        let len = 20 * 4096;
        let at = |mm: &mut Mm, phys: &mut Phys, prot| {
            mm.mmap_file(phys, 0, len, prot, MAP_PRIVATE, 0, &map(&obj))
                .unwrap()
        };
        let written = at(&mut mm, &mut phys, PROT_READ | PROT_WRITE);
        let read = at(&mut mm, &mut phys, PROT_READ);
        // A write fault maps its own copy and nothing else.
        mm.handle_fault(&mut phys, written + 5 * 4096, Access::Store)
            .unwrap();
        assert!(frames.iter().flatten().all(|&pfn| phys.refcount(pfn) == 1));
        // A read fault on page 5 maps the cached pages of its aligned
        // 64 KiB window that lie in the VMA (not the missing page 3).
        let fault = read + 5 * 4096;
        mm.handle_fault(&mut phys, fault, Access::Load).unwrap();
        let window = fault & !0xffff;
        let lo = (window.max(read) - read) / 4096;
        let hi = ((window + 0x10000).min(read + len) - read) / 4096;
        let mut mapped = 0;
        for (i, pfn) in frames.iter().enumerate() {
            if let Some(pfn) = pfn {
                let inside = (lo..hi).contains(&(i as u64));
                assert_eq!(phys.refcount(*pfn), 1 + inside as u32, "page {i}");
                mapped += inside as u64;
            }
        }
        assert!(mapped > 1);
        assert_eq!(mm.stats.resident_pages, 1 + mapped);
        mm.release(&mut phys);
        drop(obj);
        phys.reap();
        assert_eq!(phys.used_frames(), 0);
    }

    /// A writable file of `pages` zero pages that records what comes back.
    struct Recorder {
        pages: u64,
        back: RefCell<Vec<(u64, u8)>>,
    }

    impl PageSource for Recorder {
        fn size(&self) -> u64 {
            self.pages * PAGE_SIZE
        }

        fn read_page(&self, _: u64, page: &mut [u8]) -> KResult<()> {
            page.fill(0);
            Ok(())
        }

        fn write_back(&self, index: u64, page: &[u8]) -> KResult<()> {
            self.back.borrow_mut().push((index, page[0]));
            Ok(())
        }

        fn name(&self) -> Vec<u8> {
            b"/w".to_vec()
        }
    }

    #[test]
    fn only_pages_a_shared_writable_mapping_reached_go_back() {
        let mut phys = Phys::new(64 * 4096);
        let src = Rc::new(Recorder {
            pages: 4,
            back: RefCell::default(),
        });
        let obj = phys.cache.object(src.clone());
        let mut mm = Mm::new(&mut phys).unwrap();
        let rw = PROT_READ | PROT_WRITE;
        let len = 4 * 4096;
        let private = mm
            .mmap_file(&mut phys, 0, len, rw, MAP_PRIVATE, 0, &map(&obj))
            .unwrap();
        let shared = mm
            .mmap_file(&mut phys, 0, len, rw, MAP_SHARED, 0, &map(&obj))
            .unwrap();
        let ro = mm
            .mmap_file(&mut phys, 0, len, PROT_READ, MAP_SHARED, 0, &map(&obj))
            .unwrap();
        let mut b = [0u8; 1];
        // Page 0: read and written privately; page 1: read through the
        // read-only shared map, then made writable; page 2: stored to.
        mm.read_user(&mut phys, private, &mut b).unwrap();
        mm.write_user(&mut phys, private, b"p").unwrap();
        mm.read_user(&mut phys, ro + 4096, &mut b).unwrap();
        mm.write_user(&mut phys, shared + 2 * 4096, b"s").unwrap();
        mm.msync(&phys, shared, len, 0).unwrap();
        assert_eq!(*src.back.borrow(), [(2, b's')]);
        mm.mprotect(&mut phys, ro + 4096, 4096, rw).unwrap();
        src.back.borrow_mut().clear();
        // msync of the private map writes nothing; the last unmap writes
        // the dirty pages, the one made writable included.
        mm.msync(&phys, private, len, 0).unwrap();
        assert!(src.back.borrow().is_empty());
        mm.release(&mut phys);
        drop(obj);
        phys.reap();
        assert_eq!(*src.back.borrow(), [(1, 0), (2, b's')]);
        assert_eq!(phys.used_frames(), 0);
    }

    #[test]
    fn memory_pressure_evicts_unmapped_cache_pages() {
        let mut phys = Phys::new(40 * 4096);
        let obj = file(&phys, 16 * 4096);
        phys.cache
            .insert_host((1, 2, 16 * 4096, (0, 0)), obj.clone());
        let mut mm = Mm::new(&mut phys).unwrap();
        let addr = mm
            .mmap_file(
                &mut phys,
                0,
                16 * 4096,
                PROT_READ,
                MAP_PRIVATE,
                0,
                &map(&obj),
            )
            .unwrap();
        let mut b = [0u8; 1];
        for page in 0..16 {
            mm.read_user(&mut phys, addr + page * 4096, &mut b).unwrap();
        }
        mm.munmap(&mut phys, addr + 8 * 4096, 8 * 4096).unwrap();
        drop(obj);
        // Half of the file stays mapped; the cache holds the other half.
        let cached = phys.used_frames();
        assert!(cached >= 16);
        // Anonymous memory can have every frame but the mapped file pages
        // and the page tables.
        let free = phys.free_frames();
        let rw = PROT_READ | PROT_WRITE;
        let anon = mm
            .mmap(&mut phys, 0, 32 * 4096, rw, MAP_PRIVATE | MAP_ANONYMOUS, 0)
            .unwrap();
        let mut touched = 0;
        while mm
            .write_user(&mut phys, anon + touched * 4096, b"x")
            .is_ok()
        {
            touched += 1;
        }
        assert!(touched as usize >= free + 8 - 1, "{touched} of {free} + 8");
        // The mapped half is still there.
        mm.read_user(&mut phys, addr + 7 * 4096, &mut b).unwrap();
        assert_eq!(b[0], ((7 * 4096) % 251) as u8);
        mm.release(&mut phys);
        phys.drop_caches();
        assert_eq!(phys.used_frames(), 0);
    }
}
