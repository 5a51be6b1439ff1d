/* SPDX-License-Identifier: MIT */
#include "pids.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h" /* the library's /proc readers */

#define MAX_PROCESSES 65536

/* Reads the Uid: line of /proc/PID/status: real, effective, saved. */
static struct ad_error *read_uids(pid_t pid, uid_t uids[3])
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f) {
		if (errno == ENOENT || errno == ESRCH)
			return ad_error_create(AD_ERROR_NO_PROCESS, "no process with pid %d",
					       (int)pid);
		return ad_error_os(errno, "reading %s", path);
	}
	bool found = false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long r, e, s;
		if (sscanf(line, "Uid: %lu %lu %lu", &r, &e, &s) == 3) {
			uids[0] = (uid_t)r;
			uids[1] = (uid_t)e;
			uids[2] = (uid_t)s;
			found = true;
			break;
		}
	}
	fclose(f);
	if (!found)
		return ad_error_create(AD_ERROR_NO_PROCESS,
				       "process %d has no Uid line in %s: it is exiting", (int)pid,
				       path);
	return NULL;
}

struct ad_error *pid_owned_by(pid_t pid, uid_t uid, bool *ret)
{
	uid_t uids[3];
	struct ad_error *err = read_uids(pid, uids);
	if (err)
		return err;
	*ret = uids[0] == uid && uids[1] == uid && uids[2] == uid;
	return NULL;
}

/* The exe path, or false for kernel threads and processes we may not see. */
static bool read_exe(pid_t pid, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, buf, size - 1);
	if (n < 0)
		return false;
	buf[n] = '\0';
	return true;
}

static bool is_kernel_thread(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	FILE *f = fopen(path, "re");
	if (!f)
		return true;
	int c = fgetc(f);
	fclose(f);
	return c == EOF;
}

/* json_string() wants UTF-8; comm and exe are whatever bytes they are. */
/* Whether `kind` is one of a comma-separated list of runtime kinds. */
static bool kind_listed(const char *kinds, const char *kind)
{
	size_t n = strlen(kind);
	for (const char *p = kinds; p; p = strchr(p, ',') ? strchr(p, ',') + 1 : NULL)
		if (strncmp(p, kind, n) == 0 && (p[n] == ',' || p[n] == '\0'))
			return true;
	return false;
}

static json_t *string_or_null(const char *s)
{
	if (!s)
		return json_null();
	json_t *j = json_string(s);
	if (j)
		return j;
	char *ascii = strdup(s);
	if (!ascii)
		return NULL;
	for (char *p = ascii; *p; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	j = json_string(ascii);
	free(ascii);
	return j;
}

static struct ad_error *describe(struct ad_context *ctx, pid_t pid, uid_t uid, json_t **ret)
{
	char comm[64], exe[PATH_MAX];
	ad_proc_read_comm(pid, 0, comm);
	bool has_exe = read_exe(pid, exe, sizeof(exe));

	/* An error (an unreadable exe, say) is a reason not to trace, not a failure. */
	struct ad_binary_info info = { 0 };
	struct ad_error *err = ad_inspect_process(ctx, pid, &info);
	if (err)
		memset(&info, 0, sizeof(info));
	bool traceable = info.is_rust && info.has_type_debuginfo && info.has_runtime;
	bool has_tokio = info.runtime_kinds && kind_listed(info.runtime_kinds, "tokio");
	const char *reason = NULL;
	if (!traceable)
		reason = err ? err->message
		     : info.reason ? info.reason
				   : "not a Rust program with type debuginfo and an async runtime asyncdump reads";
	json_t *o = json_pack("{s:i,s:o,s:o,s:I,s:b,s:o,s:b,s:b,s:b,s:o}", "pid", (int)pid,
			      "comm", string_or_null(comm), "exe",
			      string_or_null(has_exe ? exe : NULL), "uid", (json_int_t)uid,
			      "traceable", traceable, "reason", string_or_null(reason), "rust",
			      info.is_rust, "type_debuginfo", info.has_type_debuginfo, "tokio",
			      has_tokio, "build_id", string_or_null(info.build_id));
	if (err)
		ad_error_destroy(err);
	else
		ad_binary_info_deinit(&info);
	if (!o)
		return &ad_error_nomem;
	*ret = o;
	return NULL;
}

struct ad_error *pids_list(struct ad_context *ctx, pid_t self, bool filter_uid, uid_t only_uid,
			   json_t **ret)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return ad_error_os(errno, "listing /proc");
	json_t *list = json_array();
	struct ad_error *err = list ? NULL : &ad_error_nomem;
	size_t seen = 0;
	struct dirent *d;
	while (!err && (d = readdir(proc)) && seen < MAX_PROCESSES) {
		if (!isdigit((unsigned char)d->d_name[0]))
			continue;
		seen++;
		pid_t pid = (pid_t)strtol(d->d_name, NULL, 10);
		uid_t uids[3];
		if (pid == self || is_kernel_thread(pid))
			continue;
		struct ad_error *gone = read_uids(pid, uids);
		if (gone) {
			ad_error_destroy(gone); /* it exited meanwhile */
			continue;
		}
		if (filter_uid && (uids[0] != only_uid || uids[1] != only_uid ||
				   uids[2] != only_uid))
			continue;
		json_t *entry;
		err = describe(ctx, pid, uids[0], &entry);
		if (!err && json_array_append_new(list, entry) < 0)
			err = &ad_error_nomem;
	}
	closedir(proc);
	if (!err) {
		json_t *doc = json_pack("{s:o}", "pids", list);
		if (doc) {
			*ret = doc;
			return NULL;
		}
		err = &ad_error_nomem;
		list = NULL;
	}
	json_decref(list);
	return err;
}
