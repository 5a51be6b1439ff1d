/* SPDX-License-Identifier: MIT */
#include "pids.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asyncdump/procfs.h"

#define MAX_PROCESSES 65536

struct ad_error *pid_owned_by(pid_t pid, uid_t uid, bool *ret)
{
	struct ad_process_info info;
	struct ad_error *err = ad_process_info_read(pid, &info);
	if (err)
		return err;
	*ret = info.uids[0] == uid && info.uids[1] == uid && info.uids[2] == uid;
	return NULL;
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

/* ["tokio", "async-executor"] of "tokio,async-executor"; [] for NULL. */
static json_t *kinds_array(const char *kinds)
{
	json_t *a = json_array();
	for (const char *p = kinds; a && p && *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		if (json_array_append_new(a, json_stringn(p, n))) {
			json_decref(a);
			return NULL;
		}
		p = end ? end + 1 : p + n;
	}
	return a;
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

static struct ad_error *describe(struct ad_context *ctx, const struct ad_process_info *p,
				json_t **ret)
{
	/* An error (an unreadable exe, say) is a reason not to trace, not a failure. */
	struct ad_binary_info info = { 0 };
	struct ad_error *err = ad_inspect_process(ctx, p->pid, &info);
	if (err)
		memset(&info, 0, sizeof(info));
	bool traceable = info.is_rust && info.has_type_debuginfo && info.has_runtime;
	bool has_tokio = info.runtime_kinds && kind_listed(info.runtime_kinds, "tokio");
	const char *reason = NULL;
	if (!traceable)
		reason = err ? err->message
		     : info.reason ? info.reason
				   : "not a Rust program with type debuginfo and an async runtime asyncdump reads";
	json_t *o = json_pack("{s:i,s:o,s:o,s:I,s:b,s:o,s:b,s:b,s:b,s:o,s:o}", "pid", (int)p->pid,
			      "comm", string_or_null(p->comm), "exe",
			      string_or_null(p->exe[0] ? p->exe : NULL), "uid",
			      (json_int_t)p->uids[0], "traceable", traceable, "reason",
			      string_or_null(reason), "rust", info.is_rust, "type_debuginfo",
			      info.has_type_debuginfo, "tokio", has_tokio, "runtimes",
			      kinds_array(info.runtime_kinds), "build_id", string_or_null(info.build_id));
	if (err)
		ad_error_destroy(err);
	else
		ad_binary_info_deinit(&info);
	if (!o)
		return &ad_error_nomem;
	*ret = o;
	return NULL;
}

struct listing {
	struct ad_context *ctx;
	pid_t self;
	bool filter_uid;
	uid_t only_uid;
	json_t *list;
	struct ad_error *err;
};

static bool list_one(void *arg, pid_t pid)
{
	struct listing *l = arg;
	struct ad_process_info p;
	if (pid == l->self)
		return true;
	struct ad_error *gone = ad_process_info_read(pid, &p);
	if (gone) {
		ad_error_destroy(gone); /* it exited meanwhile */
		return true;
	}
	if (p.no_cmdline)
		return true;
	if (l->filter_uid && (p.uids[0] != l->only_uid || p.uids[1] != l->only_uid ||
			      p.uids[2] != l->only_uid))
		return true;
	json_t *entry;
	l->err = describe(l->ctx, &p, &entry);
	if (!l->err && json_array_append_new(l->list, entry) < 0)
		l->err = &ad_error_nomem;
	return !l->err;
}

struct ad_error *pids_list(struct ad_context *ctx, pid_t self, bool filter_uid, uid_t only_uid,
			   json_t **ret)
{
	struct listing l = { ctx, self, filter_uid, only_uid, json_array(), NULL };
	if (!l.list)
		return &ad_error_nomem;
	struct ad_error *err = ad_process_scan(MAX_PROCESSES, list_one, &l);
	if (!err)
		err = l.err;
	if (!err) {
		json_t *doc = json_pack("{s:o}", "pids", l.list);
		if (doc) {
			*ret = doc;
			return NULL;
		}
		return &ad_error_nomem; /* json_pack took the list */
	}
	json_decref(l.list);
	return err;
}
