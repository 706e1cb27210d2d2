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

long blk_rw(struct k_ipc_buffer *buf, cptr_t cnode, cptr_t session, u32 op, u64 sector, u64 sectors, cptr_t first,
            u64 n, u64 window) {
  for (u64 i = 0; i < n; i++)
    buf->gifts[i] = (u32)(first + i);
  buf->recv_cnode = cnode;
  buf->recv_slot = first;
  buf->recv_count = n;
  buf->recv_window = window;
  buf->recv_window_size = n * K_PAGE_SIZE;
  struct msg_regs r = sys_call(session, k_msg_info(op, 2, 0, n), sector, sectors, 0, 0);
  if (!r.err && k_msg_gifts(r.info) != n)
    return K_ERR_BAD_STATE; /* the frames did not all come back */
  return r.err ? r.err : (long)r.w[0];
}

long blk_flush(cptr_t session, u32 disk_field) {
  struct msg_regs r = sys_call(session, k_msg_info(BLK_FLUSH, 1, 0, 0), disk_field, 0, 0, 0);
  return r.err ? r.err : (long)r.w[0];
}

static int present(const struct blk_queue *q, u32 i) { return (q->present[i / 64] >> (i % 64)) & 1; }
static void mark(struct blk_queue *q, u32 first, u32 n, int here) {
  for (u32 i = first; i < first + n; i++)
    q->present[i / 64] = here ? q->present[i / 64] | 1ull << (i % 64) : q->present[i / 64] & ~(1ull << (i % 64));
}

long blk_ring_make(struct env *e, cptr_t slot, u64 va, u32 n) {
  long err = env_prepare_tables(e, e->vspace, va, (u64)n * K_PAGE_SIZE);
  for (u32 i = 0; !err && i < n; i += K_RETYPE_MAX_COUNT)
    err = sys_retype(e->untyped, K_OBJ_FRAME_4K, 0, e->cnode, slot + i,
                     n - i < K_RETYPE_MAX_COUNT ? n - i : K_RETYPE_MAX_COUNT, 0);
  for (u32 i = 0; !err && i < n; i++)
    err = sys_frame_map(slot + i, e->vspace, va + (u64)i * K_PAGE_SIZE, K_MAP_WRITE);
  return err;
}

long blk_queue_init(struct blk_queue *q, struct k_ipc_buffer *buf, cptr_t cnode, cptr_t session, cptr_t slot,
                    u64 va, u32 size) {
  *q = (struct blk_queue){.buf = buf, .cnode = cnode, .session = session, .slot = slot, .va = va, .size = size};
  if (size == 0 || size > BLK_QUEUE_MAX_FRAMES)
    return K_ERR_RANGE;
  mark(q, 0, size, 1);
  return K_ERR_OK;
}

long blk_queue_add(struct blk_queue *q, u32 disk, int write, u64 sector, u64 sectors, u32 frame) {
  u64 n = blk_frames_for(sectors);
  if (n == 0 || q->nreq == BLK_IO_MAX_REQUESTS || q->nframes + n > K_IPC_MAX_GIFTS || frame + n > q->size)
    return K_ERR_RANGE;
  for (u32 i = frame; i < frame + n; i++)
    if (!present(q, i))
      return K_ERR_RANGE;
  q->buf->words[1 + 2 * q->nreq] = sector;
  q->buf->words[2 + 2 * q->nreq] = blk_req_on_disk(blk_req_word(sectors, write), disk);
  for (u32 i = 0; i < n; i++)
    q->buf->gifts[q->nframes + i] = (u32)(q->slot + frame + i);
  mark(q, frame, (u32)n, 0); /* they leave with the batch */
  q->nreq++;
  q->nframes += (u32)n;
  if (n > q->largest)
    q->largest = (u32)n;
  return K_ERR_OK;
}

/* The longest run of slots whose frames are away: where the answer's
 * frames may land. Whole words of the bitmap at a time where it can. */
static u32 free_run(const struct blk_queue *q, u32 *at) {
  u32 best = 0, run = 0;
  for (u32 i = 0; i < q->size;) {
    u64 w = q->present[i / 64];
    if (i % 64 == 0 && i + 64 <= q->size && (w == 0 || w == ~0ull)) {
      run = w ? 0 : run + 64;
      i += 64;
    } else {
      run = present(q, i) ? 0 : run + 1;
      i++;
    }
    if (run > best) {
      best = run;
      *at = i - run;
    }
  }
  return best < K_IPC_MAX_GIFTS ? best : K_IPC_MAX_GIFTS;
}

long blk_queue_call(struct blk_queue *q, int wait, struct blk_done *done, u32 *n) {
  struct k_ipc_buffer *b = q->buf;
  u32 run = 0, room = free_run(q, &run), nreq = q->nreq, nframes = q->nframes;
  b->recv_cnode = q->cnode;
  b->recv_slot = q->slot + run;
  b->recv_count = room;
  b->recv_window = room ? blk_queue_page(q, run) : 0;
  b->recv_window_size = (u64)room * K_PAGE_SIZE;
  q->nreq = q->nframes = 0;
  *n = 0;
  struct msg_regs r = sys_call(q->session, k_msg_info(BLK_IO, 1 + 2 * nreq, 0, nframes),
                               blk_io_word(nreq, wait, room), b->words[1], b->words[2], b->words[3]);
  if (r.err) { /* nothing left: the batch's frames are still here */
    for (u32 i = 0; i < nframes; i++)
      mark(q, b->gifts[i] - (u32)q->slot, 1, 1);
    return r.err;
  }
  u64 gifts = k_msg_gifts(r.info);
  if (r.w[0]) {
    q->back_frame = run;
    q->back_frames = (u32)gifts;
    mark(q, run, (u32)gifts, 1);
    return (long)r.w[0];
  }
  q->in_flight += nreq;
  q->first_tag = (u32)r.w[1];
  u32 at = run, count = (u32)r.w[2];
  for (u32 i = 0; i < count && i < BLK_IO_MAX_DONE; i++) {
    u64 w = i == 0 ? r.w[3] : b->words[3 + i];
    done[i] = (struct blk_done){blk_done_tag(w), blk_done_err(w), at, blk_done_frames(w)};
    mark(q, at, done[i].frames, 1);
    at += done[i].frames;
    q->in_flight--;
  }
  *n = count;
  return K_ERR_OK;
}
