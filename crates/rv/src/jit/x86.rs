//! Translation of a run of decoded RV64 instructions into x86-64: I, M
//! and A, the FP CSRs, and F and D (inline where the host computes
//! RISC-V's answer, see `sse`; through a call into `fpu` otherwise).
//!
//! A block is a trace of up to `MAX_INSNS` instructions on one page, in
//! the order they run: it goes on past a conditional branch (whose taken
//! side leaves the block) and follows jumps to its own page, and it ends at
//! a jump through a register or off the page, or at a jump back into
//! itself. So the common path of a loop is one block that jumps to itself.
//!
//! Blocks run inside the entry code (`entry`), which the code buffer calls
//! as `(env: *mut Env, x: *mut u64, pc: u64, block: *const u8) -> u64`
//! (System V: rdi, rsi, rdx, rcx; next pc in rax). The entry code loads the
//! guest registers of `MAPPED` into host registers and the budget into r9,
//! calls the block, and stores them back when it returns. In between,
//! blocks keep those guest registers in their host registers and every
//! other one in the register files `x` and `Env::f`; each instruction
//! updates them in order, so when a block leaves, before or after any
//! instruction, the guest state is exactly that of the instructions
//! retired (precise traps need nothing more). Blocks use only rax, rcx,
//! r8 and xmm0-xmm2 as scratch (and rdx, the pc, saved on the stack around
//! the instructions that need it), and call nothing but `call_fp`, for FP
//! arithmetic. All pc
//! values are `rdx + offset`, never absolute, because one frame's
//! translation serves every virtual address it is mapped at.
//!
//! Budget: a block starts by taking its instruction count from r9 and, if
//! that would go below zero, gives it back and leaves at once; a block left
//! early gives back what it did not retire. So the count is exact, and
//! blocks may jump straight into each other.
//!
//! Only the fast path of each instruction is translated. Anything else
//! (a TLB miss, an access that straddles a page, an instruction this file
//! does not know) leaves the block *before* the instruction with exit word
//! `FALLBACK`, so the interpreter executes it with its full checks. Memory
//! accesses read the same TLB the interpreter fills, whose entries carry
//! the host offset of their page, so a TLB flush takes effect at once.
//! Loads and stores at fixed offsets from one value share one lookup per
//! block run (see `groups`).
//!
//! Chaining: a jump to a fixed target on the same page goes through a
//! `jmp` that first leads to a stub reporting `LINK`; the dispatcher then
//! points the `jmp` at the target's block. Both blocks belong to the same
//! frame, so they are dropped together, and the frame's translation holds
//! for both. Any other jump (through a register, or to another page) looks
//! its target up in the jump cache, and goes there directly if the fetch
//! TLB still maps the target's page to the frame the cached block was
//! translated from; the cache forgets a frame's blocks with the frame.
//!
//! Long on purpose: the translator is one pass over a block, an arm per
//! instruction class; the encoder is apart, in `asm.rs`.

use super::asm::*;
use super::code_buffer::{call_fp_address, Env, JumpEntry, GROUP_SLOTS, JUMP_CACHE_SIZE};
use crate::decode::{decode, reads_x, writes_x, Insn, Op, X0_SINK};
use crate::fpu;
use crate::hart::Reservation;
use crate::mmu::{TlbEntry, TLB_SIZE};
use crate::PAGE_SIZE;
use std::mem::offset_of;

/// Exit word: the block ended normally.
pub(crate) const NORMAL: u64 = 0;
/// Exit word: interpret the instruction at the returned pc next.
pub(crate) const FALLBACK: u64 = 1;
/// Exit word: left through the unlinked jump at `Env::site`, whose target
/// (the returned pc) is on the same page.
pub(crate) const LINK: u64 = 2;

/// The most guest instructions in one block.
pub(crate) const MAX_INSNS: u32 = 64;

// The TLB lookup below indexes 32-byte entries with `vpn & 511`.
const _: () = assert!(size_of::<TlbEntry>() == 32 && TLB_SIZE == 512);

/// The offset, from a page's own, of its TLB entry: `(va >> TLB_SHIFT) &
/// TLB_INDEX`.
const TLB_SHIFT: u8 = 7;
const TLB_INDEX: i32 = (TLB_SIZE as i32 - 1) << 5;

/// The instruction budget, while blocks run.
const LEFT_REG: u8 = R9;

/// The guest registers that live in host registers while blocks run, as
/// (guest, host): the ones compiled code uses most (gcc hands out a5, a4,
/// a3, ... first; sp for the stack).
const MAPPED: [(u8, u8); 8] = [
    (15, RBX),
    (14, RBP),
    (13, R12),
    (12, R13),
    (11, R14),
    (10, R15),
    (16, R10),
    (2, R11),
];

/// Host registers the System V ABI lets `call_fp` clobber that hold
/// something across it: env, x, pc, the budget and mapped guest registers.
const SAVED_AROUND_CALLS: [u8; 6] = [RDI, RSI, RDX, LEFT_REG, R10, R11];

/// Host registers the entry code must give back to its caller as it found
/// them: the callee-saved ones that `MAPPED` uses.
const CALLEE_SAVED: [u8; 6] = [RBX, RBP, R12, R13, R14, R15];

// Every mapped host register is saved by the entry code or around calls.
const _: () = {
    let mut m = 0;
    while m < MAPPED.len() {
        let host = MAPPED[m].1;
        let (mut i, mut saved) = (0, false);
        while i < CALLEE_SAVED.len() {
            saved |= CALLEE_SAVED[i] == host;
            i += 1;
        }
        i = 0;
        while i < SAVED_AROUND_CALLS.len() {
            saved |= SAVED_AROUND_CALLS[i] == host;
            i += 1;
        }
        assert!(saved, "a mapped host register is not saved");
        m += 1;
    }
};

/// Where a guest register lives while blocks run.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Home {
    Reg(u8),
    /// At this offset of `x`.
    Mem(i32),
}

const HOMES: [Home; 64] = {
    let mut homes = [Home::Mem(0); 64];
    let mut r = 0;
    while r < 64 {
        homes[r] = Home::Mem(r as i32 * 8);
        r += 1;
    }
    let mut m = 0;
    while m < MAPPED.len() {
        homes[MAPPED[m].0 as usize] = Home::Reg(MAPPED[m].1);
        m += 1;
    }
    homes
};

fn home(r: u8) -> Home {
    HOMES[(r & 63) as usize]
}

const TLB_LOAD: i32 = offset_of!(Env, tlb_load) as i32;
const TLB_STORE: i32 = offset_of!(Env, tlb_store) as i32;
const LEFT: i32 = offset_of!(Env, left) as i32;
const EXIT: i32 = offset_of!(Env, exit) as i32;
const SITE: i32 = offset_of!(Env, site) as i32;
const F: i32 = offset_of!(Env, f) as i32;
const FCSR: i32 = offset_of!(Env, fcsr) as i32;

const TLB_FETCH: i32 = offset_of!(Env, tlb_fetch) as i32;
const JUMPS: i32 = offset_of!(Env, jumps) as i32;
const RESERVATION: i32 = offset_of!(Env, reservation) as i32;
const GROUPS: i32 = offset_of!(Env, groups) as i32;
const RESERVED_ADDR: i32 = offset_of!(Reservation, addr) as i32;
const RESERVED_VALUE: i32 = offset_of!(Reservation, value) as i32;

// The jump-cache lookup indexes 32-byte entries with `(pc >> 1) & (size - 1)`.
const _: () = assert!(size_of::<JumpEntry>() == 32);

/// The parts of the assembler that know where guest state lives.
impl Asm {
    /// `opcode reg, src` with the `op r, r/m` opcode `opcode`, where src
    /// is a guest register's home.
    fn src(&mut self, w: bool, opcode: &[u8], reg: u8, src: Home) {
        match src {
            Home::Reg(r) => self.rr(w, opcode, reg, r),
            Home::Mem(disp) => self.mem(w, opcode, reg, RSI, disp),
        }
    }

    /// dst = guest register `r`.
    fn get(&mut self, dst: u8, r: u8) {
        if home(r) != Home::Reg(dst) {
            self.src(true, &[MOV_LOAD], dst, home(r));
        }
    }

    /// Guest register `r` = src. Writes to x0 vanish.
    fn put(&mut self, r: u8, src: u8) {
        if r & 63 == X0_SINK {
            return;
        }
        match home(r) {
            Home::Reg(h) if h == src => {}
            Home::Reg(h) => self.rr(true, &[MOV_LOAD], h, src),
            Home::Mem(disp) => self.mem(true, &[MOV_STORE], src, RSI, disp),
        }
    }

    /// dst = guest register `r` + imm.
    fn addr(&mut self, dst: u8, r: u8, imm: i32) {
        match home(r) {
            Home::Reg(h) => self.mem(true, &[0x8d], dst, h, imm),
            Home::Mem(disp) => {
                self.mem(true, &[MOV_LOAD], dst, RSI, disp);
                if imm != 0 {
                    self.alu_imm(true, ADD, dst, imm);
                }
            }
        }
    }

    /// Flags = guest register `r` compared with `imm`.
    fn cmp_imm(&mut self, r: u8, imm: i32) {
        match home(r) {
            // test r, r: the same flags as cmp r, 0.
            Home::Reg(h) if imm == 0 => self.rr(true, &[0x85], h, h),
            Home::Reg(h) => self.alu_imm(true, CMP, h, imm),
            Home::Mem(disp) => self.alu_mem_imm(CMP, RSI, disp, imm),
        }
    }

    /// Flags = guest register `r1` compared with `r2`.
    fn cmp_regs(&mut self, r1: u8, r2: u8) {
        if r2 == 0 {
            return self.cmp_imm(r1, 0);
        }
        match (home(r1), home(r2)) {
            (Home::Reg(a), b) => self.src(true, &[CMP.1], a, b),
            // cmp r/m, r: also r1 - r2.
            (Home::Mem(disp), Home::Reg(b)) => self.mem(true, &[0x39], b, RSI, disp),
            (Home::Mem(_), b) => {
                self.get(RAX, r1);
                self.src(true, &[CMP.1], RAX, b);
            }
        }
    }

    /// dst = pc + delta.
    fn pc_plus(&mut self, dst: u8, delta: i64) {
        match i32::try_from(delta) {
            Ok(d) => self.mem(true, &[0x8d], dst, RDX, d),
            Err(_) => {
                // mov dst, imm64; add dst, rdx
                self.mov_imm64(dst, delta as u64);
                self.rr(true, &[0x01], RDX, dst);
            }
        }
    }

    /// rcx = the host offset of the page of the guest address in rax (which
    /// stays), so that rcx + rax is the host address, from the load or the
    /// store TLB; returns the jump taken instead when the TLB does not map
    /// the page, or the `size` bytes from rax run off it. Clobbers r8.
    fn lookup(&mut self, size: i32, store: bool) -> Fixup {
        // r8 = &tlb[vpn % 512]
        self.rr(true, &[MOV_STORE], RAX, R8);
        self.shift_imm(true, SHR, R8, TLB_SHIFT);
        self.alu_imm(false, AND, R8, TLB_INDEX);
        let tlb = if store { TLB_STORE } else { TLB_LOAD };
        self.mem(true, &[ADD.1], R8, RDI, tlb);
        // The entry must map the page of the access's *last* byte, which
        // also sends accesses that run off the page to the interpreter.
        if size == 1 {
            self.rr(true, &[MOV_STORE], RAX, RCX);
        } else {
            self.mem(true, &[0x8d], RCX, RAX, size - 1);
        }
        self.shift_imm(true, SHR, RCX, 12);
        self.mem(true, &[CMP.1], RCX, R8, TlbEntry::VPN);
        let miss = self.jcc(CC_NE);
        self.mem(true, &[MOV_LOAD], RCX, R8, TlbEntry::HOST);
        miss
    }

    /// Leaves the block with rax as the next pc and exit word `exit`.
    fn ret(&mut self, exit: u64) {
        if exit != NORMAL {
            self.store_imm(RDI, EXIT, exit as i32);
        }
        self.code.push(0xc3);
    }
}

fn x_disp(r: u8) -> i32 {
    (r & 63) as i32 * 8
}

fn f_disp(r: u8) -> i32 {
    (r & 31) as i32 * 8
}

/// The host register to compute guest register `rd` in: its own, unless
/// that also holds `keep` (a source still to be read), else rax.
fn dest(rd: u8, keep: Option<u8>) -> u8 {
    match home(rd) {
        Home::Reg(h) if keep.is_none_or(|k| home(k) != Home::Reg(h)) => h,
        _ => RAX,
    }
}

/// The entry code through which the code buffer runs every block: saves
/// what the ABI asks, loads the budget and the mapped guest registers,
/// calls the block at rcx, and stores them back.
pub(crate) fn entry() -> Vec<u8> {
    let mut a = Asm::default();
    for r in CALLEE_SAVED {
        a.push(r);
    }
    // The caller left rsp 8 below a multiple of 16; blocks expect the same
    // after the call below pushes the return address.
    let pad = CALLEE_SAVED.len().is_multiple_of(2);
    if pad {
        a.pad_stack(false);
    }
    a.mem(true, &[MOV_LOAD], LEFT_REG, RDI, LEFT);
    for (guest, host) in MAPPED {
        a.mem(true, &[MOV_LOAD], host, RSI, x_disp(guest));
    }
    // call rcx
    a.rr(false, &[0xff], 2, RCX);
    for (guest, host) in MAPPED {
        a.mem(true, &[MOV_STORE], host, RSI, x_disp(guest));
    }
    a.mem(true, &[MOV_STORE], LEFT_REG, RDI, LEFT);
    if pad {
        a.pad_stack(true);
    }
    for r in CALLEE_SAVED.into_iter().rev() {
        a.pop(r);
    }
    a.code.push(0xc3);
    a.code
}

/// A translated block.
pub(crate) struct Block {
    pub code: Vec<u8>,
    /// Per chainable jump: the offset of its rel32, and of the imm32 in
    /// its stub that must hold the rel32's offset in the code buffer.
    pub links: Vec<(usize, usize)>,
}

/// How a trace ends.
enum End {
    /// Before the instruction at this offset, for the interpreter.
    Fallback(usize),
    /// With a jump to this offset of the page.
    ExitTo(usize),
    /// With its last instruction, which leaves (a jump off the page or
    /// through a register).
    Inside,
}

/// Builds one block.
struct Translator {
    a: Asm,
    /// Whether other host threads may access guest RAM while the block
    /// runs: then atomics must be the host's locked instructions.
    parallel: bool,
    /// Byte offset of the block in its page.
    start: usize,
    /// Offset of the `sub r9, imm32` immediate, set once the count is known.
    count_at: usize,
    /// Jumps to the budget bail-out.
    bails: Vec<Fixup>,
    /// Jumps to exits before instruction `n` at `delta`: (jump, n, delta).
    misses: Vec<(Fixup, u32, i64)>,
    /// Taken branches leaving the block after `n` instructions retired,
    /// for the target at `delta`: (jump, n, delta).
    side_exits: Vec<(Fixup, u32, i64)>,
    /// Chainable jumps waiting for their stubs.
    link_jumps: Vec<Fixup>,
    /// The loads and stores that share TLB lookups.
    groups: Groups,
    /// Members of groups whose lookup failed, each to be looked up alone.
    alone: Vec<Alone>,
    /// Displacements of `lea r9, [r9 + disp32]` to fill in with the count
    /// of the instructions after the first `n` (negated if `true`).
    budget_fixes: Vec<(usize, u32, bool)>,
    /// Jumps to the jump-cache lookup, with the target pc in rax.
    lookups: Vec<Fixup>,
}

/// Translates the instructions of `frame` (one page) from byte offset
/// `start` up to the first control transfer, the end of the page or
/// `MAX_INSNS`. None if the first instruction has no translation.
pub(crate) fn translate(frame: &[u8], start: usize, parallel: bool) -> Option<Block> {
    let first = fetch(frame, start)?;
    if !supported(first) {
        return None;
    }
    let mut t = Translator {
        a: Asm::default(),
        parallel,
        start,
        count_at: 0,
        bails: Vec::new(),
        misses: Vec::new(),
        side_exits: Vec::new(),
        link_jumps: Vec::new(),
        groups: Groups::default(),
        alone: Vec::new(),
        budget_fixes: Vec::new(),
        lookups: Vec::new(),
    };
    // sub r9, imm32 (the count, filled in by `finish`); jb bail
    t.a.rr(true, &[0x81], SUB.0, LEFT_REG);
    t.a.imm32(0);
    t.count_at = t.a.code.len() - 4;
    let bail = t.a.jcc(CC_B);
    t.bails.push(bail);

    // The trace first (see `emit`): the instructions in the order they
    // run, and where it ends.
    let mut trace = Vec::new();
    let mut off = start;
    let end = loop {
        let insn = match fetch(frame, off) {
            Some(insn) if supported(insn) => insn,
            // Not ours, or straddling the page: the interpreter's.
            _ => break End::Fallback(off),
        };
        trace.push((off, insn));
        off = match insn.op {
            Op::Jalr => break End::Inside,
            Op::Jal if !(0..PAGE_SIZE as i64).contains(&(off as i64 + insn.imm as i64)) => {
                break End::Inside
            }
            Op::Jal => (off as i64 + insn.imm as i64) as usize,
            _ => off + insn.len() as usize,
        };
        // A jump back into the trace ends it (and links there).
        if trace.len() == MAX_INSNS as usize
            || off >= frame.len()
            || trace.iter().any(|&(o, _)| o == off)
        {
            break End::ExitTo(off);
        }
    };
    t.groups = groups(&trace);
    for (n, &(off, insn)) in trace.iter().enumerate() {
        let delta = off as i64 - start as i64;
        t.emit(insn, n as u32, delta, delta + insn.len() as i64);
    }
    match end {
        End::Fallback(off) => {
            t.a.pc_plus(RAX, off as i64 - start as i64);
            t.a.ret(FALLBACK);
        }
        End::ExitTo(off) => t.exit_to(off as i64 - start as i64),
        End::Inside => {}
    }
    let n = trace.len() as u32;
    Some(t.finish(n))
}

impl Translator {
    /// Leaves for the fixed target pc + delta, through a chainable jump if
    /// the target is on this page.
    fn exit_to(&mut self, delta: i64) {
        let target = self.start as i64 + delta;
        if !(0..PAGE_SIZE as i64).contains(&target) {
            self.a.pc_plus(RAX, delta);
            self.leave();
            return;
        }
        // This block's own start: a loop, no link needed.
        if delta == 0 {
            return self.a.jmp_back(0);
        }
        // The target block expects its own pc in rdx.
        self.a.pc_plus(RDX, delta);
        let jump = self.a.jmp();
        self.link_jumps.push(jump);
    }

    /// Continues at the pc in rax, through the jump cache.
    fn leave(&mut self) {
        let jump = self.a.jmp();
        self.lookups.push(jump);
    }

    /// `lea r9, [r9 + count]`, where count is the number of the block's
    /// instructions after the first `n`, negated if `negate`: the budget
    /// the rest of the block would retire, given back (or taken again).
    /// `finish` fills it in; lea leaves the flags alone.
    fn give_back(&mut self, n: u32, negate: bool) {
        self.a.mem(true, &[0x8d], LEFT_REG, LEFT_REG, i32::MAX);
        let at = self.a.code.len() - 4;
        self.budget_fixes.push((at, n, negate));
    }

    /// Emits instruction number `n` (at `delta` from the block start; the
    /// next one is at `next`). A block is a trace: it goes on after a
    /// conditional branch (the taken side leaves the block) and follows
    /// jumps on its page, so a loop's common path runs as one block.
    fn emit(&mut self, i: Insn, n: u32, delta: i64, next: i64) {
        use Op::*;
        let a = &mut self.a;
        let imm = i.imm;
        let sink = i.rd & 63 == X0_SINK;
        match i.op {
            Jal => {
                if !sink {
                    let d = dest(i.rd, None);
                    a.pc_plus(d, next);
                    a.put(i.rd, d);
                }
                // Followed on the page (the trace goes on there).
                let to = delta + imm as i64;
                if !(0..PAGE_SIZE as i64).contains(&(self.start as i64 + to)) {
                    self.exit_to(to);
                }
            }
            Jalr => {
                // The target first: rd may be rs1.
                a.addr(RAX, i.rs1, imm);
                a.alu_imm(true, AND, RAX, -2);
                if !sink {
                    let d = match dest(i.rd, None) {
                        RAX => RCX,
                        d => d,
                    };
                    a.pc_plus(d, next);
                    a.put(i.rd, d);
                }
                self.leave();
            }
            Beq | Bne | Blt | Bge | Bltu | Bgeu => {
                let cc = match i.op {
                    Beq => CC_E,
                    Bne => CC_NE,
                    Blt => CC_L,
                    Bge => CC_GE,
                    Bltu => CC_B,
                    _ => CC_AE,
                };
                let to = delta + imm as i64;
                if to == 0 {
                    // Back to this block's start: a loop. Jump there
                    // directly, with the budget of the rest given back.
                    self.give_back(n + 1, false);
                    self.a.cmp_regs(i.rs1, i.rs2);
                    self.a.jcc_back(cc, 0);
                    self.give_back(n + 1, true);
                } else {
                    a.cmp_regs(i.rs1, i.rs2);
                    let taken = a.jcc(cc);
                    self.side_exits.push((taken, n + 1, to));
                }
            }
            Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu | Sb | Sh | Sw | Sd | Flw | Fld | Fsw | Fsd => {
                self.access(i, n, delta)
            }
            LrW | ScW | AmoSwapW | AmoAddW | AmoXorW | AmoAndW | AmoOrW | AmoMinW | AmoMaxW
            | AmoMinuW | AmoMaxuW | LrD | ScD | AmoSwapD | AmoAddD | AmoXorD | AmoAndD | AmoOrD
            | AmoMinD | AmoMaxD | AmoMinuD | AmoMaxuD => self.atomic(i, n, delta),
            FmvXD | FmvDX | FmvXW | FmvWX | FsgnjD | FsgnjnD | FsgnjxD => fp_bits(a, i),
            _ if fpu::OPS.contains(&i.op) => {
                // The host's SSE where it gives the exact answer, else (or
                // for the rest) the call to fpu::execute.
                let fast = sse(a, i)
                    .or_else(|| sse_convert(a, i))
                    .or_else(|| fp_compare(a, i))
                    .or_else(|| fp_sign_single(a, i))
                    .or_else(|| fp_class(a, i));
                let done = fast.map(|(slow, done)| {
                    for jump in slow {
                        a.bind(jump);
                    }
                    done
                });
                self.call_fp(i, n, delta);
                if let Some(done) = done {
                    self.a.bind(done);
                }
            }
            Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci => fcsr_access(a, i),
            // x86 keeps every order RISC-V's fences ask for but that of a
            // store before a later load, which only matters when other
            // threads look: then mfence (for every fence, the simplest
            // sufficient rule).
            Fence if self.parallel => a.bytes(&[0x0f, 0xae, 0xf0]),
            Fence => {}
            // The rest only write rd: nothing to do for x0.
            _ if sink => {}
            Lui => {
                let d = dest(i.rd, None);
                a.mov_imm(d, imm);
                a.put(i.rd, d);
            }
            Auipc => {
                let d = dest(i.rd, None);
                a.pc_plus(d, delta + imm as i64);
                a.put(i.rd, d);
            }
            Addi => op_imm(a, i, true, ADD),
            Xori => op_imm(a, i, true, XOR),
            Ori => op_imm(a, i, true, OR),
            Andi => op_imm(a, i, true, AND),
            Addiw => op_imm(a, i, false, ADD),
            Slti => set_cc(a, i, CC_L, true),
            Sltiu => set_cc(a, i, CC_B, true),
            Slt => set_cc(a, i, CC_L, false),
            Sltu => set_cc(a, i, CC_B, false),
            Slli => shift_imm(a, i, true, SHL),
            Srli => shift_imm(a, i, true, SHR),
            Srai => shift_imm(a, i, true, SAR),
            Slliw => shift_imm(a, i, false, SHL),
            Srliw => shift_imm(a, i, false, SHR),
            Sraiw => shift_imm(a, i, false, SAR),
            Add => op_reg(a, i, true, &[ADD.1], true),
            Sub => op_reg(a, i, true, &[SUB.1], false),
            Xor => op_reg(a, i, true, &[XOR.1], true),
            Or => op_reg(a, i, true, &[OR.1], true),
            And => op_reg(a, i, true, &[AND.1], true),
            Addw => op_reg(a, i, false, &[ADD.1], true),
            Subw => op_reg(a, i, false, &[SUB.1], false),
            // imul r, r/m: the low half is the same signed or unsigned.
            Mul => op_reg(a, i, true, &[0x0f, 0xaf], true),
            Mulw => op_reg(a, i, false, &[0x0f, 0xaf], true),
            Mulh => mul_high(a, i, MulHigh::Signed),
            Mulhu => mul_high(a, i, MulHigh::Unsigned),
            Mulhsu => mul_high(a, i, MulHigh::SignedUnsigned),
            Div => div_rem(a, i, true, true, false),
            Divu => div_rem(a, i, true, false, false),
            Rem => div_rem(a, i, true, true, true),
            Remu => div_rem(a, i, true, false, true),
            Divw => div_rem(a, i, false, true, false),
            Divuw => div_rem(a, i, false, false, false),
            Remw => div_rem(a, i, false, true, true),
            Remuw => div_rem(a, i, false, false, true),
            Sll => shift_reg(a, i, true, SHL),
            Srl => shift_reg(a, i, true, SHR),
            Sra => shift_reg(a, i, true, SAR),
            Sllw => shift_reg(a, i, false, SHL),
            Srlw => shift_reg(a, i, false, SHR),
            Sraw => shift_reg(a, i, false, SAR),
            _ => unreachable!("`supported` admits only the operations above"),
        }
    }

    /// An F or D instruction through `call_fp`; if that declines (a
    /// reserved rounding mode), leaves before the instruction.
    fn call_fp(&mut self, i: Insn, n: u32, delta: i64) {
        let index = fpu::OPS.iter().position(|&op| op == i.op);
        let index = index.expect("`supported` admits only fpu::OPS") as u64;
        let packed = index
            | (i.rd as u64) << 8
            | (i.rs1 as u64) << 16
            | (i.rs2 as u64) << 24
            | (i.imm as u32 as u64) << 32;
        let a = &mut self.a;
        // Save what the call may clobber and keep the stack 16-byte aligned
        // at the call (rsp was 8 below a multiple of 16 on entry).
        for r in SAVED_AROUND_CALLS {
            a.push(r);
        }
        let pad = SAVED_AROUND_CALLS.len().is_multiple_of(2);
        if pad {
            a.pad_stack(false);
        }
        // rdx = integer rs1 (pc is saved); mov rsi, packed; mov rax, call_fp; call rax
        if reads_x(i.op) {
            a.get(RDX, i.rs1);
        }
        a.bytes(&[0x48, 0xbe]);
        a.bytes(&packed.to_le_bytes());
        a.bytes(&[0x48, 0xb8]);
        a.bytes(&call_fp_address().to_le_bytes());
        a.bytes(&[0xff, 0xd0]);
        // The value for an integer rd comes back in rdx, which the pops
        // below restore: keep it in rcx.
        a.rr(true, &[MOV_STORE], RDX, RCX);
        if pad {
            a.pad_stack(true);
        }
        for r in SAVED_AROUND_CALLS.into_iter().rev() {
            a.pop(r);
        }
        a.rr(true, &[0x85], RAX, RAX);
        let declined = a.jcc(CC_E);
        self.misses.push((declined, n, delta));
        if writes_x(i.op) {
            self.a.put(i.rd, RCX);
        }
    }

    /// A load or store through the TLB; a miss leaves before it.
    fn access(&mut self, i: Insn, n: u32, delta: i64) {
        use Op::*;
        let (size, store) = match i.op {
            Lb | Lbu => (1, false),
            Lh | Lhu => (2, false),
            Lw | Lwu | Flw => (4, false),
            Ld | Fld => (8, false),
            Sb => (1, true),
            Sh => (2, true),
            Sw | Fsw => (4, true),
            _ => (8, true),
        };
        let float = matches!(i.op, Flw | Fld | Fsw | Fsd);
        // rcx = the page's host offset, and the address is index + disp:
        // the access is at [rcx + index + disp].
        let (index, disp) = match self.groups.of[n as usize] {
            Some((group, off)) => self.group_member(i, n, delta, size, store, group, off),
            None => {
                self.a.addr(RAX, i.rs1, i.imm);
                self.lookup(n, delta, size, store);
                (RAX, 0)
            }
        };
        let a = &mut self.a;
        if store {
            let value = match home(i.rs2) {
                Home::Reg(h) if !float => h,
                _ => {
                    if float {
                        a.mem(true, &[MOV_LOAD], R8, RDI, F);
                        a.mem(true, &[MOV_LOAD], R8, R8, f_disp(i.rs2));
                    } else {
                        a.get(R8, i.rs2);
                    }
                    R8
                }
            };
            if size == 2 {
                a.code.push(0x66);
            }
            // Byte stores of rsp..rdi need a REX prefix to mean spl..dil.
            if size == 1 && (RSP..=RDI).contains(&value) {
                a.code.push(0x40);
            }
            let opcode = if size == 1 { 0x88 } else { MOV_STORE };
            a.mem_indexed(size == 8, &[opcode], value, RCX, index, disp);
            return;
        }
        let (w, opcode): (bool, &[u8]) = match i.op {
            Lb => (true, &[0x0f, 0xbe]),
            Lh => (true, &[0x0f, 0xbf]),
            Lw => (true, &[0x63]),
            Ld | Fld => (true, &[MOV_LOAD]),
            Lbu => (false, &[0x0f, 0xb6]),
            Lhu => (false, &[0x0f, 0xb7]),
            _ => (false, &[MOV_LOAD]),
        };
        if !float {
            let d = dest(i.rd, None);
            a.mem_indexed(w, opcode, d, RCX, index, disp);
            a.put(i.rd, d);
            return;
        }
        a.mem_indexed(w, opcode, RAX, RCX, index, disp);
        if i.op == Flw {
            // NaN-box: or rax, (mov rcx, 0xffff_ffff_0000_0000)
            a.mov_imm64(RCX, 0xffff_ffff_0000_0000);
            a.rr(true, &[0x09], RCX, RAX);
        }
        a.mem(true, &[MOV_LOAD], RCX, RDI, F);
        a.mem(true, &[MOV_STORE], RAX, RCX, f_disp(i.rd));
    }

    /// rcx = the host offset of the page of the guest address in rax (which
    /// stays): the access's host address is rcx + rax. A TLB miss (or an
    /// access of `size` bytes running off the page) leaves before
    /// instruction `n`. Clobbers r8.
    fn lookup(&mut self, n: u32, delta: i64, size: i32, store: bool) {
        let miss = self.a.lookup(size, store);
        self.misses.push((miss, n, delta));
    }

    /// A load or store of group `group`, at `off` from the group's value:
    /// the group's first member looks up the page of the group's whole span
    /// and keeps the host offset in the group's slot; every member takes
    /// it from there. If the span is not on one page in the TLB, the slot
    /// holds 0 and each member looks its own page up. Returns where the
    /// address is: index register + displacement (rs1's host register and
    /// the immediate, or rax).
    #[allow(clippy::too_many_arguments)]
    fn group_member(
        &mut self,
        i: Insn,
        n: u32,
        delta: i64,
        size: i32,
        store: bool,
        group: usize,
        off: i64,
    ) -> (u8, i32) {
        let g = self.groups.list[group];
        let slot = GROUPS + 8 * group as i32;
        let a = &mut self.a;
        let first = g.first == n as usize;
        let jump = if first {
            a.addr(RAX, i.rs1, i.imm + (g.lo - off) as i32);
            let miss = a.lookup((g.hi - g.lo) as i32, g.store);
            a.mem(true, &[MOV_STORE], RCX, RDI, slot);
            miss
        } else {
            a.mem(true, &[MOV_LOAD], RCX, RDI, slot);
            a.rr(true, &[0x85], RCX, RCX);
            a.jcc(CC_E)
        };
        let at = match home(i.rs1) {
            Home::Reg(h) => (h, i.imm),
            Home::Mem(_) => {
                if !first || g.lo != off {
                    a.addr(RAX, i.rs1, i.imm);
                }
                (RAX, 0)
            }
        };
        let resume = self.a.code.len();
        self.alone.push(Alone {
            jump,
            clear: first,
            i,
            n,
            delta,
            size,
            store,
            slot,
            resume,
        });
        at
    }

    /// An AMO or LR/SC. While harts may run on several host threads
    /// (`parallel`), as the host's locked instructions on guest RAM, so that
    /// they stay atomic; while one thread runs every hart, as plain loads
    /// and stores, which nothing can come between (qemu-user does the same
    /// until a program starts its second thread): a locked instruction, or
    /// an unlocked read-modify-write like xadd (microcoded on some hosts),
    /// costs more than the rest of a loop around it. A misaligned address
    /// (a trap) or a TLB miss leaves for the interpreter before the
    /// instruction.
    fn atomic(&mut self, i: Insn, n: u32, delta: i64) {
        use Op::*;
        let w = !matches!(
            i.op,
            LrW | ScW
                | AmoSwapW
                | AmoAddW
                | AmoXorW
                | AmoAndW
                | AmoOrW
                | AmoMinW
                | AmoMaxW
                | AmoMinuW
                | AmoMaxuW
        );
        let size = if w { 8 } else { 4 };
        let parallel = self.parallel;
        let a = &mut self.a;
        a.get(RAX, i.rs1);
        // test rax, size - 1
        a.rr(true, &[0xf7], 0, RAX);
        a.imm32(size - 1);
        let misaligned = a.jcc(CC_NE);
        self.misses.push((misaligned, n, delta));
        match i.op {
            LrW | LrD => {
                self.lookup(n, delta, size, false);
                let a = &mut self.a;
                a.rr(true, &[ADD.1], RCX, RAX);
                a.mem(true, &[MOV_LOAD], R8, RDI, RESERVATION);
                a.mem(true, &[MOV_STORE], RAX, R8, RESERVED_ADDR);
                let load: &[u8] = if w { &[MOV_LOAD] } else { &[0x63] };
                a.mem(true, load, RAX, RCX, 0);
                a.mem(true, &[MOV_STORE], RAX, R8, RESERVED_VALUE);
                a.put(i.rd, RAX);
            }
            ScW | ScD => {
                let a = &mut self.a;
                a.mem(true, &[MOV_LOAD], R8, RDI, RESERVATION);
                a.mem(true, &[CMP.1], RAX, R8, RESERVED_ADDR);
                let unreserved = a.jcc(CC_NE);
                self.lookup(n, delta, size, true);
                // Reserved: compare-and-swap against the value LR read.
                let a = &mut self.a;
                a.rr(true, &[ADD.1], RCX, RAX);
                a.mem(true, &[MOV_LOAD], R8, RDI, RESERVATION);
                a.store_imm(R8, RESERVED_ADDR, Reservation::NO_ADDRESS as i32);
                a.mem(true, &[MOV_LOAD], RAX, R8, RESERVED_VALUE);
                let new = match home(i.rs2) {
                    Home::Reg(h) => h,
                    Home::Mem(_) => {
                        a.get(R8, i.rs2);
                        R8
                    }
                };
                if parallel {
                    a.code.push(LOCK);
                    a.mem(w, &[0x0f, 0xb1], new, RCX, 0);
                } else {
                    // cmp [rcx], eax (rax); jne; mov [rcx], new
                    a.mem(w, &[0x39], RAX, RCX, 0);
                    let differs = a.jcc(CC_NE);
                    a.mem(w, &[MOV_STORE], new, RCX, 0);
                    a.bind(differs);
                }
                // rd = 0 if it stored, else 1: setne al; movzx eax, al
                a.rr(false, &[0x0f, 0x90 | CC_NE], 0, RAX);
                a.rr(false, &[0x0f, 0xb6], RAX, RAX);
                let done = a.jmp();
                // Not reserved: fail, touching no memory.
                a.bind(unreserved);
                a.store_imm(R8, RESERVED_ADDR, Reservation::NO_ADDRESS as i32);
                a.mov_imm(RAX, 1);
                a.bind(done);
                a.put(i.rd, RAX);
            }
            _ => {
                self.lookup(n, delta, size, true);
                let a = &mut self.a;
                a.rr(true, &[ADD.1], RCX, RAX);
                match i.op {
                    AmoSwapW | AmoSwapD if parallel => {
                        // xchg with memory is locked without a prefix.
                        a.get(R8, i.rs2);
                        a.mem(w, &[0x87], R8, RCX, 0);
                    }
                    AmoAddW | AmoAddD if parallel => {
                        a.get(R8, i.rs2);
                        a.code.push(LOCK);
                        a.mem(w, &[0x0f, 0xc1], R8, RCX, 0);
                    }
                    _ => {
                        // new = old OP rs2 in r8; in parallel stored with
                        // lock cmpxchg if memory still holds old, else again.
                        a.mem(w, &[MOV_LOAD], RAX, RCX, 0);
                        let again = a.code.len();
                        a.get(R8, i.rs2);
                        match i.op {
                            AmoSwapW | AmoSwapD => {}
                            AmoAddW | AmoAddD => a.rr(w, &[ADD.1], R8, RAX),
                            AmoXorW | AmoXorD => a.rr(w, &[XOR.1], R8, RAX),
                            AmoAndW | AmoAndD => a.rr(w, &[AND.1], R8, RAX),
                            AmoOrW | AmoOrD => a.rr(w, &[OR.1], R8, RAX),
                            _ => {
                                // Keep old where it wins: cmov<cc> r8, rax
                                // after cmp old, rs2.
                                let cc = match i.op {
                                    AmoMinW | AmoMinD => CC_L,
                                    AmoMaxW | AmoMaxD => CC_G,
                                    AmoMinuW | AmoMinuD => CC_B,
                                    _ => CC_A,
                                };
                                a.rr(w, &[CMP.1], RAX, R8);
                                a.rr(w, &[0x0f, 0x40 | cc], R8, RAX);
                            }
                        }
                        if parallel {
                            a.code.push(LOCK);
                            a.mem(w, &[0x0f, 0xb1], R8, RCX, 0);
                            a.jcc_back(CC_NE, again);
                        } else {
                            a.mem(w, &[MOV_STORE], R8, RCX, 0);
                        }
                        a.rr(true, &[MOV_STORE], RAX, R8);
                    }
                }
                if !w {
                    a.sext32(R8);
                }
                a.put(i.rd, R8);
            }
        }
    }

    /// Emits the out-of-line exits and fills in the instruction count.
    fn finish(mut self, insns: u32) -> Block {
        // Group members that look their page up alone.
        for alone in std::mem::take(&mut self.alone) {
            self.a.bind(alone.jump);
            if alone.clear {
                self.a.store_imm(RDI, alone.slot, 0);
            }
            self.a.addr(RAX, alone.i.rs1, alone.i.imm);
            self.lookup(alone.n, alone.delta, alone.size, alone.store);
            self.a.jmp_back(alone.resume);
        }
        // Taken branches give back the budget of what they skip.
        for (taken, n, delta) in std::mem::take(&mut self.side_exits) {
            self.a.bind(taken);
            if insns > n {
                self.a.alu_imm(true, ADD, LEFT_REG, (insns - n) as i32);
            }
            self.exit_to(delta);
        }
        let a = &mut self.a;
        a.code[self.count_at..self.count_at + 4].copy_from_slice(&insns.to_le_bytes());
        for &(at, n, negate) in &self.budget_fixes {
            let rest = (insns - n) as i32;
            let disp = if negate { -rest } else { rest };
            a.code[at..at + 4].copy_from_slice(&disp.to_le_bytes());
        }
        for bail in self.bails {
            a.bind(bail);
            a.alu_imm(true, ADD, LEFT_REG, insns as i32);
            a.rr(true, &[MOV_STORE], RDX, RAX);
            a.ret(FALLBACK);
        }
        for (miss, n, delta) in self.misses {
            a.bind(miss);
            a.alu_imm(true, ADD, LEFT_REG, (insns - n) as i32);
            a.pc_plus(RAX, delta);
            a.ret(FALLBACK);
        }
        if !self.lookups.is_empty() {
            for jump in self.lookups {
                a.bind(jump);
            }
            look_up_jump(a);
        }
        let mut links = Vec::new();
        for jump in self.link_jumps {
            let site = jump.0;
            a.bind(jump);
            // mov qword [rdi + SITE], imm32 (the site, made absolute by the buffer)
            a.store_imm(RDI, SITE, 0);
            links.push((site, a.code.len() - 4));
            a.rr(true, &[MOV_STORE], RDX, RAX);
            a.ret(LINK);
        }
        Block {
            code: self.a.code,
            links,
        }
    }
}

/// Jumps to the block for the pc in rax if the jump cache has one and the
/// fetch TLB maps the pc to its frame; else leaves normally.
fn look_up_jump(a: &mut Asm) {
    // rcx = &jumps[(pc >> 1) % size]
    a.rr(true, &[MOV_STORE], RAX, RCX);
    a.alu_imm(false, AND, RCX, (JUMP_CACHE_SIZE as i32 - 1) << 1);
    a.shift_imm(false, SHL, RCX, 4);
    a.mem(true, &[ADD.1], RCX, RDI, JUMPS);
    a.mem(true, &[CMP.1], RAX, RCX, offset_of!(JumpEntry, pc) as i32);
    let mut misses = vec![a.jcc(CC_NE)];
    // r8 = &fetch_tlb[vpn % 512]; rdx (free until the jump) = vpn
    a.rr(true, &[MOV_STORE], RAX, R8);
    a.shift_imm(true, SHR, R8, TLB_SHIFT);
    a.alu_imm(false, AND, R8, TLB_INDEX);
    a.mem(true, &[ADD.1], R8, RDI, TLB_FETCH);
    a.rr(true, &[MOV_STORE], RAX, RDX);
    a.shift_imm(true, SHR, RDX, 12);
    a.mem(true, &[CMP.1], RDX, R8, TlbEntry::VPN);
    misses.push(a.jcc(CC_NE));
    a.mem(true, &[MOV_LOAD], RDX, R8, TlbEntry::PA);
    a.mem(
        true,
        &[CMP.1],
        RDX,
        RCX,
        offset_of!(JumpEntry, frame) as i32,
    );
    misses.push(a.jcc(CC_NE));
    // The block expects its pc in rdx. jmp [rcx + code]
    a.rr(true, &[MOV_STORE], RAX, RDX);
    a.mem(false, &[0xff], 4, RCX, offset_of!(JumpEntry, code) as i32);
    for miss in misses {
        a.bind(miss);
    }
    a.ret(NORMAL);
}

/// rd = rs1 OP imm (64-bit, or 32-bit and sign-extended).
fn op_imm(a: &mut Asm, i: Insn, w: bool, op: Alu) {
    let d = dest(i.rd, None);
    match home(i.rs1) {
        // x0 OP imm is imm (a 12-bit immediate, so also for addiw).
        _ if i.rs1 == 0 && op != AND => a.mov_imm(d, i.imm),
        Home::Reg(s) if w && op == ADD && s != d => a.mem(true, &[0x8d], d, s, i.imm),
        _ => {
            a.get(d, i.rs1);
            // Adding 0 is a move (or, for addiw, just the sign extension).
            if i.imm != 0 || op != ADD {
                a.alu_imm(w, op, d, i.imm);
            }
            if !w {
                a.sext32(d);
            }
        }
    }
    a.put(i.rd, d);
}

/// rd = rs1 OP rs2 with the `op r, r/m` opcode `opcode`.
fn op_reg(a: &mut Asm, i: Insn, w: bool, opcode: &[u8], commutative: bool) {
    // x0 as the operand that changes nothing (`mv` is `add rd, x0, rs2`):
    // rd = the other one.
    let identity = [[ADD.1], [OR.1], [XOR.1], [SUB.1]]
        .iter()
        .any(|o| o == opcode);
    let only = match (i.rs1, i.rs2) {
        (0, s) if identity && commutative => Some(s),
        (s, 0) if identity => Some(s),
        _ => None,
    };
    if let Some(s) = only {
        let d = dest(i.rd, None);
        a.get(d, s);
        if !w {
            a.sext32(d);
        }
        return a.put(i.rd, d);
    }
    let (mut s1, mut s2) = (i.rs1, i.rs2);
    // rd = rs2 OP rs1 computes straight into rd's host register.
    if commutative && home(s2) == home(i.rd) {
        (s1, s2) = (s2, s1);
    }
    let d = dest(i.rd, (s1 != s2).then_some(s2));
    a.get(d, s1);
    a.src(w, opcode, d, home(s2));
    if !w {
        a.sext32(d);
    }
    a.put(i.rd, d);
}

/// Group-3 digits of `f7 /d`.
const MUL: u8 = 4;
const IMUL: u8 = 5;
const DIV: u8 = 6;
const IDIV: u8 = 7;
const NEG: u8 = 3;

#[derive(PartialEq)]
enum MulHigh {
    Signed,
    Unsigned,
    SignedUnsigned,
}

/// rd = the high 64 bits of rs1 * rs2. mul and imul leave them in rdx,
/// which holds the pc: it is saved around them.
fn mul_high(a: &mut Asm, i: Insn, kind: MulHigh) {
    a.get(RCX, i.rs2);
    a.get(RAX, i.rs1);
    // mulhsu(a, b) = mulhu(a, b) - (a < 0 ? b : 0): r8 = the correction.
    if kind == MulHigh::SignedUnsigned {
        a.rr(true, &[MOV_STORE], RAX, R8);
        a.shift_imm(true, SAR, R8, 63);
        a.rr(true, &[AND.1], R8, RCX);
    }
    a.push(RDX);
    let digit = if kind == MulHigh::Signed { IMUL } else { MUL };
    a.rr(true, &[0xf7], digit, RCX);
    a.rr(true, &[MOV_STORE], RDX, RAX);
    a.pop(RDX);
    if kind == MulHigh::SignedUnsigned {
        a.rr(true, &[SUB.1], RAX, R8);
    }
    a.put(i.rd, RAX);
}

/// rd = rs1 / rs2 or rs1 % rs2 (`w` false: of the low words, sign-extended),
/// with RISC-V's results where x86 would trap: dividing by zero gives all
/// ones and leaves the remainder rs1; dividing by -1 negates (so the
/// overflowing MIN / -1 is MIN) and leaves remainder 0. div and idiv take
/// the dividend in rdx:rax, and rdx holds the pc: it is saved around them.
fn div_rem(a: &mut Asm, i: Insn, w: bool, signed: bool, rem: bool) {
    a.get(RCX, i.rs2);
    a.get(RAX, i.rs1);
    a.rr(w, &[0x85], RCX, RCX);
    let by_zero = a.jcc(CC_E);
    let by_minus_one = signed.then(|| {
        a.alu_imm(w, CMP, RCX, -1);
        a.jcc(CC_E)
    });
    a.push(RDX);
    if signed {
        // cqo or cdq: sign-extend rax into rdx.
        if w {
            a.code.push(0x48);
        }
        a.code.push(0x99);
    } else {
        a.rr(false, &[XOR.1], RDX, RDX);
    }
    a.rr(w, &[0xf7], if signed { IDIV } else { DIV }, RCX);
    if rem {
        a.rr(true, &[MOV_STORE], RDX, RAX);
    }
    a.pop(RDX);
    let mut done = vec![a.jmp()];
    if let Some(by_minus_one) = by_minus_one {
        a.bind(by_minus_one);
        if rem {
            a.rr(false, &[XOR.1], RAX, RAX);
        } else {
            a.rr(w, &[0xf7], NEG, RAX);
        }
        done.push(a.jmp());
    }
    a.bind(by_zero);
    if !rem {
        a.mov_imm(RAX, -1);
    }
    for jump in done {
        a.bind(jump);
    }
    if !w {
        a.sext32(RAX);
    }
    a.put(i.rd, RAX);
}

/// The fast path of conversions between doubles and integers, on the
/// host's cvttsd2si and cvtsi2sd, with `sse`'s slow-path protocol:
///
/// - double to integer in round-toward-zero (what C's casts compile to),
///   once fflags has NX: truncation is what cvttsd2si does, and when the
///   value fits, that is RISC-V's result and its only flag is NX. A NaN,
///   an infinity or a value out of range gives the host's "integer
///   indefinite" (the most negative integer), which takes the slow path
///   (RISC-V saturates and raises NV), as does that integer itself;
/// - a 32-bit integer to double: always exact, no flag, any valid mode;
/// - a 64-bit integer to double in round-to-nearest-even once fflags has
///   NX (the host rounds the same; the one flag possible is NX).
fn sse_convert(a: &mut Asm, i: Insn) -> Option<(Vec<Fixup>, Fixup)> {
    use Op::*;
    // The fcsr bits that must be `want` for the fast path.
    let nx = fpu::flags::NX as i32;
    let (mask, want) = match (i.op, i.rm()) {
        (FcvtLD | FcvtWD, 1) => (nx, nx),
        (FcvtLD | FcvtWD, 7) => (0xe0 | nx, 1 << 5 | nx),
        (FcvtDW, 0..=4) => (0, 0),
        (FcvtDW | FcvtDL, 7) => (0xe0 | nx, nx),
        (FcvtDL, 0) => (nx, nx),
        _ => return None,
    };
    let mut slow = Vec::new();
    if mask != 0 {
        a.mem(true, &[MOV_LOAD], R8, RDI, FCSR);
        a.mem(false, &[MOV_LOAD], RCX, R8, 0);
        a.alu_imm(false, AND, RCX, mask);
        a.alu_imm(false, CMP, RCX, want);
        slow.push(a.jcc(CC_NE));
    }
    // rax = f
    a.mem(true, &[MOV_LOAD], RAX, RDI, F);
    if matches!(i.op, FcvtLD | FcvtWD) {
        let w = i.op == FcvtLD;
        // cvttsd2si rcx (ecx), [rax + rs1]
        a.code.push(0xf2);
        a.mem(w, &[0x0f, 0x2c], RCX, RAX, f_disp(i.rs1));
        // cmp rcx, 1 overflows only for the most negative integer.
        a.alu_imm(w, CMP, RCX, 1);
        slow.push(a.jcc(CC_O));
        if !w {
            a.sext32(RCX);
        }
        a.put(i.rd, RCX);
    } else {
        let w = i.op == FcvtDL;
        a.get(RCX, i.rs1);
        // cvtsi2sd xmm0, rcx (ecx); movsd [rax + rd], xmm0
        a.code.push(0xf2);
        a.rr(w, &[0x0f, 0x2a], 0, RCX);
        a.code.push(0xf2);
        a.mem(false, &[0x0f, 0x11], 0, RAX, f_disp(i.rd));
    }
    Some((slow, a.jmp()))
}

/// The F and D instructions that only move bits: moves between register
/// files and double-precision sign injection (fmv.d, fneg.d, fabs.d).
/// Single-precision sign injection reads its operands unboxed and goes
/// through `call_fp`.
fn fp_bits(a: &mut Asm, i: Insn) {
    use Op::*;
    a.mem(true, &[MOV_LOAD], R8, RDI, F);
    match i.op {
        FmvXD | FmvXW => {
            let d = dest(i.rd, None);
            // mov or movsxd d, [r8 + rs1]
            let op = if i.op == FmvXD { MOV_LOAD } else { 0x63 };
            a.mem(true, &[op], d, R8, f_disp(i.rs1));
            a.put(i.rd, d);
        }
        FmvDX => {
            a.get(RAX, i.rs1);
            a.mem(true, &[MOV_STORE], RAX, R8, f_disp(i.rd));
        }
        FmvWX => {
            a.get(RAX, i.rs1);
            a.mem(false, &[MOV_STORE], RAX, R8, f_disp(i.rd));
            a.mem(false, &[0xc7], 0, R8, f_disp(i.rd) + 4);
            a.imm32(-1);
        }
        _ => {
            // rcx's sign bit = the sign to give rs1 xor rs1's own (or, for
            // fsgnjx, rs2's sign), isolated; then flip rax's by it.
            a.mem(true, &[MOV_LOAD], RAX, R8, f_disp(i.rs1));
            a.mem(true, &[MOV_LOAD], RCX, R8, f_disp(i.rs2));
            if i.op == FsgnjnD {
                a.rr(true, &[0xf7], 2, RCX);
            }
            if i.op != FsgnjxD {
                a.rr(true, &[XOR.1], RCX, RAX);
            }
            a.shift_imm(true, SHR, RCX, 63);
            a.shift_imm(true, SHL, RCX, 63);
            a.rr(true, &[XOR.1], RAX, RCX);
            a.mem(true, &[MOV_STORE], RAX, R8, f_disp(i.rd));
        }
    }
}

/// Jumps to the slow path unless the single-precision registers `regs`
/// (in the file at rax) are NaN-boxed: RISC-V reads any other value as the
/// canonical NaN, which `fpu` handles.
fn check_boxed(a: &mut Asm, regs: &[u8], slow: &mut Vec<Fixup>) {
    for &r in regs {
        // cmp dword [rax + f_disp + 4], -1
        a.mem(false, &[0x83], CMP.0, RAX, f_disp(r) + 4);
        a.code.push(0xff);
        slow.push(a.jcc(CC_NE));
    }
}

/// The fast path of feq, flt, fle, fmin and fmax (single and double): when
/// neither operand is a NaN, the host's ucomiss/ucomisd orders them as
/// RISC-V does (-0 equal to +0) and no flag is raised; the minimum of
/// equal operands is the one with the sign set (bitwise or: -0 for ±0,
/// else they are the same bits), the maximum the other (and). NaNs, which
/// may raise NV or give the other operand, take the slow path.
fn fp_compare(a: &mut Asm, i: Insn) -> Option<(Vec<Fixup>, Fixup)> {
    use Op::*;
    let single = match i.op {
        FeqS | FltS | FleS | FminS | FmaxS => true,
        FeqD | FltD | FleD | FminD | FmaxD => false,
        _ => return None,
    };
    let mut slow = Vec::new();
    a.mem(true, &[MOV_LOAD], RAX, RDI, F);
    if single {
        check_boxed(a, &[i.rs1, i.rs2], &mut slow);
    }
    // movss/movsd xmm0, [rax + rs1]; ucomiss/ucomisd xmm0, [rax + rs2]
    a.code.push(if single { 0xf3 } else { 0xf2 });
    a.mem(false, &[0x0f, 0x10], 0, RAX, f_disp(i.rs1));
    if !single {
        a.code.push(0x66);
    }
    a.mem(false, &[0x0f, 0x2e], 0, RAX, f_disp(i.rs2));
    // Unordered: a NaN.
    slow.push(a.jcc(CC_P));
    if matches!(i.op, FeqS | FltS | FleS | FeqD | FltD | FleD) {
        // ZF: equal, CF: rs1 < rs2. setcc al; movzx d, al
        let cc = match i.op {
            FeqS | FeqD => CC_E,
            FltS | FltD => CC_B,
            _ => CC_BE,
        };
        let d = dest(i.rd, None);
        a.rr(false, &[0x0f, 0x90 | cc], 0, RCX);
        a.rr(false, &[0x0f, 0xb6], d, RCX);
        a.put(i.rd, d);
        return Some((slow, a.jmp()));
    }
    // rcx = rs1, r8 = rs2 (NaN-boxed singles stay boxed through or/and).
    let min = matches!(i.op, FminS | FminD);
    a.mem(true, &[MOV_LOAD], RCX, RAX, f_disp(i.rs1));
    a.mem(true, &[MOV_LOAD], R8, RAX, f_disp(i.rs2));
    let differ = a.jcc(CC_NE);
    let op = if min { OR } else { AND };
    a.rr(true, &[op.1], RCX, R8);
    let both = a.jmp();
    a.bind(differ);
    // min: rs2 if rs1 > rs2 (CF and ZF clear); max: rs2 if rs1 < rs2.
    let cc = if min { CC_A } else { CC_B };
    a.rr(true, &[0x0f, 0x40 | cc], RCX, R8);
    a.bind(both);
    a.mem(true, &[MOV_STORE], RCX, RAX, f_disp(i.rd));
    Some((slow, a.jmp()))
}

/// Single-precision sign injection of NaN-boxed operands, on the low
/// halves; the result is boxed.
fn fp_sign_single(a: &mut Asm, i: Insn) -> Option<(Vec<Fixup>, Fixup)> {
    use Op::*;
    if !matches!(i.op, FsgnjS | FsgnjnS | FsgnjxS) {
        return None;
    }
    let mut slow = Vec::new();
    a.mem(true, &[MOV_LOAD], RAX, RDI, F);
    check_boxed(a, &[i.rs1, i.rs2], &mut slow);
    // ecx's sign bit = the sign to give rs1 xor rs1's own (fsgnjx: rs2's
    // sign); r8d = rs1 with its sign flipped by that.
    a.mem(false, &[MOV_LOAD], R8, RAX, f_disp(i.rs1));
    a.mem(false, &[MOV_LOAD], RCX, RAX, f_disp(i.rs2));
    if i.op == FsgnjnS {
        a.rr(false, &[0xf7], 2, RCX);
    }
    if i.op != FsgnjxS {
        a.rr(false, &[XOR.1], RCX, R8);
    }
    a.alu_imm(false, AND, RCX, i32::MIN);
    a.rr(false, &[XOR.1], R8, RCX);
    a.mem(false, &[MOV_STORE], R8, RAX, f_disp(i.rd));
    a.mem(false, &[0xc7], 0, RAX, f_disp(i.rd) + 4);
    a.imm32(-1);
    Some((slow, a.jmp()))
}

/// fclass.s and fclass.d: the class of the value's bits, as one bit of
/// rd (RISC-V's order: -inf, -normal, -subnormal, -0, +0, +subnormal,
/// +normal, +inf, signaling NaN, quiet NaN). An unboxed single, which
/// reads as the canonical NaN, takes the slow path.
fn fp_class(a: &mut Asm, i: Insn) -> Option<(Vec<Fixup>, Fixup)> {
    use Op::*;
    let single = match i.op {
        FclassS => true,
        FclassD => false,
        _ => return None,
    };
    let (w, frac_bits) = if single { (false, 23u32) } else { (true, 52) };
    let mut slow = Vec::new();
    a.mem(true, &[MOV_LOAD], RAX, RDI, F);
    if single {
        check_boxed(a, &[i.rs1], &mut slow);
    }
    // rax = the bits; r8 = the sign; rax = the bits without the sign,
    // shifted left once, so that exponent and fraction compare as one.
    a.mem(w, &[MOV_LOAD], RAX, RAX, f_disp(i.rs1));
    a.rr(w, &[MOV_STORE], RAX, R8);
    a.shift_imm(w, SHR, R8, if single { 31 } else { 63 });
    a.rr(w, &[ADD.1], RAX, RAX);
    // ecx = the class of the magnitude as if positive (4 zero, 5
    // subnormal, 6 normal, 7 infinity; 8 and 9 the NaNs, signless).
    let ones = 0x7ffu64 >> (52 - frac_bits.min(52)) << (frac_bits + 1);
    let ones = if single { 0xffu64 << 24 } else { ones };
    let normal = 1u64 << (frac_bits + 1);
    a.mov_imm64(RCX, ones);
    a.rr(w, &[CMP.1], RAX, RCX);
    let special = a.jcc(CC_AE);
    let mut signed = Vec::new();
    a.mov_imm64(RCX, normal);
    a.rr(w, &[CMP.1], RAX, RCX);
    a.mov_imm(RCX, 6);
    signed.push(a.jcc(CC_AE));
    a.rr(w, &[0x85], RAX, RAX);
    a.mov_imm(RCX, 4);
    signed.push(a.jcc(CC_E));
    a.mov_imm(RCX, 5);
    signed.push(a.jmp());
    a.bind(special);
    a.mov_imm(RCX, 7);
    signed.push(a.jcc(CC_E));
    // A NaN: quiet if the fraction's top bit is set. bt rax, frac_bits;
    // ecx = 8 + CF (adc ecx, 0)
    a.rr(true, &[0x0f, 0xba], 4, RAX);
    a.code.push(frac_bits as u8);
    a.mov_imm(RCX, 8);
    a.alu_imm(false, Alu(2, 0x13), RCX, 0);
    let nan = a.jmp();
    // Negative values mirror: class 7 - ecx.
    for jump in signed {
        a.bind(jump);
    }
    a.rr(true, &[0x85], R8, R8);
    let positive = a.jcc(CC_E);
    a.rr(false, &[0xf7], NEG, RCX);
    a.alu_imm(false, ADD, RCX, 7);
    a.bind(positive);
    a.bind(nan);
    // rd = 1 << ecx
    let d = dest(i.rd, None);
    let d = if d == RCX { RAX } else { d };
    a.mov_imm(d, 1);
    a.rr(false, &[0xd3], SHL, d);
    a.put(i.rd, d);
    Some((slow, a.jmp()))
}

/// The fast path of the F and D arithmetic that SSE does exactly as RISC-V:
/// add, subtract, multiply, divide, square root and (on hosts with FMA3)
/// the fused multiply-adds, in round-to-nearest-even, once fflags has NX.
///
/// IEEE 754 makes these correctly rounded on both, so they give the same
/// bits and raise the same flags whenever the host result is finite and
/// larger in magnitude than the smallest normal (as for `fpu`'s own host
/// fast path): then nothing was invalid, divided by zero, overflowed or
/// underflowed (the exact value is at least the smallest normal, so not
/// tiny even before rounding), and NaN results (canonical on RISC-V, with
/// a payload on the host) are excluded too. The one flag left is NX, and
/// with NX already accrued it cannot change, so no MXCSR flag need be read:
/// reading them waits for every FP operation in flight, which costs more
/// than the arithmetic. Code that uses FP at all has NX set after its first
/// inexact operation; until then, and for anything else (another rounding
/// mode, a single-precision operand that is not NaN-boxed), the returned
/// slow-path jumps lead to `call_fp`, with nothing changed. The fast path
/// ends with the returned jump. None for instructions without a fast path.
fn sse(a: &mut Asm, i: Insn) -> Option<(Vec<Fixup>, Fixup)> {
    use Op::*;
    let (single, op) = match i.op {
        FaddS => (true, 0x58),
        FsubS => (true, 0x5c),
        FmulS => (true, 0x59),
        FdivS => (true, 0x5e),
        FsqrtS => (true, 0x51),
        FaddD => (false, 0x58),
        FsubD => (false, 0x5c),
        FmulD => (false, 0x59),
        FdivD => (false, 0x5e),
        FsqrtD => (false, 0x51),
        // VEX 213 forms: xmm0 = xmm0 * xmm1 +- xmm2, negated or not.
        FmaddS | FmaddD => (i.op == FmaddS, 0xa9),
        FmsubS | FmsubD => (i.op == FmsubS, 0xab),
        FnmsubS | FnmsubD => (i.op == FnmsubS, 0xad),
        FnmaddS | FnmaddD => (i.op == FnmaddS, 0xaf),
        _ => return None,
    };
    let fused = op >= 0xa9;
    if fused && !std::arch::is_x86_feature_detected!("fma") {
        return None;
    }
    // Round to nearest even: statically, or dynamically with frm = 0.
    let frm_mask = match i.rm() {
        0 => 0,
        7 => 0xe0,
        _ => return None,
    };
    let mut slow = Vec::new();
    // test dword [fcsr], NX | frm_mask; the test must give exactly NX.
    a.mem(true, &[MOV_LOAD], R8, RDI, FCSR);
    a.mem(false, &[MOV_LOAD], RCX, R8, 0);
    a.alu_imm(false, AND, RCX, frm_mask | fpu::flags::NX as i32);
    a.alu_imm(false, CMP, RCX, fpu::flags::NX as i32);
    slow.push(a.jcc(CC_NE));
    let sources: &[u8] = match op {
        0x51 => &[i.rs1],
        _ if fused => &[i.rs1, i.rs2, i.rs3()],
        _ => &[i.rs1, i.rs2],
    };
    // rax = f
    a.mem(true, &[MOV_LOAD], RAX, RDI, F);
    if single {
        // cmp dword [rax + f_disp + 4], -1: the upper half of a NaN box.
        for &r in sources {
            a.mem(false, &[0x83], CMP.0, RAX, f_disp(r) + 4);
            a.code.push(0xff);
            slow.push(a.jcc(CC_NE));
        }
    }
    // movss or movsd (f3 / f2 0f 10), and the arithmetic, with that prefix.
    let prefix = if single { 0xf3 } else { 0xf2 };
    let load = |a: &mut Asm, xmm: u8, r: u8| {
        a.code.push(prefix);
        a.mem(false, &[0x0f, 0x10], xmm, RAX, f_disp(r));
    };
    load(a, 0, i.rs1);
    if fused {
        load(a, 1, i.rs2);
        load(a, 2, i.rs3());
        // vfm*213s[sd] xmm0, xmm1, xmm2: VEX.LIG.66.0F38.W(sd)
        let w = if single { 0 } else { 0x80 };
        a.bytes(&[0xc4, 0xe2, w | 0x71, op, 0xc2]);
    } else {
        a.code.push(prefix);
        a.mem(
            false,
            &[0x0f, op],
            0,
            RAX,
            f_disp(sources[sources.len() - 1]),
        );
    }
    // rcx = the result's bits without the sign, doubled; then the smallest
    // normal < |result| < infinity, as one unsigned range check.
    // movq rcx, xmm0 (movd ecx, xmm0)
    a.code.push(0x66);
    a.rr(!single, &[0x0f, 0x7e], 0, RCX);
    if single {
        const LOW: u32 = (0x0080_0000 + 1) << 1;
        const SPAN: u32 = (0x7f80_0000 << 1) - LOW;
        a.shift_imm(false, SHL, RCX, 1);
        a.alu_imm(false, SUB, RCX, LOW as i32);
        a.alu_imm(false, CMP, RCX, SPAN as i32);
    } else {
        const LOW: u64 = (0x0010_0000_0000_0000 + 1) << 1;
        const SPAN: u64 = (0x7ff0_0000_0000_0000 << 1) - LOW;
        a.shift_imm(true, SHL, RCX, 1);
        a.mov_imm64(R8, LOW);
        a.rr(true, &[SUB.1], RCX, R8);
        a.mov_imm64(R8, SPAN);
        a.rr(true, &[CMP.1], RCX, R8);
    }
    slow.push(a.jcc(CC_AE));
    // Store the result, NaN-boxed if single.
    a.code.push(prefix);
    a.mem(false, &[0x0f, 0x11], 0, RAX, f_disp(i.rd));
    if single {
        a.mem(false, &[0xc7], 0, RAX, f_disp(i.rd) + 4);
        a.imm32(-1);
    }
    Some((slow, a.jmp()))
}

/// Where CSR `csr` sits in fcsr, if it is one of the FP CSRs: (shift,
/// mask of the field).
fn fp_csr(csr: i32) -> Option<(u8, i32)> {
    match csr {
        1 => Some((0, 0x1f)), // fflags
        2 => Some((5, 7)),    // frm
        3 => Some((0, 0xff)), // fcsr
        _ => None,
    }
}

/// csrrw, csrrs, csrrc (and their immediate forms) of fflags, frm or
/// fcsr: rd = the old field, the field = the new value. Writing a reserved
/// frm is allowed; FP instructions that use it are then illegal.
fn fcsr_access(a: &mut Asm, i: Insn) {
    use Op::*;
    let (shift, mask) = fp_csr(i.imm).expect("`supported` admits only FP CSRs");
    // eax = fcsr; ecx = the old field
    a.mem(true, &[MOV_LOAD], R8, RDI, FCSR);
    a.mem(false, &[MOV_LOAD], RAX, R8, 0);
    a.rr(false, &[MOV_STORE], RAX, RCX);
    if shift != 0 {
        a.shift_imm(false, SHR, RCX, shift);
    }
    a.alu_imm(false, AND, RCX, mask);
    // The set and clear forms write nothing for x0 or a zero immediate.
    let writes = matches!(i.op, Csrrw | Csrrwi) || i.rs1 != 0;
    if writes {
        // r8d = the source, then the new field.
        if matches!(i.op, Csrrwi | Csrrsi | Csrrci) {
            a.mov_imm(R8, i.rs1 as i32);
        } else {
            a.get(R8, i.rs1);
        }
        match i.op {
            Csrrs | Csrrsi => a.rr(false, &[OR.1], R8, RCX),
            Csrrc | Csrrci => {
                // not r8d; and r8d, ecx
                a.rr(false, &[0xf7], 2, R8);
                a.rr(false, &[AND.1], R8, RCX);
            }
            _ => {}
        }
        a.alu_imm(false, AND, R8, mask);
        if shift != 0 {
            a.shift_imm(false, SHL, R8, shift);
        }
        a.alu_imm(false, AND, RAX, !(mask << shift));
        a.rr(false, &[OR.1], RAX, R8);
        a.mem(true, &[MOV_LOAD], R8, RDI, FCSR);
        a.mem(false, &[MOV_STORE], RAX, R8, 0);
    }
    a.put(i.rd, RCX);
}

fn shift_imm(a: &mut Asm, i: Insn, w: bool, digit: u8) {
    let d = dest(i.rd, None);
    a.get(d, i.rs1);
    let mask = if w { 63 } else { 31 };
    a.shift_imm(w, digit, d, (i.imm & mask) as u8);
    if !w {
        a.sext32(d);
    }
    a.put(i.rd, d);
}

/// x86 masks a count in cl exactly as RISC-V does: to 6 bits, or 5 for the
/// 32-bit forms.
fn shift_reg(a: &mut Asm, i: Insn, w: bool, digit: u8) {
    a.get(RCX, i.rs2);
    let d = dest(i.rd, None);
    a.get(d, i.rs1);
    a.rr(w, &[0xd3], digit, d);
    if !w {
        a.sext32(d);
    }
    a.put(i.rd, d);
}

/// rd = (rs1 CC src) as 0 or 1, where src is rs2 or the immediate.
fn set_cc(a: &mut Asm, i: Insn, cc: u8, with_imm: bool) {
    if with_imm {
        a.cmp_imm(i.rs1, i.imm);
    } else {
        a.cmp_regs(i.rs1, i.rs2);
    }
    // setcc al; movzx d, al
    let d = dest(i.rd, None);
    a.rr(false, &[0x0f, 0x90 | cc], 0, RAX);
    a.rr(false, &[0x0f, 0xb6], d, RAX);
    a.put(i.rd, d);
}

/// A group member that looks its page up alone, out of line: reached by
/// `jump` (from a failed group lookup, which first zeroes the slot if
/// `clear`, or from a member that found the slot zero), and back at
/// `resume` with rcx set.
struct Alone {
    jump: Fixup,
    clear: bool,
    i: Insn,
    n: u32,
    delta: i64,
    size: i32,
    store: bool,
    slot: i32,
    resume: usize,
}

/// Loads and stores of a block at fixed offsets from one value: what one
/// register held at one point of the block, maybe through `addi`s (as
/// memcpy's loop stores through a3 = a5 + 24 and a0 = a5 + 32). Their TLB
/// lookups are done once for all, by the first.
#[derive(Clone, Copy)]
struct Group {
    /// The bytes accessed, as offsets from the value: [lo, hi).
    lo: i64,
    hi: i64,
    /// Whether any member stores: then the store TLB (a page writable is
    /// readable) is the group's.
    store: bool,
    /// The trace index of the first member.
    first: usize,
}

#[derive(Default)]
struct Groups {
    /// Per trace index: the group of the access there and its offset from
    /// the group's value.
    of: Vec<Option<(usize, i64)>>,
    list: Vec<Group>,
}

/// Groups wider than this are not formed: a span that straddles pages
/// makes its members look up their pages one by one.
const GROUP_SPAN: i64 = 512;

/// The size and kind of a plain load or store.
fn plain_access(op: Op) -> Option<(i64, bool)> {
    use Op::*;
    Some(match op {
        Lb | Lbu => (1, false),
        Lh | Lhu => (2, false),
        Lw | Lwu | Flw => (4, false),
        Ld | Fld => (8, false),
        Sb => (1, true),
        Sh => (2, true),
        Sw | Fsw => (4, true),
        Sd | Fsd => (8, true),
        _ => return None,
    })
}

/// Finds the groups of a trace: follows each integer register as a value
/// (register, version) plus an offset, where `addi` adds to the offset and
/// any other write makes a new version. Accesses through the same value
/// within `GROUP_SPAN` bytes form a group; at most `GROUP_SLOTS` groups.
fn groups(trace: &[(usize, Insn)]) -> Groups {
    use Op::*;
    let mut version = [0u32; 64];
    let mut value: [Option<(u8, u32, i64)>; 64] = [None; 64];
    let of = |value: &[Option<(u8, u32, i64)>; 64], version: &[u32; 64], r: u8| {
        let r = (r & 63) as usize;
        value[r].unwrap_or((r as u8, version[r], 0))
    };
    // (trace index, value, offset, size, store)
    let mut accesses = Vec::new();
    for (k, &(_, i)) in trace.iter().enumerate() {
        if let Some((size, store)) = plain_access(i.op) {
            let (r, v, off) = of(&value, &version, i.rs1);
            accesses.push((k, (r, v), off + i.imm as i64, size, store));
        }
        let rd = (i.rd & 63) as usize;
        match i.op {
            Sb | Sh | Sw | Sd | Fsw | Fsd | Beq | Bne | Blt | Bge | Bltu | Bgeu | Fence => {}
            Addi => {
                let (r, v, off) = of(&value, &version, i.rs1);
                version[rd] += 1;
                value[rd] = Some((r, v, off + i.imm as i64));
            }
            // Anything else may write rd (an FP rd too, harmlessly).
            _ => {
                version[rd] += 1;
                value[rd] = None;
            }
        }
    }
    let mut groups = Groups {
        of: vec![None; trace.len()],
        list: Vec::new(),
    };
    for a in 0..accesses.len() {
        let (first, key, ..) = accesses[a];
        if groups.of[first].is_some() || groups.list.len() == GROUP_SLOTS {
            continue;
        }
        let members: Vec<_> = accesses[a..].iter().filter(|m| m.1 == key).collect();
        let lo = members.iter().map(|m| m.2).min().unwrap_or(0);
        let hi = members.iter().map(|m| m.2 + m.3).max().unwrap_or(0);
        if members.len() < 2 || hi - lo > GROUP_SPAN {
            continue;
        }
        let index = groups.list.len();
        groups.list.push(Group {
            lo,
            hi,
            store: members.iter().any(|m| m.4),
            first,
        });
        for m in members {
            groups.of[m.0] = Some((index, m.2));
        }
    }
    groups
}

/// The instruction at `off`, if it lies wholly inside the frame.
fn fetch(frame: &[u8], off: usize) -> Option<Insn> {
    let low = u16::from_le_bytes(frame.get(off..off + 2)?.try_into().ok()?);
    if low & 3 != 3 {
        return Some(decode(low as u32));
    }
    let high = u16::from_le_bytes(frame.get(off + 2..off + 4)?.try_into().ok()?);
    Some(decode(low as u32 | (high as u32) << 16))
}

fn supported(i: Insn) -> bool {
    use Op::*;
    if matches!(i.op, Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci) {
        return fp_csr(i.imm).is_some();
    }
    fpu::OPS.contains(&i.op)
        || matches!(
            i.op,
            Lui | Auipc
                | Jal
                | Jalr
                | Beq
                | Bne
                | Blt
                | Bge
                | Bltu
                | Bgeu
                | Lb
                | Lh
                | Lw
                | Ld
                | Lbu
                | Lhu
                | Lwu
                | Sb
                | Sh
                | Sw
                | Sd
                | Addi
                | Slti
                | Sltiu
                | Xori
                | Ori
                | Andi
                | Slli
                | Srli
                | Srai
                | Addiw
                | Slliw
                | Srliw
                | Sraiw
                | Add
                | Sub
                | Sll
                | Slt
                | Sltu
                | Xor
                | Srl
                | Sra
                | Or
                | And
                | Addw
                | Subw
                | Sllw
                | Srlw
                | Sraw
                | Mul
                | Mulw
                | Mulh
                | Mulhsu
                | Mulhu
                | Div
                | Divu
                | Rem
                | Remu
                | Divw
                | Divuw
                | Remw
                | Remuw
                | LrW
                | ScW
                | AmoSwapW
                | AmoAddW
                | AmoXorW
                | AmoAndW
                | AmoOrW
                | AmoMinW
                | AmoMaxW
                | AmoMinuW
                | AmoMaxuW
                | LrD
                | ScD
                | AmoSwapD
                | AmoAddD
                | AmoXorD
                | AmoAndD
                | AmoOrD
                | AmoMinD
                | AmoMaxD
                | AmoMinuD
                | AmoMaxuD
                | Fence
                | Flw
                | Fld
                | Fsw
                | Fsd
        )
}
