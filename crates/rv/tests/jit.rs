//! The block translator against the interpreter: the same programs run on
//! two machines, one with `Hart::jit` on and one with it off, must agree on
//! every trap, register, instruction count and byte of memory, also when
//! the budget runs out mid-block, an access faults mid-block, code rewrites
//! itself, a mapping changes under a hot block, or a block runs into the
//! next page. On hosts without a translator both machines interpret, and
//! the tests still pass.
//!
//! Long on purpose: each test is a scenario the translator must survive.

mod common;

use common::*;
use rv::{Access, Trap};
use testkit::Rng;

/// Runs that make any block hot enough to be translated.
const WARM: usize = 20;

/// A pair of machines, translated and interpreted, in lockstep.
struct Pair {
    jit: Machine,
    interp: Machine,
}

impl Pair {
    fn new() -> Pair {
        let mut jit = Machine::new();
        jit.hart.jit = true;
        let mut interp = Machine::new();
        interp.hart.jit = false;
        Pair { jit, interp }
    }

    fn each(&mut self, f: impl Fn(&mut Machine)) {
        f(&mut self.jit);
        f(&mut self.interp);
    }

    /// Runs both with `budget`, checks they agree, returns the trap.
    fn run(&mut self, budget: u64, what: &str) -> Trap {
        let a = self.jit.hart.run(&mut self.jit.mem, budget);
        let b = self.interp.hart.run(&mut self.interp.mem, budget);
        assert_eq!(a, b, "{what}: trap");
        assert_eq!(
            self.jit.hart.regs, self.interp.hart.regs,
            "{what}: registers"
        );
        assert_eq!(
            self.jit.hart.instret(),
            self.interp.hart.instret(),
            "{what}: instret"
        );
        a
    }

    /// Runs both to a trap other than the budget, in slices of `budgets`.
    fn run_sliced(&mut self, budgets: &mut impl FnMut() -> u64, what: &str) -> Trap {
        loop {
            let trap = self.run(budgets(), what);
            if trap != Trap::BudgetExhausted {
                return trap;
            }
        }
    }

    fn same_memory(&self, va: u64, len: usize, what: &str) {
        assert_eq!(
            self.jit.peek(va, len),
            self.interp.peek(va, len),
            "{what}: memory"
        );
    }
}

/// Registers a random program may write: not x0, sp (x2, the data
/// pointer), x3 (a pointer near the unmapped page after the data) or x31
/// (the loop counter).
type Enc = fn(u32, u32, i32) -> u32;
type Enc3 = fn(u32, u32, u32) -> u32;
type Enc4 = fn(u32, u32, u32, u32) -> u32;
type Enc5 = fn(u32, u32, u32, u32, u32) -> u32;

/// Integers where division and multiplication are special: zero, -1, the
/// most negative 64- and 32-bit values, one.
const SPECIAL: [u64; 6] = [
    0,
    u64::MAX,
    i64::MIN as u64,
    0xffff_ffff_8000_0000,
    0xffff_ffff,
    1,
];

fn dest(rng: &mut Rng) -> u32 {
    *rng.pick(&[
        1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 28, 29, 30,
    ])
}

fn src(rng: &mut Rng) -> u32 {
    *rng.pick(&[
        0, 1, 2, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 28, 31,
    ])
}

/// One random instruction or short sequence. Most are translated; some
/// (CSR reads of instret) are left to the interpreter, and
/// loads and stores near the data's end straddle into the unmapped page.
fn random_insn(rng: &mut Rng, out: &mut Vec<P>) {
    let (rd, rs1, rs2) = (dest(rng), src(rng), src(rng));
    let imm = rng.below(4096) as i32 - 2048;
    let small = rng.below(64) as i32 - 32;
    let shamt = rng.below(64) as u32;
    let w = match rng.below(44) {
        0 => addi(rd, rs1, imm),
        1 => slti(rd, rs1, imm),
        2 => sltiu(rd, rs1, imm),
        3 => xori(rd, rs1, imm),
        4 => ori(rd, rs1, imm),
        5 => andi(rd, rs1, imm),
        6 => slli(rd, rs1, shamt),
        7 => srli(rd, rs1, shamt),
        8 => srai(rd, rs1, shamt),
        9 => addiw(rd, rs1, imm),
        10 => slliw(rd, rs1, shamt & 31),
        11 => srliw(rd, rs1, shamt & 31),
        12 => sraiw(rd, rs1, shamt & 31),
        13 => add(rd, rs1, rs2),
        14 => sub(rd, rs1, rs2),
        15 => sll(rd, rs1, rs2),
        16 => slt(rd, rs1, rs2),
        17 => sltu(rd, rs1, rs2),
        18 => xor(rd, rs1, rs2),
        19 => srl(rd, rs1, rs2),
        20 => sra(rd, rs1, rs2),
        21 => or(rd, rs1, rs2),
        22 => and(rd, rs1, rs2),
        23 => addw(rd, rs1, rs2),
        24 => subw(rd, rs1, rs2),
        25 => sllw(rd, rs1, rs2),
        26 => srlw(rd, rs1, rs2),
        27 => sraw(rd, rs1, rs2),
        28 => mul(rd, rs1, rs2),
        29 => mulw(rd, rs1, rs2),
        30 => lui(rd, rng.next() as i32 >> 12),
        31 => auipc(rd, rng.next() as i32 >> 12),
        32 => {
            let base = *rng.pick(&[2, 3]);
            let loads: [Enc; 9] = [lb, lh, lw, ld, lbu, lhu, lwu, flw, fld];
            let load = *rng.pick(&loads);
            load(rd, base, small * 8 + rng.below(8) as i32)
        }
        33 => {
            let base = *rng.pick(&[2, 3]);
            let stores: [Enc; 6] = [sb, sh, sw, sd, fsw, fsd];
            let store = *rng.pick(&stores);
            store(rs2 & 15, base, small * 8 + rng.below(8) as i32)
        }
        34 => {
            let ops: [Enc3; 11] = [
                div, divu, rem, remu, divw, divuw, remw, remuw, mulh, mulhu, mulhsu,
            ];
            rng.pick(&ops)(rd, rs1, rs2)
        }
        35 => csrrs(rd, INSTRET, 0),
        36 => {
            // Mostly the dynamic mode; now and then an invalid one (illegal).
            let rm = *rng.pick(&[7, 7, 7, 7, 0, 1, 2, 3, 4, 5]);
            let (rd, rs1, rs2, rs3) = (rd & 15, rs1 & 15, rs2 & 15, dest(rng) & 15);
            let rounding: [Enc4; 8] = [
                fadd_s, fsub_s, fmul_s, fdiv_s, fadd_d, fsub_d, fmul_d, fdiv_d,
            ];
            let fused: [Enc5; 8] = [
                fmadd_s, fmsub_s, fnmsub_s, fnmadd_s, fmadd_d, fmsub_d, fnmsub_d, fnmadd_d,
            ];
            let exact: [Enc3; 16] = [
                fsgnj_s, fsgnjn_s, fsgnjx_s, fmin_s, fmax_s, fle_s, flt_s, feq_s, fsgnj_d,
                fsgnjn_d, fsgnjx_d, fmin_d, fmax_d, fle_d, flt_d, feq_d,
            ];
            let converts: [Enc3; 20] = [
                fcvt_w_s, fcvt_wu_s, fcvt_l_s, fcvt_lu_s, fcvt_w_d, fcvt_wu_d, fcvt_l_d, fcvt_lu_d,
                fcvt_s_w, fcvt_s_wu, fcvt_s_l, fcvt_s_lu, fcvt_d_w, fcvt_d_wu, fcvt_d_l, fcvt_d_lu,
                fcvt_s_d, fcvt_d_s, fsqrt_s, fsqrt_d,
            ];
            let moves: [fn(u32, u32) -> u32; 6] =
                [fmv_x_w, fmv_x_d, fclass_s, fclass_d, fmv_w_x, fmv_d_x];
            // Comparisons, classifications, conversions to integers and
            // moves to integers write an integer rd (any of `dest`), the
            // rest an FP one; integer sources are any of `src`.
            let (xd, xs) = (dest(rng), src(rng));
            match rng.below(5) {
                0 => rng.pick(&rounding)(rd, rs1, rs2, rm),
                1 => rng.pick(&fused)(rd, rs1, rs2, rs3, rm),
                2 => {
                    let op = rng.below(16) as usize;
                    exact[op](if op % 8 >= 5 { xd } else { rd }, rs1, rs2)
                }
                3 => {
                    let op = rng.below(20) as usize;
                    match op {
                        0..=7 => converts[op](xd, rs1, rm),
                        8..=15 => converts[op](rd, xs, rm),
                        _ => converts[op](rd, rs1, rm),
                    }
                }
                _ => {
                    let op = rng.below(6) as usize;
                    moves[op](if op < 4 { xd } else { rd }, if op < 4 { rs1 } else { xs })
                }
            }
        }
        41 => {
            // The FP CSRs, every form; frm gets only valid modes but for
            // a rare reserved one (then dynamic-mode FP is illegal).
            let csr = *rng.pick(&[FFLAGS, FRM, FCSR]);
            let uimm = match csr {
                FRM => *rng.pick(&[0, 1, 2, 3, 4, 4, 0, 7]),
                FCSR => rng.below(32) as u32 | *rng.pick(&[0, 1, 2, 3, 4]) << 5,
                _ => rng.below(32) as u32,
            };
            let uimm = uimm & 31;
            match rng.below(6) {
                0 => csrrw(rd, csr, rs1),
                1 => csrrs(rd, csr, rs1),
                2 => csrrc(rd, csr, rs1),
                3 => csrrwi(rd, csr, uimm),
                4 => csrrsi(rd, csr, uimm),
                _ => csrrci(rd, csr, uimm),
            }
        }
        37 => {
            // A short forward jump: skips the next instruction or not.
            let branches: [Enc; 6] = [beq, bne, blt, bge, bltu, bgeu];
            let skip = match rng.below(7) {
                6 => jal(rd, 8),
                b => branches[b as usize](rs1, rs2, 8),
            };
            out.push(P::W(skip));
            addi(rd, rs1, 1)
        }
        39 | 40 => {
            // An AMO, or LR and SC with perhaps a store in between, at an
            // address that is mostly aligned, sometimes not, and sometimes
            // on the unmapped page.
            let base = *rng.pick(&[2, 3]);
            let off = small * 8 + *rng.pick(&[0, 0, 0, 4, 2]);
            out.push(P::W(addi(30, base, off)));
            let rd = loop {
                let r = dest(rng);
                if r != 30 {
                    break r;
                }
            };
            let amos: [Enc3; 18] = [
                amoswap_w, amoadd_w, amoxor_w, amoand_w, amoor_w, amomin_w, amomax_w, amominu_w,
                amomaxu_w, amoswap_d, amoadd_d, amoxor_d, amoand_d, amoor_d, amomin_d, amomax_d,
                amominu_d, amomaxu_d,
            ];
            match rng.below(3) {
                0 => rng.pick(&amos)(rd, rs2, 30),
                _ => {
                    let double = rng.below(2) == 1;
                    out.push(P::W(if double { lr_d(rd, 30) } else { lr_w(rd, 30) }));
                    match rng.below(3) {
                        0 => out.push(P::W(sd(rs2, 2, small * 8))),
                        1 => out.push(P::W(sw(rd, 30, 0))),
                        _ => {}
                    }
                    let rd = dest(rng);
                    if double == (rng.below(4) != 0) {
                        sc_d(rd, rs2, 30)
                    } else {
                        sc_w(rd, rs2, 30)
                    }
                }
            }
        }
        38 => {
            out.push(P::H(*rng.pick(&[
                c_addi(rd, small.clamp(-32, 31).max(1)),
                c_add(rd, rs2.max(1)),
                c_mv(rd, rs2.max(1)),
                c_slli(rd, shamt.max(1)),
            ])));
            return;
        }
        _ => FENCE,
    };
    out.push(P::W(w));
}

/// A random program at `at`: a prologue, a loop of `iterations` over a
/// random body, an epilogue, `ecall`.
fn random_program(rng: &mut Rng) -> Vec<P> {
    let mut code = Vec::new();
    for _ in 0..rng.below(8) {
        random_insn(rng, &mut code);
    }
    code.push(P::W(addi(31, 0, 1 + rng.below(60) as i32)));
    let mut body = Vec::new();
    for _ in 0..1 + rng.below(40) {
        random_insn(rng, &mut body);
    }
    body.push(P::W(addi(31, 31, -1)));
    let len = bytes_of(&body).len() as i32;
    code.extend(body);
    code.push(P::W(bne(31, 0, -len)));
    for _ in 0..rng.below(8) {
        random_insn(rng, &mut code);
    }
    code.push(P::W(ECALL));
    code
}

#[test]
fn random_programs_agree_with_the_interpreter() {
    let mut rng = Rng::new(0x6a17);
    for case in 0..400 {
        let code = bytes_of(&random_program(&mut rng));
        // Anywhere in the first code page, so that many run into the next.
        let at = CODE + rng.below(0x800) * 2;
        let seeds: Vec<u64> = (0..32).map(|_| rng.next()).collect();
        // Sometimes a static rounding mode in frm, sometimes flags set.
        let fcsr = (rng.below(5) << 5 | rng.below(32)) as u32;
        let mut p = Pair::new();
        // Atomics as plain accesses (one host thread) or locked ones.
        p.jit.mem.set_parallel(case % 2 == 1);
        p.each(|m| {
            for r in [
                1, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 28, 29, 30,
            ] {
                m.hart.regs.x[r] = match seeds[r] % 3 {
                    0 => SPECIAL[(seeds[r] >> 8) as usize % SPECIAL.len()],
                    _ => seeds[r],
                };
            }
            // Mostly ordinary doubles, some odd bit patterns, a NaN, singles.
            for (r, f) in m.hart.regs.f.iter_mut().enumerate() {
                let x = seeds[r].rotate_left(7);
                *f = match r % 8 {
                    0 | 4 => x,
                    // A quiet NaN with a payload, a NaN-boxed single.
                    1 => 0x7ff8_0000_dead_beef,
                    5 => 0xffff_ffff_3fc0_0000 | (x & 0xffff),
                    _ => (x & 0x800f_ffff_ffff_ffff) | (0x3c0 + (x >> 56 & 0x7f)) << 52,
                };
            }
            m.hart.regs.fcsr = fcsr;
            m.hart.regs.x[3] = DATA + 0x1f80;
            m.poke(at, &code);
            m.hart.regs.pc = at;
        });
        // Slices from one instruction to far more than the program needs.
        let mut budgets = || match rng.below(4) {
            0 => 1 + rng.below(5),
            1 => 1 + rng.below(100),
            _ => 1 + rng.below(100_000),
        };
        let what = format!("case {case}");
        p.run_sliced(&mut budgets, &what);
        p.same_memory(DATA, 0x2000, &what);
    }
}

#[test]
fn a_fault_in_the_middle_of_a_hot_block_is_precise() {
    let code = words(&[
        addi(5, 5, 1),
        addi(6, 6, 2),
        ld(7, 8, 16),
        addi(9, 9, 3),
        ECALL,
    ]);
    let mut p = Pair::new();
    p.each(|m| {
        m.hart.regs.x[8] = DATA;
        m.poke(CODE, &code);
    });
    for _ in 0..WARM {
        p.each(|m| m.hart.regs.pc = CODE);
        assert_eq!(p.run(BUDGET, "warm"), Trap::Ecall);
    }
    p.each(|m| {
        m.hart.regs.pc = CODE;
        m.hart.regs.x[8] = UNMAPPED - 16;
    });
    let before = p.jit.hart.instret();
    let trap = p.run(BUDGET, "fault");
    assert_eq!(
        trap,
        Trap::PageFault {
            addr: UNMAPPED,
            access: Access::Load
        }
    );
    assert_eq!(p.jit.pc(), CODE + 8);
    assert_eq!(p.jit.hart.instret() - before, 2);
    let warm = WARM as u64;
    assert_eq!(
        (p.jit.x(5), p.jit.x(6), p.jit.x(9)),
        (warm + 1, 2 * warm + 2, 3 * warm)
    );
}

#[test]
fn a_store_fault_mid_block_writes_nothing() {
    let code = words(&[
        addi(5, 0, 7),
        sd(5, 8, 0),
        sd(5, 9, 0),
        addi(6, 0, 1),
        ECALL,
    ]);
    let mut p = Pair::new();
    p.each(|m| {
        m.hart.regs.x[8] = DATA;
        m.hart.regs.x[9] = RO;
        m.poke(CODE, &code);
        m.hart.regs.pc = CODE;
    });
    let trap = p.run(BUDGET, "store fault");
    assert_eq!(
        trap,
        Trap::PageFault {
            addr: RO,
            access: Access::Store
        }
    );
    assert_eq!(
        (p.jit.pc(), p.jit.peek_u64(DATA), p.jit.x(6)),
        (CODE + 8, 7, 0)
    );
    p.same_memory(RO, 8, "store fault");
}

#[test]
fn the_budget_runs_out_exactly_inside_a_hot_block() {
    let mut ws: Vec<u32> = (0..20).map(|_| addi(5, 5, 1)).collect();
    ws.push(ECALL);
    let code = words(&ws);
    let mut p = Pair::new();
    p.each(|m| m.poke(CODE, &code));
    for _ in 0..WARM {
        p.each(|m| m.hart.regs.pc = CODE);
        assert_eq!(p.run(BUDGET, "warm"), Trap::Ecall);
    }
    for budget in 1..=21 {
        p.each(|m| {
            m.hart.regs.pc = CODE;
            m.hart.regs.x[5] = 0;
        });
        let trap = p.run(budget, &format!("budget {budget}"));
        let done = budget.min(20);
        assert_eq!(p.jit.x(5), done, "budget {budget}");
        if budget <= 20 {
            assert_eq!(trap, Trap::BudgetExhausted);
            assert_eq!(p.jit.pc(), CODE + 4 * budget);
        } else {
            assert_eq!(trap, Trap::Ecall);
        }
    }
}

#[test]
fn the_budget_runs_out_inside_chained_loops() {
    // for x31 in 1000..0 { x5 += x31; if x31 & 1 { x6 += 1 } }
    let code = words(&[
        addi(31, 0, 1000),
        add(5, 5, 31),
        andi(7, 31, 1),
        beq(7, 0, 8),
        addi(6, 6, 1),
        addi(31, 31, -1),
        bne(31, 0, -20),
        ECALL,
    ]);
    let mut p = Pair::new();
    p.each(|m| {
        m.poke(CODE, &code);
        m.hart.regs.pc = CODE;
    });
    let mut n = 0;
    let mut budgets = || {
        n += 1;
        1 + n % 37
    };
    assert_eq!(p.run_sliced(&mut budgets, "sliced loop"), Trap::Ecall);
    assert_eq!((p.jit.x(5), p.jit.x(6)), (500_500, 500));
}

#[test]
fn code_that_rewrites_its_own_hot_loop() {
    // The loop adds x6 to x5 through the instruction at `patch`, 100 times;
    // at iteration 50 it stores over that instruction an `addi x5, x5, 100`.
    let patched = addi(5, 5, 100);
    let code = words(&[
        addi(31, 0, 100), // 0
        addi(6, 0, 1),    // 4
        add(5, 5, 6),     // 8: patch
        addi(31, 31, -1), // 12
        addi(7, 0, 50),   // 16
        bne(31, 7, 12),   // 20 -> 32
        sw(8, 9, 8),      // 24: rewrite `patch`
        FENCE_I,          // 28
        bne(31, 0, -24),  // 32 -> 8
        ECALL,            // 36
    ]);
    let mut p = Pair::new();
    p.each(|m| {
        m.poke(RWX, &code);
        m.hart.regs.pc = RWX;
        m.hart.regs.x[8] = patched as u64;
        m.hart.regs.x[9] = RWX;
    });
    assert_eq!(p.run(BUDGET, "self-modifying loop"), Trap::Ecall);
    assert_eq!(p.jit.x(5), 50 + 50 * 100);
}

#[test]
fn a_store_through_an_alias_reaches_hot_code() {
    // `ALIAS` maps the frame behind `CODE + 0x1000` writable.
    let target = CODE + 0x1000;
    let mut p = Pair::new();
    p.each(|m| {
        m.poke(target, &words(&[addi(5, 5, 1), jalr(0, 1, 0)]));
        m.poke(CODE, &words(&[jal(1, 0x1000), ECALL]));
    });
    for round in 0..WARM as u64 {
        p.each(|m| m.hart.regs.pc = CODE);
        assert_eq!(p.run(BUDGET, "call"), Trap::Ecall);
        assert_eq!(p.jit.x(5), round + 1);
    }
    p.each(|m| {
        m.poke(CODE + 8, &words(&[sw(8, 9, 0), ECALL]));
        m.hart.regs.x[8] = addi(5, 5, 10) as u64;
        m.hart.regs.x[9] = ALIAS;
        m.hart.regs.pc = CODE + 8;
    });
    assert_eq!(p.run(BUDGET, "patch"), Trap::Ecall);
    p.each(|m| m.hart.regs.pc = CODE);
    assert_eq!(p.run(BUDGET, "call again"), Trap::Ecall);
    assert_eq!(p.jit.x(5), WARM as u64 + 10);
}

#[test]
fn a_hot_block_sees_a_remapped_page_after_a_flush() {
    let code = words(&[ld(5, 8, 0), ECALL]);
    let mut p = Pair::new();
    p.each(|m| {
        m.poke(CODE, &code);
        m.poke_u64(DATA, 1);
        m.hart.regs.x[8] = DATA;
    });
    for _ in 0..WARM {
        p.each(|m| m.hart.regs.pc = CODE);
        p.run(BUDGET, "before");
        assert_eq!(p.jit.x(5), 1);
    }
    p.each(|m| {
        let other = m.frame();
        m.map_to(DATA, other, USER_RW);
        m.poke_u64(DATA, 2);
        m.hart.flush_tlb_page(DATA);
        m.hart.regs.pc = CODE;
    });
    p.run(BUDGET, "after flush_tlb_page");
    assert_eq!(p.jit.x(5), 2);
    p.each(|m| {
        m.protect(DATA, 0);
        m.hart.flush_tlb();
        m.hart.regs.pc = CODE;
    });
    let trap = p.run(BUDGET, "after flush_tlb");
    assert_eq!(
        trap,
        Trap::PageFault {
            addr: DATA,
            access: Access::Load
        }
    );
}

#[test]
fn a_loop_across_a_page_boundary() {
    // The body starts 12 bytes before the end of the first code page,
    // with compressed instructions on both sides and a 4-byte instruction
    // straddling the boundary.
    let start = CODE + 0x1000 - 12;
    let body = [
        P::H(c_addi(5, 1)),
        P::W(add(6, 6, 5)),
        P::H(c_slli(6, 1)),
        P::H(c_addi(6, 3)),
        P::W(xor(7, 7, 6)),
        P::H(c_addi(31, -1)),
    ];
    let len = bytes_of(&body).len() as i32;
    let mut parts = vec![P::W(addi(31, 0, 300))];
    parts.extend(body);
    parts.push(P::W(bne(31, 0, -len)));
    parts.push(P::W(ECALL));
    let code = bytes_of(&parts);
    let mut p = Pair::new();
    p.each(|m| {
        m.poke(start - 4, &code);
        m.hart.regs.pc = start - 4;
    });
    assert_eq!(p.run(BUDGET, "across pages"), Trap::Ecall);
    assert_eq!(p.jit.x(5), 300);
}

#[test]
fn a_jump_to_the_upper_half_faults_at_its_target() {
    // Upper-half addresses have bit 63 set, as no user pc does.
    let target = 0xffff_ffff_ffff_f000u64;
    let mut p = Pair::new();
    p.each(|m| {
        m.poke(CODE, &words(&[jalr(1, 8, 0), ECALL]));
        m.hart.regs.x[8] = target;
    });
    for _ in 0..WARM {
        p.each(|m| m.hart.regs.pc = CODE);
        let trap = p.run(BUDGET, "jump up");
        assert_eq!(
            trap,
            Trap::PageFault {
                addr: target,
                access: Access::Fetch
            }
        );
        assert_eq!((p.jit.pc(), p.jit.x(1)), (target, CODE + 4));
    }
}

#[test]
fn fp_arithmetic_in_a_hot_block_with_an_invalid_dynamic_rounding_mode() {
    // A loop of fmadd.d with the dynamic mode; at iteration 30 it writes
    // frm = 5 (invalid), so the next fmadd.d is illegal.
    let code = words(&[
        addi(31, 0, 100),       // 0
        fmadd_d(1, 2, 3, 1, 7), // 4
        addi(31, 31, -1),       // 8
        addi(7, 0, 70),         // 12
        bne(31, 7, -12),        // 16 -> 4
        csrrwi(0, FRM, 5),      // 20
        jal(0, -20),            // 24 -> 4
    ]);
    let mut p = Pair::new();
    p.each(|m| {
        m.poke(CODE, &code);
        m.hart.regs.pc = CODE;
        m.hart.regs.f[2] = 1.5f64.to_bits();
        m.hart.regs.f[3] = 0.1f64.to_bits();
    });
    let trap = p.run(BUDGET, "invalid frm");
    assert!(matches!(trap, Trap::IllegalInstruction { .. }), "{trap:?}");
    assert_eq!((p.jit.pc(), p.jit.x(31)), (CODE + 4, 70));
    assert_eq!(p.jit.hart.regs.fcsr, 5 << 5 | 1);
}

#[test]
fn a_hot_call_to_another_page_follows_a_remapped_page() {
    // A loop at CODE calls a function at the start of the next page, which
    // returns through ra: both jumps leave their page.
    let callee = CODE + 0x1000;
    let code = words(&[
        addi(31, 0, 50),    // 0
        jal(1, 0x1000 - 4), // 4 -> callee
        addi(31, 31, -1),   // 8
        bne(31, 0, -8),     // 12 -> 4
        ECALL,              // 16
    ]);
    let mut p = Pair::new();
    p.each(|m| {
        m.poke(callee, &words(&[addi(5, 5, 1), jalr(0, 1, 0)]));
        m.poke(CODE, &code);
    });
    for round in 1..=4 {
        p.each(|m| m.hart.regs.pc = CODE);
        assert_eq!(p.run(BUDGET, "calls"), Trap::Ecall);
        assert_eq!(p.jit.x(5), 50 * round);
    }
    // The callee's page now maps another frame, with other code.
    p.each(|m| {
        let other = m.frame();
        m.map_to(callee, other, USER_RX);
        m.poke(callee, &words(&[addi(5, 5, 100), jalr(0, 1, 0)]));
        m.hart.flush_tlb_page(callee);
        m.hart.regs.pc = CODE;
        m.hart.regs.x[5] = 0;
    });
    assert_eq!(p.run(BUDGET, "calls after remap"), Trap::Ecall);
    assert_eq!(p.jit.x(5), 5000);
    // Every budget stops the chain of calls at the same instruction.
    for budget in 1..=60 {
        p.each(|m| m.hart.regs.pc = CODE);
        p.run(budget, &format!("budget {budget}"));
    }
}

#[test]
fn hot_fp_arithmetic_on_special_values_has_the_interpreters_bits_and_flags() {
    // Each operation on each pair of special operands (NaNs quiet and
    // signaling, with payloads and without, ±0, subnormals, infinities,
    // singles not NaN-boxed), in a hot loop, in
    // round-to-nearest-even (conversions to integers: toward zero, as C
    // casts), with NX already accrued (where translated code
    // may use the host's SSE) and without: the results and every flag must
    // be the interpreter's. Results at the smallest normal,
    // subnormal or zero results, infinities and NaNs are where SSE and
    // RISC-V part.
    const MIN: u64 = 0x0010_0000_0000_0000;
    let doubles: [u64; 17] = [
        0,
        1 << 63,
        MIN,
        MIN + 1,
        MIN - 1,
        1,
        1.0f64.to_bits(),
        1.5f64.to_bits(),
        0x3fe0_0000_0000_0001, // 0.5 + 1 ulp
        f64::MAX.to_bits(),
        f64::INFINITY.to_bits(),
        0x7ff8_0000_dead_beef,
        0x7ff0_0000_0000_0001,
        3.0f64.to_bits(),
        (-1.5f64).to_bits(),
        f64::NEG_INFINITY.to_bits(),
        1 << 63 | 5,
    ];
    let singles: Vec<u64> = [
        0u32,
        0x8000_0000,
        0x0080_0000,
        0x0080_0001,
        0x007f_ffff,
        1,
        1.0f32.to_bits(),
        1.5f32.to_bits(),
        0x3f00_0001,
        f32::MAX.to_bits(),
        f32::INFINITY.to_bits(),
        0x7fc0_beef,
        0x7f80_0001,
        3.0f32.to_bits(),
        (-1.5f32).to_bits(),
        f32::NEG_INFINITY.to_bits(),
        0x8000_0005,
        0xffc0_0001,
    ]
    .iter()
    .map(|&s| 0xffff_ffff_0000_0000 | s as u64)
    // Not NaN-boxed: read as the canonical NaN.
    .chain([0x3f80_0000, 0x7fff_ffff_0000_0000])
    .collect();
    type Op = fn(u32, u32, u32) -> u32;
    let ops: [(bool, Op); 30] = [
        (false, |d, a, _| fcvt_l_d(d, a, 1)),
        (false, |d, a, _| fcvt_w_d(d, a, 1)),
        (false, |d, a, b| fadd_d(d, a, b, 7)),
        (false, |d, a, b| fsub_d(d, a, b, 7)),
        (false, |d, a, b| fmul_d(d, a, b, 7)),
        (false, |d, a, b| fdiv_d(d, a, b, 7)),
        (false, |d, a, _| fsqrt_d(d, a, 7)),
        (false, |d, a, b| fmadd_d(d, a, b, a, 7)),
        (true, |d, a, b| fadd_s(d, a, b, 7)),
        (true, |d, a, b| fmul_s(d, a, b, 7)),
        (true, |d, a, b| fdiv_s(d, a, b, 7)),
        (true, |d, a, _| fsqrt_s(d, a, 7)),
        (true, |d, a, b| fnmsub_s(d, a, b, b, 7)),
        (true, |d, a, b| fmsub_s(d, a, b, a, 7)),
        (true, fsgnj_s),
        (true, fsgnjn_s),
        (true, fsgnjx_s),
        (true, fmin_s),
        (true, fmax_s),
        (true, feq_s),
        (true, flt_s),
        (true, fle_s),
        (true, |d, a, _| fclass_s(d, a)),
        (false, fmin_d),
        (false, fmax_d),
        (false, feq_d),
        (false, flt_d),
        (false, fle_d),
        (false, |d, a, _| fclass_d(d, a)),
        (false, fsgnjn_d),
    ];
    for (single, op) in ops {
        let values = if single { &singles[..] } else { &doubles[..] };
        // Twenty times: fflags = the initial ones; f3 = f1 op f2; x5 =
        // fflags. The loop runs translated from its third operand pair
        // on, and x5 holds the flags of the last operation alone.
        let code = words(&[
            addi(31, 0, 20),
            csrrw(0, FFLAGS, 6),
            op(3, 1, 2),
            csrrs(5, FFLAGS, 0),
            addi(31, 31, -1),
            bne(31, 0, -16),
            ECALL,
        ]);
        let mut p = Pair::new();
        p.each(|m| m.poke(CODE, &code));
        for &a in values {
            for &b in values {
                for fcsr in [1u64, 0] {
                    p.each(|m| {
                        m.hart.regs.pc = CODE;
                        m.hart.regs.f[1] = a;
                        m.hart.regs.f[2] = b;
                        m.hart.regs.x[6] = fcsr;
                    });
                    let what = format!("{:#x} {a:#x} {b:#x} fcsr {fcsr:#x}", op(3, 1, 2));
                    assert_eq!(p.run(BUDGET, &what), Trap::Ecall, "{what}");
                }
            }
        }
    }
}

#[test]
fn grouped_accesses_walking_across_pages_and_permissions() {
    // Loads and stores at fixed offsets from one register (and from a
    // register derived from it by addi) share one TLB lookup per block.
    // Here the base walks 8 bytes per iteration from a writable page into
    // a read-only one, so the groups' spans straddle the two pages, then
    // lie on the read-only page, where the stores fault; x28 lives in
    // memory, x13 in a host register.
    let mut rng = Rng::new(0x9a0);
    for (base, start) in [(28, RW_BEFORE_RO + 0xf40), (13, RW_BEFORE_RO + 0xf88)] {
        let code = words(&[
            addi(31, 0, 40),
            ld(6, base, 0),    // loop:
            lw(7, base, 12),   //   a load group: base + 0..16
            addi(10, base, 4), //   x10 = base + 4
            add(8, 8, 6),
            lbu(9, 10, 4), //   base + 8, through x10
            add(8, 8, 7),
            add(8, 8, 9),
            sd(8, 1, 0),   //     a store through another base
            sb(9, 10, -4), //   base + 0, a store: the group is a store group
            sh(8, 10, 10), //   base + 14
            addi(base, base, 8),
            addi(31, 31, -1),
            bne(31, 0, -48),
            ECALL,
        ]);
        let mut p = Pair::new();
        p.each(|m| {
            // The read-only page on a frame away from the writable one's.
            m.frame();
            let frame = m.frame();
            m.map_to(RO, frame, USER_RO);
            for off in (0..0x1000).step_by(8) {
                m.poke_u64(
                    RW_BEFORE_RO + off,
                    0x0101_0101_0101_0101u64.wrapping_mul(off + 1),
                );
            }
            m.hart.regs.x[base as usize] = start;
            m.hart.regs.x[1] = DATA;
            m.poke(CODE, &code);
            m.hart.regs.pc = CODE;
        });
        let mut budgets = || 1 + rng.below(60);
        let what = format!("base x{base}");
        let trap = p.run_sliced(&mut budgets, &what);
        assert!(
            matches!(trap, Trap::PageFault { access: Access::Store, addr } if addr >= RO),
            "{what}: {trap:?}"
        );
        p.same_memory(RW_BEFORE_RO, 0x1000, &what);
        p.same_memory(DATA, 8, &what);
        // Again from the start, hot now, with the whole budget at once.
        p.each(|m| {
            m.hart.regs.x[base as usize] = start;
            m.hart.regs.pc = CODE;
        });
        p.run(BUDGET, &what);
        p.same_memory(RW_BEFORE_RO, 0x1000, &what);
    }
}
