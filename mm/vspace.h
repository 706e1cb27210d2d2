/* Address spaces: page tables as objects, map and unmap.
 *
 * Every page-table object (VSPACE = PML4, PDPT, PD, PT) is 8 KiB: the
 * hardware table, then a shadow page with, for each entry, the slot of the
 * capability mapped there. So every mapping is recorded on both sides: the
 * capability knows the table entry (w1 = the table holding the entry, w2 =
 * the virtual address), the entry knows the capability. Unmapping, moving a
 * capability and destroying a table are therefore all O(1) per mapping, and
 * nothing ever points at a destroyed table.
 *
 * A capability maps at most one place; to map a frame twice, copy the
 * capability. The caller provides every table: a map that needs a missing
 * one fails with MISSING_PDPT, MISSING_PD or MISSING_PT. */
#ifndef MM_VSPACE_H
#define MM_VSPACE_H

#include "kernel/cap.h"

struct vs_table {
  u64 e[512];
  struct cte *back[512];
};
_Static_assert(sizeof(struct vs_table) == 8192, "table object size");

int vs_map_table(struct cte *table, struct cte *vspace, u64 vaddr);
int vs_map_frame(struct cte *frame, struct cte *vspace, u64 vaddr, u32 attr);
int vs_unmap(struct cte *c); /* K_ERR_NOT_MAPPED if it is not */
/* Could a frame of this type be mapped at vaddr? MISSING_* or MAPPING_EXISTS if not. */
int vs_check_free(const struct cte *vspace, u64 vaddr, u8 frame_type);

/* For callers that map many frames in a row (gifts): the table whose entry
 * maps a frame of this type at vaddr (MISSING_* or MAPPING_EXISTS if none),
 * whether that entry is free, and installing a checked frame there. */
int vs_leaf_table(const struct cte *vspace, u64 vaddr, u8 frame_type, struct vs_table **t);
int vs_entry_free(const struct vs_table *t, u64 vaddr, u8 frame_type);
void vs_install_frame(struct cte *frame, struct vs_table *t, u64 vaddr, u64 pte);
/* The page-table entry that maps a frame capability with MAP_* attributes. */
u64 vs_frame_pte(const struct cap *c, u32 attr);

/* A frame's or table's mapping as its capability records it: the table
 * whose entry maps it (0: not mapped) and the address. */
static inline struct vs_table *map_table(const struct cap *c) { return (struct vs_table *)c->w1; }
static inline u64 map_vaddr(const struct cap *c) { return c->w2; }
static inline void map_clear(struct cap *c) { c->w1 = c->w2 = 0; }

/* The one place a mapping is written: entry i of table t maps capability c
 * at vaddr, recorded on both sides (the entry and its back pointer; the
 * capability's table and address). Inline: gifts write a run of 4 KiB
 * frames into one table through it. */
static inline void vs_set_entry(struct vs_table *t, unsigned i, struct cte *c, u64 pte, u64 vaddr) {
  t->e[i] = pte;
  t->back[i] = c;
  c->cap.w1 = (u64)t;
  c->cap.w2 = vaddr;
}

int vs_cap_is_mapped(const struct cap *c);
void vs_unmap_cap(struct cte *c);
void vs_cap_moved(struct cte *c);
void vs_table_destroy(const struct cap *c);
void vs_init_root(struct vs_table *root);

/* Physical address behind user address `va` in `root`, if mapped for user
 * access (and writable when `write`); 0 otherwise. */
u64 vs_translate(const struct vs_table *root, u64 va, int write);

/* Table level of a page-table object type (VSPACE 4 .. PT 1), 0 if none. */
int vs_level(u8 type);

#endif
