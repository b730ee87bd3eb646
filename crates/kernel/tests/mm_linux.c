/* Runs the cases of mm_linux_cases.txt against the host's Linux, to check
 * that their expectations are Linux's. mm_linux.rs runs the same cases
 * against cleave's mm; this file is its native twin.
 *
 * Usage: mm_linux CASES    prints PASS or FAIL ... for each case line.
 *
 * The numbers used (flags, errno) are the same on x86-64 and riscv64 for
 * everything the cases use; only TOP (TASK_SIZE) differs, and is symbolic. */
#define _GNU_SOURCE
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define PAGE 4096ULL
#define WINDOW_PAGES 1024ULL
static const uint64_t TOP = 0x7ffffffff000ULL; /* x86-64 TASK_SIZE */
static uint64_t A;

static const struct { const char *name; uint64_t value; } syms[] = {
	{"PROT_NONE", 0}, {"PROT_READ", 1}, {"PROT_WRITE", 2}, {"PROT_EXEC", 4},
	{"PROT_SEM", 8}, {"PROT_GROWSDOWN", 0x01000000}, {"PROT_GROWSUP", 0x02000000},
	{"MAP_SHARED", 1}, {"MAP_PRIVATE", 2}, {"MAP_SHARED_VALIDATE", 3},
	{"MAP_FIXED", 0x10}, {"MAP_ANONYMOUS", 0x20}, {"MAP_GROWSDOWN", 0x100},
	{"MAP_NORESERVE", 0x4000}, {"MAP_POPULATE", 0x8000}, {"MAP_STACK", 0x20000},
	{"MAP_SYNC", 0x80000}, {"MAP_FIXED_NOREPLACE", 0x100000},
	{"MREMAP_MAYMOVE", 1}, {"MREMAP_FIXED", 2}, {"MREMAP_DONTUNMAP", 4},
	{"MS_ASYNC", 1}, {"MS_INVALIDATE", 2}, {"MS_SYNC", 4},
	{"MADV_NORMAL", 0}, {"MADV_WILLNEED", 3}, {"MADV_DONTNEED", 4}, {"MADV_FREE", 8},
	{"MADV_REMOVE", 9}, {"MADV_DONTFORK", 10}, {"MADV_DOFORK", 11},
	{"MADV_WIPEONFORK", 18}, {"MADV_KEEPONFORK", 19},
};

static const struct { const char *name; int value; } errnos[] = {
	{"EPERM", EPERM}, {"ENOMEM", ENOMEM}, {"EFAULT", EFAULT}, {"EEXIST", EEXIST},
	{"EINVAL", EINVAL}, {"EAGAIN", EAGAIN}, {"EOPNOTSUPP", EOPNOTSUPP},
	{"EACCES", EACCES}, {"ENODEV", ENODEV}, {"EBADF", EBADF},
};

static void die(const char *what, const char *s)
{
	fprintf(stderr, "mm_linux: %s: %s\n", what, s);
	exit(2);
}

/* One term: a symbol, or a number with an optional 'p' (pages) suffix. */
static uint64_t term(const char *s, size_t n)
{
	char buf[64];
	if (n == 0 || n >= sizeof buf)
		die("bad term", s);
	memcpy(buf, s, n);
	buf[n] = 0;
	if (!strcmp(buf, "A"))
		return A;
	if (!strcmp(buf, "TOP"))
		return TOP;
	for (size_t i = 0; i < sizeof syms / sizeof *syms; i++)
		if (!strcmp(buf, syms[i].name))
			return syms[i].value;
	char *end;
	uint64_t v = strtoull(buf, &end, 0);
	if (*end == 'p' && end[1] == 0)
		return v * PAGE;
	if (*end)
		die("bad term", buf);
	return v;
}

/* Terms joined by + - |, left to right; a leading - subtracts from 0. */
static uint64_t eval(const char *s)
{
	uint64_t acc = 0;
	char op = '+';
	while (*s) {
		size_t n = strcspn(s, "+-|");
		uint64_t v = n ? term(s, n) : 0;
		acc = op == '+' ? acc + v : op == '-' ? acc - v : acc | v;
		s += n;
		if (*s)
			op = *s++;
	}
	return acc;
}

static sigjmp_buf jump;
static volatile int signo;

static void on_signal(int sig)
{
	signo = sig;
	siglongjmp(jump, 1);
}

/* The outcome of one operation, as text: a value, an errno name, SEGV, BUS. */
static void run(char **argv, int argc, char *out, size_t outlen)
{
	uint64_t a[6] = {0};
	for (int i = 1; i < argc && i < 6; i++)
		a[i - 1] = eval(argv[i]);
	const char *op = argv[0];
	long r;
	if (!strcmp(op, "mmap"))
		r = (long)mmap((void *)a[0], a[1], a[2], a[3], -1, a[4]);
	else if (!strcmp(op, "munmap"))
		r = munmap((void *)a[0], a[1]);
	else if (!strcmp(op, "mprotect"))
		r = mprotect((void *)a[0], a[1], a[2]);
	else if (!strcmp(op, "madvise"))
		r = madvise((void *)a[0], a[1], a[2]);
	else if (!strcmp(op, "msync"))
		r = msync((void *)a[0], a[1], a[2]);
	else if (!strcmp(op, "mremap"))
		r = (long)mremap((void *)a[0], a[1], a[2], a[3], (void *)a[4]);
	else if (!strcmp(op, "load") || !strcmp(op, "store")) {
		signo = 0;
		if (sigsetjmp(jump, 1)) {
			snprintf(out, outlen, "%s", signo == SIGBUS ? "BUS" : "SEGV");
			return;
		}
		volatile uint8_t *p = (volatile uint8_t *)a[0];
		if (op[0] == 'l')
			snprintf(out, outlen, "0x%x", *p);
		else {
			*p = (uint8_t)a[1];
			snprintf(out, outlen, "ok");
		}
		return;
	} else
		die("unknown operation", op);
	if (r == -1) {
		for (size_t i = 0; i < sizeof errnos / sizeof *errnos; i++)
			if (errnos[i].value == errno) {
				snprintf(out, outlen, "%s", errnos[i].name);
				return;
			}
		snprintf(out, outlen, "errno%d", errno);
		return;
	}
	snprintf(out, outlen, "0x%lx", r);
}

static int matches(const char *expect, const char *got)
{
	if (!strcmp(expect, "ok"))
		return got[0] == '0' || !strcmp(got, "ok");
	if (expect[0] == 'E' || !strcmp(expect, "SEGV") || !strcmp(expect, "BUS"))
		return !strcmp(expect, got);
	return got[0] == '0' && strtoull(got, 0, 16) == eval(expect);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage", "mm_linux CASES");
	FILE *f = fopen(argv[1], "r");
	if (!f)
		die("cannot open", argv[1]);
	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGSEGV, &sa, 0);
	sigaction(SIGBUS, &sa, 0);
	char line[1024];
	while (fgets(line, sizeof line, f)) {
		line[strcspn(line, "#\n")] = 0;
		if (!line[strspn(line, " \t")])
			continue;
		/* A fresh, free window of address space for each case. */
		void *w = mmap(0, WINDOW_PAGES * PAGE, PROT_NONE,
			       MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (w == MAP_FAILED)
			die("mmap", "window");
		munmap(w, WINDOW_PAGES * PAGE);
		A = (uint64_t)w;
		char report[2048] = "";
		int ok = 1;
		char *save_op;
		for (char *step = strtok_r(line, ";", &save_op); step;
		     step = strtok_r(0, ";", &save_op)) {
			char *arrow = strstr(step, "=>");
			if (!arrow)
				die("missing =>", step);
			*arrow = 0;
			char expect[64];
			if (sscanf(arrow + 2, "%63s", expect) != 1)
				die("missing expectation", step);
			char *args[8];
			int n = 0;
			char *save_arg;
			for (char *t = strtok_r(step, " \t", &save_arg); t && n < 8;
			     t = strtok_r(0, " \t", &save_arg))
				args[n++] = t;
			char got[64];
			run(args, n, got, sizeof got);
			if (!matches(expect, got)) {
				ok = 0;
				size_t at = strlen(report);
				at += snprintf(report + at, sizeof report - at, " [");
				for (int i = 0; i < n; i++)
					at += snprintf(report + at, sizeof report - at, "%s ", args[i]);
				snprintf(report + at, sizeof report - at, "=> %s, got %s]",
					 expect, got);
			}
		}
		printf("%s%s\n", ok ? "PASS" : "FAIL", report);
		/* Leave nothing behind for the next case. */
		munmap((void *)A, WINDOW_PAGES * PAGE);
	}
	return 0;
}
