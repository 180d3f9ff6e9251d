// SPDX-License-Identifier: MIT OR GPL-2.0-only
// (The kernel gives the helpers this program needs, bpf_probe_read_user and
// bpf_get_current_task among them, only to GPL-compatible programs: "Dual MIT/GPL".)
//
// sighunt sense: reports rt_sigaction(sig, {sa_handler = SIG_IGN}) calls that
// succeeded, for the signals in `report_mask`, and every exec that starts with one
// of those signals ignored (ignored dispositions survive fork and execve, so the
// program that keeps them is the one exec'd: `nohup cmd`, `trap '' TERM; ./x`).
// Everything else is filtered here; nothing else crosses to user space.
//
// No vmlinux.h: the few kernel structures read are declared below with
// preserve_access_index, so libbpf relocates their fields against the running
// kernel's BTF (CO-RE) and the build needs no BTF of its own.

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed int __s32;
typedef signed long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

char LICENSE[] SEC("license") = "Dual MIT/GPL";

#define BPF_MAP_TYPE_PERCPU_ARRAY 6
#define BPF_MAP_TYPE_LRU_HASH 9
#define BPF_MAP_TYPE_RINGBUF 27

#define BPF_ANY 0
#define SIG_IGN 1
#define TASK_COMM_LEN 16

#define KIND_SIGACTION 1
#define KIND_EXEC 2

// Signals reported (bit N-1 = signal N); set by user space before load.
const volatile __u64 report_mask = 0;
// Per process: at most `rate_burst` events per `rate_window_ns` (approximate: the
// threads of one process may race on the counter, which only loosens the limit).
const volatile __u32 rate_burst = 16;
const volatile __u64 rate_window_ns = 1000000000ULL;

struct sigaction {
	void *sa_handler;
} __attribute__((preserve_access_index));

struct k_sigaction {
	struct sigaction sa;
} __attribute__((preserve_access_index));

struct sighand_struct {
	struct k_sigaction action[64];
} __attribute__((preserve_access_index));

struct task_struct {
	int pid;
	int tgid;
	struct task_struct *real_parent;
	struct sighand_struct *sighand;
} __attribute__((preserve_access_index));

// Tracepoint records (offsets from tracefs format files; stable ABI for
// syscalls:* since the common header is fixed).
struct sys_enter_rt_sigaction_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__u64 sig;
	const void *act;
	void *oact;
	__u64 sigsetsize;
};

struct sys_exit_ctx {
	__u64 common;
	__s32 syscall_nr;
	__u32 pad;
	__s64 ret;
};

struct sched_process_exec_ctx {
	__u64 common;
	__u32 filename_loc;
	__s32 pid;
	__s32 old_pid;
};

// One report; mirrored by `RawEvent` in src/sense/event.rs.
struct event {
	__u64 time_ns;   // CLOCK_MONOTONIC (bpf_ktime_get_ns)
	__u64 cgroup_id;
	__u32 pid;       // thread id
	__u32 tgid;      // process id
	__u32 ppid;      // tgid of the real parent
	__u32 uid;
	__u32 gid;
	__u32 signal;    // 0 for an exec event
	__u32 kind;
	__u32 pad;
	__u64 ignored;   // signals of report_mask SIG_IGN in the kernel now (bit N-1)
	char comm[TASK_COMM_LEN];
};

struct rate {
	__u64 window_start;
	__u32 count;
	__u32 pad;
};

// Drop counters, summed over CPUs by user space.
enum counter {
	C_SEEN,          // SIG_IGN on a reported signal, call succeeded
	C_RINGBUF_FULL,  // ring buffer had no room
	C_RATE_LIMITED,  // over the per-process rate
	C_MAX,
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, C_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

// The signal of an rt_sigaction in flight, by thread (entry -> exit); LRU so that
// a thread killed inside the call cannot leak its entry for good.
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 10240);
	__type(key, __u64);
	__type(value, __u32);
} pending SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u32);
	__type(value, struct rate);
} rates SEC(".maps");

static __always_inline void count(__u32 which)
{
	__u64 *c = bpf_map_lookup_elem(&counters, &which);
	if (c)
		*c += 1;
}

static __always_inline int rate_ok(__u32 tgid, __u64 now)
{
	struct rate *r = bpf_map_lookup_elem(&rates, &tgid);
	if (!r) {
		struct rate fresh = { .window_start = now, .count = 1 };
		bpf_map_update_elem(&rates, &tgid, &fresh, BPF_ANY);
		return 1;
	}
	if (now - r->window_start > rate_window_ns) {
		r->window_start = now;
		r->count = 1;
		return 1;
	}
	if (r->count >= rate_burst)
		return 0;
	r->count += 1;
	return 1;
}

// The signals of report_mask (1-32) whose handler is SIG_IGN in `task` now. Each
// index is a literal so that CO-RE relocates the whole access (the array stride
// included) against the running kernel's struct k_sigaction.
static __always_inline __u64 ignored_now(struct task_struct *task)
{
	struct sighand_struct *sighand = BPF_CORE_READ(task, sighand);
	__u64 mask = 0;

	if (!sighand)
		return 0;
#define CHECK(i)                                                                  \
	if (report_mask & (1ULL << (i))) {                                        \
		void *handler = 0;                                                \
		if (!bpf_core_read(&handler, sizeof(handler),                     \
				   &sighand->action[i].sa.sa_handler) &&          \
		    (unsigned long)handler == SIG_IGN)                            \
			mask |= 1ULL << (i);                                      \
	}
	CHECK(0)
	CHECK(1)
	CHECK(2)
	CHECK(3)
	CHECK(4)
	CHECK(5)
	CHECK(6)
	CHECK(7)
	CHECK(8)
	CHECK(9)
	CHECK(10)
	CHECK(11)
	CHECK(12)
	CHECK(13)
	CHECK(14)
	CHECK(15)
	CHECK(16)
	CHECK(17)
	CHECK(18)
	CHECK(19)
	CHECK(20)
	CHECK(21)
	CHECK(22)
	CHECK(23)
	CHECK(24)
	CHECK(25)
	CHECK(26)
	CHECK(27)
	CHECK(28)
	CHECK(29)
	CHECK(30)
	CHECK(31)
#undef CHECK
	return mask;
}

static __always_inline void emit(__u32 kind, __u32 sig, __u64 ignored)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	__u64 now = bpf_ktime_get_ns();

	if (!rate_ok(tgid, now)) {
		count(C_RATE_LIMITED);
		return;
	}
	struct event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		count(C_RINGBUF_FULL);
		return;
	}
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u64 ugid = bpf_get_current_uid_gid();
	e->time_ns = now;
	e->cgroup_id = bpf_get_current_cgroup_id();
	e->pid = (__u32)id;
	e->tgid = tgid;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (__u32)ugid;
	e->gid = ugid >> 32;
	e->signal = sig;
	e->kind = kind;
	e->pad = 0;
	e->ignored = ignored;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
}

SEC("tracepoint/syscalls/sys_enter_rt_sigaction")
int sigaction_enter(struct sys_enter_rt_sigaction_ctx *ctx)
{
	__u64 sig = ctx->sig;
	__u64 handler = 0;

	if (sig < 1 || sig > 64 || !(report_mask & (1ULL << (sig - 1))))
		return 0;
	if (!ctx->act)
		return 0; // a query, not a change
	__u64 id = bpf_get_current_pid_tgid();
	// sa_handler is the first member of the kernel's struct sigaction on every
	// architecture with rt_sigaction except MIPS.
	if (bpf_probe_read_user(&handler, sizeof(handler), ctx->act))
		return 0;
	if (handler != SIG_IGN)
		return 0;
	__u32 s = sig;
	bpf_map_update_elem(&pending, &id, &s, BPF_ANY);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_rt_sigaction")
int sigaction_exit(struct sys_exit_ctx *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 *sigp = bpf_map_lookup_elem(&pending, &id);
	if (!sigp)
		return 0;
	__u32 sig = *sigp;
	bpf_map_delete_elem(&pending, &id);
	if (ctx->ret != 0)
		return 0; // refused (SIGKILL, bad pointer): nothing changed
	count(C_SEEN);
	__u64 ignored = ignored_now((struct task_struct *)bpf_get_current_task());
	ignored |= 1ULL << ((sig - 1) & 63);
	emit(KIND_SIGACTION, sig, ignored);
	return 0;
}

SEC("tracepoint/sched/sched_process_exec")
int process_exec(struct sched_process_exec_ctx *ctx)
{
	__u64 ignored = ignored_now((struct task_struct *)bpf_get_current_task());
	if (!ignored)
		return 0;
	emit(KIND_EXEC, 0, ignored);
	return 0;
}

// A process's end frees its rate entry, so a reused pid does not inherit it.
SEC("tracepoint/sched/sched_process_exit")
int process_exit(void *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tgid = id >> 32;
	if ((__u32)id != tgid)
		return 0; // a thread, not the process
	bpf_map_delete_elem(&rates, &tgid);
	return 0;
}
