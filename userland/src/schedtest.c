/* Scheduling, one case per run: `schedtest CASE`. A thread that loops on
 * system calls (waitpid WNOHANG, read on an empty O_NONBLOCK pipe, getpid,
 * sched_yield) must not keep the others from running, and a sleeper must
 * wake beside any number of busy processes. Each case waits for something
 * only another thread or process can do; on a kernel that never preempts a
 * thread looping on system calls it hangs. The same source runs natively
 * (the reference) and under cleave; it prints only deterministic facts,
 * never pids or timings. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "guest.h"

/* A wait status in words: "exited 3", "killed by SIGKILL". */
static const char *status_str(int st)
{
	static char buf[64];
	if (WIFEXITED(st))
		snprintf(buf, sizeof buf, "exited %d", WEXITSTATUS(st));
	else if (WIFSIGNALED(st))
		snprintf(buf, sizeof buf, "killed by SIG%s", sigabbrev_np(WTERMSIG(st)));
	else
		snprintf(buf, sizeof buf, "status %#x", st);
	return buf;
}

/* Some milliseconds of pure computation (no system call), the result
 * kept from the optimiser. */
static volatile unsigned long sink;
static void compute(unsigned long n)
{
	unsigned long x = 1;
	for (unsigned long i = 0; i < n; i++)
		x = x * 6364136223846793005UL + 1442695040888963407UL;
	sink = x;
}

/* ---- polling loops -------------------------------------------------------- */

static int case_wnohang_poll(void)
{
	pid_t pid = fork();
	if (pid == 0) {
		compute(2000000);
		_exit(7);
	}
	int st = 0;
	pid_t r;
	while ((r = waitpid(pid, &st, WNOHANG)) == 0)
		;
	say("waitpid WNOHANG loop: got the child: %s, %s", yesno(r == pid), status_str(st));
	return 0;
}

static int case_nonblock_read(void)
{
	int p[2];
	if (pipe2(p, O_NONBLOCK) != 0)
		return 1;
	pid_t pid = fork();
	if (pid == 0) {
		close(p[0]);
		compute(2000000);
		/* The write end is non-blocking too: 64 KiB in pieces. */
		char buf[4096];
		memset(buf, 'w', sizeof buf);
		for (int i = 0; i < 16;)
			if (write(p[1], buf, sizeof buf) == (ssize_t)sizeof buf)
				i++;
		_exit(0);
	}
	close(p[1]);
	long total = 0;
	char buf[1000];
	ssize_t n;
	while ((n = read(p[0], buf, sizeof buf)) != 0) {
		if (n > 0)
			total += n;
		else if (errno != EAGAIN)
			break;
	}
	int st;
	waitpid(pid, &st, 0);
	say("read loop on an O_NONBLOCK pipe: %ld bytes, then %s", total, n == 0 ? "EOF" : err(n));
	say("writer %s", status_str(st));
	return 0;
}

/* getpid() in a loop until another thread, then another process, has done
 * its part. */
static volatile int thread_done;
static void *helper_thread(void *arg)
{
	(void)arg;
	compute(2000000);
	thread_done = 1;
	return NULL;
}

static int case_getpid_loop(void)
{
	pthread_t t;
	pthread_create(&t, NULL, helper_thread, NULL);
	while (!thread_done)
		syscall(SYS_getpid);
	pthread_join(t, NULL);
	say("getpid loop in one thread: the other thread finished: yes");
	volatile long *page = shared_page();
	pid_t pid = fork();
	if (pid == 0) {
		compute(2000000);
		page[0] = 1;
		_exit(0);
	}
	while (!page[0])
		syscall(SYS_getpid);
	int st;
	waitpid(pid, &st, 0);
	say("getpid loop in a process: the other process finished: %s", status_str(st));
	return 0;
}

/* ---- sched_yield ---------------------------------------------------------- */

#define ROUNDS 2000

/* Two threads, then two processes, take turns: each waits for its turn
 * with sched_yield and hands the turn over. Without a real yield each
 * wait lasts a whole slice at least. */
static volatile long turn_word, turns_out_of_order;
static void take_turns(volatile long *turn, volatile long *bad, int me)
{
	for (int i = 0; i < ROUNDS; i++) {
		while (*turn % 2 != me)
			sched_yield();
		if (*turn != 2 * i + me)
			(*bad)++;
		(*turn)++;
	}
}

static void *yield_thread(void *arg)
{
	(void)arg;
	take_turns(&turn_word, &turns_out_of_order, 1);
	return NULL;
}

static int case_yield_pingpong(void)
{
	pthread_t t;
	pthread_create(&t, NULL, yield_thread, NULL);
	take_turns(&turn_word, &turns_out_of_order, 0);
	pthread_join(t, NULL);
	say("threads: %ld turns, all in order: %s", turn_word, yesno(turns_out_of_order == 0));
	volatile long *page = shared_page();
	pid_t pid = fork();
	if (pid == 0) {
		take_turns(&page[0], &page[1], 1);
		_exit(0);
	}
	take_turns(&page[0], &page[1], 0);
	int st;
	waitpid(pid, &st, 0);
	say("processes: %ld turns, all in order: %s; %s", page[0], yesno(page[1] == 0), status_str(st));
	say("sched_yield returns: %s", err(sched_yield()));
	return 0;
}

/* ---- a sleeper beside busy processes -------------------------------------- */

#define BUSY 8

/* BUSY processes that only compute and BUSY that only make system calls
 * run while the parent sleeps 100 ms, then it kills them. The sleep ends,
 * however long it takes (schedtest's stderr says how long). */
static int case_sleep_beside_busy(void)
{
	pid_t kids[2 * BUSY];
	for (int i = 0; i < 2 * BUSY; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			if (i < BUSY)
				for (;;)
					compute(1000000);
			for (;;)
				syscall(SYS_getppid);
		}
	}
	struct timespec a, b;
	clock_gettime(CLOCK_MONOTONIC, &a);
	sleep_ms(100);
	clock_gettime(CLOCK_MONOTONIC, &b);
	long us = (b.tv_sec - a.tv_sec) * 1000000 + (b.tv_nsec - a.tv_nsec) / 1000;
	fprintf(stderr, "schedtest: sleep 0.1 beside %d busy processes took %ld.%03ld ms\n",
		2 * BUSY, us / 1000, us % 1000);
	say("sleep 0.1 beside %d computing and %d getppid-looping processes: ended, not early: %s",
	    BUSY, BUSY, yesno(us >= 100000));
	int killed = 0;
	for (int i = 0; i < 2 * BUSY; i++) {
		int st;
		kill(kids[i], SIGKILL);
		if (waitpid(kids[i], &st, 0) == kids[i] && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			killed++;
	}
	say("then every one killed: %s", yesno(killed == 2 * BUSY));
	return 0;
}

static const struct guest_case cases[] = {
	{"wnohang_poll", case_wnohang_poll},
	{"nonblock_read", case_nonblock_read},
	{"getpid_loop", case_getpid_loop},
	{"yield_pingpong", case_yield_pingpong},
	{"sleep_beside_busy", case_sleep_beside_busy},
};

int main(int argc, char **argv)
{
	return run_case("schedtest", cases, sizeof cases / sizeof cases[0], argc, argv);
}
