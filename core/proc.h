/* SPDX-License-Identifier: MIT */
/* Internal: what /proc says about a process, and bulk reads of its memory.
 *
 * Shared by attach.c (stop/resume), reader_live.c and snapshot.c. Nothing
 * here stops the target; the functions marked "pause-safe" neither allocate
 * nor format and may run while the target is stopped. */
#ifndef ASYNCDUMP_PROC_H
#define ASYNCDUMP_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "asyncdump/error.h"
#include "asyncdump/snapshot.h"

/* ---- /proc/PID[/task/TID]/status and comm */

struct ad_proc_status {
	char state;          /* first letter of State: R S D T t Z X … */
	pid_t tgid;
	pid_t ppid;
	pid_t tracer_pid;    /* 0: not traced */
	uid_t uid;           /* real uid */
	unsigned threads;
	bool kernel_thread;
};

/* tid 0: the process (/proc/PID/status); else /proc/PID/task/TID/status. */
struct ad_error *ad_proc_read_status(pid_t pid, pid_t tid, struct ad_proc_status *ret);

/* Best effort: "" when the thread is gone. tid 0: the process. */
void ad_proc_read_comm(pid_t pid, pid_t tid, char name[16]);

/* Field 22 of /proc/PID/stat: when the process started, in clock ticks
 * after boot. With the pid it names one process: a reused pid gets another
 * start time. False when the process is gone. */
bool ad_proc_read_start_time(pid_t pid, unsigned long long *ret);

/* The target of /proc/PID/exe (malloc'ed). */
struct ad_error *ad_proc_read_exe(pid_t pid, char **ret);

/* attach.c: ad_process_stop() for a caller that ran ad_process_check()
 * just before (once per capture). */
struct ad_error *ad_process_stop_checked(pid_t pid, struct ad_stopped **ret);

/* The error that explains why `pid` (thread `tid`, 0 for the process) could
 * not be traced or read, given the errno of the failed call: no such
 * process, zombie, already traced (by whom), permission (with the hint), or
 * a plain OS error. `doing` names the failed operation. */
struct ad_error *ad_proc_explain(pid_t pid, pid_t tid, int errnum, const char *doing);

/* AD_ERROR_PROCESS_EXITED for a process that vanished during the sample. */
struct ad_error *ad_proc_exited_error(pid_t pid, const char *doing);

/* ---- /proc/PID/task */

struct ad_tid_list {
	pid_t *tids;
	size_t n, cap;
};

/* Replaces list->tids with the current threads of `pid`, reusing its buffer. */
struct ad_error *ad_proc_list_tasks(pid_t pid, struct ad_tid_list *list);
void ad_tid_list_deinit(struct ad_tid_list *list);

/* ---- /proc/PID/maps */

/* One line of /proc/PID/maps, parsed in place: `path` points into the line. */
struct ad_maps_line {
	uint64_t start, end, offset;
	char perms[5];
	const char *path;    /* NULL for anonymous */
};

/* Pause-safe: parses one NUL-terminated line (no newline); false if malformed. */
bool ad_proc_parse_maps_line(char *line, struct ad_maps_line *ret);

/* Pause-safe: reads the whole of `path` into *buf (capacity *cap), growing
 * it only when too small; *len gets the length, the text is NUL-terminated. */
struct ad_error *ad_proc_slurp(const char *path, char **buf, size_t *cap, size_t *len);

/* All mappings, with their paths copied. */
struct ad_error *ad_proc_read_maps(pid_t pid, struct ad_mapping **mappings, size_t *nmappings);
void ad_mappings_free(struct ad_mapping *mappings, size_t n);

/* Kernel-provided mappings that are never copied ([vvar], [vdso], …). */
bool ad_proc_is_special_mapping(const char *path);

/* ---- bulk reads of another process's memory (reader_live.c) */

/* process_vm_readv, falling back to /proc/PID/mem when it is not permitted
 * (EPERM) or not implemented (ENOSYS). */
struct ad_vm {
	pid_t pid;
	int mem_fd;          /* /proc/PID/mem once the fallback is in use, else -1 */
};

struct ad_vm_range {
	uint64_t address;
	void *buf;
	size_t len;
};

void ad_vm_init(struct ad_vm *vm, pid_t pid);
void ad_vm_deinit(struct ad_vm *vm);

/* Pause-safe on success: reads every range, in batches of up to IOV_MAX
 * ranges per process_vm_readv. On the first unreadable byte, returns
 * AD_ERROR_FAULT whose address is that byte; ranges before it are complete. */
struct ad_error *ad_vm_read(struct ad_vm *vm, const struct ad_vm_range *ranges, size_t n);

#endif
