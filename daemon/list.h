/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * list.h - a minimal intrusive doubly-linked list, as the kernel's: cvmd's
 * lists, and the module's core in the simulator (cvm_os_user.h).
 */
#ifndef CVM_LIST_H
#define CVM_LIST_H

#include <stdbool.h>
#include <stddef.h>

struct list_head {
	struct list_head *next, *prev;
};

#define LIST_HEAD_INIT(name) { &(name), &(name) }
#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#define list_entry(ptr, type, member) container_of(ptr, type, member)
#define list_first_entry(head, type, member) \
	list_entry((head)->next, type, member)
#define list_last_entry(head, type, member) \
	list_entry((head)->prev, type, member)
#define list_for_each_entry(pos, head, member)                               \
	for (pos = list_entry((head)->next, __typeof__(*pos), member);       \
	     &pos->member != (head);                                         \
	     pos = list_entry(pos->member.next, __typeof__(*pos), member))
#define list_for_each_entry_safe(pos, n, head, member)                       \
	for (pos = list_entry((head)->next, __typeof__(*pos), member),       \
	     n = list_entry(pos->member.next, __typeof__(*pos), member);     \
	     &pos->member != (head);                                         \
	     pos = n, n = list_entry(n->member.next, __typeof__(*n), member))

static inline void list_init(struct list_head *h)
{
	h->next = h->prev = h;
}

#define INIT_LIST_HEAD list_init

static inline bool list_empty(const struct list_head *h)
{
	return h->next == h;
}

static inline void list_add_tail(struct list_head *n, struct list_head *h)
{
	n->prev = h->prev;
	n->next = h;
	h->prev->next = n;
	h->prev = n;
}

static inline void list_add(struct list_head *n, struct list_head *h)
{
	list_add_tail(n, h->next);
}

static inline void list_del(struct list_head *n)
{
	n->prev->next = n->next;
	n->next->prev = n->prev;
	list_init(n);
}

static inline void list_move(struct list_head *n, struct list_head *h)
{
	list_del(n);
	list_add(n, h);
}

#endif /* CVM_LIST_H */
