/* SPDX-License-Identifier: MIT */
/* A sample: stop the process, copy the memory that can change, resume.
 *
 * The pause does nothing but ptrace and bulk process_vm_readv: no DWARF, no
 * formatting, no per-task allocation. Writable mappings (heap, anonymous
 * memory, .data/.bss, the used part of each thread stack) are copied in large
 * blocks; read-only mappings (code, .rodata, vtables) cannot change and are
 * read live, later, through the same reader. Decoding then runs on the copy
 * while the target runs again: attach → snapshot → resume → decode. */
#ifndef ASYNCDUMP_SNAPSHOT_H
#define ASYNCDUMP_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "memory.h"
#include "process.h"

struct ad_spare;

struct ad_snapshot_options {
	/* Upper bound on copied bytes; exceeding it is AD_ERROR_TOO_LARGE
	 * (before anything is stopped when /proc/PID/maps already says so).
	 * 0 means the default (4 GiB). */
	uint64_t max_bytes;
	/* Optional: admits the copy's memory before the target is stopped,
	 * given the bytes planned plus a quarter for what grows before the
	 * stop. An error refuses the sample (nothing is stopped); the copy then
	 * never exceeds what was admitted, which is given back to
	 * release_memory when the snapshot is destroyed. For a budget shared by
	 * samples taken at the same time. */
	struct ad_error *(*admit_memory)(void *arg, uint64_t bytes);
	void (*release_memory)(void *arg, uint64_t bytes);
	void *memory_arg;
	/* The caller ran ad_process_check() just before: not run again. */
	bool process_checked;
	/* Copy while the process runs (no ptrace stop): the copy may be torn
	 * where the process wrote meanwhile (ad_snapshot_refresh() finds
	 * where), and threads are known only when blocked in a system call. */
	bool no_stop;
	/* Where the copy buffer comes from and goes back to: memory kept from
	 * earlier samples (ad_capture() passes its context's); NULL: mapped
	 * for this snapshot alone. */
	struct ad_spare *spare;
};

/* A range of target memory [start, end). */
struct ad_span {
	uint64_t start, end;
};

/* One mapping of /proc/PID/maps. */
struct ad_mapping {
	uint64_t start, end, offset;
	char perms[5];  /* "rw-p" */
	char *path;     /* NULL for anonymous */
};

struct ad_socket_table;

struct ad_snapshot {
	/* Memory admitted through ad_snapshot_options (0: none), given back by
	 * ad_snapshot_destroy(). */
	uint64_t admitted_bytes;
	void (*release_memory)(void *arg, uint64_t bytes);
	void *memory_arg;
	pid_t pid;
	char *exe;                   /* /proc/PID/exe target */
	struct timespec captured_at; /* CLOCK_REALTIME at the stop */
	struct timespec monotonic;   /* CLOCK_MONOTONIC at the stop (deadlines) */
	uint64_t pause_us;           /* first thread stopped → last resumed */
	bool stopped;                /* false: copied while it ran (no_stop) */
	size_t nthreads_running;     /* not stopped: threads on a CPU (not unwound) */
	uint64_t copied_bytes;
	size_t nthreads;
	struct ad_thread *threads;   /* registers as they were during the stop */
	size_t nmappings;
	struct ad_mapping *mappings;
	struct ad_reader *reader;    /* copy for writable memory, live for the rest;
				      * one thread at a time (it caches live reads) */
	/* Read from a core file (core.h): no live process is behind pid, and
	 * mapped files are opened by their paths only. */
	bool from_core;
	struct ad_socket_table *sockets; /* its socket fds, read right after the
					  * resume (core/sockets.h); NULL unreadable */
};

struct ad_error *ad_snapshot_take(pid_t pid, const struct ad_snapshot_options *options,
				  struct ad_snapshot **ret);
void ad_snapshot_destroy(struct ad_snapshot *snap);

/* For a snapshot taken without a stop: compares the copy of each span with
 * the process's memory now (spans outside the copied memory are skipped)
 * and, where they differ, replaces the copy with what the process holds
 * now; *changed tells whether any byte differed, or could not be compared
 * (a page the copy saw untouched, memory gone). Spans need not be sorted. */
struct ad_error *ad_snapshot_refresh(struct ad_snapshot *snap, const struct ad_span *spans,
				     size_t n, bool *changed);

/* The mapping containing `address`, or NULL. */
const struct ad_mapping *ad_snapshot_mapping(const struct ad_snapshot *snap, uint64_t address);
/* The first mapping of the executable (offset 0: where its ELF image
 * starts), or NULL. */
const struct ad_mapping *ad_snapshot_exe_mapping(const struct ad_snapshot *snap);

#endif
