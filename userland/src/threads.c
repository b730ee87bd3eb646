/*
 * threads: glibc's pthreads and raw futex calls, checked against Linux.
 *
 * `threads NAME` runs one case, `threads` all but exitgroup. Every case
 * prints deterministic lines (no tids, no times) so that the output under
 * cleave can be compared byte for byte with the same source built for the
 * host and run natively (tests/threads.rs). A failed check prints "FAIL"
 * with the line and exits 1.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/futex.h>
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

#define CHECK(cond)                                                          \
	do {                                                                 \
		if (!(cond)) {                                               \
			printf("FAIL %s:%d: %s\n", __FILE__, __LINE__, #cond); \
			fflush(stdout);                                      \
			_exit(1);                                            \
		}                                                            \
	} while (0)

#define NTHREADS 64

static long futex(void *uaddr, int op, uint32_t val, const void *timeout_or_val2,
		  void *uaddr2, uint32_t val3)
{
	return syscall(SYS_futex, uaddr, op, val, timeout_or_val2, uaddr2, val3);
}

/* The result of a system call that is expected to fail, as "-ENAME". */
static const char *err(long r)
{
	if (r >= 0)
		return "ok";
	switch (errno) {
	case EAGAIN: return "EAGAIN";
	case EINVAL: return "EINVAL";
	case EFAULT: return "EFAULT";
	case ENOSYS: return "ENOSYS";
	case ETIMEDOUT: return "ETIMEDOUT";
	case ESRCH: return "ESRCH";
	case EPERM: return "EPERM";
	default: return "E?";
	}
}

/* ---- 64 threads, one mutex, one counter ---- */

static pthread_mutex_t counter_lock = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *add_many(void *arg)
{
	long n = (long)arg;
	for (long i = 0; i < n; i++) {
		pthread_mutex_lock(&counter_lock);
		counter++;
		/* Give others a chance to contend for the lock. */
		if (i % 64 == 0)
			sched_yield();
		pthread_mutex_unlock(&counter_lock);
	}
	return (void *)n;
}

static void test_mutex(void)
{
	pthread_t t[NTHREADS];
	counter = 0;
	for (long i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&t[i], NULL, add_many, (void *)(1000 + i)) == 0);
	long returned = 0;
	for (int i = 0; i < NTHREADS; i++) {
		void *ret;
		CHECK(pthread_join(t[i], &ret) == 0);
		returned += (long)ret;
	}
	printf("mutex: %d threads, counter %ld, joined sum %ld\n", NTHREADS, counter, returned);
}

/* ---- condition variable: a gate and a queue ---- */

static pthread_mutex_t cv_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv_arrived = PTHREAD_COND_INITIALIZER;
static pthread_cond_t cv_go = PTHREAD_COND_INITIALIZER;
static int arrived, go, done_count;

static void *gate_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&cv_lock);
	arrived++;
	pthread_cond_signal(&cv_arrived);
	while (!go)
		pthread_cond_wait(&cv_go, &cv_lock);
	done_count++;
	pthread_mutex_unlock(&cv_lock);
	return NULL;
}

static void test_cond(void)
{
	pthread_t t[NTHREADS];
	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_create(&t[i], NULL, gate_worker, NULL) == 0);
	pthread_mutex_lock(&cv_lock);
	while (arrived < NTHREADS)
		pthread_cond_wait(&cv_arrived, &cv_lock);
	int seen = arrived;
	go = 1;
	pthread_cond_broadcast(&cv_go);
	pthread_mutex_unlock(&cv_lock);
	for (int i = 0; i < NTHREADS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	printf("cond: %d arrived, %d passed the broadcast\n", seen, done_count);

	/* pthread_cond_timedwait with nobody signalling times out. */
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += 20 * 1000 * 1000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&cv_lock);
	int r = pthread_cond_timedwait(&cv_go, &cv_lock, &ts);
	pthread_mutex_unlock(&cv_lock);
	printf("cond: timedwait %s\n", r == ETIMEDOUT ? "ETIMEDOUT" : "?");
}

/* ---- detached threads ---- */

static pthread_mutex_t det_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t det_cv = PTHREAD_COND_INITIALIZER;
static int det_done;

static void *detached_worker(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&det_lock);
	det_done++;
	pthread_cond_signal(&det_cv);
	pthread_mutex_unlock(&det_lock);
	return NULL;
}

static void test_detach(void)
{
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 16; i++) {
		pthread_t t;
		CHECK(pthread_create(&t, &attr, detached_worker, NULL) == 0);
	}
	/* And one detached after creation. */
	pthread_t t;
	CHECK(pthread_create(&t, NULL, detached_worker, NULL) == 0);
	CHECK(pthread_detach(t) == 0);
	pthread_mutex_lock(&det_lock);
	while (det_done < 17)
		pthread_cond_wait(&det_cv, &det_lock);
	pthread_mutex_unlock(&det_lock);
	printf("detach: %d detached threads finished\n", det_done);
}

/* ---- barrier ---- */

#define BARRIER_THREADS 8
#define ROUNDS 5

static pthread_barrier_t barrier;
static int slots[ROUNDS][BARRIER_THREADS];
static int serial_count, barrier_errors;

static void *barrier_worker(void *arg)
{
	long me = (long)arg;
	for (int round = 0; round < ROUNDS; round++) {
		slots[round][me] = 1;
		int r = pthread_barrier_wait(&barrier);
		if (r == PTHREAD_BARRIER_SERIAL_THREAD)
			__atomic_fetch_add(&serial_count, 1, __ATOMIC_SEQ_CST);
		else if (r != 0)
			__atomic_fetch_add(&barrier_errors, 1, __ATOMIC_SEQ_CST);
		/* Past the barrier, everyone has filled this round's slots. */
		for (int i = 0; i < BARRIER_THREADS; i++)
			if (!slots[round][i])
				__atomic_fetch_add(&barrier_errors, 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

static void test_barrier(void)
{
	pthread_t t[BARRIER_THREADS];
	CHECK(pthread_barrier_init(&barrier, NULL, BARRIER_THREADS) == 0);
	for (long i = 0; i < BARRIER_THREADS; i++)
		CHECK(pthread_create(&t[i], NULL, barrier_worker, (void *)i) == 0);
	for (int i = 0; i < BARRIER_THREADS; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	pthread_barrier_destroy(&barrier);
	printf("barrier: %d threads, %d rounds, %d serial, %d errors\n", BARRIER_THREADS, ROUNDS,
	       serial_count, barrier_errors);
}

/* ---- rwlock ---- */

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_a, rw_b;
static int rw_torn;

static void *rw_writer(void *arg)
{
	(void)arg;
	for (int i = 0; i < 500; i++) {
		pthread_rwlock_wrlock(&rw);
		rw_a++;
		if (i % 16 == 0)
			sched_yield();
		rw_b++;
		pthread_rwlock_unlock(&rw);
	}
	return NULL;
}

static void *rw_reader(void *arg)
{
	(void)arg;
	for (int i = 0; i < 500; i++) {
		pthread_rwlock_rdlock(&rw);
		if (rw_a != rw_b)
			__atomic_fetch_add(&rw_torn, 1, __ATOMIC_SEQ_CST);
		if (i % 16 == 0)
			sched_yield();
		pthread_rwlock_unlock(&rw);
	}
	return NULL;
}

static void test_rwlock(void)
{
	pthread_t t[12];
	for (int i = 0; i < 12; i++)
		CHECK(pthread_create(&t[i], NULL, i % 3 == 0 ? rw_writer : rw_reader, NULL) == 0);
	for (int i = 0; i < 12; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	printf("rwlock: a %ld b %ld, torn reads %d\n", rw_a, rw_b, rw_torn);
}

/* ---- robust mutex whose owner dies ---- */

static pthread_mutex_t robust;

static void *lock_and_die(void *arg)
{
	(void)arg;
	CHECK(pthread_mutex_lock(&robust) == 0);
	return NULL; /* exits holding the lock */
}

static pthread_mutex_t robust_waited;
static pthread_mutex_t robust_step = PTHREAD_MUTEX_INITIALIZER;

static void *lock_wait_and_die(void *arg)
{
	(void)arg;
	CHECK(pthread_mutex_lock(&robust_waited) == 0);
	/* Hold the robust mutex until the main thread has let us go. */
	pthread_mutex_lock(&robust_step);
	pthread_mutex_unlock(&robust_step);
	return NULL;
}

static void *robust_contender(void *arg)
{
	int *result = arg;
	*result = pthread_mutex_lock(&robust_waited);
	if (*result == EOWNERDEAD) {
		pthread_mutex_consistent(&robust_waited);
		pthread_mutex_unlock(&robust_waited);
	}
	return NULL;
}

static void test_robust(void)
{
	pthread_mutexattr_t a;
	pthread_mutexattr_init(&a);
	pthread_mutexattr_setrobust(&a, PTHREAD_MUTEX_ROBUST);
	CHECK(pthread_mutex_init(&robust, &a) == 0);
	CHECK(pthread_mutex_init(&robust_waited, &a) == 0);

	/* The owner dies with nobody waiting: the next locker is told. */
	pthread_t t;
	CHECK(pthread_create(&t, NULL, lock_and_die, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	int r = pthread_mutex_lock(&robust);
	printf("robust: lock after owner died: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "?");
	CHECK(pthread_mutex_consistent(&robust) == 0);
	CHECK(pthread_mutex_unlock(&robust) == 0);
	r = pthread_mutex_lock(&robust);
	printf("robust: lock after consistent: %d\n", r);
	CHECK(pthread_mutex_unlock(&robust) == 0);

	/* Not made consistent: the mutex becomes unusable. */
	CHECK(pthread_create(&t, NULL, lock_and_die, NULL) == 0);
	CHECK(pthread_join(t, NULL) == 0);
	r = pthread_mutex_lock(&robust);
	CHECK(r == EOWNERDEAD);
	CHECK(pthread_mutex_unlock(&robust) == 0);
	r = pthread_mutex_lock(&robust);
	printf("robust: lock after unlock without consistent: %s\n",
	       r == ENOTRECOVERABLE ? "ENOTRECOVERABLE" : "?");

	/* The owner dies while another thread sleeps on the mutex: the
	 * kernel wakes the sleeper with the owner-died bit set. */
	pthread_mutex_lock(&robust_step);
	CHECK(pthread_create(&t, NULL, lock_wait_and_die, NULL) == 0);
	/* Wait until the owner holds the robust mutex. */
	for (;;) {
		r = pthread_mutex_trylock(&robust_waited);
		if (r == EBUSY)
			break;
		CHECK(r == 0);
		pthread_mutex_unlock(&robust_waited);
		sched_yield();
	}
	int contender_result = -1;
	pthread_t c;
	CHECK(pthread_create(&c, NULL, robust_contender, &contender_result) == 0);
	/* Let the contender go to sleep in the kernel (the futex word gets
	 * FUTEX_WAITERS; glibc waits on robust mutexes with shared futex
	 * calls), then let the owner exit. */
	int *word = &robust_waited.__data.__lock;
	while (futex(word, FUTEX_REQUEUE, 0, (void *)(long)INT32_MAX, word, 0) != 1)
		sched_yield();
	pthread_mutex_unlock(&robust_step);
	CHECK(pthread_join(t, NULL) == 0);
	CHECK(pthread_join(c, NULL) == 0);
	printf("robust: sleeper woken by owner's death: %s\n",
	       contender_result == EOWNERDEAD ? "EOWNERDEAD" : "?");
}

/* ---- raw futex calls ---- */

static uint32_t f1, f2;

struct waiter {
	uint32_t *addr;
	uint32_t val;
	uint32_t bitset;
	long result;
};

static void *futex_waiter(void *arg)
{
	struct waiter *w = arg;
	w->result = futex(w->addr, FUTEX_WAIT_BITSET_PRIVATE, w->val, NULL, NULL, w->bitset);
	return NULL;
}

/* How many threads sleep on `addr`: a requeue of the futex onto itself
 * counts them and moves nobody. */
static long sleepers(uint32_t *addr)
{
	return futex(addr, FUTEX_REQUEUE_PRIVATE, 0, (void *)(long)INT32_MAX, addr, 0);
}

static void wait_for_sleepers(uint32_t *addr, long n)
{
	while (sleepers(addr) != n)
		sched_yield();
}

static struct timespec ms(long n)
{
	struct timespec ts = {n / 1000, (n % 1000) * 1000 * 1000};
	return ts;
}

static struct timespec later(clockid_t clock, long msec)
{
	struct timespec ts;
	clock_gettime(clock, &ts);
	ts.tv_nsec += msec * 1000 * 1000;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	return ts;
}

static void test_futex(void)
{
	struct timespec t10 = ms(10);
	f1 = 1;
	/* Errors, in Linux's order of checks. */
	printf("futex: wait wrong value: %s\n", err(futex(&f1, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0)));
	printf("futex: wait timeout: %s\n", err(futex(&f1, FUTEX_WAIT_PRIVATE, 1, &t10, NULL, 0)));
	printf("futex: shared wait timeout: %s\n", err(futex(&f1, FUTEX_WAIT, 1, &t10, NULL, 0)));
	struct timespec abs_mono = later(CLOCK_MONOTONIC, 10);
	printf("futex: wait_bitset monotonic deadline: %s\n",
	       err(futex(&f1, FUTEX_WAIT_BITSET_PRIVATE, 1, &abs_mono, NULL, FUTEX_BITSET_MATCH_ANY)));
	struct timespec abs_real = later(CLOCK_REALTIME, 10);
	printf("futex: wait_bitset realtime deadline: %s\n",
	       err(futex(&f1, FUTEX_WAIT_BITSET_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &abs_real, NULL,
			 FUTEX_BITSET_MATCH_ANY)));
	struct timespec past = {0, 0};
	printf("futex: wait_bitset deadline passed: %s\n",
	       err(futex(&f1, FUTEX_WAIT_BITSET_PRIVATE, 1, &past, NULL, FUTEX_BITSET_MATCH_ANY)));
	printf("futex: wait realtime relative: %s\n",
	       err(futex(&f1, FUTEX_WAIT_PRIVATE | FUTEX_CLOCK_REALTIME, 1, &t10, NULL, 0)));
	struct timespec bad = {0, 1000000000};
	printf("futex: wait bad timespec: %s\n", err(futex(&f1, FUTEX_WAIT_PRIVATE, 1, &bad, NULL, 0)));
	printf("futex: wait timespec fault: %s\n",
	       err(futex(&f1, FUTEX_WAIT_PRIVATE, 1, (void *)8, NULL, 0)));
	printf("futex: wait bitset 0: %s\n", err(futex(&f1, FUTEX_WAIT_BITSET_PRIVATE, 1, NULL, NULL, 0)));
	printf("futex: wake bitset 0: %s\n", err(futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 1, NULL, NULL, 0)));
	printf("futex: wait unaligned: %s\n",
	       err(futex((char *)&f1 + 1, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0)));
	printf("futex: wake unaligned: %s\n",
	       err(futex((char *)&f1 + 2, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
	printf("futex: wait bad pointer: %s\n", err(futex((void *)16, FUTEX_WAIT_PRIVATE, 1, NULL, NULL, 0)));
	printf("futex: private wake bad pointer: %ld\n", futex((void *)16, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));
	printf("futex: shared wake bad pointer: %s\n", err(futex((void *)16, FUTEX_WAKE, 1, NULL, NULL, 0)));
	printf("futex: kernel pointer: %s\n",
	       err(futex((void *)-4096L, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0)));
	printf("futex: unknown op: %s\n", err(futex(&f1, 14, 1, NULL, NULL, 0)));
	printf("futex: FUTEX_FD: %s\n", err(futex(&f1, 2, 1, NULL, NULL, 0)));
	printf("futex: requeue negative: %s\n",
	       err(futex(&f1, FUTEX_REQUEUE_PRIVATE, 1, (void *)-1L, &f2, 0)));
	printf("futex: cmp_requeue wrong value: %s\n",
	       err(futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &f2, 7)));
	printf("futex: wake nobody: %ld\n", futex(&f1, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0));

	/* FUTEX_WAKE_OP's arithmetic and comparison on the second word. */
	static const struct {
		int op, oparg, cmp, cmparg;
		uint32_t before;
	} ops[] = {
		{FUTEX_OP_SET, 5, FUTEX_OP_CMP_EQ, 0, 0},
		{FUTEX_OP_ADD, -3, FUTEX_OP_CMP_LT, 0, 1},
		{FUTEX_OP_OR, 0x30, FUTEX_OP_CMP_NE, 1, 1},
		{FUTEX_OP_ANDN, 0xf, FUTEX_OP_CMP_GE, 100, 0xff},
		{FUTEX_OP_XOR, 0x7ff, FUTEX_OP_CMP_GT, -1, 0xffffffff},
		{FUTEX_OP_SET | FUTEX_OP_OPARG_SHIFT, 12, FUTEX_OP_CMP_LE, -2048, 0},
		{FUTEX_OP_ADD | FUTEX_OP_OPARG_SHIFT, 40, FUTEX_OP_CMP_EQ, 0, 0},
	};
	for (unsigned i = 0; i < sizeof ops / sizeof ops[0]; i++) {
		f2 = ops[i].before;
		uint32_t enc = FUTEX_OP(ops[i].op, ops[i].oparg, ops[i].cmp, ops[i].cmparg);
		long r = futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &f2, enc);
		printf("futex: wake_op %d: %ld, word %#x -> %#x\n", i, r, ops[i].before, f2);
	}
	/* An unknown op fails before the word is touched; an unknown
	 * comparison only after the op was applied. */
	f2 = 9;
	const char *e = err(futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &f2, 6u << 28));
	printf("futex: wake_op bad op: %s, word %u\n", e, f2);
	e = err(futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &f2, FUTEX_OP(FUTEX_OP_ADD, 1, 9, 0)));
	printf("futex: wake_op bad cmp: %s, word %u\n", e, f2);

	/* Requeue: three sleepers on f1; wake one, move one to f2. */
	struct waiter w[3];
	pthread_t t[3];
	f1 = 0;
	f2 = 0;
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){&f1, 0, FUTEX_BITSET_MATCH_ANY, -1};
		CHECK(pthread_create(&t[i], NULL, futex_waiter, &w[i]) == 0);
	}
	wait_for_sleepers(&f1, 3);
	printf("futex: cmp_requeue: %ld\n",
	       futex(&f1, FUTEX_CMP_REQUEUE_PRIVATE, 1, (void *)1L, &f2, 0));
	printf("futex: sleepers f1 %ld f2 %ld\n", sleepers(&f1), sleepers(&f2));
	printf("futex: wake f2: %ld\n", futex(&f2, FUTEX_WAKE_PRIVATE, 10, NULL, NULL, 0));
	printf("futex: plain requeue: %ld\n", futex(&f1, FUTEX_REQUEUE_PRIVATE, 0, (void *)5L, &f2, 0));
	printf("futex: wake f2 with nr 0: %ld\n", futex(&f2, FUTEX_WAKE_PRIVATE, 0, NULL, NULL, 0));
	for (int i = 0; i < 3; i++) {
		CHECK(pthread_join(t[i], NULL) == 0);
		printf("futex: waiter %d returned %ld\n", i, w[i].result);
	}

	/* Bitsets: a wake reaches only waiters whose bitset intersects. */
	for (int i = 0; i < 3; i++) {
		w[i] = (struct waiter){&f1, 0, 1u << i, -1};
		CHECK(pthread_create(&t[i], NULL, futex_waiter, &w[i]) == 0);
	}
	wait_for_sleepers(&f1, 3);
	printf("futex: wake_bitset 0b010: %ld\n", futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 2));
	printf("futex: wake_bitset 0b010 again: %ld\n",
	       futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 2));
	printf("futex: shared wake of private waiters: %ld\n", futex(&f1, FUTEX_WAKE, 10, NULL, NULL, 0));
	printf("futex: wake_bitset 0b101: %ld\n", futex(&f1, FUTEX_WAKE_BITSET_PRIVATE, 10, NULL, NULL, 5));
	for (int i = 0; i < 3; i++)
		CHECK(pthread_join(t[i], NULL) == 0);

	/* WAKE_OP wakes the second futex's sleeper when the comparison holds. */
	w[0] = (struct waiter){&f2, 0, FUTEX_BITSET_MATCH_ANY, -1};
	f2 = 0;
	CHECK(pthread_create(&t[0], NULL, futex_waiter, &w[0]) == 0);
	wait_for_sleepers(&f2, 1);
	long r = futex(&f1, FUTEX_WAKE_OP_PRIVATE, 1, (void *)1L, &f2,
		       FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0));
	CHECK(pthread_join(t[0], NULL) == 0);
	printf("futex: wake_op woke %ld, word %u, waiter returned %ld\n", r, f2, w[0].result);

	/* The robust-list calls. */
	void *head;
	size_t len;
	CHECK(syscall(SYS_get_robust_list, 0, &head, &len) == 0);
	printf("robust list: registered by glibc %s, len %zu\n", head ? "yes" : "no", len);
	printf("robust list: bad len: %s\n", err(syscall(SYS_set_robust_list, head, len + 1)));
	printf("robust list: no such thread: %s\n", err(syscall(SYS_get_robust_list, 999999, &head, &len)));
}

/* ---- futexes in shared memory, across fork ---- */

static void test_shared(void)
{
	uint32_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(shared != MAP_FAILED);
	shared[0] = 0;
	fflush(stdout);
	pid_t pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* Sleep on the shared word until the parent changes and wakes it. */
		while (shared[0] == 0)
			futex(&shared[0], FUTEX_WAIT, 0, NULL, NULL, 0);
		shared[1] = shared[0] + 1;
		futex(&shared[1], FUTEX_WAKE, 1, NULL, NULL, 0);
		_exit(0);
	}
	/* A shared futex is keyed by the page, not the address space: count
	 * the child's sleep from here. */
	while (futex(&shared[0], FUTEX_REQUEUE, 0, (void *)(long)INT32_MAX, &shared[0], 0) != 1)
		sched_yield();
	shared[0] = 41;
	long woken = futex(&shared[0], FUTEX_WAKE, 1, NULL, NULL, 0);
	while (shared[1] == 0)
		futex(&shared[1], FUTEX_WAIT, 0, NULL, NULL, 0);
	int status;
	CHECK(waitpid(pid, &status, 0) == pid);
	printf("shared: woke %ld across fork, child answered %u, status %d\n", woken, shared[1],
	       WEXITSTATUS(status));

	/* A private mapping after fork is two futexes, one per process. */
	static uint32_t priv;
	priv = 0;
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		struct timespec t = ms(20);
		long r = futex(&priv, FUTEX_WAIT, 0, &t, NULL, 0);
		_exit(r == -1 && errno == ETIMEDOUT ? 0 : 1);
	}
	for (int i = 0; i < 10; i++) {
		futex(&priv, FUTEX_WAKE, 1, NULL, NULL, 0);
		sched_yield();
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	printf("shared: private page after fork not shared: %s\n",
	       WEXITSTATUS(status) == 0 ? "timed out" : "woken");

	/* A process-shared robust mutex whose owner process dies while the
	 * parent sleeps on it. */
	struct {
		pthread_mutex_t m;
		uint32_t ready;
	} *s = (void *)(shared + 16);
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	CHECK(pthread_mutex_init(&s->m, &ma) == 0);
	s->ready = 0;
	fflush(stdout);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		pthread_mutex_lock(&s->m);
		s->ready = 1;
		futex(&s->ready, FUTEX_WAKE, 1, NULL, NULL, 0);
		/* Die holding the mutex once the parent sleeps on it. */
		int *word = &s->m.__data.__lock;
		while (futex(word, FUTEX_REQUEUE, 0, (void *)(long)INT32_MAX, word, 0) != 1)
			sched_yield();
		_exit(0);
	}
	while (s->ready == 0)
		futex(&s->ready, FUTEX_WAIT, 0, NULL, NULL, 0);
	int r = pthread_mutex_lock(&s->m);
	CHECK(waitpid(pid, &status, 0) == pid);
	printf("shared: robust mutex of a dead process: %s\n", r == EOWNERDEAD ? "EOWNERDEAD" : "?");
	munmap(shared, 4096);
}

/* ---- scheduling queries ---- */

static void test_sched(void)
{
	cpu_set_t set;
	CPU_ZERO(&set);
	CHECK(sched_getaffinity(0, sizeof set, &set) == 0);
	printf("sched: cpu 0 in affinity: %d\n", CPU_ISSET(0, &set));
	CHECK(sched_setaffinity(0, sizeof set, &set) == 0);
	CPU_ZERO(&set);
	printf("sched: empty affinity: %s\n", err(sched_setaffinity(0, sizeof set, &set)));
	printf("sched: affinity len 0: %s\n", err(syscall(SYS_sched_getaffinity, 0, 0, &set)));
	printf("sched: affinity len 3: %s\n", err(syscall(SYS_sched_getaffinity, 0, 3, &set)));
	printf("sched: policy %d\n", sched_getscheduler(0));
	struct sched_param p = {.sched_priority = 5};
	CHECK(sched_getparam(0, &p) == 0);
	printf("sched: priority %d\n", p.sched_priority);
	printf("sched: getparam NULL: %s\n", err(syscall(SYS_sched_getparam, 0, NULL)));
	printf("sched: getscheduler -1: %s\n", err(sched_getscheduler(-1)));
	printf("sched: getscheduler no such pid: %s\n", err(sched_getscheduler(999999)));
	printf("sched: other %d..%d, fifo %d..%d, rr %d..%d, bad %s\n",
	       sched_get_priority_min(SCHED_OTHER), sched_get_priority_max(SCHED_OTHER),
	       sched_get_priority_min(SCHED_FIFO), sched_get_priority_max(SCHED_FIFO),
	       sched_get_priority_min(SCHED_RR), sched_get_priority_max(SCHED_RR),
	       err(sched_get_priority_max(42)));
	CHECK(sched_yield() == 0);
	printf("sched: yield ok\n");
}

/* ---- exit_group from a thread other than main ---- */

static uint32_t never;

static void *sleeper(void *arg)
{
	(void)arg;
	for (;;)
		futex(&never, FUTEX_WAIT_PRIVATE, 0, NULL, NULL, 0);
	return NULL;
}

static void *exiter(void *arg)
{
	(void)arg;
	printf("exitgroup: thread calls exit(7) while main sleeps in join\n");
	exit(7);
}

static void test_exitgroup(void)
{
	pthread_t a[4], b;
	for (int i = 0; i < 4; i++)
		CHECK(pthread_create(&a[i], NULL, sleeper, NULL) == 0);
	CHECK(pthread_create(&b, NULL, exiter, NULL) == 0);
	pthread_join(a[0], NULL);
	printf("FAIL: main returned from join\n");
}

static const struct {
	const char *name;
	void (*run)(void);
} tests[] = {
	{"mutex", test_mutex},     {"cond", test_cond},     {"detach", test_detach},
	{"barrier", test_barrier}, {"rwlock", test_rwlock}, {"robust", test_robust},
	{"futex", test_futex},     {"shared", test_shared}, {"sched", test_sched},
	{"exitgroup", test_exitgroup},
};

int main(int argc, char **argv)
{
	for (unsigned i = 0; i < sizeof tests / sizeof tests[0]; i++) {
		/* exitgroup ends the process: only when asked for by name. */
		if (argc > 1 ? strcmp(argv[1], tests[i].name) == 0 : strcmp(tests[i].name, "exitgroup") != 0) {
			tests[i].run();
			if (argc > 1)
				return 0;
		}
	}
	if (argc > 1) {
		fprintf(stderr, "threads: no test named %s\n", argv[1]);
		return 2;
	}
	return 0;
}
