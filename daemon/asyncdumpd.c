/* SPDX-License-Identifier: MIT */
/* asyncdumpd: serves logical stack traces of live async Rust processes over
 * HTTP/JSON. This file only reads the configuration, starts the server and
 * waits for SIGTERM/SIGINT; everything else lives in its own file. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "asyncdump/capture.h"
#include "conf.h"
#include "log.h"
#include "metrics.h"
#include "own_metrics.h"
#include "routes.h"
#include "sampler.h"
#include "server.h"
#include "status.h"
#include "watch.h"

#define MAX_TOKEN_BYTES 4096
#define MAX_FLAGS 256

static const char usage[] =
	"Usage: asyncdumpd [OPTION]...\n"
	"Serve logical stack traces of the async tasks of live Rust (tokio) processes\n"
	"over HTTP/JSON, and the web viewer. Runs in the foreground, logs to stderr,\n"
	"stops cleanly on SIGTERM or SIGINT.\n"
	"\n"
	"  --listen ADDR:PORT        listen on a numeric TCP address, e.g. 127.0.0.1:7070\n"
	"                            or [::1]:7070; repeatable; port 0 picks a free port\n"
	"                            (the log says which). Default 127.0.0.1:7070, and\n"
	"                            none when only --unix is given.\n"
	"  --unix PATH               also listen on a unix socket (mode 0666): each client\n"
	"                            user (SO_PEERCRED) may only inspect its own processes,\n"
	"                            root all; no token is asked there\n"
	"  --config FILE             configuration file (default " AD_CONFIG_DEFAULT_PATH "\n"
	"                            when it exists); flags override it\n"
	"  --web-root DIR            serve the viewer from DIR instead of the one built in\n"
	"  --cores-dir DIR           core files served by GET /cores (default\n"
	"                            " AD_CONFIG_DEFAULT_CORES_DIR ")\n"
	"  --token-file FILE         require 'Authorization: Bearer TOKEN' (the file's\n"
	"                            content) on every TCP request except /healthz and the\n"
	"                            viewer's static files\n"
	"  --max-connections N       connections per listener (default 128)\n"
	"  --max-connections-per-ip N  per client: its address over TCP, its user on the\n"
	"                            unix socket (root exempt); more are answered 503\n"
	"                            (default 64, 0: no limit)\n"
	"  --max-samples-in-flight N processes sampled at once; more answer 503 (default 8)\n"
	"  --sample-memory SIZE      snapshot memory of all samples in flight together;\n"
	"                            a sample that does not fit answers 503 (default 4GiB)\n"
	"  --rate-limit N/s          API requests per second, bursts of N; more answer 429\n"
	"                            (default 50/s, 0: unlimited; /healthz, /metrics exempt)\n"
	"  --connection-timeout DUR  close idle connections after DUR (default 30s)\n"
	"  --request-timeout DUR     close a connection whose request head (line and\n"
	"                            headers) took longer than DUR to arrive (default 10s)\n"
	"  --log-level LEVEL         error, warn, info (default) or debug\n"
	"  --decode-priority P       the watch list's samples decode after the resume at:\n"
	"                            normal (the default), nice (nice 19) or idle (SCHED_IDLE)\n"
	"\n"
	"Hang detection (also [hang] and [watch NAME] in the configuration file):\n"
	"  --watch pid=PID|exe=GLOB|comm=GLOB\n"
	"                            sample these processes periodically; repeatable.\n"
	"                            An exe glob without '/' matches the file name;\n"
	"                            processes that start later are picked up\n"
	"  --sample-interval DUR     time between samples of a watched process\n"
	"                            (default 10s)\n"
	"  --stuck-threshold DUR     a task unchanged this long is stuck (default 60s)\n"
	"  --sample-stop yes|no      no: watched processes are read while they run,\n"
	"                            never stopped (tasks that change while read are\n"
	"                            marked inconsistent); default yes\n"
	"  --expected-wait-fn GLOB   a function where waiting forever is normal\n"
	"                            (e.g. '*::accept_loop'); repeatable\n"
	"  --expected-wait-at FILE:LINE  the same by suspension point (FILE a glob,\n"
	"                            LINE a number or *); repeatable\n"
	"\n"
	"  --version                 print the version and exit\n"
	"  --help                    print this help and exit\n"
	"\n"
	"Endpoints: GET /healthz, /metrics, /pids, /pids/PID/tasks[?format=text&task=ID&\n"
	"locals=1&max_age_ms=N&stop=0], /pids/PID/tasks/ID, and / (the viewer). /metrics has\n"
	"the daemon's own metrics and, per watched process, stuck tasks, deadlocks\n"
	"and sample times (Prometheus text format).\n"
	"Systemd socket activation (LISTEN_FDS) replaces the configured listeners.\n"
	"\n"
	"Exit status: 0 after a clean stop, 1 when the server cannot start (address\n"
	"in use, ...), 2 for a bad command line, 78 (EX_CONFIG) for an invalid\n"
	"configuration file or flag value, reported as FILE:LINE: or --flag:.\n";

static const struct option long_options[] = {
	{ "listen", required_argument, NULL, 0 },
	{ "unix", required_argument, NULL, 0 },
	{ "config", required_argument, NULL, 'c' },
	{ "web-root", required_argument, NULL, 0 },
	{ "cores-dir", required_argument, NULL, 0 },
	{ "token-file", required_argument, NULL, 0 },
	{ "max-connections", required_argument, NULL, 0 },
	{ "max-connections-per-ip", required_argument, NULL, 0 },
	{ "max-samples-in-flight", required_argument, NULL, 0 },
	{ "sample-memory", required_argument, NULL, 0 },
	{ "rate-limit", required_argument, NULL, 0 },
	{ "connection-timeout", required_argument, NULL, 0 },
	{ "request-timeout", required_argument, NULL, 0 },
	{ "log-level", required_argument, NULL, 0 },
	{ "decode-priority", required_argument, NULL, 0 },
	{ "watch", required_argument, NULL, 0 },
	{ "sample-interval", required_argument, NULL, 0 },
	{ "stuck-threshold", required_argument, NULL, 0 },
	{ "sample-stop", required_argument, NULL, 0 },
	{ "expected-wait-fn", required_argument, NULL, 0 },
	{ "expected-wait-at", required_argument, NULL, 0 },
	{ "version", no_argument, NULL, 'V' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

/* A flag to apply once the file is read: the key is the flag's name. */
struct flag {
	const char *name;
	const char *value;
};

static int fail(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("asyncdumpd: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return status;
}

/* Reads the bearer token: the file's content without trailing blanks. */
static struct ad_error *read_token(const char *path, char **ret, size_t *ret_len)
{
	FILE *f = fopen(path, "re");
	if (!f)
		return ad_error_os(errno, "--token-file %s", path);
	char *buf = malloc(MAX_TOKEN_BYTES + 1);
	if (!buf) {
		fclose(f);
		return &ad_error_nomem;
	}
	size_t n = fread(buf, 1, MAX_TOKEN_BYTES + 1, f);
	bool bad = ferror(f);
	fclose(f);
	if (bad || n > MAX_TOKEN_BYTES) {
		free(buf);
		return ad_error_create(AD_ERROR_CONFIG, "token file %s: %s", path,
				       bad ? "cannot be read" : "longer than 4096 bytes");
	}
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' ||
		     buf[n - 1] == '\t'))
		n--;
	buf[n] = '\0';
	if (n == 0 || memchr(buf, '\n', n) || memchr(buf, '\0', n)) {
		free(buf);
		return ad_error_create(AD_ERROR_CONFIG,
				       "token file %s must hold one non-empty line", path);
	}
	*ret = buf;
	*ret_len = n;
	return NULL;
}

static bool is_hang_flag(const char *key)
{
	static const char *const keys[] = { "sample_interval", "stuck_threshold", "sample_stop",
					    "expected_wait_fn", "expected_wait_at" };
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(key, keys[i]) == 0)
			return true;
	return false;
}

/* The file (explicit, or the default one when present), then the flags. */
static struct ad_error *configure(const char *config_path, const struct flag *flags,
				  size_t nflags, struct ad_config **ret)
{
	struct ad_config *config;
	struct ad_error *err;
	if (config_path)
		err = ad_config_load(config_path, &config);
	else if (access(AD_CONFIG_DEFAULT_PATH, F_OK) == 0)
		err = ad_config_load(AD_CONFIG_DEFAULT_PATH, &config);
	else
		err = ad_config_create(&config);
	if (err)
		return err;
	for (size_t i = 0; i < nflags; i++) {
		char key[64];
		snprintf(key, sizeof(key), "%s", flags[i].name);
		for (char *p = key; *p; p++)
			if (*p == '-')
				*p = '_';
		if (strcmp(key, "watch") == 0)
			err = ad_config_add_watch(config, flags[i].value);
		else if (is_hang_flag(key))
			err = ad_config_set_hang(config, key, flags[i].value);
		else
			err = ad_config_set(config, key, flags[i].value);
		if (err) {
			ad_config_destroy(config);
			return ad_error_wrap(err, "--%s", flags[i].name);
		}
	}
	if ((err = ad_config_check(config))) {
		ad_config_destroy(config);
		return ad_error_wrap(err, "with the flags applied");
	}
	*ret = config;
	return NULL;
}

static struct ad_error *app_init(struct app *app, const struct ad_config *config)
{
	struct ad_error *err;
	app->self = getpid();
	ratelimit_init(&app->ratelimit, config->rate_limit);
	if (config->token_file &&
	    (err = read_token(config->token_file, &app->token, &app->token_len))) {
		if (err != &ad_error_nomem)
			err->code = AD_ERROR_CONFIG;
		return err;
	}
	if (config->web_root && !(app->web_root = realpath(config->web_root, NULL))) {
		return ad_error_create(AD_ERROR_CONFIG, "cannot use web root %s: %s (leave web_root "
				       "unset for the viewer built into asyncdumpd)",
				       config->web_root, strerror(errno));
	}
	if (!(app->cores_dir = strdup(config->cores_dir ? config->cores_dir
							 : AD_CONFIG_DEFAULT_CORES_DIR)))
		return &ad_error_nomem;
	if ((err = metrics_create(&app->metrics)) || (err = own_metrics_register(app->metrics)))
		return err;
	if ((err = ad_context_create(NULL, &app->ctx)) ||
	    (err = sampler_create(app->ctx, config->max_samples_in_flight, config->sample_memory,
				  &app->sampler)))
		return err;
	sampler_set_decode_priority(app->sampler, config->decode_priority);
	return watcher_create(config, app->sampler, app->metrics, &app->watcher);
}

/* After the server stopped: no request uses the sampler or the watcher. */
static void app_deinit(struct app *app)
{
	watcher_destroy(app->watcher);
	sampler_destroy(app->sampler);
	ad_context_destroy(app->ctx);
	metrics_destroy(app->metrics);
	ratelimit_deinit(&app->ratelimit);
	free(app->web_root);
	free(app->cores_dir);
	if (app->token)
		memset(app->token, 0, app->token_len);
	free(app->token);
}

/* Blocks the stop signals in every thread (MHD's inherit the mask) so that
 * only sigwait() in main sees them. */
static void block_stop_signals(sigset_t *set)
{
	sigemptyset(set);
	sigaddset(set, SIGTERM);
	sigaddset(set, SIGINT);
	pthread_sigmask(SIG_BLOCK, set, NULL);
	signal(SIGPIPE, SIG_IGN);
}

/* A sample's copy buffer and trace pool are kept for the next one (see
 * ad_context_trim()) this long: past the default watch interval, so that a
 * watched process's samples reuse them; an idle daemon gives them back. */
#define KEEP_SAMPLE_MEMORY_MS 15000
#define TRIM_EVERY_S 1

/* Waits for SIGTERM or SIGINT in `stop` (blocked), meanwhile giving back the
 * memory that samples left and nobody used for a while. */
static int wait_for_stop_signal(const sigset_t *stop, struct ad_context *ctx)
{
	const struct timespec tick = { .tv_sec = TRIM_EVERY_S };
	for (;;) {
		int sig = sigtimedwait(stop, NULL, &tick);
		if (sig > 0)
			return sig;
		ad_context_trim(ctx, KEEP_SAMPLE_MEMORY_MS);
	}
}

static int serve(const struct ad_config *config)
{
	sigset_t stop;
	block_stop_signals(&stop);
	struct app app = { 0 };
	struct server *server = NULL;
	struct ad_error *err = app_init(&app, config);
	if (!err)
		err = server_start(config, &app, &server);
	if (!err)
		err = watcher_start(app.watcher);
	if (err) {
		int status = err->code == AD_ERROR_CONFIG ? EXIT_CONFIG : EXIT_INTERNAL;
		log_msg(AD_LOG_ERROR, "cannot start: %s", err->message);
		ad_error_destroy(err);
		server_stop(server);
		app_deinit(&app);
		return status;
	}
	log_msg(AD_LOG_INFO, "asyncdumpd %s started pid=%d", PACKAGE_VERSION, (int)app.self);

	int sig = wait_for_stop_signal(&stop, app.ctx);
	log_msg(AD_LOG_INFO, "stopping on %s: finishing requests in flight",
		sig == SIGINT ? "SIGINT" : "SIGTERM");
	server_stop(server);
	app_deinit(&app);
	log_msg(AD_LOG_INFO, "stopped");
	return 0;
}

int main(int argc, char **argv)
{
	static struct flag flags[MAX_FLAGS];
	size_t nflags = 0;
	const char *config_path = NULL;
	int c, index;
	opterr = 0;
	while ((c = getopt_long(argc, argv, ":", long_options, &index)) != -1) {
		switch (c) {
		case 0:
			if (nflags == MAX_FLAGS)
				return fail(EXIT_USAGE, "too many flags");
			flags[nflags++] = (struct flag){ long_options[index].name, optarg };
			break;
		case 'c': config_path = optarg; break;
		case 'V': printf("asyncdumpd %s\n", PACKAGE_VERSION); return 0;
		case 'h': fputs(usage, stdout); return 0;
		case ':':
			return fail(EXIT_USAGE, "%s needs a value; see --help", argv[optind - 1]);
		default:
			return fail(EXIT_USAGE, "unknown option %s; see --help", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return fail(EXIT_USAGE, "unexpected argument '%s'; see --help", argv[optind]);

	struct ad_config *config = NULL;
	struct ad_error *err = configure(config_path, flags, nflags, &config);
	if (err) {
		int status = fail(status_exit(err->code), "%s", err->message);
		ad_error_destroy(err);
		return status;
	}
	log_set_level(config->log_level);
	int status = serve(config);
	ad_config_destroy(config);
	return status;
}
