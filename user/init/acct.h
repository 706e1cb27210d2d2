/* init's side of the per-principal report (user/lib/include/acct.h). */
#ifndef INIT_ACCT_H
#define INIT_ACCT_H

#include <sys.h>

/* The name printed for a principal's label. */
void acct_name(u32 label, const char *name);
/* Prints the report: init's own memory (boot_ut), then every principal made
 * from ram_ut. Returns how many principals it printed. */
u64 acct_print(cptr_t boot_ut, cptr_t ram_ut, u64 tag);
/* Answers ACCT_PRINT requests on ep, forever. */
__attribute__((noreturn)) void acct_serve(cptr_t ep, cptr_t boot_ut, cptr_t ram_ut);

#endif
