/* Versions, capabilities (probed once), error text and the ABI self-description table. */
#include "internal.h"

#include <errno.h>
#include <spawn.h>
#include <stddef.h>
#include <string.h>
#include <unistd.h>

uint32_t scythe_version(void) {
    return SCYTHE_VERSION_NUMBER;
}

uint32_t scythe_abi_version(void) {
    return SCYTHE_ABI_NUMBER;
}

static _Atomic uint32_t caps_cache; /* bit 31 marks "probed" */
#define CAPS_PROBED 0x80000000u

static uint32_t probe(void) {
    /* Facts of the build, not probes (see scythe.h): spawn.c calls glibc 2.34's
     * posix_spawn_file_actions_addclosefrom_np and _addchdir_np and sets POSIX_SPAWN_SETSID directly, so the dynamic
     * linker refuses to load this library where they are missing. */
    uint32_t caps = SCYTHE_CAP_SPAWN_SETSID | SCYTHE_CAP_SPAWN_CLOSEFROM | SCYTHE_CAP_SPAWN_CHDIR;
    int fd = scythe__os_pidfd_open(getpid());
    if (fd >= 0) {
        caps |= SCYTHE_CAP_PIDFD_OPEN;
        if (scythe__os_pidfd_send_signal(fd, 0) == 0)
            caps |= SCYTHE_CAP_PIDFD_SEND_SIGNAL;
        if (scythe__os_probe_waitid_pidfd(fd) == 0)
            caps |= SCYTHE_CAP_WAITID_PIDFD;
        scythe__os_close(fd);
    }
    if (scythe__os_probe_close_range() == 0)
        caps |= SCYTHE_CAP_CLOSE_RANGE;
    return caps;
}

uint32_t scythe_capabilities(void) {
    uint32_t c = atomic_load_explicit(&caps_cache, memory_order_acquire);
    if (!(c & CAPS_PROBED)) {
        c = probe() | CAPS_PROBED; /* two racing probers compute the same value */
        atomic_store_explicit(&caps_cache, c, memory_order_release);
    }
    return (c & ~CAPS_PROBED) | scythe__cgroup_caps();
}

/* Bit n is named cap_names[n]: the macro's name after SCYTHE_CAP_, in lower case. */
static const char *const cap_names[] = {"pidfd_open",   "pidfd_send_signal", "waitid_pidfd", "close_range",
                                        "spawn_setsid", "spawn_closefrom",   "spawn_chdir",  "cgroup_kill",
                                        "cgroup_memory", "cgroup_pids"};
_Static_assert(sizeof cap_names / sizeof cap_names[0] == 10 && SCYTHE_CAP_CGROUP_PIDS == 1u << 9,
               "a name for every SCYTHE_CAP_* bit");

const char *scythe_capability_name(uint32_t bit) {
    for (size_t i = 0; i < sizeof cap_names / sizeof cap_names[0]; i++)
        if (bit == 1u << i)
            return cap_names[i];
    return NULL;
}

int scythe_error_is_unsupported(int err) {
    return err == -ENOTSUP || err == -EOPNOTSUPP; /* one value on Linux; two on some systems */
}

const char *scythe_strerror(int err) {
    if (err == 0)
        return "Success";
    /* strerrordesc_np (glibc 2.32) is thread-safe and locale-free, unlike strerror. */
    const char *s = strerrordesc_np(err < 0 ? -err : err);
    return s ? s : "Unknown error";
}

#define ROW(T) {#T, NULL, 0, (uint32_t)sizeof(T)}
#define FIELD(T, F) {#T, #F, (uint32_t)offsetof(T, F), (uint32_t)sizeof(((T *)0)->F)}

static const scythe_abi_entry abi_table[] = {
    ROW(scythe_abi_entry),
    FIELD(scythe_abi_entry, type_name),
    FIELD(scythe_abi_entry, field_name),
    FIELD(scythe_abi_entry, offset),
    FIELD(scythe_abi_entry, size),
    ROW(scythe_event),
    FIELD(scythe_event, size),
    FIELD(scythe_event, reserved0),
    FIELD(scythe_event, user_data),
    FIELD(scythe_event, job),
    FIELD(scythe_event, kind),
    FIELD(scythe_event, end),
    FIELD(scythe_event, exit_code),
    FIELD(scythe_event, term_signal),
    FIELD(scythe_event, cancel_reason),
    FIELD(scythe_event, core_dumped),
    FIELD(scythe_event, pid),
    FIELD(scythe_event, claimed),
    FIELD(scythe_event, flags),
    FIELD(scythe_event, reserved),
    FIELD(scythe_event, last_progress_ns),
    FIELD(scythe_event, containment),
    FIELD(scythe_event, reserved2),
    FIELD(scythe_event, start_ns),
    FIELD(scythe_event, exit_ns),
    FIELD(scythe_event, reaped_ns),
    FIELD(scythe_event, done_ns),
    FIELD(scythe_event, user_cpu_ns),
    FIELD(scythe_event, sys_cpu_ns),
    FIELD(scythe_event, max_rss_kib),
    ROW(scythe_stdio),
    FIELD(scythe_stdio, mode),
    FIELD(scythe_stdio, reserved),
    FIELD(scythe_stdio, path),
    FIELD(scythe_stdio, input),
    FIELD(scythe_stdio, input_len),
    ROW(scythe_spawn_options),
    FIELD(scythe_spawn_options, version),
    FIELD(scythe_spawn_options, reserved),
    FIELD(scythe_spawn_options, argv),
    FIELD(scythe_spawn_options, envp),
    FIELD(scythe_spawn_options, cwd),
    FIELD(scythe_spawn_options, stdio),
    FIELD(scythe_spawn_options, head_bytes),
    FIELD(scythe_spawn_options, tail_bytes),
    FIELD(scythe_spawn_options, timeout_ns),
    FIELD(scythe_spawn_options, grace_ns),
    FIELD(scythe_spawn_options, token),
    FIELD(scythe_spawn_options, user_data),
    FIELD(scythe_spawn_options, claim_index),
    FIELD(scythe_spawn_options, reserved2),
    FIELD(scythe_spawn_options, claim_exit_codes),
    FIELD(scythe_spawn_options, stall_ns),
    FIELD(scythe_spawn_options, probes),
    FIELD(scythe_spawn_options, reserved3),
    FIELD(scythe_spawn_options, progress_tree),
    FIELD(scythe_spawn_options, progress_regex),
    FIELD(scythe_spawn_options, heartbeat_path),
    FIELD(scythe_spawn_options, cpu_limit_ns),
    FIELD(scythe_spawn_options, dossier_dir),
    FIELD(scythe_spawn_options, containment),
    FIELD(scythe_spawn_options, reserved5),
    FIELD(scythe_spawn_options, memory_limit_bytes),
    FIELD(scythe_spawn_options, process_limit),
    FIELD(scythe_spawn_options, pass_token),
    FIELD(scythe_spawn_options, reserved6),
    ROW(scythe_output),
    FIELD(scythe_output, size),
    FIELD(scythe_output, reserved),
    FIELD(scythe_output, head),
    FIELD(scythe_output, head_len),
    FIELD(scythe_output, tail),
    FIELD(scythe_output, tail_len),
    FIELD(scythe_output, total),
    FIELD(scythe_output, dropped),
};

int scythe_abi_table(const scythe_abi_entry **out, size_t *count) {
    if (!out || !count)
        return -EINVAL;
    *out = abi_table;
    *count = sizeof abi_table / sizeof abi_table[0];
    return 0;
}

size_t scythe_sizeof(const char *type_name) {
    if (!type_name)
        return 0;
    for (size_t i = 0; i < sizeof abi_table / sizeof abi_table[0]; i++)
        if (!abi_table[i].field_name && strcmp(abi_table[i].type_name, type_name) == 0)
            return abi_table[i].size;
    return 0;
}
