//! The interpreter: direct-threaded dispatch over a per-frame decode cache.
//!
//! Every 4 KiB frame that has been executed gets a `CodePage`: one slot per
//! halfword holding the decoded instruction and the handler that executes
//! it. The loop in `interpret` fetches a slot, calls its handler, and
//! stays on the page while the returned pc does. Handlers are small
//! separate functions, so each gets its own register allocation; the rare
//! and heavy instructions (FP, atomics, CSRs, division) share one
//! out-of-line handler. Nothing on the common path allocates or hashes.
//!
//! Long (about 1,000 lines) on purpose: the interpreter's dispatch and
//! every handler together, to read side by side with the ISA manual.

use crate::decode::{decode, insn_len, Insn, Op};
use crate::fpu;
use crate::hart::{Hart, Reservation};
use crate::jit::BlockPage;
use crate::mmu::{slot, walk};
use crate::{Access, PhysMem, Trap, PAGE_SIZE};
use std::cell::Cell;
use std::rc::Rc;

/// Executes one instruction at `pc`; returns the next pc. A return value
/// with `EXIT` set makes the loop leave the page (`cpu.trap` or
/// `cpu.refetch` says why).
type Handler = fn(&mut Cpu, Insn, u64) -> u64;

/// Set by handlers to leave the page. A jump may return a target with bit
/// 63 set too (which then faults at fetch), so the flag is only stripped
/// when `trap` or `refetch` says it was set on purpose.
const EXIT: u64 = 1 << 63;

#[derive(Clone, Copy)]
pub(crate) struct Slot {
    handler: Handler,
    insn: Insn,
}

/// The decoded instructions of one 4 KiB frame, one slot per halfword. The
/// slots sit in the `Rc`'s own allocation, so the loop reaches one without
/// another load.
pub(crate) type CodePage = [Cell<Slot>; 2048];

/// A page of undecoded slots, written straight into its allocation (a
/// 32 KiB value built on the stack and moved would cost a copy per page).
fn new_code_page() -> Rc<CodePage> {
    let empty = Cell::new(Slot {
        handler: undecoded,
        insn: Insn::UNDECODED,
    });
    let slots: Rc<[Cell<Slot>]> = std::iter::repeat_n(empty, 2048).collect();
    slots
        .try_into()
        .unwrap_or_else(|_| unreachable!("2048 slots"))
}

/// Interpreter state for one call of `run`.
struct Cpu<'a> {
    /// The integer registers: the compiler knows nothing else aliases them.
    /// Slot 32 absorbs writes to x0; 64 entries make `& 63` bounds-check free.
    x: [u64; 64],
    hart: &'a mut Hart,
    mem: &'a mut PhysMem,
    page: Rc<CodePage>,
    /// The frame `page` decodes.
    pfn: usize,
    trap: Option<Trap>,
    /// The next pc (with `EXIT`) must be looked up afresh: decoded code may
    /// have changed.
    refetch: bool,
    /// Instructions left in the budget.
    left: u64,
    budget: u64,
}

impl Cpu<'_> {
    /// Records a trap at the current instruction.
    #[cold]
    fn trap(&mut self, trap: Trap) -> u64 {
        self.trap = Some(trap);
        EXIT
    }

    /// Continues at `next` after looking its page up again.
    fn refetch(&mut self, next: u64) -> u64 {
        self.refetch = true;
        next | EXIT
    }

    fn instret(&self) -> u64 {
        self.hart.instret + self.budget - self.left
    }
}

pub(crate) fn run(hart: &mut Hart, mem: &mut PhysMem, budget: u64) -> Trap {
    if hart.code_epoch != mem.code_epoch {
        hart.tlb.flush_stores();
        hart.code_epoch = mem.code_epoch;
    }
    let mut regs = [0u64; 64];
    regs[1..32].copy_from_slice(&hart.regs.x[1..]);
    let pc = hart.regs.pc;
    let (page, pfn) = match code_page(hart, mem, pc) {
        Ok(page) => page,
        Err(trap) => return trap,
    };
    let mut cpu = Cpu {
        x: regs,
        hart,
        mem,
        page,
        pfn,
        trap: None,
        refetch: false,
        left: budget,
        budget,
    };
    let (trap, pc) = interpret(&mut cpu, pc);
    let retired = budget - cpu.left;
    let hart = cpu.hart;
    hart.regs.x.copy_from_slice(&cpu.x[..32]);
    hart.regs.x[0] = 0;
    hart.regs.pc = pc;
    hart.instret += retired;
    trap
}

/// Runs until a trap or the end of the budget; returns the trap and the pc
/// to resume at (the trapping instruction's).
fn interpret(cpu: &mut Cpu, mut pc: u64) -> (Trap, u64) {
    // `left` lives in a host register; handlers that need the instruction
    // count read `cpu.left`, stored (not read back) before every call, so no
    // chain of dependent memory updates runs through the loop.
    let mut left = cpu.left;
    // Set when a block stopped before an instruction it cannot run.
    let mut interpret_next = false;
    loop {
        let base = pc & !0xfff;
        let page = cpu.page.clone();
        let blocks = if cpu.hart.jit {
            cpu.mem.jit.page(cpu.pfn)
        } else {
            None
        };
        loop {
            if left == 0 {
                cpu.left = 0;
                return (Trap::BudgetExhausted, pc);
            }
            if let Some(blocks) = blocks.as_deref().filter(|_| !interpret_next) {
                if let Some((next, rest, fallback)) = run_block(cpu, blocks, pc, left) {
                    left = rest;
                    pc = next;
                    interpret_next = fallback;
                    if next & !0xfff == base {
                        continue;
                    }
                    // Blocks jumped to another page, perhaps stopping there.
                    break;
                }
            }
            interpret_next = false;
            let slot = page[((pc >> 1) & 0x7ff) as usize].get();
            cpu.left = left;
            let next = (slot.handler)(cpu, slot.insn, pc);
            if next & !0xfff == base {
                left -= 1;
                pc = next;
                continue;
            }
            if let Some(trap) = cpu.trap.take() {
                cpu.left = left;
                return (trap, pc);
            }
            left -= 1;
            pc = if std::mem::take(&mut cpu.refetch) {
                next & !EXIT
            } else {
                next
            };
            break;
        }
        if left == 0 {
            // Out of budget: the next fetch (and its fault) belongs to the next slice.
            cpu.left = 0;
            return (Trap::BudgetExhausted, pc);
        }
        (cpu.page, cpu.pfn) = match code_page(cpu.hart, cpu.mem, pc) {
            Ok(page) => page,
            Err(trap) => {
                cpu.left = left;
                return (trap, pc);
            }
        };
    }
}

/// Runs the translated block at `pc` (translating it first if need be),
/// and the blocks it chains to, if one exists there. Returns the next pc,
/// the instructions left, and whether the instruction at the next pc must
/// be interpreted. The block itself stays within the budget.
#[inline]
fn run_block(cpu: &mut Cpu, blocks: &BlockPage, pc: u64, left: u64) -> Option<(u64, u64, bool)> {
    let off = (pc & 0xfff) as usize;
    let mem = &mut *cpu.mem;
    let frame = &mem.ram[cpu.pfn * PAGE_SIZE..][..PAGE_SIZE];
    let block = mem.jit.block(blocks, frame, off)?;
    let hart = &mut *cpu.hart;
    let regs = &mut hart.regs;
    let (x, fp) = (
        &mut cpu.x,
        (&mut regs.f, &mut regs.fcsr, &mut hart.reservation),
    );
    Some(mem.jit.run(
        block,
        blocks,
        x,
        fp,
        &mut mem.ram,
        cpu.pfn,
        &hart.tlb,
        pc,
        left,
    ))
}

/// The handler of a slot not decoded yet: decode, cache, execute.
fn undecoded(cpu: &mut Cpu, _: Insn, pc: u64) -> u64 {
    let (insn, cacheable) = match fetch_decode(cpu.hart, cpu.mem, pc) {
        Ok(decoded) => decoded,
        Err(trap) => return cpu.trap(trap),
    };
    let handler = handler(insn);
    if cacheable {
        cpu.page[((pc >> 1) & 0x7ff) as usize].set(Slot { handler, insn });
    }
    handler(cpu, insn, pc)
}

#[inline(always)]
fn rd(i: Insn) -> usize {
    (i.rd & 63) as usize
}

#[inline(always)]
fn rs1(cpu: &Cpu, i: Insn) -> u64 {
    cpu.x[(i.rs1 & 63) as usize]
}

#[inline(always)]
fn rs2(cpu: &Cpu, i: Insn) -> u64 {
    cpu.x[(i.rs2 & 63) as usize]
}

#[inline(always)]
fn imm(i: Insn) -> u64 {
    i.imm as i64 as u64
}

/// `rd = f(rs1, rs2 or imm)`.
macro_rules! alu {
    ($($name:ident: |$a:ident, $b:ident| $e:expr, $src:ident;)*) => {$(
        fn $name<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
            let $a = rs1(cpu, i);
            let $b = alu!(@src $src cpu, i);
            cpu.x[rd(i)] = $e;
            pc.wrapping_add(L)
        }
    )*};
    (@src reg $cpu:ident, $i:ident) => { rs2($cpu, $i) };
    (@src imm $cpu:ident, $i:ident) => { imm($i) };
}

alu! {
    addi: |a, b| a.wrapping_add(b), imm;
    slti: |a, b| ((a as i64) < b as i64) as u64, imm;
    sltiu: |a, b| (a < b) as u64, imm;
    xori: |a, b| a ^ b, imm;
    ori: |a, b| a | b, imm;
    andi: |a, b| a & b, imm;
    slli: |a, b| a << (b & 63), imm;
    srli: |a, b| a >> (b & 63), imm;
    srai: |a, b| ((a as i64) >> (b & 63)) as u64, imm;
    addiw: |a, b| sext32(a.wrapping_add(b)), imm;
    slliw: |a, b| sext32(a << (b & 31)), imm;
    srliw: |a, b| sext32(((a as u32) >> (b & 31)) as u64), imm;
    sraiw: |a, b| ((a as i32) >> (b & 31)) as i64 as u64, imm;
    add: |a, b| a.wrapping_add(b), reg;
    sub: |a, b| a.wrapping_sub(b), reg;
    sll: |a, b| a << (b & 63), reg;
    slt: |a, b| ((a as i64) < b as i64) as u64, reg;
    sltu: |a, b| (a < b) as u64, reg;
    xor: |a, b| a ^ b, reg;
    srl: |a, b| a >> (b & 63), reg;
    sra: |a, b| ((a as i64) >> (b & 63)) as u64, reg;
    or: |a, b| a | b, reg;
    and: |a, b| a & b, reg;
    addw: |a, b| sext32(a.wrapping_add(b)), reg;
    subw: |a, b| sext32(a.wrapping_sub(b)), reg;
    sllw: |a, b| sext32(a << (b & 31)), reg;
    srlw: |a, b| sext32(((a as u32) >> (b & 31)) as u64), reg;
    sraw: |a, b| ((a as i32) >> (b & 31)) as i64 as u64, reg;
    mul: |a, b| a.wrapping_mul(b), reg;
    mulw: |a, b| sext32(a.wrapping_mul(b)), reg;
}

macro_rules! branches {
    ($($name:ident: |$a:ident, $b:ident| $cond:expr;)*) => {$(
        fn $name<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
            let ($a, $b) = (rs1(cpu, i), rs2(cpu, i));
            if $cond {
                pc.wrapping_add(imm(i))
            } else {
                pc.wrapping_add(L)
            }
        }
    )*};
}

branches! {
    beq: |a, b| a == b;
    bne: |a, b| a != b;
    blt: |a, b| (a as i64) < b as i64;
    bge: |a, b| a as i64 >= b as i64;
    bltu: |a, b| a < b;
    bgeu: |a, b| a >= b;
}

macro_rules! loads {
    ($($name:ident: $t:ty;)*) => {$(
        fn $name<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
            let addr = rs1(cpu, i).wrapping_add(imm(i));
            match load_hit(cpu.hart, cpu.mem, addr) {
                Some(bytes) => {
                    cpu.x[rd(i)] = <$t>::from_le_bytes(bytes) as u64;
                    pc.wrapping_add(L)
                }
                None => load_miss(cpu, i, pc, |bytes| <$t>::from_le_bytes(bytes) as u64),
            }
        }
    )*};
}

loads! {
    lb: i8;
    lh: i16;
    lw: i32;
    ld: u64;
    lbu: u8;
    lhu: u16;
    lwu: u32;
}

/// A load that missed the TLB or straddles pages. Kept out of line so that
/// the handlers' hit paths stay leaf functions.
#[inline(never)]
fn load_miss<const N: usize>(cpu: &mut Cpu, i: Insn, pc: u64, extend: fn([u8; N]) -> u64) -> u64 {
    let addr = rs1(cpu, i).wrapping_add(imm(i));
    match load_slow(cpu.hart, cpu.mem, addr) {
        Ok(bytes) => {
            cpu.x[rd(i)] = extend(bytes);
            pc.wrapping_add(i.len())
        }
        Err(trap) => cpu.trap(trap),
    }
}

macro_rules! stores {
    ($($name:ident: $t:ty;)*) => {$(
        fn $name<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
            let addr = rs1(cpu, i).wrapping_add(imm(i));
            let bytes = (rs2(cpu, i) as $t).to_le_bytes();
            if store_hit(cpu.hart, cpu.mem, addr, bytes) {
                return pc.wrapping_add(L);
            }
            store_miss(cpu, addr, bytes, pc.wrapping_add(L))
        }
    )*};
}

stores! {
    sb: u8;
    sh: u16;
    sw: u32;
    sd: u64;
}

#[inline(never)]
fn store_miss<const N: usize>(cpu: &mut Cpu, addr: u64, bytes: [u8; N], next: u64) -> u64 {
    match store_slow(cpu.hart, cpu.mem, addr, bytes) {
        Ok(()) => after_store(cpu, next),
        Err(trap) => cpu.trap(trap),
    }
}

/// A store that dropped decoded code (perhaps this very page's) must make
/// the loop look the page up again.
#[inline(always)]
fn after_store(cpu: &mut Cpu, next: u64) -> u64 {
    if cpu.hart.code_dirty {
        cpu.hart.code_dirty = false;
        return cpu.refetch(next);
    }
    next
}

fn lui<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
    cpu.x[rd(i)] = imm(i);
    pc.wrapping_add(L)
}

fn auipc<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
    cpu.x[rd(i)] = pc.wrapping_add(imm(i));
    pc.wrapping_add(L)
}

fn jal<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
    cpu.x[rd(i)] = pc.wrapping_add(L);
    pc.wrapping_add(imm(i))
}

fn jalr<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
    let target = rs1(cpu, i).wrapping_add(imm(i)) & !1;
    cpu.x[rd(i)] = pc.wrapping_add(L);
    target
}

fn fence<const L: u64>(_: &mut Cpu, _: Insn, pc: u64) -> u64 {
    pc.wrapping_add(L)
}

fn ecall(cpu: &mut Cpu, _: Insn, _: u64) -> u64 {
    cpu.trap(Trap::Ecall)
}

fn ebreak(cpu: &mut Cpu, _: Insn, _: u64) -> u64 {
    cpu.trap(Trap::Breakpoint)
}

fn illegal(cpu: &mut Cpu, i: Insn, _: u64) -> u64 {
    cpu.trap(Trap::IllegalInstruction { bits: i.imm as u32 })
}

/// The double-precision operations of numeric inner loops each get a
/// handler of their own, with the operation as a constant; the rest of F
/// and D go through `other`.
macro_rules! fp_double_handlers {
    ($($name:ident: $op:ident;)*) => {$(
        fn $name<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
            let regs = &mut cpu.hart.regs;
            let i = Insn { op: Op::$op, ..i };
            match fpu::execute(&mut regs.f, &mut regs.fcsr, i, 0) {
                Ok(_) => pc.wrapping_add(L),
                // A reserved rounding mode: `other` raises the trap.
                Err(_) => other(cpu, i, pc),
            }
        }
    )*};
}

fp_double_handlers! {
    fadd_d: FaddD;
    fsub_d: FsubD;
    fmul_d: FmulD;
    fdiv_d: FdivD;
    fmadd_d: FmaddD;
    fmsub_d: FmsubD;
    fnmsub_d: FnmsubD;
    fnmadd_d: FnmaddD;
}

fn fld<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
    let addr = rs1(cpu, i).wrapping_add(imm(i));
    match load_hit(cpu.hart, cpu.mem, addr) {
        Some(bytes) => {
            cpu.hart.regs.f[(i.rd & 31) as usize] = u64::from_le_bytes(bytes);
            pc.wrapping_add(L)
        }
        None => other(cpu, i, pc),
    }
}

fn fsd<const L: u64>(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
    let addr = rs1(cpu, i).wrapping_add(imm(i));
    let bytes = cpu.hart.regs.f[(i.rs2 & 31) as usize].to_le_bytes();
    if store_hit(cpu.hart, cpu.mem, addr, bytes) {
        return pc.wrapping_add(L);
    }
    other(cpu, i, pc)
}

/// Everything else: M's divisions and high multiplies, A, Zicsr, fence.i,
/// F and D.
fn other(cpu: &mut Cpu, i: Insn, pc: u64) -> u64 {
    let instret = cpu.instret();
    match execute_other(cpu.hart, cpu.mem, &mut cpu.x, &i, pc, instret) {
        Ok(Flow::Next) => pc.wrapping_add(i.len()),
        Ok(Flow::Refetch) => cpu.refetch(pc.wrapping_add(i.len())),
        Err(trap) => cpu.trap(trap),
    }
}

/// The handler for `insn`. Handlers on the hot path are instantiated per
/// instruction length, so that stepping over one is a constant add.
fn handler(insn: Insn) -> Handler {
    use Op::*;
    macro_rules! sized {
        ($f:ident) => {
            if insn.len() == 2 {
                $f::<2>
            } else {
                $f::<4>
            }
        };
    }
    match insn.op {
        Undecoded => undecoded,
        Illegal => illegal,
        Lui => sized!(lui),
        Auipc => sized!(auipc),
        Jal => sized!(jal),
        Jalr => sized!(jalr),
        Beq => sized!(beq),
        Bne => sized!(bne),
        Blt => sized!(blt),
        Bge => sized!(bge),
        Bltu => sized!(bltu),
        Bgeu => sized!(bgeu),
        Lb => sized!(lb),
        Lh => sized!(lh),
        Lw => sized!(lw),
        Ld => sized!(ld),
        Lbu => sized!(lbu),
        Lhu => sized!(lhu),
        Lwu => sized!(lwu),
        Sb => sized!(sb),
        Sh => sized!(sh),
        Sw => sized!(sw),
        Sd => sized!(sd),
        Addi => sized!(addi),
        Slti => sized!(slti),
        Sltiu => sized!(sltiu),
        Xori => sized!(xori),
        Ori => sized!(ori),
        Andi => sized!(andi),
        Slli => sized!(slli),
        Srli => sized!(srli),
        Srai => sized!(srai),
        Addiw => sized!(addiw),
        Slliw => sized!(slliw),
        Srliw => sized!(srliw),
        Sraiw => sized!(sraiw),
        Add => sized!(add),
        Sub => sized!(sub),
        Sll => sized!(sll),
        Slt => sized!(slt),
        Sltu => sized!(sltu),
        Xor => sized!(xor),
        Srl => sized!(srl),
        Sra => sized!(sra),
        Or => sized!(or),
        And => sized!(and),
        Addw => sized!(addw),
        Subw => sized!(subw),
        Sllw => sized!(sllw),
        Srlw => sized!(srlw),
        Sraw => sized!(sraw),
        Mul => sized!(mul),
        Mulw => sized!(mulw),
        Fence => sized!(fence),
        Ecall => ecall,
        Ebreak => ebreak,
        Fld => sized!(fld),
        Fsd => sized!(fsd),
        FaddD => sized!(fadd_d),
        FsubD => sized!(fsub_d),
        FmulD => sized!(fmul_d),
        FdivD => sized!(fdiv_d),
        FmaddD => sized!(fmadd_d),
        FmsubD => sized!(fmsub_d),
        FnmsubD => sized!(fnmsub_d),
        FnmaddD => sized!(fnmadd_d),
        _ => other,
    }
}

/// What the interpreter does after an out-of-line instruction.
enum Flow {
    Next,
    /// Decoded code may have changed: look the page up again.
    Refetch,
}

/// The decoded page for the frame holding `pc`, created on first use.
#[inline(always)]
fn code_page(hart: &mut Hart, mem: &mut PhysMem, pc: u64) -> Result<(Rc<CodePage>, usize), Trap> {
    // The loop comes here whenever execution moves to another page (every
    // call and return across pages), so a fetch TLB hit on a frame already
    // decoded is handled inline, without the calls of the general path.
    let vpn = pc >> 12;
    let e = hart.tlb.fetch()[slot(vpn)];
    if e.vpn() == vpn {
        let pfn = (e.pa() >> 12) as usize;
        if let Some(page) = &mem.code[pfn] {
            return Ok((page.clone(), pfn));
        }
    }
    code_page_slow(hart, mem, pc)
}

/// `code_page` after a fetch TLB miss, or on a frame not decoded yet.
#[cold]
#[inline(never)]
fn code_page_slow(
    hart: &mut Hart,
    mem: &mut PhysMem,
    pc: u64,
) -> Result<(Rc<CodePage>, usize), Trap> {
    let pa = translate(hart, mem, pc, Access::Fetch)?;
    let pfn = (pa >> 12) as usize;
    if let Some(page) = &mem.code[pfn] {
        return Ok((page.clone(), pfn));
    }
    let page = new_code_page();
    mem.code[pfn] = Some(page.clone());
    mem.code_epoch += 1;
    hart.code_epoch = mem.code_epoch;
    // Stores to this frame must now take the slow path, which drops the page.
    hart.tlb.forget_store_frame(pa);
    Ok((page, pfn))
}

/// Physical address of the frame holding `va`, through the TLB.
#[inline]
fn translate(hart: &mut Hart, mem: &mut PhysMem, va: u64, access: Access) -> Result<u64, Trap> {
    let vpn = va >> 12;
    let table = match access {
        Access::Fetch => hart.tlb.fetch(),
        Access::Load => hart.tlb.load(),
        Access::Store => hart.tlb.store(),
    };
    let e = table[slot(vpn)];
    if e.vpn() == vpn {
        return Ok(e.pa());
    }
    let pa = walk(mem, hart.root, va, access)?;
    if access == Access::Store && mem.invalidate_code(pa as usize >> 12) {
        hart.code_dirty = true;
    }
    hart.tlb.fill(access, vpn, pa, &mem.ram);
    Ok(pa)
}

/// The bytes at `va` if the TLB maps them within one page.
#[inline(always)]
fn load_hit<const N: usize>(hart: &Hart, mem: &PhysMem, va: u64) -> Option<[u8; N]> {
    let vpn = va >> 12;
    let off = va & 0xfff;
    let e = &hart.tlb.load()[slot(vpn)];
    if e.vpn() != vpn || off as usize + N > PAGE_SIZE {
        return None;
    }
    let pa = (e.pa() + off) as usize;
    mem.ram
        .get(pa..pa + N)
        .map(|bytes| bytes.try_into().unwrap())
}

fn load<const N: usize>(hart: &mut Hart, mem: &mut PhysMem, va: u64) -> Result<[u8; N], Trap> {
    match load_hit(hart, mem, va) {
        Some(bytes) => Ok(bytes),
        None => load_slow(hart, mem, va),
    }
}

#[cold]
fn load_slow<const N: usize>(hart: &mut Hart, mem: &mut PhysMem, va: u64) -> Result<[u8; N], Trap> {
    let mut out = [0u8; N];
    let off = (va & 0xfff) as usize;
    let first = (PAGE_SIZE - off).min(N);
    let pa = translate(hart, mem, va, Access::Load)? as usize + off;
    out[..first].copy_from_slice(&mem.ram[pa..pa + first]);
    if first < N {
        // Misaligned across a page boundary.
        let pa = translate(hart, mem, va.wrapping_add(first as u64), Access::Load)? as usize;
        out[first..].copy_from_slice(&mem.ram[pa..pa + N - first]);
    }
    Ok(out)
}

/// Stores `bytes` at `va` if the TLB maps them writable within one page.
#[inline(always)]
fn store_hit<const N: usize>(hart: &Hart, mem: &mut PhysMem, va: u64, bytes: [u8; N]) -> bool {
    let vpn = va >> 12;
    let off = va & 0xfff;
    let e = &hart.tlb.store()[slot(vpn)];
    if e.vpn() != vpn || off as usize + N > PAGE_SIZE {
        return false;
    }
    let pa = (e.pa() + off) as usize;
    match mem.ram.get_mut(pa..pa + N) {
        Some(dst) => {
            dst.copy_from_slice(&bytes);
            true
        }
        None => false,
    }
}

fn store<const N: usize>(
    hart: &mut Hart,
    mem: &mut PhysMem,
    va: u64,
    bytes: [u8; N],
) -> Result<(), Trap> {
    if store_hit(hart, mem, va, bytes) {
        return Ok(());
    }
    store_slow(hart, mem, va, bytes)
}

#[cold]
fn store_slow<const N: usize>(
    hart: &mut Hart,
    mem: &mut PhysMem,
    va: u64,
    bytes: [u8; N],
) -> Result<(), Trap> {
    let off = (va & 0xfff) as usize;
    let first = (PAGE_SIZE - off).min(N);
    // Translate both halves before writing either: a fault must not leave
    // a partial store behind.
    let pa1 = translate(hart, mem, va, Access::Store)? as usize + off;
    let pa2 = if first < N {
        translate(hart, mem, va.wrapping_add(first as u64), Access::Store)? as usize
    } else {
        0
    };
    mem.ram[pa1..pa1 + first].copy_from_slice(&bytes[..first]);
    mem.ram[pa2..pa2 + N - first].copy_from_slice(&bytes[first..]);
    Ok(())
}

/// Physical address for an atomic access, which must be naturally aligned
/// and writable (a fault on an AMO is a store fault).
fn atomic_addr(
    hart: &mut Hart,
    mem: &mut PhysMem,
    va: u64,
    size: u64,
    access: Access,
) -> Result<usize, Trap> {
    if !va.is_multiple_of(size) {
        return Err(Trap::Misaligned { addr: va, access });
    }
    Ok(translate(hart, mem, va, access)? as usize + (va & 0xfff) as usize)
}

/// Fetches the instruction bits at `pc`. The bool says whether they may be
/// cached by frame: an instruction straddling two pages depends on a second
/// translation and is decoded afresh each time.
#[cold]
fn fetch_bits(hart: &mut Hart, mem: &mut PhysMem, pc: u64) -> Result<(u32, bool), Trap> {
    let pa = translate(hart, mem, pc, Access::Fetch)? as usize + (pc & 0xfff) as usize;
    let low = u16::from_le_bytes([mem.ram[pa], mem.ram[pa + 1]]);
    if insn_len(low) == 2 {
        return Ok((low as u32, true));
    }
    if pc & 0xfff != 0xffe {
        let high = u16::from_le_bytes([mem.ram[pa + 2], mem.ram[pa + 3]]);
        return Ok((low as u32 | (high as u32) << 16, true));
    }
    let pa2 = translate(hart, mem, pc.wrapping_add(2), Access::Fetch)? as usize;
    let high = u16::from_le_bytes([mem.ram[pa2], mem.ram[pa2 + 1]]);
    Ok((low as u32 | (high as u32) << 16, false))
}

#[cold]
fn fetch_decode(hart: &mut Hart, mem: &mut PhysMem, pc: u64) -> Result<(Insn, bool), Trap> {
    let (bits, cacheable) = fetch_bits(hart, mem, pc)?;
    Ok((decode(bits), cacheable))
}

fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

const CSR_FFLAGS: i32 = 0x001;
const CSR_FRM: i32 = 0x002;
const CSR_FCSR: i32 = 0x003;
const CSR_CYCLE: i32 = 0xc00;
const CSR_TIME: i32 = 0xc01;
const CSR_INSTRET: i32 = 0xc02;

fn read_csr(hart: &Hart, csr: i32, instret: u64) -> Option<u64> {
    let fcsr = hart.regs.fcsr as u64;
    Some(match csr {
        CSR_FFLAGS => fcsr & 0x1f,
        CSR_FRM => (fcsr >> 5) & 7,
        CSR_FCSR => fcsr & 0xff,
        CSR_CYCLE | CSR_INSTRET => instret,
        CSR_TIME => hart.time_at(instret),
        _ => return None,
    })
}

fn write_csr(hart: &mut Hart, csr: i32, value: u64) -> Option<()> {
    let v = value as u32;
    let fcsr = &mut hart.regs.fcsr;
    match csr {
        CSR_FFLAGS => *fcsr = (*fcsr & !0x1f) | (v & 0x1f),
        CSR_FRM => *fcsr = (*fcsr & !0xe0) | ((v & 7) << 5),
        CSR_FCSR => *fcsr = v & 0xff,
        _ => return None,
    }
    Some(())
}

#[inline(never)]
fn execute_other(
    hart: &mut Hart,
    mem: &mut PhysMem,
    x: &mut [u64; 64],
    i: &Insn,
    here: u64,
    instret: u64,
) -> Result<Flow, Trap> {
    use Op::*;
    let rs1 = x[(i.rs1 & 63) as usize];
    let rs2 = x[(i.rs2 & 63) as usize];
    let addr = rs1.wrapping_add(i.imm as i64 as u64);
    macro_rules! set {
        ($v:expr) => {
            x[(i.rd & 63) as usize] = $v
        };
    }
    macro_rules! amo {
        ($size:expr, $op:expr) => {{
            let pa = atomic_addr(hart, mem, rs1, $size, Access::Store)?;
            let old = if $size == 4 {
                sext32(u32::from_le_bytes(mem.ram[pa..pa + 4].try_into().unwrap()) as u64)
            } else {
                u64::from_le_bytes(mem.ram[pa..pa + 8].try_into().unwrap())
            };
            let op: fn(u64, u64) -> u64 = $op;
            let new = op(old, rs2);
            mem.ram[pa..pa + $size].copy_from_slice(&new.to_le_bytes()[..$size]);
            set!(old);
        }};
    }
    match i.op {
        // Stores already dropped stale decoded code; refetch anyway.
        FenceI => return Ok(Flow::Refetch),
        Csrrw | Csrrs | Csrrc | Csrrwi | Csrrsi | Csrrci => {
            let illegal = Trap::IllegalInstruction { bits: csr_bits(i) };
            let Some(old) = read_csr(hart, i.imm, instret) else {
                return Err(illegal);
            };
            let src = match i.op {
                Csrrw | Csrrs | Csrrc => rs1,
                _ => i.rs1 as u64,
            };
            let new = match i.op {
                Csrrw | Csrrwi => Some(src),
                Csrrs | Csrrsi => (i.rs1 != 0).then_some(old | src),
                _ => (i.rs1 != 0).then_some(old & !src),
            };
            if let Some(new) = new {
                if write_csr(hart, i.imm, new).is_none() {
                    return Err(illegal);
                }
            }
            set!(old);
        }
        Mulh => set!(((rs1 as i64 as i128 * rs2 as i64 as i128) >> 64) as u64),
        Mulhsu => set!(((rs1 as i64 as i128 * rs2 as i128) >> 64) as u64),
        Mulhu => set!(((rs1 as u128 * rs2 as u128) >> 64) as u64),
        Div => set!(match rs2 {
            0 => u64::MAX,
            _ => (rs1 as i64).wrapping_div(rs2 as i64) as u64,
        }),
        Divu => set!(rs1.checked_div(rs2).unwrap_or(u64::MAX)),
        Rem => set!(match rs2 {
            0 => rs1,
            _ => (rs1 as i64).wrapping_rem(rs2 as i64) as u64,
        }),
        Remu => set!(rs1.checked_rem(rs2).unwrap_or(rs1)),
        Divw => set!(match rs2 as i32 {
            0 => u64::MAX,
            d => (rs1 as i32).wrapping_div(d) as i64 as u64,
        }),
        Divuw => set!(match rs2 as u32 {
            0 => u64::MAX,
            d => sext32(((rs1 as u32) / d) as u64),
        }),
        Remw => set!(match rs2 as i32 {
            0 => sext32(rs1),
            d => (rs1 as i32).wrapping_rem(d) as i64 as u64,
        }),
        Remuw => set!(match rs2 as u32 {
            0 => sext32(rs1),
            d => sext32(((rs1 as u32) % d) as u64),
        }),
        LrW | LrD => {
            let size = if i.op == LrW { 4 } else { 8 };
            let pa = atomic_addr(hart, mem, rs1, size, Access::Load)?;
            let v = if size == 4 {
                sext32(u32::from_le_bytes(mem.ram[pa..pa + 4].try_into().unwrap()) as u64)
            } else {
                u64::from_le_bytes(mem.ram[pa..pa + 8].try_into().unwrap())
            };
            hart.reservation = Reservation {
                addr: rs1,
                value: v,
            };
            set!(v);
        }
        ScW | ScD => {
            let size = if i.op == ScW { 4 } else { 8 };
            if !rs1.is_multiple_of(size) {
                return Err(Trap::Misaligned {
                    addr: rs1,
                    access: Access::Store,
                });
            }
            // Like hardware (and qemu), a failing SC touches no memory. A
            // fault (a copy-on-write page) keeps the reservation, so the SC
            // succeeds when it runs again after the kernel's fix-up, as
            // under qemu-user, where the host resolves such faults unseen.
            let reserved = hart.reservation;
            let stored = reserved.addr == rs1 && {
                let pa = atomic_addr(hart, mem, rs1, size, Access::Store)?;
                let bytes = &mut mem.ram[pa..pa + size as usize];
                // The compare-and-swap: the value LR read, at SC's width.
                let expected = &reserved.value.to_le_bytes()[..size as usize];
                let same = bytes == expected;
                if same {
                    bytes.copy_from_slice(&rs2.to_le_bytes()[..size as usize]);
                }
                same
            };
            hart.reservation = Reservation::NONE;
            set!(!stored as u64);
        }
        AmoSwapW => amo!(4, |_, b| b),
        AmoAddW => amo!(4, |a, b| a.wrapping_add(b)),
        AmoXorW => amo!(4, |a, b| a ^ b),
        AmoAndW => amo!(4, |a, b| a & b),
        AmoOrW => amo!(4, |a, b| a | b),
        AmoMinW => amo!(4, |a, b| (a as i32).min(b as i32) as u64),
        AmoMaxW => amo!(4, |a, b| (a as i32).max(b as i32) as u64),
        AmoMinuW => amo!(4, |a, b| (a as u32).min(b as u32) as u64),
        AmoMaxuW => amo!(4, |a, b| (a as u32).max(b as u32) as u64),
        AmoSwapD => amo!(8, |_, b| b),
        AmoAddD => amo!(8, |a, b| a.wrapping_add(b)),
        AmoXorD => amo!(8, |a, b| a ^ b),
        AmoAndD => amo!(8, |a, b| a & b),
        AmoOrD => amo!(8, |a, b| a | b),
        AmoMinD => amo!(8, |a, b| (a as i64).min(b as i64) as u64),
        AmoMaxD => amo!(8, |a, b| (a as i64).max(b as i64) as u64),
        AmoMinuD => amo!(8, |a, b| a.min(b)),
        AmoMaxuD => amo!(8, |a, b| a.max(b)),

        Flw => {
            hart.regs.f[(i.rd & 31) as usize] =
                fpu::nan_box(u32::from_le_bytes(load(hart, mem, addr)?))
        }
        Fld => hart.regs.f[(i.rd & 31) as usize] = u64::from_le_bytes(load(hart, mem, addr)?),
        Fsw => store(
            hart,
            mem,
            addr,
            (hart.regs.f[(i.rs2 & 31) as usize] as u32).to_le_bytes(),
        )?,
        Fsd => store(
            hart,
            mem,
            addr,
            hart.regs.f[(i.rs2 & 31) as usize].to_le_bytes(),
        )?,

        Undecoded | Illegal | Ecall | Ebreak | Fence | Lui | Auipc | Jal | Jalr | Beq | Bne
        | Blt | Bge | Bltu | Bgeu | Lb | Lh | Lw | Ld | Lbu | Lhu | Lwu | Sb | Sh | Sw | Sd
        | Addi | Slti | Sltiu | Xori | Ori | Andi | Slli | Srli | Srai | Addiw | Slliw | Srliw
        | Sraiw | Add | Sub | Sll | Slt | Sltu | Xor | Srl | Sra | Or | And | Addw | Subw
        | Sllw | Srlw | Sraw | Mul | Mulw => unreachable!("these have handlers of their own"),
        _ => {
            let regs = &mut hart.regs;
            match fpu::execute(&mut regs.f, &mut regs.fcsr, *i, rs1) {
                Ok(Some(v)) => set!(v),
                Ok(None) => {}
                Err(fpu::BadRounding) => {
                    let (bits, _) = fetch_bits(hart, mem, here)?;
                    return Err(Trap::IllegalInstruction { bits });
                }
            }
        }
    }
    if hart.code_dirty {
        hart.code_dirty = false;
        return Ok(Flow::Refetch);
    }
    Ok(Flow::Next)
}

/// Reconstructs a CSR instruction's bits for an illegal-instruction trap.
fn csr_bits(i: &Insn) -> u32 {
    let f3 = match i.op {
        Op::Csrrw => 1,
        Op::Csrrs => 2,
        Op::Csrrc => 3,
        Op::Csrrwi => 5,
        Op::Csrrsi => 6,
        _ => 7,
    };
    ((i.imm as u32) << 20) | ((i.rs1 as u32) << 15) | (f3 << 12) | ((i.rd as u32 & 31) << 7) | 0x73
}
