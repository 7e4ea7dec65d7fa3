/* Head-and-tail capture of a child's output stream: the first head_cap bytes, the last tail_cap bytes, and a count
 * of what fell in between. Memory grows only with what a job actually writes.
 *
 * Out of memory, the capture keeps its promise in a smaller form and says so (`lost`): the head closes at what it
 * already holds, so it stays the stream's first bytes; the tail, whose ring is allocated once, stays empty until it
 * can be, so it only ever holds the stream's last bytes; `dropped` counts whatever fell between them. */
#include "internal.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void scythe__capture_init(scythe__capture *c, size_t head_cap, size_t tail_cap) {
    memset(c, 0, sizeof *c);
    c->head_cap = head_cap;
    c->tail_cap = tail_cap;
}

static int head_reserve(scythe__capture *c, size_t need) {
    if (need <= c->head_alloc)
        return 0;
    size_t n = c->head_alloc ? c->head_alloc : 4096;
    while (n < need)
        n *= 2;
    if (n > c->head_cap)
        n = c->head_cap;
    uint8_t *p = scythe__realloc(c->head, n);
    if (!p)
        return -ENOMEM;
    c->head = p;
    c->head_alloc = n;
    return 0;
}

int scythe__capture_append(scythe__capture *c, const uint8_t *data, size_t n) {
    int rc = 0;
    c->total += n;
    size_t room = c->head_cap - c->head_len;
    size_t h = n < room ? n : room;
    if (h && head_reserve(c, c->head_len + h) < 0) {
        /* Bytes after a gap would make the head a lie: it takes what fits and closes; the rest goes on to the tail. */
        h = c->head_alloc - c->head_len;
        c->head_cap = c->head_len + h;
        c->lost = true;
        rc = -ENOMEM;
    }
    if (h) {
        memcpy(c->head + c->head_len, data, h);
        c->head_len += h;
        data += h;
        n -= h;
    }
    if (!n || !c->tail_cap)
        return rc;
    if (!c->tail && !(c->tail = scythe__malloc(c->tail_cap))) {
        /* These bytes are lost. The empty tail tries again with the next ones, which are still the stream's last. */
        c->lost = true;
        return -ENOMEM;
    }
    if (n >= c->tail_cap) {
        memcpy(c->tail, data + (n - c->tail_cap), c->tail_cap);
        c->tail_pos = 0;
        c->tail_len = c->tail_cap;
        return rc;
    }
    size_t first = c->tail_cap - c->tail_pos;
    if (first > n)
        first = n;
    memcpy(c->tail + c->tail_pos, data, first);
    memcpy(c->tail, data + first, n - first);
    c->tail_pos = (c->tail_pos + n) % c->tail_cap;
    c->tail_len = c->tail_len + n > c->tail_cap ? c->tail_cap : c->tail_len + n;
    return rc;
}

static void reverse(uint8_t *p, size_t n) {
    for (size_t i = 0, j = n; i + 1 < j; i++, j--) {
        uint8_t t = p[i];
        p[i] = p[j - 1];
        p[j - 1] = t;
    }
}

void scythe__capture_finish(scythe__capture *c) {
    /* Make the ring linear, oldest byte first. When it never wrapped, it already is. In place (three reversals
     * rotate it), so this needs no memory and cannot fail. */
    if (c->tail_len < c->tail_cap || c->tail_pos == 0)
        return;
    reverse(c->tail, c->tail_pos);
    reverse(c->tail + c->tail_pos, c->tail_cap - c->tail_pos);
    reverse(c->tail, c->tail_cap);
    c->tail_pos = 0;
}

void scythe__capture_view(const scythe__capture *c, scythe_output *out) {
    out->head = c->head;
    out->head_len = c->head_len;
    out->tail = c->tail;
    out->tail_len = c->tail_len;
    out->total = c->total;
    out->dropped = c->total - c->head_len - c->tail_len;
}

void scythe__capture_free(scythe__capture *c) {
    free(c->head);
    free(c->tail);
    c->head = c->tail = NULL;
    c->head_len = c->tail_len = c->head_alloc = 0;
}
