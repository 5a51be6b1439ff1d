/* SPDX-License-Identifier: MIT */
/* core/heap_scan.c on a synthetic sample over a real Rust binary's
 * segments (tests/targets/typesamples, debug): what memory is looked
 * through (heap and anonymous writable mappings; not stacks, not read-only
 * or file mappings, not pages missing from the sample), which words count
 * (aligned pointers into the executable's code or data segments), each
 * distinct value judged once, and an error from the caller stops the scan. */
#include <check.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "asyncdump/debuginfo.h"
#include "asyncdump/memory.h"
#include "asyncdump/snapshot.h"
#include "debuginfo_internal.h"
#include "decode.h"
#include "heap_scan.h"

#define PAGE 4096u
#define HEAP 0x10000000u
#define ARENA 0x20000000u
#define STACK 0x30000000u
#define RODATA 0x40000000u

static struct ad_debuginfo *di;
static uint64_t code, data; /* an address in a code and a data segment */

/* Outside a test: no ck_assert. */
static void require(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "test_heap_scan: %s\n", what);
		exit(EXIT_FAILURE);
	}
}

static const char *env_dir(const char *name)
{
	const char *dir = getenv(name);
	require(dir && *dir, "TARGETS_DIR is not set: run through `make check`");
	return dir;
}

static void open_binary(void)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/debug/typesamples", env_dir("TARGETS_DIR"));
	struct ad_error *err = ad_debuginfo_open(path, &di);
	require(!err, err ? err->message : "");
	size_t n;
	require(elf_getphdrnum(di->elf, &n) == 0, "no program headers");
	for (size_t i = 0; i < n; i++) {
		GElf_Phdr mem, *ph = gelf_getphdr(di->elf, (int)i, &mem);
		if (!ph || ph->p_type != PT_LOAD)
			continue;
		if ((ph->p_flags & PF_X) && !code)
			code = ph->p_vaddr + 16;
		else if (!(ph->p_flags & PF_X) && !data)
			data = ph->p_vaddr + 8;
	}
	require(code && data, "no code or no data segment");
}

struct seen {
	size_t judged, found;
	uint64_t found_at[16];
	uint64_t accept;  /* the one value accepted */
	size_t fail_after; /* 0: never */
};

static bool judge(struct ad_decode *d, void *arg, uint64_t value)
{
	(void)d;
	struct seen *s = arg;
	s->judged++;
	return value == s->accept;
}

static struct ad_error *found(struct ad_decode *d, void *arg, uint64_t address, uint64_t value)
{
	(void)d;
	struct seen *s = arg;
	ck_assert_uint_eq(value, s->accept);
	if (s->found < 16)
		s->found_at[s->found] = address;
	if (++s->found == s->fail_after)
		return ad_error_create(AD_ERROR_TOO_LARGE, "enough");
	return NULL;
}

/* Memory: the [heap] (two pages), an anonymous arena whose middle page is
 * not in the sample, a thread's stack, an anonymous read-only mapping. */
static uint64_t heap[2 * PAGE / 8], arena[3 * PAGE / 8], stack[PAGE / 8], rodata[PAGE / 8];

static struct ad_snapshot *make_sample(struct ad_reader **reader)
{
	static struct ad_mapping maps[4];
	static char heap_name[] = "[heap]";
	static struct ad_thread thread;
	maps[0] = (struct ad_mapping){ HEAP, HEAP + sizeof(heap), 0, "rw-p", heap_name };
	maps[1] = (struct ad_mapping){ ARENA, ARENA + sizeof(arena), 0, "rw-p", NULL };
	maps[2] = (struct ad_mapping){ STACK, STACK + sizeof(stack), 0, "rw-p", NULL };
	maps[3] = (struct ad_mapping){ RODATA, RODATA + sizeof(rodata), 0, "r--p", NULL };
	thread.regs.rsp = STACK + 64;
	struct ad_segment segs[] = {
		{ HEAP, heap, sizeof(heap) },
		{ ARENA, arena, PAGE },
		{ ARENA + 2 * PAGE, (char *)arena + 2 * PAGE, PAGE },
		{ STACK, stack, sizeof(stack) },
		{ RODATA, rodata, sizeof(rodata) },
	};
	struct ad_error *err = ad_reader_synthetic_create(segs, 5, reader);
	ck_assert(!err);
	struct ad_snapshot *snap = calloc(1, sizeof(*snap));
	ck_assert(snap);
	snap->nmappings = 4;
	snap->mappings = maps;
	snap->nthreads = 1;
	snap->threads = &thread;
	snap->reader = *reader;
	return snap;
}

static void scan(bool exec, struct seen *s, struct ad_error **err_ret)
{
	struct ad_reader *reader;
	struct ad_snapshot *snap = make_sample(&reader);
	struct ad_decode d = { .di = di, .snap = snap, .reader = reader, .bias = 0 };
	*err_ret = ad_heap_scan(&d, exec, judge, found, s);
	ad_reader_destroy(reader);
	free(snap);
}

static void fill(void)
{
	memset(heap, 0, sizeof(heap));
	memset(arena, 0, sizeof(arena));
	memset(stack, 0, sizeof(stack));
	memset(rodata, 0, sizeof(rodata));
	heap[3] = code;           /* found */
	heap[4] = code + 1;       /* unaligned: never judged */
	heap[300] = code;         /* found, second page */
	heap[301] = data;         /* judged, refused */
	heap[302] = 0x12345678;   /* not in the executable: never judged */
	arena[1] = code;          /* found */
	arena[PAGE / 8 + 1] = code; /* the missing page: not in the sample */
	arena[2 * PAGE / 8 + 5] = code; /* after the hole: found */
	stack[20] = code;         /* a stack: never looked at */
	rodata[7] = code;         /* read-only: never looked at */
}

START_TEST(finds_aligned_pointers_in_heap_and_anonymous_memory)
{
	fill();
	struct seen s = { .accept = code };
	struct ad_error *err;
	scan(true, &s, &err);
	ck_assert_msg(!err, "%s", err ? err->message : "");
	ck_assert_uint_eq(s.found, 4);
	ck_assert_uint_eq(s.found_at[0], HEAP + 3 * 8);
	ck_assert_uint_eq(s.found_at[1], HEAP + 300 * 8);
	ck_assert_uint_eq(s.found_at[2], ARENA + 8);
	ck_assert_uint_eq(s.found_at[3], ARENA + 2 * PAGE + 5 * 8);
	/* code judged once for four places; data is not a code pointer */
	ck_assert_uint_eq(s.judged, 1);
}
END_TEST

START_TEST(data_pointers_are_judged_when_asked_for)
{
	fill();
	struct seen s = { .accept = data };
	struct ad_error *err;
	scan(false, &s, &err);
	ck_assert(!err);
	ck_assert_uint_eq(s.found, 1);
	ck_assert_uint_eq(s.found_at[0], HEAP + 301 * 8);
	ck_assert_uint_eq(s.judged, 1);
}
END_TEST

START_TEST(an_error_of_the_caller_stops_the_scan)
{
	fill();
	struct seen s = { .accept = code, .fail_after = 2 };
	struct ad_error *err;
	scan(true, &s, &err);
	ck_assert(err && err->code == AD_ERROR_TOO_LARGE);
	ad_error_destroy(err);
	ck_assert_uint_eq(s.found, 2);
}
END_TEST

START_TEST(nothing_to_find_in_an_empty_sample)
{
	memset(heap, 0, sizeof(heap));
	memset(arena, 0xff, sizeof(arena)); /* all bits: unaligned, outside */
	struct seen s = { .accept = code };
	struct ad_error *err;
	scan(true, &s, &err);
	ck_assert(!err);
	ck_assert_uint_eq(s.found, 0);
	ck_assert_uint_eq(s.judged, 0);
}
END_TEST

/* Whether a program has code of a module decides whether its heap is
 * scanned (LocalSets, futures' pools). The standard library's symbols are
 * v0-mangled in recent toolchains while tokio's are not: they must not
 * count as tokio's. benchtarget makes no LocalSet, sync does. */
START_TEST(code_of_a_module_is_the_programs_own)
{
	static const struct { const char *target; bool local_sets; } cases[] = {
		{ "benchtarget", false },
		{ "sync", true },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[4096];
		snprintf(path, sizeof(path), "%s/release/%s", env_dir("TARGETS_DIR"),
			 cases[i].target);
		struct ad_debuginfo *program;
		struct ad_error *err = ad_debuginfo_open(path, &program);
		ck_assert_msg(!err, "%s", err ? err->message : "");
		ck_assert_msg(ad_debuginfo_has_code_of(program, "_ZN5tokio4task5local") ==
				      cases[i].local_sets,
			      "%s: LocalSet code %s", cases[i].target,
			      cases[i].local_sets ? "not found" : "found");
		ck_assert(ad_debuginfo_has_code_of(program, "_ZN5tokio7runtime"));
		ck_assert(!ad_debuginfo_has_code_of(program, "_ZN16futures_executor11thread_pool"));
		ad_debuginfo_unref(program);
	}
}
END_TEST

int main(void)
{
	open_binary();
	Suite *suite = suite_create("heap_scan");
	TCase *tc = tcase_create("scan");
	tcase_add_test(tc, finds_aligned_pointers_in_heap_and_anonymous_memory);
	tcase_add_test(tc, data_pointers_are_judged_when_asked_for);
	tcase_add_test(tc, an_error_of_the_caller_stops_the_scan);
	tcase_add_test(tc, nothing_to_find_in_an_empty_sample);
	tcase_add_test(tc, code_of_a_module_is_the_programs_own);
	suite_add_tcase(suite, tc);
	SRunner *sr = srunner_create(suite);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	ad_debuginfo_unref(di);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
