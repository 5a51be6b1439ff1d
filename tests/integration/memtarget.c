/* SPDX-License-Identifier: MIT */
/* Target whose memory the snapshot tests know.
 *
 * Prints one line
 * "READY heap=0x… rodata=0x… data=0x… stack0=0x… stack1=0x… sparse=0x… file=0x…
 * dense=0x…"
 * where (markers in memtarget.h) heap holds the u64 MEM_INITIAL, rodata the
 * string RODATA_MARKER, data (a writable global) DATA_MARKER, and stackN a
 * u64 local of thread "mt-worker-N" equal to STACK_MARKER + N, live while
 * the thread waits; sparse, file and dense are the mappings described there.
 * Then serves stdin: "set HEX" stores HEX in the heap u64 and in data and
 * answers "ok"; end of input exits. */
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "memtarget.h"

static const char rodata_marker[] = RODATA_MARKER;
static volatile uint64_t data_marker = DATA_MARKER;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cond = PTHREAD_COND_INITIALIZER;
static volatile uint64_t *stack_slots[2];
static int done;

static void *worker(void *arg)
{
	uintptr_t n = (uintptr_t)arg;
	volatile uint64_t local = STACK_MARKER + n;
	pthread_mutex_lock(&lock);
	stack_slots[n] = &local;
	pthread_cond_broadcast(&cond);
	while (!done)
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	return NULL;
}

static char *map_sparse(void)
{
	char *p = mmap(NULL, SPARSE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
		       -1, 0);
	if (p == MAP_FAILED)
		exit(1);
	*(volatile uint64_t *)(p + SPARSE_OFFSET) = SPARSE_MARKER;
	return p;
}

static char *map_short_file(void)
{
	char path[] = "/tmp/memtarget.XXXXXX";
	int fd = mkstemp(path);
	long page = sysconf(_SC_PAGESIZE);
	if (fd < 0 || ftruncate(fd, page) < 0 || pwrite(fd, FILE_MARKER, sizeof(FILE_MARKER), 0) < 0)
		exit(1);
	char *p = mmap(NULL, 3 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
	unlink(path);
	close(fd);
	if (p == MAP_FAILED)
		exit(1);
	return p;
}

static char *map_dense(void)
{
	char *p = mmap(NULL, DENSE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		       0);
	if (p == MAP_FAILED)
		exit(1);
	for (size_t off = 0; off < DENSE_SIZE; off += 8)
		*(uint64_t *)(p + off) = DENSE_VALUE(off);
	return p;
}

int main(void)
{
	char *sparse = map_sparse(), *file = map_short_file(), *dense = map_dense();
	volatile uint64_t *heap = malloc(64);
	if (!heap)
		return 1;
	*heap = MEM_INITIAL;
	pthread_t threads[2];
	for (uintptr_t i = 0; i < 2; i++) {
		char name[16];
		snprintf(name, sizeof(name), "mt-worker-%u", (unsigned)i);
		if (pthread_create(&threads[i], NULL, worker, (void *)i) != 0)
			return 1;
		pthread_setname_np(threads[i], name);
	}
	pthread_mutex_lock(&lock);
	while (!stack_slots[0] || !stack_slots[1])
		pthread_cond_wait(&cond, &lock);
	pthread_mutex_unlock(&lock);
	printf("READY heap=%p rodata=%p data=%p stack0=%p stack1=%p sparse=%p file=%p dense=%p\n",
	       (void *)heap, (const void *)rodata_marker, (void *)&data_marker,
	       (void *)stack_slots[0], (void *)stack_slots[1], (void *)sparse, (void *)file,
	       (void *)dense);
	fflush(stdout);
	char line[128];
	while (fgets(line, sizeof(line), stdin)) {
		uint64_t v;
		if (sscanf(line, "set %" SCNx64, &v) == 1) {
			*heap = v;
			data_marker = v;
			printf("ok\n");
			fflush(stdout);
		}
	}
	pthread_mutex_lock(&lock);
	done = 1;
	pthread_cond_broadcast(&cond);
	pthread_mutex_unlock(&lock);
	for (int i = 0; i < 2; i++)
		pthread_join(threads[i], NULL);
	free((void *)heap);
	return 0;
}
