/* SPDX-License-Identifier: MIT */
/* Core files: a snapshot that never needed a pause.
 *
 * An ELF core (gcore's, the kernel's, systemd-coredump's once decompressed)
 * becomes the same struct ad_snapshot a live sample gives: its PT_LOAD
 * segments are the memory, NT_FILE says which file each mapping shows (the
 * parts the core left out are read from those files, as a snapshot reads
 * read-only mappings live), NT_PRSTATUS gives the threads and their
 * registers, NT_AUXV the executable (AT_ENTRY) and the vDSO. The decoder
 * cannot tell a core from a live sample.
 *
 * A truncated core (a size limit, a partial copy) still opens: what it lost
 * reads as a fault, and the warnings name the memory that is missing. Every
 * read is bounded by the core's size as it is on disk. */
#ifndef ASYNCDUMP_CORE_H
#define ASYNCDUMP_CORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "snapshot.h"

struct ad_core_options {
	/* The executable to use instead of the path the core names (the core
	 * travelled to another machine, or the binary moved). NULL: the
	 * core's own (NT_FILE) path. Its build-id must match the core's. */
	const char *exe;
	/* When the core was written, if the caller knows better than the
	 * file's mtime (systemd-coredump's file name, a decompressed copy). */
	bool has_time;
	struct timespec time;
};

/* What a core says of itself, from its notes alone (no memory is read but
 * the executable's build-id note). */
struct ad_core_info {
	pid_t pid;
	char comm[17];
	char *exe;             /* NT_FILE path of the executable, or NULL */
	char *build_id;        /* hex, from the core's copy of the executable, or NULL */
	struct timespec time;  /* options' time, else the file's mtime */
	uint64_t size;         /* bytes on disk */
	size_t nthreads;
};

struct ad_core;

struct ad_error *ad_core_open(const char *path, const struct ad_core_options *options,
			      struct ad_core **ret);
void ad_core_close(struct ad_core *core);

const struct ad_core_info *ad_core_info(const struct ad_core *core);
/* The snapshot the core holds (owned by the core; valid until close). */
struct ad_snapshot *ad_core_snapshot(struct ad_core *core);
/* What the core lacks (truncation, memory it left out): sentences for the
 * trace's warnings. */
size_t ad_core_nwarnings(const struct ad_core *core);
const char *ad_core_warning(const struct ad_core *core, size_t i);

void ad_core_info_deinit(struct ad_core_info *info);

#endif
