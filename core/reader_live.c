/* SPDX-License-Identifier: MIT */
/* Live process memory: batched process_vm_readv, /proc/PID/mem as fallback.
 *
 * process_vm_readv costs about the same per call whatever the size below a
 * page, so ranges are batched up to IOV_MAX per call. It stops at the first
 * page it cannot read and returns how much it copied, which locates the
 * first unreadable address exactly. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

#include "asyncdump/memory.h"
#include "proc.h"

#ifndef IOV_MAX
#define IOV_MAX 1024
#endif

/* The kernel caps one transfer at MAX_RW_COUNT (~2 GiB); stay well below. */
#define MAX_BYTES_PER_CALL ((size_t)1 << 30)

void ad_vm_init(struct ad_vm *vm, pid_t pid)
{
	vm->pid = pid;
	vm->mem_fd = -1;
}

void ad_vm_deinit(struct ad_vm *vm)
{
	if (vm->mem_fd >= 0)
		close(vm->mem_fd);
	vm->mem_fd = -1;
}

static struct ad_error *fault_at(const struct ad_vm *vm, uint64_t address)
{
	return ad_error_fault(address, 1,
			      "pid %d: memory at 0x%" PRIx64 " is not mapped or not readable",
			      (int)vm->pid, address);
}

static struct ad_error *open_mem_fallback(struct ad_vm *vm)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)vm->pid);
	vm->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (vm->mem_fd < 0)
		return ad_proc_explain(vm->pid, 0, errno, "opening /proc/PID/mem");
	return NULL;
}

static struct ad_error *read_mem_file(struct ad_vm *vm, const struct ad_vm_range *r)
{
	size_t done = 0;
	while (done < r->len) {
		uint64_t at = r->address + done;
		if (at > (uint64_t)INT64_MAX)
			return fault_at(vm, at);
		ssize_t n = pread(vm->mem_fd, (char *)r->buf + done, r->len - done, (off_t)at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == ESRCH)
			return ad_proc_exited_error(vm->pid, "reading /proc/PID/mem");
		if (n <= 0)
			return fault_at(vm, at);
		done += (size_t)n;
	}
	return NULL;
}

/* Where a process_vm_readv that copied `copied` bytes of `remote` stopped. */
static uint64_t stop_address(const struct iovec *remote, size_t n, size_t copied)
{
	size_t before = 0;
	for (size_t i = 0; i < n; i++) {
		if (copied < before + remote[i].iov_len)
			return (uint64_t)(uintptr_t)remote[i].iov_base + (copied - before);
		before += remote[i].iov_len;
	}
	return (uint64_t)(uintptr_t)remote[n - 1].iov_base + remote[n - 1].iov_len;
}

struct ad_error *ad_vm_read(struct ad_vm *vm, const struct ad_vm_range *ranges, size_t n)
{
	struct iovec local[IOV_MAX], remote[IOV_MAX];
	size_t i = 0, off = 0; /* next byte to read: ranges[i] at offset off */
	while (i < n) {
		if (off == ranges[i].len) {
			i++;
			off = 0;
			continue;
		}
		if (vm->mem_fd >= 0) {
			struct ad_vm_range rest = {
				ranges[i].address + off, (char *)ranges[i].buf + off,
				ranges[i].len - off,
			};
			struct ad_error *err = read_mem_file(vm, &rest);
			if (err)
				return err;
			off = ranges[i].len;
			continue;
		}
		/* One batch: up to IOV_MAX pieces, MAX_BYTES_PER_CALL bytes. */
		size_t k = 0, total = 0, bi = i, boff = off;
		while (bi < n && k < IOV_MAX && total < MAX_BYTES_PER_CALL) {
			size_t len = ranges[bi].len - boff;
			if (len > MAX_BYTES_PER_CALL - total)
				len = MAX_BYTES_PER_CALL - total;
			if (len) {
				local[k].iov_base = (char *)ranges[bi].buf + boff;
				local[k].iov_len = len;
				remote[k].iov_base = (void *)(uintptr_t)(ranges[bi].address + boff);
				remote[k].iov_len = len;
				k++;
				total += len;
			}
			boff += len;
			if (boff == ranges[bi].len) {
				bi++;
				boff = 0;
			}
		}
		ssize_t got = process_vm_readv(vm->pid, local, k, remote, k, 0);
		if (got < 0) {
			int e = errno;
			if (e == EINTR)
				continue;
			if (e == EFAULT)
				return fault_at(vm, (uint64_t)(uintptr_t)remote[0].iov_base);
			if (e == ESRCH)
				return ad_proc_exited_error(vm->pid, "reading memory");
			if (e == EPERM || e == ENOSYS) {
				struct ad_error *err = open_mem_fallback(vm);
				if (err)
					return err;
				continue;
			}
			return ad_proc_explain(vm->pid, 0, e, "process_vm_readv");
		}
		if ((size_t)got < total)
			return fault_at(vm, stop_address(remote, k, (size_t)got));
		i = bi;
		off = boff;
	}
	return NULL;
}

/* ---- the live reader */

static struct ad_error *live_read(void *ctx, uint64_t address, void *buf, size_t len)
{
	struct ad_vm_range range = { address, buf, len };
	if (len && address + len - 1 < address) /* wraps: user memory never reaches the top */
		return fault_at(ctx, address);
	return ad_vm_read(ctx, &range, 1);
}

static void live_destroy(void *ctx)
{
	if (!ctx)
		return;
	ad_vm_deinit(ctx);
	free(ctx);
}

static const struct ad_reader_ops live_ops = {
	.read = live_read,
	.destroy = live_destroy,
};

struct ad_error *ad_reader_live_create(pid_t pid, struct ad_reader **ret)
{
	if (pid <= 0)
		return ad_error_create(AD_ERROR_INVALID_ARGUMENT, "invalid pid %d", (int)pid);
	struct ad_proc_status st;
	struct ad_error *err = ad_proc_read_status(pid, 0, &st);
	if (err) {
		int e = err->errnum ? err->errnum : ENOENT;
		ad_error_destroy(err);
		return ad_proc_explain(pid, 0, e, "reading memory");
	}
	struct ad_vm *vm = malloc(sizeof(*vm));
	struct ad_reader *r = malloc(sizeof(*r));
	if (!vm || !r) {
		free(vm);
		free(r);
		return &ad_error_nomem;
	}
	ad_vm_init(vm, pid);
	r->ops = &live_ops;
	r->ctx = vm;
	*ret = r;
	return NULL;
}
