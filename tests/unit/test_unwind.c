/* SPDX-License-Identifier: MIT */
/* Unwinding sampled threads of the real test targets and finding the future
 * they passed to block_on. Expected names and suspension lines come from the
 * targets' sources (their `#[tokio::main]` / `block_on(...)` calls and
 * `// @mark` comments), never from asyncdump's own output. */
#include <check.h>
#include <ctype.h>
#include <dwarf.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asyncdump/snapshot.h"
#include "block_on.h"
#include "debuginfo_internal.h"
#include "unwind.h"

/* The READY line of a debug build under ASan-instrumented tests on a busy
 * machine: generous, the target gives up by itself after 20 s anyway. */
#define READY_TIMEOUT_MS 60000

/* ---- the target process: started, always killed */

static pid_t target_pid;

static void kill_target(void)
{
	if (target_pid > 0) {
		kill(target_pid, SIGKILL);
		waitpid(target_pid, NULL, 0);
		target_pid = 0;
	}
}

static const char *env_dir(const char *name)
{
	const char *dir = getenv(name);
	ck_assert_msg(dir && *dir, "%s is not set: run through `make check`", name);
	return dir;
}

/* Reads the first line the target prints, which must be `READY <pid>`. */
static void wait_ready(int fd, const char *what)
{
	char line[256];
	size_t len = 0;
	while (len < sizeof(line) - 1) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		int r = poll(&p, 1, READY_TIMEOUT_MS);
		ck_assert_msg(r > 0, "%s did not print READY within %d s", what,
			      READY_TIMEOUT_MS / 1000);
		ssize_t n = read(fd, line + len, 1);
		ck_assert_msg(n == 1, "%s exited before printing READY", what);
		if (line[len] == '\n')
			break;
		len++;
	}
	line[len] = '\0';
	ck_assert_msg(strncmp(line, "READY ", 6) == 0, "%s printed \"%s\", not READY", what, line);
	ck_assert_int_eq(atoi(line + 6), target_pid);
}

/* The variable naming the targets' build: TARGETS_DIR (bookworm's crates)
 * or TARGETS_DIR_<suite> for a suite of the tokio matrix. */
static const char *targets_dir = "TARGETS_DIR";

/* Starts $TARGETS_DIR/<profile>/<name> with up to three arguments. The
 * target dies with the test (PDEATHSIG), even if an assertion aborts it. */
static pid_t start_target(const char *profile, const char *name, const char *a1,
			  const char *a2, const char *a3)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s/%s", env_dir(targets_dir), profile, name);
	ck_assert_msg(access(path, X_OK) == 0, "no target %s: build the test targets first", path);
	int out[2];
	ck_assert_int_eq(pipe(out), 0);
	pid_t parent = getpid();
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		dup2(out[1], STDOUT_FILENO);
		close(out[0]);
		close(out[1]);
		execl(path, name, a1, a2, a3, (char *)NULL);
		_exit(127);
	}
	target_pid = pid;
	close(out[1]);
	wait_ready(out[0], path);
	/* The target keeps its stdout: it may print later, and must not get SIGPIPE. */
	return pid;
}

/* ---- expectations from the targets' sources */

static char *read_source(const char *relative)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/tests/targets/%s", env_dir("top_srcdir"), relative);
	FILE *f = fopen(path, "r");
	ck_assert_msg(f, "cannot open %s: %s", path, strerror(errno));
	static char text[256 * 1024];
	size_t n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	return strdup(text);
}

/* The line of `// @mark NAME` in a target's source. */
static unsigned marker_line(const char *relative, const char *mark)
{
	char *text = read_source(relative);
	char needle[128];
	snprintf(needle, sizeof(needle), "// @mark %s", mark);
	char *at = strstr(text, needle);
	ck_assert_msg(at, "no marker %s in %s", mark, relative);
	char after = at[strlen(needle)];
	ck_assert_msg(after == '\n' || after == '\0' || after == ' ', "marker %s is ambiguous",
		      mark);
	unsigned line = 1;
	for (char *p = text; p < at; p++)
		line += *p == '\n';
	free(text);
	return line;
}

/* The name of the function that `#[tokio::main]` annotates in `relative`. */
static char *tokio_main_function(const char *relative)
{
	char *text = read_source(relative);
	char *attr = strstr(text, "#[tokio::main");
	ck_assert_msg(attr, "%s has no #[tokio::main]", relative);
	char *fn = strstr(attr, "fn ");
	ck_assert_ptr_nonnull(fn);
	fn += 3;
	size_t len = 0;
	while (isalnum((unsigned char)fn[len]) || fn[len] == '_')
		len++;
	char *name = strndup(fn, len);
	free(text);
	return name;
}

/* The async fn whose future function `caller` of `relative` passes to
 * `<runtime>.block_on(NAME(…))`. */
static char *block_on_argument(const char *relative, const char *caller)
{
	char *text = read_source(relative);
	char def[128];
	snprintf(def, sizeof(def), "fn %s(", caller);
	char *body = strstr(text, def);
	ck_assert_msg(body, "%s has no %s", relative, def);
	char *call = strstr(body, ".block_on(");
	ck_assert_msg(call, "%s calls no block_on", caller);
	call += strlen(".block_on(");
	size_t len = 0;
	while (isalnum((unsigned char)call[len]) || call[len] == '_')
		len++;
	ck_assert_msg(call[len] == '(', "%s: block_on's argument is not a call", relative);
	char *name = strndup(call, len);
	free(text);
	return name;
}

/* ---- DWARF of the future's type */

static bool member_offset(Dwarf_Die *member, uint64_t *ret)
{
	Dwarf_Attribute attr;
	Dwarf_Word off;
	if (!dwarf_attr(member, DW_AT_data_member_location, &attr) || dwarf_formudata(&attr, &off))
		return false;
	*ret = off;
	return true;
}

/* The variant part of an async state machine: __state's offset, and the
 * decl_line of the variant whose discriminant is `state`. */
static bool variant_part(Dwarf_Die *type, Dwarf_Die *ret)
{
	Dwarf_Die child;
	if (dwarf_child(type, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) == DW_TAG_variant_part) {
			*ret = child;
			return true;
		}
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static uint64_t state_offset(Dwarf_Die *type)
{
	Dwarf_Die part, discr;
	Dwarf_Attribute attr;
	uint64_t off;
	ck_assert_msg(variant_part(type, &part), "the future's type has no variant part");
	ck_assert(dwarf_attr(&part, DW_AT_discr, &attr) && dwarf_formref_die(&attr, &discr));
	ck_assert_str_eq(dwarf_diename(&discr), "__state");
	ck_assert(member_offset(&discr, &off));
	return off;
}

/* 0 when no variant has discriminant `state`. */
static unsigned state_decl_line(Dwarf_Die *type, uint8_t state)
{
	Dwarf_Die part, variant, member;
	ck_assert(variant_part(type, &part));
	if (dwarf_child(&part, &variant) != 0)
		return 0;
	do {
		Dwarf_Attribute attr;
		Dwarf_Word discr;
		if (dwarf_tag(&variant) != DW_TAG_variant ||
		    !dwarf_attr(&variant, DW_AT_discr_value, &attr) ||
		    dwarf_formudata(&attr, &discr) || discr != state ||
		    dwarf_child(&variant, &member) != 0)
			continue;
		int line;
		if (dwarf_decl_line(&member, &line) == 0)
			return (unsigned)line;
	} while (dwarf_siblingof(&variant, &variant) == 0);
	return 0;
}

/* ---- the checks */

/* A frame's function by the debuginfo's qualified name, or NULL. */
static const char *frame_name(const struct ad_unwind *uw, const struct ad_unwind_frame *f)
{
	if (!f->has_function)
		return NULL;
	Dwarf_Die die = f->function;
	pthread_mutex_lock(&uw->debuginfo->lock);
	const char *name = ad_debuginfo_die_name_locked(uw->debuginfo, &die);
	pthread_mutex_unlock(&uw->debuginfo->lock);
	return name;
}

/* UNWIND_DUMP=1 prints the frames, to see what a failing test saw. */
static void dump_frames(const struct ad_unwind *uw)
{
	if (!getenv("UNWIND_DUMP"))
		return;
	for (size_t i = 0; i < uw->nframes; i++) {
		const struct ad_unwind_frame *f = &uw->frames[i];
		const char *q = frame_name(uw, f);
		fprintf(stderr, "thread %d #%zu%s pc 0x%lx cfa %s0x%lx %s\n", (int)uw->tid,
			f->physical, f->inlined ? " (inlined)" : "", (unsigned long)f->pc,
			f->has_cfa ? "" : "?", (unsigned long)f->cfa, q ? q : "??");
	}
}

struct sample {
	struct ad_snapshot *snap;
	struct ad_debuginfo *di;
	struct ad_unwinder *unwinder;
	struct ad_unwind *uw;
};

static void sample_thread(pid_t pid, pid_t tid, struct sample *s)
{
	struct ad_error *err = ad_snapshot_take(pid, NULL, &s->snap);
	ck_assert_msg(!err, "snapshot of %d: %s", pid, err ? err->message : "");
	err = ad_debuginfo_open(s->snap->exe, &s->di);
	ck_assert_msg(!err, "debuginfo of %s: %s", s->snap->exe, err ? err->message : "");
	err = ad_unwinder_create(s->snap, NULL, s->di, &s->unwinder);
	ck_assert_msg(!err, "unwinder: %s", err ? err->message : "");
	err = ad_unwind_thread(s->unwinder, s->snap, tid, &s->uw);
	ck_assert_msg(!err, "unwinding thread %d: %s", tid, err ? err->message : "");
	dump_frames(s->uw);
}

static void sample_destroy(struct sample *s)
{
	ad_unwind_destroy(s->uw);
	ad_unwinder_destroy(s->unwinder);
	ad_debuginfo_unref(s->di);
	ad_snapshot_destroy(s->snap);
}

static pid_t thread_named(const struct ad_snapshot *snap, const char *name)
{
	for (size_t i = 0; i < snap->nthreads; i++)
		if (strcmp(snap->threads[i].name, name) == 0)
			return snap->threads[i].tid;
	ck_abort_msg("no thread named %s", name);
	return 0;
}

/* Whether some frame is function `name` (qualified, generic arguments aside). */
static bool has_frame(const struct ad_unwind *uw, const char *name)
{
	for (size_t i = 0; i < uw->nframes; i++) {
		const char *q = frame_name(uw, &uw->frames[i]);
		if (q && strcmp(q, name) == 0)
			return true;
	}
	return false;
}

/* Whether a future of `type` suspended at `line` lies at an aligned place
 * of [low, high): where ad_block_on_scan() searches when DWARF gives the
 * pinned future no location. The first such place, or 0 (a stray byte may
 * look like a state too: telling them apart is the scan's job, tested by
 * the trace tests). */
static uint64_t suspended_in_range(const struct sample *s, Dwarf_Die *type, uint64_t low,
				   uint64_t high, unsigned line)
{
	Dwarf_Word size = 0, align = 8;
	Dwarf_Attribute attr;
	ck_assert(dwarf_attr(type, DW_AT_byte_size, &attr) && dwarf_formudata(&attr, &size) == 0);
	if (dwarf_attr(type, DW_AT_alignment, &attr))
		ck_assert(dwarf_formudata(&attr, &align) == 0 && align);
	uint64_t off = state_offset(type), found = 0;
	for (uint64_t a = (low + align - 1) / align * align; a + size <= high; a += align) {
		uint8_t state;
		struct ad_error *err = ad_read(s->snap->reader, a + off, &state, 1);
		ck_assert_msg(!err, "reading the frame: %s", err ? err->message : "");
		if (state >= 3 && state_decl_line(type, state) == line && !found)
			found = a;
	}
	return found;
}

/* Whether the calls the pinning frame is inside hold `address`, in a
 * register or in their stack: what ad_block_on_scan() prefers when several
 * places in the frame validate. */
static bool pointed_by_inner_calls(const struct sample *s, const struct ad_block_on *b,
				   uint64_t address)
{
	for (size_t i = 0; i < b->nregisters; i++)
		if (b->registers[i] == address)
			return true;
	ck_assert(b->inner_low <= b->frame_low && b->frame_low - b->inner_low < (1u << 20));
	for (uint64_t a = (b->inner_low + 7) & ~UINT64_C(7); a + 8 <= b->frame_low; a += 8) {
		uint64_t word;
		struct ad_error *err = ad_read(s->snap->reader, a, &word, sizeof(word));
		ck_assert_msg(!err, "reading the stack: %s", err ? err->message : "");
		if (word == address)
			return true;
	}
	return false;
}

/* The future of the block_on on the sampled thread: of type
 * `<type_prefix>…`, suspended at `mark`. Optimised builds may give it no
 * location (allow_no_location): then the frame to search must hold it. */
static uint64_t check_block_on(const struct sample *s, const char *source,
			       const char *type_prefix, const char *type_kind, const char *mark,
			       bool allow_no_location)
{
	ck_assert_msg(ad_block_on_present(s->uw), "thread %d: no block_on frame among %zu",
		      s->uw->tid, s->uw->nframes);
	struct ad_block_on b;
	struct ad_error *err = ad_block_on_find(s->uw, s->snap->reader, &b);
	Dwarf_Die type;
	ck_assert(err || dwarf_offdie(s->di->dwarf, b.type_die, &type));
	if (getenv("UNWIND_DUMP"))
		fprintf(stderr, "thread %d: block_on: %s%s%s\n", (int)s->uw->tid,
			err ? err->message : b.type_name, err || b.has_address ? "" : ": ",
			err || b.has_address ? "" : b.no_location);
	ck_assert_msg(!err, "thread %d: %s", s->uw->tid, err ? err->message : "");
	ck_assert_msg(strncmp(b.type_name, type_prefix, strlen(type_prefix)) == 0 &&
			      strstr(b.type_name + strlen(type_prefix), type_kind),
		      "the future's type is %s, expected %s%s…", b.type_name, type_prefix,
		      type_kind);
	ck_assert_msg(strncmp(b.function, "tokio::runtime::", 16) == 0, "%s", b.function);
	unsigned line = marker_line(source, mark);
	if (!b.has_address) {
		ck_assert_msg(allow_no_location, "no location in a debug build: %s", b.no_location);
		ck_assert_msg(strstr(b.no_location, "block_on"), "%s", b.no_location);
		ck_assert_msg(b.frame_low < b.frame_high && b.frame_high - b.frame_low < (1u << 20),
			      "frame 0x%" PRIx64 "-0x%" PRIx64, b.frame_low, b.frame_high);
		uint64_t address = suspended_in_range(s, &type, b.frame_low, b.frame_high, line);
		ck_assert_msg(address, "no future suspended at line %u in %s's frame 0x%" PRIx64
				       "-0x%" PRIx64, line, b.function, b.frame_low, b.frame_high);
		/* A current_thread runtime polls it through the Pin<&mut F> it
		 * passes to CoreGuard::block_on: the calls below hold it. */
		if (strstr(b.function, "current_thread"))
			ck_assert_msg(pointed_by_inner_calls(s, &b, address),
				      "nothing in the %zu registers and the stack 0x%" PRIx64
				      "-0x%" PRIx64 " of the calls %s is inside points at its "
				      "future 0x%" PRIx64,
				      b.nregisters, b.inner_low, b.frame_low, b.function, address);
		ad_block_on_deinit(&b);
		return address;
	}
	ck_assert_uint_ne(b.address, 0);

	uint8_t state;
	uint64_t off = state_offset(&type);
	err = ad_read(s->snap->reader, b.address + off, &state, 1);
	ck_assert_msg(!err, "reading __state: %s", err ? err->message : "");
	/* 0 unresumed, 1 returned, 2 panicked, 3+ suspended: the body is awaiting. */
	ck_assert_msg(state >= 3, "the future's __state is %u, not a suspension", state);
	ck_assert_uint_eq(state_decl_line(&type, state), line);
	uint64_t address = b.address;
	ad_block_on_deinit(&b);
	return address;
}

static void check_demo(const char *profile, bool allow_no_location)
{
	char *fn = tokio_main_function("demo/src/main.rs");
	char prefix[256];
	snprintf(prefix, sizeof(prefix), "demo::%s::", fn);
	pid_t pid = start_target(profile, "demo", NULL, NULL, NULL);
	struct sample s = {0};
	sample_thread(pid, pid, &s);
	char main_fn[256];
	snprintf(main_fn, sizeof(main_fn), "demo::%s", fn);
	/* #[tokio::main] keeps fn main, which calls block_on: it is on the stack
	 * in every build, so the unwinding went through tokio's frames. */
	ck_assert_msg(has_frame(s.uw, main_fn), "no frame of %s among %zu frames (%s)", main_fn,
		      s.uw->nframes, s.uw->end_reason ? s.uw->end_reason : "complete");
	ck_assert(s.uw->nphysical > 3);
	ck_assert(!s.uw->truncated);
	uint64_t address = check_block_on(&s, "demo/src/main.rs", prefix, "{async_block_env#",
					  "main_awaits_foo", allow_no_location);

	/* A later sample of the same process reuses the unwinder; the future
	 * is pinned, so it is where it was. */
	struct ad_snapshot *again;
	struct ad_error *err = ad_snapshot_take(pid, NULL, &again);
	ck_assert_msg(!err, "%s", err ? err->message : "");
	ck_assert(ad_unwinder_matches(s.unwinder, again, s.di));
	ad_unwind_destroy(s.uw);
	ad_snapshot_destroy(s.snap);
	s.snap = again;
	err = ad_unwind_thread(s.unwinder, s.snap, pid, &s.uw);
	ck_assert_msg(!err, "%s", err ? err->message : "");
	ck_assert_uint_eq(check_block_on(&s, "demo/src/main.rs", prefix, "{async_block_env#",
					 "main_awaits_foo", allow_no_location),
			  address);
	sample_destroy(&s);
	kill_target();
	free(fn);
}

START_TEST(demo_debug_block_on_future)
{
	check_demo("debug", false);
}
END_TEST

START_TEST(demo_release_block_on_future_in_its_frame)
{
	check_demo("release", true);
}
END_TEST

/* counts --flavor current_thread --two-runtimes: the main thread block_ons
 * main_runtime() on a current_thread runtime, thread "second-runtime"
 * block_ons second_runtime() on another one. */
static void check_counts_current_thread(const char *profile, bool allow_no_location)
{
	char *main_arg = block_on_argument("counts/src/main.rs", "main");
	char *second_arg = block_on_argument("counts/src/main.rs", "start_second_runtime");
	char prefix[256];
	pid_t pid = start_target(profile, "counts", "--flavor", "current_thread", "--two-runtimes");

	struct sample s = {0};
	sample_thread(pid, pid, &s);
	snprintf(prefix, sizeof(prefix), "counts::%s::", main_arg);
	check_block_on(&s, "counts/src/main.rs", prefix, "{async_fn_env#",
		       "main_runtime_awaits_forever", allow_no_location);

	/* The same snapshot, another thread: the unwinder is reused. */
	pid_t second = thread_named(s.snap, "second-runtime");
	ad_unwind_destroy(s.uw);
	struct ad_error *err = ad_unwind_thread(s.unwinder, s.snap, second, &s.uw);
	ck_assert_msg(!err, "%s", err ? err->message : "");
	dump_frames(s.uw);
	snprintf(prefix, sizeof(prefix), "counts::%s::", second_arg);
	check_block_on(&s, "counts/src/main.rs", prefix, "{async_fn_env#",
		       "second_runtime_awaits_forever", allow_no_location);
	sample_destroy(&s);
	kill_target();
	free(main_arg);
	free(second_arg);
}

START_TEST(counts_current_thread_debug)
{
	check_counts_current_thread("debug", false);
}
END_TEST

START_TEST(counts_current_thread_release)
{
	check_counts_current_thread("release", true);
}
END_TEST

/* The same against the tokio matrix's newer tokios (TOKIO_SUITES), whose
 * current_thread block_on gives the future no location in release builds:
 * it is searched for, and the calls below hold a pointer to it. */
START_TEST(counts_current_thread_release_matrix)
{
	char suites[256], name[64];
	snprintf(suites, sizeof(suites), "%s", env_dir("TOKIO_SUITES"));
	for (char *save, *suite = strtok_r(suites, " ", &save); suite;
	     suite = strtok_r(NULL, " ", &save)) {
		if (strcmp(suite, "bookworm") == 0)
			continue;
		snprintf(name, sizeof(name), "TARGETS_DIR_%s", suite);
		targets_dir = name;
		check_counts_current_thread("release", true);
		targets_dir = "TARGETS_DIR";
	}
}
END_TEST

/* Worker threads run tasks, not a block_on: nothing to find, said so. */
START_TEST(worker_thread_has_no_block_on)
{
	pid_t pid = start_target("debug", "demo", NULL, NULL, NULL);
	struct sample s = {0};
	sample_thread(pid, pid, &s);
	pid_t worker = thread_named(s.snap, "tokio-runtime-w");
	ad_unwind_destroy(s.uw);
	struct ad_error *err = ad_unwind_thread(s.unwinder, s.snap, worker, &s.uw);
	ck_assert_msg(!err, "%s", err ? err->message : "");
	ck_assert(s.uw->nphysical > 3);
	ck_assert(!ad_block_on_present(s.uw));
	struct ad_block_on b;
	err = ad_block_on_find(s.uw, s.snap->reader, &b);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_NOT_FOUND);
	ck_assert_msg(strstr(err->message, "not in a block_on"), "%s", err->message);
	ad_error_destroy(err);

	/* A thread the snapshot does not have. */
	ad_unwind_destroy(s.uw);
	s.uw = NULL;
	err = ad_unwind_thread(s.unwinder, s.snap, 1, &s.uw);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_NOT_FOUND);
	ck_assert_ptr_null(s.uw);
	ad_error_destroy(err);
	sample_destroy(&s);
	kill_target();
}
END_TEST

START_TEST(unwinder_needs_the_executable_mapped)
{
	static const uint8_t page[64];
	struct ad_segment segment = {.address = 0x10000, .data = page, .len = sizeof(page)};
	struct ad_reader *reader;
	struct ad_error *err = ad_reader_synthetic_create(&segment, 1, &reader);
	ck_assert_msg(!err, "%s", err ? err->message : "");
	char path[4096];
	snprintf(path, sizeof(path), "%s/debug/demo", env_dir("TARGETS_DIR"));
	struct ad_debuginfo *di;
	err = ad_debuginfo_open(path, &di);
	ck_assert_msg(!err, "debuginfo of %s: %s", path, err ? err->message : "");
	struct ad_snapshot snap = {.pid = 1, .exe = (char *)"/nonexistent/exe", .reader = reader};
	struct ad_unwinder *u;
	err = ad_unwinder_create(&snap, NULL, di, &u);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_NOT_FOUND);
	ck_assert_msg(strstr(err->message, "/nonexistent/exe"), "%s", err->message);
	ad_error_destroy(err);

	err = ad_unwinder_create(&snap, NULL, NULL, &u);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_INVALID_ARGUMENT);
	ad_error_destroy(err);

	snap.reader = NULL;
	err = ad_unwinder_create(&snap, NULL, di, &u);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_INVALID_ARGUMENT);
	ad_error_destroy(err);
	ad_debuginfo_unref(di);
	ad_reader_destroy(reader);
}
END_TEST

int main(void)
{
	atexit(kill_target);
	Suite *s = suite_create("unwind");
	TCase *tc = tcase_create("block_on");
	/* Starting targets and reading DWARF under sanitizers takes a while. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, unwinder_needs_the_executable_mapped);
	tcase_add_test(tc, demo_debug_block_on_future);
	tcase_add_test(tc, demo_release_block_on_future_in_its_frame);
	tcase_add_test(tc, counts_current_thread_debug);
	tcase_add_test(tc, counts_current_thread_release);
	tcase_add_test(tc, counts_current_thread_release_matrix);
	tcase_add_test(tc, worker_thread_has_no_block_on);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
