/* Intrusive doubly linked lists with a sentinel head, like the Linux kernel's list_head: a node unlinks itself in
 * constant time without knowing which list holds it, and putting something on a list never allocates. */
#ifndef SCYTHE_LIST_H
#define SCYTHE_LIST_H

#include <stdbool.h>
#include <stddef.h>

typedef struct scythe__list {
    struct scythe__list *prev, *next;
} scythe__list;

/* The structure that holds `node` as its `member`. */
#define SCYTHE__CONTAINER(node, type, member) ((type *)(void *)((char *)(node) - offsetof(type, member)))

/* An empty list, or a node on no list: linked to itself. */
static inline void scythe__list_init(scythe__list *l) {
    l->prev = l->next = l;
}

static inline bool scythe__list_empty(const scythe__list *l) {
    return l->next == l;
}

/* Links node at the end of the list headed by head. */
static inline void scythe__list_append(scythe__list *head, scythe__list *node) {
    node->prev = head->prev;
    node->next = head;
    head->prev->next = node;
    head->prev = node;
}

/* Unlinks node from the list that holds it; a node on no list stays as it is. */
static inline void scythe__list_remove(scythe__list *node) {
    node->prev->next = node->next;
    node->next->prev = node->prev;
    scythe__list_init(node);
}

#endif
