//! The block translator: hot integer code runs as x86-64 host code, the
//! interpreter stays the reference and does everything else.
//!
//! Blocks are keyed like the decode cache, by physical frame and offset, and
//! live exactly as long as the frame's decoded page: `PhysMem` drops a
//! frame's blocks whenever it drops its decoded instructions (any write to
//! the frame), so self-modifying code, `fence.i` and frames reused for data
//! need nothing more (the jump cache, which lets blocks jump to blocks of
//! other frames, forgets them too). A block never crosses its page, bakes
//! in no virtual address and no translation (every run of a block reads
//! the TLB for its accesses, every jump to another page the fetch TLB),
//! and leaves before anything it cannot do exactly; see `x86`.
//!
//! On other hosts the module compiles to a translator that never
//! translates, and the interpreter runs everything.

#[cfg(target_arch = "x86_64")]
mod asm;
// The only module of the crate allowed unsafe code: see its comment.
#[cfg(target_arch = "x86_64")]
#[allow(unsafe_code)]
mod code_buffer;
#[cfg(target_arch = "x86_64")]
mod x86;

#[cfg(target_arch = "x86_64")]
pub(crate) use imp::*;

#[cfg(not(target_arch = "x86_64"))]
pub(crate) use none::*;

/// The environment variable that, set to anything but `0`, makes new harts
/// interpret everything (for comparisons and bisecting).
const NO_JIT_VAR: &str = "CLEAVE_NO_JIT";

/// Whether harts translate by default.
pub(crate) fn enabled_by_default() -> bool {
    cfg!(target_arch = "x86_64") && std::env::var_os(NO_JIT_VAR).is_none_or(|v| v == "0")
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::code_buffer::{CodeBuffer, Entry, Machine};
    use super::x86::{self, FALLBACK, LINK};
    use crate::hart::Reservation;
    use crate::mmu::Tlb;
    use crate::PAGE_SIZE;
    use std::cell::Cell;
    use std::rc::Rc;

    /// Host code for all blocks of one `PhysMem`; cleared when full.
    const BUFFER_SIZE: usize = 64 << 20;

    /// A block as the dispatcher sees it.
    #[derive(Clone, Copy)]
    pub(crate) struct Block {
        entry: Entry,
        /// Times the dispatcher reached this offset untranslated, or
        /// `NOTHING` when the instruction here has no translation.
        heat: u32,
    }

    /// Code reached this often gets translated; colder code (start-up,
    /// code run once after exec) is cheaper to interpret than to translate.
    const HOT: u32 = 8;
    const NOTHING: u32 = u32::MAX;
    const UNTRIED: Block = Block {
        entry: Entry::NONE,
        heat: 0,
    };

    /// The blocks of one frame, one slot per halfword.
    pub(crate) type BlockPage = [Cell<Block>; PAGE_SIZE / 2];

    pub(crate) struct Jit {
        /// None if the host gave us no executable memory.
        buffer: Option<CodeBuffer>,
        pages: Vec<Option<Rc<BlockPage>>>,
        /// Whether harts on other host threads share the memory: then
        /// atomics are translated to locked host instructions.
        parallel: bool,
    }

    impl Jit {
        pub fn new(frames: usize) -> Jit {
            Jit::with_buffer(frames, BUFFER_SIZE)
        }

        fn with_buffer(frames: usize, bytes: usize) -> Jit {
            Jit {
                buffer: CodeBuffer::new(bytes, &x86::entry()),
                pages: vec![None; frames],
                parallel: false,
            }
        }

        /// Switches between translations for one host thread and for
        /// several (see `PhysMem::set_parallel`); blocks translated for the
        /// other are dropped.
        pub fn set_parallel(&mut self, parallel: bool) {
            if parallel != self.parallel {
                self.parallel = parallel;
                if let Some(buffer) = &mut self.buffer {
                    buffer.clear();
                }
            }
        }

        /// The block table of frame `pfn`, made on first use.
        pub fn page(&mut self, pfn: usize) -> Option<Rc<BlockPage>> {
            self.buffer.as_ref()?;
            let page = self.pages[pfn].get_or_insert_with(|| {
                let slots: Rc<[Cell<Block>]> =
                    std::iter::repeat_n(Cell::new(UNTRIED), PAGE_SIZE / 2).collect();
                slots
                    .try_into()
                    .unwrap_or_else(|_| unreachable!("a page of slots"))
            });
            Some(page.clone())
        }

        /// Drops the blocks of frame `pfn`, whose contents changed.
        pub fn forget(&mut self, pfn: usize) {
            if self.pages[pfn].take().is_some() {
                if let Some(buffer) = &mut self.buffer {
                    buffer.forget_frame((pfn * PAGE_SIZE) as u64);
                }
            }
        }

        /// The block at byte `off` of frame `frame` (whose table is `page`),
        /// translated now if it has become hot. None if no block starts
        /// there (yet).
        #[inline]
        pub fn block(&mut self, page: &BlockPage, frame: &[u8], off: usize) -> Option<Block> {
            let slot = &page[off / 2];
            let block = slot.get();
            if self.buffer.as_ref()?.is_live(block.entry) {
                return Some(block);
            }
            if block.heat < HOT {
                slot.set(Block {
                    heat: block.heat + 1,
                    ..block
                });
                return None;
            }
            if block.heat == NOTHING {
                return None;
            }
            self.translate(page, frame, off)
        }

        #[cold]
        #[inline(never)]
        fn translate(&mut self, page: &BlockPage, frame: &[u8], off: usize) -> Option<Block> {
            let slot = &page[off / 2];
            let buffer = self.buffer.as_mut()?;
            let Some(code) = x86::translate(frame, off, self.parallel) else {
                slot.set(Block {
                    entry: Entry::NONE,
                    heat: NOTHING,
                });
                return None;
            };
            let entry = match buffer.push(&code.code, &code.links) {
                Some(entry) => entry,
                None => {
                    // Full: start over. Every table's entries are now stale
                    // and get translated again when next reached.
                    buffer.clear();
                    buffer.push(&code.code, &code.links)?
                }
            };
            let block = Block { entry, heat: HOT };
            slot.set(block);
            Some(block)
        }

        /// Runs `block` at guest `pc` (on frame `pfn`, whose table is
        /// `page`) with `left` instructions of budget, and whatever blocks it
        /// chains to, on this page or, through the jump cache, on others.
        /// Returns the next pc, the instructions left, and whether the
        /// instruction at the next pc must be interpreted.
        #[allow(clippy::too_many_arguments)]
        pub fn run(
            &mut self,
            block: Block,
            page: &BlockPage,
            x: &mut [u64; 64],
            (f, fcsr, reservation): (&mut [u64; 32], &mut u32, &mut Reservation),
            ram: &mut [u8],
            pfn: usize,
            tlb: &Tlb,
            pc: u64,
            left: u64,
        ) -> (u64, u64, bool) {
            let buffer = self.buffer.as_mut().expect("blocks come from a buffer");
            buffer.remember(pc, (pfn * PAGE_SIZE) as u64, block.entry);
            let m = Machine {
                x,
                f,
                fcsr,
                reservation,
                ram: &mut *ram,
                tlb,
            };
            let exit = buffer.call(block.entry, m, pc, left);
            // A jump to a target on the page of the block it leaves; unless
            // that block was on another page, chain to its block.
            if exit.exit == LINK && (exit.pc ^ pc) >> 12 == 0 {
                let frame = &ram[pfn * PAGE_SIZE..][..PAGE_SIZE];
                if let Some(target) = self.block(page, frame, (exit.pc & 0xfff) as usize) {
                    let buffer = self.buffer.as_mut().expect("blocks come from a buffer");
                    if buffer.is_live(block.entry) {
                        buffer.link(exit.site, target.entry);
                    }
                }
            }
            (exit.pc, exit.left, exit.exit == FALLBACK)
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        const ADDI_X5_1: u32 = 0x0012_8293;
        const ECALL: u32 = 0x0000_0073;
        const JAL_BACK_4: u32 = 0xffdf_f06f;

        fn page_of(words: &[u32]) -> Vec<u8> {
            let mut bytes: Vec<u8> = words.iter().flat_map(|w| w.to_le_bytes()).collect();
            bytes.resize(PAGE_SIZE, 0);
            bytes
        }

        #[test]
        fn a_full_buffer_starts_over_and_blocks_still_run() {
            // `addi x5, x5, 1; ecall` all over the page, and room for a few
            // blocks only, so that the buffer fills again and again.
            let words: Vec<u32> = [ADDI_X5_1, ECALL].repeat(PAGE_SIZE / 8);
            let mut ram = page_of(&words);
            let mut jit = Jit::with_buffer(1, 4096);
            let (tlb, mut x, mut f) = (Tlb::new(), [0u64; 64], [0u64; 32]);
            let mut reservation = Reservation::NONE;
            let page = jit.page(0).unwrap();
            let mut runs = 0;
            for _ in 0..3 {
                for off in (0..PAGE_SIZE).step_by(8) {
                    let frame = ram.clone();
                    let block = (0..=HOT).find_map(|_| jit.block(&page, &frame, off));
                    let block = block.expect("hot code is translated");
                    let pc = 0x10_0000 + off as u64;
                    let exit = jit.run(
                        block,
                        &page,
                        &mut x,
                        (&mut f, &mut 0, &mut reservation),
                        &mut ram,
                        0,
                        &tlb,
                        pc,
                        10,
                    );
                    assert_eq!(exit, (pc + 4, 9, true));
                    runs += 1;
                }
            }
            assert_eq!(x[5], runs);
        }

        #[test]
        fn linked_blocks_stop_exactly_at_the_budget() {
            // addi at 0, jal back to it at 4: blocks [addi, jal] and [jal],
            // linked to each other once both are hot.
            let mut ram = page_of(&[ADDI_X5_1, JAL_BACK_4]);
            let mut jit = Jit::with_buffer(1, 1 << 16);
            let (tlb, mut x, mut f) = (Tlb::new(), [0u64; 64], [0u64; 32]);
            let mut reservation = Reservation::NONE;
            let page = jit.page(0).unwrap();
            let (mut pc, mut left, mut calls) = (0x4000u64, 1001u64, 0);
            while left > 0 {
                let frame = ram.clone();
                if let Some(block) = jit.block(&page, &frame, (pc & 0xfff) as usize) {
                    calls += 1;
                    let (next, rest, fallback) = jit.run(
                        block,
                        &page,
                        &mut x,
                        (&mut f, &mut 0, &mut reservation),
                        &mut ram,
                        0,
                        &tlb,
                        pc,
                        left,
                    );
                    (pc, left) = (next, rest);
                    if !fallback || left == 0 {
                        continue;
                    }
                }
                // Not hot yet, or too little budget for the block: interpret.
                x[5] += (pc == 0x4000) as u64;
                pc ^= 4;
                left -= 1;
            }
            // 1001 instructions from the addi: 501 addi and 500 jal.
            assert!(calls < 10, "linked blocks run without the dispatcher");
            assert_eq!((x[5], pc), (501, 0x4004));
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod none {
    use crate::mmu::Tlb;
    use std::rc::Rc;

    #[derive(Clone, Copy)]
    pub(crate) struct Block;

    pub(crate) type BlockPage = ();

    pub(crate) struct Jit;

    impl Jit {
        pub fn new(_: usize) -> Jit {
            Jit
        }

        pub fn page(&mut self, _: usize) -> Option<Rc<BlockPage>> {
            None
        }

        pub fn forget(&mut self, _: usize) {}

        pub fn set_parallel(&mut self, _: bool) {}

        pub fn block(&mut self, _: &BlockPage, _: &[u8], _: usize) -> Option<Block> {
            None
        }

        #[allow(clippy::too_many_arguments)]
        pub fn run(
            &mut self,
            _: Block,
            _: &BlockPage,
            _: &mut [u64; 64],
            _: (&mut [u64; 32], &mut u32, &mut crate::hart::Reservation),
            _: &mut [u8],
            _: usize,
            _: &Tlb,
            _: u64,
            _: u64,
        ) -> (u64, u64, bool) {
            unreachable!("no blocks without a translator")
        }
    }
}
