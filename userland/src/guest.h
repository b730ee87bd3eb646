/*
 * What the guest test programs share: a line printer that survives fork,
 * and the multi-call driver (`PROG list`, `PROG CASE`).
 *
 * Each program runs natively and under cleave and their outputs are
 * compared (tests/guest.rs), so output is one write() per line: nothing
 * buffered can be printed twice by a forked child.
 */
#ifndef GUEST_H
#define GUEST_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static inline void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static inline void say(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if (n > (int)sizeof buf - 2)
		n = sizeof buf - 2;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(1, buf + off, n - off);
		if (w <= 0)
			return;
		off += w;
	}
}

/* Sleeps `ms` milliseconds, however many signals arrive meanwhile. */
static inline void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* A call's result: "ok", or its errno's name. */
static inline const char *err(long r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

/* A bit and its name, for bit_names. */
struct bit_name {
	unsigned long bit;
	const char *name;
};

/* The names of the bits of `mask` (from `names`, `n` of them), "-" for
 * none; the result lasts for eight more calls. */
static inline const char *bit_names(unsigned long mask, const struct bit_name *names, size_t n)
{
	static char buf[8][128];
	static int slot;
	char *b = buf[slot++ % 8];
	b[0] = 0;
	for (size_t i = 0; i < n; i++)
		if (mask & names[i].bit) {
			if (b[0])
				strcat(b, " ");
			strcat(b, names[i].name);
		}
	if (!b[0])
		strcpy(b, "-");
	return b;
}

/* Waits (at most about 10 s) until process `pid` sleeps: blocked in a
 * call, where a test wants it before acting. */
static inline void wait_sleeping(pid_t pid)
{
	char path[64], buf[256];
	snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 10000; i++) {
		FILE *f = fopen(path, "r");
		if (!f)
			return;
		size_t n = fread(buf, 1, sizeof buf - 1, f);
		fclose(f);
		buf[n] = 0;
		char *end = strrchr(buf, ')');
		if (end && end[1] == ' ' && end[2] == 'S')
			return;
		sleep_ms(1);
	}
}

/* One page shared by every process forked after it is made. */
static inline volatile long *shared_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		say("mmap MAP_SHARED failed: %s", strerror(errno));
		exit(1);
	}
	return p;
}

/* Removes the tree at `path`, depth first. */
static inline void rm_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char sub[512];
			if (snprintf(sub, sizeof sub, "%s/%s", path, e->d_name) < (int)sizeof sub)
				rm_tree(sub);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}

/*
 * The scratch directory a case works in: made under /tmp and entered by
 * enter_scratch, left and removed with what it holds by leave_scratch.
 * Its name is random, so no case prints it.
 */
static inline char *scratch_dir(void)
{
	static char dir[64];
	return dir;
}

static inline void enter_scratch(void)
{
	strcpy(scratch_dir(), "/tmp/guest-XXXXXX");
	if (!mkdtemp(scratch_dir()) || chdir(scratch_dir()) != 0) {
		perror("scratch");
		exit(1);
	}
}

static inline void leave_scratch(void)
{
	if (chdir("/") == 0)
		rm_tree(scratch_dir());
}

static inline const char *yesno(int b)
{
	return b ? "yes" : "no";
}

/* Copies file `from` to `to`, made executable (a program to run); 0 or -1. */
static inline int copy_program(const char *from, const char *to)
{
	int in = open(from, O_RDONLY), out = open(to, O_WRONLY | O_CREAT | O_TRUNC, 0755);
	char buf[4096];
	ssize_t n = in < 0 || out < 0 ? -1 : 0;
	while (n == 0 && (n = read(in, buf, sizeof buf)) > 0)
		n = write(out, buf, n) == n ? 0 : -1;
	close(in);
	close(out);
	return n < 0 ? -1 : 0;
}

struct guest_case {
	const char *name;
	int (*fn)(void);
};

/* What a case inherits from whoever started it (a CI runner may hold
 * descriptors open or ignore signals) is put back to what a login shell
 * gives: fds 0, 1 and 2 alone, every signal default and unblocked, umask
 * 022. Then the native and guest runs start alike. */
static inline void start_clean(void)
{
	syscall(SYS_close_range, 3, ~0U, 0);
	struct sigaction dfl = {.sa_handler = SIG_DFL};
	for (int sig = 1; sig < NSIG; sig++)
		sigaction(sig, &dfl, NULL); /* fails, harmlessly, for KILL and STOP */
	sigset_t none;
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	umask(022);
}

/* `PROG list` names the cases; `PROG CASE` runs one and returns its status. */
static inline int run_case(const char *prog, const struct guest_case *cases, size_t n, int argc,
			   char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "list")) {
		for (size_t i = 0; i < n; i++)
			say("%s", cases[i].name);
		return 0;
	}
	for (size_t i = 0; argc == 2 && i < n; i++)
		if (!strcmp(argv[1], cases[i].name)) {
			start_clean();
			return cases[i].fn();
		}
	fprintf(stderr, "usage: %s CASE (%s list names them)\n", prog, prog);
	return 2;
}

#endif
