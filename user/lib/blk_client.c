/* The client side of the block session protocol (see blk.h). */
#include <blk.h>
#include <env.h>
#include <server.h>

static void receive_one_cap(struct env *e, struct k_ipc_buffer *buf, cptr_t slot) {
  buf->recv_cnode = e->cnode;
  buf->recv_slot = slot;
  buf->recv_count = 1;
  buf->recv_window = 0;
}

long blk_open(struct env *e, struct k_ipc_buffer *buf, cptr_t blockd, u32 disk, cptr_t *session) {
  return blk_open_sized(e, buf, blockd, disk, BLK_DONATION_BITS, session);
}

long blk_open_sized(struct env *e, struct k_ipc_buffer *buf, cptr_t blockd, u32 disk, u32 bits, cptr_t *session) {
  return session_open(e, buf, blockd, BLK_OPEN, bits, disk, session);
}

long blk_close(struct env *e, struct k_ipc_buffer *buf, cptr_t session) {
  receive_one_cap(e, buf, env_slot(e));
  struct msg_regs r = sys_call(session, k_msg_info(BLK_CLOSE, 0, 0, 0), 0, 0, 0, 0);
  return r.err ? r.err : (long)r.w[0];
}
