/* SPDX-License-Identifier: MIT */
/* Target of the attach tests: threads that keep being created and ended, and
 * signals that must all arrive.
 *
 *   churn --counters FILE [--workers N]
 *       Runs W worker threads (each beats a heartbeat) and a churner that
 *       creates short-lived threads, each of which creates a grandchild (a
 *       thread cloned by a thread that may already be seized). Counts
 *       SIGUSR1 and SIGRTMIN in FILE (shared memory). Prints READY, then on
 *       SIGTERM stops, joins everything and prints
 *       "usr1=N rt=N created=N joined=N workers=A/W".
 *   churn --send PID --counters FILE --usr1 N --rt N [--interval-us U]
 *       Sends N SIGUSR1, each only after the previous one was counted (so
 *       none can merge with a pending one: a lost signal is a lost signal),
 *       and N queued SIGRTMIN; fails if any does not arrive within 5 s.
 *   churn --read FILE
 *       Prints "usr1=N rt=N heartbeat=N" from FILE. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define MAX_WORKERS 16

struct counters {
	_Atomic uint64_t usr1, rt, created, joined;
	_Atomic uint64_t heartbeat[MAX_WORKERS];
};

static struct counters *counters;
static volatile sig_atomic_t term;   /* SIGTERM arrived */
static atomic_bool stop_threads;        /* main tells the threads to end */

static void die(const char *what)
{
	fprintf(stderr, "churn: %s: %s\n", what, strerror(errno));
	exit(2);
}

static struct counters *map_counters(const char *path, bool create)
{
	int fd = open(path, create ? O_RDWR | O_CREAT | O_TRUNC : O_RDWR, 0600);
	if (fd < 0)
		die(path);
	if (create && ftruncate(fd, sizeof(struct counters)) < 0)
		die("ftruncate");
	void *p = mmap(NULL, sizeof(struct counters), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (p == MAP_FAILED)
		die("mmap");
	close(fd);
	return p;
}

static void sleep_us(long us)
{
	struct timespec ts = { us / 1000000, (us % 1000000) * 1000 };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static uint64_t heartbeat_sum(void)
{
	uint64_t sum = 0;
	for (int i = 0; i < MAX_WORKERS; i++)
		sum += atomic_load(&counters->heartbeat[i]);
	return sum;
}

/* ---- the target */

static void on_usr1(int sig)
{
	(void)sig;
	atomic_fetch_add(&counters->usr1, 1);
}

static void on_rt(int sig)
{
	(void)sig;
	atomic_fetch_add(&counters->rt, 1);
}

static void on_term(int sig)
{
	(void)sig;
	term = 1;
}

static void *worker(void *arg)
{
	_Atomic uint64_t *beat = arg;
	while (!atomic_load(&stop_threads)) {
		atomic_fetch_add(beat, 1);
		sleep_us(500);
	}
	return NULL;
}

static void *grandchild(void *arg)
{
	return arg;
}

static void *child(void *arg)
{
	pthread_t g;
	if (pthread_create(&g, NULL, grandchild, arg) == 0) {
		atomic_fetch_add(&counters->created, 1);
		pthread_join(g, NULL);
		atomic_fetch_add(&counters->joined, 1);
	}
	return NULL;
}

static void *churner(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop_threads)) {
		pthread_t t;
		if (pthread_create(&t, NULL, child, NULL) != 0) {
			sleep_us(1000);
			continue;
		}
		atomic_fetch_add(&counters->created, 1);
		pthread_join(t, NULL);
		atomic_fetch_add(&counters->joined, 1);
		sleep_us(100);
	}
	return NULL;
}

static void install(int sig, void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler, .sa_flags = SA_RESTART };
	sigemptyset(&sa.sa_mask);
	if (sigaction(sig, &sa, NULL) < 0)
		die("sigaction");
}

static int run_target(const char *path, int nworkers)
{
	counters = map_counters(path, true);
	install(SIGUSR1, on_usr1);
	install(SIGRTMIN, on_rt);
	install(SIGTERM, on_term);
	pthread_t workers[MAX_WORKERS], churn_thread;
	for (int i = 0; i < nworkers; i++) {
		if (pthread_create(&workers[i], NULL, worker, &counters->heartbeat[i]) != 0)
			die("pthread_create");
		char name[16];
		snprintf(name, sizeof(name), "worker-%d", i);
		pthread_setname_np(workers[i], name);
	}
	if (pthread_create(&churn_thread, NULL, churner, NULL) != 0)
		die("pthread_create");
	pthread_setname_np(churn_thread, "churner");
	printf("READY\n");
	fflush(stdout);
	while (!term)
		sleep_us(2000);
	/* Workers still beating at the end: none was lost or left stopped. */
	uint64_t before[MAX_WORKERS];
	for (int i = 0; i < nworkers; i++)
		before[i] = atomic_load(&counters->heartbeat[i]);
	sleep_us(100000);
	int alive = 0;
	for (int i = 0; i < nworkers; i++)
		alive += atomic_load(&counters->heartbeat[i]) > before[i];
	atomic_store(&stop_threads, true);
	for (int i = 0; i < nworkers; i++)
		pthread_join(workers[i], NULL);
	pthread_join(churn_thread, NULL);
	printf("usr1=%llu rt=%llu created=%llu joined=%llu workers=%d/%d\n",
	       (unsigned long long)counters->usr1, (unsigned long long)counters->rt,
	       (unsigned long long)counters->created, (unsigned long long)counters->joined, alive,
	       nworkers);
	return 0;
}

/* ---- the sender */

static bool wait_for(_Atomic uint64_t *counter, uint64_t value)
{
	for (int i = 0; i < 50000; i++) {
		if (atomic_load(counter) >= value)
			return true;
		sleep_us(100);
	}
	return false;
}

static int run_sender(pid_t pid, const char *path, long usr1, long rt, long interval_us)
{
	counters = map_counters(path, false);
	uint64_t usr1_base = atomic_load(&counters->usr1), rt_base = atomic_load(&counters->rt);
	long n = usr1 > rt ? usr1 : rt;
	for (long i = 1; i <= n; i++) {
		if (i <= rt && sigqueue(pid, SIGRTMIN, (union sigval){ .sival_int = (int)i }) < 0)
			die("sigqueue");
		if (i <= usr1) {
			if (kill(pid, SIGUSR1) < 0)
				die("kill");
			if (!wait_for(&counters->usr1, usr1_base + (uint64_t)i)) {
				fprintf(stderr, "churn: SIGUSR1 number %ld was never handled\n", i);
				return 1;
			}
		}
		if (interval_us)
			sleep_us(interval_us);
	}
	if (!wait_for(&counters->rt, rt_base + (uint64_t)rt)) {
		fprintf(stderr, "churn: %llu of %ld SIGRTMIN were handled\n",
			(unsigned long long)(atomic_load(&counters->rt) - rt_base), rt);
		return 1;
	}
	printf("sent usr1=%ld rt=%ld\n", usr1, rt);
	return 0;
}

int main(int argc, char **argv)
{
	const char *path = NULL;
	pid_t send_to = 0;
	long usr1 = 0, rt = 0, interval_us = 0, nworkers = 4;
	const char *read_path = NULL;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			goto usage;
		if (strcmp(a, "--counters") == 0)
			path = v;
		else if (strcmp(a, "--workers") == 0)
			nworkers = atol(v);
		else if (strcmp(a, "--send") == 0)
			send_to = (pid_t)atol(v);
		else if (strcmp(a, "--usr1") == 0)
			usr1 = atol(v);
		else if (strcmp(a, "--rt") == 0)
			rt = atol(v);
		else if (strcmp(a, "--interval-us") == 0)
			interval_us = atol(v);
		else if (strcmp(a, "--read") == 0)
			read_path = v;
		else
			goto usage;
		i++;
	}
	if (read_path) {
		counters = map_counters(read_path, false);
		printf("usr1=%llu rt=%llu heartbeat=%llu\n", (unsigned long long)counters->usr1,
		       (unsigned long long)counters->rt, (unsigned long long)heartbeat_sum());
		return 0;
	}
	if (!path || nworkers < 1 || nworkers > MAX_WORKERS)
		goto usage;
	if (send_to)
		return run_sender(send_to, path, usr1, rt, interval_us);
	return run_target(path, (int)nworkers);
usage:
	fprintf(stderr, "usage: churn --counters FILE [--workers N]\n"
			"       churn --send PID --counters FILE --usr1 N --rt N [--interval-us U]\n"
			"       churn --read FILE\n");
	return 2;
}
