//! Instruction tests for the hart, one group per instruction class, through
//! the public API only: a machine with a hand-built Sv39 table, programs
//! assembled with `testkit::encode` (checked against GNU as there), run until
//! a trailing `ecall`, then registers, memory and fcsr are checked against
//! the RISC-V unprivileged spec.
//!
//! Table-driven tests collect every wrong case before failing, so one run
//! names all of them.
//!
//! Long on purpose: a table of cases per instruction.

mod common;

use common::*;
use rv::{pte, Access, Clock, Hart, Trap};
use std::fmt::Display;

const MIN: u64 = i64::MIN as u64;
const IMAX: u64 = i64::MAX as u64;
const MAX: u64 = u64::MAX;

fn neg(v: i64) -> u64 {
    v as u64
}

fn sext32(v: u64) -> u64 {
    v as i32 as i64 as u64
}

/// Collects mismatches so a table-driven test reports all of them.
#[derive(Default)]
struct Failures(Vec<String>);

impl Failures {
    fn check(&mut self, what: impl Display, got: u64, want: u64) {
        if got != want {
            self.0.push(format!("{what}: got {got:#x}, want {want:#x}"));
        }
    }

    fn fail(&mut self, what: String) {
        self.0.push(what);
    }

    fn done(self) {
        assert!(
            self.0.is_empty(),
            "{} failure(s):\n  {}",
            self.0.len(),
            self.0.join("\n  ")
        );
    }
}

type R3 = fn(u32, u32, u32) -> u32;
type RI = fn(u32, u32, i32) -> u32;

/// `enc x7, x5, x6` with x5 = a, x6 = b.
fn rr(enc: R3, a: u64, b: u64) -> u64 {
    run1(enc(7, 5, 6), &[(5, a), (6, b)]).x(7)
}

/// `enc x7, x5, imm` with x5 = a.
fn ri(enc: RI, a: u64, imm: i32) -> u64 {
    run1(enc(7, 5, imm), &[(5, a)]).x(7)
}

fn check_rr(f: &mut Failures, name: &str, enc: R3, cases: &[(u64, u64, u64)]) {
    for &(a, b, want) in cases {
        f.check(format_args!("{name} {a:#x}, {b:#x}"), rr(enc, a, b), want);
    }
}

fn check_ri(f: &mut Failures, name: &str, enc: RI, cases: &[(u64, i32, u64)]) {
    for &(a, imm, want) in cases {
        f.check(format_args!("{name} {a:#x}, {imm}"), ri(enc, a, imm), want);
    }
}

/// The run must stop at the first instruction with `want`, changing no
/// register and retiring nothing.
fn expect_precise(m: &mut Machine, code: &[u8], want: Trap) {
    m.poke(CODE, code);
    m.hart.regs.pc = CODE;
    let before = m.hart.regs.clone();
    let instret = m.hart.instret();
    let trap = m.hart.run(&mut m.mem, BUDGET);
    assert_eq!(trap, want);
    assert_eq!(
        m.hart.regs, before,
        "a trapping instruction changed registers"
    );
    assert_eq!(m.hart.instret(), instret, "a trapping instruction retired");
}

// ===========================================================================
// RV64I
// ===========================================================================

#[test]
fn rv64i_register_register_ops() {
    let mut f = Failures::default();
    let x = 0xff00_ff00_ff00_ff00;
    let y = 0x0ff0_0ff0_0ff0_0ff0;
    check_rr(
        &mut f,
        "add",
        add,
        &[(1, 2, 3), (MAX, 1, 0), (IMAX, 1, MIN), (MIN, MIN, 0)],
    );
    check_rr(
        &mut f,
        "sub",
        sub,
        &[(0, 1, MAX), (MIN, 1, IMAX), (5, 7, neg(-2))],
    );
    check_rr(
        &mut f,
        "sll",
        sll,
        &[
            (1, 0, 1),
            (1, 31, 1 << 31),
            (1, 32, 1 << 32),
            (1, 63, 1 << 63),
            (3, 64, 3),
            (1, 0xffff_ffff_ffff_ffc1, 2),
            (0x8000_0000_0000_0001, 1, 2),
        ],
    );
    check_rr(
        &mut f,
        "srl",
        srl,
        &[
            (MIN, 0, MIN),
            (MIN, 31, 1 << 32),
            (MIN, 32, 1 << 31),
            (MIN, 63, 1),
            (MAX, 64, MAX),
            (MAX, 0x7f, 1),
        ],
    );
    check_rr(
        &mut f,
        "sra",
        sra,
        &[
            (MIN, 0, MIN),
            (MIN, 31, 0xffff_ffff_0000_0000),
            (MIN, 32, 0xffff_ffff_8000_0000),
            (MIN, 63, MAX),
            (IMAX, 63, 0),
            (MIN, 64, MIN),
            (IMAX, 32, 0x7fff_ffff),
        ],
    );
    check_rr(
        &mut f,
        "slt",
        slt,
        &[
            (neg(-1), 1, 1),
            (1, neg(-1), 0),
            (MIN, IMAX, 1),
            (IMAX, MIN, 0),
            (5, 5, 0),
            (neg(-2), neg(-1), 1),
        ],
    );
    check_rr(
        &mut f,
        "sltu",
        sltu,
        &[
            (neg(-1), 1, 0),
            (1, neg(-1), 1),
            (0, 1, 1),
            (5, 5, 0),
            (MIN, IMAX, 0),
        ],
    );
    check_rr(
        &mut f,
        "xor",
        xor,
        &[(x, y, 0xf0f0_f0f0_f0f0_f0f0), (MAX, 0x1234, !0x1234)],
    );
    check_rr(
        &mut f,
        "or",
        or,
        &[(x, y, 0xfff0_fff0_fff0_fff0), (0, 0, 0)],
    );
    check_rr(
        &mut f,
        "and",
        and,
        &[(x, y, 0x0f00_0f00_0f00_0f00), (MAX, MIN, MIN)],
    );
    check_rr(
        &mut f,
        "addw",
        addw,
        &[
            (0x7fff_ffff, 1, 0xffff_ffff_8000_0000),
            (0xffff_ffff, 1, 0),
            (0x1_0000_0000, 0, 0),
            (0x8000_0000, 0, 0xffff_ffff_8000_0000),
            (0x1234_5678_0000_0001, 0xabcd_0000_0000_0002, 3),
        ],
    );
    check_rr(
        &mut f,
        "subw",
        subw,
        &[
            (0, 1, MAX),
            (0x8000_0000, 1, 0x7fff_ffff),
            (0x1_0000_0000, 0x2_0000_0000, 0),
            (0x7fff_ffff, neg(-1), 0xffff_ffff_8000_0000),
        ],
    );
    check_rr(
        &mut f,
        "sllw",
        sllw,
        &[
            (1, 31, 0xffff_ffff_8000_0000),
            (1, 32, 1),
            (1, 63, 0xffff_ffff_8000_0000),
            (0xffff_ffff_0000_0001, 0, 1),
            (0x1_4000_0000, 1, 0xffff_ffff_8000_0000),
        ],
    );
    check_rr(
        &mut f,
        "srlw",
        srlw,
        &[
            (0x8000_0000, 31, 1),
            (0x8000_0000, 0, 0xffff_ffff_8000_0000),
            (0xffff_ffff_8000_0000, 32, 0xffff_ffff_8000_0000),
            (0x8000_0000, 1, 0x4000_0000),
            (0x1_0000_0000, 0, 0),
            (MAX, 63, 1),
        ],
    );
    check_rr(
        &mut f,
        "sraw",
        sraw,
        &[
            (0x8000_0000, 31, MAX),
            (0x8000_0000, 32, 0xffff_ffff_8000_0000),
            (0x7fff_ffff, 63, 0),
            (0x1_8000_0000, 4, 0xffff_ffff_f800_0000),
            (0xffff_ffff_7fff_ffff, 0, 0x7fff_ffff),
        ],
    );
    f.done();
}

#[test]
fn rv64i_register_ops_with_aliased_operands() {
    // rd == rs1 == rs2.
    let m = run1(add(5, 5, 5), &[(5, 21)]);
    assert_eq!(m.x(5), 42);
    let m = run1(sub(5, 5, 5), &[(5, 21)]);
    assert_eq!(m.x(5), 0);
    let m = run1(sltu(5, 6, 5), &[(5, 1), (6, 0)]);
    assert_eq!(m.x(5), 1);
}

#[test]
fn rv64i_register_immediate_ops() {
    let mut f = Failures::default();
    check_ri(
        &mut f,
        "addi",
        addi,
        &[
            (5, -1, 4),
            (0, -2048, neg(-2048)),
            (0, 2047, 2047),
            (MAX, 1, 0),
        ],
    );
    check_ri(
        &mut f,
        "slti",
        slti,
        &[
            (neg(-1), 0, 1),
            (0, -1, 0),
            (MIN, -2048, 1),
            (neg(-2048), -2048, 0),
            (IMAX, 2047, 0),
        ],
    );
    check_ri(
        &mut f,
        "sltiu",
        sltiu,
        &[
            (0, -1, 1),
            (MAX, -1, 0),
            (0, 1, 1),
            (1, 1, 0),
            (neg(-2049), -2048, 1),
            (MIN, 2047, 0),
        ],
    );
    check_ri(
        &mut f,
        "xori",
        xori,
        &[(0x1234, -1, !0x1234), (0xff, 0x0f, 0xf0)],
    );
    check_ri(
        &mut f,
        "ori",
        ori,
        &[(0, -2048, 0xffff_ffff_ffff_f800), (0x100, 1, 0x101)],
    );
    check_ri(
        &mut f,
        "andi",
        andi,
        &[
            (MAX, -2048, 0xffff_ffff_ffff_f800),
            (0xff, 0x0f, 0x0f),
            (MAX, 0x7ff, 0x7ff),
        ],
    );
    check_ri(
        &mut f,
        "addiw",
        addiw,
        &[
            (0x7fff_ffff, 1, 0xffff_ffff_8000_0000),
            (0x1_8000_0000, 0, 0xffff_ffff_8000_0000),
            (0xffff_ffff_0000_0000, -1, MAX),
            (0x1_0000_0001, -1, 0),
            (0x8000_0000, -1, 0x7fff_ffff),
        ],
    );
    type ShiftCases<'a> = &'a [(u64, u32, u64)];
    let shifts: &[(&str, R3, ShiftCases)] = &[
        (
            "slli",
            slli,
            &[
                (1, 0, 1),
                (1, 31, 1 << 31),
                (1, 32, 1 << 32),
                (1, 63, 1 << 63),
                (MAX, 63, MIN),
            ],
        ),
        (
            "srli",
            srli,
            &[
                (MIN, 0, MIN),
                (MIN, 31, 1 << 32),
                (MIN, 32, 1 << 31),
                (MIN, 63, 1),
            ],
        ),
        (
            "srai",
            srai,
            &[
                (MIN, 0, MIN),
                (MIN, 31, 0xffff_ffff_0000_0000),
                (MIN, 32, 0xffff_ffff_8000_0000),
                (MIN, 63, MAX),
                (IMAX, 63, 0),
            ],
        ),
        (
            "slliw",
            slliw,
            &[
                (1, 31, 0xffff_ffff_8000_0000),
                (0xffff_ffff_0000_0001, 0, 1),
                (3, 30, 0xffff_ffff_c000_0000),
                (0x7fff_ffff, 0, 0x7fff_ffff),
            ],
        ),
        (
            "srliw",
            srliw,
            &[
                (0x8000_0000, 0, 0xffff_ffff_8000_0000),
                (0x8000_0000, 31, 1),
                (0xffff_ffff_8000_0000, 1, 0x4000_0000),
                (MAX, 31, 1),
            ],
        ),
        (
            "sraiw",
            sraiw,
            &[
                (0x8000_0000, 0, 0xffff_ffff_8000_0000),
                (0x8000_0000, 31, MAX),
                (0x1_7fff_ffff, 31, 0),
                (0x8000_0000, 4, 0xffff_ffff_f800_0000),
            ],
        ),
    ];
    for &(name, enc, cases) in shifts {
        for &(a, sh, want) in cases {
            let got = run1(enc(7, 5, sh), &[(5, a)]).x(7);
            f.check(format_args!("{name} {a:#x}, {sh}"), got, want);
        }
    }
    f.done();
}

#[test]
fn rv64i_word_shift_immediates_with_bit5_are_reserved() {
    // slliw/srliw/sraiw with imm[5] set are reserved encodings.
    for word in [
        slliw(7, 5, 0) | 1 << 25,
        srliw(7, 5, 1) | 1 << 25,
        sraiw(7, 5, 31) | 1 << 25,
    ] {
        let mut m = Machine::new();
        expect_precise(
            &mut m,
            &words(&[word]),
            Trap::IllegalInstruction { bits: word },
        );
    }
}

#[test]
fn lui_and_auipc_with_negative_immediates() {
    let mut f = Failures::default();
    for (imm, want) in [
        (0x80000, 0xffff_ffff_8000_0000),
        (-1, 0xffff_ffff_ffff_f000),
        (0x7ffff, 0x7fff_f000),
        (1, 0x1000),
        (0, 0),
    ] {
        f.check(
            format_args!("lui {imm:#x}"),
            run1(lui(7, imm), &[]).x(7),
            want,
        );
    }
    for (imm, want) in [
        (0, CODE),
        (1, CODE + 0x1000),
        (-1, CODE.wrapping_sub(0x1000)),
        (0x80000, CODE.wrapping_add(0xffff_ffff_8000_0000)),
    ] {
        f.check(
            format_args!("auipc {imm:#x}"),
            run1(auipc(7, imm), &[]).x(7),
            want,
        );
    }
    // auipc at a later pc.
    let mut m = Machine::new();
    m.exec_words(&[NOP, NOP, auipc(7, -2)]);
    f.check(
        "auipc -2 at CODE+8",
        m.x(7),
        (CODE + 8).wrapping_sub(0x2000),
    );
    f.done();
}

#[test]
fn jal_links_and_jumps_both_ways() {
    // 0: jal x0, 12 -> 12
    // 4: addi x6, x0, 7
    // 8: jal x0, 8 -> 16 (ecall)
    // 12: jal x1, -8 -> 4, x1 = CODE+16
    let mut m = Machine::new();
    m.exec_words(&[jal(0, 12), addi(6, 0, 7), jal(0, 8), jal(1, -8)]);
    assert_eq!(m.x(6), 7);
    assert_eq!(m.x(1), CODE + 16);

    let mut m = Machine::new();
    m.exec_words(&[jal(5, 8), addi(6, 0, 1)]);
    assert_eq!(m.x(5), CODE + 4);
    assert_eq!(m.x(6), 0, "jal did not skip");
}

#[test]
fn jal_far_targets() {
    // Forward 0x2000 into the third code page; then back 0x3000.
    let mut m = Machine::new();
    let mut code = vec![0u8; 0x2004];
    code[..4].copy_from_slice(&jal(1, 0x2000).to_le_bytes());
    code[0x2000..].copy_from_slice(&ECALL.to_le_bytes());
    assert_eq!(m.run_at(CODE, &code), Trap::Ecall);
    assert_eq!(m.pc(), CODE + 0x2000);
    assert_eq!(m.x(1), CODE + 4);

    let mut m = Machine::new();
    m.poke(CODE, &ECALL.to_le_bytes());
    assert_eq!(
        m.run_at(CODE + 0x3000, &words(&[jal(1, -0x3000)])),
        Trap::Ecall
    );
    assert_eq!(m.pc(), CODE);
    assert_eq!(m.x(1), CODE + 0x3004);
}

#[test]
fn jalr_clears_bit0_and_handles_rd_equal_rs1() {
    let mut f = Failures::default();
    // Target CODE+8 (the ecall) from various base/offset pairs.
    for (base, off) in [
        (CODE + 9, 0),
        (CODE + 15, -7),
        (CODE, 8),
        (CODE + 0x808, -2048),
    ] {
        let mut m = Machine::new();
        m.hart.regs.x[5] = base;
        m.exec_words(&[jalr(1, 5, off), addi(6, 0, 1)]);
        f.check(
            format_args!("jalr {base:#x}{off:+}: link"),
            m.x(1),
            CODE + 4,
        );
        f.check(format_args!("jalr {base:#x}{off:+}: skipped"), m.x(6), 0);
    }
    // rd == rs1: the target uses the old value.
    let mut m = Machine::new();
    m.hart.regs.x[5] = CODE + 8;
    m.exec_words(&[jalr(5, 5, 0), addi(6, 0, 1)]);
    f.check("jalr x5, 0(x5): link", m.x(5), CODE + 4);
    f.check("jalr x5, 0(x5): skipped", m.x(6), 0);
    // rd == x0 writes nothing.
    let mut m = Machine::new();
    m.hart.regs.x[5] = CODE + 8;
    m.exec_words(&[jalr(0, 5, 0), addi(6, 0, 1)]);
    f.check("jalr x0: x0", m.x(0), 0);
    f.done();
}

#[test]
fn branches_taken_and_not_taken() {
    type B = fn(u32, u32, i32) -> u32;
    type Taken = fn(u64, u64) -> bool;
    let ops: [(&str, B, Taken); 6] = [
        ("beq", beq, |a, b| a == b),
        ("bne", bne, |a, b| a != b),
        ("blt", blt, |a, b| (a as i64) < b as i64),
        ("bge", bge, |a, b| a as i64 >= b as i64),
        ("bltu", bltu, |a, b| a < b),
        ("bgeu", bgeu, |a, b| a >= b),
    ];
    let pairs = [
        (0, 0),
        (1, 2),
        (2, 1),
        (neg(-1), 1),
        (1, neg(-1)),
        (MIN, IMAX),
        (IMAX, MIN),
        (neg(-1), neg(-1)),
        (0x1_0000_0000, 1),
    ];
    let mut f = Failures::default();
    let mut seen = [[false; 2]; 6];
    for (k, &(name, enc, taken)) in ops.iter().enumerate() {
        for &(a, b) in &pairs {
            let m = {
                let mut m = Machine::new();
                m.hart.regs.x[5] = a;
                m.hart.regs.x[6] = b;
                m.exec_words(&[enc(5, 6, 8), addi(7, 0, 1)]);
                m
            };
            let want = taken(a, b);
            seen[k][want as usize] = true;
            f.check(
                format_args!("{name} {a:#x}, {b:#x} (taken: {want})"),
                m.x(7),
                !want as u64,
            );
        }
    }
    assert!(seen.iter().all(|s| s[0] && s[1]), "every branch both ways");
    f.done();
}

#[test]
fn branches_backward_and_far() {
    // Count down: 0: addi x5, x5, -1; 4: bne x5, x0, -4.
    let mut m = Machine::new();
    m.hart.regs.x[5] = 10;
    m.exec_words(&[addi(5, 5, -1), bne(5, 0, -4)]);
    assert_eq!(m.x(5), 0);
    assert_eq!(m.hart.instret(), 20);

    // Far forward (bits 11 and 2 of the offset): beq to +2052 and bne to +4092.
    for (insn, off) in [(beq(0, 0, 2052), 2052), (bne(0, 5, 4092), 4092)] {
        let mut m = Machine::new();
        m.hart.regs.x[5] = 1;
        let mut ws = vec![insn];
        ws.resize(off / 4, addi(7, 7, 1));
        m.exec_words(&ws);
        assert_eq!(m.x(7), 0, "branch +{off} fell short");
    }

    // Far backward: jal forward to a bge that jumps back -2048 to the ecall.
    // 0: jal x0, 2052 ; 4: ecall ; ... ; 2052: bge x0, x0, -2048
    let mut m = Machine::new();
    let mut ws = vec![jal(0, 2052), ECALL];
    ws.resize(2052 / 4, addi(7, 7, 1));
    ws.push(bge(0, 0, -2048));
    assert_eq!(m.run_at(CODE, &words(&ws)), Trap::Ecall);
    assert_eq!(m.pc(), CODE + 4);
    assert_eq!(m.x(7), 0);
}

/// Loads with the value at DATA+0x40 and a negative offset from the base.
fn load_value(enc: RI, bytes: u64) -> u64 {
    let mut m = Machine::new();
    m.poke_u64(DATA + 0x40, bytes);
    m.hart.regs.x[6] = DATA + 0x140;
    m.exec_words(&[enc(5, 6, -0x100)]);
    m.x(5)
}

#[test]
fn loads_sign_and_zero_extend_every_width() {
    let mut f = Failures::default();
    let cases: &[(&str, RI, u64, u64)] = &[
        ("lb", lb, 0x80, 0xffff_ffff_ffff_ff80),
        ("lb", lb, 0x7f, 0x7f),
        ("lbu", lbu, 0x80, 0x80),
        ("lbu", lbu, 0xff, 0xff),
        ("lh", lh, 0x8001, 0xffff_ffff_ffff_8001),
        ("lh", lh, 0x7fff, 0x7fff),
        ("lhu", lhu, 0x8001, 0x8001),
        ("lw", lw, 0x8000_0001, 0xffff_ffff_8000_0001),
        ("lw", lw, 0x7fff_ffff, 0x7fff_ffff),
        ("lwu", lwu, 0x8000_0001, 0x8000_0001),
        ("lwu", lwu, 0xffff_ffff, 0xffff_ffff),
        ("ld", ld, 0x8000_0000_0000_0001, 0x8000_0000_0000_0001),
    ];
    for &(name, enc, mem, want) in cases {
        // The bytes above the loaded width are all ones, so a too-wide load shows.
        let width_mask = match name {
            "lb" | "lbu" => 0xff,
            "lh" | "lhu" => 0xffff,
            "lw" | "lwu" => 0xffff_ffff,
            _ => MAX,
        };
        let bytes = mem | !width_mask;
        f.check(
            format_args!("{name} of {mem:#x}"),
            load_value(enc, bytes),
            want,
        );
    }
    f.done();
}

#[test]
fn stores_write_only_their_width() {
    let mut f = Failures::default();
    let cases: &[(&str, RI, usize)] = &[("sb", sb, 1), ("sh", sh, 2), ("sw", sw, 4), ("sd", sd, 8)];
    for &(name, enc, width) in cases {
        let mut m = Machine::new();
        m.poke(DATA + 0x40, &[0xaa; 16]);
        m.hart.regs.x[5] = 0x1122_3344_5566_7788;
        m.hart.regs.x[6] = DATA + 0x148;
        m.exec_words(&[enc(5, 6, -0x100)]);
        let got = m.peek(DATA + 0x40, 16);
        let mut want = vec![0xaa; 16];
        want[8..8 + width].copy_from_slice(&0x1122_3344_5566_7788u64.to_le_bytes()[..width]);
        if got != want {
            f.fail(format!("{name}: memory {got:02x?}, want {want:02x?}"));
        }
    }
    f.done();
}

/// 32 pattern bytes around `va`, so misaligned loads have a known answer.
fn pattern(m: &mut Machine, va: u64) -> Vec<u8> {
    let bytes: Vec<u8> = (0..32).map(|i| 0x81u8.wrapping_add(i * 7)).collect();
    m.poke(va - 16, &bytes);
    bytes
}

fn expected_load(name: &str, b: &[u8]) -> u64 {
    match name {
        "lh" => i16::from_le_bytes(b[..2].try_into().unwrap()) as u64,
        "lhu" => u16::from_le_bytes(b[..2].try_into().unwrap()) as u64,
        "lw" => i32::from_le_bytes(b[..4].try_into().unwrap()) as u64,
        "lwu" => u32::from_le_bytes(b[..4].try_into().unwrap()) as u64,
        "ld" => u64::from_le_bytes(b[..8].try_into().unwrap()),
        _ => unreachable!(),
    }
}

const WIDE_LOADS: [(&str, RI, usize); 5] = [
    ("lh", lh, 2),
    ("lhu", lhu, 2),
    ("lw", lw, 4),
    ("lwu", lwu, 4),
    ("ld", ld, 8),
];

#[test]
fn misaligned_loads_within_a_page_and_across_pages() {
    let mut f = Failures::default();
    // Within a page (around DATA+0x100) and across the DATA / DATA+0x1000
    // boundary, whose frames are not physically adjacent.
    for center in [DATA + 0x100, DATA + 0x1000] {
        for &(name, enc, width) in &WIDE_LOADS {
            for start in center - width as u64 + 1..center + 1 {
                if start % width as u64 == 0 {
                    continue;
                }
                let mut m = Machine::new();
                let bytes = pattern(&mut m, center);
                let at = (start - (center - 16)) as usize;
                m.hart.regs.x[6] = start;
                m.exec_words(&[enc(5, 6, 0)]);
                f.check(
                    format_args!("{name} at {start:#x}"),
                    m.x(5),
                    expected_load(name, &bytes[at..]),
                );
            }
        }
    }
    f.done();
}

#[test]
fn misaligned_stores_within_a_page_and_across_pages() {
    let mut f = Failures::default();
    let stores: [(&str, RI, usize); 3] = [("sh", sh, 2), ("sw", sw, 4), ("sd", sd, 8)];
    let value = 0x1122_3344_5566_7788u64;
    for center in [DATA + 0x100, DATA + 0x1000] {
        for &(name, enc, width) in &stores {
            for start in center - width as u64 + 1..center + 1 {
                if start % width as u64 == 0 {
                    continue;
                }
                let mut m = Machine::new();
                let mut want = pattern(&mut m, center);
                let at = (start - (center - 16)) as usize;
                want[at..at + width].copy_from_slice(&value.to_le_bytes()[..width]);
                m.hart.regs.x[5] = value;
                m.hart.regs.x[6] = start;
                m.exec_words(&[enc(5, 6, 0)]);
                let got = m.peek(center - 16, 32);
                if got != want {
                    f.fail(format!(
                        "{name} at {start:#x}: {got:02x?}, want {want:02x?}"
                    ));
                }
            }
        }
    }
    f.done();
}

#[test]
fn misaligned_fp_loads_and_stores_across_pages() {
    let v = 0x4009_21fb_5444_2d18u64; // pi
    let mut m = Machine::new();
    m.poke_u64(DATA + 0xffd, v);
    m.poke_u32(DATA + 0x10e, 0x3f80_0000);
    m.hart.regs.x[6] = DATA + 0xffd;
    m.hart.regs.x[7] = DATA + 0x10e;
    m.hart.regs.x[8] = DATA + 0x107;
    m.exec_words(&[flw(2, 7, 0), fld(1, 6, 0), fsw(2, 8, 0)]);
    assert_eq!(m.f(1), v);
    assert_eq!(m.f(2), 0xffff_ffff_3f80_0000);
    assert_eq!(m.peek_u32(DATA + 0x107), 0x3f80_0000);

    let mut m = Machine::new();
    m.hart.regs.f[1] = v;
    m.hart.regs.f[2] = 0xffff_ffff_3f80_0000;
    m.hart.regs.x[6] = DATA + 0xffa;
    m.hart.regs.x[7] = DATA + 0xffe;
    m.exec_words(&[fsd(1, 6, 0)]);
    assert_eq!(m.peek_u64(DATA + 0xffa), v);
    m.exec_words(&[fsw(2, 7, 0)]);
    assert_eq!(m.peek_u32(DATA + 0xffe), 0x3f80_0000);
}

#[test]
fn x0_stays_zero() {
    let mut m = Machine::new();
    m.poke_u64(DATA, 0x1234_5678);
    m.hart.regs.x[5] = DATA;
    m.exec_words(&[
        addi(0, 0, 5),
        lui(0, 0x12345),
        auipc(0, 1),
        lw(0, 5, 0),
        ld(0, 5, 0),
        jal(0, 4),
        csrrs(0, FCSR, 0),
        amoadd_w(0, 5, 5),
        mul(0, 5, 5),
        add(6, 0, 0),
        addi(7, 0, 0),
    ]);
    assert_eq!(m.x(0), 0);
    assert_eq!(m.x(6), 0);
    assert_eq!(m.x(7), 0);
    // The AMO with rd = x0 still wrote memory.
    assert_eq!(m.peek_u32(DATA), 0x1234_5678u32.wrapping_add(DATA as u32));
}

#[test]
fn fence_and_fence_i_are_no_ops() {
    let mut m = Machine::new();
    m.exec_words(&[addi(5, 0, 1), FENCE, FENCE_I, addi(5, 5, 1)]);
    assert_eq!(m.x(5), 2);
    assert_eq!(m.hart.instret(), 4);
}

#[test]
fn ebreak_traps_with_pc_at_it() {
    let mut m = Machine::new();
    assert_eq!(
        m.run_at(CODE, &words(&[NOP, EBREAK, NOP])),
        Trap::Breakpoint
    );
    assert_eq!(m.pc(), CODE + 4);
    let mut m = Machine::new();
    assert_eq!(m.run_at(CODE, &words(&[NOP, ECALL, NOP])), Trap::Ecall);
    assert_eq!(m.pc(), CODE + 4);
    assert_eq!(m.hart.instret(), 1);
}

// ===========================================================================
// M
// ===========================================================================

#[test]
fn m_overflow_and_division_by_zero() {
    let mut f = Failures::default();
    let n = 0x1234_5678_8000_0001u64; // low word is negative as an i32
    check_rr(
        &mut f,
        "div",
        div,
        &[
            (MIN, neg(-1), MIN),
            (n, 0, MAX),
            (0, 0, MAX),
            (neg(-7), 2, neg(-3)),
            (7, neg(-2), neg(-3)),
        ],
    );
    check_rr(
        &mut f,
        "divu",
        divu,
        &[(n, 0, MAX), (MAX, 2, IMAX), (MIN, neg(-1), 0)],
    );
    check_rr(
        &mut f,
        "rem",
        rem,
        &[
            (MIN, neg(-1), 0),
            (n, 0, n),
            (neg(-7), 2, neg(-1)),
            (7, neg(-2), 1),
        ],
    );
    check_rr(&mut f, "remu", remu, &[(n, 0, n), (MAX, 10, 5)]);
    check_rr(
        &mut f,
        "divw",
        divw,
        &[
            (0x1234_5678_8000_0000, neg(-1), 0xffff_ffff_8000_0000),
            (n, 0, MAX),
            (n, 0x1_0000_0000, MAX), // low 32 bits of the divisor are zero
            (neg(-7), 2, neg(-3)),
            (0xffff_ffff_0000_0007, 0x1_ffff_fffe, neg(-3)),
        ],
    );
    check_rr(
        &mut f,
        "divuw",
        divuw,
        &[
            (n, 0, MAX),
            (0xffff_ffff, 1, MAX),
            (0x1_0000_0010, 0x1_0000_0002, 8),
        ],
    );
    check_rr(
        &mut f,
        "remw",
        remw,
        &[
            (0x1234_5678_8000_0000, neg(-1), 0),
            (n, 0, 0xffff_ffff_8000_0001),
            (0x7fff_ffff, 0, 0x7fff_ffff),
            (neg(-7), 2, neg(-1)),
        ],
    );
    check_rr(
        &mut f,
        "remuw",
        remuw,
        &[
            (n, 0, 0xffff_ffff_8000_0001),
            (0x1_7fff_ffff, 0, 0x7fff_ffff),
            (0x8000_0001, 0x8000_0000, 1),
            (0xffff_ffff, 0x1_0000_0000, 0xffff_ffff_ffff_ffff),
        ],
    );
    f.done();
}

#[test]
fn m_multiplications_with_extreme_operands() {
    let mut f = Failures::default();
    check_rr(
        &mut f,
        "mul",
        mul,
        &[
            (MIN, neg(-1), MIN),
            (MAX, MAX, 1),
            (0x1_0000_0001, 0x1_0000_0001, 0x2_0000_0001),
        ],
    );
    check_rr(
        &mut f,
        "mulh",
        mulh,
        &[
            (MIN, MIN, 0x4000_0000_0000_0000),
            (MIN, neg(-1), 0),
            (neg(-1), neg(-1), 0),
            (IMAX, IMAX, 0x3fff_ffff_ffff_ffff),
            (MIN, IMAX, 0xc000_0000_0000_0000),
            (neg(-1), 1, MAX),
        ],
    );
    check_rr(
        &mut f,
        "mulhu",
        mulhu,
        &[(MAX, MAX, 0xffff_ffff_ffff_fffe), (MIN, 2, 1), (MAX, 1, 0)],
    );
    check_rr(
        &mut f,
        "mulhsu",
        mulhsu,
        &[
            (neg(-1), MAX, MAX),
            (MIN, MAX, MIN),
            (IMAX, MAX, 0x7fff_ffff_ffff_fffe),
            (neg(-1), 1, MAX),
            (1, MAX, 0),
            (MIN, MIN, 0xc000_0000_0000_0000),
        ],
    );
    check_rr(
        &mut f,
        "mulw",
        mulw,
        &[
            (0x7fff_ffff, 2, 0xffff_ffff_ffff_fffe),
            (0x1_0000_0003, 0x5_0000_0005, 15),
            (0x8000_0000, neg(-1), 0xffff_ffff_8000_0000),
        ],
    );
    f.done();
}

// ===========================================================================
// A
// ===========================================================================

const ATOM: u64 = DATA + 0x200;

#[test]
fn lr_sc_succeeds_with_a_reservation() {
    let mut m = Machine::new();
    m.poke_u64(ATOM, 0x8000_0000);
    m.hart.regs.x[5] = ATOM;
    m.hart.regs.x[8] = 0x1111_2222_3333_4444;
    m.exec_words(&[lr_w(6, 5), sc_w(7, 8, 5), lr_d(9, 5), sc_d(10, 8, 5)]);
    assert_eq!(m.x(6), 0xffff_ffff_8000_0000, "lr.w sign-extends");
    assert_eq!(m.x(7), 0, "sc.w succeeds");
    assert_eq!(m.x(9), 0x3333_4444, "lr.d sees sc.w's word");
    assert_eq!(m.x(10), 0, "sc.d succeeds");
    assert_eq!(m.peek_u64(ATOM), 0x1111_2222_3333_4444);
}

#[test]
fn sc_without_reservation_fails_and_writes_nothing() {
    let mut m = Machine::new();
    m.poke_u64(ATOM, 0x5555);
    m.hart.regs.x[5] = ATOM;
    m.hart.regs.x[8] = 0x1234;
    m.exec_words(&[sc_w(7, 8, 5), sc_d(9, 8, 5)]);
    assert_ne!(m.x(7), 0);
    assert_ne!(m.x(9), 0);
    assert_eq!(m.peek_u64(ATOM), 0x5555);
}

#[test]
fn sc_consumes_the_reservation() {
    let mut m = Machine::new();
    m.hart.regs.x[5] = ATOM;
    m.hart.regs.x[8] = 7;
    m.hart.regs.x[9] = 9;
    m.exec_words(&[lr_d(6, 5), sc_d(7, 8, 5), sc_d(10, 9, 5)]);
    assert_eq!(m.x(7), 0);
    assert_ne!(m.x(10), 0, "a second sc.d succeeded");
    assert_eq!(m.peek_u64(ATOM), 7);
}

#[test]
fn sc_keeps_the_reservation_across_a_store_fault() {
    // A copy-on-write page: the SC faults, the kernel makes the page
    // writable, and the SC run again succeeds, as under qemu-user.
    let mut m = Machine::new();
    let va = 0x9_3000;
    m.map(va, USER_RW & !pte::W);
    m.hart.flush_tlb();
    m.hart.regs.x[5] = va;
    m.hart.regs.x[8] = 0x77;
    let code = words(&[lr_d(6, 5), sc_d(7, 8, 5), ECALL]);
    let trap = m.run_at(CODE, &code);
    assert_eq!(
        trap,
        Trap::PageFault {
            addr: va,
            access: Access::Store
        }
    );
    assert_eq!(m.pc(), CODE + 4);
    m.protect(va, USER_RW);
    m.hart.flush_tlb_page(va);
    assert_eq!(m.hart.run(&mut m.mem, 10), Trap::Ecall);
    assert_eq!(m.x(7), 0, "sc.d after the fix-up failed");
    assert_eq!(m.peek_u64(va), 0x77);
}

#[test]
fn sc_compares_with_the_value_lr_read() {
    // Like qemu, an SC is a compare-and-swap against what the LR read: a
    // store of another value in between makes it fail, a store of the
    // same value does not.
    let mut m = Machine::new();
    m.poke_u64(ATOM, 5);
    m.hart.regs.x[5] = ATOM;
    m.hart.regs.x[8] = 0x99;
    m.hart.regs.x[12] = 6;
    m.exec_words(&[lr_d(6, 5), sd(12, 5, 0), sc_d(7, 8, 5)]);
    assert_ne!(m.x(7), 0, "sc.d after a change succeeded");
    assert_eq!(m.peek_u64(ATOM), 6);
    m.exec_words(&[lr_w(6, 5), sw(12, 5, 0), sc_w(7, 8, 5)]);
    assert_eq!(m.x(7), 0, "sc.w after storing the same value failed");
    assert_eq!(m.peek_u64(ATOM), 0x99);
}

#[test]
fn sc_to_a_different_address_fails() {
    let mut m = Machine::new();
    m.poke_u64(ATOM, 1);
    m.poke_u64(ATOM + 8, 2);
    m.hart.regs.x[5] = ATOM;
    m.hart.regs.x[11] = ATOM + 8;
    m.hart.regs.x[8] = 0x99;
    // lr at ATOM, sc at ATOM+8 fails; sc always drops the reservation, so
    // the following sc at ATOM fails too.
    m.exec_words(&[lr_d(6, 5), sc_d(7, 8, 11), sc_d(9, 8, 5)]);
    assert_ne!(m.x(7), 0, "sc.d to another address succeeded");
    assert_eq!(m.peek_u64(ATOM + 8), 2);
    assert_ne!(m.x(9), 0, "the failed sc.d left the reservation");
    assert_eq!(m.peek_u64(ATOM), 1);
}

#[test]
fn every_amo_word_and_doubleword() {
    type A = fn(u32, u32, u32) -> u32;
    // (name, op, memory before, rs2, memory after); rd must be the old value
    // (sign-extended for .w), and the other half of the doubleword stays.
    let w: &[(&str, A, u32, u64, u32)] = &[
        (
            "amoswap.w",
            amoswap_w,
            0x8000_0000,
            0x1_2345_6789,
            0x2345_6789,
        ),
        ("amoadd.w", amoadd_w, 0x7fff_ffff, 1, 0x8000_0000),
        ("amoadd.w", amoadd_w, 0xffff_ffff, 0x1_0000_0002, 1),
        (
            "amoxor.w",
            amoxor_w,
            0xff00_ff00,
            0xffff_ffff_0ff0_0ff0,
            0xf0f0_f0f0,
        ),
        ("amoand.w", amoand_w, 0xff00_ff00, 0x0ff0_0ff0, 0x0f00_0f00),
        ("amoor.w", amoor_w, 0xff00_ff00, 0x0ff0_0ff0, 0xfff0_fff0),
        ("amomin.w", amomin_w, 0xffff_ffff, 1, 0xffff_ffff),
        ("amomin.w", amomin_w, 0, 0x8000_0000, 0x8000_0000),
        ("amomin.w", amomin_w, 5, 0xffff_ffff_0000_0003, 3),
        ("amomax.w", amomax_w, 0xffff_ffff, 1, 1),
        (
            "amomax.w",
            amomax_w,
            0x8000_0000,
            0xffff_ffff_ffff_ffff,
            0xffff_ffff,
        ),
        ("amomax.w", amomax_w, 0, 0x1_0000_0000, 0),
        ("amomax.w", amomax_w, 1, 0x0000_0000_ffff_fffe, 1),
        ("amomin.w", amomin_w, 5, 0x0000_0000_ffff_ffff, 0xffff_ffff),
        ("amominu.w", amominu_w, 5, 0x1_0000_0000, 0),
        ("amomaxu.w", amomaxu_w, 5, 0xffff_ffff_0000_0001, 5),
        ("amominu.w", amominu_w, 0xffff_ffff, 1, 1),
        ("amominu.w", amominu_w, 3, 0xffff_ffff_0000_0002, 2),
        ("amomaxu.w", amomaxu_w, 0xffff_ffff, 1, 0xffff_ffff),
        ("amomaxu.w", amomaxu_w, 1, 0x8000_0000, 0x8000_0000),
    ];
    let d: &[(&str, A, u64, u64, u64)] = &[
        ("amoswap.d", amoswap_d, MIN, 7, 7),
        ("amoadd.d", amoadd_d, IMAX, 1, MIN),
        ("amoxor.d", amoxor_d, MAX, MIN, IMAX),
        ("amoand.d", amoand_d, MAX, 0x1234, 0x1234),
        ("amoor.d", amoor_d, MIN, 1, MIN | 1),
        ("amomin.d", amomin_d, MAX, 1, MAX),
        ("amomin.d", amomin_d, IMAX, MIN, MIN),
        ("amomax.d", amomax_d, MAX, 1, 1),
        ("amomax.d", amomax_d, MIN, IMAX, IMAX),
        ("amominu.d", amominu_d, MAX, 1, 1),
        ("amominu.d", amominu_d, MIN, IMAX, IMAX),
        ("amomaxu.d", amomaxu_d, MAX, 1, MAX),
        ("amomaxu.d", amomaxu_d, IMAX, MIN, MIN),
    ];
    let mut f = Failures::default();
    for &(name, enc, before, rs2, after) in w {
        for aqrl in [0, 3u32] {
            let mut m = Machine::new();
            m.poke_u32(ATOM, before);
            m.poke_u32(ATOM + 4, 0xdead_beef);
            m.hart.regs.x[5] = ATOM;
            m.hart.regs.x[6] = rs2;
            m.exec_words(&[enc(7, 6, 5) | aqrl << 25]);
            let what = format!("{name} [{before:#x}] {rs2:#x} aqrl={aqrl}");
            f.check(format_args!("{what}: rd"), m.x(7), sext32(before as u64));
            f.check(
                format_args!("{what}: memory"),
                m.peek_u32(ATOM) as u64,
                after as u64,
            );
            f.check(
                format_args!("{what}: next word"),
                m.peek_u32(ATOM + 4) as u64,
                0xdead_beef,
            );
        }
    }
    for &(name, enc, before, rs2, after) in d {
        let mut m = Machine::new();
        m.poke_u64(ATOM, before);
        m.hart.regs.x[5] = ATOM;
        m.hart.regs.x[6] = rs2;
        m.exec_words(&[enc(7, 6, 5)]);
        let what = format!("{name} [{before:#x}] {rs2:#x}");
        f.check(format_args!("{what}: rd"), m.x(7), before);
        f.check(format_args!("{what}: memory"), m.peek_u64(ATOM), after);
    }
    f.done();
}

#[test]
fn amo_with_rd_equal_rs2() {
    let mut m = Machine::new();
    m.poke_u64(ATOM, 100);
    m.hart.regs.x[5] = ATOM;
    m.hart.regs.x[6] = 5;
    m.exec_words(&[amoadd_d(6, 6, 5)]);
    assert_eq!(m.x(6), 100);
    assert_eq!(m.peek_u64(ATOM), 105);
}

#[test]
fn misaligned_atomics_trap() {
    let cases: &[(u32, u64, Access)] = &[
        (amoadd_w(7, 6, 5), ATOM + 2, Access::Store),
        (amoswap_d(7, 6, 5), ATOM + 4, Access::Store),
        (amomaxu_d(7, 6, 5), ATOM + 1, Access::Store),
        (lr_w(7, 5), ATOM + 1, Access::Load),
        (lr_d(7, 5), ATOM + 4, Access::Load),
        (sc_w(7, 6, 5), ATOM + 2, Access::Store),
        (sc_d(7, 6, 5), ATOM + 4, Access::Store),
    ];
    for &(word, addr, access) in cases {
        let mut m = Machine::new();
        m.poke(ATOM, &[0x5a; 16]);
        m.hart.regs.x[5] = addr;
        m.hart.regs.x[6] = 0x1234;
        m.hart.regs.x[7] = 0x77;
        expect_precise(&mut m, &words(&[word]), Trap::Misaligned { addr, access });
        assert_eq!(
            m.peek(ATOM, 16),
            vec![0x5a; 16],
            "{word:#010x} wrote memory"
        );
    }
}

#[test]
fn atomics_fault_like_stores() {
    let mut m = Machine::new();
    m.hart.regs.x[5] = RO;
    expect_precise(
        &mut m,
        &words(&[amoadd_d(7, 6, 5)]),
        Trap::PageFault {
            addr: RO,
            access: Access::Store,
        },
    );
    let mut m = Machine::new();
    m.hart.regs.x[5] = UNMAPPED;
    expect_precise(
        &mut m,
        &words(&[lr_w(7, 5)]),
        Trap::PageFault {
            addr: UNMAPPED,
            access: Access::Load,
        },
    );
}

// ===========================================================================
// C
// ===========================================================================

/// Runs the compressed instructions (plus the trailing ecall).
fn run_c(parts: &[u16], regs: &[(usize, u64)]) -> Machine {
    let mut m = Machine::new();
    for &(r, v) in regs {
        m.hart.regs.x[r] = v;
    }
    let parts: Vec<P> = parts.iter().map(|&h| P::H(h)).collect();
    m.exec_parts(&parts);
    m
}

#[test]
fn c_addi4spn_every_immediate_bit() {
    let mut f = Failures::default();
    for uimm in [4, 8, 16, 32, 64, 128, 256, 512, 1020, 0x2a8] {
        let m = run_c(&[c_addi4spn(8, uimm)], &[]);
        f.check(
            format_args!("c.addi4spn x8, sp, {uimm}"),
            m.x(8),
            DATA + 0x800 + uimm as u64,
        );
    }
    f.done();
}

fn word_at(off: u32) -> u32 {
    0x8000_0000 | (off * 0x0001_0101)
}

fn dword_at(off: u32) -> u64 {
    0x8000_0000_0000_0000 | (off as u64) << 20 | off as u64
}

#[test]
fn c_register_based_loads_and_stores() {
    let mut f = Failures::default();
    let setup = |m: &mut Machine| {
        for off in (0..256u32).step_by(4) {
            m.poke_u32(DATA + off as u64, word_at(off));
        }
    };
    for off in [0, 4, 8, 16, 32, 64, 124] {
        let mut m = Machine::new();
        setup(&mut m);
        m.hart.regs.x[9] = DATA;
        m.exec_parts(&[P::H(c_lw(8, 9, off))]);
        f.check(
            format_args!("c.lw {off}"),
            m.x(8),
            sext32(word_at(off) as u64),
        );
    }
    let setup_d = |m: &mut Machine| {
        for off in (0..256u32).step_by(8) {
            m.poke_u64(DATA + off as u64, dword_at(off));
        }
    };
    for off in [0, 8, 16, 32, 64, 128, 248] {
        let mut m = Machine::new();
        setup_d(&mut m);
        m.hart.regs.x[10] = DATA;
        m.exec_parts(&[P::H(c_ld(15, 10, off)), P::H(c_fld(9, 10, off))]);
        f.check(format_args!("c.ld {off}"), m.x(15), dword_at(off));
        f.check(format_args!("c.fld {off}"), m.f(9), dword_at(off));
    }
    for off in [0, 4, 8, 16, 32, 64, 124] {
        let mut m = Machine::new();
        m.hart.regs.x[8] = DATA;
        m.hart.regs.x[9] = 0xaaaa_bbbb_cccc_dddd;
        m.exec_parts(&[P::H(c_sw(9, 8, off))]);
        let mem = m.peek(DATA, 256);
        let mut want = vec![0u8; 256];
        want[off as usize..off as usize + 4].copy_from_slice(&0xcccc_ddddu32.to_le_bytes());
        if mem != want {
            f.fail(format!("c.sw {off}: stored elsewhere"));
        }
    }
    for off in [0, 8, 16, 32, 64, 128, 248] {
        let mut m = Machine::new();
        m.hart.regs.x[8] = DATA;
        m.hart.regs.x[9] = 0xaaaa_bbbb_cccc_dddd;
        m.hart.regs.f[10] = 0x4000_0000_0000_0001;
        m.exec_parts(&[P::H(c_sd(9, 8, off)), P::H(c_fsd(10, 8, off ^ 8))]);
        let mem = m.peek(DATA, 256);
        let mut want = vec![0u8; 256];
        let o = off as usize;
        want[o..o + 8].copy_from_slice(&0xaaaa_bbbb_cccc_ddddu64.to_le_bytes());
        let o = (off ^ 8) as usize;
        want[o..o + 8].copy_from_slice(&0x4000_0000_0000_0001u64.to_le_bytes());
        if mem != want {
            f.fail(format!("c.sd/c.fsd {off}: stored elsewhere"));
        }
    }
    f.done();
}

#[test]
fn c_immediate_forms() {
    let mut f = Failures::default();
    for imm in [-32, -1, 1, 2, 4, 8, 16, 31] {
        let m = run_c(&[c_addi(5, imm)], &[(5, 1000)]);
        f.check(
            format_args!("c.addi {imm}"),
            m.x(5),
            (1000 + imm as i64) as u64,
        );
        let m = run_c(&[c_li(31, imm)], &[(31, 1000)]);
        f.check(format_args!("c.li {imm}"), m.x(31), imm as i64 as u64);
        let m = run_c(&[c_lui(5, imm)], &[]);
        f.check(
            format_args!("c.lui {imm}"),
            m.x(5),
            ((imm as i64) << 12) as u64,
        );
    }
    let m = run_c(&[c_li(5, 0)], &[(5, 1000)]);
    f.check("c.li 0", m.x(5), 0);
    for (start, imm, want) in [
        (0x7fff_ffffu64, 1, 0xffff_ffff_8000_0000),
        (0x1_0000_0000, -1, MAX),
        (0x1_8000_0000, 0, 0xffff_ffff_8000_0000),
        (0x8000_0000, -32, 0x7fff_ffe0),
    ] {
        let m = run_c(&[c_addiw(6, imm)], &[(6, start)]);
        f.check(format_args!("c.addiw {start:#x}, {imm}"), m.x(6), want);
    }
    for imm in [16, 32, 64, 128, 256, -512, 496, -16] {
        let m = run_c(&[c_addi16sp(imm)], &[]);
        f.check(
            format_args!("c.addi16sp {imm}"),
            m.x(2),
            (DATA as i64 + 0x800 + imm as i64) as u64,
        );
    }
    f.done();
}

#[test]
fn c_shifts_and_register_ops() {
    let mut f = Failures::default();
    for sh in [1, 2, 4, 8, 16, 32, 63] {
        let m = run_c(&[c_srli(8, sh)], &[(8, MIN | 1)]);
        f.check(format_args!("c.srli {sh}"), m.x(8), (MIN | 1) >> sh);
        let m = run_c(&[c_srai(9, sh)], &[(9, MIN | 1)]);
        f.check(
            format_args!("c.srai {sh}"),
            m.x(9),
            ((MIN | 1) as i64 >> sh) as u64,
        );
        let m = run_c(&[c_slli(31, sh)], &[(31, 0x8000_0000_0000_0003)]);
        f.check(
            format_args!("c.slli {sh}"),
            m.x(31),
            0x8000_0000_0000_0003u64 << sh,
        );
    }
    for imm in [-32, -1, 0, 1, 2, 4, 8, 16, 31] {
        let m = run_c(&[c_andi(10, imm)], &[(10, MAX)]);
        f.check(format_args!("c.andi {imm}"), m.x(10), imm as i64 as u64);
    }
    let a = 0x0000_0001_7fff_ffffu64;
    let b = 0xffff_ffff_0000_0001u64;
    type C2 = fn(u32, u32) -> u16;
    let ops: &[(&str, C2, u64)] = &[
        ("c.sub", c_sub, a.wrapping_sub(b)),
        ("c.xor", c_xor, a ^ b),
        ("c.or", c_or, a | b),
        ("c.and", c_and, a & b),
        ("c.subw", c_subw, sext32(a.wrapping_sub(b))),
        ("c.addw", c_addw, sext32(a.wrapping_add(b))),
    ];
    for &(name, enc, want) in ops {
        let m = run_c(&[enc(11, 12)], &[(11, a), (12, b)]);
        f.check(name, m.x(11), want);
    }
    f.check(
        "c.addw sign",
        sext32(a.wrapping_add(b)),
        0xffff_ffff_8000_0000,
    );
    let m = run_c(&[c_mv(5, 31)], &[(5, 1), (31, 0x1234)]);
    f.check("c.mv", m.x(5), 0x1234);
    let m = run_c(&[c_add(5, 31)], &[(5, 1), (31, 0x1234)]);
    f.check("c.add", m.x(5), 0x1235);
    let m = run_c(&[c_add(5, 5)], &[(5, 21)]);
    f.check("c.add x5, x5", m.x(5), 42);
    f.done();
}

#[test]
fn c_sp_relative_loads_and_stores() {
    let mut f = Failures::default();
    for off in [0, 4, 8, 16, 32, 64, 128, 252] {
        let mut m = Machine::new();
        for o in (0..256u32).step_by(4) {
            m.poke_u32(DATA + o as u64, word_at(o));
        }
        m.hart.regs.x[2] = DATA;
        m.exec_parts(&[P::H(c_lwsp(5, off))]);
        f.check(
            format_args!("c.lwsp {off}"),
            m.x(5),
            sext32(word_at(off) as u64),
        );
    }
    for off in [0, 8, 16, 32, 64, 128, 256, 504] {
        let mut m = Machine::new();
        for o in (0..512u32).step_by(8) {
            m.poke_u64(DATA + o as u64, dword_at(o));
        }
        m.hart.regs.x[2] = DATA;
        m.exec_parts(&[P::H(c_ldsp(1, off)), P::H(c_fldsp(31, off))]);
        f.check(format_args!("c.ldsp {off}"), m.x(1), dword_at(off));
        f.check(format_args!("c.fldsp {off}"), m.f(31), dword_at(off));
    }
    for off in [0, 4, 8, 16, 32, 64, 128, 252] {
        let mut m = Machine::new();
        m.hart.regs.x[2] = DATA;
        m.hart.regs.x[31] = 0xaaaa_bbbb_cccc_dddd;
        m.exec_parts(&[P::H(c_swsp(31, off))]);
        let mut want = vec![0u8; 512];
        want[off as usize..off as usize + 4].copy_from_slice(&0xcccc_ddddu32.to_le_bytes());
        if m.peek(DATA, 512) != want {
            f.fail(format!("c.swsp {off}: stored elsewhere"));
        }
    }
    for off in [0, 8, 16, 32, 64, 128, 256, 504] {
        for fp in [false, true] {
            let mut m = Machine::new();
            m.hart.regs.x[2] = DATA;
            m.hart.regs.x[1] = 0xaaaa_bbbb_cccc_dddd;
            m.hart.regs.f[1] = 0xaaaa_bbbb_cccc_dddd;
            let insn = if fp { c_fsdsp(1, off) } else { c_sdsp(1, off) };
            m.exec_parts(&[P::H(insn)]);
            let mut want = vec![0u8; 512];
            want[off as usize..off as usize + 8]
                .copy_from_slice(&0xaaaa_bbbb_cccc_ddddu64.to_le_bytes());
            if m.peek(DATA, 512) != want {
                f.fail(format!(
                    "c.{}sdsp {off}: stored elsewhere",
                    if fp { "f" } else { "" }
                ));
            }
        }
    }
    f.done();
}

#[test]
fn c_j_every_offset_bit() {
    let mut f = Failures::default();
    // Forward: c.j +off over c.addi x6, 1 parcels to the ecall.
    for off in [2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2046, 0x2aa] {
        let mut parts = vec![P::H(c_j(off))];
        parts.resize(off as usize / 2, P::H(c_addi(6, 1)));
        let mut m = Machine::new();
        m.exec_parts(&parts);
        f.check(format_args!("c.j +{off}"), m.x(6), 0);
    }
    // Backward: 0: jal x0, T; 4: ecall; 8..T: filler; T: c.j (4 - T).
    for k in 2..=11 {
        let back = 1i32 << k;
        let t = 4 + back;
        let mut m = Machine::new();
        let mut parts = vec![P::W(jal(0, t)), P::W(ECALL)];
        while (bytes_of(&parts).len() as i32) < t {
            parts.push(P::H(c_addi(6, 1)));
        }
        parts.push(P::H(c_j(-back)));
        assert_eq!(
            m.run_at(CODE, &bytes_of(&parts)),
            Trap::Ecall,
            "c.j -{back}"
        );
        f.check(format_args!("c.j -{back}: pc"), m.pc(), CODE + 4);
        f.check(format_args!("c.j -{back}: x6"), m.x(6), 0);
    }
    f.done();
}

#[test]
fn c_beqz_and_c_bnez() {
    let mut f = Failures::default();
    for v in [0u64, 1, MIN, 0x1_0000_0000] {
        for (name, enc, taken) in [
            ("c.beqz", c_beqz as fn(u32, i32) -> u16, v == 0),
            ("c.bnez", c_bnez, v != 0),
        ] {
            let m = run_c(&[enc(8, 4), c_li(6, 1)], &[(8, v)]);
            f.check(format_args!("{name} {v:#x}"), m.x(6), !taken as u64);
        }
    }
    // Every offset bit, forward and backward.
    for off in [2, 4, 8, 16, 32, 64, 128, 254] {
        let mut parts = vec![P::H(c_bnez(9, off))];
        parts.resize(off as usize / 2, P::H(c_addi(6, 1)));
        let mut m = Machine::new();
        m.hart.regs.x[9] = 1;
        m.exec_parts(&parts);
        f.check(format_args!("c.bnez +{off}"), m.x(6), 0);
    }
    for k in 2..=8 {
        let back = 1i32 << k;
        let t = 4 + back;
        let mut m = Machine::new();
        let mut parts = vec![P::W(jal(0, t)), P::W(ECALL)];
        while (bytes_of(&parts).len() as i32) < t {
            parts.push(P::H(c_addi(6, 1)));
        }
        parts.push(P::H(c_beqz(15, -back)));
        assert_eq!(
            m.run_at(CODE, &bytes_of(&parts)),
            Trap::Ecall,
            "c.beqz -{back}"
        );
        f.check(format_args!("c.beqz -{back}: pc"), m.pc(), CODE + 4);
        f.check(format_args!("c.beqz -{back}: x6"), m.x(6), 0);
    }
    f.done();
}

#[test]
fn c_jumps_through_registers() {
    // 0: c.jr x5; 2: c.li x6, 1; 4: c.li x7, 1; 6: ecall.
    for target in [CODE + 6, CODE + 7] {
        let m = run_c(&[c_jr(5), c_li(6, 1), c_li(7, 1)], &[(5, target)]);
        assert_eq!((m.x(6), m.x(7)), (0, 0), "c.jr to {target:#x}");
    }
    // c.jalr links pc + 2.
    let m = run_c(&[c_jalr(5), c_li(6, 1), c_li(7, 1)], &[(5, CODE + 6)]);
    assert_eq!(m.x(1), CODE + 2);
    assert_eq!((m.x(6), m.x(7)), (0, 0));
    // c.jalr ra: jumps to the old ra.
    let m = run_c(&[c_jalr(1), c_li(6, 1), c_li(7, 1)], &[(1, CODE + 6)]);
    assert_eq!(m.x(1), CODE + 2);
    assert_eq!((m.x(6), m.x(7)), (0, 0));
}

#[test]
fn c_ebreak_traps_with_pc_at_it() {
    let mut m = Machine::new();
    let code = bytes_of(&[P::H(C_NOP), P::H(C_EBREAK), P::H(C_NOP)]);
    assert_eq!(m.run_at(CODE, &code), Trap::Breakpoint);
    assert_eq!(m.pc(), CODE + 2);
    assert_eq!(m.hart.instret(), 1);
}

#[test]
fn c_reserved_encodings_are_illegal() {
    let cases: &[(u16, &str)] = &[
        (0x0000, "all zeros"),
        (0x0004, "c.addi4spn x9, sp, 0"),
        (0x0018, "c.addi4spn x14, sp, 0"),
        (0x6281, "c.lui x5, 0"),
        (0x6001, "c.lui x0, 0"),
        (0x6101, "c.addi16sp 0"),
        (0x4002, "c.lwsp x0, 0(sp)"),
        (c_lwsp(0, 252), "c.lwsp x0, 252(sp)"),
        (0x6002, "c.ldsp x0, 0(sp)"),
        (0x2005, "c.addiw x0, 1"),
        (0x8002, "c.jr x0"),
        (0x8000, "quadrant 0, funct3 100"),
        (0x9ffc, "quadrant 0, funct3 100, all ones"),
        (0x9c41, "c.subw/addw space, funct2 10"),
        (0x9c61, "c.subw/addw space, funct2 11"),
    ];
    for &(h, what) in cases {
        let mut m = Machine::new();
        // A valid parcel follows, so only the low 16 bits may be reported.
        let code = bytes_of(&[P::H(h), P::H(C_NOP), P::W(ECALL)]);
        m.poke(CODE, &code);
        m.hart.regs.pc = CODE;
        let before = m.hart.regs.clone();
        let trap = m.hart.run(&mut m.mem, BUDGET);
        assert_eq!(
            trap,
            Trap::IllegalInstruction { bits: h as u32 },
            "{what} ({h:#06x})"
        );
        assert_eq!(m.hart.regs, before, "{what}: not precise");
    }
}

#[test]
fn c_mixed_with_32_bit_instructions() {
    // 32-bit instructions at 2-byte-aligned addresses.
    let mut m = Machine::new();
    m.exec_parts(&[
        P::H(c_li(5, 3)),
        P::W(addi(5, 5, 100)),
        P::H(c_slli(5, 1)),
        P::W(addi(6, 5, 1)),
    ]);
    assert_eq!(m.x(5), 206);
    assert_eq!(m.x(6), 207);
    assert_eq!(m.hart.instret(), 4);
}

// ===========================================================================
// Zicsr
// ===========================================================================

#[test]
fn fcsr_fields_read_write_set_clear() {
    let mut m = Machine::new();
    m.hart.regs.x[6] = 0x1ff;
    m.hart.regs.x[7] = 0x3;
    m.hart.regs.x[8] = 0x1;
    m.exec_words(&[
        csrrw(5, FCSR, 6),        // x5 = 0; fcsr = 0xff (masked)
        csrrs(9, FCSR, 0),        // x9 = 0xff
        csrrs(10, FRM, 0),        // x10 = 7
        csrrs(11, FFLAGS, 0),     // x11 = 0x1f
        csrrw(12, FCSR, 0),       // x12 = 0xff; fcsr = 0
        csrrs(13, FFLAGS, 7),     // x13 = 0; fflags = 3
        csrrc(14, FFLAGS, 8),     // x14 = 3; fflags = 2
        csrrwi(15, FRM, 3),       // x15 = 0; frm = 3
        csrrsi(16, FFLAGS, 0x10), // x16 = 2; fflags = 0x12
        csrrci(17, FFLAGS, 0x02), // x17 = 0x12; fflags = 0x10
        csrrs(18, FCSR, 0),       // x18 = 0x70
        csrrw(19, FRM, 6),        // x19 = 3; frm = 0x1ff & 7 = 7
        csrrw(20, FFLAGS, 6),     // x20 = 0x10; fflags = 0x1f
        csrrs(21, FCSR, 0),       // x21 = 0xff
        csrrwi(22, FCSR, 0x15),   // x22 = 0xff; fcsr = 0x15
    ]);
    let want = [
        (5, 0),
        (9, 0xff),
        (10, 7),
        (11, 0x1f),
        (12, 0xff),
        (13, 0),
        (14, 3),
        (15, 0),
        (16, 2),
        (17, 0x12),
        (18, 0x70),
        (19, 3),
        (20, 0x10),
        (21, 0xff),
        (22, 0xff),
    ];
    let mut f = Failures::default();
    for (r, v) in want {
        f.check(format_args!("x{r}"), m.x(r), v);
    }
    f.check("fcsr", m.hart.regs.fcsr as u64, 0x15);
    f.done();
}

#[test]
fn fcsr_holds_only_eight_bits() {
    // regs.fcsr is what a context switch saves and the signal frame shows:
    // bits above frm must stay clear whatever the guest writes.
    let mut m = Machine::new();
    m.hart.regs.x[6] = MAX;
    m.exec_words(&[csrrw(0, FCSR, 6)]);
    assert_eq!(m.hart.regs.fcsr, 0xff);
    m.exec_words(&[csrrw(0, FFLAGS, 0), csrrs(0, FRM, 6), csrrs(0, FFLAGS, 6)]);
    assert_eq!(m.hart.regs.fcsr, 0xff);
}

#[test]
fn csr_swap_with_rd_equal_rs1() {
    let mut m = Machine::new();
    m.hart.regs.fcsr = 0x21;
    m.hart.regs.x[5] = 0x42;
    m.exec_words(&[csrrw(5, FCSR, 5)]);
    assert_eq!(m.x(5), 0x21);
    assert_eq!(m.hart.regs.fcsr, 0x42);
}

#[test]
fn counters_read_with_x0_and_instret_counts() {
    let mut m = Machine::new();
    m.exec_words(&[
        NOP,
        NOP,
        NOP,
        csrrs(5, INSTRET, 0),
        csrrs(6, CYCLE, 0),
        csrrs(7, TIME, 0),
        csrrsi(8, INSTRET, 0),
        csrrci(9, CYCLE, 0),
    ]);
    assert_eq!(m.x(5), 3, "rdinstret counts the instructions before it");
    assert!(m.x(6) >= 3, "cycle {} behind instret", m.x(6));
    assert_eq!(m.x(8), 6);
    assert!(m.x(9) >= m.x(6));
    assert_eq!(m.hart.instret(), 8);
}

#[test]
fn virtual_time_advances_with_retired_instructions() {
    // Clock::Virtual: offset plus one tick per 10 retired instructions.
    let mut m = Machine::new();
    m.hart.clock = Clock::Virtual { offset: 1000 };
    let mut ws = vec![NOP; 30];
    ws.push(csrrs(5, TIME, 0));
    m.exec_words(&ws);
    assert_eq!(m.hart.time(), 1003);
    assert_eq!(m.x(5), 1003, "rdtime read a stale instruction count");
}

#[test]
fn writing_a_counter_or_an_unknown_csr_traps() {
    let mut cases = vec![];
    for csr in [CYCLE, TIME, INSTRET] {
        cases.push(csrrw(5, csr, 6));
        cases.push(csrrw(0, csr, 0));
        cases.push(csrrs(5, csr, 6)); // rs1 != x0 writes, even with a zero value
        cases.push(csrrc(5, csr, 6));
        cases.push(csrrwi(5, csr, 0));
        cases.push(csrrsi(5, csr, 1));
        cases.push(csrrci(5, csr, 31));
    }
    for csr in [0x7c0, 0x300, 0x180, 0x100, 0xc80, 0xc82, 0x004, 0xf14] {
        cases.push(csrrs(5, csr, 0));
        cases.push(csrrw(5, csr, 6));
    }
    for word in cases {
        let mut m = Machine::new();
        m.hart.regs.x[5] = 0x55;
        m.hart.regs.x[6] = 0;
        expect_precise(
            &mut m,
            &words(&[word]),
            Trap::IllegalInstruction { bits: word },
        );
    }
}

// ===========================================================================
// F and D through the hart
// ===========================================================================

const ONE_S: u64 = 0xffff_ffff_3f80_0000;
const CANON_S: u64 = 0xffff_ffff_7fc0_0000;
const CANON_D: u64 = 0x7ff8_0000_0000_0000;

fn d(v: f64) -> u64 {
    v.to_bits()
}

fn s(v: f32) -> u64 {
    0xffff_ffff_0000_0000 | v.to_bits() as u64
}

/// Runs `code` with FP registers and fcsr preset.
fn run_fp(code: &[u32], x: &[(usize, u64)], fr: &[(usize, u64)], fcsr: u32) -> Machine {
    let mut m = Machine::new();
    for &(r, v) in x {
        m.hart.regs.x[r] = v;
    }
    for &(r, v) in fr {
        m.hart.regs.f[r] = v;
    }
    m.hart.regs.fcsr = fcsr;
    m.exec_words(code);
    m
}

#[test]
fn flw_boxes_and_fsw_stores_the_low_word() {
    let mut m = Machine::new();
    m.poke_u64(DATA, 0x1234_5678_bf80_0000);
    m.poke_u64(DATA + 8, 0xaaaa_aaaa_aaaa_aaaa);
    m.hart.regs.x[5] = DATA;
    m.hart.regs.f[2] = 0x0000_0000_1234_5678; // not boxed: stored as is
    m.exec_words(&[flw(1, 5, 0), fsw(2, 5, 8)]);
    assert_eq!(m.f(1), 0xffff_ffff_bf80_0000);
    assert_eq!(m.peek_u64(DATA + 8), 0xaaaa_aaaa_1234_5678);
}

#[test]
fn fld_fsd_and_moves_keep_raw_bits() {
    let snan = 0x7ff0_0000_0000_0001u64;
    let mut m = Machine::new();
    m.poke_u64(DATA, snan);
    m.hart.regs.x[5] = DATA;
    m.hart.regs.x[6] = 0xfff4_0000_dead_beef;
    m.exec_words(&[
        fld(1, 5, 0),
        fsd(1, 5, 8),
        fmv_x_d(7, 1),
        fmv_d_x(2, 6),
        fmv_w_x(3, 6),
    ]);
    assert_eq!(m.f(1), snan);
    assert_eq!(m.peek_u64(DATA + 8), snan);
    assert_eq!(m.x(7), snan);
    assert_eq!(m.f(2), 0xfff4_0000_dead_beef);
    assert_eq!(m.f(3), 0xffff_ffff_dead_beef, "fmv.w.x boxes");
}

#[test]
fn fmv_x_w_sign_extends_without_unboxing() {
    let mut f = Failures::default();
    for (reg, want) in [
        (0xffff_ffff_bf80_0000u64, 0xffff_ffff_bf80_0000u64),
        (0xffff_ffff_7f80_0000, 0x7f80_0000),
        (0x0000_0000_bf80_0000, 0xffff_ffff_bf80_0000), // not boxed: low bits anyway
        (0x1234_5678_0000_0001, 1),
    ] {
        let m = run_fp(&[fmv_x_w(5, 1)], &[], &[(1, reg)], 0);
        f.check(format_args!("fmv.x.w of {reg:#x}"), m.x(5), want);
    }
    f.done();
}

#[test]
fn improperly_boxed_singles_read_as_the_canonical_nan() {
    let mut f = Failures::default();
    let bad = 0x0000_0000_3f80_0000u64; // 1.0f without the box
    let neg_one = s(-1.0);
    let m = run_fp(&[fsgnj_s(3, 1, 2)], &[], &[(1, bad), (2, ONE_S)], 0);
    f.check("fsgnj.s bad, 1.0", m.f(3), CANON_S);
    let m = run_fp(&[fsgnj_s(3, 1, 2)], &[], &[(1, bad), (2, neg_one)], 0);
    f.check("fsgnj.s bad, -1.0", m.f(3), 0xffff_ffff_ffc0_0000);
    let m = run_fp(&[fsgnjn_s(3, 1, 1)], &[], &[(1, bad)], 0);
    f.check("fsgnjn.s bad, bad", m.f(3), 0xffff_ffff_ffc0_0000);
    let m = run_fp(
        &[fsgnj_s(3, 2, 1)],
        &[],
        &[(1, 0xffff_fffe_bf80_0000), (2, ONE_S)],
        0,
    );
    f.check(
        "fsgnj.s 1.0, almost-boxed -1.0 (sign of canonical NaN)",
        m.f(3),
        ONE_S,
    );
    let m = run_fp(&[fclass_s(5, 1)], &[], &[(1, bad)], 0);
    f.check("fclass.s bad", m.x(5), 1 << 9);
    let m = run_fp(&[fadd_s(3, 1, 2, RNE)], &[], &[(1, bad), (2, ONE_S)], 0);
    f.check("fadd.s bad, 1.0", m.f(3), CANON_S);
    f.check("fadd.s bad, 1.0: flags", m.hart.regs.fcsr as u64, 0);
    let m = run_fp(&[fmin_s(3, 1, 2)], &[], &[(1, bad), (2, ONE_S)], 0);
    f.check("fmin.s bad, 1.0", m.f(3), ONE_S);
    let m = run_fp(&[fcvt_d_s(3, 1, RNE)], &[], &[(1, bad)], 0);
    f.check("fcvt.d.s bad", m.f(3), CANON_D);
    let m = run_fp(&[feq_s(5, 1, 1)], &[(5, 7)], &[(1, bad)], 0);
    f.check("feq.s bad, bad", m.x(5), 0);
    f.done();
}

#[test]
fn single_results_are_boxed() {
    let mut f = Failures::default();
    let m = run_fp(&[fadd_s(3, 1, 2, RNE)], &[], &[(1, ONE_S), (2, ONE_S)], 0);
    f.check("fadd.s", m.f(3), s(2.0));
    let m = run_fp(&[fcvt_s_d(3, 1, RNE)], &[], &[(1, d(1.0))], 0);
    f.check("fcvt.s.d", m.f(3), ONE_S);
    let m = run_fp(&[fcvt_s_w(3, 5, RNE)], &[(5, neg(-2))], &[], 0);
    f.check("fcvt.s.w", m.f(3), s(-2.0));
    let m = run_fp(&[fsgnjx_s(3, 1, 2)], &[], &[(1, ONE_S), (2, s(-0.0))], 0);
    f.check("fsgnjx.s", m.f(3), s(-1.0));
    let m = run_fp(&[fmax_s(3, 1, 2)], &[], &[(1, ONE_S), (2, s(-0.0))], 0);
    f.check("fmax.s", m.f(3), ONE_S);
    let m = run_fp(
        &[fmadd_s(4, 1, 2, 3, RNE)],
        &[],
        &[(1, s(2.0)), (2, s(3.0)), (3, s(4.0))],
        0,
    );
    f.check("fmadd.s", m.f(4), s(10.0));
    f.done();
}

#[test]
fn fsgnj_family_on_doubles_and_singles() {
    let mut f = Failures::default();
    let snan = 0x7ff0_0000_0000_0001u64;
    type F = fn(u32, u32, u32) -> u32;
    let dcases: &[(&str, F, u64, u64, u64)] = &[
        ("fsgnj.d", fsgnj_d, d(1.0), d(-2.0), d(-1.0)),
        ("fsgnj.d", fsgnj_d, d(-1.0), d(2.0), d(1.0)),
        ("fsgnjn.d", fsgnjn_d, d(1.0), d(-2.0), d(1.0)),
        ("fsgnjn.d", fsgnjn_d, d(1.0), d(2.0), d(-1.0)),
        ("fsgnjx.d", fsgnjx_d, d(-1.0), d(-2.0), d(1.0)),
        ("fsgnjx.d", fsgnjx_d, d(-1.0), d(2.0), d(-1.0)),
        ("fsgnj.d payload", fsgnj_d, snan, d(-0.0), snan | 1 << 63),
        ("fsgnjn.d payload", fsgnjn_d, snan, snan, snan | 1 << 63),
    ];
    for &(name, enc, a, b, want) in dcases {
        let m = run_fp(&[enc(3, 1, 2)], &[], &[(1, a), (2, b)], 0);
        f.check(format_args!("{name} {a:#x}, {b:#x}"), m.f(3), want);
        f.check(format_args!("{name}: no flags"), m.hart.regs.fcsr as u64, 0);
    }
    let ssnan = 0xffff_ffff_7f80_0001u64;
    let scases: &[(&str, F, u64, u64, u64)] = &[
        ("fsgnj.s", fsgnj_s, s(1.0), s(-2.0), s(-1.0)),
        ("fsgnjn.s", fsgnjn_s, s(1.0), s(-2.0), s(1.0)),
        ("fsgnjn.s", fsgnjn_s, s(1.0), s(2.0), s(-1.0)),
        ("fsgnjx.s", fsgnjx_s, s(-1.0), s(-2.0), s(1.0)),
        ("fsgnjx.s", fsgnjx_s, s(-1.0), s(2.0), s(-1.0)),
        (
            "fsgnj.s payload",
            fsgnj_s,
            ssnan,
            s(-0.0),
            0xffff_ffff_ff80_0001,
        ),
    ];
    for &(name, enc, a, b, want) in scases {
        let m = run_fp(&[enc(3, 1, 2)], &[], &[(1, a), (2, b)], 0);
        f.check(format_args!("{name} {a:#x}, {b:#x}"), m.f(3), want);
        f.check(format_args!("{name}: no flags"), m.hart.regs.fcsr as u64, 0);
    }
    f.done();
}

const NV: u32 = 0x10;
const DZ: u32 = 0x08;
const NX: u32 = 0x01;

#[test]
fn fcvt_to_integer_saturates_and_sign_extends() {
    let mut f = Failures::default();
    type C = fn(u32, u32, u32) -> u32;
    let cases: &[(&str, C, u64, u64, u32)] = &[
        ("fcvt.w.d", fcvt_w_d, d(3e9), 0x7fff_ffff, NV),
        ("fcvt.w.d", fcvt_w_d, d(-3e9), 0xffff_ffff_8000_0000, NV),
        ("fcvt.w.d", fcvt_w_d, CANON_D, 0x7fff_ffff, NV),
        (
            "fcvt.w.d",
            fcvt_w_d,
            d(f64::NEG_INFINITY),
            0xffff_ffff_8000_0000,
            NV,
        ),
        ("fcvt.w.d", fcvt_w_d, d(-1.5), MAX, NX),
        (
            "fcvt.w.d",
            fcvt_w_d,
            d(-2147483648.0),
            0xffff_ffff_8000_0000,
            0,
        ),
        ("fcvt.w.d", fcvt_w_d, d(2147483647.0), 0x7fff_ffff, 0),
        ("fcvt.wu.d", fcvt_wu_d, d(3e9), sext32(3_000_000_000), 0),
        ("fcvt.wu.d", fcvt_wu_d, d(-1.0), 0, NV),
        ("fcvt.wu.d", fcvt_wu_d, d(5e9), MAX, NV),
        ("fcvt.wu.d", fcvt_wu_d, CANON_D, MAX, NV),
        ("fcvt.wu.d", fcvt_wu_d, d(-0.5), 0, NX),
        ("fcvt.l.d", fcvt_l_d, d(1e19), IMAX, NV),
        ("fcvt.l.d", fcvt_l_d, d(-1e19), MIN, NV),
        ("fcvt.l.d", fcvt_l_d, CANON_D, IMAX, NV),
        ("fcvt.lu.d", fcvt_lu_d, d(-1.0), 0, NV),
        ("fcvt.lu.d", fcvt_lu_d, d(2e19), MAX, NV),
        (
            "fcvt.lu.d",
            fcvt_lu_d,
            d(1e19),
            10_000_000_000_000_000_000,
            0,
        ),
        ("fcvt.w.s", fcvt_w_s, s(-3e9), 0xffff_ffff_8000_0000, NV),
        ("fcvt.w.s", fcvt_w_s, s(-1.0), MAX, 0),
        ("fcvt.wu.s", fcvt_wu_s, s(4e9), sext32(4_000_000_000), 0),
        ("fcvt.wu.s", fcvt_wu_s, CANON_S, MAX, NV),
        ("fcvt.l.s", fcvt_l_s, s(f32::INFINITY), IMAX, NV),
        ("fcvt.lu.s", fcvt_lu_s, s(-2.0), 0, NV),
    ];
    for &(name, enc, v, want, flags) in cases {
        let m = run_fp(&[enc(5, 1, RTZ)], &[(5, 0x5555)], &[(1, v)], 0);
        f.check(format_args!("{name} {v:#x}"), m.x(5), want);
        f.check(
            format_args!("{name} {v:#x}: fflags"),
            m.hart.regs.fcsr as u64,
            flags as u64,
        );
    }
    f.done();
}

#[test]
fn fclass_every_class() {
    let mut f = Failures::default();
    let dcases = [
        (d(f64::NEG_INFINITY), 1 << 0),
        (d(-1.0), 1 << 1),
        (0x8000_0000_0000_0001, 1 << 2),
        (d(-0.0), 1 << 3),
        (d(0.0), 1 << 4),
        (0x0000_0000_0000_0001, 1 << 5),
        (d(1.0), 1 << 6),
        (d(f64::INFINITY), 1 << 7),
        (0x7ff0_0000_0000_0001, 1 << 8),
        (0xfff0_0000_0000_0001, 1 << 8),
        (CANON_D, 1 << 9),
        (0xfff8_0000_0000_0001, 1 << 9),
    ];
    for (v, want) in dcases {
        let m = run_fp(&[fclass_d(5, 1)], &[], &[(1, v)], 0);
        f.check(format_args!("fclass.d {v:#x}"), m.x(5), want);
    }
    let scases = [
        (s(f32::NEG_INFINITY), 1 << 0),
        (s(-1.0), 1 << 1),
        (0xffff_ffff_8000_0001, 1 << 2),
        (s(-0.0), 1 << 3),
        (s(0.0), 1 << 4),
        (0xffff_ffff_0000_0001, 1 << 5),
        (s(1.0), 1 << 6),
        (s(f32::INFINITY), 1 << 7),
        (0xffff_ffff_7f80_0001, 1 << 8),
        (CANON_S, 1 << 9),
        (0x0000_0000_0000_0000, 1 << 9), // not boxed
    ];
    for (v, want) in scases {
        let m = run_fp(&[fclass_s(5, 1)], &[], &[(1, v)], 0);
        f.check(format_args!("fclass.s {v:#x}"), m.x(5), want);
    }
    f.done();
}

#[test]
fn dynamic_rounding_follows_frm() {
    let mut f = Failures::default();
    // fcvt.w.d of +-2.5 in each mode: RNE, RTZ, RDN, RUP, RMM.
    let pos = [2u64, 2, 2, 3, 3];
    let neg_ = [neg(-2), neg(-2), neg(-3), neg(-2), neg(-3)];
    for frm in 0..5u32 {
        let m = run_fp(
            &[fcvt_w_d(5, 1, DYN), fcvt_w_d(6, 2, DYN)],
            &[],
            &[(1, d(2.5)), (2, d(-2.5))],
            frm << 5,
        );
        f.check(
            format_args!("fcvt.w.d 2.5, frm={frm}"),
            m.x(5),
            pos[frm as usize],
        );
        f.check(
            format_args!("fcvt.w.d -2.5, frm={frm}"),
            m.x(6),
            neg_[frm as usize],
        );
        f.check(
            format_args!("frm={frm}: fcsr"),
            m.hart.regs.fcsr as u64,
            (frm << 5 | NX) as u64,
        );
    }
    // 1/3 and -1/3 in each mode.
    let third_down = 0x3fd5_5555_5555_5555u64;
    let third_up = 0x3fd5_5555_5555_5556u64;
    let pos = [third_down, third_down, third_down, third_up, third_down];
    let negs = [third_down, third_down, third_up, third_down, third_down].map(|v| v | 1 << 63);
    for frm in 0..5u32 {
        let m = run_fp(
            &[fdiv_d(3, 1, 2, DYN), fdiv_d(4, 5, 2, DYN)],
            &[],
            &[(1, d(1.0)), (2, d(3.0)), (5, d(-1.0))],
            frm << 5,
        );
        f.check(format_args!("1/3, frm={frm}"), m.f(3), pos[frm as usize]);
        f.check(format_args!("-1/3, frm={frm}"), m.f(4), negs[frm as usize]);
    }
    // A static mode wins over frm.
    let m = run_fp(
        &[fcvt_w_d(5, 1, RUP), fcvt_w_d(6, 1, RDN)],
        &[],
        &[(1, d(2.5))],
        RDN << 5,
    );
    f.check("fcvt.w.d rup with frm=rdn", m.x(5), 3);
    f.check("fcvt.w.d rdn with frm=rdn", m.x(6), 2);
    f.done();
}

#[test]
fn invalid_frm_makes_rounded_ops_illegal_but_not_the_others() {
    for frm in [5u32, 6, 7] {
        let fcsr = frm << 5 | NX;
        let rounded = [
            fadd_d(3, 1, 2, DYN),
            fadd_s(3, 1, 2, DYN),
            fmul_d(3, 1, 2, DYN),
            fdiv_s(3, 1, 2, DYN),
            fsqrt_d(3, 1, DYN),
            fmadd_d(3, 1, 2, 4, DYN),
            fnmsub_s(3, 1, 2, 4, DYN),
            fcvt_w_d(5, 1, DYN),
            fcvt_l_s(5, 1, DYN),
            fcvt_s_d(3, 1, DYN),
            fcvt_d_l(3, 5, DYN),
            fcvt_s_wu(3, 5, DYN),
        ];
        for word in rounded {
            let mut m = Machine::new();
            m.hart.regs.fcsr = fcsr;
            m.hart.regs.f[1] = d(1.5);
            m.hart.regs.f[2] = d(2.5);
            m.hart.regs.f[3] = 0x1234;
            m.hart.regs.x[5] = 0x5678;
            expect_precise(
                &mut m,
                &words(&[word]),
                Trap::IllegalInstruction { bits: word },
            );
        }
        // No rounding mode: these run whatever frm holds.
        let m = run_fp(
            &[
                fsgnj_d(3, 1, 2),
                fsgnjn_s(4, 6, 6),
                fmin_d(7, 1, 2),
                feq_d(5, 1, 2),
                fle_s(6, 6, 6),
                fclass_d(7, 1),
                fmv_x_d(8, 1),
                fmv_d_x(9, 8),
                fmv_w_x(10, 8),
            ],
            &[],
            &[(1, d(-1.5)), (2, d(2.5)), (6, ONE_S)],
            fcsr,
        );
        assert_eq!(m.f(3), d(1.5), "frm={frm}");
        assert_eq!(m.f(4), s(-1.0));
        assert_eq!(m.f(7), d(-1.5));
        assert_eq!(m.x(5), 0);
        assert_eq!(m.x(6), 1);
        assert_eq!(m.x(7), 1 << 1);
        assert_eq!(m.f(9), d(-1.5));
        assert_eq!(m.hart.regs.fcsr, fcsr, "frm={frm}: fcsr changed");
    }
}

#[test]
fn reserved_static_rounding_modes_are_illegal() {
    for rm in [5, 6] {
        let words_ = [
            fadd_d(3, 1, 2, rm),
            fadd_s(3, 1, 2, rm),
            fsub_d(3, 1, 2, rm),
            fdiv_d(3, 1, 2, rm),
            fsqrt_s(3, 1, rm),
            fmadd_s(3, 1, 2, 4, rm),
            fmsub_d(3, 1, 2, 4, rm),
            fcvt_w_d(5, 1, rm),
            fcvt_lu_s(5, 1, rm),
            fcvt_d_l(3, 5, rm),
            fcvt_s_d(3, 1, rm),
        ];
        for word in words_ {
            let mut m = Machine::new();
            m.hart.regs.f[1] = d(1.5);
            expect_precise(
                &mut m,
                &words(&[word]),
                Trap::IllegalInstruction { bits: word },
            );
        }
    }
}

#[test]
fn fflags_accrue() {
    let m = run_fp(
        &[
            fdiv_d(3, 1, 2, RNE), // 1/3: NX
            csrrs(5, FFLAGS, 0),
            fdiv_d(4, 1, 0, RNE), // 1/0: DZ
            csrrs(6, FFLAGS, 0),
            fsgnj_d(7, 1, 2),     // no flags
            fadd_d(8, 1, 2, RNE), // 1 + 3 exact: no new flags
            csrrs(7, FFLAGS, 0),
            feq_d(9, 10, 1), // signalling NaN: NV
            csrrs(28, FCSR, 0),
        ],
        &[],
        &[
            (0, d(0.0)),
            (1, d(1.0)),
            (2, d(3.0)),
            (10, 0x7ff0_0000_0000_0001),
        ],
        RUP << 5,
    );
    assert_eq!(m.x(5), NX as u64);
    assert_eq!(m.x(6), (NX | DZ) as u64);
    assert_eq!(m.x(7), (NX | DZ) as u64);
    assert_eq!(m.x(28), (RUP << 5 | NX | DZ | NV) as u64);
    assert_eq!(m.hart.regs.fcsr, RUP << 5 | NX | DZ | NV);
    assert_eq!(m.f(4), d(f64::INFINITY));
    assert_eq!(m.f(8), d(4.0));
}

#[test]
fn flags_preset_by_the_kernel_survive() {
    let m = run_fp(&[fadd_d(3, 1, 1, RNE)], &[], &[(1, d(1.0))], NV | 2 << 5);
    assert_eq!(m.hart.regs.fcsr, NV | 2 << 5);
    assert_eq!(m.f(3), d(2.0));
}

#[test]
fn fused_multiply_add_operand_order() {
    let mut f = Failures::default();
    type F4 = fn(u32, u32, u32, u32, u32) -> u32;
    let fr = [(1, d(2.0)), (2, d(3.0)), (31, d(4.0))];
    for &(name, enc, want) in &[
        ("fmadd.d", fmadd_d as F4, 10.0),
        ("fmsub.d", fmsub_d, 2.0),
        ("fnmsub.d", fnmsub_d, -2.0),
        ("fnmadd.d", fnmadd_d, -10.0),
    ] {
        let m = run_fp(&[enc(4, 1, 2, 31, DYN)], &[], &fr, 0);
        f.check(name, m.f(4), d(want));
    }
    let fr = [(1, s(2.0)), (2, s(3.0)), (31, s(4.0))];
    for &(name, enc, want) in &[
        ("fmadd.s", fmadd_s as F4, 10.0f32),
        ("fmsub.s", fmsub_s, 2.0),
        ("fnmsub.s", fnmsub_s, -2.0),
        ("fnmadd.s", fnmadd_s, -10.0),
    ] {
        let m = run_fp(&[enc(4, 1, 2, 31, RNE)], &[], &fr, 0);
        f.check(name, m.f(4), s(want));
    }
    f.done();
}

#[test]
fn fp_compares_and_integer_conversions() {
    let mut f = Failures::default();
    let m = run_fp(
        &[
            feq_d(5, 1, 2),
            flt_d(6, 1, 2),
            fle_d(7, 2, 1),
            flt_s(8, 3, 4),
            fcvt_d_w(10, 11, RNE),
            fcvt_d_wu(12, 11, RNE),
            fcvt_d_l(13, 11, RNE),
            fcvt_d_lu(14, 15, RNE),
            fcvt_s_l(16, 11, RNE),
            fcvt_s_lu(17, 15, RNE),
            fcvt_d_s(18, 3, RNE),
        ],
        &[(11, 0x1234_5678_ffff_fffe), (15, MAX)],
        &[(1, d(1.0)), (2, d(2.0)), (3, s(-1.0)), (4, s(0.5))],
        0,
    );
    f.check("feq.d", m.x(5), 0);
    f.check("flt.d", m.x(6), 1);
    f.check("fle.d", m.x(7), 0);
    f.check("flt.s", m.x(8), 1);
    f.check("fcvt.d.w (low word only)", m.f(10), d(-2.0));
    f.check("fcvt.d.wu", m.f(12), d(4294967294.0));
    f.check("fcvt.d.l", m.f(13), d(0x1234_5678_ffff_fffe_u64 as f64));
    f.check("fcvt.d.lu", m.f(14), d(18446744073709551615.0));
    f.check("fcvt.s.l", m.f(16), s(0x1234_5678_ffff_fffe_u64 as f32));
    f.check("fcvt.s.lu", m.f(17), s(18446744073709551615.0));
    f.check("fcvt.d.s", m.f(18), d(-1.0));
    f.done();
}

// ===========================================================================
// Page faults
// ===========================================================================

#[test]
fn load_from_an_unmapped_page_is_precise() {
    let cases: &[(RI, i32, u64)] = &[
        (ld, 0, UNMAPPED),
        (lb, 0x7ff, UNMAPPED + 0x7ff),
        (lw, 0, GAP),
        (lhu, -1, UNMAPPED - 1), // page 0x7f000 is unmapped too
        (flw, 0, UNMAPPED),
        (fld, 8, UNMAPPED + 8),
        (lb, 0, NO_U),
        (ld, 0, NO_A),
    ];
    for &(enc, off, addr) in cases {
        let mut m = Machine::new();
        m.hart.regs.x[5] = 0x5555;
        m.hart.regs.f[5] = 0x6666;
        m.hart.regs.x[6] = addr.wrapping_sub(off as i64 as u64);
        expect_precise(
            &mut m,
            &words(&[enc(5, 6, off)]),
            Trap::PageFault {
                addr,
                access: Access::Load,
            },
        );
    }
}

#[test]
fn fault_in_the_middle_of_a_program_keeps_earlier_effects() {
    let mut m = Machine::new();
    m.hart.regs.x[6] = UNMAPPED;
    m.hart.regs.x[5] = 0x5555;
    let trap = m.run_at(
        CODE,
        &words(&[addi(7, 0, 1), ld(5, 6, 0), addi(8, 0, 1), ECALL]),
    );
    assert_eq!(
        trap,
        Trap::PageFault {
            addr: UNMAPPED,
            access: Access::Load
        }
    );
    assert_eq!(m.pc(), CODE + 4);
    assert_eq!(m.x(7), 1);
    assert_eq!(m.x(5), 0x5555);
    assert_eq!(m.x(8), 0);
    assert_eq!(m.hart.instret(), 1);
}

#[test]
fn store_to_an_unmapped_or_read_only_page_faults() {
    for (word, base, addr) in [
        (sd(5, 6, 0), UNMAPPED, UNMAPPED),
        (sb(5, 6, 0), RO, RO),
        (sw(5, 6, 0x10), RO, RO + 0x10),
        (fsd(5, 6, 0), RO, RO),
        (sh(5, 6, 0), NO_U, NO_U),
        (sd(5, 6, 0), NO_A, NO_A),
    ] {
        let mut m = Machine::new();
        m.hart.regs.x[5] = MAX;
        m.hart.regs.f[5] = MAX;
        m.hart.regs.x[6] = base;
        let before = if base == UNMAPPED {
            vec![]
        } else {
            m.peek(base, 64)
        };
        expect_precise(
            &mut m,
            &words(&[word]),
            Trap::PageFault {
                addr,
                access: Access::Store,
            },
        );
        if base != UNMAPPED {
            assert_eq!(m.peek(base, 64), before, "{word:#010x} wrote memory");
        }
    }
}

#[test]
fn store_to_a_clean_writable_page_faults_but_loads_work() {
    // W without D: the hart does not set D itself, so the store faults
    // (the kernel sets D and retries).
    let mut m = Machine::new();
    let va = 0x9_2000;
    m.map(va, USER_RW & !pte::D);
    m.hart.flush_tlb();
    m.poke_u64(va, 0x1234);
    m.hart.regs.x[6] = va;
    m.hart.regs.x[8] = 0x99;
    m.exec_words(&[ld(5, 6, 0)]);
    assert_eq!(m.x(5), 0x1234);
    for word in [sd(8, 6, 0), amoadd_d(7, 8, 6), fsw(1, 6, 4)] {
        expect_precise(
            &mut m,
            &words(&[word]),
            Trap::PageFault {
                addr: va + if word == fsw(1, 6, 4) { 4 } else { 0 },
                access: Access::Store,
            },
        );
    }
    assert_eq!(m.peek_u64(va), 0x1234);
    m.protect(va, USER_RW);
    m.hart.flush_tlb_page(va);
    m.exec_words(&[sd(8, 6, 0)]);
    assert_eq!(m.peek_u64(va), 0x99);
}

#[test]
fn straddling_store_into_a_forbidden_page_writes_nothing() {
    // DATA+0x1ffc.. runs into the unmapped GAP; RW_BEFORE_RO+0xffc.. into RO.
    for (start, next) in [(GAP - 4, GAP), (RO - 4, RO), (RO - 1, RO)] {
        for (name, word) in [("sd", sd(5, 6, 0)), ("fsd", fsd(5, 6, 0))] {
            let mut m = Machine::new();
            m.poke(start - 8, &[0x11; 12]);
            if start + 8 > RO && start < RO {
                m.poke(RO, &[0x22; 8]);
            }
            m.hart.regs.x[5] = MAX;
            m.hart.regs.f[5] = MAX;
            m.hart.regs.x[6] = start;
            m.poke(CODE, &words(&[word]));
            m.hart.regs.pc = CODE;
            let before = m.hart.regs.clone();
            let trap = m.hart.run(&mut m.mem, BUDGET);
            match trap {
                Trap::PageFault {
                    addr,
                    access: Access::Store,
                } if addr == start || addr == next => {}
                other => panic!("{name} at {start:#x}: {other:?}"),
            }
            assert_eq!(m.hart.regs, before);
            let mut want = vec![0x11; 8 + (next - start) as usize];
            want.truncate((8 + next - start) as usize);
            assert_eq!(
                m.peek(start - 8, (8 + next - start) as usize),
                want,
                "{name} at {start:#x} wrote the first page"
            );
            if next == RO {
                assert_eq!(m.peek(RO, 8), vec![0x22; 8]);
            }
        }
    }
}

#[test]
fn straddling_load_into_an_unmapped_page_faults() {
    let mut m = Machine::new();
    m.hart.regs.x[5] = 0x5555;
    m.hart.regs.x[6] = GAP - 3;
    m.poke(CODE, &words(&[ld(5, 6, 0)]));
    m.hart.regs.pc = CODE;
    let before = m.hart.regs.clone();
    let trap = m.hart.run(&mut m.mem, BUDGET);
    assert!(
        matches!(trap, Trap::PageFault { addr, access: Access::Load } if addr == GAP - 3 || addr == GAP),
        "{trap:?}"
    );
    assert_eq!(m.hart.regs, before);
}

#[test]
fn fetch_from_a_non_executable_or_unmapped_page_faults() {
    for target in [DATA, RO + 0x10, UNMAPPED, NO_U, NO_A, GAP] {
        let mut m = Machine::new();
        m.poke(DATA, &words(&[NOP, ECALL]));
        m.hart.regs.x[5] = target;
        let trap = m.run_at(CODE, &words(&[jalr(1, 5, 0)]));
        assert_eq!(
            trap,
            Trap::PageFault {
                addr: target,
                access: Access::Fetch
            },
            "fetch from {target:#x}"
        );
        assert_eq!(m.pc(), target, "pc must be the fetch address");
        assert_eq!(m.x(1), CODE + 4, "the jump itself retired");
        assert_eq!(m.hart.instret(), 1);
    }
}

#[test]
fn straddling_instruction_fetch() {
    // A 32-bit instruction across two code pages runs.
    let mut m = Machine::new();
    let at = CODE + 0xffe;
    let code = words(&[addi(5, 5, 7), ECALL]);
    assert_eq!(m.run_at(at, &code), Trap::Ecall);
    assert_eq!(m.x(5), 7);
    assert_eq!(m.pc(), at + 4);

    // Its second half on an unmapped page: a fetch fault, pc at the instruction.
    let mut m = Machine::new();
    let at = CODE + CODE_PAGES * 0x1000 - 2;
    m.poke(at, &addi(5, 5, 7).to_le_bytes()[..2]);
    m.hart.regs.pc = at;
    let before = m.hart.regs.clone();
    let trap = m.hart.run(&mut m.mem, BUDGET);
    assert!(
        matches!(trap, Trap::PageFault { addr, access: Access::Fetch } if addr == at || addr == at + 2),
        "{trap:?}"
    );
    assert_eq!(m.hart.regs, before);

    // A compressed instruction in the last two bytes does not touch the next page.
    let mut m = Machine::new();
    m.poke(at - 6, &ECALL.to_le_bytes());
    let code = bytes_of(&[P::H(c_addi(5, 3)), P::H(c_j(-6))]);
    let trap = m.run_at(at - 2, &code);
    assert_eq!(trap, Trap::Ecall);
    assert_eq!(m.x(5), 3);
}

#[test]
fn non_canonical_addresses_fault() {
    for addr in [
        0x40_0000_0000u64,
        0x8000_0000_0000_0000,
        0xffff_ffc0_0000_0000 - 0x1000,
        // The low 39 bits of these name DATA, which is mapped.
        DATA | 1 << 39,
        DATA | 1 << 63,
        DATA | 0xffff_ff80_0000_0000,
    ] {
        let mut m = Machine::new();
        m.hart.regs.x[6] = addr;
        expect_precise(
            &mut m,
            &words(&[ld(5, 6, 0)]),
            Trap::PageFault {
                addr,
                access: Access::Load,
            },
        );
    }
}

#[test]
fn faulting_access_succeeds_after_the_kernel_fixes_the_mapping() {
    let mut m = Machine::new();
    m.hart.regs.x[6] = UNMAPPED;
    m.hart.regs.x[7] = RO;
    m.hart.regs.x[8] = 0x77;
    let code = words(&[ld(5, 6, 0), sd(8, 7, 0), ECALL]);
    assert_eq!(
        m.run_at(CODE, &code),
        Trap::PageFault {
            addr: UNMAPPED,
            access: Access::Load
        }
    );
    let pa = m.map(UNMAPPED, USER_RW);
    m.mem.write_u64(pa, 0x1234);
    m.hart.flush_tlb_page(UNMAPPED);
    assert_eq!(
        m.hart.run(&mut m.mem, BUDGET),
        Trap::PageFault {
            addr: RO,
            access: Access::Store
        }
    );
    assert_eq!(m.x(5), 0x1234);
    assert_eq!(m.pc(), CODE + 4);
    m.protect(RO, USER_RW);
    m.hart.flush_tlb_page(RO);
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.peek_u64(RO), 0x77);
}

// ===========================================================================
// Decode cache coherence
// ===========================================================================

const OLD: u32 = 0x0010_0393; // addi x7, x0, 1
const NEW: u32 = 0x02a0_0393; // addi x7, x0, 42

/// On the RWX page: execute T (old), rewrite T with `store`, optionally
/// fence.i, jump back and execute T again. x5 = T = RWX + 4, x6 = NEW.
///  0: nop
///  4: T
///  8: bne x8, x0, ->ecall
/// 12: addi x8, x0, 1
/// 16: store...
///   : fence.i or nop
///   : jal x0, -> T
///   : ecall
fn smc_program(store: &[P], fence: bool) -> Vec<u8> {
    let store_len = bytes_of(store).len() as i32;
    let ecall_at = 16 + store_len + 8;
    let mut parts = vec![
        P::W(NOP),
        P::W(OLD),
        P::W(bne(8, 0, ecall_at - 8)),
        P::W(addi(8, 0, 1)),
    ];
    parts.extend_from_slice(store);
    parts.push(P::W(if fence { FENCE_I } else { NOP }));
    parts.push(P::W(jal(0, 8 - ecall_at)));
    parts.push(P::W(ECALL));
    bytes_of(&parts)
}

#[test]
fn self_modifying_code_on_the_same_page() {
    let variants: &[(&str, Vec<P>)] = &[
        ("sw", vec![P::W(sw(6, 5, 0))]),
        (
            "sh + sh",
            vec![P::W(sh(6, 5, 0)), P::W(srli(9, 6, 16)), P::W(sh(9, 5, 2))],
        ),
        (
            "sb + sb",
            vec![
                P::W(srli(9, 6, 16)),
                P::W(sb(9, 5, 2)),
                P::W(srli(9, 6, 24)),
                P::W(sb(9, 5, 3)),
            ],
        ),
        ("amoswap.w", vec![P::W(amoswap_w(9, 6, 5))]),
        ("amoxor.w", vec![P::W(amoxor_w(9, 10, 5))]),
        ("lr.w + sc.w", vec![P::W(lr_w(9, 5)), P::W(sc_w(9, 6, 5))]),
        ("fsw", vec![P::W(fsw(1, 5, 0))]),
        ("c.sw", vec![P::H(c_sw(11, 12, 0)), P::H(C_NOP)]),
        ("misaligned sd", vec![P::W(sd(13, 5, -2))]),
    ];
    let mut f = Failures::default();
    for (name, store) in variants {
        for fence in [false, true] {
            let code = smc_program(store, fence);
            // The misaligned sd rewrites bytes 2..10: the nop's upper half,
            // T, and the bne's lower half, which it must keep.
            let mut window = code[2..10].to_vec();
            window[2..6].copy_from_slice(&NEW.to_le_bytes());
            let mut m = Machine::new();
            m.hart.regs.x[5] = RWX + 4;
            m.hart.regs.x[6] = NEW as u64;
            m.hart.regs.x[10] = (OLD ^ NEW) as u64;
            m.hart.regs.x[11] = NEW as u64;
            m.hart.regs.x[12] = RWX + 4;
            m.hart.regs.x[13] = u64::from_le_bytes(window.try_into().unwrap());
            m.hart.regs.f[1] = 0xffff_ffff_0000_0000 | NEW as u64;
            let ecall_at = RWX + code.len() as u64 - 4;
            let trap = m.run_at(RWX, &code);
            if trap != Trap::Ecall || m.pc() != ecall_at {
                f.fail(format!(
                    "{name} (fence.i: {fence}): {trap:?} at {:#x}",
                    m.pc()
                ));
                continue;
            }
            f.check(format_args!("{name} (fence.i: {fence}): x7"), m.x(7), 42);
            f.check(
                format_args!("{name} (fence.i: {fence}): T"),
                m.peek_u32(RWX + 4) as u64,
                NEW as u64,
            );
        }
    }
    f.done();
}

#[test]
fn store_over_the_very_next_instruction() {
    // 0: sw x6, 4(x5)   4: addi x7, x0, 1 -> NEW   8: ecall
    let mut m = Machine::new();
    m.hart.regs.x[5] = RWX;
    m.hart.regs.x[6] = OLD as u64;
    let code = words(&[sw(6, 5, 4), OLD, ECALL]);
    assert_eq!(m.run_at(RWX, &code), Trap::Ecall);
    assert_eq!(m.x(7), 1);
    // Now slot 4 is decoded; rewrite it from slot 0 in the same run.
    m.hart.regs.x[6] = NEW as u64;
    m.hart.regs.pc = RWX;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 42, "executed the stale instruction");
}

#[test]
fn store_through_an_alias_mapping_reaches_decoded_code() {
    // CODE+0x1000 is R|X; ALIAS maps the same frame R|W.
    // 0: sw x11, 0(x10)  (the same old bytes: fills the store TLB for ALIAS)
    // 4: jal x1, CODE+0x1000 (decodes it: x7 = 1)
    // 8: add x20, x7, x0
    // 12: sw x6, 0(x10)  (NEW through the alias)
    // 16: jal x1, CODE+0x1000 (x7 = 42)
    // 20: ecall
    let mut m = Machine::new();
    m.poke(CODE + 0x1000, &words(&[OLD, jalr(0, 1, 0)]));
    m.hart.regs.x[10] = ALIAS;
    m.hart.regs.x[11] = OLD as u64;
    m.hart.regs.x[6] = NEW as u64;
    m.exec_words(&[
        sw(11, 10, 0),
        jal(1, 0x1000 - 4),
        add(20, 7, 0),
        sw(6, 10, 0),
        jal(1, 0x1000 - 16),
    ]);
    assert_eq!(m.x(20), 1);
    assert_eq!(m.x(7), 42, "executed the stale instruction");
}

#[test]
fn physmem_writes_between_runs_take_effect() {
    let mut m = Machine::new();
    let code = words(&[OLD, ECALL]);
    assert_eq!(m.run_at(CODE, &code), Trap::Ecall);
    assert_eq!(m.x(7), 1);
    assert!(m.mem.has_code((m.pa(CODE) >> 12) as usize));

    // PhysMem::write
    let pa = m.pa(CODE);
    m.mem.write(pa, &NEW.to_le_bytes());
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 42, "PhysMem::write");

    // PhysMem::frame_mut
    m.mem.frame_mut((pa >> 12) as usize)[..4].copy_from_slice(&addi(7, 0, 43).to_le_bytes());
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 43, "PhysMem::frame_mut");

    // PhysMem::write_u64 over a compressed pair.
    let pair = bytes_of(&[P::H(c_li(7, 5)), P::H(c_addi(7, 1))]);
    m.mem.write(pa, &pair);
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 6, "PhysMem::write of compressed code");

    // PhysMem::copy_frame
    let other = m.frame();
    m.mem.write(other, &words(&[addi(7, 0, 44), ECALL]));
    m.mem
        .copy_frame((pa >> 12) as usize, (other >> 12) as usize);
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 44, "PhysMem::copy_frame");
}

#[test]
fn straddling_instruction_sees_a_rewritten_second_half() {
    let mut m = Machine::new();
    let at = CODE + 0xffe;
    assert_eq!(m.run_at(at, &words(&[OLD, ECALL])), Trap::Ecall);
    assert_eq!(m.x(7), 1);
    // Rewrite only the upper half, on the second page.
    m.poke(CODE + 0x1000, &NEW.to_le_bytes()[2..]);
    m.hart.regs.pc = at;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 42);

    // Same, with the upper half rewritten by a guest store.
    let mut m = Machine::new();
    let at = RWX + 0xffe;
    m.poke(at, &words(&[OLD, ECALL]));
    m.hart.regs.pc = at;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 1);
    m.hart.regs.x[5] = RWX + 0x1000;
    m.hart.regs.x[6] = (NEW >> 16) as u64;
    assert_eq!(
        m.run_at(RWX + 0x100, &words(&[sh(6, 5, 0), ECALL])),
        Trap::Ecall
    );
    m.hart.regs.pc = at;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 42);
}

#[test]
fn decoded_code_sees_stores_from_another_hart() {
    // Two harts share physical memory and the page table, as two threads of
    // one process would. Hart B stores to the code frame through ALIAS before
    // hart A decodes it, then again afterwards.
    let mut m = Machine::new();
    m.poke(CODE + 0x1000, &words(&[OLD, ECALL]));
    let mut b = Hart::new();
    b.set_page_table(m.root);
    let store = words(&[sw(6, 5, 0), ECALL]);
    m.poke(CODE + 0x2000, &store);
    b.regs.x[5] = ALIAS;
    b.regs.x[6] = OLD as u64;
    b.regs.pc = CODE + 0x2000;
    assert_eq!(b.run(&mut m.mem, BUDGET), Trap::Ecall);

    m.hart.regs.pc = CODE + 0x1000;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 1);

    b.regs.x[6] = NEW as u64;
    b.regs.pc = CODE + 0x2000;
    assert_eq!(b.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.peek_u32(CODE + 0x1000), NEW);

    m.hart.regs.pc = CODE + 0x1000;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 42, "hart A executed a stale decoded instruction");
}

// ===========================================================================
// Budget and instret
// ===========================================================================

#[test]
fn budget_stops_after_exactly_n_instructions() {
    let mut m = Machine::new();
    let mut ws = vec![addi(5, 5, 1); 20];
    ws.push(ECALL);
    m.poke(CODE, &words(&ws));
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, 7), Trap::BudgetExhausted);
    assert_eq!(m.pc(), CODE + 28);
    assert_eq!(m.x(5), 7);
    assert_eq!(m.hart.instret(), 7);
    // Exactly up to the ecall: the budget ends first.
    assert_eq!(m.hart.run(&mut m.mem, 13), Trap::BudgetExhausted);
    assert_eq!(m.pc(), CODE + 80);
    assert_eq!(m.x(5), 20);
    assert_eq!(m.hart.instret(), 20);
    assert_eq!(m.hart.run(&mut m.mem, 1), Trap::Ecall);
    assert_eq!(m.pc(), CODE + 80);
    assert_eq!(m.hart.instret(), 20, "ecall does not retire");
    // Budget 0 runs nothing.
    assert_eq!(m.hart.run(&mut m.mem, 0), Trap::BudgetExhausted);
    assert_eq!(m.pc(), CODE + 80);
}

#[test]
fn budget_in_a_loop_and_across_pages() {
    let mut m = Machine::new();
    m.poke(CODE, &jal(0, 0).to_le_bytes());
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, 1000), Trap::BudgetExhausted);
    assert_eq!(m.pc(), CODE);
    assert_eq!(m.hart.instret(), 1000);

    // Straight-line code from CODE+0xff0 across into the next page.
    let mut m = Machine::new();
    let mut ws = vec![addi(5, 5, 1); 8];
    ws.push(ECALL);
    m.poke(CODE + 0xff0, &words(&ws));
    m.hart.regs.pc = CODE + 0xff0;
    assert_eq!(m.hart.run(&mut m.mem, 4), Trap::BudgetExhausted);
    assert_eq!(m.pc(), CODE + 0x1000);
    assert_eq!(m.hart.run(&mut m.mem, 2), Trap::BudgetExhausted);
    assert_eq!(m.pc(), CODE + 0x1008);
    assert_eq!(m.x(5), 6);
    assert_eq!(m.hart.run(&mut m.mem, 100), Trap::Ecall);
    assert_eq!(m.x(5), 8);
    assert_eq!(m.hart.instret(), 8);
}

#[test]
fn budget_with_compressed_code() {
    let mut m = Machine::new();
    let code = bytes_of(&[
        P::H(c_addi(5, 1)),
        P::H(c_addi(5, 1)),
        P::W(addi(5, 5, 1)),
        P::H(c_addi(5, 1)),
        P::W(ECALL),
    ]);
    m.poke(CODE, &code);
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, 3), Trap::BudgetExhausted);
    assert_eq!(m.pc(), CODE + 8);
    assert_eq!(m.x(5), 3);
    assert_eq!(m.hart.run(&mut m.mem, 5), Trap::Ecall);
    assert_eq!(m.pc(), CODE + 10);
    assert_eq!(m.hart.instret(), 4);
}

#[test]
fn budget_ends_before_a_faulting_instruction() {
    let mut m = Machine::new();
    m.hart.regs.x[6] = UNMAPPED;
    m.poke(CODE, &words(&[NOP, NOP, ld(5, 6, 0)]));
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, 2), Trap::BudgetExhausted);
    assert_eq!(m.pc(), CODE + 8);
    assert_eq!(
        m.hart.run(&mut m.mem, 2),
        Trap::PageFault {
            addr: UNMAPPED,
            access: Access::Load
        }
    );
    assert_eq!(m.pc(), CODE + 8);
    assert_eq!(m.hart.instret(), 2);
}

#[test]
fn instret_csr_across_runs() {
    let mut m = Machine::new();
    let mut ws = vec![NOP; 10];
    ws.push(csrrs(5, INSTRET, 0));
    ws.push(ECALL);
    m.poke(CODE, &words(&ws));
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, 4), Trap::BudgetExhausted);
    assert_eq!(m.hart.run(&mut m.mem, 3), Trap::BudgetExhausted);
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(5), 10);
    assert_eq!(m.hart.instret(), 11);
}

#[test]
fn leaf_flags_are_checked() {
    // A sanity check of the machine's own table: the PTE flags it writes.
    let m = Machine::new();
    assert_eq!(
        USER_RX & (pte::U | pte::A | pte::X),
        pte::U | pte::A | pte::X
    );
    assert_ne!(
        m.pa(DATA + 0x1000),
        m.pa(DATA) + 0x1000,
        "data frames must not be adjacent"
    );
}

// ===========================================================================
// More edges: HINTs, overlapping decodes, TLB flushes, superpages
// ===========================================================================

#[test]
fn compressed_hints_execute_as_no_ops() {
    // rd = x0 forms and zero immediates are HINTs, not reserved.
    let hints = [
        c_addi(0, 5), // c.nop with an immediate
        c_addi(5, 0), // c.addi rd, 0
        c_li(0, 7),   // c.li x0
        c_lui(0, 3),  // c.lui x0, nonzero
        c_mv(0, 5),   // c.mv x0, x5
        c_add(0, 5),  // c.add x0, x5
        c_slli(0, 3), // c.slli x0
        c_slli(5, 0), // c.slli rd, 0
    ];
    for h in hints {
        let m = run_c(&[h], &[(5, 0x1234)]);
        assert_eq!(m.x(0), 0, "{h:#06x}");
        assert_eq!(m.x(5), 0x1234, "{h:#06x}");
    }
}

#[test]
fn jumping_into_the_middle_of_a_decoded_instruction() {
    // addi x0, x10, 0x439 is 0x43950013: its upper halfword, 0x4395, is
    // c.li x7, 5. Run the 32-bit instruction first (decoding slot 0), then
    // jump to its middle (slot 1).
    //  0: addi x0, x10, 0x439
    //  4: bne x8, x0, +12 -> 16
    //  8: addi x8, x0, 1
    // 12: jal x0, -10 -> 2
    // 16: ecall
    assert_eq!(addi(0, 10, 0x439), 0x4395_0013);
    assert_eq!(c_li(7, 5), 0x4395);
    let mut m = Machine::new();
    m.exec_words(&[
        addi(0, 10, 0x439),
        bne(8, 0, 12),
        addi(8, 0, 1),
        jal(0, -10),
    ]);
    assert_eq!(m.x(7), 5);
    assert_eq!(m.hart.instret(), 6);
}

#[test]
fn falling_off_the_last_code_page_faults_on_the_next() {
    let mut m = Machine::new();
    let end = CODE + CODE_PAGES * 0x1000;
    m.poke(end - 8, &words(&[addi(5, 5, 1), addi(5, 5, 1)]));
    m.hart.regs.pc = end - 8;
    assert_eq!(
        m.hart.run(&mut m.mem, BUDGET),
        Trap::PageFault {
            addr: end,
            access: Access::Fetch
        }
    );
    assert_eq!(m.pc(), end);
    assert_eq!(m.x(5), 2);
    assert_eq!(m.hart.instret(), 2);
}

#[test]
fn permission_downgrade_takes_effect_after_a_tlb_flush() {
    // What copy-on-write needs: a page written through the TLB, made
    // read-only by the kernel, must fault on the next store once flushed.
    for flush in ["page", "all", "set_page_table"] {
        let mut m = Machine::new();
        m.hart.regs.x[5] = DATA;
        m.hart.regs.x[6] = 1;
        m.exec_words(&[sd(6, 5, 0), ld(7, 5, 0)]);
        m.protect(DATA, USER_RO);
        match flush {
            "page" => m.hart.flush_tlb_page(DATA),
            "all" => m.hart.flush_tlb(),
            _ => m.hart.set_page_table(m.root),
        }
        m.hart.regs.x[6] = 2;
        m.poke(CODE, &words(&[ld(7, 5, 0), sd(6, 5, 0), ECALL]));
        m.hart.regs.pc = CODE;
        assert_eq!(
            m.hart.run(&mut m.mem, BUDGET),
            Trap::PageFault {
                addr: DATA,
                access: Access::Store
            },
            "flush {flush}"
        );
        assert_eq!(m.pc(), CODE + 4);
        assert_eq!(m.x(7), 1, "the load still works");
        assert_eq!(m.peek_u64(DATA), 1, "flush {flush}: store went through");
        // And unmapping makes the load fault too.
        m.map_to(DATA, 0, 0);
        m.hart.flush_tlb_page(DATA);
        m.hart.regs.pc = CODE;
        assert_eq!(
            m.hart.run(&mut m.mem, BUDGET),
            Trap::PageFault {
                addr: DATA,
                access: Access::Load
            }
        );
    }
}

#[test]
fn remapping_code_after_a_flush_runs_the_new_frame() {
    let mut m = Machine::new();
    assert_eq!(m.run_at(CODE, &words(&[OLD, ECALL])), Trap::Ecall);
    assert_eq!(m.x(7), 1);
    let other = m.frame();
    m.mem.write(other, &words(&[NEW, ECALL]));
    m.map_to(CODE, other, USER_RX);
    m.hart.flush_tlb_page(CODE);
    m.hart.regs.pc = CODE;
    assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
    assert_eq!(m.x(7), 42);
}

#[test]
fn execute_only_and_write_only_leaves() {
    // X without R: fetch works, loads fault (no MXR for user code).
    let mut m = Machine::new();
    let xo = 0x9_0000;
    m.map(xo, pte::V | pte::X | pte::U | pte::A);
    m.hart.flush_tlb();
    assert_eq!(m.run_at(xo, &words(&[addi(5, 0, 9), ECALL])), Trap::Ecall);
    assert_eq!(m.x(5), 9);
    m.hart.regs.x[6] = xo;
    expect_precise(
        &mut m,
        &words(&[lw(5, 6, 0)]),
        Trap::PageFault {
            addr: xo,
            access: Access::Load,
        },
    );

    // W without R is a reserved combination: every access faults.
    let mut m = Machine::new();
    let wo = 0x9_1000;
    m.map(wo, pte::V | pte::W | pte::U | pte::A | pte::D);
    m.hart.flush_tlb();
    m.hart.regs.x[6] = wo;
    expect_precise(
        &mut m,
        &words(&[sw(5, 6, 0)]),
        Trap::PageFault {
            addr: wo,
            access: Access::Store,
        },
    );
    expect_precise(
        &mut m,
        &words(&[lw(5, 6, 0)]),
        Trap::PageFault {
            addr: wo,
            access: Access::Load,
        },
    );
}

#[test]
fn megapage_leaves() {
    // A 2 MiB leaf at level 1: VA 0x4000_0000 -> PA 0x20_0000.
    let mut m = Machine::new();
    let va = 0x4000_0000u64;
    let pa = 0x20_0000u64;
    // Root entry for VA[38:30] = 1 -> a new level-1 table.
    let l1 = m.frame();
    m.mem.write_u64(m.root + 8, pte::make(l1, pte::V));
    m.mem.write_u64(l1, pte::make(pa, USER_RW));
    m.mem.write_u64(pa + 0x1_2345, 0x1122_3344_5566_7788);
    m.hart.set_page_table(m.root);
    m.hart.regs.x[6] = va + 0x1_2345;
    m.hart.regs.x[8] = 0x99;
    m.exec_words(&[ld(5, 6, 0), sd(8, 6, 0x100)]);
    assert_eq!(m.x(5), 0x1122_3344_5566_7788);
    assert_eq!(m.mem.read_u64(pa + 0x1_2445), 0x99);

    // A megapage whose PPN is not 2 MiB aligned faults.
    m.mem.write_u64(l1, pte::make(pa + 0x1000, USER_RW));
    m.hart.set_page_table(m.root);
    m.hart.regs.x[6] = va;
    expect_precise(
        &mut m,
        &words(&[ld(5, 6, 0)]),
        Trap::PageFault {
            addr: va,
            access: Access::Load,
        },
    );
}

#[test]
fn reservation_persists_across_runs_until_cleared() {
    // lr.d; ecall | sc.d: the hart keeps the reservation across runs (SC may
    // succeed); Hart::clear_reservation, which the kernel calls on a context
    // switch, drops it.
    for clear in [false, true] {
        let mut m = Machine::new();
        m.hart.regs.x[5] = ATOM;
        m.hart.regs.x[8] = 0x77;
        m.poke(CODE, &words(&[lr_d(6, 5), ECALL, sc_d(7, 8, 5), ECALL]));
        m.hart.regs.pc = CODE;
        assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
        if clear {
            m.hart.clear_reservation();
        }
        m.hart.regs.pc += 4;
        assert_eq!(m.hart.run(&mut m.mem, BUDGET), Trap::Ecall);
        assert_eq!(m.x(7) == 0, !clear, "clear_reservation: {clear}");
        assert_eq!(m.peek_u64(ATOM), if clear { 0 } else { 0x77 });
    }
}

#[test]
fn illegal_32_bit_encodings_report_their_bits() {
    let cases = [
        0xffff_ffffu32,                         // 48-bit-or-longer prefix
        0x0000_007f,                            // 64-bit prefix
        0x0000_0003 | 7 << 12,                  // load funct3 7
        0x0000_0023 | 4 << 12,                  // store funct3 4
        0x0000_2063,                            // branch funct3 2
        0x0000_1067,                            // jalr funct3 1
        0x4000_0033 | 1 << 12,                  // sll with funct7 0x20
        0x0200_003b | 2 << 12,                  // op-32 M funct3 2
        0x0000_2073 | 1 << 7,                   // csrrs x1, ustatus(0)
        0x0020_0073,                            // uret-like system encoding
        0x1050_0073,                            // wfi
        0x1200_0073,                            // sfence.vma
        fadd_d(1, 2, 3, RNE) | 1 << 26,         // fmt = Q
        fsgnj_d(1, 2, 3) | 3 << 12,             // fsgnj funct3 3
        fmv_x_d(5, 1) | 1 << 20,                // fmv.x.d with rs2 != 0
        fcvt_w_d(5, 1, RNE) | 4 << 20,          // fcvt with rs2 = 4
        lr_w(5, 6) | 7 << 20,                   // lr.w with rs2 != 0
        amo(0b00101, 2, 5, 6, 7, false, false), // funct5 00101
        amo(0b00001, 1, 5, 6, 7, false, false), // amoswap.h (Zabha, not RV64GC)
        slli(5, 6, 1) | 1 << 30,                // slli with funct6 0x10
        srli(5, 6, 1) | 1 << 31,                // srli with funct6 0x20
        srai(5, 6, 1) | 1 << 29,                // srai with funct6 0x18
        op_fp(0x20, 1, 2, 0, RNE),              // fcvt.s.s
        op_fp(0x20, 1, 2, 3, RNE),              // fcvt.s.q
        op_fp(0x21, 1, 2, 1, RNE),              // fcvt.d.d
        op_fp(0x21, 1, 2, 2, RNE),              // fcvt.d.h (Zfh)
        fsqrt_d(1, 2, RNE) | 1 << 20,           // fsqrt with rs2 != 0
        fmv_w_x(1, 6) | 1 << 12,                // fmv.w.x with funct3 1
        fmin_s(1, 2, 3) | 2 << 12,              // fmin/fmax funct3 2
        feq_d(5, 1, 2) | 3 << 12,               // compare funct3 3
    ];
    for word in cases {
        let mut m = Machine::new();
        expect_precise(
            &mut m,
            &words(&[word, ECALL]),
            Trap::IllegalInstruction { bits: word },
        );
    }
}
