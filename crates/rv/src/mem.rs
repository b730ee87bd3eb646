//! Physical memory: the guest's RAM as one block of host memory, plus the
//! decode cache, which is keyed by physical frame so that every process
//! running the same text shares one decoded copy.
//!
//! Any write that goes through `PhysMem` drops the decoded copy of the frame
//! it touches, so the kernel can never leave stale instructions behind (a
//! freed text frame reused for data, `read()` into a code page, ...).

use crate::exec::CodePage;
use crate::jit::Jit;
use std::rc::Rc;

pub const PAGE_SIZE: usize = 4096;

pub struct PhysMem {
    /// Zero-initialised through `calloc`, so the host commits pages lazily.
    pub(crate) ram: Vec<u8>,
    /// Decoded instructions per frame, created on first execution.
    pub(crate) code: Vec<Option<Rc<CodePage>>>,
    /// Counts decoded pages created, so that every hart can tell whether
    /// its store TLB may map a frame that now holds code.
    pub(crate) code_epoch: u64,
    /// Translated blocks, per frame like `code` and dropped with it.
    pub(crate) jit: Jit,
}

impl PhysMem {
    /// `size` bytes of RAM, rounded down to whole frames.
    pub fn new(size: usize) -> PhysMem {
        let frames = size / PAGE_SIZE;
        PhysMem {
            ram: vec![0; frames * PAGE_SIZE],
            code: vec![None; frames],
            code_epoch: 0,
            jit: Jit::new(frames),
        }
    }

    pub fn frames(&self) -> usize {
        self.code.len()
    }

    pub fn frame(&self, pfn: usize) -> &[u8] {
        &self.ram[pfn * PAGE_SIZE..][..PAGE_SIZE]
    }

    pub fn frame_mut(&mut self, pfn: usize) -> &mut [u8] {
        self.invalidate_code(pfn);
        &mut self.ram[pfn * PAGE_SIZE..][..PAGE_SIZE]
    }

    pub fn zero_frame(&mut self, pfn: usize) {
        self.frame_mut(pfn).fill(0);
    }

    pub fn copy_frame(&mut self, dst: usize, src: usize) {
        self.invalidate_code(dst);
        self.ram
            .copy_within(src * PAGE_SIZE..(src + 1) * PAGE_SIZE, dst * PAGE_SIZE);
    }

    /// Reads `buf.len()` bytes at physical address `pa`.
    pub fn read(&self, pa: u64, buf: &mut [u8]) {
        buf.copy_from_slice(&self.ram[pa as usize..][..buf.len()]);
    }

    /// Writes `data` at physical address `pa`, which may span frames.
    pub fn write(&mut self, pa: u64, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        let first = pa as usize / PAGE_SIZE;
        let last = (pa as usize + data.len() - 1) / PAGE_SIZE;
        for pfn in first..=last {
            self.invalidate_code(pfn);
        }
        self.ram[pa as usize..][..data.len()].copy_from_slice(data);
    }

    pub fn read_u64(&self, pa: u64) -> u64 {
        u64::from_le_bytes(self.ram[pa as usize..][..8].try_into().unwrap())
    }

    pub fn write_u64(&mut self, pa: u64, value: u64) {
        self.write(pa, &value.to_le_bytes());
    }

    /// Declares whether harts on more than one host thread run on this
    /// memory. Until then (the default) translated code makes atomics
    /// plain loads and stores, atomic only because nothing else runs
    /// meanwhile; set this before a second thread starts running harts, and
    /// their AMOs and SCs are the host's locked instructions (the blocks
    /// translated before are dropped).
    pub fn set_parallel(&mut self, parallel: bool) {
        self.jit.set_parallel(parallel);
    }

    /// Whether the frame holds decoded instructions (for tests and stats).
    pub fn has_code(&self, pfn: usize) -> bool {
        self.code[pfn].is_some()
    }

    #[inline]
    pub(crate) fn invalidate_code(&mut self, pfn: usize) -> bool {
        let had = self.code[pfn].take().is_some();
        if had {
            self.jit.forget(pfn);
        }
        had
    }
}
