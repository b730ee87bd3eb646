/*
 * microbench: one small loop per instruction class, for the hart.
 *
 *   microbench KERNEL [SCALE]
 *   microbench list
 *
 * Each kernel is a loop a C compiler emits every day (integer arithmetic,
 * multiplication, division, atomics, compare-and-swap, float and double
 * arithmetic, square roots, conversions, memcpy, strlen, indirect calls,
 * a system call) and prints one checksum line, so the work cannot be
 * dropped and a run under cleave can be compared with one under
 * qemu-riscv64. SCALE (default 1) multiplies the iterations; at 1 each
 * kernel takes a few tenths of a second under qemu-riscv64.
 * benches/micro.rs runs every kernel under cleave, qemu-riscv64 and
 * natively, and prints the ratios.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Values the compiler cannot see through: read at run time. */
static volatile uint64_t seed = 0x9e3779b97f4a7c15ull;

static uint64_t integer(uint64_t n)
{
	uint64_t x = seed, acc = 0;
	for (uint64_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		acc += (x >> 3) + (acc << 1) + (i & 0xff);
	}
	return acc;
}

static uint64_t multiply(uint64_t n)
{
	uint64_t x = seed, acc = 1;
	for (uint64_t i = 0; i < n; i++) {
		acc = acc * (x | 1) + i;
		x = x * 6364136223846793005ull + 1442695040888963407ull;
	}
	return acc;
}

static uint64_t divide(uint64_t n)
{
	uint64_t x = seed, acc = 0;
	for (uint64_t i = 1; i <= n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		acc += x / (i | 1) + x % 1000 + (uint32_t)x / (uint32_t)(i | 7);
		acc += (int64_t)acc / -(int64_t)(i | 3);
	}
	return acc;
}

static _Atomic uint64_t counter;

static uint64_t atomics(uint64_t n)
{
	uint64_t acc = 0;
	for (uint64_t i = 0; i < n; i++)
		acc += atomic_fetch_add(&counter, i);
	return acc + atomic_load(&counter);
}

static uint64_t cas(uint64_t n)
{
	uint64_t acc = 0;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t old = atomic_load_explicit(&counter, memory_order_relaxed);
		/* gcc emits an lr/sc loop for a compare-and-swap. */
		while (!atomic_compare_exchange_weak(&counter, &old, old * 3 + i))
			;
		acc ^= old;
	}
	return acc;
}

static uint64_t single(uint64_t n)
{
	float a = (float)(seed & 0xff) / 256.0f, s = 0.0f;
	for (uint64_t i = 0; i < n; i++) {
		s = s * 0.999f + a * 1.5f;
		a = a / 1.0001f + 0.25f;
	}
	uint32_t bits;
	memcpy(&bits, &s, sizeof bits);
	return bits;
}

static uint64_t dbl(uint64_t n)
{
	double a = (double)(seed & 0xff) / 256.0, s = 0.0;
	for (uint64_t i = 0; i < n; i++) {
		s = s * 0.999 + a * 1.5;
		a = a / 1.0001 + 0.25;
	}
	uint64_t bits;
	memcpy(&bits, &s, sizeof bits);
	return bits;
}

/*
 * The square-root instruction itself: sqrt() would also set errno, which
 * static programs get only by linking libm.
 */
static double root(double v)
{
	double r;
#if defined(__riscv)
	__asm__("fsqrt.d %0, %1" : "=f"(r) : "f"(v));
#elif defined(__x86_64__)
	__asm__("sqrtsd %1, %0" : "=x"(r) : "x"(v));
#else
#error "no square-root instruction for this architecture"
#endif
	return r;
}

static uint64_t roots(uint64_t n)
{
	double s = 0.0, x = (double)(seed & 0xff);
	for (uint64_t i = 0; i < n; i++) {
		s += root(x + (double)i);
		x = s * 1e-9;
	}
	uint64_t bits;
	memcpy(&bits, &s, sizeof bits);
	return bits;
}

static uint64_t conversions(uint64_t n)
{
	uint64_t acc = seed & 0xffff;
	for (uint64_t i = 0; i < n; i++) {
		double d = (double)acc * 0.75 + (double)(int64_t)i;
		float f = (float)d;
		acc = (uint64_t)(int64_t)d + (uint64_t)(int32_t)f + (i & 7);
		acc &= 0xfffffff;
	}
	return acc;
}

static char buffer_a[1 << 20], buffer_b[1 << 20];

static uint64_t copy(uint64_t n)
{
	uint64_t acc = 0;
	memset(buffer_a, (int)(seed & 0x7f), sizeof buffer_a);
	for (uint64_t i = 0; i < n; i++) {
		buffer_a[i & 0xfffff] = (char)i;
		memcpy(buffer_b, buffer_a, sizeof buffer_b);
		acc += (unsigned char)buffer_b[(i * 7919) & 0xfffff];
	}
	return acc;
}

static uint64_t lengths(uint64_t n)
{
	uint64_t acc = 0;
	memset(buffer_a, 'x', 4096);
	for (uint64_t i = 0; i < n; i++) {
		buffer_a[1000 + (i & 2047)] = 0;
		acc += strlen(buffer_a + (i & 63));
		buffer_a[1000 + (i & 2047)] = 'x';
	}
	return acc;
}

static uint64_t add_one(uint64_t x) { return x + 1; }
static uint64_t twice(uint64_t x) { return x * 2; }
static uint64_t (*volatile functions[2])(uint64_t) = {add_one, twice};

static uint64_t calls(uint64_t n)
{
	uint64_t acc = seed & 0xff;
	for (uint64_t i = 0; i < n; i++)
		acc = functions[i & 1](acc) & 0xffffffffff;
	return acc;
}

static uint64_t syscalls(uint64_t n)
{
	uint64_t acc = 0;
	for (uint64_t i = 0; i < n; i++)
		acc += (uint64_t)getppid();
	return acc != 0;
}

static const struct {
	const char *name;
	uint64_t (*run)(uint64_t);
	uint64_t iterations;
} kernels[] = {
	{"integer", integer, 80000000},
	{"multiply", multiply, 200000000},
	{"divide", divide, 40000000},
	{"atomic", atomics, 150000000},
	{"cas", cas, 80000000},
	{"float", single, 6000000},
	{"double", dbl, 15000000},
	{"sqrt", roots, 5000000},
	{"convert", conversions, 6000000},
	{"memcpy", copy, 3000},
	{"strlen", lengths, 1000000},
	{"call", calls, 12000000},
	{"syscall", syscalls, 2000000},
};

int main(int argc, char **argv)
{
	size_t count = sizeof kernels / sizeof kernels[0];
	if (argc < 2) {
		fprintf(stderr, "usage: microbench KERNEL [SCALE] | list\n");
		return 2;
	}
	if (strcmp(argv[1], "list") == 0) {
		for (size_t k = 0; k < count; k++)
			printf("%s\n", kernels[k].name);
		return 0;
	}
	uint64_t scale = argc > 2 ? strtoull(argv[2], NULL, 10) : 1;
	for (size_t k = 0; k < count; k++) {
		if (strcmp(argv[1], kernels[k].name) == 0) {
			uint64_t sum = kernels[k].run(kernels[k].iterations * scale);
			printf("%s %016llx\n", kernels[k].name, (unsigned long long)sum);
			return 0;
		}
	}
	fprintf(stderr, "microbench: no kernel %s\n", argv[1]);
	return 2;
}
