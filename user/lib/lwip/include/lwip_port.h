/* lwIP's port: what an application calls before lwip_init. */
#ifndef LWIP_PORT_H
#define LWIP_PORT_H

struct env;
/* Maps lwIP's heap (MEM_SIZE and its headers) from e's memory. */
long lwip_port_heap_init(struct env *e);

#endif
