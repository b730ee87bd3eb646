/* Oracle for crates/rv/tests/fpu.rs: runs F/D instructions under qemu-riscv64.
 *
 * stdin:  chunks of { u32 op, u32 rm, u32 count } followed by count cases of
 *         ARITY(op) little-endian u64 operands each.
 * stdout: per case, the u64 result (integer register or raw FP bits, f32 in
 *         the low 32 bits) followed by one byte of fflags.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>


static uint64_t run(uint32_t op, uint64_t a, uint64_t b, uint64_t c, uint64_t *flp) {
    uint64_t r = 0, fl = 0;
    /* Single-precision operands are NaN-boxed, as the hart would see them. */
    uint64_t box = 0xffffffff00000000ull;
    int s = op < 12 || op == 24 || (op >= 26 && op <= 29);
    if (s) { a |= box; b |= box; c |= box; }
#define BIN(n, insn, out)                                                             \
    case n:                                                                           \
        asm volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tcsrw fflags, zero\n\t" insn \
                     "\n\t" out "\n\tcsrr %1, fflags"                                 \
                     : "=&r"(r), "=&r"(fl) : "r"(a), "r"(b) : "ft0", "ft1", "ft2");   \
        break;
#define UN(n, insn, out)                                                                \
    case n:                                                                             \
        asm volatile("fmv.d.x ft0, %2\n\tcsrw fflags, zero\n\t" insn "\n\t" out         \
                     "\n\tcsrr %1, fflags"                                              \
                     : "=&r"(r), "=&r"(fl) : "r"(a) : "ft0", "ft2");                    \
        break;
#define ITOF(n, insn, out)                                                              \
    case n:                                                                             \
        asm volatile("csrw fflags, zero\n\t" insn "\n\t" out                           \
                     "\n\tcsrr %1, fflags"                                              \
                     : "=&r"(r), "=&r"(fl) : "r"(a) : "ft2");                           \
        break;
#define FTOI(n, insn)                                                                   \
    case n:                                                                             \
        asm volatile("fmv.d.x ft0, %2\n\tcsrw fflags, zero\n\t" insn " %0, ft0, dyn"     \
                     "\n\tcsrr %1, fflags"                                              \
                     : "=&r"(r), "=&r"(fl) : "r"(a) : "ft0");                           \
        break;
#define S "fmv.x.w %0, ft2"
#define D "fmv.x.d %0, ft2"
    switch (op) {
        BIN(0, "fadd.s ft2, ft0, ft1, dyn", S)
        BIN(1, "fsub.s ft2, ft0, ft1, dyn", S)
        BIN(2, "fmul.s ft2, ft0, ft1, dyn", S)
        BIN(3, "fdiv.s ft2, ft0, ft1, dyn", S)
        UN(4, "fsqrt.s ft2, ft0, dyn", S)
    case 5:
        asm volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tfmv.d.x ft3, %4\n\tcsrw fflags, zero\n\t"
                     "fmadd.s ft2, ft0, ft1, ft3, dyn\n\tfmv.x.w %0, ft2\n\tcsrr %1, fflags"
                     : "=&r"(r), "=&r"(fl) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3");
        break;
        BIN(6, "fmin.s ft2, ft0, ft1", S)
        BIN(7, "fmax.s ft2, ft0, ft1", S)
        BIN(8, "nop", "feq.s %0, ft0, ft1")
        BIN(9, "nop", "flt.s %0, ft0, ft1")
        BIN(10, "nop", "fle.s %0, ft0, ft1")
        UN(11, "nop", "fclass.s %0, ft0")
        BIN(12, "fadd.d ft2, ft0, ft1, dyn", D)
        BIN(13, "fsub.d ft2, ft0, ft1, dyn", D)
        BIN(14, "fmul.d ft2, ft0, ft1, dyn", D)
        BIN(15, "fdiv.d ft2, ft0, ft1, dyn", D)
        UN(16, "fsqrt.d ft2, ft0, dyn", D)
    case 17:
        asm volatile("fmv.d.x ft0, %2\n\tfmv.d.x ft1, %3\n\tfmv.d.x ft3, %4\n\tcsrw fflags, zero\n\t"
                     "fmadd.d ft2, ft0, ft1, ft3, dyn\n\tfmv.x.d %0, ft2\n\tcsrr %1, fflags"
                     : "=&r"(r), "=&r"(fl) : "r"(a), "r"(b), "r"(c) : "ft0", "ft1", "ft2", "ft3");
        break;
        BIN(18, "fmin.d ft2, ft0, ft1", D)
        BIN(19, "fmax.d ft2, ft0, ft1", D)
        BIN(20, "nop", "feq.d %0, ft0, ft1")
        BIN(21, "nop", "flt.d %0, ft0, ft1")
        BIN(22, "nop", "fle.d %0, ft0, ft1")
        UN(23, "nop", "fclass.d %0, ft0")
        UN(24, "fcvt.d.s ft2, ft0", D)
        UN(25, "fcvt.s.d ft2, ft0, dyn", S)
        FTOI(26, "fcvt.w.s")
        FTOI(27, "fcvt.wu.s")
        FTOI(28, "fcvt.l.s")
        FTOI(29, "fcvt.lu.s")
        FTOI(30, "fcvt.w.d")
        FTOI(31, "fcvt.wu.d")
        FTOI(32, "fcvt.l.d")
        FTOI(33, "fcvt.lu.d")
        ITOF(34, "fcvt.s.w ft2, %2, dyn", S)
        ITOF(35, "fcvt.s.wu ft2, %2, dyn", S)
        ITOF(36, "fcvt.s.l ft2, %2, dyn", S)
        ITOF(37, "fcvt.s.lu ft2, %2, dyn", S)
        ITOF(38, "fcvt.d.w ft2, %2", D)
        ITOF(39, "fcvt.d.wu ft2, %2", D)
        ITOF(40, "fcvt.d.l ft2, %2, dyn", D)
        ITOF(41, "fcvt.d.lu ft2, %2, dyn", D)
    }
    *flp = fl;
    return r;
}

static int arity(uint32_t op) {
    switch (op) {
    case 5: case 17: return 3;
    case 4: case 11: case 16: case 23: return 1;
    default: return op < 24 ? 2 : 1;
    }
}

int main(void) {
    static uint64_t in[3 * 4096];
    static unsigned char out[9 * 4096];
    uint32_t hdr[3];
    while (fread(hdr, sizeof hdr, 1, stdin) == 1) {
        uint32_t op = hdr[0], rm = hdr[1], count = hdr[2];
        int n = arity(op);
        asm volatile("csrw frm, %0" : : "r"((uint64_t)rm));
        while (count > 0) {
            uint32_t k = count < 4096 ? count : 4096;
            if (fread(in, 8 * n, k, stdin) != k) return 2;
            for (uint32_t i = 0; i < k; i++) {
                uint64_t *v = in + i * n, fl;
                uint64_t r = run(op, v[0], n > 1 ? v[1] : 0, n > 2 ? v[2] : 0, &fl);
                memcpy(out + 9 * i, &r, 8);
                out[9 * i + 8] = (unsigned char)fl;
            }
            if (fwrite(out, 9, k, stdout) != k) return 3;
            count -= k;
        }
    }
    return fflush(stdout) ? 3 : 0;
}
