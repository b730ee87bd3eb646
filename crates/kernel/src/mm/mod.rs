//! Memory management: physical frames, Sv39 address spaces, demand paging
//! and copy-on-write.
//!
//! - [`Phys`]: the guest's RAM as reference-counted frames, plus the global
//!   counters.
//! - [`Mm`]: one address space, the VMAs ([`Vma`]) saying what may be mapped
//!   and the Sv39 page table saying what is mapped now. The hart walks that
//!   same table, so a store to a copy-on-write page traps as on hardware and
//!   comes back here as [`Mm::handle_fault`].
//! - The system calls (`mmap`, `munmap`, `mprotect`, `brk`, `mremap`,
//!   `madvise`, `msync`) validate their arguments as Linux does and return
//!   its errno values (mmap.rs).
//! - Copy-on-write: fork's half is [`Mm::fork`] (fork.rs), the write
//!   fault's half is `break_cow` (fault.rs).
//! - The page cache (filemap.rs): files' pages in [`MemObject`]s that file
//!   mappings and exec share; a private mapping copies on write.
//! - What each page is mapped to, without faulting (pagemap.rs): for
//!   /proc/PID/pagemap and smaps.
//! - The kernel reaches guest memory through uaccess ([`Mm::read_user`],
//!   [`Mm::write_user`], ...), which faults pages in as the guest would.
//!
//! An `Mm` cannot reach the hart. Whenever an existing translation loses
//! permission or changes frame, the `Mm` records it; the kernel drains that
//! with [`Mm::take_tlb_flush`] before the guest runs again.
//!
//! # Address-space layout (Sv39, user addresses below 0x40_0000_0000)
//!
//! ```text
//! 0x40_0000_0000  TASK_SIZE = STACK_TOP: the initial stack ends here and
//!                 grows down (MAP_GROWSDOWN) by up to the stack limit (8 MiB)
//! 0x3f_f800_0000  MMAP_BASE: mmap without a hint takes the highest free range
//!                 below this (top down, like Linux): ld.so, libraries, malloc
//! 0x2a_aaaa_a000  ELF_ET_DYN_BASE: where a PIE executable is loaded
//!     ...         brk heap: from the end of the executable's bss, upward
//! 0x00_0001_0000  MMAP_MIN_ADDR: nothing is mapped below; non-PIE
//!                 executables usually start here
//! ```
//! These are Linux's own values for riscv64 with Sv39 and no randomization.

mod fault;
mod filemap;
mod fork;
mod mmap;
mod pagemap;
mod pagetable;
mod phys;
mod uaccess;
mod vma;

pub use fault::Fault;
pub use filemap::{
    copy_page_from, Bytes, KernelPage, PageCache, PageSource, ShmemUsage, TmpfsCharge,
};
pub use mmap::{FilePages, MapFile};
pub use pagemap::MappedPage;
pub use phys::{Phys, PAGE_SIZE};
pub use vma::{Backing, MemObject, Vma};

use crate::errno::KResult;
use pagetable::PageTable;
use vma::VmaTree;

/// User addresses are below this: the lower half of Sv39.
pub const TASK_SIZE: u64 = 0x40_0000_0000;
/// Where the initial stack ends.
pub const STACK_TOP: u64 = TASK_SIZE;
/// RLIMIT_STACK's default: how far a MAP_GROWSDOWN stack may grow.
pub const STACK_LIMIT: u64 = 8 << 20;
/// Free space kept below a growsdown VMA (Linux's stack_guard_gap).
pub const STACK_GUARD_GAP: u64 = 256 * PAGE_SIZE;
/// Top of the mmap area: TASK_SIZE less Linux's minimum gap for the stack.
pub const MMAP_BASE: u64 = TASK_SIZE - (128 << 20);
/// Lowest address a mapping may have (vm.mmap_min_addr).
pub const MMAP_MIN_ADDR: u64 = 0x1_0000;
/// Load address of a PIE executable: two thirds of TASK_SIZE, as Linux.
pub const ELF_ET_DYN_BASE: u64 = (TASK_SIZE / 3 * 2) & !(PAGE_SIZE - 1);
/// vm.max_map_count: mmap fails with ENOMEM past this many VMAs.
pub const MAX_MAP_COUNT: usize = 65530;

// Protection and flags, riscv64 (asm-generic) values.
pub const PROT_NONE: u64 = 0;
pub const PROT_READ: u64 = 0x1;
pub const PROT_WRITE: u64 = 0x2;
pub const PROT_EXEC: u64 = 0x4;
pub const PROT_SEM: u64 = 0x8;
pub const PROT_GROWSDOWN: u64 = 0x0100_0000;
pub const PROT_GROWSUP: u64 = 0x0200_0000;

pub const MAP_SHARED: u64 = 0x01;
pub const MAP_PRIVATE: u64 = 0x02;
pub const MAP_SHARED_VALIDATE: u64 = 0x03;
pub const MAP_TYPE: u64 = 0x0f;
pub const MAP_FIXED: u64 = 0x10;
pub const MAP_ANONYMOUS: u64 = 0x20;
pub const MAP_GROWSDOWN: u64 = 0x0100;
pub const MAP_DENYWRITE: u64 = 0x0800;
pub const MAP_EXECUTABLE: u64 = 0x1000;
pub const MAP_LOCKED: u64 = 0x2000;
pub const MAP_NORESERVE: u64 = 0x4000;
pub const MAP_POPULATE: u64 = 0x8000;
pub const MAP_NONBLOCK: u64 = 0x10000;
pub const MAP_STACK: u64 = 0x20000;
pub const MAP_HUGETLB: u64 = 0x40000;
pub const MAP_SYNC: u64 = 0x80000;
pub const MAP_FIXED_NOREPLACE: u64 = 0x100000;

pub const MREMAP_MAYMOVE: u64 = 1;
pub const MREMAP_FIXED: u64 = 2;
pub const MREMAP_DONTUNMAP: u64 = 4;

pub const MS_ASYNC: u64 = 1;
pub const MS_INVALIDATE: u64 = 2;
pub const MS_SYNC: u64 = 4;

pub const MADV_NORMAL: u64 = 0;
pub const MADV_RANDOM: u64 = 1;
pub const MADV_SEQUENTIAL: u64 = 2;
pub const MADV_WILLNEED: u64 = 3;
pub const MADV_DONTNEED: u64 = 4;
pub const MADV_FREE: u64 = 8;
pub const MADV_REMOVE: u64 = 9;
pub const MADV_DONTFORK: u64 = 10;
pub const MADV_DOFORK: u64 = 11;
pub const MADV_HUGEPAGE: u64 = 14;
pub const MADV_NOHUGEPAGE: u64 = 15;
pub const MADV_DONTDUMP: u64 = 16;
pub const MADV_DODUMP: u64 = 17;
pub const MADV_WIPEONFORK: u64 = 18;
pub const MADV_KEEPONFORK: u64 = 19;
pub const MADV_COLD: u64 = 20;
pub const MADV_PAGEOUT: u64 = 21;
pub const MADV_POPULATE_READ: u64 = 22;
pub const MADV_POPULATE_WRITE: u64 = 23;
pub const MADV_DONTNEED_LOCKED: u64 = 24;

/// Memory counters, kept per address space and summed over all of them in
/// [`Phys::stats`] (where the event counts include released spaces).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct MmStats {
    /// Pages mapped to a frame of their own or a shared one; the zero frame
    /// is not counted (Linux's RSS).
    pub resident_pages: u64,
    /// Frames holding page tables.
    pub page_table_pages: u64,
    /// Faults that gave a page a freshly zeroed frame.
    pub zero_fill_faults: u64,
    /// Write faults on copy-on-write pages (other than the zero frame).
    pub cow_faults: u64,
    /// Of those, the ones that copied the frame...
    pub pages_copied: u64,
    /// ...and the ones that found the frame no longer shared and took it
    /// back writable without a copy.
    pub cow_reused: u64,
}

/// What the hart's TLB must forget before this address space runs again.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum TlbFlush {
    #[default]
    None,
    /// `Hart::flush_tlb_page` for each of these addresses.
    Pages(Vec<u64>),
    /// `Hart::flush_tlb`.
    All,
}

/// Past this many pages one full flush is cheaper than page flushes.
const FLUSH_ALL_AFTER: usize = 32;

impl TlbFlush {
    /// Records that the translation of `va` lost permission or changed frame.
    fn add_page(&mut self, va: u64) {
        match self {
            TlbFlush::None => *self = TlbFlush::Pages(vec![va]),
            TlbFlush::Pages(pages) if pages.len() < FLUSH_ALL_AFTER => pages.push(va),
            TlbFlush::Pages(_) => *self = TlbFlush::All,
            TlbFlush::All => {}
        }
    }
}

/// One address space.
pub struct Mm {
    vmas: VmaTree,
    pt: PageTable,
    start_brk: u64,
    brk: u64,
    stack_limit: u64,
    /// RLIMIT_AS: the most bytes the VMAs may span together.
    as_limit: u64,
    stats: MmStats,
    tlb: TlbFlush,
    /// Where the vDSO is mapped (0: nowhere); signal handlers return
    /// through its `__vdso_rt_sigreturn`.
    pub vdso: u64,
    /// Where exec put the argument and environment strings (Linux's
    /// arg_start..arg_end, env_start..env_end): /proc/PID/cmdline and
    /// environ read the process's memory there.
    pub args: std::ops::Range<u64>,
    pub env: std::ops::Range<u64>,
    /// The auxiliary vector exec gave the program (Linux's saved_auxv),
    /// AT_NULL last: a core file's NT_AUXV.
    pub auxv: Vec<(u64, u64)>,
}

impl Mm {
    /// An empty address space: no VMAs, a root table and nothing else.
    pub fn new(phys: &mut Phys) -> KResult<Mm> {
        let pt = PageTable::new(phys)?;
        phys.mm_created();
        Ok(Mm {
            vmas: VmaTree::default(),
            pt,
            start_brk: 0,
            brk: 0,
            stack_limit: STACK_LIMIT,
            as_limit: u64::MAX,
            stats: MmStats::default(),
            tlb: TlbFlush::None,
            vdso: 0,
            args: 0..0,
            env: 0..0,
            auxv: Vec::new(),
        })
    }

    /// Physical address of the root table, for `Hart::set_page_table`.
    pub fn root(&self) -> u64 {
        self.pt.root_pa()
    }

    pub fn stats(&self) -> MmStats {
        MmStats {
            page_table_pages: self.pt.pages(),
            ..self.stats
        }
    }

    /// The VMAs in address order (for /proc/PID/maps).
    pub fn vmas(&self) -> impl Iterator<Item = &Vma> {
        self.vmas.iter()
    }

    /// The VMA containing `va`.
    pub fn find_vma(&self, va: u64) -> Option<&Vma> {
        self.vmas.find(va)
    }

    /// The program break (what `brk(0)` returns).
    pub fn current_brk(&self) -> u64 {
        self.brk
    }

    pub fn start_brk(&self) -> u64 {
        self.start_brk
    }

    /// Sets where the heap starts, once the loader knows where the
    /// executable's bss ends: the break starts at the next page boundary.
    pub fn set_brk_start(&mut self, addr: u64) {
        let start = vma::page_align(addr).unwrap_or(TASK_SIZE);
        self.start_brk = start;
        self.brk = start;
    }

    /// RLIMIT_STACK: how large a growsdown VMA may become.
    pub fn set_stack_limit(&mut self, bytes: u64) {
        self.stack_limit = bytes;
    }

    /// RLIMIT_AS: mmap, mremap, brk and stack growth fail once the VMAs
    /// would span more than `bytes` together (Linux's may_expand_vm).
    pub fn set_as_limit(&mut self, bytes: u64) {
        self.as_limit = bytes;
    }

    /// Linux's total_vm: the pages all VMAs span.
    pub fn total_vm_pages(&self) -> u64 {
        self.vmas
            .iter()
            .map(|v| (v.end - v.start) / PAGE_SIZE)
            .sum()
    }

    /// Linux's may_expand_vm: whether `pages` more stay within RLIMIT_AS.
    fn may_expand_vm(&self, pages: u64) -> bool {
        self.as_limit == u64::MAX
            || self.total_vm_pages().saturating_add(pages) <= self.as_limit / PAGE_SIZE
    }

    /// What to flush from the TLB of a hart running this address space, and
    /// forget it. The kernel calls this after every operation on the `Mm`
    /// and applies the result to each hart whose page table is `root()`; if
    /// none is, the flush is simply dropped, since installing a page table
    /// flushes the whole TLB.
    pub fn take_tlb_flush(&mut self) -> TlbFlush {
        std::mem::take(&mut self.tlb)
    }

    /// Adds to a counter here and in the global sum.
    fn count(&mut self, phys: &mut Phys, f: impl Fn(&mut MmStats)) {
        f(&mut self.stats);
        f(&mut phys.stats);
    }

    /// Frees every frame and table this address space holds. An `Mm` must
    /// end here: dropping one leaks its frames, which the leak tests catch
    /// through [`Phys::free_frames`] and [`Phys::live_mms`].
    pub fn release(self, phys: &mut Phys) {
        let mapped = self.pt.destroy(phys);
        debug_assert_eq!(mapped, self.stats.resident_pages);
        phys.stats.resident_pages -= self.stats.resident_pages;
        drop(self.vmas);
        phys.reap();
        phys.mm_released();
    }
}
