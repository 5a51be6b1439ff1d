/* SPDX-License-Identifier: MIT */
/* What /proc says about a process: status, comm, exe, threads, mappings, and
 * the one place that turns a failed attach or read into a clear error. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proc.h"

#define YAMA_PTRACE_SCOPE "/proc/sys/kernel/yama/ptrace_scope"

static void task_path(char *buf, size_t size, pid_t pid, pid_t tid, const char *file)
{
	if (tid)
		snprintf(buf, size, "/proc/%d/task/%d/%s", (int)pid, (int)tid, file);
	else
		snprintf(buf, size, "/proc/%d/%s", (int)pid, file);
}

/* Reads at most size - 1 bytes of a small file; -errno on failure. */
static ssize_t read_small_file(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	size_t len = 0;
	while (len < size - 1) {
		ssize_t r = read(fd, buf + len, size - 1 - len);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return -e;
		}
		if (r == 0)
			break;
		len += (size_t)r;
	}
	close(fd);
	buf[len] = '\0';
	return (ssize_t)len;
}

static const char *status_field(const char *text, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, name, n) == 0 && p[n] == ':') {
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			return p;
		}
	}
	return NULL;
}

static long status_long(const char *text, const char *name, long fallback)
{
	const char *v = status_field(text, name);
	return v ? strtol(v, NULL, 10) : fallback;
}

struct ad_error *ad_proc_read_status(pid_t pid, pid_t tid, struct ad_proc_status *ret)
{
	char path[64], text[4096];
	task_path(path, sizeof(path), pid, tid, "status");
	ssize_t r = read_small_file(path, text, sizeof(text));
	if (r < 0)
		return ad_error_os((int)-r, "reading %s", path);
	const char *state = status_field(text, "State");
	if (!state || status_field(text, "Tgid") == NULL)
		return ad_error_create(AD_ERROR_OTHER, "%s has no State or Tgid line", path);
	struct ad_proc_status st = {
		.state = *state,
		.tgid = (pid_t)status_long(text, "Tgid", 0),
		.ppid = (pid_t)status_long(text, "PPid", 0),
		.tracer_pid = (pid_t)status_long(text, "TracerPid", 0),
		.threads = (unsigned)status_long(text, "Threads", 1),
		.kernel_thread = status_long(text, "Kthread", 0) == 1,
	};
	const char *uids = status_field(text, "Uid");
	unsigned long real = 0, effective = 0, saved = 0;
	if (uids && sscanf(uids, "%lu %lu %lu", &real, &effective, &saved) != 3)
		real = effective = saved = 0;
	st.uids[0] = (uid_t)real;
	st.uids[1] = (uid_t)effective;
	st.uids[2] = (uid_t)saved;
	*ret = st;
	return NULL;
}

void ad_proc_read_comm(pid_t pid, pid_t tid, char name[16])
{
	char path[64];
	task_path(path, sizeof(path), pid, tid, "comm");
	if (read_small_file(path, name, 16) < 0)
		name[0] = '\0';
	name[strcspn(name, "\n")] = '\0';
}

bool ad_process_start_time(pid_t pid, unsigned long long *ret)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	ssize_t n = read_small_file(path, buf, sizeof(buf));
	if (n < 0)
		return false;
	/* The name before the fields may hold spaces and ')'. */
	char *p = strrchr(buf, ')');
	if (!p)
		return false;
	p++;
	for (int field = 3; field <= 22; field++) {
		while (*p == ' ')
			p++;
		if (!*p)
			return false;
		if (field == 22) {
			*ret = strtoull(p, NULL, 10);
			return true;
		}
		p += strcspn(p, " ");
	}
	return false;
}

static bool has_cmdline(pid_t pid)
{
	char path[64], first[2];
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	return read_small_file(path, first, sizeof(first)) > 0;
}

struct ad_error *ad_process_info_read(pid_t pid, struct ad_process_info *ret)
{
	struct ad_proc_status st;
	struct ad_error *err = ad_proc_read_status(pid, 0, &st);
	if (err) {
		bool gone = err->code == AD_ERROR_OS && (err->errnum == ENOENT || err->errnum == ESRCH);
		if (!gone)
			return err;
		ad_error_destroy(err);
		return ad_error_create(AD_ERROR_NO_PROCESS, "no process with pid %d", (int)pid);
	}
	*ret = (struct ad_process_info){ .pid = pid };
	memcpy(ret->uids, st.uids, sizeof(ret->uids));
	ret->no_cmdline = st.kernel_thread || !has_cmdline(pid);
	ad_proc_read_comm(pid, 0, ret->comm);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, ret->exe, sizeof(ret->exe) - 1);
	ret->exe[n > 0 ? n : 0] = '\0';
	if (!ad_process_start_time(pid, &ret->start_time))
		return ad_error_create(AD_ERROR_NO_PROCESS, "no process with pid %d", (int)pid);
	return NULL;
}

struct ad_error *ad_process_scan(size_t max, bool (*each)(void *arg, pid_t pid), void *arg)
{
	DIR *proc = opendir("/proc");
	if (!proc)
		return ad_error_os(errno, "listing /proc");
	struct dirent *d;
	size_t seen = 0;
	while (seen < max && (d = readdir(proc))) {
		char *end;
		long pid = strtol(d->d_name, &end, 10);
		if (*end || pid <= 0 || pid > INT_MAX)
			continue;
		seen++;
		if (!each(arg, (pid_t)pid))
			break;
	}
	closedir(proc);
	return NULL;
}

struct ad_error *ad_proc_read_exe(pid_t pid, char **ret)
{
	char path[64], target[PATH_MAX];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return ad_proc_explain(pid, 0, errno, "reading /proc/PID/exe");
	target[n] = '\0';
	char *copy = strdup(target);
	if (!copy)
		return &ad_error_nomem;
	*ret = copy;
	return NULL;
}

/* ---- explaining failures */

static struct ad_error *no_process_error(pid_t pid, const char *doing)
{
	return ad_error_create(AD_ERROR_NO_PROCESS,
			       "%s: no process with pid %d (it may have exited); check the pid with "
			       "`ps -p %d`", doing, (int)pid, (int)pid);
}

struct ad_error *ad_proc_exited_error(pid_t pid, const char *doing)
{
	return ad_error_create(AD_ERROR_PROCESS_EXITED,
			       "%s: pid %d exited during the sample; nothing to report, sample a "
			       "running process", doing, (int)pid);
}

static struct ad_error *zombie_error(pid_t pid, const char *comm, pid_t ppid, const char *doing)
{
	return ad_error_create(AD_ERROR_ZOMBIE,
			       "%s: pid %d (%s) is a zombie: it has exited and waits for its parent "
			       "(pid %d) to reap it; there is nothing left to sample",
			       doing, (int)pid, comm, (int)ppid);
}

static struct ad_error *already_traced_error(pid_t pid, const char *comm, pid_t tracer,
					     const char *doing)
{
	char tracer_comm[16];
	ad_proc_read_comm(tracer, 0, tracer_comm);
	if (tracer == getpid())
		return ad_error_create(AD_ERROR_ALREADY_TRACED,
				       "%s: pid %d (%s) is already traced by this process (pid %d, "
				       "%s): another sample of it is in progress; retry when it ends",
				       doing, (int)pid, comm, (int)tracer, tracer_comm);
	return ad_error_create(AD_ERROR_ALREADY_TRACED,
			       "%s: pid %d (%s) is already traced by pid %d (%s): a process has only "
			       "one tracer; detach that debugger or tracer (quit gdb, strace, …) and "
			       "retry", doing, (int)pid, comm, (int)tracer,
			       tracer_comm[0] ? tracer_comm : "?");
}

/* ", and /proc/sys/kernel/yama/ptrace_scope is N (meaning)" or "". */
static void describe_yama(char *buf, size_t size)
{
	static const char *const meaning[] = {
		"classic ptrace permissions",
		"only descendants may be traced without CAP_SYS_PTRACE",
		"only processes with CAP_SYS_PTRACE may trace",
		"no process may trace",
	};
	char text[16];
	buf[0] = '\0';
	if (read_small_file(YAMA_PTRACE_SCOPE, text, sizeof(text)) <= 0)
		return;
	long scope = strtol(text, NULL, 10);
	snprintf(buf, size, "; " YAMA_PTRACE_SCOPE " is %ld (%s)", scope,
		 scope >= 0 && scope <= 3 ? meaning[scope] : "unknown");
}

/* Attach errors keep the errno of the failed call for the caller's logs. */
static struct ad_error *with_errnum(struct ad_error *err, int errnum)
{
	if (err != &ad_error_nomem)
		err->errnum = errnum;
	return err;
}

static struct ad_error *permission_error(pid_t pid, const char *comm, uid_t uid, int errnum,
					 const char *doing)
{
	char yama[160];
	describe_yama(yama, sizeof(yama));
	return with_errnum(ad_error_create(AD_ERROR_PERMISSION,
					   "%s: not permitted to trace pid %d (%s, uid %u): run "
					   "asyncdump as the same user as the process or with "
					   "CAP_SYS_PTRACE%s", doing, (int)pid, comm, (unsigned)uid,
					   yama),
			   errnum);
}

struct ad_error *ad_proc_explain(pid_t pid, pid_t tid, int errnum, const char *doing)
{
	if (errnum == ESRCH || errnum == ENOENT)
		return with_errnum(no_process_error(pid, doing), errnum);
	struct ad_proc_status st;
	struct ad_error *err = ad_proc_read_status(pid, tid, &st);
	if (err) {
		bool gone = err->errnum == ENOENT || err->errnum == ESRCH;
		ad_error_destroy(err);
		if (gone)
			return with_errnum(no_process_error(pid, doing), errnum);
		st = (struct ad_proc_status){ .state = '?' };
	}
	char comm[16];
	ad_proc_read_comm(pid, 0, comm);
	if (st.state == 'Z' || st.state == 'X')
		return with_errnum(zombie_error(pid, comm, st.ppid, doing), errnum);
	if (st.tracer_pid)
		return with_errnum(already_traced_error(pid, comm, st.tracer_pid, doing), errnum);
	if (errnum == EPERM || errnum == EACCES)
		return permission_error(pid, comm, st.uids[0], errnum, doing);
	return ad_error_wrap(ad_error_os(errnum, "%s", doing), "pid %d (%s)", (int)pid, comm);
}

/* ---- /proc/PID/task */

struct ad_error *ad_proc_list_tasks(pid_t pid, struct ad_tid_list *list)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *dir = opendir(path);
	if (!dir)
		return ad_proc_explain(pid, 0, errno, "listing the threads in /proc/PID/task");
	list->n = 0;
	struct dirent *de;
	while ((de = readdir(dir))) {
		if (de->d_name[0] < '0' || de->d_name[0] > '9')
			continue;
		if (list->n == list->cap) {
			size_t cap = list->cap ? list->cap * 2 : 64;
			pid_t *tids = realloc(list->tids, cap * sizeof(*tids));
			if (!tids) {
				closedir(dir);
				return &ad_error_nomem;
			}
			list->tids = tids;
			list->cap = cap;
		}
		list->tids[list->n++] = (pid_t)strtol(de->d_name, NULL, 10);
	}
	closedir(dir);
	return NULL;
}

void ad_tid_list_deinit(struct ad_tid_list *list)
{
	free(list->tids);
	*list = (struct ad_tid_list){ 0 };
}

/* ---- /proc/PID/maps */

static bool parse_hex(char **p, char end, uint64_t *ret)
{
	char *q;
	errno = 0;
	unsigned long long v = strtoull(*p, &q, 16);
	if (q == *p || errno || *q != end)
		return false;
	*ret = v;
	*p = q + 1;
	return true;
}

static bool skip_field(char **p)
{
	char *q = strchr(*p, ' ');
	if (!q)
		return false;
	*p = q + 1;
	return true;
}

bool ad_proc_parse_maps_line(char *line, struct ad_maps_line *ret)
{
	struct ad_maps_line m = { 0 };
	char *p = line;
	if (!parse_hex(&p, '-', &m.start) || !parse_hex(&p, ' ', &m.end) || m.end < m.start)
		return false;
	if (strlen(p) < 5 || p[4] != ' ')
		return false;
	memcpy(m.perms, p, 4);
	p += 5;
	if (!parse_hex(&p, ' ', &m.offset))
		return false;
	if (!skip_field(&p)) /* device */
		return false;
	char *inode_end = strchr(p, ' ');
	p = inode_end ? inode_end : p + strlen(p);
	while (*p == ' ')
		p++;
	m.path = *p ? p : NULL;
	*ret = m;
	return true;
}

struct ad_error *ad_proc_slurp(const char *path, char **buf, size_t *cap, size_t *len)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ad_error_os(errno, "opening %s", path);
	size_t n = 0;
	for (;;) {
		if (*cap - n < 4096) {
			size_t ncap = *cap ? *cap * 2 : 65536;
			char *nbuf = realloc(*buf, ncap);
			if (!nbuf) {
				close(fd);
				return &ad_error_nomem;
			}
			*buf = nbuf;
			*cap = ncap;
		}
		ssize_t r = read(fd, *buf + n, *cap - n - 1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			return ad_error_os(e, "reading %s", path);
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	(*buf)[n] = '\0';
	*len = n;
	return NULL;
}

void ad_mappings_free(struct ad_mapping *mappings, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(mappings[i].path);
	free(mappings);
}

struct ad_error *ad_proc_read_maps(pid_t pid, struct ad_mapping **mappings, size_t *nmappings)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	char *text = NULL;
	size_t cap = 0, len;
	struct ad_error *err = ad_proc_slurp(path, &text, &cap, &len);
	if (err) {
		int e = err->errnum;
		ad_error_destroy(err);
		free(text);
		return e ? ad_proc_explain(pid, 0, e, "reading /proc/PID/maps") : &ad_error_nomem;
	}
	size_t lines = 0;
	for (const char *p = text; *p; p++)
		lines += *p == '\n';
	struct ad_mapping *out = calloc(lines + 1, sizeof(*out));
	if (!out) {
		free(text);
		return &ad_error_nomem;
	}
	size_t n = 0;
	for (char *line = text, *next; *line; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		else
			next = line + strlen(line);
		struct ad_maps_line m;
		if (!ad_proc_parse_maps_line(line, &m))
			continue;
		out[n] = (struct ad_mapping){ .start = m.start, .end = m.end, .offset = m.offset };
		memcpy(out[n].perms, m.perms, sizeof(out[n].perms));
		if (m.path && !(out[n].path = strdup(m.path))) {
			ad_mappings_free(out, n);
			free(text);
			return &ad_error_nomem;
		}
		n++;
	}
	free(text);
	*mappings = out;
	*nmappings = n;
	return NULL;
}

bool ad_proc_is_special_mapping(const char *path)
{
	return path && (strcmp(path, "[vvar]") == 0 || strcmp(path, "[vsyscall]") == 0 ||
			strcmp(path, "[vdso]") == 0 || strcmp(path, "[vvar_vclock]") == 0 ||
			strcmp(path, "[uprobes]") == 0);
}
