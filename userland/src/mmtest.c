/*
 * Memory-management edge cases, one case per argument: `mmtest CASE`.
 *
 * Like proctest: tests/guest.rs runs this same source natively as the
 * reference, and cleave's output must match byte for byte. Lines state
 * facts (contents, errno names, relations), never addresses.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

#define PAGE 4096UL

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static const char *errname(int e)
{
	static const struct {
		int e;
		const char *name;
	} t[] = {
		{0, "0"},	  {EPERM, "EPERM"},   {ENOENT, "ENOENT"}, {EBADF, "EBADF"},
		{EAGAIN, "EAGAIN"}, {ENOMEM, "ENOMEM"}, {EACCES, "EACCES"}, {EFAULT, "EFAULT"},
		{EBUSY, "EBUSY"},   {EEXIST, "EEXIST"}, {EINVAL, "EINVAL"}, {ENODEV, "ENODEV"},
		{ENOSYS, "ENOSYS"}, {EOVERFLOW, "EOVERFLOW"},
	};
	static char other[32];
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (t[i].e == e)
			return t[i].name;
	snprintf(other, sizeof other, "errno %d", e);
	return other;
}

/* "ok" for success, else the errno name of a -1 / MAP_FAILED result. */
static const char *res(long r)
{
	return r == -1 ? errname(errno) : "ok";
}

static const char *mres(void *p)
{
	return p == MAP_FAILED ? errname(errno) : "ok";
}

static char *map(size_t len, int prot, int flags)
{
	char *p = mmap(NULL, len, prot, flags | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		say("mmap of %zu bytes failed: %s", len, errname(errno));
		_exit(1);
	}
	return p;
}

/* Whether [p, p+len) is unmapped: a no-replace mapping there succeeds. */
static int is_free(char *p, size_t len)
{
	void *q = mmap(p, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (q == MAP_FAILED)
		return 0;
	munmap(q, len);
	return q == p;
}

/*
 * A free range of n pages: reserved, then released, so that the case can
 * place mappings in it (MAP_FIXED_NOREPLACE) knowing what is around them.
 * Nothing else maps memory meanwhile: no malloc, one thread.
 */
static char *arena(size_t pages)
{
	char *p = map(pages * PAGE, PROT_NONE, MAP_PRIVATE);
	munmap(p, pages * PAGE);
	return p;
}

/* A read-write private anonymous mapping exactly at p. */
static char *place(char *p, size_t len)
{
	char *q = mmap(p, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	if (q != p) {
		say("placing %zu bytes failed: %s", len, q == MAP_FAILED ? errname(errno) : "elsewhere");
		_exit(1);
	}
	return q;
}

/* Every byte of a page-sized range equals c. */
static int all(const char *p, size_t len, int c)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != (char)c)
			return 0;
	return 1;
}

/* The first byte of each page, as characters: "AB.C" ('.' for zero). */
static const char *firsts(const char *p, int pages)
{
	static char bufs[4][64];
	static int next;
	char *buf = bufs[next++ % 4];
	for (int i = 0; i < pages && i < 63; i++)
		buf[i] = p[i * PAGE] ? p[i * PAGE] : '.';
	buf[pages < 63 ? pages : 63] = 0;
	return buf;
}

static void fill_pages(char *p, const char *letters)
{
	for (size_t i = 0; letters[i]; i++)
		memset(p + i * PAGE, letters[i], PAGE);
}

static int case_map_fixed(void)
{
	char *p = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill_pages(p, "ABCD");
	char *q = mmap(p + PAGE, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	say("MAP_FIXED over the middle: %s, at the address asked: %s", mres(q), yesno(q == p + PAGE));
	say("pages now: %s, middle pages all zero: %s", firsts(p, 4), yesno(all(p + PAGE, 2 * PAGE, 0)));
	q = mmap(p + 2 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	say("MAP_FIXED_NOREPLACE over a mapped page: %s", mres(q));
	q = mmap(p + 3 * PAGE, 2 * PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	say("MAP_FIXED_NOREPLACE overlapping the end: %s", mres(q));
	munmap(p, 4 * PAGE);
	q = mmap(p + PAGE, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	say("MAP_FIXED_NOREPLACE on a free page: %s, exact: %s", mres(q), yesno(q == p + PAGE));
	if (q != MAP_FAILED)
		munmap(q, PAGE);
	/* A hint that is free is honoured; an unaligned MAP_FIXED is not. */
	q = mmap(p, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("free hint honoured: %s", yesno(q == p));
	munmap(q, PAGE);
	q = mmap(p + 1, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	say("unaligned MAP_FIXED: %s", mres(q));
	return 0;
}

static int case_map_errors(void)
{
	void *q = mmap(NULL, 0, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("length 0: %s", mres(q));
	q = mmap(NULL, PAGE, PROT_READ, MAP_ANONYMOUS, -1, 0);
	say("neither shared nor private: %s", mres(q));
	q = mmap(NULL, PAGE, PROT_READ, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("both shared and private: %s", mres(q));
	q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 123);
	say("unaligned offset: %s", mres(q));
	q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, -1, 0);
	say("fd -1 without MAP_ANONYMOUS: %s", mres(q));
	q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 12345, 0);
	say("closed fd: %s", mres(q));
	q = mmap(NULL, (size_t)1 << 60, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("2^60 bytes: %s", mres(q));
	q = mmap(NULL, (size_t)-PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("length near 2^64: %s", mres(q));
	q = mmap(NULL, PAGE + 1, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("length PAGE+1: %s", mres(q));
	if (q != MAP_FAILED) {
		((char *)q)[2 * PAGE - 1] = 1;
		say("its second page is usable: yes");
		munmap(q, 2 * PAGE);
	}
	say("munmap length 0: %s", res(munmap((void *)(16 * PAGE), 0)));
	say("munmap unaligned: %s", res(munmap((void *)(16 * PAGE + 1), PAGE)));
	char *p = map(PAGE, PROT_READ, MAP_PRIVATE);
	munmap(p, PAGE);
	say("munmap of nothing: %s", res(munmap(p, PAGE)));
	say("mprotect unaligned: %s", res(mprotect(p + 1, PAGE, PROT_READ)));
	say("mprotect of nothing: %s", res(mprotect(p, PAGE, PROT_READ)));
	p = place(arena(2), PAGE);
	say("mprotect past the end: %s", res(mprotect(p, 2 * PAGE, PROT_READ)));
	say("mprotect bad bits: %s", res(mprotect(p, PAGE, 0x1000)));
	say("madvise unaligned: %s", res(madvise(p + 1, PAGE, MADV_DONTNEED)));
	say("madvise unknown advice: %s", res(madvise(p, PAGE, 12345)));
	munmap(p, PAGE);
	return 0;
}

static int case_munmap_split(void)
{
	char *p = map(5 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill_pages(p, "ABCDE");
	say("munmap of page 2: %s", res(munmap(p + 2 * PAGE, PAGE)));
	say("left and right survive: %s %s", firsts(p, 2), firsts(p + 3 * PAGE, 2));
	say("page 2 free: %s, page 1 free: %s", yesno(is_free(p + 2 * PAGE, PAGE)), yesno(is_free(p + PAGE, PAGE)));
	p[PAGE] = 'b';
	p[3 * PAGE] = 'd';
	say("both halves writable: %s %s", firsts(p, 2), firsts(p + 3 * PAGE, 2));
	say("munmap across the hole: %s", res(munmap(p + PAGE, 3 * PAGE)));
	say("pages 1-3 free: %s, 0 and 4 kept: %c %c", yesno(is_free(p + PAGE, 3 * PAGE)), p[0], p[4 * PAGE]);
	munmap(p, 5 * PAGE);
	say("all free: %s", yesno(is_free(p, 5 * PAGE)));
	return 0;
}

static int case_mprotect_split(void)
{
	char *p = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill_pages(p, "ABCD");
	say("mprotect page 1 read-only: %s", res(mprotect(p + PAGE, PAGE, PROT_READ)));
	p[0] = 'a';
	p[2 * PAGE] = 'c';
	p[3 * PAGE] = 'd';
	say("others written, page 1 read: %s", firsts(p, 4));
	say("mprotect pages 0-2 PROT_NONE: %s", res(mprotect(p, 3 * PAGE, PROT_NONE)));
	p[3 * PAGE + 1] = 'x';
	say("page 3 still writable: %c%c", p[3 * PAGE], p[3 * PAGE + 1]);
	say("back to read-write: %s", res(mprotect(p, 4 * PAGE, PROT_READ | PROT_WRITE)));
	say("contents kept: %s", firsts(p, 4));
	say("write-only is readable (like Linux's PROT_WRITE): %s", res(mprotect(p, PAGE, PROT_WRITE)));
	p[1] = 'w';
	say("wrote %c", p[1]);
	munmap(p, 4 * PAGE);
	return 0;
}

static int case_mremap(void)
{
	/* Everything happens inside a 32-page arena: pages 0.. and 16.. */
	char *a = arena(32);
	char *p = place(a, 2 * PAGE);
	fill_pages(p, "AB");
	/* Shrink in place: the tail becomes free. */
	char *q = mremap(p, 2 * PAGE, PAGE, 0);
	say("shrink: %s, same address: %s, tail free: %s, content %s", mres(q), yesno(q == p),
	    yesno(is_free(p + PAGE, PAGE)), firsts(p, 1));
	/* Grow with a blocker after it: ENOMEM without MAYMOVE, a move with it. */
	char *block = place(p + PAGE, PAGE);
	q = mremap(p, PAGE, 4 * PAGE, 0);
	say("grow against a neighbour without MREMAP_MAYMOVE: %s", mres(q));
	q = mremap(p, PAGE, 4 * PAGE, MREMAP_MAYMOVE);
	say("grow with MREMAP_MAYMOVE: %s, moved: %s, old range free: %s", mres(q), yesno(q != p),
	    yesno(is_free(p, PAGE)));
	say("moved content %s, new pages zero: %s", firsts(q, 1), yesno(q != MAP_FAILED && all(q + PAGE, 3 * PAGE, 0)));
	if (q == MAP_FAILED)
		return 1;
	/* Move it back into the arena, then grow in place where there is room. */
	munmap(block, PAGE);
	q[3 * PAGE] = 'Z';
	char *r = mremap(q, 4 * PAGE, 4 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, a);
	say("MREMAP_FIXED into a free range: %s, there: %s, content %s", mres(r), yesno(r == a), firsts(a, 4));
	r = mremap(a, 4 * PAGE, 8 * PAGE, 0);
	say("grow in place into free space: %s, same address: %s, content %s", mres(r), yesno(r == a),
	    firsts(a, 8));
	/* MREMAP_FIXED over another mapping replaces it. */
	char *dst = place(a + 16 * PAGE, 3 * PAGE);
	fill_pages(dst, "xyz");
	r = mremap(a, 8 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PAGE);
	say("MREMAP_FIXED over another mapping: %s, there: %s, content %s", mres(r), yesno(r == dst + PAGE),
	    firsts(dst, 3));
	say("old range free: %s", yesno(is_free(a, 16 * PAGE)));
	/* Now: dst = "xA." (3 pages), the rest of the arena free. */
	r = mremap(dst, PAGE, PAGE, MREMAP_FIXED, a);
	say("MREMAP_FIXED without MAYMOVE: %s", mres(r));
	r = mremap(dst, 2 * PAGE, 2 * PAGE, MREMAP_MAYMOVE | MREMAP_FIXED, dst + PAGE);
	say("MREMAP_FIXED onto an overlapping range: %s", mres(r));
	r = mremap(dst + 1, PAGE, PAGE, 0);
	say("unaligned old address: %s", mres(r));
	r = mremap(dst, PAGE, 0, MREMAP_MAYMOVE);
	say("new size 0: %s", mres(r));
	r = mremap(dst, 0, PAGE, MREMAP_MAYMOVE);
	say("old size 0 of a private mapping: %s", mres(r));
	r = mremap(dst, PAGE, PAGE, 0x80);
	say("unknown flag: %s", mres(r));
	r = mremap(a, PAGE, 2 * PAGE, MREMAP_MAYMOVE);
	say("unmapped old address: %s", mres(r));
	r = mremap(dst, 4 * PAGE, 5 * PAGE, 0);
	say("old size past the mapping's end: %s", mres(r));
	r = mremap(dst, PAGE, PAGE, 0);
	say("same size: %s, same address: %s", mres(r), yesno(r == dst));
	say("contents at the end: %s", firsts(dst, 3));
	munmap(dst, 3 * PAGE);
	return 0;
}

static long sys_brk(void *p)
{
	return syscall(SYS_brk, p);
}

static int case_brk(void)
{
	char *start = (char *)sys_brk(0);
	/* Work above a page boundary so whole pages come and go. */
	char *base = (char *)(((uintptr_t)start + PAGE - 1) & ~(PAGE - 1));
	char *want = base + 3 * PAGE + 123;
	char *got = (char *)sys_brk(want);
	say("grow: returned the new break: %s", yesno(got == want));
	say("brk(0) reports it: %s", yesno((char *)sys_brk(0) == want));
	say("new memory reads zero: %s", yesno(all(base, 3 * PAGE + 123, 0)));
	memset(base, 'q', 3 * PAGE + 123);
	got = (char *)sys_brk(base + PAGE);
	say("shrink: %s", yesno(got == base + PAGE));
	say("the released pages are free: %s", yesno(is_free(base + PAGE, 3 * PAGE)));
	got = (char *)sys_brk(base + 4 * PAGE);
	say("grow again: %s, kept page: %c, regrown pages zero: %s", yesno(got == base + 4 * PAGE), base[0],
	    yesno(all(base + PAGE, 3 * PAGE, 0)));
	got = (char *)sys_brk(start - (64 << 20));
	say("below the start: unchanged: %s", yesno(got == base + 4 * PAGE));
	/* A mapping right above the break stops it growing. */
	char *wall = mmap(base + 8 * PAGE, PAGE, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
	say("wall placed: %s", yesno(wall == base + 8 * PAGE));
	got = (char *)sys_brk(base + 16 * PAGE);
	say("grow into the wall: unchanged: %s", yesno(got == base + 4 * PAGE));
	munmap(wall, PAGE);
	got = (char *)sys_brk(start);
	say("back to the start: %s", yesno(got == start));
	return 0;
}

static int case_madvise(void)
{
	char *p = map(4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill_pages(p, "ABCD");
	say("MADV_DONTNEED pages 1-2 of private anon: %s", res(madvise(p + PAGE, 2 * PAGE, MADV_DONTNEED)));
	say("after: %s", firsts(p, 4));
	char *s = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	fill_pages(s, "ST");
	say("MADV_DONTNEED of shared anon: %s", res(madvise(s, 2 * PAGE, MADV_DONTNEED)));
	say("shared content kept: %s", firsts(s, 2));
	say("MADV_NORMAL %s, MADV_WILLNEED %s", res(madvise(p, PAGE, MADV_NORMAL)),
	    res(madvise(p, PAGE, MADV_WILLNEED)));
	munmap(p, 4 * PAGE);
	say("MADV_DONTNEED of unmapped: %s", res(madvise(p, PAGE, MADV_DONTNEED)));
	munmap(s, 2 * PAGE);
	return 0;
}

static int case_fork_shared(void)
{
	char *s = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED);
	char *p = map(2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	fill_pages(s, "SS");
	fill_pages(p, "PP");
	pid_t pid = fork();
	if (pid == 0) {
		s[0] = 's';
		p[0] = 'p';
		/* A page the parent never touched, written first by the child. */
		s[PAGE + 5] = 'c';
		_exit(0);
	}
	int st;
	if (pid == -1 || waitpid(pid, &st, 0) != pid) {
		say("fork or wait failed: %s", errname(errno));
		return 1;
	}
	say("child exited %d", WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	say("MAP_SHARED sees the child's writes: %c %c", s[0], s[PAGE + 5]);
	say("MAP_PRIVATE does not: %c", p[0]);
	/* MAP_SHARED survives munmap of a neighbour and mremap in the child. */
	pid = fork();
	if (pid == 0) {
		char *t = mremap(s, 2 * PAGE, 4 * PAGE, MREMAP_MAYMOVE);
		if (t != MAP_FAILED)
			t[1] = 'm';
		_exit(t == MAP_FAILED);
	}
	waitpid(pid, &st, 0);
	say("child mremap'd the shared mapping and wrote: %c (exit %d)", s[1], WIFEXITED(st) ? WEXITSTATUS(st) : -1);
	munmap(s, 2 * PAGE);
	munmap(p, 2 * PAGE);
	return 0;
}

static int case_zero_page(void)
{
	/* Reads of untouched anonymous memory are zero, then writes stick. */
	size_t len = 64 * PAGE;
	char *p = map(len, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	say("untouched reads zero: %s", yesno(all(p, len, 0)));
	for (size_t i = 0; i < len; i += PAGE)
		p[i + 7] = (char)(i / PAGE + 1);
	int good = 1;
	for (size_t i = 0; i < len; i += PAGE)
		good &= p[i + 7] == (char)(i / PAGE + 1) && p[i] == 0;
	say("writes after reads stick: %s", yesno(good));
	char *ro = map(PAGE, PROT_READ, MAP_PRIVATE);
	say("read-only anon reads zero: %s", yesno(all(ro, PAGE, 0)));
	munmap(ro, PAGE);
	munmap(p, len);
	/* MAP_POPULATE and MAP_NORESERVE are accepted. */
	p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE | MAP_NORESERVE, -1, 0);
	say("MAP_POPULATE|MAP_NORESERVE: %s, zero: %s", mres(p), yesno(p != MAP_FAILED && all(p, 4 * PAGE, 0)));
	return 0;
}

/* Forks a child that does one bad access; prints how it died. */
static void fault(const char *what, char *addr, int write)
{
	pid_t pid = fork();
	if (pid == 0) {
		struct rlimit rl = {0, 0};
		setrlimit(RLIMIT_CORE, &rl);
		if (write)
			*(volatile char *)addr = 1;
		else
			(void)*(volatile char *)addr;
		_exit(0);
	}
	int st;
	if (pid == -1 || waitpid(pid, &st, 0) != pid) {
		say("%s: fork or wait failed: %s", what, errname(errno));
		return;
	}
	if (WIFSIGNALED(st))
		say("%s: killed by %s", what,
		    WTERMSIG(st) == SIGSEGV  ? "SIGSEGV"
		    : WTERMSIG(st) == SIGBUS ? "SIGBUS"
					     : strsignal(WTERMSIG(st)));
	else
		say("%s: exited %d", what, WEXITSTATUS(st));
}

static int case_faults(void)
{
	char *p = map(3 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE);
	mprotect(p, PAGE, PROT_NONE);
	mprotect(p + PAGE, PAGE, PROT_READ);
	munmap(p + 2 * PAGE, PAGE);
	fault("read PROT_NONE", p, 0);
	fault("write PROT_NONE", p, 1);
	fault("read PROT_READ", p + PAGE, 0);
	fault("write PROT_READ", p + PAGE, 1);
	fault("read unmapped", p + 2 * PAGE, 0);
	fault("write NULL", NULL, 1);
	return 0;
}

/*
 * RLIMIT_AS: mmap, mremap growth and brk fail with ENOMEM once the mappings
 * would span more than the limit; a MAP_FIXED replacement needs no more.
 * Everything is relative to the headroom left when mmap first fails, since
 * the address space's starting size differs between Linux and cleave.
 */
static int case_rlimit_as(void)
{
	const unsigned long MB = 1UL << 20;
	struct rlimit rl;
	getrlimit(RLIMIT_AS, &rl);
	say("limit starts infinite: %s", yesno(rl.rlim_cur == RLIM_INFINITY));
	rl.rlim_cur = 256 * MB;
	say("setrlimit: %s", res(setrlimit(RLIMIT_AS, &rl)));
	enum { MAX = 256 };
	static char *chunk[MAX];
	int n = 0, err = 0;
	for (; n < MAX; n++) {
		void *p = mmap(NULL, MB, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			err = errno;
			break;
		}
		chunk[n] = p;
	}
	/* Headroom now below 1 MiB. */
	const char *big = mres(mmap(NULL, 2 * MB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0));
	void *fixed = mmap(chunk[1], MB, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	const char *fixed_res = fixed == chunk[1] ? "ok" : mres(fixed);
	munmap(chunk[0], MB);
	/* Headroom in [1 MiB, 2 MiB). */
	errno = 0;
	void *grown3 = mremap(chunk[2], MB, 3 * MB, MREMAP_MAYMOVE);
	const char *grow3 = mres(grown3);
	void *grown2 = mremap(chunk[2], MB, 2 * MB, MREMAP_MAYMOVE);
	const char *grow2 = mres(grown2);
	/* Headroom below 1 MiB again. */
	long brk0 = syscall(SYS_brk, 0);
	long brk1 = syscall(SYS_brk, brk0 + 2 * MB);
	int brk_failed = brk1 == brk0;
	munmap(chunk[3], MB);
	munmap(chunk[4], MB);
	munmap(chunk[5], MB);
	/* Headroom in [3 MiB, 4 MiB). */
	long brk2 = syscall(SYS_brk, brk0 + 2 * MB);
	int brk_grew = brk2 == brk0 + (long)(2 * MB);
	syscall(SYS_brk, brk0);
	say("mmap stopped with: %s", errname(err));
	say("chunks mapped before that: between 1 and 255: %s", yesno(n >= 1 && n < MAX));
	say("then 2 MiB more: %s", big);
	say("MAP_FIXED over a chunk at the limit: %s", fixed_res);
	say("one chunk unmapped; mremap to 3 MiB: %s", grow3);
	say("mremap to 2 MiB: %s", grow2);
	say("brk 2 MiB higher at the limit: %s", brk_failed ? "refused" : "grew");
	say("brk 2 MiB higher with room: %s", brk_grew ? "grew" : "refused");
	rl.rlim_cur = RLIM_INFINITY;
	say("limit raised again: %s", res(setrlimit(RLIMIT_AS, &rl)));
	say("then 2 MiB more: %s", mres(mmap(NULL, 2 * MB, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0)));
	return 0;
}

static const struct guest_case cases[] = {
	{"map_fixed", case_map_fixed},	     {"map_errors", case_map_errors}, {"munmap_split", case_munmap_split},
	{"mprotect_split", case_mprotect_split}, {"mremap", case_mremap},	      {"brk", case_brk},
	{"madvise", case_madvise},	     {"fork_shared", case_fork_shared}, {"zero_page", case_zero_page},
	{"faults", case_faults},		     {"rlimit_as", case_rlimit_as},
};

int main(int argc, char **argv)
{
	return run_case("mmtest", cases, sizeof cases / sizeof cases[0], argc, argv);
}
