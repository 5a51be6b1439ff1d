/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#include "clock.h"
#include "copier.h"

/* Room for ad_vm_read()'s iovec arrays, and for a sanitizer's stack. */
#define COPIER_STACK_SIZE ((size_t)1 << 20)

/* A woken thread that waits for its share in a futex is woken again late
 * (tens of microseconds on a virtual machine, a tenth of a small pause): it
 * is woken when the pause begins and spins until its share comes, which
 * planning the copy takes about as long as. Bounded, then it sleeps. */
#define SPIN_NS 2000000

struct ad_copier {
	pthread_t thread;
	sem_t go;       /* the pause began */
	sem_t given_sem; /* its share is there (after the spin) */
	sem_t done_sem;  /* its share is copied (after the spin) */
	atomic_bool given, done;
	bool armed;
	struct ad_vm vm;
	struct ad_vm_range first;
	const struct ad_vm_range *rest;
	size_t n;
	bool copied; /* written by the thread before done */
};

static bool has_second_cpu(void)
{
	cpu_set_t cpus;
	return sched_getaffinity(0, sizeof(cpus), &cpus) == 0 && CPU_COUNT(&cpus) > 1;
}

static void wait_on(sem_t *sem)
{
	while (sem_wait(sem) != 0 && errno == EINTR)
		;
}

/* Until *flag, spinning at most SPIN_NS, then asleep on sem (which is
 * posted after the flag is set). */
static void spin_then_wait(atomic_bool *flag, sem_t *sem)
{
	int64_t until = ad_monotonic_ns() + SPIN_NS;
	for (unsigned i = 0; !atomic_load_explicit(flag, memory_order_acquire); i++) {
		if ((i & 1023) == 0 && ad_monotonic_ns() > until) {
			wait_on(sem);
			return;
		}
#if defined(__x86_64__) || defined(__i386__)
		__builtin_ia32_pause();
#endif
	}
}

static void *copy_share(void *arg)
{
	struct ad_copier *c = arg;
	wait_on(&c->go);
	spin_then_wait(&c->given, &c->given_sem);
	struct ad_error *err = NULL;
	if (c->first.len)
		err = ad_vm_read(&c->vm, &c->first, 1);
	if (!err && c->n)
		err = ad_vm_read(&c->vm, c->rest, c->n);
	c->copied = !err;
	ad_error_destroy(err);
	/* Said before the thread ends: ending it takes longer than the pause
	 * can wait. */
	atomic_store_explicit(&c->done, true, memory_order_release);
	sem_post(&c->done_sem);
	return NULL;
}

/* The thread takes no signal: a stop's SIGCHLD is the sampler's to wait for
 * (snapshot.c), and the thread inherits the sampler's scheduling. */
static bool start_thread(struct ad_copier *c)
{
	pthread_attr_t attr;
	if (pthread_attr_init(&attr) != 0)
		return false;
	sigset_t all, old;
	sigfillset(&all);
	bool started = pthread_attr_setstacksize(&attr, COPIER_STACK_SIZE) == 0 &&
		       pthread_sigmask(SIG_SETMASK, &all, &old) == 0;
	if (started) {
		started = pthread_create(&c->thread, &attr, copy_share, c) == 0;
		pthread_sigmask(SIG_SETMASK, &old, NULL);
	}
	pthread_attr_destroy(&attr);
	return started;
}

struct ad_copier *ad_copier_start(pid_t pid)
{
	if (!has_second_cpu())
		return NULL;
	struct ad_copier *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	ad_vm_init(&c->vm, pid);
	atomic_init(&c->given, false);
	atomic_init(&c->done, false);
	bool go = sem_init(&c->go, 0, 0) == 0;
	bool given = go && sem_init(&c->given_sem, 0, 0) == 0;
	bool done = given && sem_init(&c->done_sem, 0, 0) == 0;
	if (done && start_thread(c))
		return c;
	if (done)
		sem_destroy(&c->done_sem);
	if (given)
		sem_destroy(&c->given_sem);
	if (go)
		sem_destroy(&c->go);
	ad_vm_deinit(&c->vm);
	free(c);
	return NULL;
}

void ad_copier_arm(struct ad_copier *c)
{
	if (!c || c->armed)
		return;
	c->armed = true;
	sem_post(&c->go);
}

void ad_copier_give(struct ad_copier *c, const struct ad_vm_range *first,
		    const struct ad_vm_range *rest, size_t n)
{
	if (atomic_load_explicit(&c->given, memory_order_relaxed))
		return;
	ad_copier_arm(c);
	c->first = *first;
	c->rest = rest;
	c->n = n;
	atomic_store_explicit(&c->given, true, memory_order_release);
	sem_post(&c->given_sem);
}

bool ad_copier_wait(struct ad_copier *c)
{
	spin_then_wait(&c->done, &c->done_sem);
	return c->copied;
}

void ad_copier_finish(struct ad_copier *c)
{
	if (!c)
		return;
	static const struct ad_vm_range none;
	ad_copier_give(c, &none, NULL, 0); /* when it had none: it only ends */
	pthread_join(c->thread, NULL);
	sem_destroy(&c->done_sem);
	sem_destroy(&c->given_sem);
	sem_destroy(&c->go);
	ad_vm_deinit(&c->vm);
	free(c);
}
