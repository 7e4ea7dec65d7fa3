/* Every allocation of the library goes through here, so that the C tests can make allocations fail and prove that
 * running out of memory is reported, and never crashes the host (a JVM).
 *
 * The switch is a hidden variable, not a build flag, because the build script is shared: outside the C tests nobody
 * can set it (it is not exported), and it costs one relaxed load per allocation. */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

_Atomic int64_t scythe__alloc_budget = -1;

/* True if a test wants this allocation to fail. */
static bool refused(void) {
    int64_t b = atomic_load_explicit(&scythe__alloc_budget, memory_order_relaxed);
    while (b > 0 && !atomic_compare_exchange_weak_explicit(&scythe__alloc_budget, &b, b - 1, memory_order_relaxed,
                                                           memory_order_relaxed)) {
        /* another thread took from the budget: look again */
    }
    return b == 0;
}

void *scythe__malloc(size_t n) {
    return refused() ? NULL : malloc(n);
}

void *scythe__calloc(size_t n, size_t size) {
    return refused() ? NULL : calloc(n, size);
}

void *scythe__realloc(void *p, size_t n) {
    return refused() ? NULL : realloc(p, n);
}

char *scythe__strdup(const char *s) {
    return refused() ? NULL : strdup(s);
}
