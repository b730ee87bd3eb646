//! Physical frames: the guest's RAM in 4 KiB frames, each with a reference
//! count.
//!
//! A frame's count is the number of holders: page-table entries mapping it,
//! memory objects caching it, page-table pages (count 1). `put` frees the
//! frame when the count reaches zero. Allocation and freeing are O(1): frames
//! never handed out come from a watermark (they are still zero, and the host
//! has not even committed them), freed frames from a stack.
//!
//! Two frames are special: frame 0 is never handed out, so physical address
//! 0 can mean "none", and one frame is the shared zero frame that every
//! untouched-but-read anonymous page maps. The zero frame is not reference
//! counted (like Linux's zero page): `get` and `put` ignore it.

use super::filemap::PageCache;
use super::MmStats;
use crate::errno::{Errno, KResult};
use rv::PhysMem;

pub const PAGE_SIZE: u64 = rv::PAGE_SIZE as u64;
pub const PAGE_SHIFT: u32 = 12;

pub struct Phys {
    pub mem: PhysMem,
    /// Reference count per frame; 0 means free.
    refs: Vec<u32>,
    /// Freed frames, to be zeroed when handed out again.
    free: Vec<u32>,
    /// Frames at or above this index have never been handed out: still zero.
    fresh: usize,
    zero: usize,
    /// Address spaces created and not yet released (leak detection).
    live_mms: usize,
    /// Counters summed over every address space, including released ones.
    pub stats: MmStats,
    /// Files' pages (filemap.rs); its unmapped pages are given back when
    /// memory runs out.
    pub cache: PageCache,
    /// vm.overcommit_memory: 1 never refuses a mapping; 0 (and 2, which
    /// would need commit accounting cleave does not keep) refuse only one
    /// larger than all of memory.
    pub overcommit_memory: u32,
}

impl Phys {
    /// `bytes` of RAM, rounded down to whole frames.
    ///
    /// # Panics
    /// If that is fewer than 16 frames: this is a configuration error of the
    /// host, caught where `--mem` is parsed.
    pub fn new(bytes: usize) -> Phys {
        let mem = PhysMem::new(bytes);
        let frames = mem.frames();
        assert!(frames >= 16, "physical memory too small: {bytes} bytes");
        assert!(frames <= u32::MAX as usize, "physical memory too large");
        let mut refs = vec![0; frames];
        // Frame 0 is reserved, frame 1 is the zero frame; both are pinned.
        refs[0] = 1;
        refs[1] = 1;
        Phys {
            mem,
            refs,
            free: Vec::with_capacity(frames),
            fresh: 2,
            zero: 1,
            live_mms: 0,
            stats: MmStats::default(),
            cache: PageCache::new(frames),
            overcommit_memory: 0,
        }
    }

    /// The shared, always-zero frame.
    #[inline]
    pub fn zero_pfn(&self) -> usize {
        self.zero
    }

    /// A frame with count 1 and unspecified content. When none is left,
    /// the page cache gives back what nothing maps before this fails.
    pub(super) fn alloc(&mut self) -> KResult<usize> {
        if self.free.is_empty() && self.fresh == self.refs.len() {
            self.reap();
            if self.free.is_empty() && self.reclaim() == 0 {
                return Err(Errno::ENOMEM);
            }
        }
        let pfn = if let Some(pfn) = self.free.pop() {
            pfn as usize
        } else {
            self.fresh += 1;
            self.fresh - 1
        };
        self.refs[pfn] = 1;
        Ok(pfn)
    }

    /// A zero-filled frame with count 1, or ENOMEM.
    pub fn alloc_zeroed(&mut self) -> KResult<usize> {
        let watermark = self.fresh;
        let pfn = self.alloc()?;
        // A never-used frame is still zero: do not touch it, so the host
        // commits it only when the guest writes.
        if pfn < watermark {
            self.mem.zero_frame(pfn);
        }
        Ok(pfn)
    }

    /// Takes another reference to an allocated frame.
    #[inline]
    pub fn get(&mut self, pfn: usize) {
        if pfn != self.zero {
            debug_assert!(self.refs[pfn] != 0, "get of free frame {pfn}");
            self.refs[pfn] += 1;
        }
    }

    /// Drops a reference; the frame is freed when none is left.
    #[inline]
    pub fn put(&mut self, pfn: usize) {
        if pfn == self.zero {
            return;
        }
        debug_assert!(self.refs[pfn] != 0, "put of free frame {pfn}");
        self.refs[pfn] -= 1;
        if self.refs[pfn] == 0 {
            self.free.push(pfn as u32);
        }
    }

    /// The frame's reference count (1 for the pinned frames).
    pub fn refcount(&self, pfn: usize) -> u32 {
        self.refs[pfn]
    }

    /// Free frames, counting those of dropped memory objects not reaped
    /// yet.
    pub fn free_frames(&self) -> usize {
        self.free.len() + (self.refs.len() - self.fresh) + self.cache.orphaned()
    }

    /// Frames that can ever be allocated: all but frame 0 and the zero frame.
    pub fn total_frames(&self) -> usize {
        self.refs.len() - 2
    }

    /// Frames in use: what the guest costs now.
    pub fn used_frames(&self) -> usize {
        self.total_frames() - self.free_frames()
    }

    /// Address spaces made by `Mm::new` or `Mm::fork` and not yet released.
    pub fn live_mms(&self) -> usize {
        self.live_mms
    }

    pub(super) fn mm_created(&mut self) {
        self.live_mms += 1;
    }

    pub(super) fn mm_released(&mut self) {
        self.live_mms -= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alloc_free_reuse_and_exhaustion() {
        let mut p = Phys::new(16 * 4096);
        assert_eq!(p.total_frames(), 14);
        assert_eq!(p.free_frames(), 14);
        let frames: Vec<usize> = (0..14).map(|_| p.alloc_zeroed().unwrap()).collect();
        assert!(!frames.contains(&0) && !frames.contains(&p.zero_pfn()));
        assert_eq!(p.alloc_zeroed(), Err(Errno::ENOMEM));
        p.mem.frame_mut(frames[3]).fill(0xaa);
        p.get(frames[3]);
        p.put(frames[3]);
        assert_eq!(p.free_frames(), 0);
        p.put(frames[3]);
        assert_eq!(p.free_frames(), 1);
        // A reused frame comes back zeroed.
        assert_eq!(p.alloc_zeroed(), Ok(frames[3]));
        assert!(p.mem.frame(frames[3]).iter().all(|&b| b == 0));
        for pfn in frames {
            p.put(pfn);
        }
        assert_eq!(p.free_frames(), p.total_frames());
    }

    #[test]
    fn zero_frame_is_not_counted() {
        let mut p = Phys::new(16 * 4096);
        let z = p.zero_pfn();
        p.get(z);
        p.put(z);
        p.put(z);
        assert_eq!(p.refcount(z), 1);
        assert_eq!(p.free_frames(), p.total_frames());
    }
}
