/*
 * clone failing at each of its steps gives back everything it took, for
 * cleave only (tests/process.rs runs it with a small --mem; it refuses to
 * run on any other kernel, whose free memory is never this exact).
 *
 * cleave's MemFree in /proc/meminfo counts its free frames exactly, and
 * nothing but the guest takes them, so a clone that failed must leave it
 * where it was:
 * - RLIMIT_NPROC: EAGAIN before anything is taken;
 * - CLONE_PIDFD with no fd left: EMFILE after the child's address space
 *   was copied, which must go again, and no fd left behind;
 * - memory running out while the address space is copied: ENOMEM after
 *   any number of its page tables were made. A process fills memory to
 *   the last few frames and forks, then gives back one page at a time and
 *   forks again, until a fork succeeds. What a failed fork took must be
 *   free again at once: the forking process's next write to a page the
 *   fork had made copy-on-write needs no frame only if the half-made
 *   child's hold on it is gone.
 * stdout has the facts the test checks; stderr the figures.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

static char meminfo[4096];

/* Free pages, from /proc/meminfo's MemFree (kB). */
static long free_pages(void)
{
	int fd = open("/proc/meminfo", O_RDONLY);
	ssize_t n = read(fd, meminfo, sizeof meminfo - 1);
	close(fd);
	if (n <= 0)
		return -1;
	meminfo[n] = 0;
	char *p = strstr(meminfo, "MemFree:");
	return p ? strtol(p + 8, NULL, 10) / 4 : -1;
}

/* Runs fn in a child and returns its exit status, once every process it
 * made is reaped too (this process is their subreaper), so that nothing
 * but this process holds memory. */
static int in_child(int (*fn)(void))
{
	pid_t pid = fork();
	if (pid == 0)
		_exit(fn());
	int st = 0;
	waitpid(pid, &st, 0);
	while (wait(NULL) > 0)
		;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int nproc_fails(void)
{
	if (getuid() == 0 && setuid(65534) != 0)
		return 2;
	struct rlimit one = {1, 1};
	setrlimit(RLIMIT_NPROC, &one);
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	return pid == -1 && errno == EAGAIN ? 0 : 1;
}

static int pidfd_fails(void)
{
	/* fds 0, 1 and 2 are open: no fd is left under a limit of 3. */
	struct rlimit three = {3, 3};
	if (setrlimit(RLIMIT_NOFILE, &three) != 0)
		return 2;
	int pidfd = -1;
	long r = syscall(SYS_clone, CLONE_PIDFD | SIGCHLD, 0, &pidfd, 0, 0);
	if (r == 0)
		syscall(SYS_exit, 0);
	if (r != -1 || errno != EMFILE)
		return 1;
	/* No fd is left behind either. */
	return fcntl(3, F_GETFD) == -1 && errno == EBADF && pidfd == -1 ? 0 : 3;
}

/* [0] forks that failed with ENOMEM, [1] with another errno, [2] the free
 * pages the first failed at, [3] whether a fork succeeded at last. */
static volatile long *counts;

static int enomem_fails(void)
{
	long pages = free_pages();
	char *fill = mmap(NULL, pages * 4096, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (fill == MAP_FAILED)
		return 2;
	/* Down to a few frames: a new page may need a page table as well. */
	long used = 0;
	while (used < pages) {
		long left = free_pages();
		if (left <= 4)
			break;
		long step = left > 64 ? left - 64 : 1;
		for (long i = 0; i < step && used < pages; i++)
			fill[used++ * 4096] = 1;
	}
	for (;;) {
		long left = free_pages();
		long r = syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
		if (r == 0)
			syscall(SYS_exit, 0);
		if (r > 0) {
			counts[3] = 1;
			return 0;
		}
		if (errno != ENOMEM) {
			counts[1]++;
			return 1;
		}
		if (counts[0]++ == 0)
			counts[2] = left;
		/* One frame more for the next try. */
		if (used == 0)
			return 3;
		madvise(fill + --used * 4096, 4096, MADV_DONTNEED);
	}
}

int main(void)
{
	struct utsname u;
	if (uname(&u) != 0 || !strstr(u.release, "cleave")) {
		fprintf(stderr, "clonefail: runs only under cleave\n");
		return 2;
	}
	counts = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		return 1;
	counts[0] = 0;
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0)
		return 1;
	/* Everything this process will touch is touched first, and memory is
	 * filled once, so that the page cache gives back what nothing maps
	 * before the base is taken. */
	in_child(nproc_fails);
	in_child(enomem_fails);
	counts[0] = counts[1] = counts[2] = counts[3] = 0;
	long base = free_pages();

	int nproc = in_child(nproc_fails);
	long after_nproc = free_pages();
	int pidfd = in_child(pidfd_fails);
	long after_pidfd = free_pages();
	int enomem = in_child(enomem_fails);
	long after_enomem = free_pages();

	printf("nproc: fork failed with EAGAIN: %s\n", nproc == 0 ? "yes" : "no");
	printf("nproc: every frame is back: %s\n", after_nproc == base ? "yes" : "no");
	printf("pidfd: clone failed with EMFILE, no fd installed: %s\n",
	       pidfd == 0 ? "yes" : "no");
	printf("pidfd: every frame is back: %s\n", after_pidfd == base ? "yes" : "no");
	printf("enomem: forks failed with ENOMEM, then one succeeded: %s\n",
	       enomem == 0 && counts[0] > 1 && counts[1] == 0 && counts[3] ? "yes" : "no");
	printf("enomem: every frame is back: %s\n", after_enomem == base ? "yes" : "no");
	fprintf(stderr,
		"clonefail: base %ld free pages; after nproc %ld, pidfd %ld, enomem %ld; "
		"statuses %d %d %d; %ld forks failed with ENOMEM from %ld free pages\n",
		base, after_nproc, after_pidfd, after_enomem, nproc, pidfd, enomem, counts[0],
		counts[2]);
	return 0;
}
