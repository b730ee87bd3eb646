/*
 * /proc/PID/pagemap, smaps, io and limits, judged by Linux: what they say
 * of pages this program maps, of I/O it does and of limits it sets.
 * Frame numbers, addresses and sizes that depend on the system are never
 * printed, only relations between them (same frame, another frame).
 */
#define _GNU_SOURCE
#include "guest.h"
#include <stdint.h>
#include <sys/resource.h>
#include <sys/shm.h>
#include <sys/wait.h>

#define PM_PRESENT (1ULL << 63)
#define PM_FILE (1ULL << 61)
#define PM_EXCLUSIVE (1ULL << 56)
#define PFN(e) ((e) & ((1ULL << 55) - 1))

static uint64_t entry(const volatile void *addr)
{
	uint64_t e = 0;
	int fd = open("/proc/self/pagemap", O_RDONLY);
	if (pread(fd, &e, 8, (off_t)((uintptr_t)addr / 4096 * 8)) != 8)
		e = ~0ULL;
	close(fd);
	return e;
}

/* The bits that do not depend on the system (not soft-dirty, bit 55,
 * which x86 sets and riscv64 does not have). */
static const char *bits(uint64_t e)
{
	static char out[64];
	if (e == ~0ULL)
		return "unreadable";
	snprintf(out, sizeof out, "%s%s%s%s", e & PM_PRESENT ? "present" : "absent",
		 e & PM_FILE ? " file" : "", e & PM_EXCLUSIVE ? " exclusive" : "",
		 e & PM_PRESENT && !PFN(e) ? " (no frame number)" : "");
	return out;
}

static int pagemap(void)
{
	char *p = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("untouched: %s", bits(entry(p)));
	volatile char c = p[4096];
	(void)c;
	uint64_t zero = entry(p + 4096);
	say("read: %s", bits(zero));
	p[0] = 1;
	uint64_t mine = entry(p);
	say("written: %s, another frame than the read page's: %s", bits(mine),
	    yesno(PFN(mine) != PFN(zero)));
	int go[2], back[2];
	pipe(go);
	pipe(back);
	pid_t pid = fork();
	if (pid == 0) {
		uint64_t e = entry(p);
		say("child before writing: %s, the parent's frame: %s", bits(e),
		    yesno(PFN(e) == PFN(mine)));
		p[0] = 2;
		e = entry(p);
		say("child after writing: %s, the parent's frame: %s", bits(e),
		    yesno(PFN(e) == PFN(mine)));
		write(back[1], "x", 1);
		char b;
		read(go[0], &b, 1);
		_exit(0);
	}
	char b;
	read(back[0], &b, 1);
	uint64_t after = entry(p);
	say("parent while the child lives: %s, its frame before fork: %s", bits(after),
	    yesno(PFN(after) == PFN(mine)));
	write(go[1], "x", 1);
	waitpid(pid, NULL, 0);
	char *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	s[0] = 1;
	say("shared anonymous: %s", bits(entry(s)));
	int id = shmget(IPC_PRIVATE, 4096, 0600);
	char *seg = shmat(id, NULL, 0);
	char *seg2 = shmat(id, NULL, 0);
	shmctl(id, IPC_RMID, NULL);
	seg[0] = 1;
	volatile char r = seg2[0];
	(void)r;
	say("segment attached twice: %s, one frame: %s", bits(entry(seg)),
	    yesno(PFN(entry(seg)) == PFN(entry(seg2))));
	enter_scratch();
	int fd = open("f", O_RDWR | O_CREAT, 0600);
	write(fd, "file", 4);
	char *f = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
	volatile char fc = f[0];
	(void)fc;
	say("file page, read: %s", bits(entry(f)));
	leave_scratch();
	say("not mapped: %s", bits(entry((void *)4096)));
	fd = open("/proc/self/pagemap", O_RDONLY);
	uint64_t e;
	say("pread at 4: %s", pread(fd, &e, 8, 4) < 0 ? strerrorname_np(errno) : "ok");
	say("pread of 4: %s", pread(fd, &e, 4, 0) < 0 ? strerrorname_np(errno) : "ok");
	say("write: %s", write(fd, &e, 8) < 0 ? strerrorname_np(errno) : "ok");
	close(fd);
	return 0;
}

/* The smaps figures of the mapping at `addr` that name pages. */
static void smaps_of(const char *who, void *addr)
{
	char *text = malloc(1 << 20);
	int fd = open("/proc/self/smaps", O_RDONLY);
	size_t n = 0;
	ssize_t r;
	while ((r = read(fd, text + n, (1 << 20) - 1 - n)) > 0)
		n += r;
	close(fd);
	text[n] = 0;
	char start[32];
	snprintf(start, sizeof start, "\n%lx-", (unsigned long)addr);
	char *at = strstr(text, start);
	if (!at) {
		say("%s: no mapping", who);
		free(text);
		return;
	}
	char line[256] = "";
	const char *names[] = {"Size:",		 "Rss:",	  "Pss:",	    "Shared_Clean:",
			       "Shared_Dirty:",	 "Private_Clean:", "Private_Dirty:", "Anonymous:",
			       "Swap:",		 "Locked:"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char *f = strstr(at, names[i]);
		long kb = f ? atol(f + strlen(names[i])) : -1;
		snprintf(line + strlen(line), sizeof line - strlen(line), " %s%ld", names[i], kb);
	}
	say("%s:%s", who, line);
	free(text);
}

/* `pages` pages of `flags` memory between two inaccessible pages, so that
 * the mapping joins no neighbour. */
static char *fenced(int pages, int flags)
{
	char *r = mmap(NULL, (pages + 2) * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	return mmap(r + 4096, pages * 4096, PROT_READ | PROT_WRITE, flags | MAP_FIXED | MAP_ANONYMOUS,
		    -1, 0);
}

static int smaps(void)
{
	char *p = fenced(4, MAP_PRIVATE);
	p[0] = p[4096] = 1;
	smaps_of("anonymous, 2 of 4 written", p);
	char *s = fenced(3, MAP_SHARED);
	s[0] = 1;
	smaps_of("shared, 1 of 3 written", s);
	int go[2], back[2];
	pipe(go);
	pipe(back);
	pid_t pid = fork();
	if (pid == 0) {
		volatile char c = p[0] + s[0];
		(void)c;
		write(back[1], "x", 1);
		char b;
		read(go[0], &b, 1);
		_exit(0);
	}
	char b;
	read(back[0], &b, 1);
	smaps_of("anonymous, after fork", p);
	smaps_of("shared, after fork", s);
	write(go[1], "x", 1);
	waitpid(pid, NULL, 0);
	/* A tmpfs file (the scratch directory may not be tmpfs natively). */
	char name[64];
	snprintf(name, sizeof name, "/dev/shm/procmm-%d", getpid());
	int fd = open(name, O_RDWR | O_CREAT, 0600);
	unlink(name);
	char page[8192];
	memset(page, 'x', sizeof page);
	write(fd, page, sizeof page);
	char *f = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, fd, 0);
	volatile char c = f[0] + f[4096];
	(void)c;
	smaps_of("tmpfs file, read", f);
	return 0;
}

static int io(void)
{
	int go[2], back[2];
	pipe(go);
	pipe(back);
	pid_t pid = fork();
	if (pid == 0) {
		char buf[100];
		int z = open("/dev/zero", O_RDONLY), n = open("/dev/null", O_WRONLY);
		read(z, buf, 100);
		read(z, buf, 30);
		write(n, buf, 50);
		write(back[1], "x", 1);
		read(go[0], buf, 1);
		_exit(0);
	}
	char b;
	read(back[0], &b, 1);
	char path[64], text[512];
	snprintf(path, sizeof path, "/proc/%d/io", pid);
	int fd = open(path, O_RDONLY);
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	text[n > 0 ? n : 0] = 0;
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		say("%s", line);
	write(go[1], "x", 1);
	waitpid(pid, NULL, 0);
	return 0;
}

static int limits(void)
{
	struct rlimit r = {100, 200};
	setrlimit(RLIMIT_NOFILE, &r);
	r = (struct rlimit){0, 0};
	setrlimit(RLIMIT_CORE, &r);
	r = (struct rlimit){1 << 20, RLIM_INFINITY};
	setrlimit(RLIMIT_STACK, &r);
	r = (struct rlimit){1000, 2000};
	setrlimit(RLIMIT_MSGQUEUE, &r);
	char text[4096];
	int fd = open("/proc/self/limits", O_RDONLY);
	ssize_t n = read(fd, text, sizeof text - 1);
	close(fd);
	text[n > 0 ? n : 0] = 0;
	const char *rows[] = {"Limit ", "Max stack size", "Max core file size", "Max open files",
			      "Max msgqueue size"};
	for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
		for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
			if (!strncmp(line, rows[i], strlen(rows[i])))
				say("[%s]", line);
	return 0;
}

/* Not a case compared with Linux (it would change the host's setting):
 * tests/sysctl.rs runs it as root under cleave. Dumps a child's core
 * under three patterns and says which files appeared. */
static int core_pattern(void)
{
	if (geteuid() != 0) {
		say("not root");
		return 0;
	}
	enter_scratch();
	struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
	setrlimit(RLIMIT_CORE, &r);
	const char *patterns[] = {"dump.%e.%s.%%", "sub/%p-core", "|/bin/false"};
	mkdir("sub", 0755);
	for (size_t i = 0; i < sizeof patterns / sizeof patterns[0]; i++) {
		int fd = open("/proc/sys/kernel/core_pattern", O_WRONLY | O_TRUNC);
		if (fd < 0 || write(fd, patterns[i], strlen(patterns[i])) < 0) {
			say("cannot set core_pattern: %s", strerror(errno));
			return 1;
		}
		close(fd);
		pid_t pid = fork();
		if (pid == 0)
			abort();
		int st;
		waitpid(pid, &st, 0);
		char expect[64];
		snprintf(expect, sizeof expect, i == 1 ? "sub/%d-core" : "dump.procmm.6.%%", pid);
		say("%s: dumped %s, %s %s", patterns[i], yesno(WCOREDUMP(st)), expect,
		    access(expect, F_OK) == 0 ? "exists" : "absent");
		unlink(expect);
	}
	int fd = open("/proc/sys/kernel/core_pattern", O_RDONLY);
	char buf[64] = "";
	read(fd, buf, sizeof buf - 1);
	buf[strcspn(buf, "\n")] = 0;
	say("core_pattern now: %s", buf);
	leave_scratch();
	return 0;
}

static const struct guest_case cases[] = {
	{"pagemap", pagemap},
	{"smaps", smaps},
	{"io", io},
	{"limits", limits},
};

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "core_pattern"))
		return core_pattern();
	return run_case("procmm", cases, sizeof cases / sizeof cases[0], argc, argv);
}
