/*
 * procbench: what process creation costs.
 *
 *   procbench fork  MIB N   fork + _exit + waitpid, N times, with MIB MiB touched
 *   procbench vfork MIB N   vfork + _exit + waitpid
 *   procbench spawn MIB N   posix_spawn of PROG (default: ./true beside us) + waitpid
 *   procbench thread 0  N   pthread_create + pthread_join
 *
 * Prints one line: the mode, the size, and microseconds per iteration. The
 * same source runs natively and under cleave; benches/process.rs compares.
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static double now_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void reap(pid_t pid)
{
	int status;
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
	    WEXITSTATUS(status) != 0) {
		fprintf(stderr, "procbench: child failed\n");
		exit(1);
	}
}

static void *thread_main(void *arg)
{
	return arg;
}

/* One iteration of each mode; vfork's is its own function so that nothing
 * the child could clobber is live across it. */
static void fork_once(const char *prog)
{
	(void)prog;
	pid_t pid = fork();
	if (pid == 0)
		_exit(0);
	reap(pid);
}

static void vfork_once(const char *prog)
{
	(void)prog;
	pid_t pid = vfork();
	if (pid == 0)
		_exit(0);
	reap(pid);
}

static void spawn_once(const char *prog)
{
	pid_t pid;
	char *args[] = {(char *)prog, NULL};
	if (posix_spawn(&pid, prog, NULL, NULL, args, environ) != 0) {
		perror("procbench: posix_spawn");
		exit(1);
	}
	reap(pid);
}

static void thread_once(const char *prog)
{
	(void)prog;
	pthread_t t;
	if (pthread_create(&t, NULL, thread_main, NULL) != 0 || pthread_join(t, NULL) != 0) {
		fprintf(stderr, "procbench: pthread failed\n");
		exit(1);
	}
}

/* The program posix_spawn runs: `true` in the directory procbench is in. */
static char *sibling_true(const char *self)
{
	const char *slash = strrchr(self, '/');
	size_t dir = slash ? (size_t)(slash - self + 1) : 0;
	char *path = malloc(dir + sizeof "true");
	memcpy(path, self, dir);
	strcpy(path + dir, "true");
	return path;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: procbench fork|vfork|spawn|thread MIB N [PROG]\n");
		return 2;
	}
	const char *mode = argv[1];
	size_t mib = strtoul(argv[2], NULL, 10);
	long n = strtol(argv[3], NULL, 10);
	char *prog = argc > 4 ? argv[4] : sibling_true(argv[0]);

	/* The parent's size: touched, so every page is really mapped. */
	size_t bytes = mib << 20;
	if (bytes) {
		char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		if (p == MAP_FAILED) {
			perror("procbench: mmap");
			return 1;
		}
		for (size_t i = 0; i < bytes; i += 4096)
			p[i] = 1;
	}

	void (*once)(const char *) = NULL;
	if (!strcmp(mode, "fork"))
		once = fork_once;
	else if (!strcmp(mode, "vfork"))
		once = vfork_once;
	else if (!strcmp(mode, "spawn"))
		once = spawn_once;
	else if (!strcmp(mode, "thread"))
		once = thread_once;
	else {
		fprintf(stderr, "procbench: unknown mode %s\n", mode);
		return 2;
	}
	double start = now_us();
	for (long i = 0; i < n; i++)
		once(prog);
	printf("%s %zu MiB: %.1f us\n", mode, mib, (now_us() - start) / n);
	return 0;
}
