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
	/* Compressed cores are decompressed into an unnamed file in `tmpdir`
	 * (NULL: $TMPDIR, else /var/tmp), at most `max_bytes` of it (0: 16 GiB). */
	const char *tmpdir;
	uint64_t max_bytes;
	/* Only what the notes say is wanted (ad_core_info): a compressed core
	 * is decompressed no further than its first NOTES_PREFIX bytes. */
	bool notes_only;
};
#define AD_CORE_NOTES_PREFIX ((uint64_t)16 << 20)

/* systemd-coredump's compressions, told by the file's magic bytes. */
enum ad_core_compression { AD_CORE_PLAIN, AD_CORE_ZSTD, AD_CORE_XZ, AD_CORE_LZ4 };
enum ad_core_compression ad_core_compression_of(const unsigned char *magic, size_t len);
const char *ad_core_compression_name(enum ad_core_compression c); /* "zstd", "none" */
/* Decompresses the core open at `in` into a new unnamed temporary file in
 * `tmpdir` (never more than max_bytes: AD_ERROR_TOO_LARGE, or with
 * `prefix` the first max_bytes and no error), returned in
 * *ret, positioned at its end. A damaged or short stream keeps what was
 * decompressed and says why in *damage (malloc'ed; NULL when whole). */
struct ad_error *ad_core_decompress(int in, const char *name, enum ad_core_compression kind,
				    const char *tmpdir, uint64_t max_bytes, bool prefix, int *ret,
				    char **damage);

/* What a core says of itself, from its notes alone (no memory is read but
 * the executable's build-id note). */
struct ad_core_info {
	pid_t pid;
	char comm[17];
	char *exe;             /* NT_FILE path of the executable, or NULL */
	char *build_id;        /* hex, from the core's copy of the executable, or NULL */
	struct timespec time;  /* options' time, else the file's mtime */
	uint64_t size;         /* bytes on disk (compressed) */
	enum ad_core_compression compression;
	size_t nthreads;
};

struct ad_core;

struct ad_error *ad_core_open(const char *path, const struct ad_core_options *options,
			      struct ad_core **ret);
void ad_core_close(struct ad_core *core);

const struct ad_core_info *ad_core_info(const struct ad_core *core);
/* The snapshot the core holds (owned by the core; valid until close). */
struct ad_snapshot *ad_core_snapshot(struct ad_core *core);
/* Whether memory the core should hold was lost (a truncated file). */
bool ad_core_truncated(const struct ad_core *core);
/* What the core lacks (truncation, memory it left out): sentences for the
 * trace's warnings. */
size_t ad_core_nwarnings(const struct ad_core *core);
const char *ad_core_warning(const struct ad_core *core, size_t i);

void ad_core_info_deinit(struct ad_core_info *info);

#endif
