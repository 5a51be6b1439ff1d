/* SPDX-License-Identifier: MIT */
/* The threads of a process that is not stopped: what can be known of their
 * registers without ptrace.
 *
 * A thread blocked in a system call (a parked worker, a block_on waiting in
 * epoll or futex: every thread of an idle or hung service) does not move
 * while it stays blocked, and /proc/PID/task/TID/syscall gives its stack
 * pointer and program counter — enough for CFI unwinding through code that
 * keeps no frame pointer (Rust's and glibc's). Its thread pointer (fs_base,
 * for thread-locals) is found through the robust futex list glibc registers
 * for every thread: its head lies inside the thread's control block, which
 * points to itself twice (tcb and self); get_robust_list() needs the same
 * permission as reading the memory. A thread running on a CPU has a thread
 * pointer but no stack to unwind (running). x86_64, glibc. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"
#include "unstopped.h"

/* How far before the robust list head the control block may start: the
 * head is a member of glibc's struct pthread, under a kilobyte into it. */
#define TCB_SEARCH_BYTES 4096
#define TCB_ALIGN 64
#define X86_64_PAGE_SIZE 4096

/* Whether the thread is blocked in a system call, and where: "NR a0 … a5
 * SP PC"; "running" or "-1 SP PC" (blocked, not in a system call) give no
 * registers to trust. */
static bool read_syscall_regs(pid_t pid, pid_t tid, uint64_t *sp, uint64_t *pc)
{
	char path[64], text[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid, (int)tid);
	FILE *f = fopen(path, "re");
	if (!f)
		return false;
	bool ok = fgets(text, sizeof(text), f) != NULL;
	fclose(f);
	if (!ok)
		return false;
	long nr;
	unsigned long long args[6], s, p;
	if (sscanf(text, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &args[0], &args[1],
		   &args[2], &args[3], &args[4], &args[5], &s, &p) != 9 || nr < 0)
		return false;
	*sp = s;
	*pc = p;
	return true;
}

/* The thread control block holding the robust list head `head`: the
 * aligned address before it that holds itself at +0 (tcb) and +16 (self). */
static bool find_tcb(struct ad_vm *vm, uint64_t head, uint64_t *ret)
{
	uint64_t from = head > TCB_SEARCH_BYTES ? (head - TCB_SEARCH_BYTES) & ~(uint64_t)(TCB_ALIGN - 1)
						: 0;
	uint64_t words[(TCB_SEARCH_BYTES + TCB_ALIGN) / 8 + 3];
	size_t len;
	for (;;) {
		len = (size_t)(head - from) + 24;
		struct ad_vm_range r = { .address = from, .buf = words, .len = len };
		struct ad_error *err = ad_vm_read(vm, &r, 1);
		if (!err)
			break;
		/* The block may start less than the window before the head
		 * (the main thread's): search from the page after the hole. */
		uint64_t bad = err->code == AD_ERROR_FAULT ? err->address : UINT64_MAX;
		ad_error_destroy(err);
		from = (bad | (X86_64_PAGE_SIZE - 1)) + 1;
		if (bad >= head || from > head)
			return false;
	}
	/* The nearest one before the head. */
	for (uint64_t at = (head & ~(uint64_t)(TCB_ALIGN - 1)); at >= from; at -= TCB_ALIGN) {
		size_t i = (size_t)(at - from) / 8;
		if (i + 2 < len / 8 && words[i] == at && words[i + 2] == at) {
			*ret = at;
			return true;
		}
		if (at < TCB_ALIGN)
			break;
	}
	return false;
}

static bool read_thread_pointer(struct ad_vm *vm, pid_t tid, uint64_t *ret)
{
	void *head = NULL;
	size_t len = 0;
	if (syscall(SYS_get_robust_list, (int)tid, &head, &len) != 0 || !head)
		return false;
	return find_tcb(vm, (uint64_t)(uintptr_t)head, ret);
}

struct ad_error *ad_unstopped_threads(pid_t pid, struct ad_thread **ret, size_t *n,
				      size_t *nrunning)
{
	struct ad_tid_list tids = { 0 };
	struct ad_error *err = ad_proc_list_tasks(pid, &tids);
	if (err)
		return err;
	struct ad_thread *threads = calloc(tids.n ? tids.n : 1, sizeof(*threads));
	if (!threads) {
		ad_tid_list_deinit(&tids);
		return &ad_error_nomem;
	}
	struct ad_vm vm;
	ad_vm_init(&vm, pid);
	size_t running = 0;
	for (size_t i = 0; i < tids.n; i++) {
		struct ad_thread *t = &threads[i];
		*t = (struct ad_thread){ .tid = tids.tids[i], .partial_regs = true };
		if (!read_syscall_regs(pid, t->tid, &t->regs.rsp, &t->regs.rip)) {
			t->running = true;
			t->regs.rsp = t->regs.rip = 0;
			running++;
		}
		/* Without it (fs_base stays 0) thread-locals are unknown; the
		 * stack still unwinds. */
		read_thread_pointer(&vm, t->tid, &t->regs.fs_base);
		ad_proc_read_comm(pid, t->tid, t->name);
	}
	ad_vm_deinit(&vm);
	*ret = threads;
	*n = tids.n;
	*nrunning = running;
	ad_tid_list_deinit(&tids);
	return NULL;
}
