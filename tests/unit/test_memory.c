/* SPDX-License-Identifier: MIT */
/* The memory readers: synthetic, cached, live (this process and a child). */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "asyncdump/memory.h"
#include "proc.h"

static void assert_fault(struct ad_error *err, uint64_t address)
{
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(err->code == AD_ERROR_FAULT, "code %d: %s", err->code, err->message);
	ck_assert_msg(err->address == address, "fault at 0x%llx, expected 0x%llx (%s)",
		      (unsigned long long)err->address, (unsigned long long)address, err->message);
	ad_error_destroy(err);
}

static void assert_ok(struct ad_error *err)
{
	ck_assert_msg(err == NULL, "unexpected error: %s", err ? err->message : "");
}

/* ---- synthetic */

static const uint8_t seg_a[16] = { 0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07,
				   0x08, 0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f };
static const uint8_t seg_b[16] = { 0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x16, 0x17,
				   0x18, 0x19, 0x1a, 0x1b, 0x1c, 0x1d, 0x1e, 0x1f };
static const uint8_t seg_c[8] = { 0xef, 0xbe, 0xad, 0xde, 0x78, 0x56, 0x34, 0x12 };

/* 0x1000..0x1020 in two adjacent segments (given out of order), a gap, 0x2000..0x2008. */
static struct ad_reader *make_synthetic(void)
{
	struct ad_segment segs[] = {
		{ 0x2000, seg_c, sizeof(seg_c) },
		{ 0x1010, seg_b, sizeof(seg_b) },
		{ 0x1000, seg_a, sizeof(seg_a) },
	};
	struct ad_reader *r;
	assert_ok(ad_reader_synthetic_create(segs, 3, &r));
	return r;
}

START_TEST(synthetic_reads_integers_little_endian)
{
	struct ad_reader *r = make_synthetic();
	uint8_t b;
	uint32_t w;
	uint64_t q;
	assert_ok(ad_read_u8(r, 0x1005, &b));
	ck_assert_uint_eq(b, 0x05);
	assert_ok(ad_read_u32(r, 0x2000, &w));
	ck_assert_uint_eq(w, 0xdeadbeef);
	assert_ok(ad_read_u64(r, 0x2000, &q));
	ck_assert_uint_eq(q, 0x12345678deadbeefull);
	assert_ok(ad_read_uint(r, 0x2004, 2, &q));
	ck_assert_uint_eq(q, 0x5678);
	struct ad_error *err = ad_read_uint(r, 0x2000, 3, &q);
	ck_assert_int_eq(err->code, AD_ERROR_INVALID_ARGUMENT);
	ad_error_destroy(err);
	ad_reader_destroy(r);
}
END_TEST

START_TEST(synthetic_read_spans_adjacent_segments)
{
	struct ad_reader *r = make_synthetic();
	uint8_t buf[8];
	assert_ok(ad_read(r, 0x100c, buf, sizeof(buf)));
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(buf[i], 0x0c + i);
	ad_reader_destroy(r);
}
END_TEST

START_TEST(synthetic_fault_carries_first_missing_address)
{
	struct ad_reader *r = make_synthetic();
	uint8_t buf[16];
	assert_fault(ad_read(r, 0x101c, buf, 8), 0x1020);  /* runs off the end */
	assert_fault(ad_read(r, 0x0ffc, buf, 8), 0x0ffc);  /* starts before */
	assert_fault(ad_read(r, 0x3000, buf, 1), 0x3000);  /* nowhere */
	uint64_t q;
	assert_fault(ad_read_u64(r, 0x2004, &q), 0x2008);
	assert_fault(ad_read(r, UINT64_MAX - 3, buf, 8), UINT64_MAX - 3);
	ad_reader_destroy(r);
}
END_TEST

START_TEST(synthetic_copies_segments_and_rejects_overlaps)
{
	uint8_t data[4] = { 1, 2, 3, 4 };
	struct ad_segment seg = { 0x10, data, sizeof(data) };
	struct ad_reader *r;
	assert_ok(ad_reader_synthetic_create(&seg, 1, &r));
	data[0] = 9; /* the reader holds its own copy */
	uint8_t b;
	assert_ok(ad_read_u8(r, 0x10, &b));
	ck_assert_uint_eq(b, 1);
	ad_reader_destroy(r);

	struct ad_segment overlapping[] = { { 0x10, data, 4 }, { 0x12, data, 4 } };
	struct ad_error *err = ad_reader_synthetic_create(overlapping, 2, &r);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_INVALID_ARGUMENT);
	ad_error_destroy(err);
	ad_reader_destroy(NULL);
}
END_TEST

/* ---- cached */

/* A backend that counts its reads, over synthetic memory. */
struct counting {
	struct ad_reader *inner;
	unsigned reads;
	uint64_t last_address;
	size_t last_len;
};

static struct ad_error *counting_read(void *ctx, uint64_t address, void *buf, size_t len)
{
	struct counting *c = ctx;
	c->reads++;
	c->last_address = address;
	c->last_len = len;
	return ad_read(c->inner, address, buf, len);
}

static const struct ad_reader_ops counting_ops = { .read = counting_read };

START_TEST(cached_serves_hits_from_blocks)
{
	struct counting c = { .inner = make_synthetic() };
	struct ad_reader backend = { &counting_ops, &c }, *r;
	assert_ok(ad_reader_cached_create(&backend, 16, &r));
	uint32_t w;
	assert_ok(ad_read_u32(r, 0x1004, &w));
	ck_assert_uint_eq(w, 0x07060504);
	ck_assert_uint_eq(c.reads, 1); /* a miss reads the whole block */
	ck_assert_uint_eq(c.last_address, 0x1000);
	ck_assert_uint_eq(c.last_len, 16);
	assert_ok(ad_read_u32(r, 0x100a, &w));
	ck_assert_uint_eq(w, 0x0d0c0b0a);
	ck_assert_uint_eq(c.reads, 1); /* a hit */
	uint8_t buf[8];
	assert_ok(ad_read(r, 0x100c, buf, sizeof(buf))); /* spans blocks and segments */
	for (int i = 0; i < 8; i++)
		ck_assert_uint_eq(buf[i], 0x0c + i);
	ck_assert_uint_eq(c.reads, 2); /* only the second block was missing */
	assert_ok(ad_read(r, 0x1000, buf, 8));
	assert_ok(ad_read(r, 0x1018, buf, 8));
	ck_assert_uint_eq(c.reads, 2);
	ad_reader_destroy(r);
	ad_reader_destroy(c.inner);
}
END_TEST

START_TEST(cached_faults_carry_backend_address)
{
	struct counting c = { .inner = make_synthetic() };
	struct ad_reader backend = { &counting_ops, &c }, *r;
	assert_ok(ad_reader_cached_create(&backend, 16, &r));
	uint8_t buf[16];
	/* Block 0x2000..0x2010 is readable up to 0x2008 only. */
	assert_fault(ad_read(r, 0x2004, buf, 8), 0x2008);
	uint64_t q;
	assert_ok(ad_read_u64(r, 0x2000, &q)); /* its readable prefix is cached */
	ck_assert_uint_eq(q, 0x12345678deadbeefull);
	unsigned reads = c.reads;
	assert_ok(ad_read_u64(r, 0x2000, &q));
	ck_assert_uint_eq(c.reads, reads);
	assert_fault(ad_read(r, 0x2004, buf, 8), 0x2008); /* still exact */
	assert_fault(ad_read(r, 0x101c, buf, 8), 0x1020);
	assert_fault(ad_read(r, 0x5000, buf, 4), 0x5000);
	ad_reader_destroy(r);
	ad_reader_destroy(c.inner);
}
END_TEST

START_TEST(cached_reads_past_a_gap_inside_a_block)
{
	static const uint8_t lo[4] = { 1, 2, 3, 4 }, hi[8] = { 5, 6, 7, 8, 9, 10, 11, 12 };
	struct ad_segment segs[] = { { 0x4000, lo, 4 }, { 0x4008, hi, 8 } };
	struct ad_reader *inner, *r;
	assert_ok(ad_reader_synthetic_create(segs, 2, &inner));
	assert_ok(ad_reader_cached_create(inner, 16, &r));
	uint8_t buf[16];
	assert_ok(ad_read(r, 0x4008, buf, 8));
	ck_assert_uint_eq(buf[0], 5);
	ck_assert_uint_eq(buf[7], 12);
	assert_ok(ad_read(r, 0x4000, buf, 4));
	ck_assert_uint_eq(buf[3], 4);
	assert_fault(ad_read(r, 0x4000, buf, 16), 0x4004);
	ad_reader_destroy(r);
	ad_reader_destroy(inner);
}
END_TEST

START_TEST(cached_stays_correct_past_its_bound)
{
	/* More blocks than the cache holds: it empties and refills. */
	size_t len = (size_t)80 << 20;
	uint8_t *mem = malloc(len);
	ck_assert_ptr_nonnull(mem);
	for (size_t i = 0; i < len; i += 4096)
		mem[i] = (uint8_t)(i >> 12);
	struct ad_segment seg = { 0x10000000, mem, len };
	struct ad_reader *inner, *r;
	assert_ok(ad_reader_synthetic_create(&seg, 1, &inner));
	free(mem);
	assert_ok(ad_reader_cached_create(inner, 4096, &r));
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < len; i += 4096) {
			uint8_t b;
			assert_ok(ad_read_u8(r, 0x10000000 + i, &b));
			ck_assert_uint_eq(b, (uint8_t)(i >> 12));
		}
	}
	ad_reader_destroy(r);
	ad_reader_destroy(inner);
}
END_TEST

START_TEST(cached_rejects_bad_block_sizes)
{
	struct ad_reader *inner = make_synthetic(), *r;
	struct ad_error *err = ad_reader_cached_create(inner, 12, &r);
	ck_assert_int_eq(err->code, AD_ERROR_INVALID_ARGUMENT);
	ad_error_destroy(err);
	err = ad_reader_cached_create(inner, 0, &r);
	ck_assert_int_eq(err->code, AD_ERROR_INVALID_ARGUMENT);
	ad_error_destroy(err);
	ad_reader_destroy(inner);
}
END_TEST

/* ---- live */

static const char known_bytes[] = "asyncdump live reader test bytes";

/* Three pages with the middle one unmapped. */
static uint8_t *map_with_hole(size_t *page)
{
	*page = (size_t)sysconf(_SC_PAGESIZE);
	uint8_t *p = mmap(NULL, 3 * *page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
			  -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	memset(p, 0xab, 3 * *page);
	ck_assert_int_eq(munmap(p + *page, *page), 0);
	return p;
}

START_TEST(live_reads_this_process)
{
	struct ad_reader *r;
	assert_ok(ad_reader_live_create(getpid(), &r));
	char buf[sizeof(known_bytes)];
	assert_ok(ad_read(r, (uint64_t)(uintptr_t)known_bytes, buf, sizeof(buf)));
	ck_assert_str_eq(buf, known_bytes);
	size_t page;
	uint8_t *p = map_with_hole(&page);
	uint8_t tmp[64];
	uint64_t hole = (uint64_t)(uintptr_t)(p + page);
	assert_fault(ad_read(r, hole - 16, tmp, 32), hole); /* first unreadable byte */
	assert_fault(ad_read(r, hole + 8, tmp, 8), hole + 8);
	assert_ok(ad_read(r, hole - 16, tmp, 16));
	ck_assert_uint_eq(tmp[15], 0xab);
	assert_fault(ad_read(r, 0, tmp, 8), 0);
	munmap(p, page);
	munmap(p + 2 * page, page);
	ad_reader_destroy(r);
}
END_TEST

START_TEST(live_reads_a_child)
{
	static volatile uint64_t value = 1;
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		value = 0xc41d; /* only the child sees this */
		char c = 'x';
		if (write(ready[1], &c, 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char c;
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	struct ad_reader *r;
	assert_ok(ad_reader_live_create(child, &r));
	uint64_t v;
	assert_ok(ad_read_u64(r, (uint64_t)(uintptr_t)&value, &v));
	ck_assert_uint_eq(v, 0xc41d);
	ck_assert_uint_eq(value, 1);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	struct ad_error *err = ad_read_u64(r, (uint64_t)(uintptr_t)&value, &v);
	ck_assert_ptr_nonnull(err);
	ck_assert_msg(err->code == AD_ERROR_PROCESS_EXITED || err->code == AD_ERROR_NO_PROCESS,
		      "%s", err->message);
	ad_error_destroy(err);
	ad_reader_destroy(r);
	close(ready[0]);
	close(ready[1]);
}
END_TEST

START_TEST(live_reader_of_missing_process)
{
	struct ad_reader *r;
	struct ad_error *err = ad_reader_live_create(0x3fffffff, &r);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, AD_ERROR_NO_PROCESS);
	ck_assert_msg(strstr(err->message, "1073741823"), "%s", err->message);
	ad_error_destroy(err);
}
END_TEST

/* More ranges than one process_vm_readv takes, one of them unreadable. */
START_TEST(vm_read_batches_and_locates_fault)
{
	enum { N = 3000 };
	static uint64_t src[N], dst[N];
	static struct ad_vm_range ranges[N];
	for (size_t i = 0; i < N; i++) {
		src[i] = i * 0x0101010101ull;
		ranges[i] = (struct ad_vm_range){ (uint64_t)(uintptr_t)&src[i], &dst[i], 8 };
	}
	struct ad_vm vm;
	ad_vm_init(&vm, getpid());
	assert_ok(ad_vm_read(&vm, ranges, N));
	ck_assert_int_eq(memcmp(src, dst, sizeof(src)), 0);

	size_t page;
	uint8_t *p = map_with_hole(&page);
	uint64_t hole = (uint64_t)(uintptr_t)(p + page);
	memset(dst, 0, sizeof(dst));
	ranges[2500] = (struct ad_vm_range){ hole - 4, &dst[2500], 8 };
	assert_fault(ad_vm_read(&vm, ranges, N), hole);
	ck_assert_uint_eq(dst[2499], src[2499]); /* everything before is complete */
	ck_assert_uint_eq(dst[1100], src[1100]);
	ad_vm_deinit(&vm);
	munmap(p, page);
	munmap(p + 2 * page, page);
}
END_TEST

/* The /proc/PID/mem path, taken when process_vm_readv is not permitted. */
START_TEST(vm_read_through_proc_mem)
{
	struct ad_vm vm;
	ad_vm_init(&vm, getpid());
	vm.mem_fd = open("/proc/self/mem", O_RDONLY | O_CLOEXEC);
	ck_assert_int_ge(vm.mem_fd, 0);
	char buf[sizeof(known_bytes)];
	struct ad_vm_range range = { (uint64_t)(uintptr_t)known_bytes, buf, sizeof(buf) };
	assert_ok(ad_vm_read(&vm, &range, 1));
	ck_assert_str_eq(buf, known_bytes);
	size_t page;
	uint8_t *p = map_with_hole(&page);
	uint8_t tmp[32];
	uint64_t hole = (uint64_t)(uintptr_t)(p + page);
	range = (struct ad_vm_range){ hole - 16, tmp, 32 };
	assert_fault(ad_vm_read(&vm, &range, 1), hole);
	ad_vm_deinit(&vm);
	munmap(p, page);
	munmap(p + 2 * page, page);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("memory");
	TCase *synthetic = tcase_create("synthetic");
	tcase_add_test(synthetic, synthetic_reads_integers_little_endian);
	tcase_add_test(synthetic, synthetic_read_spans_adjacent_segments);
	tcase_add_test(synthetic, synthetic_fault_carries_first_missing_address);
	tcase_add_test(synthetic, synthetic_copies_segments_and_rejects_overlaps);
	suite_add_tcase(s, synthetic);
	TCase *cached = tcase_create("cached");
	tcase_add_test(cached, cached_serves_hits_from_blocks);
	tcase_add_test(cached, cached_faults_carry_backend_address);
	tcase_add_test(cached, cached_reads_past_a_gap_inside_a_block);
	tcase_add_test(cached, cached_stays_correct_past_its_bound);
	tcase_add_test(cached, cached_rejects_bad_block_sizes);
	tcase_set_timeout(cached, 30);
	suite_add_tcase(s, cached);
	TCase *live = tcase_create("live");
	tcase_add_test(live, live_reads_this_process);
	tcase_add_test(live, live_reads_a_child);
	tcase_add_test(live, live_reader_of_missing_process);
	tcase_add_test(live, vm_read_batches_and_locates_fault);
	tcase_add_test(live, vm_read_through_proc_mem);
	suite_add_tcase(s, live);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
