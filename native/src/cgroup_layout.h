/* The machine's cgroup layout (cgroup_layout.c), for the leaves of cgroup.c: nothing else needs it. */
#ifndef SCYTHE_CGROUP_LAYOUT_H
#define SCYTHE_CGROUP_LAYOUT_H

#include "internal.h"

typedef struct scythe__cgroup_layout {
    char v2_base[PATH_MAX], mem_base[PATH_MAX], pids_base[PATH_MAX]; /* where leaves may be made; "" where not */
    char parent[3][PATH_MAX]; /* BASE/scythe-PID for v2, v1 memory, v1 pids ("" where unusable) */
    bool v2_mem, v2_pids;     /* memory.max / pids.max go to the v2 leaf: the v2 controllers are enabled for it */
    char v2_ctl[32];          /* those controllers as a subtree_control write, e.g. "+memory +pids" */
} scythe__cgroup_layout;

/* The layout, probed at the first call (which may move this process, see cgroup_layout.c); then constant. */
const scythe__cgroup_layout *scythe__cgroup_layout_get(void);
/* Writes value to DIR/FILE: 0 or -errno. */
int scythe__cgroup_write(const char *dir, const char *file, const char *value);

#endif
