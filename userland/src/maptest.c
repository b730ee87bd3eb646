/*
 * maptest CASE: file-backed memory (mmap of files, the page cache),
 * compared byte for byte with the same source run natively
 * (tests/guest.rs). Each case works on files in a scratch directory under
 * /tmp and prints deterministic facts only: contents, relations, errno
 * names, signals.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

#define PAGE 4096

static char self[4096];

static const char *errname(int e)
{
	switch (e) {
	case 0: return "ok";
	case EBADF: return "EBADF";
	case EINVAL: return "EINVAL";
	case EACCES: return "EACCES";
	case ENODEV: return "ENODEV";
	case ENOMEM: return "ENOMEM";
	case EPERM: return "EPERM";
	case EOVERFLOW: return "EOVERFLOW";
	case EOPNOTSUPP: return "EOPNOTSUPP";
	default: return "other";
	}
}

static const char *mres(void *p)
{
	return p == MAP_FAILED ? errname(errno) : "ok";
}

static const char *res(long r)
{
	return r < 0 ? errname(errno) : "ok";
}

/* A file "name" of `len` bytes: byte i is 'a' + i % 26. */
static int make_file(const char *name, size_t len)
{
	int fd = open(name, O_RDWR | O_CREAT | O_TRUNC, 0644);
	char buf[PAGE];
	for (size_t off = 0; off < len;) {
		size_t n = len - off < sizeof buf ? len - off : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = 'a' + (off + i) % 26;
		if (write(fd, buf, n) != (ssize_t)n) {
			perror("write");
			exit(1);
		}
		off += n;
	}
	return fd;
}

static char read_byte(int fd, off_t off)
{
	char c = '?';
	if (pread(fd, &c, 1, off) != 1)
		return '!';
	return c;
}

static int case_private_read(void)
{
	enter_scratch();
	int fd = make_file("f", 3 * PAGE + 100);
	char *p = mmap(NULL, 3 * PAGE + 100, PROT_READ, MAP_PRIVATE, fd, 0);
	say("map: %s", mres(p));
	say("bytes: %c%c%c %c %c", p[0], p[1], p[2], p[PAGE], p[3 * PAGE + 99]);
	/* The tail of the last page past the end of the file reads as zero. */
	say("tail zero: %s", yesno(p[3 * PAGE + 100] == 0 && p[4 * PAGE - 1] == 0));
	/* An offset into the file. */
	char *q = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 2 * PAGE);
	say("offset map: %s first %c", mres(q), q[0]);
	/* Closing the fd keeps the mapping. */
	close(fd);
	say("after close: %c", p[PAGE + 1]);
	munmap(p, 3 * PAGE + 100);
	munmap(q, PAGE);
	leave_scratch();
	return 0;
}

static int case_private_write(void)
{
	enter_scratch();
	int fd = make_file("f", 2 * PAGE);
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *other = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	p[0] = 'X';
	p[PAGE] = 'Y';
	say("mapping sees: %c %c", p[0], p[PAGE]);
	say("read sees: %c %c", read_byte(fd, 0), read_byte(fd, PAGE));
	say("other private mapping sees: %c %c", other[0], other[PAGE]);
	/* A write() shows in pages the private mapping has not written... */
	if (pwrite(fd, "QR", 2, 1) != 2)
		perror("pwrite");
	say("after pwrite, untouched page of other: %c%c", other[1], other[2]);
	/* ...and not in the ones it has copied. */
	say("after pwrite, written page of mine: %c%c", p[1], p[2]);
	munmap(p, 2 * PAGE);
	munmap(other, 2 * PAGE);
	close(fd);
	leave_scratch();
	return 0;
}

static int case_shared_write(void)
{
	enter_scratch();
	int fd = make_file("f", 2 * PAGE);
	char *p = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *q = mmap(NULL, 2 * PAGE, PROT_READ, MAP_SHARED, fd, 0);
	char *priv = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	say("map: %s %s %s", mres(p), mres(q), mres(priv));
	p[0] = 'S';
	p[PAGE + 5] = 'T';
	say("read sees: %c %c", read_byte(fd, 0), read_byte(fd, PAGE + 5));
	say("second shared mapping sees: %c %c", q[0], q[PAGE + 5]);
	say("private mapping sees: %c %c", priv[0], priv[PAGE + 5]);
	/* write() shows in the shared mappings. */
	if (pwrite(fd, "W", 1, 10) != 1)
		perror("pwrite");
	say("after pwrite: %c %c", p[10], q[10]);
	say("msync: %s", res(msync(p, 2 * PAGE, MS_SYNC)));
	munmap(p, 2 * PAGE);
	munmap(q, 2 * PAGE);
	munmap(priv, 2 * PAGE);
	say("after munmap read sees: %c %c %c", read_byte(fd, 0), read_byte(fd, PAGE + 5),
	    read_byte(fd, 10));
	close(fd);
	/* And a new open of the file. */
	fd = open("f", O_RDONLY);
	say("reopened: %c", read_byte(fd, 0));
	char *r = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	say("remapped: %c %c", r[0], r[10]);
	munmap(r, PAGE);
	close(fd);
	leave_scratch();
	return 0;
}

static int case_shared_fork(void)
{
	enter_scratch();
	int fd = make_file("f", PAGE);
	char *shared = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	char *priv = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	priv[1] = 'p';
	pid_t pid = fork();
	if (pid == 0) {
		shared[0] = 'C';
		priv[1] = 'c';
		priv[2] = 'd';
		_exit(priv[1] == 'c' ? 0 : 1);
	}
	int st;
	waitpid(pid, &st, 0);
	say("child exit: %d", WEXITSTATUS(st));
	say("parent shared sees child: %c", shared[0]);
	say("parent private keeps its own: %c %c", priv[1], priv[2]);
	say("file sees: %c %c", read_byte(fd, 0), read_byte(fd, 1));
	munmap(shared, PAGE);
	munmap(priv, PAGE);
	close(fd);
	leave_scratch();
	return 0;
}

static sigjmp_buf jb;
static siginfo_t last;

static void fault(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	last = *si;
	siglongjmp(jb, sig);
}

/* Reads *p: "ok" or the signal and whether si_addr is p. */
static void probe(const char *what, volatile char *p)
{
	char got = 0;
	memset(&last, 0, sizeof last);
	if (sigsetjmp(jb, 1) == 0) {
		got = *p;
		say("%s: ok %d", what, got);
		return;
	}
	say("%s: %s code BUS_ADRERR %d addr %d", what, sigabbrev_np(last.si_signo),
	    last.si_code == BUS_ADRERR, last.si_addr == (void *)p);
}

static int case_sigbus(void)
{
	struct sigaction sa = {.sa_sigaction = fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
	sigaction(SIGBUS, &sa, NULL);
	sigaction(SIGSEGV, &sa, NULL);
	enter_scratch();
	int fd = make_file("f", PAGE + 10);
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	probe("last page, in the file", p + PAGE + 9);
	probe("last page, past the end", p + PAGE + 10);
	probe("page past the end", p + 2 * PAGE);
	probe("page far past the end", p + 3 * PAGE + 1);
	/* Growing the file makes the pages reachable. */
	if (ftruncate(fd, 3 * PAGE) != 0)
		perror("ftruncate");
	probe("after growing", p + 2 * PAGE);
	/* Shrinking takes them away again, touched or not. */
	p[1] = 'z';
	if (ftruncate(fd, 100) != 0)
		perror("ftruncate");
	probe("after shrinking, first page", p + 1);
	probe("after shrinking, past the end in the page", p + 200);
	probe("after shrinking, next page", p + PAGE);
	char *priv = mmap(NULL, 2 * PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	probe("private, past the end", priv + PAGE);
	munmap(p, 4 * PAGE);
	munmap(priv, 2 * PAGE);
	close(fd);
	/* A mapping of an empty file. */
	fd = open("g", O_RDWR | O_CREAT | O_TRUNC, 0644);
	p = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 0);
	say("empty file map: %s", mres(p));
	probe("empty file", p);
	munmap(p, PAGE);
	close(fd);
	leave_scratch();
	return 0;
}

static int case_errors(void)
{
	enter_scratch();
	int fd = make_file("f", PAGE);
	say("bad fd: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 0)));
	say("fd -1: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, -1, 0)));
	say("unaligned offset: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, fd, 1)));
	say("unaligned offset, bad fd: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, 99, 1)));
	say("zero length: %s", mres(mmap(NULL, 0, PROT_READ, MAP_PRIVATE, fd, 0)));
	say("no type: %s", mres(mmap(NULL, PAGE, PROT_READ, 0, fd, 0)));
	say("growsdown: %s",
	    mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE | MAP_GROWSDOWN, fd, 0)));
	int wr = open("f", O_WRONLY);
	say("O_WRONLY private: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, wr, 0)));
	say("O_WRONLY shared: %s",
	    mres(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, wr, 0)));
	int rd = open("f", O_RDONLY);
	say("O_RDONLY shared writable: %s",
	    mres(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rd, 0)));
	say("O_RDONLY private writable: %s",
	    mres(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, rd, 0)));
	char *ro = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, rd, 0);
	say("O_RDONLY shared read-only: %s", mres(ro));
	say("mprotect it writable: %s", res(mprotect(ro, PAGE, PROT_READ | PROT_WRITE)));
	char *rop = mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, rd, 0);
	say("mprotect private writable: %s", res(mprotect(rop, PAGE, PROT_READ | PROT_WRITE)));
	rop[0] = 'M';
	say("private write after mprotect: %c file %c", rop[0], read_byte(rd, 0));
	int dir = open(".", O_RDONLY | O_DIRECTORY);
	say("directory: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, dir, 0)));
	int pipes[2];
	if (pipe(pipes) != 0)
		perror("pipe");
	say("pipe read end: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, pipes[0], 0)));
	say("pipe write end: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, pipes[1], 0)));
	int path = open("f", O_PATH);
	say("O_PATH: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, path, 0)));
	say("shared validate, unknown flag: %s",
	    mres(mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE | 0x800000, fd, 0)));
	say("shared validate: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_SHARED_VALIDATE, fd, 0)));
	leave_scratch();
	return 0;
}

/* munmap, mprotect and mremap of parts of a file mapping. */
static int case_split(void)
{
	enter_scratch();
	int fd = make_file("f", 4 * PAGE);
	char *p = mmap(NULL, 4 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("munmap middle: %s", res(munmap(p + PAGE, PAGE)));
	say("left and right: %c %c", p[0], p[2 * PAGE]);
	say("mprotect right read-only: %s", res(mprotect(p + 2 * PAGE, 2 * PAGE, PROT_READ)));
	p[3] = '3';
	say("file: %c", read_byte(fd, 3));
	char *q = mremap(p + 2 * PAGE, 2 * PAGE, 3 * PAGE, MREMAP_MAYMOVE);
	say("mremap: %s", mres(q));
	say("moved bytes: %c %c", q[0], q[PAGE]);
	/* The grown page is past the end of the file. */
	struct sigaction sa = {.sa_sigaction = fault, .sa_flags = SA_SIGINFO | SA_NODEFER};
	sigaction(SIGBUS, &sa, NULL);
	probe("grown past the end", q + 2 * PAGE);
	if (pwrite(fd, "Z", 1, 2 * PAGE) != 1)
		perror("pwrite");
	say("moved mapping sees pwrite: %c", q[0]);
	munmap(p, PAGE);
	munmap(q, 3 * PAGE);
	close(fd);
	leave_scratch();
	return 0;
}

/* A read-only host file (this program) mapped like the loader maps it. */
static int case_host_file(void)
{
	int fd = open(self, O_RDONLY);
	struct stat st;
	fstat(fd, &st);
	char *p = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	say("map: %s", mres(p));
	say("ELF magic: %s", yesno(!memcmp(p, "\177ELF", 4)));
	char first[64];
	if (pread(fd, first, sizeof first, 0) != sizeof first)
		perror("pread");
	say("same as read: %s", yesno(!memcmp(p, first, sizeof first)));
	char last = p[st.st_size - 1];
	say("last byte same: %s", yesno(read_byte(fd, st.st_size - 1) == last));
	char *q = mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	q[0] = 'x';
	say("private copy written: %c, file still ELF: %s", q[0], yesno(read_byte(fd, 0) == 0x7f));
	say("shared read-only: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0)));
	say("shared writable: %s",
	    mres(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)));
	close(fd);
	return 0;
}

/* exec of a file in /tmp: mapped from the cache, data private. */
static int case_exec_tmp(void)
{
	enter_scratch();
	if (copy_program(self, "g") != 0)
		perror("copy");
	/* The file stays mapped by the loaded programs; it also has a mapping
	 * of its own here. */
	int fd = open("g", O_RDONLY);
	char *p = mmap(NULL, PAGE, PROT_READ, MAP_SHARED, fd, 0);
	for (int i = 0; i < 2; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			execl("./g", "g", "helper", (char *)NULL);
			_exit(127);
		}
		int st;
		waitpid(pid, &st, 0);
		say("run %d: exit %d", i, WEXITSTATUS(st));
	}
	say("mapping still ELF: %s", yesno(!memcmp(p, "\177ELF", 4)));
	munmap(p, PAGE);
	close(fd);
	leave_scratch();
	return 0;
}

/* /dev/zero maps anonymous memory; other devices cannot be mapped. */
static int case_dev_zero(void)
{
	int fd = open("/dev/zero", O_RDWR);
	char *priv = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	char *shared = mmap(NULL, 2 * PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("map: %s %s", mres(priv), mres(shared));
	say("zero: %d %d", priv[PAGE + 1], shared[PAGE + 1]);
	priv[0] = 'p';
	shared[0] = 's';
	pid_t pid = fork();
	if (pid == 0) {
		priv[0] = 'P';
		shared[0] = 'S';
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	say("after the child wrote: private %c shared %c", priv[0], shared[0]);
	char c = 'x';
	say("the device still reads zero: %s", yesno(pread(fd, &c, 1, 0) == 1 && c == 0));
	int rd = open("/dev/zero", O_RDONLY);
	say("O_RDONLY shared writable: %s",
	    mres(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_SHARED, rd, 0)));
	say("O_RDONLY private writable: %s",
	    mres(mmap(NULL, PAGE, PROT_READ | PROT_WRITE, MAP_PRIVATE, rd, 0)));
	int null = open("/dev/null", O_RDWR);
	say("/dev/null: %s", mres(mmap(NULL, PAGE, PROT_READ, MAP_PRIVATE, null, 0)));
	return 0;
}

static const struct guest_case cases[] = {
	{"private_read", case_private_read}, {"private_write", case_private_write},
	{"shared_write", case_shared_write}, {"shared_fork", case_shared_fork},
	{"sigbus", case_sigbus},	     {"errors", case_errors},
	{"split", case_split},		     {"host_file", case_host_file},
	{"exec_tmp", case_exec_tmp},	     {"dev_zero", case_dev_zero},
};

/* What exec_tmp runs: writes to its data and bss, and exits 42 if it
 * still sees the initial values it was linked with. */
static int data_word = 7;
static int bss_word;

int main(int argc, char **argv)
{
	if (!realpath(argv[0], self))
		strcpy(self, argv[0]);
	if (argc >= 2 && !strcmp(argv[1], "helper")) {
		int ok = data_word == 7 && bss_word == 0;
		data_word = 8;
		bss_word = 9;
		return ok ? 42 : 1;
	}
	return run_case("maptest", cases, sizeof cases / sizeof cases[0], argc, argv);
}
