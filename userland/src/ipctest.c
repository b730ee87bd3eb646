/*
 * System V IPC and POSIX shared memory, judged by Linux: shared memory
 * segments, semaphore sets, message queues, their errnos, permissions,
 * fork and exec, /proc/sysvipc and the limits in /proc/sys/kernel, and
 * glibc's shm_open and sem_open on /dev/shm.
 *
 * Natively the cases may run at the same time as each other and share
 * the host's IPC namespace: they use IPC_PRIVATE or keys made from their
 * pid, remove what they make, and print no id, key, pid or time.
 */
#define _GNU_SOURCE
#include "guest.h"
#include <grp.h>
#include <sched.h>
#include <semaphore.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/wait.h>

#define E(x) ((x) < 0 ? strerrorname_np(errno) : "ok")

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static key_t my_key(int n)
{
	return 0x51000000 | ((getpid() & 0xfffff) << 4) | n;
}

static int wait_status(pid_t pid)
{
	int st;
	if (waitpid(pid, &st, 0) != pid)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static unsigned long nattch(int id)
{
	struct shmid_ds ds;
	if (shmctl(id, IPC_STAT, &ds) < 0)
		return (unsigned long)-1;
	return ds.shm_nattch;
}

/* Drops to an unprivileged user (for permission checks). */
static void become_nobody(void)
{
	if (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0) {
		say("cannot drop privileges: %s", strerror(errno));
		_exit(3);
	}
}

static int shm_basic(void)
{
	int id = shmget(IPC_PRIVATE, 10000, IPC_CREAT | 0640);
	say("shmget: %s", E(id));
	struct shmid_ds ds;
	shmctl(id, IPC_STAT, &ds);
	say("segsz %zu nattch %lu mode %o cpid-is-me %s lpid %d atime %s", ds.shm_segsz,
	    ds.shm_nattch, ds.shm_perm.mode, yesno(ds.shm_cpid == getpid()), ds.shm_lpid,
	    yesno(ds.shm_atime != 0));
	say("uid-is-me %s cuid-is-me %s", yesno(ds.shm_perm.uid == geteuid()),
	    yesno(ds.shm_perm.cuid == geteuid()));
	char *p = shmat(id, NULL, 0);
	say("shmat: %s aligned %s", p == (void *)-1 ? strerrorname_np(errno) : "ok",
	    yesno(((unsigned long)p & 4095) == 0));
	say("zero-filled %s", yesno(p[0] == 0 && p[9999] == 0));
	strcpy(p, "parent");
	shmctl(id, IPC_STAT, &ds);
	say("after shmat: nattch %lu lpid-is-me %s atime %s", ds.shm_nattch,
	    yesno(ds.shm_lpid == getpid()), yesno(ds.shm_atime != 0));
	/* Past the size, within the page: still the segment's page. */
	p[10000] = 1;
	char *q = shmat(id, NULL, SHM_RDONLY);
	say("second attach: nattch %lu same bytes %s", nattch(id), yesno(!strcmp(q, "parent")));
	pid_t pid = fork();
	if (pid == 0) {
		/* Inherited: the same frames, not a copy. */
		say("child sees \"%s\" nattch %lu", p, nattch(id));
		strcpy(p, "child");
		_exit(0);
	}
	wait_status(pid);
	say("parent sees \"%s\" through both: %s, nattch %lu", p, yesno(!strcmp(q, "child")),
	    nattch(id));
	int r = shmdt(q);
	say("shmdt: %s nattch %lu", E(r), nattch(id));
	say("shmdt again: %s", E(shmdt(q)));
	r = shmdt(p);
	say("shmdt: %s nattch %lu", E(r), nattch(id));
	shmctl(id, IPC_STAT, &ds);
	say("dtime %s", yesno(ds.shm_dtime != 0));
	say("rmid: %s", E(shmctl(id, IPC_RMID, NULL)));
	say("stat after rmid: %s", E(shmctl(id, IPC_STAT, &ds)));
	return 0;
}

static int shm_errors(void)
{
	say("size 0: %s", E(shmget(IPC_PRIVATE, 0, 0600)));
	say("size huge: %s", E(shmget(IPC_PRIVATE, (size_t)-1, 0600)));
	key_t key = my_key(1);
	int id = shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600);
	say("create key: %s", E(id));
	say("create again excl: %s", E(shmget(key, 8192, IPC_CREAT | IPC_EXCL | 0600)));
	int again = shmget(key, 4096, 0);
	say("get smaller: %s same %s", E(again), yesno(again == id));
	say("get larger: %s", E(shmget(key, 8193, 0)));
	say("get size 0: %s", E(shmget(key, 0, 0)));
	say("get missing: %s", E(shmget(my_key(2), 4096, 0600)));
	say("shmat -1: %s", E((long)shmat(-1, NULL, 0)));
	say("shmat bad id: %s", E((long)shmat(id + 1, NULL, 0)));
	char *p = shmat(id, NULL, 0);
	/* A range known to be free. */
	char *hint = mmap(NULL, 16 * 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	munmap(hint, 16 * 4096);
	say("misaligned: %s", E((long)shmat(id, hint + 100, 0)));
	char *r = shmat(id, hint + 100, SHM_RND);
	say("SHM_RND: %s rounded %s", E((long)r), yesno(r == hint));
	say("overlap: %s", E((long)shmat(id, hint, 0)));
	char *re = shmat(id, hint, SHM_REMAP);
	say("SHM_REMAP: %s at %s nattch %lu", E((long)re), yesno(re == hint), nattch(id));
	say("SHM_REMAP without address: %s", E((long)shmat(id, NULL, SHM_REMAP)));
	say("shmdt misaligned: %s", E(shmdt(p + 1)));
	char *anon = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	say("shmdt of anonymous memory: %s", E(shmdt(anon)));
	say("shmctl bad cmd: %s", E(shmctl(id, 99, NULL)));
	say("shmctl negative id: %s", E(shmctl(-1, IPC_STAT, NULL)));
	say("IPC_STAT to NULL: %s", E(shmctl(id, IPC_STAT, NULL)));
	say("IPC_SET from NULL: %s", E(shmctl(id, IPC_SET, NULL)));
	struct shmid_ds ds;
	shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.mode = 0644 | 01000;
	say("IPC_SET: %s", E(shmctl(id, IPC_SET, &ds)));
	shmctl(id, IPC_STAT, &ds);
	say("mode now %o", ds.shm_perm.mode);
	ds.shm_perm.uid = -1;
	say("IPC_SET uid -1: %s", E(shmctl(id, IPC_SET, &ds)));
	say("SHM_LOCK: %s", E(shmctl(id, SHM_LOCK, NULL)));
	shmctl(id, IPC_STAT, &ds);
	say("mode locked %o", ds.shm_perm.mode);
	say("SHM_UNLOCK: %s", E(shmctl(id, SHM_UNLOCK, NULL)));
	char *ro = shmat(id, NULL, SHM_RDONLY);
	say("mprotect of read-only attach: %s", E(mprotect(ro, 4096, PROT_READ | PROT_WRITE)));
	pid_t pid = fork();
	if (pid == 0) {
		ro[0] = 1;
		_exit(0);
	}
	say("write to read-only attach: status %d", wait_status(pid));
	/* mprotect splits an attach; shmdt takes every piece. */
	say("mprotect split: %s", E(mprotect(p + 4096, 4096, PROT_READ)));
	say("shmdt split: %s", E(shmdt(p)));
	say("gone: %s", E(msync(p + 4096, 4096, 0)));
	shmdt(r);
	shmdt(ro);
	shmctl(id, IPC_RMID, NULL);
	return 0;
}

static int shm_rmid_attached(void)
{
	key_t key = my_key(3);
	int id = shmget(key, 4096, IPC_CREAT | 0600);
	char *p = shmat(id, NULL, 0);
	strcpy(p, "kept");
	say("rmid: %s", E(shmctl(id, IPC_RMID, NULL)));
	struct shmid_ds ds;
	say("stat: %s", E(shmctl(id, IPC_STAT, &ds)));
	say("mode %o key %d nattch %lu", ds.shm_perm.mode, ds.shm_perm.__key, ds.shm_nattch);
	say("by key: %s", E(shmget(key, 4096, 0600)));
	char *again = shmat(id, NULL, 0);
	say("attach removed: %s sees \"%s\"", E((long)again), again == (void *)-1 ? "" : again);
	pid_t pid = fork();
	if (pid == 0) {
		say("child sees \"%s\"", p);
		_exit(0);
	}
	wait_status(pid);
	say("nattch %lu", nattch(id));
	if (again != (void *)-1)
		shmdt(again);
	say("shmdt: %s", E(shmdt(p)));
	say("stat after last detach: %s", E(shmctl(id, IPC_STAT, &ds)));
	return 0;
}

static int shm_exec(void)
{
	int id = shmget(IPC_PRIVATE, 4096, 0600);
	shmat(id, NULL, 0);
	int go[2];
	pipe(go);
	pid_t pid = fork();
	if (pid == 0) {
		close(go[1]);
		char c;
		read(go[0], &c, 1);
		execl("/proc/self/exe", "ipctest", "exec_target", (char *)NULL);
		_exit(127);
	}
	close(go[0]);
	say("before exec: nattch %lu", nattch(id));
	close(go[1]);
	say("exec target: status %d", wait_status(pid));
	say("after exec and exit: nattch %lu", nattch(id));
	pid = fork();
	if (pid == 0)
		_exit(0);
	wait_status(pid);
	say("after fork and exit: nattch %lu", nattch(id));
	shmctl(id, IPC_RMID, NULL);
	return 0;
}

static int shm_perms(void)
{
	int id = shmget(IPC_PRIVATE, 4096, 0600);
	int ro = shmget(IPC_PRIVATE, 4096, 0604);
	pid_t pid = fork();
	if (pid == 0) {
		become_nobody();
		struct shmid_ds ds;
		say("shmat: %s", E((long)shmat(id, NULL, 0)));
		say("IPC_STAT: %s", E(shmctl(id, IPC_STAT, &ds)));
		say("IPC_RMID: %s", E(shmctl(id, IPC_RMID, NULL)));
		say("SHM_LOCK: %s", E(shmctl(id, SHM_LOCK, NULL)));
		int idx = -1;
		for (int i = 0; i < 32768 && idx < 0; i++)
			if (shmctl(i, SHM_STAT_ANY, &ds) == id)
				idx = i;
		say("SHM_STAT_ANY found it: %s", yesno(idx >= 0));
		say("SHM_STAT: %s", E(shmctl(idx, SHM_STAT, &ds)));
		say("read-only for others, rw: %s", E((long)shmat(ro, NULL, 0)));
		char *p = shmat(ro, NULL, SHM_RDONLY);
		say("read-only for others, SHM_RDONLY: %s", E((long)p));
		_exit(0);
	}
	wait_status(pid);
	shmctl(id, IPC_RMID, NULL);
	shmctl(ro, IPC_RMID, NULL);
	return 0;
}

static int shm_info(void)
{
	struct shminfo info;
	int max = shmctl(0, IPC_INFO, (struct shmid_ds *)&info);
	say("IPC_INFO: %s shmmax %lu shmmin %lu shmmni %lu shmseg %lu shmall %lu",
	    max < 0 ? strerrorname_np(errno) : "ok", info.shmmax, info.shmmin, info.shmmni,
	    info.shmseg, info.shmall);
	int id = shmget(IPC_PRIVATE, 3 * 4096 + 1, 0600);
	char *p = shmat(id, NULL, 0);
	p[0] = 1;
	p[8192] = 1;
	struct shm_info si;
	int top = shmctl(0, SHM_INFO, (struct shmid_ds *)&si);
	say("SHM_INFO: %s tot>=4 %s rss>=2 %s", top < 0 ? strerrorname_np(errno) : "ok",
	    yesno(si.shm_tot >= 4), yesno(si.shm_rss >= 2));
	struct shmid_ds ds;
	int found = 0;
	for (int i = 0; i <= top; i++)
		if (shmctl(i, SHM_STAT, &ds) == id)
			found = 1;
	say("SHM_STAT finds it: %s", yesno(found));
	say("SHM_INFO to NULL: %s", E(shmctl(0, SHM_INFO, NULL)));
	shmdt(p);
	shmctl(id, IPC_RMID, NULL);
	return 0;
}

static int sem_basic(void)
{
	int id = semget(IPC_PRIVATE, 3, 0600);
	say("semget: %s", E(id));
	struct semid_ds ds;
	union semun arg = {.buf = &ds};
	int r = semctl(id, 0, IPC_STAT, arg);
	say("IPC_STAT: %s nsems %lu otime %ld mode %o", E(r), ds.sem_nsems, (long)ds.sem_otime,
	    ds.sem_perm.mode);
	say("GETVAL: %d", semctl(id, 1, GETVAL));
	say("GETPID: %d", semctl(id, 1, GETPID));
	say("SETVAL 5: %s", E(semctl(id, 1, SETVAL, (union semun){.val = 5})));
	say("GETVAL: %d GETPID is me: %s", semctl(id, 1, GETVAL), yesno(semctl(id, 1, GETPID) == getpid()));
	say("SETVAL 32768: %s", E(semctl(id, 1, SETVAL, (union semun){.val = 32768})));
	say("SETVAL -1: %s", E(semctl(id, 1, SETVAL, (union semun){.val = -1})));
	say("SETVAL num 3: %s", E(semctl(id, 3, SETVAL, (union semun){.val = 1})));
	say("GETVAL num -1: %s", E(semctl(id, -1, GETVAL)));
	unsigned short vals[3] = {1, 2, 3};
	say("SETALL: %s", E(semctl(id, 0, SETALL, (union semun){.array = vals})));
	unsigned short out[3] = {0};
	r = semctl(id, 0, GETALL, (union semun){.array = out});
	say("GETALL: %s %d %d %d", E(r), out[0], out[1], out[2]);
	vals[2] = 40000;
	say("SETALL 40000: %s", E(semctl(id, 0, SETALL, (union semun){.array = vals})));
	say("SETALL from NULL: %s", E(semctl(id, 0, SETALL, (union semun){.array = NULL})));
	say("GETALL to NULL: %s", E(semctl(id, 0, GETALL, (union semun){.array = NULL})));
	struct sembuf ops[2] = {{0, -1, 0}, {2, 2, 0}};
	say("semop: %s", E(semop(id, ops, 2)));
	semctl(id, 0, GETALL, (union semun){.array = out});
	say("values %d %d %d", out[0], out[1], out[2]);
	semctl(id, 0, IPC_STAT, arg);
	say("otime set: %s", yesno(ds.sem_otime != 0));
	struct sembuf take2[2] = {{1, -1, 0}, {0, -1, IPC_NOWAIT}};
	say("all or nothing: %s", E(semop(id, take2, 2)));
	say("sem 1 still %d", semctl(id, 1, GETVAL));
	struct sembuf zero = {1, 0, IPC_NOWAIT};
	say("wait for zero, nowait: %s", E(semop(id, &zero, 1)));
	struct sembuf big = {2, 32767, 0};
	say("over SEMVMX: %s", E(semop(id, &big, 1)));
	struct sembuf bad = {3, 1, 0};
	say("num 3: %s", E(semop(id, &bad, 1)));
	say("nsops 0: %s", E(semop(id, ops, 0)));
	struct sembuf many[501];
	memset(many, 0, sizeof many);
	say("nsops 501: %s", E(semop(id, many, 501)));
	say("sops NULL: %s", E(semop(id, NULL, 1)));
	say("bad id: %s", E(semop(id + 1, ops, 1)));
	struct sembuf dec = {0, -1, 0};
	struct timespec ts = {0, 20 * 1000000};
	say("semtimedop timeout: %s", E(semtimedop(id, &dec, 1, &ts)));
	struct timespec badts = {0, 1000000000};
	say("semtimedop bad timeout: %s", E(semtimedop(id, &dec, 1, &badts)));
	say("semtimedop timeout NULL ptr: %s", E(semtimedop(id, &dec, 1, (void *)1)));
	say("semget nsems -1: %s", E(semget(IPC_PRIVATE, -1, 0600)));
	say("semget nsems 0: %s", E(semget(IPC_PRIVATE, 0, 0600)));
	say("semget nsems 32001: %s", E(semget(IPC_PRIVATE, 32001, 0600)));
	key_t key = my_key(4);
	int k = semget(key, 2, IPC_CREAT | 0600);
	say("by key, more sems: %s", E(semget(key, 3, 0)));
	say("by key, nsems 0: %s", E(semget(key, 0, 0) == k ? 0 : -1));
	say("bad cmd: %s", E(semctl(id, 0, 99)));
	say("rmid: %s", E(semctl(id, 0, IPC_RMID)));
	say("rmid again: %s", E(semctl(id, 0, IPC_RMID)));
	semctl(k, 0, IPC_RMID);
	struct seminfo si;
	semctl(0, 0, IPC_INFO, (union semun){.__buf = &si});
	say("IPC_INFO: semmsl %d semmns %d semopm %d semmni %d semvmx %d semaem %d semume %d semusz %d",
	    si.semmsl, si.semmns, si.semopm, si.semmni, si.semvmx, si.semaem, si.semume, si.semusz);
	return 0;
}

/* A child blocked in semop, and what GETNCNT/GETZCNT say meanwhile. */
static int sem_block(void)
{
	int id = semget(IPC_PRIVATE, 2, 0600);
	pid_t a = fork();
	if (a == 0) {
		struct sembuf op = {0, -2, 0};
		int r = semop(id, &op, 1);
		say("child a: semop %s", E(r));
		_exit(0);
	}
	semctl(id, 1, SETVAL, (union semun){.val = 1});
	pid_t b = fork();
	if (b == 0) {
		struct sembuf op = {1, 0, 0};
		int r = semop(id, &op, 1);
		say("child b: wait for zero %s", E(r));
		_exit(0);
	}
	while (semctl(id, 0, GETNCNT) != 1 || semctl(id, 1, GETZCNT) != 1)
		sleep_ms(5);
	say("GETNCNT %d GETZCNT %d others %d %d", semctl(id, 0, GETNCNT), semctl(id, 1, GETZCNT),
	    semctl(id, 1, GETNCNT), semctl(id, 0, GETZCNT));
	struct sembuf one = {0, 1, 0};
	semop(id, &one, 1);
	sleep_ms(50);
	say("one is not enough: GETNCNT %d", semctl(id, 0, GETNCNT));
	semop(id, &one, 1);
	say("child a: %d", wait_status(a));
	say("value %d", semctl(id, 0, GETVAL));
	semctl(id, 1, SETVAL, (union semun){.val = 0});
	say("child b: %d", wait_status(b));
	semctl(id, 0, IPC_RMID);
	return 0;
}

static int sem_undo(void)
{
	int id = semget(IPC_PRIVATE, 2, 0600);
	semctl(id, 0, SETVAL, (union semun){.val = 3});
	pid_t pid = fork();
	if (pid == 0) {
		struct sembuf ops[2] = {{0, -2, SEM_UNDO}, {1, 5, SEM_UNDO}};
		say("child: semop %s", E(semop(id, ops, 2)));
		say("child: values %d %d", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));
		_exit(0);
	}
	wait_status(pid);
	say("after exit: %d %d", semctl(id, 0, GETVAL), semctl(id, 1, GETVAL));
	say("GETPID is the child: %s", yesno(semctl(id, 0, GETPID) == pid));
	/* An adjustment is cleared by SETVAL. */
	pid = fork();
	if (pid == 0) {
		struct sembuf op = {0, 1, SEM_UNDO};
		semop(id, &op, 1);
		semctl(id, 0, SETVAL, (union semun){.val = 10});
		_exit(0);
	}
	wait_status(pid);
	say("SETVAL cleared the adjustment: %d", semctl(id, 0, GETVAL));
	/* An adjustment that would go below zero stops at zero. */
	pid = fork();
	if (pid == 0) {
		struct sembuf op = {1, 4, SEM_UNDO};
		semop(id, &op, 1);
		semctl(id, 1, SETVAL, (union semun){.val = 1});
		struct sembuf again = {1, 2, SEM_UNDO};
		semop(id, &again, 1);
		_exit(0);
	}
	wait_status(pid);
	say("clamped: %d", semctl(id, 1, GETVAL));
	/* Threads of one process share the adjustments; the last exit applies
	 * them (here a fork's child does them, then exits). */
	pid = fork();
	if (pid == 0) {
		struct sembuf op = {0, -1, SEM_UNDO};
		for (int i = 0; i < 3; i++)
			semop(id, &op, 1);
		struct sembuf big = {0, 32767, SEM_UNDO};
		say("adjustment range: %s", E(semop(id, &big, 1)));
		_exit(0);
	}
	wait_status(pid);
	say("restored: %d", semctl(id, 0, GETVAL));
	semctl(id, 0, IPC_RMID);
	return 0;
}

static void on_alarm(int sig)
{
	(void)sig;
}

static int sem_intr(void)
{
	int id = semget(IPC_PRIVATE, 1, 0600);
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	sigaction(SIGALRM, &sa, NULL);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(1);
		struct sembuf op = {0, -1, 0};
		say("semop under SA_RESTART: %s", E(semop(id, &op, 1)));
		int q = msgget(IPC_PRIVATE, 0600);
		alarm(1);
		struct {
			long t;
			char x[8];
		} m;
		say("msgrcv under SA_RESTART: %s", E(msgrcv(q, &m, 8, 0, 0)));
		msgctl(q, IPC_RMID, NULL);
		_exit(0);
	}
	wait_status(pid);
	pid = fork();
	if (pid == 0) {
		struct sembuf op = {0, -1, 0};
		say("semop, set removed: %s", E(semop(id, &op, 1)));
		_exit(0);
	}
	while (semctl(id, 0, GETNCNT) != 1)
		sleep_ms(5);
	semctl(id, 0, IPC_RMID);
	wait_status(pid);
	return 0;
}

struct msg {
	long mtype;
	char text[64];
};

static int send(int q, long type, const char *text, int flags)
{
	struct msg m = {.mtype = type};
	strcpy(m.text, text);
	return msgsnd(q, &m, strlen(text) + 1, flags);
}

static void receive(int q, long type, size_t size, int flags)
{
	struct msg m;
	memset(&m, 0, sizeof m);
	ssize_t n = msgrcv(q, &m, size, type, flags);
	if (n < 0)
		say("msgrcv %ld: %s", type, strerrorname_np(errno));
	else
		say("msgrcv %ld: %zd bytes, type %ld \"%.*s\"", type, n, m.mtype, (int)n, m.text);
}

static int msg_basic(void)
{
	int q = msgget(IPC_PRIVATE, 0600);
	say("msgget: %s", E(q));
	send(q, 3, "three", 0);
	send(q, 1, "one", 0);
	send(q, 2, "two", 0);
	send(q, 1, "one again", 0);
	send(q, 5, "five", 0);
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	say("qnum %lu cbytes %lu qbytes %lu lspid-is-me %s lrpid %d", ds.msg_qnum, ds.__msg_cbytes,
	    ds.msg_qbytes, yesno(ds.msg_lspid == getpid()), ds.msg_lrpid);
	receive(q, 0, 64, 0);
	receive(q, 2, 64, 0);
	receive(q, -4, 64, 0);
	receive(q, 1, 64, MSG_EXCEPT);
	receive(q, 1, 3, 0);
	receive(q, 1, 3, MSG_NOERROR);
	receive(q, 1, 64, IPC_NOWAIT);
	receive(q, 7, 64, IPC_NOWAIT);
	send(q, 9, "nine", 0);
	receive(q, 0, 64, MSG_COPY | IPC_NOWAIT);
	receive(q, 1, 64, MSG_COPY | IPC_NOWAIT);
	receive(q, 0, 64, MSG_COPY);
	msgctl(q, IPC_STAT, &ds);
	say("qnum %lu cbytes %lu lrpid-is-me %s rtime %s", ds.msg_qnum, ds.__msg_cbytes,
	    yesno(ds.msg_lrpid == getpid()), yesno(ds.msg_rtime != 0));
	say("mtype 0: %s", E(send(q, 0, "x", 0)));
	struct msg m = {.mtype = 1};
	say("size 8193: %s", E(msgsnd(q, &m, 8193, 0)));
	say("size -1: %s", E(msgsnd(q, &m, (size_t)-1, 0)));
	say("msgp NULL: %s", E(msgsnd(q, NULL, 1, 0)));
	say("bad id: %s", E(send(q + 1, 1, "x", 0)));
	say("negative id: %s", E(send(-1, 1, "x", 0)));
	say("msgrcv negative size: %s", E(msgrcv(q, &m, (size_t)-1, 0, 0)));
	say("msgrcv to NULL: %s", E(msgrcv(q, NULL, 64, 0, 0)));
	say("lost: qnum %s", E(msgrcv(q, &m, 64, 0, IPC_NOWAIT)));
	ds.msg_qbytes = 10;
	say("IPC_SET qbytes 10: %s", E(msgctl(q, IPC_SET, &ds)));
	say("fits: %s", E(send(q, 1, "123456789", IPC_NOWAIT)));
	say("full: %s", E(send(q, 1, "x", IPC_NOWAIT)));
	say("empty message when full: %s", E(msgsnd(q, &m, 0, IPC_NOWAIT)));
	struct msginfo mi;
	msgctl(0, IPC_INFO, (struct msqid_ds *)&mi);
	say("IPC_INFO: msgpool %d msgmap %d msgmax %d msgmnb %d msgmni %d msgssz %d msgtql %d msgseg %d",
	    mi.msgpool, mi.msgmap, mi.msgmax, mi.msgmnb, mi.msgmni, mi.msgssz, mi.msgtql,
	    mi.msgseg);
	say("bad cmd: %s", E(msgctl(q, 99, &ds)));
	say("rmid: %s", E(msgctl(q, IPC_RMID, NULL)));
	say("after rmid: %s", E(send(q, 1, "x", 0)));
	key_t key = my_key(5);
	int k = msgget(key, IPC_CREAT | IPC_EXCL | 0600);
	say("by key: %s excl %s missing %s", E(msgget(key, 0) == k ? 0 : -1),
	    E(msgget(key, IPC_CREAT | IPC_EXCL)), E(msgget(my_key(6), 0)));
	msgctl(k, IPC_RMID, NULL);
	return 0;
}

static int msg_block(void)
{
	int q = msgget(IPC_PRIVATE, 0600);
	pid_t pid = fork();
	if (pid == 0) {
		receive(q, 2, 64, 0);
		_exit(0);
	}
	sleep_ms(50);
	send(q, 1, "not for the child", 0);
	sleep_ms(50);
	send(q, 2, "for the child", 0);
	say("child: %d", wait_status(pid));
	receive(q, 0, 64, IPC_NOWAIT);
	struct msqid_ds ds;
	msgctl(q, IPC_STAT, &ds);
	ds.msg_qbytes = 8;
	msgctl(q, IPC_SET, &ds);
	send(q, 1, "1234567", 0);
	pid = fork();
	if (pid == 0) {
		say("sender: %s", E(send(q, 2, "abc", 0)));
		_exit(0);
	}
	sleep_ms(50);
	receive(q, 0, 64, 0);
	say("sender: %d", wait_status(pid));
	receive(q, 0, 64, 0);
	pid = fork();
	if (pid == 0) {
		receive(q, 0, 64, 0);
		_exit(0);
	}
	sleep_ms(50);
	msgctl(q, IPC_RMID, NULL);
	say("receiver: %d", wait_status(pid));
	return 0;
}

static int ipc_perms(void)
{
	int sem = semget(IPC_PRIVATE, 1, 0640);
	int q = msgget(IPC_PRIVATE, 0620);
	pid_t pid = fork();
	if (pid == 0) {
		become_nobody();
		struct sembuf op = {0, 1, IPC_NOWAIT};
		say("semop: %s", E(semop(sem, &op, 1)));
		say("GETVAL: %s", E(semctl(sem, 0, GETVAL)));
		say("SETVAL: %s", E(semctl(sem, 0, SETVAL, (union semun){.val = 1})));
		say("sem IPC_RMID: %s", E(semctl(sem, 0, IPC_RMID)));
		say("msgsnd: %s", E(send(q, 1, "x", IPC_NOWAIT)));
		say("msgrcv: %s", E(msgrcv(q, &op, 1, 0, IPC_NOWAIT)));
		say("msg IPC_RMID: %s", E(msgctl(q, IPC_RMID, NULL)));
		int mine = msgget(IPC_PRIVATE, 0600);
		struct msqid_ds ds;
		msgctl(mine, IPC_STAT, &ds);
		ds.msg_qbytes = 1000000;
		say("IPC_SET above msgmnb: %s", E(msgctl(mine, IPC_SET, &ds)));
		msgctl(mine, IPC_RMID, NULL);
		_exit(0);
	}
	wait_status(pid);
	semctl(sem, 0, IPC_RMID);
	msgctl(q, IPC_RMID, NULL);
	return 0;
}

/* The row of /proc/sysvipc/NAME whose second field is `id`: its number of
 * fields and the fields `show` names (none a pid or a time). */
static void proc_row(const char *name, int id, const int *show, int nshow)
{
	char path[64], buf[65536];
	snprintf(path, sizeof path, "/proc/sysvipc/%s", name);
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		say("%s: %s", path, strerror(errno));
		return;
	}
	buf[n] = 0;
	char *save, *line = strtok_r(buf, "\n", &save);
	say("%s header: %s", name, line);
	while ((line = strtok_r(NULL, "\n", &save))) {
		long key, lid;
		if (sscanf(line, "%ld %ld", &key, &lid) == 2 && lid == id) {
			char *field[20];
			int k = 0;
			for (char *f = strtok_r(line, " ", &line); f && k < 20; f = strtok_r(NULL, " ", &line))
				field[k++] = f;
			char shown[256] = "";
			for (int i = 0; i < nshow && show[i] < k; i++)
				snprintf(shown + strlen(shown), sizeof shown - strlen(shown), " %s", field[show[i]]);
			say("%s row: %d fields:%s", name, k, shown);
			return;
		}
	}
	say("%s: no row", name);
}

static int proc_sysvipc(void)
{
	int shm = shmget(IPC_PRIVATE, 5000, 0640);
	char *p = shmat(shm, NULL, 0);
	p[0] = 1;
	int sem = semget(IPC_PRIVATE, 4, 0600);
	int q = msgget(IPC_PRIVATE, 0666);
	send(q, 1, "hello", 0);
	/* shm: perms size nattch uid cuid rss swap; sem: perms nsems uid;
	 * msg: perms cbytes qnum uid. */
	proc_row("shm", shm, (int[]){2, 3, 6, 7, 9, 14, 15}, 7);
	proc_row("sem", sem, (int[]){2, 3, 4}, 3);
	proc_row("msg", q, (int[]){2, 3, 4, 7}, 4);
	shmdt(p);
	shmctl(shm, IPC_RMID, NULL);
	semctl(sem, 0, IPC_RMID);
	msgctl(q, IPC_RMID, NULL);
	return 0;
}

static void show(const char *path)
{
	char buf[256];
	int fd = open(path, O_RDONLY);
	ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n < 0) {
		say("%s: %s", path, strerrorname_np(errno));
		return;
	}
	buf[n] = 0;
	if (n > 0 && buf[n - 1] == '\n')
		buf[n - 1] = 0;
	for (char *c = buf; *c; c++)
		if (*c == '\t')
			*c = ' ';
	say("%s: %s", path, buf);
}

static int proc_limits(void)
{
	const char *names[] = {"shmmax", "shmall", "shmmni", "sem", "msgmax", "msgmnb", "msgmni"};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char path[64];
		snprintf(path, sizeof path, "/proc/sys/kernel/%s", names[i]);
		show(path);
	}
	return 0;
}

static int posix_shm(void)
{
	const char *name = "/ipctest-posix";
	char unique[64];
	snprintf(unique, sizeof unique, "%s-%d", name, getpid());
	int fd = shm_open(unique, O_RDWR | O_CREAT | O_EXCL, 0600);
	say("shm_open: %s", E(fd));
	say("ftruncate: %s", E(ftruncate(fd, 8192)));
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	say("mmap: %s", E((long)p));
	struct stat st;
	fstat(fd, &st);
	say("size %lld mode %o", (long long)st.st_size, st.st_mode);
	sem_t *s = sem_open(unique, O_CREAT | O_EXCL, 0600, 0);
	say("sem_open: %s", s == SEM_FAILED ? strerrorname_np(errno) : "ok");
	pid_t pid = fork();
	if (pid == 0) {
		int fd2 = shm_open(unique, O_RDWR, 0);
		char *q = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd2, 0);
		strcpy(q + 4096, "from the child");
		sem_t *s2 = sem_open(unique, 0);
		sem_post(s2);
		_exit(0);
	}
	say("sem_wait: %s", E(sem_wait(s)));
	say("parent reads \"%s\"", p + 4096);
	wait_status(pid);
	say("sem_trywait: %s", E(sem_trywait(s)));
	say("shm_open excl: %s", E(shm_open(unique, O_RDWR | O_CREAT | O_EXCL, 0600)));
	say("shm_unlink: %s", E(shm_unlink(unique)));
	say("shm_unlink again: %s", E(shm_unlink(unique)));
	say("sem_unlink: %s", E(sem_unlink(unique)));
	say("still mapped \"%s\"", p + 4096);
	return 0;
}

static int exec_target(void)
{
	return 7;
}

static const struct guest_case cases[] = {
	{"shm_basic", shm_basic},
	{"shm_errors", shm_errors},
	{"shm_rmid_attached", shm_rmid_attached},
	{"shm_exec", shm_exec},
	{"shm_perms", shm_perms},
	{"shm_info", shm_info},
	{"sem_basic", sem_basic},
	{"sem_block", sem_block},
	{"sem_undo", sem_undo},
	{"sem_intr", sem_intr},
	{"msg_basic", msg_basic},
	{"msg_block", msg_block},
	{"ipc_perms", ipc_perms},
	{"proc_sysvipc", proc_sysvipc},
	{"proc_limits", proc_limits},
	{"posix_shm", posix_shm},
};

int main(int argc, char **argv)
{
	if (argc == 2 && !strcmp(argv[1], "exec_target"))
		return exec_target();
	return run_case("ipctest", cases, sizeof cases / sizeof cases[0], argc, argv);
}
