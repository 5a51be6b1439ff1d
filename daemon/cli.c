/* SPDX-License-Identifier: MIT */
/* asyncdump: prints the logical stack traces of one live process, the same
 * document asyncdumpd serves, through the same library and status table. */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/capture.h"
#include "asyncdump/core.h"
#include "asyncdump/render.h"
#include "parse.h"
#include "status.h"

static const char usage[] =
	"Usage: asyncdump [OPTION]... PID\n"
	"  or:  asyncdump [OPTION]... --core FILE [--exe PATH] [--debuginfo-dir DIR]\n"
	"Print the logical stack trace of every async task of the live Rust (tokio)\n"
	"process PID. The process is stopped for a moment (ptrace), copied, resumed,\n"
	"and decoded through its DWARF debuginfo while it runs again.\n"
	"With --core, the same from a core file (gcore, the kernel's, an uncompressed\n"
	"systemd-coredump core): nothing is stopped.\n"
	"\n"
	"  --core FILE  read the process from the ELF core FILE instead of a live PID\n"
	"  --exe PATH   with --core: the program the core was made of, when it is no\n"
	"               longer at the path the core names (its build-id must match)\n"
	"  --debuginfo-dir DIR  also look for separate debug files in DIR (by build-id,\n"
	"               DIR/.build-id/xx/yyyy.debug, or by .gnu_debuglink) before\n"
	"               /usr/lib/debug: a core's debuginfo on another machine\n"
	"  --json       print the JSON trace document instead of text\n"
	"  --task ID    only task ID (and the tasks it awaits)\n"
	"  --locals     also show futures created but not yet polled\n"
	"  --no-stop    read the process while it runs, never stopping it: each\n"
	"               task is checked against the process after it is read, read\n"
	"               again if it changed, and marked inconsistent if it kept\n"
	"               changing; threads running on a CPU are not unwound\n"
	"  --version    print the version and exit\n"
	"  --help       print this help and exit\n"
	"\n"
	"Exit status:\n"
	"  0  success\n"
	"  1  internal error (out of memory, a failed system call, a bug)\n"
	"  2  usage error (bad option or PID)\n"
	"  3  no such process, or it exited during the sample\n"
	"  4  not permitted to trace the process (run as its user or as root)\n"
	"  5  another tracer (gdb, strace, ...) holds the process\n"
	"  6  not analyzable: not Rust, no type debuginfo, no tokio runtime, a runtime\n"
	"     layout this version does not know, a zombie, or unreadable memory\n"
	"  7  no such task\n"
	"  8  interrupted\n"
	"Errors are one line on stderr: 'asyncdump: MESSAGE', the same message\n"
	"asyncdumpd puts in its JSON errors.\n";

static const struct option long_options[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "task", required_argument, NULL, 't' },
	{ "locals", no_argument, NULL, 'l' },
	{ "no-stop", no_argument, NULL, 'n' },
	{ "core", required_argument, NULL, 'c' },
	{ "exe", required_argument, NULL, 'e' },
	{ "debuginfo-dir", required_argument, NULL, 'd' },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("asyncdump: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

static int fail_with(struct ad_error *err)
{
	int status = status_exit(err->code);
	fail(status, "%s", err->message);
	ad_error_destroy(err);
	return status;
}

/* Streamed task by task: a large trace's document is never whole in memory. */
static int print_trace(const struct ad_trace *trace, const struct ad_render_options *options,
		       bool json)
{
	struct ad_render_stream *stream;
	struct ad_error *err = ad_render_stream_create(
		trace, json ? AD_RENDER_JSON_PRETTY : AD_RENDER_TEXT, options, &stream);
	if (err)
		return fail_with(err);
	char chunk[65536];
	size_t n;
	bool ok = true;
	while (ok && !(err = ad_render_stream_read(stream, chunk, sizeof(chunk), &n)) && n)
		ok = fwrite(chunk, 1, n, stdout) == n;
	ad_render_stream_destroy(stream);
	if (err)
		return fail_with(err);
	ok = ok && (json ? fputc('\n', stdout) != EOF : true) && fflush(stdout) == 0;
	if (!ok)
		return fail(EXIT_INTERNAL, "writing the trace: %s", strerror(errno));
	return EXIT_OK;
}

static int trace_core(const char *path, const char *exe,
		      const struct ad_context_options *context,
		      const struct ad_render_options *render, bool json)
{
	struct ad_core_options options = { .exe = exe };
	struct ad_core *core;
	struct ad_error *err = ad_core_open(path, &options, &core);
	if (err)
		return fail_with(err);
	struct ad_context *ctx;
	if ((err = ad_context_create(context, &ctx))) {
		ad_core_close(core);
		return fail_with(err);
	}
	struct ad_capture_options capture = { .locals = render->locals };
	struct ad_trace *trace;
	err = ad_capture_core(ctx, core, &capture, &trace);
	int status = err ? fail_with(err) : print_trace(trace, render, json);
	if (!err)
		ad_trace_destroy(trace);
	ad_context_destroy(ctx);
	ad_core_close(core);
	return status;
}

int main(int argc, char **argv)
{
	bool json = false, no_stop = false;
	const char *core_path = NULL, *exe = NULL;
	struct ad_context_options context = { 0 };
	struct ad_render_options render = { 0 };
	pid_t pid;
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", long_options, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'l': render.locals = true; break;
		case 'n': no_stop = true; break;
		case 'c': core_path = optarg; break;
		case 'e': exe = optarg; break;
		case 'd': context.debuginfo_dirs = optarg; break;
		case 't':
			if (!parse_task_id(optarg, &render.task))
				return fail(EXIT_USAGE, "malformed task id '%s': expected "
					    TASK_ID_EXPECTED, optarg);
			render.has_task = true;
			break;
		case 'V': printf("asyncdump %s\n", PACKAGE_VERSION); return EXIT_OK;
		case 'h': fputs(usage, stdout); return EXIT_OK;
		case ':':
			return fail(EXIT_USAGE, "%s needs a value; see --help", argv[optind - 1]);
		default:
			return fail(EXIT_USAGE, "unknown option %s; see --help", argv[optind - 1]);
		}
	}
	if (exe && !core_path)
		return fail(EXIT_USAGE, "--exe goes with --core; see --help");
	if (no_stop && core_path)
		return fail(EXIT_USAGE, "--no-stop goes with a PID: a core stops nothing; see --help");
	if (core_path) {
		if (argc != optind)
			return fail(EXIT_USAGE, "--core FILE takes no PID; see --help");
		return trace_core(core_path, exe, &context, &render, json);
	}
	if (argc - optind != 1)
		return fail(EXIT_USAGE, "expected one PID; see --help");
	if (!parse_pid(argv[optind], &pid))
		return fail(EXIT_USAGE, "malformed pid '%s': expected " PID_EXPECTED, argv[optind]);

	struct ad_context *ctx;
	struct ad_error *err = ad_context_create(&context, &ctx);
	if (err)
		return fail_with(err);
	struct ad_capture_options capture = { .locals = render.locals, .no_stop = no_stop };
	struct ad_trace *trace;
	err = ad_capture(ctx, pid, &capture, &trace);
	int status = err ? fail_with(err) : print_trace(trace, &render, json);
	if (!err)
		ad_trace_destroy(trace);
	ad_context_destroy(ctx);
	return status;
}
