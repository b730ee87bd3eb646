//! Randomised comparison of `rv::fpu` against qemu-riscv64, the project's
//! reference for instruction results (its FPU is SoftFloat-based).
//!
//! `fpu_oracle.c` is compiled with riscv64-linux-gnu-gcc and run under
//! qemu-riscv64; every case's result bits and fflags must match exactly. The
//! test skips, saying why, when either tool is missing.
//!
//! Cases per operation (spread over the rounding modes): `FPU_ORACLE_CASES`,
//! default 300000. Seed: `FPU_ORACLE_SEED`, default fixed.

use rv::fpu::{self, Rounding};
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use testkit::Rng;

const MODES: [Rounding; 5] = [
    Rounding::NearestEven,
    Rounding::TowardZero,
    Rounding::Down,
    Rounding::Up,
    Rounding::NearestMaxMagnitude,
];

/// What an operation's operands look like, for the generator.
#[derive(Clone, Copy, PartialEq)]
enum Shape {
    /// Floats of this format (true: binary64).
    Float(bool),
    /// Floats near integer boundaries (true: binary64).
    ToInt(bool),
    /// Integers.
    Int,
}

struct Op {
    name: &'static str,
    arity: usize,
    shape: Shape,
    uses_rm: bool,
    /// Bits of the result that are compared (f32 and 32-bit integers: low 32).
    mask: u64,
    run: fn(&[u64; 3], Rounding, &mut u32) -> u64,
}

const M32: u64 = 0xffff_ffff;
const M64: u64 = u64::MAX;

/// Operand and result types of the `fpu` functions, as the raw u64 the
/// oracle exchanges.
trait Raw {
    fn from_raw(x: u64) -> Self;
    fn raw(self) -> u64;
}
macro_rules! raw {
    ($($t:ty),*) => {$(
        impl Raw for $t {
            fn from_raw(x: u64) -> Self {
                x as $t
            }
            fn raw(self) -> u64 {
                self as u64
            }
        }
    )*};
}
raw!(u32, i32, i64);
impl Raw for u64 {
    fn from_raw(x: u64) -> Self {
        x
    }
    fn raw(self) -> u64 {
        self
    }
}
impl Raw for bool {
    fn from_raw(x: u64) -> Self {
        x != 0
    }
    fn raw(self) -> u64 {
        self.into()
    }
}
fn arg<T: Raw>(x: u64) -> T {
    T::from_raw(x)
}

/// `op!(name, shape, mask, kind, function)`; the kind says the arity and
/// whether the function takes a rounding mode (`rm`) or only flags (`fl`).
macro_rules! op {
    (@ $name:literal, $shape:expr, $mask:expr, $arity:literal, $rm:literal, $run:expr) => {
        Op { name: $name, arity: $arity, shape: $shape, uses_rm: $rm, mask: $mask, run: $run }
    };
    ($name:literal, $shape:expr, $mask:expr, rm1, $f:path) => {
        op!(@ $name, $shape, $mask, 1, true, |v, r, f| $f(arg(v[0]), r, f).raw())
    };
    ($name:literal, $shape:expr, $mask:expr, rm2, $f:path) => {
        op!(@ $name, $shape, $mask, 2, true, |v, r, f| $f(arg(v[0]), arg(v[1]), r, f).raw())
    };
    ($name:literal, $shape:expr, $mask:expr, rm3, $f:path) => {
        op!(@ $name, $shape, $mask, 3, true, |v, r, f| {
            $f(arg(v[0]), arg(v[1]), arg(v[2]), r, f).raw()
        })
    };
    ($name:literal, $shape:expr, $mask:expr, fl1, $f:path) => {
        op!(@ $name, $shape, $mask, 1, false, |v, _, f| $f(arg(v[0]), f).raw())
    };
    ($name:literal, $shape:expr, $mask:expr, fl2, $f:path) => {
        op!(@ $name, $shape, $mask, 2, false, |v, _, f| $f(arg(v[0]), arg(v[1]), f).raw())
    };
    ($name:literal, $shape:expr, $mask:expr, class, $f:path) => {
        op!(@ $name, $shape, $mask, 1, false, |v, _, _| $f(arg(v[0])).raw())
    };
}

/// In the order of the opcode numbers in `fpu_oracle.c`.
fn ops() -> Vec<Op> {
    let (s, d) = (Shape::Float(false), Shape::Float(true));
    let (si, di, int) = (Shape::ToInt(false), Shape::ToInt(true), Shape::Int);
    vec![
        op!("fadd.s", s, M32, rm2, fpu::f32_add),
        op!("fsub.s", s, M32, rm2, fpu::f32_sub),
        op!("fmul.s", s, M32, rm2, fpu::f32_mul),
        op!("fdiv.s", s, M32, rm2, fpu::f32_div),
        op!("fsqrt.s", s, M32, rm1, fpu::f32_sqrt),
        op!("fmadd.s", s, M32, rm3, fpu::f32_fma),
        op!("fmin.s", s, M32, fl2, fpu::f32_min),
        op!("fmax.s", s, M32, fl2, fpu::f32_max),
        op!("feq.s", s, M64, fl2, fpu::f32_eq),
        op!("flt.s", s, M64, fl2, fpu::f32_lt),
        op!("fle.s", s, M64, fl2, fpu::f32_le),
        op!("fclass.s", s, M64, class, fpu::f32_class),
        op!("fadd.d", d, M64, rm2, fpu::f64_add),
        op!("fsub.d", d, M64, rm2, fpu::f64_sub),
        op!("fmul.d", d, M64, rm2, fpu::f64_mul),
        op!("fdiv.d", d, M64, rm2, fpu::f64_div),
        op!("fsqrt.d", d, M64, rm1, fpu::f64_sqrt),
        op!("fmadd.d", d, M64, rm3, fpu::f64_fma),
        op!("fmin.d", d, M64, fl2, fpu::f64_min),
        op!("fmax.d", d, M64, fl2, fpu::f64_max),
        op!("feq.d", d, M64, fl2, fpu::f64_eq),
        op!("flt.d", d, M64, fl2, fpu::f64_lt),
        op!("fle.d", d, M64, fl2, fpu::f64_le),
        op!("fclass.d", d, M64, class, fpu::f64_class),
        op!("fcvt.d.s", s, M64, fl1, fpu::f32_to_f64),
        op!("fcvt.s.d", d, M32, rm1, fpu::f64_to_f32),
        op!("fcvt.w.s", si, M32, rm1, fpu::f32_to_i32),
        op!("fcvt.wu.s", si, M32, rm1, fpu::f32_to_u32),
        op!("fcvt.l.s", si, M64, rm1, fpu::f32_to_i64),
        op!("fcvt.lu.s", si, M64, rm1, fpu::f32_to_u64),
        op!("fcvt.w.d", di, M32, rm1, fpu::f64_to_i32),
        op!("fcvt.wu.d", di, M32, rm1, fpu::f64_to_u32),
        op!("fcvt.l.d", di, M64, rm1, fpu::f64_to_i64),
        op!("fcvt.lu.d", di, M64, rm1, fpu::f64_to_u64),
        op!("fcvt.s.w", int, M32, rm1, fpu::i32_to_f32),
        op!("fcvt.s.wu", int, M32, rm1, fpu::u32_to_f32),
        op!("fcvt.s.l", int, M32, rm1, fpu::i64_to_f32),
        op!("fcvt.s.lu", int, M32, rm1, fpu::u64_to_f32),
        // Exact: every mode must give the same result.
        op!("fcvt.d.w", int, M64, rm1, fpu::i32_to_f64),
        op!("fcvt.d.wu", int, M64, rm1, fpu::u32_to_f64),
        op!("fcvt.d.l", int, M64, rm1, fpu::i64_to_f64),
        op!("fcvt.d.lu", int, M64, rm1, fpu::u64_to_f64),
    ]
}

/// Field widths of a format: (fraction bits, exponent bits).
fn widths(double: bool) -> (u32, u32) {
    if double {
        (52, 11)
    } else {
        (23, 8)
    }
}

fn assemble(double: bool, sign: bool, exp: u64, frac: u64) -> u64 {
    let (fb, eb) = widths(double);
    ((sign as u64) << (fb + eb)) | (exp << fb) | (frac & ((1 << fb) - 1))
}

/// A float biased towards edge values: zeros, subnormals, the extremes of the
/// normal range, infinities, both NaNs, values near 1 and powers of two,
/// sparse significands (which produce exact ties), and plain random bits.
fn edge_float(r: &mut Rng, double: bool) -> u64 {
    let (fb, eb) = widths(double);
    let emax = (1u64 << eb) - 1;
    let bias = emax >> 1;
    if r.below(10) == 0 {
        return r.next() & ((1u64 << (fb + eb)) << 1).wrapping_sub(1);
    }
    let exp = match r.below(12) {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => emax - 1,
        4 => emax,
        5 => emax - 2,
        6..=8 => bias + r.below(9) - 4,
        9 => r.below(fb as u64 + 3), // deep subnormal products and quotients
        _ => r.below(emax + 1),
    };
    let all = (1u64 << fb) - 1;
    let frac = match r.below(10) {
        0 => 0,
        1 => 1,
        2 => all,
        3 => 1 << (fb - 1),
        4 => (1 << (fb - 1)) | 1,
        5 => all - r.below(4),
        6 => r.next() & !((1u64 << r.below(fb as u64)) - 1), // sparse low bits
        7 => r.next() & ((1u64 << r.below(fb as u64 + 1)) - 1), // sparse high bits
        _ => r.next(),
    };
    assemble(double, r.bool(), exp, frac)
}

/// Moves a float by a few units in the last place (or not at all).
fn nudge(r: &mut Rng, bits: u64) -> u64 {
    match r.below(4) {
        0 => bits,
        1 => bits.wrapping_add(r.below(3) + 1),
        2 => bits.wrapping_sub(r.below(3) + 1),
        _ => bits ^ 1,
    }
}

fn to_bits(double: bool, x: f64) -> u64 {
    if double {
        x.to_bits()
    } else {
        (x as f32).to_bits() as u64
    }
}

fn from_bits(double: bool, b: u64) -> f64 {
    if double {
        f64::from_bits(b)
    } else {
        f32::from_bits(b as u32) as f64
    }
}

fn mask_of(double: bool) -> u64 {
    if double {
        M64
    } else {
        M32
    }
}

/// Values every operation meets in all combinations (the first cases of
/// each chunk enumerate them; see `operands`).
fn specials(shape: Shape) -> Vec<u64> {
    match shape {
        Shape::Float(double) | Shape::ToInt(double) => {
            let (fb, eb) = widths(double);
            let exp_max = (1u64 << eb) - 1;
            let one = (exp_max >> 1) << fb;
            let ulp_at_one = 1;
            let mut v = vec![
                0,
                1,             // smallest subnormal
                (1 << fb) - 1, // largest subnormal
                1 << fb,       // smallest normal
                one,
                one + ulp_at_one,
                one - ulp_at_one,
                one + (1 << (fb - 1)), // 1.5
                one + (1 << fb),       // 2
                (exp_max << fb) - 1,   // largest finite
                exp_max << fb,         // infinity
            ];
            if let Shape::ToInt(_) = shape {
                // 2^31, 2^32, 2^63, 2^64 and 0.5.
                v.extend(
                    [31, 32, 63, 64, -1]
                        .map(|e: i64| ((exp_max >> 1) as i64 + e) as u64)
                        .map(|e| e << fb),
                );
            }
            let sign = 1 << (fb + eb);
            let mut all: Vec<u64> = v.iter().flat_map(|&x| [x, x | sign]).collect();
            all.push((exp_max << fb) | 1 << (fb - 1)); // quiet NaN
            all.push((exp_max << fb) | 1); // signalling NaN
            all
        }
        Shape::Int => {
            let v = [
                0,
                1,
                3,
                (1 << 24) + 1,
                (1 << 53) + 1,
                1 << 31,
                (1 << 31) - 1,
                M32,
                (1 << 63) - 1,
            ];
            v.iter()
                .flat_map(|&x: &u64| [x, x.wrapping_neg()])
                .chain([1 << 63])
                .collect()
        }
    }
}

/// Operands for case `j` of a chunk: first every combination of specials,
/// then random edge values.
fn operands(r: &mut Rng, op: &Op, j: usize) -> [u64; 3] {
    let sp = specials(op.shape);
    if j < sp.len().pow(op.arity as u32) {
        let n = sp.len();
        return [sp[j % n], sp[j / n % n], sp[j / n / n % n]];
    }
    match op.shape {
        Shape::Float(double) => {
            let a = edge_float(r, double);
            let mut b = edge_float(r, double);
            let mut c = edge_float(r, double);
            let m = mask_of(double);
            let sign = if double { 1 << 63 } else { 1 << 31 };
            // Relate b to a: cancellations, ties, equal values.
            match r.below(6) {
                0 => b = nudge(r, a ^ sign) & m,
                1 => b = nudge(r, a) & m,
                2 => {
                    // Same binade as a, random significand: ties and near-ties in add.
                    let fb = widths(double).0;
                    let shift = r.below(fb as u64 + 3) << fb;
                    b = (a & !((1u64 << fb) - 1)).wrapping_sub(shift)
                        | (r.next() & ((1 << fb) - 1));
                    b &= m;
                }
                _ => {}
            }
            // Relate c to a*b: near-total cancellation in fma.
            if r.below(3) == 0 {
                let p = from_bits(double, a) * from_bits(double, b);
                c = nudge(r, to_bits(double, -p)) & m;
            }
            [a, b, c]
        }
        Shape::ToInt(double) => {
            if r.bool() {
                return [edge_float(r, double), 0, 0];
            }
            // Near integers, halves, and the limits of every integer type.
            let k: f64 = match r.below(6) {
                0 => [2f64.powi(31), 2f64.powi(32), 2f64.powi(63), 2f64.powi(64)]
                    [r.below(4) as usize],
                1 => r.below(8) as f64,
                _ => (r.next() >> r.below(64)) as f64,
            };
            let frac = [0.0, 0.5, 0.25, 0.75, 1.0, -0.5, -1.0][r.below(7) as usize];
            let x = if r.bool() { -(k + frac) } else { k + frac };
            [nudge(r, to_bits(double, x)) & mask_of(double), 0, 0]
        }
        Shape::Int => {
            let v = match r.below(4) {
                // A leading bit and a few bits around where rounding to 24 or
                // 53 bits happens: ties and near-ties.
                0 => {
                    let top = r.below(64);
                    let low = r.below(top.max(1));
                    (1u64 << top) | (r.next() & ((1u64 << low) - 1)) | ((r.below(4)) << low)
                }
                1 => (r.next() >> r.below(64)).wrapping_neg(),
                2 => [
                    0,
                    1,
                    u64::MAX,
                    i64::MIN as u64,
                    i64::MAX as u64,
                    1 << 31,
                    (1 << 31) - 1,
                    M32,
                ][r.below(8) as usize],
                _ => r.next() >> r.below(64),
            };
            [v, 0, 0]
        }
    }
}

fn tool(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn build_oracle() -> Result<PathBuf, String> {
    let gcc = tool("riscv64-linux-gnu-gcc").ok_or("riscv64-linux-gnu-gcc not found")?;
    tool("qemu-riscv64").ok_or("qemu-riscv64 not found")?;
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fpu_oracle.c");
    let exe = Path::new(env!("CARGO_TARGET_TMPDIR")).join("fpu_oracle");
    let out = Command::new(gcc)
        .args(["-O2", "-static", "-march=rv64gc", "-o"])
        .arg(&exe)
        .arg(&src)
        .output()
        .map_err(|e| format!("running riscv64-linux-gnu-gcc: {e}"))?;
    if !out.status.success() {
        return Err(format!(
            "riscv64-linux-gnu-gcc failed: {}",
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(exe)
}

/// The deterministic stream of (op index, mode, cases) chunks.
fn chunks(ops: &[Op], per_op: usize) -> Vec<(usize, Rounding, usize)> {
    let mut v = Vec::new();
    for (i, op) in ops.iter().enumerate() {
        if op.uses_rm {
            for m in MODES {
                v.push((i, m, per_op / MODES.len()));
            }
        } else {
            v.push((i, Rounding::NearestEven, per_op));
        }
    }
    v
}

fn env_num(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

#[test]
fn fpu_matches_qemu_riscv64() {
    let exe = match build_oracle() {
        Ok(exe) => exe,
        Err(why) => {
            println!("skipping the qemu oracle test: {why}");
            return;
        }
    };
    let per_op = env_num("FPU_ORACLE_CASES", 300_000) as usize;
    let seed = env_num("FPU_ORACLE_SEED", 0x5eed_f00d);
    let ops = ops();
    let plan = chunks(&ops, per_op);

    let mut child = Command::new("qemu-riscv64")
        .arg(&exe)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("starting qemu-riscv64");
    let stdin = child.stdin.take().unwrap();
    let stdout = child.stdout.take().unwrap();

    // The writer generates the operands; the reader regenerates them from the
    // same seed, so nothing needs to be kept in memory.
    let writer_plan = plan.clone();
    let writer = std::thread::spawn(move || {
        let ops = self::ops();
        let mut w = BufWriter::with_capacity(1 << 20, stdin);
        let mut r = Rng::new(seed);
        for &(i, mode, n) in &writer_plan {
            let op = &ops[i];
            for x in [i as u32, mode as u32, n as u32] {
                w.write_all(&x.to_le_bytes()).unwrap();
            }
            for j in 0..n {
                let v = operands(&mut r, op, j);
                for x in &v[..op.arity] {
                    w.write_all(&x.to_le_bytes()).unwrap();
                }
            }
        }
    });

    let mut rd = BufReader::with_capacity(1 << 20, stdout);
    let mut r = Rng::new(seed);
    let mut mismatches = vec![0usize; ops.len()];
    // How often each flag (NX, UF, OF, DZ, NV) was raised, per operation: shows
    // that the generator reaches every corner.
    let mut seen = vec![[0usize; 5]; ops.len()];
    let mut shown = 0;
    let mut total = 0usize;
    for &(i, mode, n) in &plan {
        let op = &ops[i];
        for j in 0..n {
            let v = operands(&mut r, op, j);
            let mut buf = [0u8; 9];
            rd.read_exact(&mut buf)
                .expect("reading the oracle's results");
            let want = u64::from_le_bytes(buf[..8].try_into().unwrap()) & op.mask;
            let want_fl = buf[8] as u32;
            for (bit, count) in seen[i].iter_mut().enumerate() {
                *count += (want_fl >> bit & 1) as usize;
            }
            let mut fl = 0;
            let got = (op.run)(&v, mode, &mut fl) & op.mask;
            total += 1;
            if got != want || fl != want_fl {
                mismatches[i] += 1;
                if shown < 40 {
                    shown += 1;
                    println!(
                        "{} {:?} {:x?}: qemu {:#x} fl {:#04x}, ours {:#x} fl {:#04x}",
                        op.name,
                        mode,
                        &v[..op.arity],
                        want,
                        want_fl,
                        got,
                        fl
                    );
                }
            }
        }
    }
    writer.join().unwrap();
    assert!(child.wait().unwrap().success(), "the oracle failed");
    let bad: Vec<_> = ops
        .iter()
        .zip(&mismatches)
        .filter(|(_, &m)| m > 0)
        .map(|(op, m)| format!("{}: {m}", op.name))
        .collect();
    println!("compared {total} cases over {} operations", ops.len());
    println!(
        "{:<10} {:>8} {:>8} {:>8} {:>8} {:>8}",
        "flags:", "NX", "UF", "OF", "DZ", "NV"
    );
    for (op, s) in ops.iter().zip(&seen) {
        println!(
            "{:<10} {:>8} {:>8} {:>8} {:>8} {:>8}",
            op.name, s[0], s[1], s[2], s[3], s[4]
        );
    }
    assert!(
        bad.is_empty(),
        "mismatches against qemu: {}",
        bad.join(", ")
    );
}
