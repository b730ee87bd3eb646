/*
 * bench: a CPU-bound benchmark of our own, for the hart.
 *
 *   bench [SCALE]
 *
 * Four kernels (sorting, hashing, matrix multiply, string search) over
 * data from a seeded generator, so every run prints the same lines: one
 * checksum per kernel and a total. SCALE (default 1) multiplies the work;
 * SCALE 1 takes about two seconds under qemu-riscv64. The checksums make the
 * work observable, so the compiler cannot drop it, and let a run under
 * cleave be compared with one under qemu. (The matrix checksum of a native
 * x86-64 build differs: riscv64 gcc fuses a*b+c into fmadd.d, which rounds
 * once.)
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* splitmix64: small, fast, and identical everywhere. */
static uint64_t next_random(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static void *xmalloc(size_t size)
{
	void *p = malloc(size);
	if (!p) {
		fprintf(stderr, "bench: out of memory\n");
		exit(1);
	}
	return p;
}

static void quicksort(int32_t *a, long n)
{
	while (n > 16) {
		int32_t pivot = a[n / 2];
		long i = 0, j = n - 1;
		for (;;) {
			while (a[i] < pivot)
				i++;
			while (a[j] > pivot)
				j--;
			if (i >= j)
				break;
			int32_t t = a[i];
			a[i++] = a[j];
			a[j--] = t;
		}
		/* Recurse into the smaller half, loop on the larger: bounded stack. */
		if (j + 1 < n - j - 1) {
			quicksort(a, j + 1);
			a += j + 1;
			n -= j + 1;
		} else {
			quicksort(a + j + 1, n - j - 1);
			n = j + 1;
		}
	}
	for (long i = 1; i < n; i++) {
		int32_t v = a[i];
		long k = i;
		for (; k > 0 && a[k - 1] > v; k--)
			a[k] = a[k - 1];
		a[k] = v;
	}
}

static void merge_sort(int32_t *a, int32_t *tmp, long n)
{
	/* Bottom-up, so the data moves between the two buffers each pass. */
	int32_t *src = a, *dst = tmp;
	for (long width = 1; width < n; width *= 2) {
		for (long lo = 0; lo < n; lo += 2 * width) {
			long mid = lo + width < n ? lo + width : n;
			long hi = lo + 2 * width < n ? lo + 2 * width : n;
			long i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = src[i] <= src[j] ? src[i++] : src[j++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		int32_t *t = src;
		src = dst;
		dst = t;
	}
	if (src != a)
		memcpy(a, src, n * sizeof *a);
}

static uint64_t checksum_ints(const int32_t *a, long n)
{
	uint64_t sum = 0;
	for (long i = 0; i < n; i++)
		sum = sum * 31 + (uint32_t)a[i];
	return sum;
}

static uint64_t bench_sort(int scale)
{
	long n = 1000000L * scale;
	int32_t *a = xmalloc(n * sizeof *a);
	int32_t *b = xmalloc(n * sizeof *b);
	int32_t *tmp = xmalloc(n * sizeof *tmp);
	for (long i = 0; i < n; i++)
		a[i] = b[i] = (int32_t)next_random();
	quicksort(a, n);
	merge_sort(b, tmp, n);
	uint64_t sum = checksum_ints(a, n);
	if (memcmp(a, b, n * sizeof *a) != 0)
		sum = 0; /* the two sorts disagree: a wrong answer, visibly */
	free(a);
	free(b);
	free(tmp);
	return sum;
}

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 0xcbf29ce484222325ull;
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

static uint64_t rotl(uint64_t x, int r)
{
	return (x << r) | (x >> (64 - r));
}

/* A 64-bit-lane hash in the style of xxhash: four accumulators, word loads. */
static uint64_t lane_hash(const uint8_t *p, size_t n)
{
	const uint64_t p1 = 0x9e3779b185ebca87ull, p2 = 0xc2b2ae3d27d4eb4full;
	uint64_t acc[4] = { p1, p2, 0, (uint64_t)-(int64_t)p1 };
	size_t i = 0;
	for (; i + 32 <= n; i += 32)
		for (int k = 0; k < 4; k++) {
			uint64_t w;
			memcpy(&w, p + i + 8 * k, 8);
			acc[k] = rotl(acc[k] + w * p2, 31) * p1;
		}
	uint64_t h = rotl(acc[0], 1) + rotl(acc[1], 7) + rotl(acc[2], 12) + rotl(acc[3], 18);
	for (; i < n; i++)
		h = rotl(h ^ p[i] * p1, 11) * p2;
	return h ^ (h >> 33);
}

static uint64_t bench_hash(int scale)
{
	size_t n = 1 << 20;
	uint8_t *buf = xmalloc(n);
	for (size_t i = 0; i < n; i += 8) {
		uint64_t r = next_random();
		memcpy(buf + i, &r, 8);
	}
	uint64_t h = 0;
	for (int round = 0; round < 24 * scale; round++) {
		/* Perturb the buffer so every round hashes different bytes. */
		buf[round % n] ^= (uint8_t)h;
		h ^= fnv1a(buf, n);
		h = rotl(h, 5) ^ lane_hash(buf + (round & 7), n - 8);
	}
	free(buf);
	return h;
}

static uint64_t bench_matrix(int scale)
{
	const int n = 200;
	double *a = xmalloc(n * n * sizeof *a);
	double *b = xmalloc(n * n * sizeof *b);
	double *c = xmalloc(n * n * sizeof *c);
	for (int i = 0; i < n * n; i++) {
		a[i] = (double)(next_random() >> 11) / (double)(1ull << 53) - 0.5;
		b[i] = (double)(next_random() >> 11) / (double)(1ull << 53) - 0.5;
	}
	double trace = 0;
	for (int round = 0; round < 2 * scale; round++) {
		memset(c, 0, n * n * sizeof *c);
		for (int i = 0; i < n; i++)
			for (int k = 0; k < n; k++) {
				double aik = a[i * n + k];
				for (int j = 0; j < n; j++)
					c[i * n + j] += aik * b[k * n + j];
			}
		for (int i = 0; i < n; i++)
			trace += c[i * n + i] + c[i * n + (n - 1 - i)];
		/* Feed the result back so rounds depend on each other. */
		double *t = a;
		a = c;
		c = t;
	}
	uint64_t bits;
	memcpy(&bits, &trace, sizeof bits);
	free(a);
	free(b);
	free(c);
	return bits;
}

static long search_naive(const char *text, long n, const char *pat, long m)
{
	long count = 0;
	for (long i = 0; i + m <= n; i++) {
		long j = 0;
		while (j < m && text[i + j] == pat[j])
			j++;
		count += j == m;
	}
	return count;
}

static long search_kmp(const char *text, long n, const char *pat, long m, long *fail)
{
	fail[0] = 0;
	for (long i = 1, k = 0; i < m; i++) {
		while (k > 0 && pat[i] != pat[k])
			k = fail[k - 1];
		if (pat[i] == pat[k])
			k++;
		fail[i] = k;
	}
	long count = 0;
	for (long i = 0, k = 0; i < n; i++) {
		while (k > 0 && text[i] != pat[k])
			k = fail[k - 1];
		if (text[i] == pat[k])
			k++;
		if (k == m) {
			count++;
			k = fail[k - 1];
		}
	}
	return count;
}

/* Boyer-Moore-Horspool: the bad-character shift alone. */
static long search_horspool(const char *text, long n, const char *pat, long m)
{
	long shift[256];
	for (int c = 0; c < 256; c++)
		shift[c] = m;
	for (long i = 0; i < m - 1; i++)
		shift[(uint8_t)pat[i]] = m - 1 - i;
	long count = 0;
	for (long i = 0; i + m <= n; i += shift[(uint8_t)text[i + m - 1]])
		count += memcmp(text + i, pat, m) == 0;
	return count;
}

static uint64_t bench_search(int scale)
{
	long n = 1L << 20;
	char *text = xmalloc(n);
	/* A small alphabet makes partial matches common, which is the hard case. */
	for (long i = 0; i < n; i++)
		text[i] = "abcd"[next_random() & 3];
	const char *patterns[] = { "abcab", "dadadb", "abcdabcdab", "ccccccd", "badcabdacbad" };
	long fail[16];
	uint64_t sum = 0;
	for (int round = 0; round < 2 * scale; round++)
		for (size_t p = 0; p < sizeof patterns / sizeof *patterns; p++) {
			const char *pat = patterns[p];
			long m = strlen(pat);
			long a = search_naive(text, n, pat, m);
			long b = search_kmp(text, n, pat, m, fail);
			long c = search_horspool(text, n, pat, m);
			/* All three must agree; a disagreement poisons the sum. */
			sum = sum * 1000003 + (a == b && b == c ? (uint64_t)a : 0);
		}
	free(text);
	return sum;
}

int main(int argc, char **argv)
{
	int scale = argc > 1 ? atoi(argv[1]) : 1;
	if (scale < 1 || scale > 100) {
		fprintf(stderr, "usage: bench [SCALE]   (SCALE from 1 to 100)\n");
		return 2;
	}
	struct {
		const char *name;
		uint64_t (*run)(int);
	} kernels[] = {
		{ "sort", bench_sort },
		{ "hash", bench_hash },
		{ "matrix", bench_matrix },
		{ "search", bench_search },
	};
	uint64_t total = 0;
	for (size_t i = 0; i < sizeof kernels / sizeof *kernels; i++) {
		uint64_t sum = kernels[i].run(scale);
		printf("%-8s %016llx\n", kernels[i].name, (unsigned long long)sum);
		total = rotl(total, 13) ^ sum;
	}
	printf("%-8s %016llx\n", "total", (unsigned long long)total);
	return 0;
}
