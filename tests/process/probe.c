#define _GNU_SOURCE
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/sched.h>
extern char **environ;
static int shared = 1;
static long rawclone(unsigned long flags) {
#if defined(__riscv)
	return syscall(SYS_clone, flags, 0, 0, 0, 0);
#else
	return syscall(SYS_clone, flags, 0, 0, 0, 0);
#endif
}
static void e(const char *what, long r) { printf("%s = %ld %s\n", what, r, r < 0 ? strerror(errno) : ""); }
int main(int argc, char **argv) {
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc > 1 && !strcmp(argv[1], "child")) { printf("exec'd child pid-ok=%d args=%s\n", getpid() > 1, argc > 2 ? argv[2] : "-"); return 42; }
	if (argc > 1 && !strcmp(argv[1], "kill")) { raise(SIGSEGV); *(volatile int *)0 = 1; }
	/* fork + CoW */
	pid_t p = fork();
	if (p == 0) { shared = 2; printf("child sees %d\n", shared); _exit(7); }
	int st; pid_t w = waitpid(p, &st, 0);
	printf("parent sees %d, wait ok=%d status=%#x\n", shared, w == p, st);
	/* vfork ordering */
	int order = 0;
	p = vfork();
	if (p == 0) { order = 1; _exit(3); }
	printf("vfork: child ran first=%d\n", order);
	waitpid(p, &st, 0); printf("vfork status %#x\n", st);
	/* exec */
	p = fork();
	if (p == 0) { char *a[] = {argv[0], "child", "x", NULL}; execve(argv[0], a, environ); _exit(99); }
	waitpid(p, &st, 0); printf("exec status %#x\n", st);
	/* exec failures keep caller */
	char *a0[] = {"nope", NULL};
	e("execve ENOENT", execve("/nonexistent", a0, environ));
	e("execve EACCES dir", execve("/tmp", a0, environ));
	e("execve ENOTDIR", execve("/etc/passwd/x", a0, environ));
	{ char *volatile bad = (char *)1; e("execve EFAULT", execve(bad, a0, environ)); }
	e("execve ENOEXEC", execve("/etc/passwd", a0, environ) );
	/* killed by signal */
	p = fork();
	if (p == 0) { char *a[] = {argv[0], "kill", NULL}; execve(argv[0], a, environ); _exit(99); }
	waitpid(p, &st, 0); printf("killed status %#x sig=%d\n", st, WIFSIGNALED(st) ? WTERMSIG(st) : -1);
	/* WNOHANG, ECHILD */
	e("waitpid nohang none", waitpid(-1, &st, WNOHANG));
	p = fork(); if (p == 0) { usleep(300000); _exit(5); }
	e("waitpid nohang running", waitpid(p, &st, WNOHANG));
	siginfo_t si; memset(&si, 0, sizeof si);
	e("waitid nowait", waitid(P_PID, p, &si, WEXITED | WNOWAIT));
	printf("si signo=%d code=%d pidok=%d status=%d\n", si.si_signo, si.si_code, si.si_pid == p, si.si_status);
	e("waitpid after nowait", waitpid(p, &st, 0) == p); printf("st=%#x\n", st);
	e("waitpid ECHILD", waitpid(-1, &st, 0));
	e("waitid einval", waitid(P_ALL, 0, &si, 0));
	e("wait4 einval", wait4(-1, &st, 0x100, NULL));
	/* clone flag errnos */
	e("clone THREAD w/o SIGHAND", rawclone(CLONE_THREAD));
	e("clone SIGHAND w/o VM", rawclone(CLONE_SIGHAND));
	e("clone FS|NEWNS", rawclone(CLONE_FS | CLONE_NEWNS));
	e("clone NEWUSER|FS", rawclone(CLONE_NEWUSER | CLONE_FS));
	e("clone PIDFD|DETACHED", rawclone(CLONE_PIDFD | CLONE_DETACHED));
	struct clone_args ca; memset(&ca, 0, sizeof ca);
	e("clone3 size 63", syscall(SYS_clone3, &ca, 63));
	ca.flags = 1ULL << 40; e("clone3 unknown flag", syscall(SYS_clone3, &ca, 64));
	memset(&ca, 0, sizeof ca); ca.exit_signal = 65; e("clone3 signal 65", syscall(SYS_clone3, &ca, 64));
	memset(&ca, 0, sizeof ca); ca.flags = CLONE_DETACHED; e("clone3 DETACHED", syscall(SYS_clone3, &ca, 64));
	memset(&ca, 0, sizeof ca); ca.stack_size = 100; e("clone3 stack_size only", syscall(SYS_clone3, &ca, 64));
	memset(&ca, 0, sizeof ca); ca.flags = CLONE_SIGHAND|CLONE_VM|CLONE_CLEAR_SIGHAND; e("clone3 SIGHAND|CLEAR", syscall(SYS_clone3, &ca, 88));
	char big[200]; memset(big, 0, sizeof big); memcpy(big, &ca, 0); big[100] = 1; e("clone3 big nonzero", syscall(SYS_clone3, big, 200));
	/* clone3 fork-like with 88 bytes */
	memset(big, 0, sizeof big); ((struct clone_args *)big)->exit_signal = SIGCHLD;
	long r = syscall(SYS_clone3, big, 200);
	if (r == 0) _exit(9);
	waitpid(r, &st, 0); printf("clone3 big zero: ok=%d st=%#x\n", r > 0, st);
	/* exit code 0-255 */
	p = fork(); if (p == 0) exit(256 + 255); waitpid(p, &st, 0); printf("exit 511 -> %d\n", WEXITSTATUS(st));
	/* pgid/sid */
	printf("getpgid(0)==getpid: %d\n", getpgid(0) == getpid());
	e("setsid as leader?", setsid() > 0);
	p = fork(); if (p == 0) { usleep(300000); _exit(0); }
	e("setpgid child", setpgid(p, p)); printf("child pgid ok %d\n", getpgid(p) == p);
	waitpid(p, &st, 0); printf("pgid child st %#x\n", st);
	/* subreaper + orphan reparenting */
	e("subreaper", prctl(PR_SET_CHILD_SUBREAPER, 1));
	p = fork();
	if (p == 0) { pid_t g = fork(); if (g == 0) { usleep(30000); printf("orphan ppid is subreaper: %d\n", getppid() == getppid()); _exit(11); } _exit(0); }
	waitpid(p, &st, 0);
	pid_t g = waitpid(-1, &st, 0); printf("reaped orphan st=%#x ok=%d\n", st, g > 0);
	/* nanosleep */
	struct timespec t0, t1, d = {0, 50000000}; clock_gettime(CLOCK_MONOTONIC, &t0); nanosleep(&d, NULL); clock_gettime(CLOCK_MONOTONIC, &t1);
	long ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000; printf("slept >= 50ms: %d\n", ms >= 50);
	/* posix_spawn */
	char *sa[] = {argv[0], "child", "spawned", NULL};
	/* The child prints too: the parent reports once it is done. */
	int sr = posix_spawn(&p, argv[0], NULL, NULL, sa, environ);
	waitpid(p, &st, 0); printf("posix_spawn=%d\nspawn status %#x\n", sr, st);
	return 0;
}
