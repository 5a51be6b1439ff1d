/* SPDX-License-Identifier: MIT */
#include "cores.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "asyncdump/core.h"
#include "own_metrics.h"

#define MAX_LISTED 256      /* newest cores listed */
#define MAX_NAME 255
#define MAX_SCANNED 65536   /* directory entries looked at */

/* One core being traced at a time: a decompressed copy can be gigabytes. */
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

/* What systemd-coredump's file name says. */
struct coredump_name {
	bool valid;
	char comm[64];
	uid_t uid;
	pid_t pid;
	struct timespec time; /* its TIME field: microseconds since the epoch */
};

static bool all_digits(const char *s, size_t n)
{
	if (!n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)s[i]))
			return false;
	return true;
}

/* core.COMM.UID.BOOTID.PID.TIME[.zst|.xz|.lz4]; COMM may hold dots, the rest
 * cannot: parsed from the right. */
static struct coredump_name parse_name(const char *name)
{
	struct coredump_name ret = { 0 };
	char buf[MAX_NAME + 1];
	if (strncmp(name, "core.", 5) != 0 || strlen(name) > MAX_NAME)
		return ret;
	snprintf(buf, sizeof(buf), "%s", name + 5);
	char *ext = strrchr(buf, '.');
	if (ext && (!strcmp(ext, ".zst") || !strcmp(ext, ".xz") || !strcmp(ext, ".lz4")))
		*ext = '\0';
	char *field[4]; /* TIME, PID, BOOTID, UID */
	for (int i = 0; i < 4; i++) {
		char *dot = strrchr(buf, '.');
		if (!dot)
			return ret;
		field[i] = dot + 1;
		*dot = '\0';
	}
	if (!all_digits(field[0], strlen(field[0])) || !all_digits(field[1], strlen(field[1])) ||
	    strlen(field[2]) != 32 || !all_digits(field[3], strlen(field[3])) || !buf[0])
		return ret;
	unsigned long long usec = strtoull(field[0], NULL, 10);
	ret.time.tv_sec = (time_t)(usec / 1000000);
	ret.time.tv_nsec = (long)(usec % 1000000) * 1000;
	ret.pid = (pid_t)strtol(field[1], NULL, 10);
	ret.uid = (uid_t)strtoul(field[3], NULL, 10);
	snprintf(ret.comm, sizeof(ret.comm), "%.63s", buf);
	ret.valid = true;
	return ret;
}

static uid_t owner_of(const struct stat *st, const struct coredump_name *n)
{
	return st->st_uid == 0 && n->valid ? n->uid : st->st_uid;
}

static bool may_read(const struct cores_client *client, uid_t owner)
{
	return !client->only_own || client->uid == owner;
}

/* A name that is one entry of the directory: no path, no dot files. */
static bool plain_name(const char *name)
{
	size_t n = strlen(name);
	return n && n <= MAX_NAME && name[0] != '.' && !strchr(name, '/');
}

static json_t *time_json(struct timespec ts)
{
	struct tm tm;
	char buf[64];
	if (!gmtime_r(&ts.tv_sec, &tm))
		return json_null();
	size_t n = strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, sizeof(buf) - n, ".%06ldZ", ts.tv_nsec / 1000);
	return json_string(buf);
}

static json_t *text_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* What the core's notes and its executable say; errors become "reason". */
static void describe(struct ad_context *ctx, const char *path, const struct coredump_name *n,
		     const struct stat *st, json_t *o)
{
	struct ad_core_options options = { .notes_only = true, .has_time = n->valid,
					   .time = n->time };
	struct ad_core *core;
	struct ad_error *err = ad_core_open(path, &options, &core);
	if (err) {
		json_object_set_new(o, "reason", json_string(err->message));
		ad_error_destroy(err);
		return;
	}
	const struct ad_core_info *info = ad_core_info(core);
	json_object_set_new(o, "pid", json_integer(info->pid));
	json_object_set_new(o, "comm", json_string(info->comm));
	json_object_set_new(o, "time", time_json(info->time));
	json_object_set_new(o, "compression",
			    json_string(ad_core_compression_name(info->compression)));
	json_object_set_new(o, "exe", text_or_null(info->exe));
	json_object_set_new(o, "build_id", text_or_null(info->build_id));
	struct ad_binary_info bi = { 0 };
	if (info->exe && !(err = ad_inspect_binary(ctx, info->exe, &bi))) {
		bool matches = !info->build_id || (bi.build_id && !strcmp(bi.build_id, info->build_id));
		json_object_set_new(o, "is_rust", json_boolean(bi.is_rust));
		json_object_set_new(o, "has_type_debuginfo", json_boolean(bi.has_type_debuginfo));
		json_object_set_new(o, "exe_matches", json_boolean(matches));
		json_object_set_new(o, "reason", !matches
				    ? json_string("the executable was rebuilt since (another build-id)")
				    : text_or_null(bi.reason));
	} else {
		json_object_set_new(o, "reason", json_string(err ? err->message
							      : "the core names no executable"));
	}
	ad_error_destroy(err);
	ad_binary_info_deinit(&bi);
	ad_core_close(core);
	(void)st;
}

struct listed {
	char name[MAX_NAME + 1];
	struct stat st;
	struct coredump_name parsed;
};

static int newest_first(const void *a, const void *b)
{
	const struct listed *x = a, *y = b;
	if (x->st.st_mtim.tv_sec != y->st.st_mtim.tv_sec)
		return x->st.st_mtim.tv_sec < y->st.st_mtim.tv_sec ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* What describe() found, per file: a compressed gcore core is decompressed
 * whole for its notes, so each is looked at once while it is unchanged. */
struct described {
	char name[MAX_NAME + 1];
	off_t size;
	struct timespec mtime;
	json_t *facts;  /* the keys describe() sets */
};
static pthread_mutex_t described_lock = PTHREAD_MUTEX_INITIALIZER;
static struct described described[MAX_LISTED];
static size_t next_described;

static bool same_file(const struct described *d, const struct listed *l)
{
	return d->facts && strcmp(d->name, l->name) == 0 && d->size == l->st.st_size &&
	       d->mtime.tv_sec == l->st.st_mtim.tv_sec && d->mtime.tv_nsec == l->st.st_mtim.tv_nsec;
}

static void describe_cached(struct ad_context *ctx, const char *path, const struct listed *l,
			    json_t *o)
{
	pthread_mutex_lock(&described_lock);
	for (size_t i = 0; i < MAX_LISTED; i++) {
		if (same_file(&described[i], l)) {
			json_object_update(o, described[i].facts);
			pthread_mutex_unlock(&described_lock);
			return;
		}
	}
	pthread_mutex_unlock(&described_lock);
	json_t *facts = json_object();
	if (!facts)
		return;
	describe(ctx, path, &l->parsed, &l->st, facts);
	json_object_update(o, facts);
	pthread_mutex_lock(&described_lock);
	struct described *d = &described[next_described++ % MAX_LISTED];
	json_decref(d->facts);
	snprintf(d->name, sizeof(d->name), "%s", l->name);
	d->size = l->st.st_size;
	d->mtime = l->st.st_mtim;
	d->facts = facts;
	pthread_mutex_unlock(&described_lock);
}

static json_t *entry_json(struct ad_context *ctx, const char *dir, const struct listed *l)
{
	json_t *o = json_object();
	if (!o)
		return NULL;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, l->name);
	json_object_set_new(o, "name", json_string(l->name));
	json_object_set_new(o, "size", json_integer((json_int_t)l->st.st_size));
	json_object_set_new(o, "uid", json_integer(owner_of(&l->st, &l->parsed)));
	json_object_set_new(o, "mtime", time_json(l->st.st_mtim));
	json_object_set_new(o, "pid", l->parsed.valid ? json_integer(l->parsed.pid) : json_null());
	json_object_set_new(o, "comm", l->parsed.valid ? json_string(l->parsed.comm) : json_null());
	json_object_set_new(o, "time", l->parsed.valid ? time_json(l->parsed.time) : json_null());
	json_object_set_new(o, "is_rust", json_null());
	json_object_set_new(o, "has_type_debuginfo", json_null());
	describe_cached(ctx, path, l, o);
	return o;
}

struct ad_error *cores_list(struct ad_context *ctx, const char *dir,
			    const struct cores_client *client, json_t **ret)
{
	DIR *d = opendir(dir);
	if (!d && errno != ENOENT)
		return ad_error_os(errno, "cannot list the cores directory %s", dir);
	struct listed *list = calloc(MAX_LISTED + 1, sizeof(*list));
	if (!list) {
		if (d)
			closedir(d);
		return &ad_error_nomem;
	}
	size_t n = 0, scanned = 0;
	struct dirent *e;
	while (d && scanned++ < MAX_SCANNED && (e = readdir(d))) {
		if (!plain_name(e->d_name))
			continue;
		struct listed *l = &list[n];
		snprintf(l->name, sizeof(l->name), "%s", e->d_name);
		if (fstatat(dirfd(d), e->d_name, &l->st, AT_SYMLINK_NOFOLLOW) != 0 ||
		    !S_ISREG(l->st.st_mode))
			continue;
		l->parsed = parse_name(l->name);
		if (!may_read(client, owner_of(&l->st, &l->parsed)))
			continue;
		/* Keep the newest MAX_LISTED: the extra slot is the one dropped. */
		if (++n > MAX_LISTED) {
			qsort(list, n, sizeof(*list), newest_first);
			n = MAX_LISTED;
		}
	}
	if (d)
		closedir(d);
	qsort(list, n, sizeof(*list), newest_first);
	json_t *cores = json_array();
	for (size_t i = 0; cores && i < n; i++)
		json_array_append_new(cores, entry_json(ctx, dir, &list[i]));
	free(list);
	json_t *doc = cores ? json_pack("{s:s, s:o}", "dir", dir, "cores", cores) : NULL;
	if (!doc)
		return &ad_error_nomem;
	*ret = doc;
	return NULL;
}

static struct ad_error *open_checked(const char *dir, const char *name,
				     const struct cores_client *client, struct stat *st,
				     struct coredump_name *parsed)
{
	if (!plain_name(name))
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT, "malformed core name: expected "
				       "the name of a file of the cores directory (see GET /cores)");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if (lstat(path, st) != 0 || !S_ISREG(st->st_mode))
		return ad_error_create(AD_ERROR_NOT_FOUND, "no core named %s in %s", name, dir);
	*parsed = parse_name(name);
	if (!may_read(client, owner_of(st, parsed)))
		return ad_error_create(AD_ERROR_PERMISSION, "the core %s belongs to another user: "
				       "over the unix socket, uid %u may only read its own cores",
				       name, (unsigned)client->uid);
	return NULL;
}

struct ad_error *cores_trace(struct ad_context *ctx, const char *dir, const char *name,
			     const struct cores_client *client, bool locals,
			     struct ad_trace **ret)
{
	struct stat st;
	struct coredump_name parsed = { 0 };
	struct ad_error *err = open_checked(dir, name, client, &st, &parsed);
	if (err)
		return err;
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	pthread_mutex_lock(&trace_lock);
	struct ad_core_options options = { .has_time = parsed.valid, .time = parsed.time };
	struct ad_core *core = NULL;
	err = ad_core_open(path, &options, &core);
	if (!err) {
		struct ad_capture_options capture = { .locals = locals };
		err = ad_capture_core(ctx, core, &capture, ret);
	}
	ad_core_close(core);
	pthread_mutex_unlock(&trace_lock);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	own_metrics_core(err ? ad_error_code_name(err->code) : "ok",
			 (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	return err;
}
