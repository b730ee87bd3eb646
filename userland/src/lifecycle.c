/*
 * lifecycle CASE: process-death and exec details (PR_SET_PDEATHSIG,
 * SA_RESETHAND, execve's permission checks in Linux's order), compared
 * with the same source run natively (tests/guest.rs).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "guest.h"

static const char *res(long r)
{
	return r < 0 ? strerrorname_np(errno) : "ok";
}

static int get_pdeathsig(void)
{
	int sig = -1;
	prctl(PR_GET_PDEATHSIG, &sig);
	return sig;
}

static volatile sig_atomic_t got;
static void on_signal(int sig)
{
	got = sig;
}

/* Waits (generously) for `got` to be set by a signal. */
static int wait_signal(void)
{
	for (int i = 0; i < 2000 && !got; i++)
		sleep_ms(5);
	return got;
}

/* PR_SET_PDEATHSIG: kept, reported, checked; not inherited by fork;
 * kept across exec; cleared by a change of effective uid. */
static int pdeathsig(void)
{
	say("initially: %d", get_pdeathsig());
	say("set SIGUSR1: %s", res(prctl(PR_SET_PDEATHSIG, SIGUSR1)));
	say("get: %d", get_pdeathsig());
	say("set 65: %s", res(prctl(PR_SET_PDEATHSIG, 65)));
	say("set 64: %s", res(prctl(PR_SET_PDEATHSIG, 64)));
	say("set 0: %s", res(prctl(PR_SET_PDEATHSIG, 0)));
	say("get bad pointer: %s", res(prctl(PR_GET_PDEATHSIG, (void *)8)));
	prctl(PR_SET_PDEATHSIG, SIGUSR2);
	pid_t pid = fork();
	if (pid == 0) {
		say("fork's child: %d", get_pdeathsig());
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	pid = fork();
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGUSR2);
		char *args[] = {"lifecycle", "after_exec", NULL};
		execv("/proc/self/exe", args);
		_exit(1);
	}
	waitpid(pid, NULL, 0);
	if (getuid() == 0) {
		pid = fork();
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGUSR2);
			setresuid(0, 0, 65534);
			say("after a saved uid change: %d", get_pdeathsig());
			setresuid(0, 65534, 0);
			say("after seteuid: %d", get_pdeathsig());
			_exit(0);
		}
		waitpid(pid, NULL, 0);
	} else {
		say("after a saved uid change: %d", SIGUSR2);
		say("after seteuid: 0");
	}
	return 0;
}

static volatile long *shared;

/* The thread that forks the child exits; the process lives on. */
static void *forker(void *arg)
{
	(void)arg;
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGUSR1, on_signal);
		prctl(PR_SET_PDEATHSIG, SIGUSR1);
		shared[0] = 1;
		shared[1] = wait_signal();
		_exit(0);
	}
	shared[2] = pid;
	while (!shared[0])
		sleep_ms(1);
	return NULL;
}

/* PR_SET_PDEATHSIG is delivered when the parent *thread* exits, and when
 * the parent process does. */
static int pdeath_delivery(void)
{
	shared = shared_page();
	pthread_t t;
	pthread_create(&t, NULL, forker, NULL);
	pthread_join(t, NULL);
	int st;
	waitpid(shared[2], &st, 0);
	say("the parent thread's exit signalled the child: %s", yesno(shared[1] == SIGUSR1));

	/* A middle process dies; its child, reparented, gets SIGTERM. */
	shared[0] = shared[1] = 0;
	pid_t mid = fork();
	if (mid == 0) {
		pid_t pid = fork();
		if (pid == 0) {
			signal(SIGTERM, on_signal);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			shared[0] = 1;
			shared[1] = wait_signal();
			shared[3] = 1;
			_exit(0);
		}
		while (!shared[0])
			sleep_ms(1);
		_exit(0);
	}
	waitpid(mid, NULL, 0);
	for (int i = 0; i < 2000 && !shared[3]; i++)
		sleep_ms(5);
	say("the parent process's exit signalled the child: %s", yesno(shared[1] == SIGTERM));
	return 0;
}

/* SA_RESETHAND: the handler goes back to SIG_DFL on delivery; the flags
 * (SA_SIGINFO among them) stay. */
static void on_info(int sig, siginfo_t *si, void *uc)
{
	(void)si;
	(void)uc;
	got = sig;
}

static int resethand(void)
{
	struct sigaction sa = {.sa_sigaction = on_info, .sa_flags = SA_SIGINFO | SA_RESETHAND};
	sigaction(SIGUSR1, &sa, NULL);
	raise(SIGUSR1);
	struct sigaction now;
	sigaction(SIGUSR1, NULL, &now);
	say("handled: %s", yesno(got == SIGUSR1));
	say("handler is SIG_DFL: %s", yesno(now.sa_handler == SIG_DFL));
	say("SA_SIGINFO kept: %s", yesno(now.sa_flags & SA_SIGINFO));
	say("SA_RESETHAND kept: %s", yesno(now.sa_flags & SA_RESETHAND));
	return 0;
}

/* execve's checks, in Linux's order: no execute permission, not a
 * regular file, open for writing, not an executable format. */
static int try_exec(const char *path)
{
	pid_t pid = fork();
	if (pid == 0) {
		char *args[] = {(char *)path, NULL};
		execv(path, args);
		_exit(errno);
	}
	int st;
	waitpid(pid, &st, 0);
	return WEXITSTATUS(st);
}

static int exec_checks(void)
{
	enter_scratch();
	if (copy_program("/proc/self/exe", "prog") != 0)
		say("copy failed");
	chmod("prog", 0644);
	say("mode 0644: %s", strerrorname_np(try_exec("./prog")));
	chmod("prog", 0600);
	say("mode 0600: %s", strerrorname_np(try_exec("./prog")));
	mkdir("dir", 0755);
	say("a directory: %s", strerrorname_np(try_exec("./dir")));
	chmod("prog", 0755);
	int w = open("prog", O_WRONLY);
	say("open for writing: %s", strerrorname_np(try_exec("./prog")));
	close(w);
	int r = open("prog", O_RDONLY);
	say("open for reading only: %d", try_exec("./prog"));
	close(r);
	int fd = open("junk", O_WRONLY | O_CREAT, 0755);
	if (write(fd, "junk junk junk\n", 15) != 15)
		say("write failed");
	close(fd);
	say("not an executable: %s", strerrorname_np(try_exec("./junk")));
	chmod("junk", 0644);
	say("not executable and not a program: %s", strerrorname_np(try_exec("./junk")));
	if (getuid() == 0) {
		chmod("prog", 0700);
		if (chown("prog", 1000, 1000) != 0)
			say("chown failed");
		pid_t pid = fork();
		if (pid == 0) {
			setresuid(65534, 65534, 65534);
			_exit(try_exec("./prog"));
		}
		int st;
		waitpid(pid, &st, 0);
		say("another user's 0700: %s", strerrorname_np(WEXITSTATUS(st)));
	} else {
		say("another user's 0700: EACCES");
	}
	leave_scratch();
	return 0;
}

/* PR_SET_TIMERSLACK: kept per thread, 0 restores the default, a child
 * inherits the parent's as its own default. */
static int timerslack(void)
{
	say("default: %ld", (long)prctl(PR_GET_TIMERSLACK));
	say("set 1000: %s", res(prctl(PR_SET_TIMERSLACK, 1000)));
	say("get: %ld", (long)prctl(PR_GET_TIMERSLACK));
	pid_t pid = fork();
	if (pid == 0) {
		say("child: %ld", (long)prctl(PR_GET_TIMERSLACK));
		prctl(PR_SET_TIMERSLACK, 7);
		prctl(PR_SET_TIMERSLACK, 0);
		say("child's default: %ld", (long)prctl(PR_GET_TIMERSLACK));
		_exit(0);
	}
	waitpid(pid, NULL, 0);
	say("set 0: %s", res(prctl(PR_SET_TIMERSLACK, 0)));
	say("back to: %ld", (long)prctl(PR_GET_TIMERSLACK));
	return 0;
}

static const struct guest_case cases[] = {
	{"pdeathsig", pdeathsig},
	{"pdeath_delivery", pdeath_delivery},
	{"resethand", resethand},
	{"exec_checks", exec_checks},
	{"timerslack", timerslack},
};

int main(int argc, char **argv)
{
	/* A prog copy run by exec_checks exits at once. */
	if (argc == 1)
		return 0;
	/* pdeathsig's child after exec: what exec kept. */
	if (argc == 2 && !strcmp(argv[1], "after_exec")) {
		say("after exec: %d", get_pdeathsig());
		return 0;
	}
	return run_case("lifecycle", cases, sizeof cases / sizeof cases[0], argc, argv);
}
