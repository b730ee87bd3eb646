/*
 * A fork bomb and its watchdog, for cleave only (tests/process.rs runs it
 * with a small --mem; it refuses to run on any other kernel).
 *
 * The bomb is a process group of processes that only fork and spin: each
 * fork's child dirties some memory and forks on, so that guest memory and
 * the kernel's thread limit run out; a failed fork is counted, with its
 * errno, and tried again. The watchdog, the bomb's parent, sleeps one
 * second meanwhile: that the sleep ends at all shows a sleeper still runs
 * beside the bomb. Then it kills the whole group with SIGKILL and waits
 * until none of it is left (init reaps the orphans).
 *
 * stdout has the facts the test checks; stderr the figures (how long the
 * sleep and the kill took, how many forks succeeded and failed).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* What each bomb process writes to after fork: 32 pages of its own. */
static char ballast[32 * 4096];

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

int main(void)
{
	struct utsname u;
	if (uname(&u) != 0 || !strstr(u.release, "cleave")) {
		fprintf(stderr, "forkbomb: runs only under cleave\n");
		return 2;
	}
	/* [0] forks that succeeded, [1] that failed, [2] the last errno. */
	volatile long *counts =
		mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (counts == MAP_FAILED)
		return 1;
	/* The watchdog touches what it needs before the bomb takes memory. */
	printf("watchdog: starting the bomb\n");
	fflush(stdout);
	pid_t bomb = fork();
	if (bomb == 0) {
		setpgid(0, 0);
		for (;;) {
			pid_t p = fork();
			if (p == 0) {
				memset(ballast, 1, sizeof ballast);
			} else if (p > 0) {
				__atomic_add_fetch(&counts[0], 1, __ATOMIC_RELAXED);
			} else {
				counts[2] = errno;
				__atomic_add_fetch(&counts[1], 1, __ATOMIC_RELAXED);
			}
		}
	}
	setpgid(bomb, bomb);
	double start = now();
	sleep_ms(1000);
	double slept = now() - start;
	printf("watchdog: the sleep ended\n");
	fflush(stdout);
	kill(-bomb, SIGKILL);
	int st;
	pid_t r = waitpid(bomb, &st, 0);
	printf("watchdog: the bomb's first process was killed by SIGKILL: %s\n",
	       r == bomb && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL ? "yes" : "no");
	/* The rest are init's now; they are gone when it has reaped them. */
	int tries = 0;
	while (kill(-bomb, 0) == 0 && tries++ < 6000)
		sleep_ms(10);
	int gone = kill(-bomb, 0) == -1 && errno == ESRCH;
	double killed = now() - start - slept;
	printf("watchdog: every bomb process is gone: %s\n", gone ? "yes" : "no");
	long failed = counts[1], err = counts[2];
	printf("bomb: forks succeeded, then failed with EAGAIN or ENOMEM: %s\n",
	       counts[0] > 0 && failed > 0 && (err == EAGAIN || err == ENOMEM) ? "yes" : "no");
	fprintf(stderr,
		"forkbomb: slept %.3f s for 1 s; killed the bomb in %.3f s; %ld forks, %ld failed "
		"(last %s)\n",
		slept, killed, counts[0], failed, strerrorname_np((int)err));
	return 0;
}
