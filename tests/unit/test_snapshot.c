/* SPDX-License-Identifier: MIT */
/* Stopping, resuming and snapshotting a child whose memory we know
 * (tests/integration/memtarget, markers in memtarget.h), plus /proc parsing. */
#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "asyncdump/process.h"
#include "asyncdump/snapshot.h"
#include "proc.h"
#include "spare.h"
#include "../integration/memtarget.h"

struct target {
	pid_t pid;
	FILE *in, *out;
	uint64_t heap, rodata, data, stack[2], sparse, file, dense;
};

static void assert_ok(struct ad_error *err)
{
	ck_assert_msg(err == NULL, "unexpected error: %s", err ? err->message : "");
}

static void assert_code(struct ad_error *err, enum ad_error_code code, const char *needle)
{
	ck_assert_msg(err != NULL, "expected error %s", ad_error_code_name(code));
	ck_assert_msg(err->code == code, "code %s, expected %s: %s", ad_error_code_name(err->code),
		      ad_error_code_name(code), err->message);
	if (needle)
		ck_assert_msg(strstr(err->message, needle), "'%s' not in: %s", needle, err->message);
	ad_error_destroy(err);
}

static void start_target(struct target *t)
{
	const char *top = getenv("top_builddir");
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/integration/memtarget", top ? top : ".");
	int in[2], out[2];
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	t->pid = fork();
	ck_assert_int_ge(t->pid, 0);
	if (t->pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		execl(path, path, (char *)NULL);
		fprintf(stderr, "cannot run %s: %s\n", path, strerror(errno));
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	t->in = fdopen(in[1], "w");
	t->out = fdopen(out[0], "r");
	char line[512];
	ck_assert_msg(fgets(line, sizeof(line), t->out), "memtarget (%s) did not start", path);
	int n = sscanf(line, "READY heap=%" SCNx64 " rodata=%" SCNx64 " data=%" SCNx64
			     " stack0=%" SCNx64 " stack1=%" SCNx64 " sparse=%" SCNx64
			     " file=%" SCNx64 " dense=%" SCNx64, &t->heap, &t->rodata, &t->data,
		       &t->stack[0], &t->stack[1], &t->sparse, &t->file, &t->dense);
	ck_assert_msg(n == 8, "unexpected line from memtarget: %s", line);
}

static void set_value(struct target *t, uint64_t v)
{
	char line[64];
	fprintf(t->in, "set %" PRIx64 "\n", v);
	fflush(t->in);
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), t->out));
	ck_assert_str_eq(line, "ok\n");
}

static void stop_target(struct target *t)
{
	fclose(t->in);
	int status;
	ck_assert_int_eq(waitpid(t->pid, &status, 0), t->pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		      "memtarget did not exit cleanly (status 0x%x)", status);
	fclose(t->out);
}

static char thread_state(pid_t pid, pid_t tid)
{
	struct ad_proc_status st;
	struct ad_error *err = ad_proc_read_status(pid, tid, &st);
	if (err) {
		ad_error_destroy(err);
		return '?';
	}
	return st.state;
}

/* ---- snapshot */

/* Every u64 of the dense mapping as memtarget wrote it: a copy of this size
 * is shared between the sampler and its copier, which takes the second half
 * of the bytes from the middle of a range. */
static void assert_dense_copied(const struct ad_snapshot *snap, const struct target *t)
{
	static uint64_t got[DENSE_SIZE / 8];
	assert_ok(ad_read(snap->reader, t->dense, got, sizeof(got)));
	for (size_t i = 0; i < DENSE_SIZE / 8; i++)
		ck_assert_msg(got[i] == DENSE_VALUE(i * 8),
			      "dense mapping at offset 0x%zx: 0x%" PRIx64 ", want 0x%" PRIx64, i * 8,
			      got[i], DENSE_VALUE(i * 8));
}

START_TEST(snapshot_is_a_copy_of_writable_memory)
{
	struct target t;
	start_target(&t);
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, NULL, &snap));
	set_value(&t, 0x2222);  /* the target moves on; the snapshot must not */

	uint64_t v;
	assert_ok(ad_read_u64(snap->reader, t.heap, &v));
	ck_assert_uint_eq(v, MEM_INITIAL);
	assert_ok(ad_read_u64(snap->reader, t.data, &v));
	ck_assert_uint_eq(v, DATA_MARKER);
	struct ad_reader *live;
	assert_ok(ad_reader_live_create(t.pid, &live));
	assert_ok(ad_read_u64(live, t.heap, &v));
	ck_assert_uint_eq(v, 0x2222);
	ad_reader_destroy(live);

	const struct ad_mapping *heap = ad_snapshot_mapping(snap, t.heap);
	ck_assert_ptr_nonnull(heap);
	ck_assert_str_eq(heap->perms, "rw-p");
	ck_assert_uint_ge(snap->copied_bytes, DENSE_SIZE);
	assert_dense_copied(snap, &t);
	ad_snapshot_destroy(snap);
	stop_target(&t);
}
END_TEST

START_TEST(snapshot_reads_read_only_memory_live)
{
	struct target t;
	start_target(&t);
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, NULL, &snap));
	char text[sizeof(RODATA_MARKER)];
	assert_ok(ad_read(snap->reader, t.rodata, text, sizeof(text)));
	ck_assert_str_eq(text, RODATA_MARKER);
	const struct ad_mapping *m = ad_snapshot_mapping(snap, t.rodata);
	ck_assert_ptr_nonnull(m);
	ck_assert_int_eq(m->perms[1], '-');
	ck_assert_ptr_nonnull(m->path);
	ck_assert_msg(strstr(m->path, "memtarget"), "rodata in %s", m->path);
	/* Nothing is mapped at 0 or 8. */
	uint64_t v;
	struct ad_error *err = ad_read_u64(snap->reader, 8, &v);
	ck_assert_int_eq(err->code, AD_ERROR_FAULT);
	ck_assert_uint_eq(err->address, 8);
	ad_error_destroy(err);
	ad_snapshot_destroy(snap);
	stop_target(&t);
}
END_TEST

START_TEST(snapshot_copies_stacks_above_the_stack_pointer)
{
	struct target t;
	start_target(&t);
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, NULL, &snap));
	for (int i = 0; i < 2; i++) {
		uint64_t v;
		assert_ok(ad_read_u64(snap->reader, t.stack[i], &v));
		ck_assert_uint_eq(v, STACK_MARKER + (uint64_t)i);
		/* The unused bottom of the stack mapping was not copied. */
		const struct ad_mapping *m = ad_snapshot_mapping(snap, t.stack[i]);
		ck_assert_ptr_nonnull(m);
		struct ad_error *err = ad_read_u64(snap->reader, m->start, &v);
		ck_assert_ptr_nonnull(err);
		ck_assert_int_eq(err->code, AD_ERROR_FAULT);
		ck_assert_uint_eq(err->address, m->start);
		ad_error_destroy(err);
		/* It was copied from the thread's stack pointer minus the red zone. */
		bool found = false;
		for (size_t k = 0; k < snap->nthreads; k++) {
			uint64_t sp = snap->threads[k].regs.rsp;
			if (sp < m->start || sp >= m->end)
				continue;
			found = true;
			assert_ok(ad_read_u64(snap->reader, sp - 128, &v));
			err = ad_read_u64(snap->reader, (sp - 128 - 512) & ~(uint64_t)15, &v);
			ck_assert_ptr_nonnull(err);
			ad_error_destroy(err);
		}
		ck_assert(found);
	}
	/* The copy is a small part of the writable mappings. */
	uint64_t writable = 0;
	for (size_t i = 0; i < snap->nmappings; i++) {
		if (strcmp(snap->mappings[i].perms, "rw-p") == 0)
			writable += snap->mappings[i].end - snap->mappings[i].start;
	}
	ck_assert_uint_lt(snap->copied_bytes, writable);
	ad_snapshot_destroy(snap);
	stop_target(&t);
}
END_TEST

/* Untouched anonymous pages are not copied and read as zeros. */
START_TEST(snapshot_skips_untouched_anonymous_pages)
{
	struct target t;
	start_target(&t);
	/* Less than the sparse mapping alone: only its touched page is copied. */
	struct ad_snapshot_options o = { .max_bytes = SPARSE_SIZE / 2 };
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, &o, &snap));
	ck_assert_uint_lt(snap->copied_bytes, SPARSE_SIZE / 2);
	uint64_t v;
	assert_ok(ad_read_u64(snap->reader, t.sparse + SPARSE_OFFSET, &v));
	ck_assert_uint_eq(v, SPARSE_MARKER);
	uint8_t zeros[256], expect[256] = { 0 };
	memset(zeros, 0xff, sizeof(zeros));
	assert_ok(ad_read(snap->reader, t.sparse + 4096, zeros, sizeof(zeros)));
	ck_assert_int_eq(memcmp(zeros, expect, sizeof(zeros)), 0);
	/* A read across the touched page's boundary: copied and zero parts. */
	assert_ok(ad_read(snap->reader, t.sparse + SPARSE_OFFSET - 8, zeros, 16));
	memcpy(&v, zeros + 8, 8);
	ck_assert_uint_eq(v, SPARSE_MARKER);
	ad_snapshot_destroy(snap);
	stop_target(&t);
}
END_TEST

/* Pages that cannot be read (a file mapping past its end) fault; the copy
 * goes on around them. */
START_TEST(snapshot_faults_on_unreadable_pages_only)
{
	struct target t;
	start_target(&t);
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, NULL, &snap));
	char text[sizeof(FILE_MARKER)];
	assert_ok(ad_read(snap->reader, t.file, text, sizeof(text)));
	ck_assert_str_eq(text, FILE_MARKER);
	long page = sysconf(_SC_PAGESIZE);
	uint64_t v;
	for (int i = 1; i < 3; i++) {
		struct ad_error *err = ad_read_u64(snap->reader, t.file + (uint64_t)(i * page), &v);
		ck_assert_ptr_nonnull(err);
		ck_assert_int_eq(err->code, AD_ERROR_FAULT);
		ck_assert_uint_eq(err->address, t.file + (uint64_t)(i * page));
		ad_error_destroy(err);
	}
	struct ad_error *err = ad_read(snap->reader, t.file + (uint64_t)page - 4, &v, 8);
	ck_assert_uint_eq(err->address, t.file + (uint64_t)page);
	ad_error_destroy(err);
	assert_ok(ad_read_u64(snap->reader, t.heap, &v));
	ck_assert_uint_eq(v, MEM_INITIAL);
	for (int i = 0; i < 2; i++) {
		assert_ok(ad_read_u64(snap->reader, t.stack[i], &v));
		ck_assert_uint_eq(v, STACK_MARKER + (uint64_t)i);
	}
	/* The file mapping lies above the dense one, in the copier's half: its
	 * share failed at the unreadable pages and was copied again. */
	ck_assert_uint_gt(t.file, t.dense);
	assert_dense_copied(snap, &t);
	ad_snapshot_destroy(snap);
	stop_target(&t);
}
END_TEST

/* A copy buffer kept from an earlier sample (spare.h) holds that sample's
 * bytes: a snapshot into it must read what it copied, zeros where a sparse
 * mapping has no pages, and faults where pages could not be read, never
 * what the buffer held before. */
START_TEST(snapshot_into_a_kept_buffer_reads_nothing_it_held)
{
	struct target t;
	start_target(&t);
	struct ad_spare *spare = ad_spare_create();
	ck_assert_ptr_nonnull(spare);
	struct ad_snapshot_options o = { .spare = spare };
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, &o, &snap));
	ad_snapshot_destroy(snap);
	uint64_t kept = ad_spare_kept_bytes(spare);
	ck_assert_uint_ge(kept, DENSE_SIZE);
	size_t len;
	char *buf = ad_spare_take(spare, (size_t)kept, &len);
	ck_assert_ptr_nonnull(buf);
	memset(buf, 0xa5, len);
	ad_spare_give(spare, buf, len);

	assert_ok(ad_snapshot_take(t.pid, &o, &snap));
	ck_assert_uint_eq(ad_spare_kept_bytes(spare), 0); /* it took the buffer */
	uint64_t v;
	assert_ok(ad_read_u64(snap->reader, t.heap, &v));
	ck_assert_uint_eq(v, MEM_INITIAL);
	assert_ok(ad_read_u64(snap->reader, t.sparse + SPARSE_OFFSET, &v));
	ck_assert_uint_eq(v, SPARSE_MARKER);
	assert_ok(ad_read_u64(snap->reader, t.sparse + 4096, &v));
	ck_assert_uint_eq(v, 0);
	struct ad_error *err = ad_read_u64(snap->reader, t.file + (uint64_t)sysconf(_SC_PAGESIZE),
					   &v);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_FAULT);
	ad_error_destroy(err);
	assert_dense_copied(snap, &t);
	ad_snapshot_destroy(snap);
	ck_assert_uint_eq(ad_spare_kept_bytes(spare), len); /* and gave it back */
	ad_spare_unref(spare);
	stop_target(&t);
}
END_TEST

/* What a spare keeps: given mappings, taken by size (not one much larger
 * than asked for), unmapped once idle long enough. */
START_TEST(spare_keeps_mappings_until_idle)
{
	struct ad_spare *spare = ad_spare_create();
	size_t big = 8u << 20, small = 2u << 20, got = 0;
	char *b = mmap(NULL, big, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(b, MAP_FAILED);
	ad_spare_give(spare, b, big);
	ck_assert_uint_eq(ad_spare_kept_bytes(spare), big);
	ck_assert_ptr_null(ad_spare_take(spare, small, &got)); /* 4x what is asked */
	ck_assert_ptr_null(ad_spare_take(spare, big + 1, &got));
	ck_assert_ptr_eq(ad_spare_take(spare, big / 2, &got), b);
	ck_assert_uint_eq(got, big);
	ck_assert_uint_eq(ad_spare_kept_bytes(spare), 0);
	b[big - 1] = 1; /* still ours, still writable */
	ad_spare_give(spare, b, big);
	ad_spare_trim(spare, 60000); /* not idle for a minute yet */
	ck_assert_uint_eq(ad_spare_kept_bytes(spare), big);
	ad_spare_trim(spare, 0);
	ck_assert_uint_eq(ad_spare_kept_bytes(spare), 0);
	ck_assert_ptr_null(ad_spare_take(spare, 1, &got));
	ck_assert_ptr_null(ad_spare_take(NULL, 1, &got));
	ad_spare_unref(spare);
}
END_TEST

START_TEST(snapshot_records_threads_exe_and_times)
{
	struct target t;
	start_target(&t);
	struct timespec before;
	clock_gettime(CLOCK_REALTIME, &before);
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, NULL, &snap));
	ck_assert_int_eq(snap->pid, t.pid);
	ck_assert_uint_eq(snap->nthreads, MEMTARGET_THREADS);
	ck_assert_uint_gt(snap->pause_us, 0);
	ck_assert_int_ge(snap->captured_at.tv_sec, before.tv_sec);
	ck_assert(snap->monotonic.tv_sec > 0 || snap->monotonic.tv_nsec > 0);
	ck_assert_ptr_nonnull(snap->exe);
	const char *base = strrchr(snap->exe, '/');
	ck_assert_str_eq(base ? base + 1 : snap->exe, "memtarget");
	int workers = 0;
	bool main_seen = false;
	for (size_t i = 0; i < snap->nthreads; i++) {
		const struct ad_thread *th = &snap->threads[i];
		ck_assert_uint_ne(th->regs.rsp, 0);
		ck_assert_uint_ne(th->regs.rip, 0);
		ck_assert_uint_ne(th->regs.fs_base, 0);
		workers += strncmp(th->name, "mt-worker-", 10) == 0;
		main_seen |= th->tid == t.pid && strcmp(th->name, "memtarget") == 0;
	}
	ck_assert_int_eq(workers, 2);
	ck_assert(main_seen);
	ck_assert_uint_gt(snap->nmappings, 5);
	for (size_t i = 1; i < snap->nmappings; i++)
		ck_assert_uint_ge(snap->mappings[i].start, snap->mappings[i - 1].end);
	ad_snapshot_destroy(snap);
	stop_target(&t);
}
END_TEST

static const struct ad_thread *thread_of(const struct ad_snapshot *snap, pid_t tid)
{
	for (size_t i = 0; i < snap->nthreads; i++)
		if (snap->threads[i].tid == tid)
			return &snap->threads[i];
	return NULL;
}

/* Every thread of memtarget ends blocked for good, but one just let go by a
 * stop (or just started) runs until it is back in its system call: on a
 * loaded machine that took long enough for a snapshot to see it running. */
static void wait_until_all_threads_sleep(pid_t pid, const struct ad_snapshot *snap)
{
	for (int tries = 0; tries < 500; tries++) {
		size_t sleeping = 0;
		for (size_t i = 0; i < snap->nthreads; i++)
			sleeping += thread_state(pid, snap->threads[i].tid) == 'S';
		if (sleeping == snap->nthreads)
			return;
		usleep(10000);
	}
	ck_abort_msg("memtarget's threads did not all go back to sleep within 5 s");
}

/* Without a stop, every thread of memtarget is blocked in a system call:
 * its stack pointer and thread pointer are those a stop gives (the program
 * counter may be a restarted system call's, 2 bytes before). */
START_TEST(snapshot_without_a_stop_knows_blocked_threads)
{
	struct target t;
	start_target(&t);
	struct ad_snapshot *stopped, *running;
	assert_ok(ad_snapshot_take(t.pid, NULL, &stopped));
	wait_until_all_threads_sleep(t.pid, stopped);
	struct ad_snapshot_options o = { .no_stop = true };
	assert_ok(ad_snapshot_take(t.pid, &o, &running));
	ck_assert(stopped->stopped);
	ck_assert(!running->stopped);
	ck_assert_uint_eq(running->pause_us, 0);
	ck_assert_uint_eq(running->nthreads_running, 0);
	ck_assert_uint_eq(running->nthreads, MEMTARGET_THREADS);
	for (size_t i = 0; i < running->nthreads; i++) {
		const struct ad_thread *th = &running->threads[i];
		const struct ad_thread *was = thread_of(stopped, th->tid);
		ck_assert_ptr_nonnull(was);
		ck_assert(th->partial_regs && !th->running);
		ck_assert_str_eq(th->name, was->name);
		ck_assert_uint_eq(th->regs.rsp, was->regs.rsp);
		ck_assert_uint_eq(th->regs.fs_base, was->regs.fs_base);
		ck_assert(th->regs.rip == was->regs.rip || th->regs.rip == was->regs.rip + 2);
	}
	/* The workers' stacks are copied above their stack pointers. */
	for (int i = 0; i < 2; i++) {
		uint64_t v;
		assert_ok(ad_read_u64(running->reader, t.stack[i], &v));
		ck_assert_uint_eq(v, STACK_MARKER + (uint64_t)i);
	}
	ad_snapshot_destroy(stopped);
	ad_snapshot_destroy(running);
	stop_target(&t);
}
END_TEST

/* A copy made while the process runs is checked against it: unchanged
 * memory says so, changed memory is taken into the copy. */
START_TEST(snapshot_without_a_stop_is_refreshed)
{
	struct target t;
	start_target(&t);
	struct ad_snapshot *snap;
	struct ad_snapshot_options o = { .no_stop = true };
	assert_ok(ad_snapshot_take(t.pid, &o, &snap));
	struct ad_span spans[] = { { t.heap, t.heap + 8 }, { t.data, t.data + 8 },
				   { t.rodata, t.rodata + 8 } };
	bool changed = true;
	assert_ok(ad_snapshot_refresh(snap, spans, 3, &changed));
	ck_assert(!changed);

	set_value(&t, 0x2222);
	assert_ok(ad_snapshot_refresh(snap, spans, 1, &changed));
	ck_assert(changed);
	uint64_t v;
	assert_ok(ad_read_u64(snap->reader, t.heap, &v));
	ck_assert_uint_eq(v, 0x2222);
	/* data was not asked for: the copy still holds what it read */
	assert_ok(ad_read_u64(snap->reader, t.data, &v));
	ck_assert_uint_eq(v, DATA_MARKER);
	assert_ok(ad_snapshot_refresh(snap, spans, 3, &changed));
	ck_assert(changed); /* data */
	assert_ok(ad_snapshot_refresh(snap, spans, 3, &changed));
	ck_assert(!changed);
	ad_snapshot_destroy(snap);

	struct ad_snapshot *stopped;
	assert_ok(ad_snapshot_take(t.pid, NULL, &stopped));
	assert_code(ad_snapshot_refresh(stopped, spans, 1, &changed), AD_ERROR_INVALID_ARGUMENT,
		    "without a stop");
	ad_snapshot_destroy(stopped);
	stop_target(&t);
}
END_TEST

START_TEST(snapshot_over_the_limit_is_refused)
{
	struct target t;
	start_target(&t);
	struct ad_snapshot_options o = { .max_bytes = 4096 };
	struct ad_snapshot *snap;
	assert_code(ad_snapshot_take(t.pid, &o, &snap), AD_ERROR_TOO_LARGE, "max_snapshot_bytes");
	ck_assert_int_ne(thread_state(t.pid, 0), 't');
	set_value(&t, 0x3333); /* still running */
	stop_target(&t);
}
END_TEST

/* A memory budget shared by samples: asked before the stop, given back
 * when the snapshot is destroyed, and a refusal stops nothing. */
struct budget {
	uint64_t left, admitted, released;
	unsigned asks;
};

static struct ad_error *admit_from(void *arg, uint64_t bytes)
{
	struct budget *b = arg;
	b->asks++;
	if (bytes > b->left)
		return ad_error_create(AD_ERROR_OVERLOADED, "budget: %llu bytes left",
				       (unsigned long long)b->left);
	b->left -= bytes;
	b->admitted += bytes;
	return NULL;
}

static void release_to(void *arg, uint64_t bytes)
{
	struct budget *b = arg;
	b->left += bytes;
	b->released += bytes;
}

START_TEST(snapshot_memory_is_admitted_and_given_back)
{
	struct target t;
	start_target(&t);
	struct budget b = { .left = (uint64_t)1 << 40 };
	struct ad_snapshot_options o = { .admit_memory = admit_from, .release_memory = release_to,
					 .memory_arg = &b };
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, &o, &snap));
	ck_assert_uint_eq(b.asks, 1);
	ck_assert_uint_ge(b.admitted, snap->copied_bytes); /* the copy fits what was admitted */
	ck_assert_uint_eq(b.released, 0);
	ad_snapshot_destroy(snap);
	ck_assert_uint_eq(b.released, b.admitted);

	/* A budget too small for it: refused before anything is stopped. */
	struct budget small = { .left = 4096 };
	o.memory_arg = &small;
	assert_code(ad_snapshot_take(t.pid, &o, &snap), AD_ERROR_OVERLOADED, "budget");
	ck_assert_uint_eq(small.asks, 1);
	ck_assert_uint_eq(small.released, 0);
	ck_assert_int_ne(thread_state(t.pid, 0), 't');
	set_value(&t, 0x4444); /* still running */
	stop_target(&t);
}
END_TEST

/* ---- stop / resume */

static bool blocked_now(int sig)
{
	sigset_t cur;
	pthread_sigmask(SIG_BLOCK, NULL, &cur);
	return sigismember(&cur, sig);
}

START_TEST(stop_holds_every_thread_until_resume)
{
	struct target t;
	start_target(&t);
	ck_assert(!blocked_now(SIGINT));
	struct ad_stopped *s;
	assert_ok(ad_process_stop(t.pid, &s));
	ck_assert_int_eq(ad_stopped_pid(s), t.pid);
	ck_assert_uint_eq(ad_stopped_thread_count(s), MEMTARGET_THREADS);
	for (size_t i = 0; i < ad_stopped_thread_count(s); i++) {
		const struct ad_thread *th = ad_stopped_thread(s, i);
		ck_assert_int_eq(thread_state(t.pid, th->tid), 't');
	}
	ck_assert_ptr_null(ad_stopped_thread(s, MEMTARGET_THREADS));
	ck_assert(blocked_now(SIGINT) && blocked_now(SIGTERM) && blocked_now(SIGHUP) &&
		  blocked_now(SIGQUIT) && blocked_now(SIGCHLD));
	usleep(2000);
	ck_assert_uint_ge(ad_stopped_elapsed_us(s), 2000);
	pid_t tids[MEMTARGET_THREADS];
	for (size_t i = 0; i < MEMTARGET_THREADS; i++)
		tids[i] = ad_stopped_thread(s, i)->tid;
	uint64_t pause_us;
	assert_ok(ad_process_resume_timed(s, &pause_us));
	ck_assert_uint_ge(pause_us, 2000);
	ck_assert(!blocked_now(SIGINT) && !blocked_now(SIGTERM) && !blocked_now(SIGCHLD));
	for (size_t i = 0; i < MEMTARGET_THREADS; i++)
		ck_assert_int_ne(thread_state(t.pid, tids[i]), 't');
	struct ad_proc_status st;
	assert_ok(ad_proc_read_status(t.pid, 0, &st));
	ck_assert_int_eq(st.tracer_pid, 0);
	set_value(&t, 0x4444);
	assert_ok(ad_process_resume(NULL));
	stop_target(&t);
}
END_TEST

static void ignore_sigchld(int sig)
{
	(void)sig;
}

/* Waiting for the stops may take SIGCHLDs (attach.c), but only when the
 * program leaves SIGCHLD at its default: a handler's stays pending for it.
 * Its own child's SIGCHLD is pending (blocked here) when the stop begins,
 * so a sigtimedwait() during the stop would take it first. */
START_TEST(sigchld_of_a_handling_program_is_left_to_it)
{
	struct sigaction handler = { .sa_handler = ignore_sigchld }, old;
	sigemptyset(&handler.sa_mask);
	ck_assert_int_eq(sigaction(SIGCHLD, &handler, &old), 0);
	sigset_t chld, before;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	ck_assert_int_eq(pthread_sigmask(SIG_BLOCK, &chld, &before), 0);
	struct target t;
	start_target(&t);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0)
		_exit(0);
	siginfo_t info;
	ck_assert_int_eq(waitid(P_PID, (id_t)child, &info, WEXITED | WNOWAIT), 0);
	sigset_t pending;
	sigpending(&pending);
	ck_assert(sigismember(&pending, SIGCHLD));
	for (int i = 0; i < 5; i++) {
		struct ad_snapshot *snap;
		assert_ok(ad_snapshot_take(t.pid, NULL, &snap));
		ad_snapshot_destroy(snap);
	}
	/* A pending SIGCHLD keeps the first sender's siginfo: the ptrace-stops'
	 * SIGCHLDs would have replaced the child's only had it been taken. */
	memset(&info, 0, sizeof(info));
	ck_assert_int_eq(sigtimedwait(&chld, &info, &(struct timespec){ 0, 0 }), SIGCHLD);
	ck_assert_msg(info.si_pid == child && info.si_code == CLD_EXITED,
		      "the program's SIGCHLD was taken (pending one from %d, code %d)",
		      (int)info.si_pid, info.si_code);
	ck_assert_int_eq(pthread_sigmask(SIG_SETMASK, &before, NULL), 0);
	int status;
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	stop_target(&t);
	ck_assert_int_eq(sigaction(SIGCHLD, &old, NULL), 0);
}
END_TEST

START_TEST(stopped_child_stays_stopped)
{
	struct target t;
	start_target(&t);
	kill(t.pid, SIGSTOP);
	int status;
	ck_assert_int_eq(waitpid(t.pid, &status, WUNTRACED), t.pid);
	ck_assert(WIFSTOPPED(status));
	struct ad_stopped *s;
	assert_ok(ad_process_stop(t.pid, &s));
	ck_assert_uint_eq(ad_stopped_thread_count(s), MEMTARGET_THREADS);
	assert_ok(ad_process_resume(s));
	usleep(20000);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(thread_state(t.pid, 0), 'T');
	struct ad_snapshot *snap;
	assert_ok(ad_snapshot_take(t.pid, NULL, &snap));
	ad_snapshot_destroy(snap);
	usleep(20000);
	ck_assert_int_eq(thread_state(t.pid, 0), 'T');
	kill(t.pid, SIGCONT);
	set_value(&t, 0x5555); /* runs again */
	stop_target(&t);
}
END_TEST

START_TEST(stop_explains_what_cannot_be_sampled)
{
	assert_code(ad_process_stop(0x3fffffff, &(struct ad_stopped *){ 0 }), AD_ERROR_NO_PROCESS,
		    "1073741823");
	assert_code(ad_process_check(getpid()), AD_ERROR_INVALID_ARGUMENT, "itself");

	pid_t zombie = fork();
	ck_assert_int_ge(zombie, 0);
	if (zombie == 0)
		_exit(0);
	while (thread_state(zombie, 0) != 'Z')
		usleep(1000);
	char pid_text[32];
	snprintf(pid_text, sizeof(pid_text), "pid %d", (int)zombie);
	assert_code(ad_process_check(zombie), AD_ERROR_ZOMBIE, pid_text);
	assert_code(ad_process_stop(zombie, &(struct ad_stopped *){ 0 }), AD_ERROR_ZOMBIE,
		    pid_text);
	struct ad_snapshot *snap;
	assert_code(ad_snapshot_take(zombie, NULL, &snap), AD_ERROR_ZOMBIE, pid_text);
	waitpid(zombie, NULL, 0);
	assert_code(ad_process_check(zombie), AD_ERROR_NO_PROCESS, pid_text);

	struct target t;
	start_target(&t);
	struct ad_snapshot *s2;
	assert_ok(ad_snapshot_take(t.pid, NULL, &s2));
	for (size_t i = 0; i < s2->nthreads; i++) {
		if (s2->threads[i].tid != t.pid)
			assert_code(ad_process_check(s2->threads[i].tid), AD_ERROR_INVALID_ARGUMENT,
				    "is a thread of process");
	}
	ad_snapshot_destroy(s2);
	stop_target(&t);
}
END_TEST

/* ---- /proc parsing */

START_TEST(maps_lines_parse)
{
	char line[] = "7f0a1c000000-7f0a1c021000 rw-p 00001000 fd:01 1234     "
		      "/usr/lib/with space.so (deleted)";
	struct ad_maps_line m;
	ck_assert(ad_proc_parse_maps_line(line, &m));
	ck_assert_uint_eq(m.start, 0x7f0a1c000000ull);
	ck_assert_uint_eq(m.end, 0x7f0a1c021000ull);
	ck_assert_uint_eq(m.offset, 0x1000);
	ck_assert_str_eq(m.perms, "rw-p");
	ck_assert_str_eq(m.path, "/usr/lib/with space.so (deleted)");
	char anon[] = "7ffd00000000-7ffd00001000 ---p 00000000 00:00 0 ";
	ck_assert(ad_proc_parse_maps_line(anon, &m));
	ck_assert_ptr_null(m.path);
	char bad[] = "zzzz-7ffd00001000 ---p 00000000 00:00 0";
	ck_assert(!ad_proc_parse_maps_line(bad, &m));
	char backwards[] = "2000-1000 r--p 00000000 00:00 0";
	ck_assert(!ad_proc_parse_maps_line(backwards, &m));
}
END_TEST

START_TEST(own_maps_and_status_read)
{
	struct ad_mapping *maps;
	size_t n;
	assert_ok(ad_proc_read_maps(getpid(), &maps, &n));
	bool found = false;
	uint64_t here = (uint64_t)(uintptr_t)&assert_ok; /* code */
	for (size_t i = 0; i < n; i++)
		found |= here >= maps[i].start && here < maps[i].end && maps[i].perms[2] == 'x';
	ck_assert(found);
	ad_mappings_free(maps, n);
	struct ad_proc_status st;
	assert_ok(ad_proc_read_status(getpid(), 0, &st));
	ck_assert_int_eq(st.tgid, getpid());
	ck_assert_int_eq(st.ppid, getppid());
	ck_assert_uint_ge(st.threads, 1);
	ck_assert(!st.kernel_thread);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("snapshot");
	TCase *snap = tcase_create("snapshot");
	tcase_add_test(snap, snapshot_is_a_copy_of_writable_memory);
	tcase_add_test(snap, snapshot_reads_read_only_memory_live);
	tcase_add_test(snap, snapshot_copies_stacks_above_the_stack_pointer);
	tcase_add_test(snap, snapshot_skips_untouched_anonymous_pages);
	tcase_add_test(snap, snapshot_faults_on_unreadable_pages_only);
	tcase_add_test(snap, snapshot_without_a_stop_knows_blocked_threads);
	tcase_add_test(snap, snapshot_without_a_stop_is_refreshed);
	tcase_add_test(snap, snapshot_records_threads_exe_and_times);
	tcase_add_test(snap, snapshot_over_the_limit_is_refused);
	tcase_add_test(snap, snapshot_memory_is_admitted_and_given_back);
	tcase_add_test(snap, snapshot_into_a_kept_buffer_reads_nothing_it_held);
	tcase_add_test(snap, spare_keeps_mappings_until_idle);
	tcase_set_timeout(snap, 30);
	suite_add_tcase(s, snap);
	TCase *stop = tcase_create("stop");
	tcase_add_test(stop, stop_holds_every_thread_until_resume);
	tcase_add_test(stop, stopped_child_stays_stopped);
	tcase_add_test(stop, sigchld_of_a_handling_program_is_left_to_it);
	tcase_add_test(stop, stop_explains_what_cannot_be_sampled);
	tcase_set_timeout(stop, 30);
	suite_add_tcase(s, stop);
	TCase *proc = tcase_create("proc");
	tcase_add_test(proc, maps_lines_parse);
	tcase_add_test(proc, own_maps_and_status_read);
	suite_add_tcase(s, proc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
