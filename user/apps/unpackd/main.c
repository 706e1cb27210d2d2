/* unpackd: run-length decompression for clients, in memory they donate
 * (see user/lib/include/unpack.h). Each session's output frames are made
 * from its donation and held in a CNode made from it too; unpackd's own
 * memory holds only its code, two scratch pages and the session table.
 *
 * A run of at most INLINE_BYTES is done at once, by the thread that
 * receives (at the drivers' priority). A longer one is a job for the
 * worker thread, which runs at the clients' priority, one output frame
 * at a time, round robin over the sessions with a job, yielding after
 * each: a bomb costs its sender CPU time shared with everyone else's, and
 * never holds up another client's request for longer than one frame.
 * Bytes are written into unpackd's own scratch page and copied into the
 * client's frame by the kernel (FRAME_COPY): a client that revokes its
 * donation mid-run makes the copy fail, never unpackd fault. */
#include <ulib.h>
#include <env.h>
#include <server.h>
#include <unpack.h>
#include <abi/bootinfo.h>

#define MAX_SESSIONS 16
#define SESSION_SLOTS 256 /* per session: the donation, its CNode, a saved reply */
#define INLINE_BYTES 4096
#define WORKER_PRIORITY 100 /* the clients' (init's CHILD_PRIORITY) */

/* Where one thread writes: its scratch page (unpackd's own, mapped) and a
 * slot for the output frame being made. */
struct writer {
  u8 *page;
  cptr_t page_frame, out_slot;
};

struct job {
  u64 words[UNPACK_RUN_MAX_WORDS];
  u64 n, i, count; /* word i has count bytes left */
  u64 written;
};

struct session {
  int used;
  u8 generation;
  cptr_t donated, out, reply; /* slots in unpackd's CNode */
  u64 frames;          /* output frames in `out`, slots 1.. */
  int spent;           /* a run ran out of memory: nothing more fits */
  volatile int busy;   /* the worker has its run (set by the receiver, cleared by the worker) */
  struct job job;
};
static struct session sessions[MAX_SESSIONS];
static struct env env;
static struct k_ipc_buffer *buf;
static u64 bad_requests, bombs;
static struct writer receiver_writer, worker_writer;
static cptr_t worker_ntfn;

static u64 word(const struct msg_regs *m, u64 i) { return i < K_IPC_REG_WORDS ? m->w[i] : buf->words[i]; }

static void forget_session(struct session *s) {
  sys_cnode_revoke(env.cnode, s->donated);
  sys_cnode_delete(env.cnode, s->donated);
  s->used = 0;
}

/* A client that revoked its donation has closed its session (once the
 * worker is done with it: the worker forgets it then). */
static struct session *session_of(u64 badge) {
  unsigned i = server_badge_index(badge);
  if (i >= MAX_SESSIONS || !sessions[i].used || sessions[i].generation != server_badge_generation(badge))
    return 0;
  struct session *s = &sessions[i];
  if (sys_cap_type(env.cnode, s->donated).val != K_OBJ_UNTYPED) {
    if (!s->busy)
      forget_session(s);
    return 0;
  }
  return s;
}

static long open_session(const struct msg_regs *m, struct server_answer *a) {
  unsigned i = 0;
  while (i < MAX_SESSIONS && sessions[i].used && (sessions[i].busy || session_of(server_badge(i, sessions[i].generation))))
    i++;
  struct k_cap_info ci;
  if (k_msg_caps(m->info) != 1 || sys_cap_identify(env.cnode, SERVER_DONATION_SLOT, &ci) || ci.type != K_OBJ_UNTYPED)
    return K_ERR_WRONG_TYPE;
  if (ci.size < 1ull << UNPACK_DONATION_MIN_BITS || ci.size > 1ull << UNPACK_DONATION_MAX_BITS || i == MAX_SESSIONS)
    return K_ERR_RANGE;
  struct session *s = &sessions[i];
  cptr_t donated = SESSION_SLOTS + 3 * i, out = donated + 1;
  long err = sys_cnode_move(env.cnode, donated, env.cnode, SERVER_DONATION_SLOT);
  if (!err && (err = sys_retype(donated, K_OBJ_CNODE, 8, env.cnode, out, 1, 0)))
    sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, donated); /* back to the client */
  if (err)
    return err;
  *s = (struct session){.used = 1, .generation = (u8)(s->generation + 1), .donated = donated, .out = out,
                        .reply = donated + 2};
  err = sys_cnode_mint(env.cnode, SERVER_TEMP_SLOT, env.cnode, UNPACKD_PUBLIC_EP, K_RIGHTS_ALL,
                       server_badge(i, s->generation));
  if (!err) {
    buf->caps[0] = SERVER_TEMP_SLOT;
    a->caps = 1;
  }
  return err;
}

static void drop_output(struct session *s) {
  for (u64 k = 1; k <= s->frames; k++)
    sys_cnode_delete(s->out, k);
  s->frames = 0;
}

/* The job's next output frame (up to 4 KiB of it), or K_ERR_OK with
 * nothing written when the job is done. Running out of the donation or of
 * the session's slots is the client's memory running out. */
static long next_frame(struct session *s, struct writer *w, int *done) {
  struct job *j = &s->job;
  while (j->i < j->n && !j->count)
    if (++j->i < j->n)
      j->count = j->words[j->i] >> 8;
  if ((*done = j->i == j->n))
    return K_ERR_OK;
  if (s->frames == UNPACK_SESSION_FRAMES)
    return K_ERR_NO_MEMORY;
  u64 fill = 0;
  while (fill < K_PAGE_SIZE && j->i < j->n) {
    if (!j->count) {
      if (++j->i < j->n)
        j->count = j->words[j->i] >> 8;
      continue;
    }
    u64 chunk = j->count < K_PAGE_SIZE - fill ? j->count : K_PAGE_SIZE - fill;
    memset(w->page + fill, (u8)j->words[j->i], chunk);
    fill += chunk;
    j->count -= chunk;
  }
  long err = sys_retype(s->donated, K_OBJ_FRAME_4K, 0, env.cnode, w->out_slot, 1, 0);
  if (!err && (err = sys_frame_copy(w->out_slot, 0, w->page_frame, 0, fill)) == K_ERR_OK)
    err = sys_cnode_move(s->out, s->frames + 1, env.cnode, w->out_slot);
  if (err) {
    if (sys_cap_type(env.cnode, w->out_slot).val != K_OBJ_NULL)
      sys_cnode_delete(env.cnode, w->out_slot);
    return err;
  }
  s->frames++;
  j->written += fill;
  return K_ERR_OK;
}

/* The answer to a finished run (err), with what it wrote. */
static void run_result(struct session *s, long err, u64 *w0, u64 *w1, u64 *w2) {
  if (err) {
    drop_output(s);
    s->spent = err == K_ERR_NO_MEMORY;
    bombs += s->spent;
  }
  *w0 = (u64)err, *w1 = s->job.written, *w2 = s->frames;
}

/* The worker: one frame of the next session's job at a time, round robin. */
static void worker(void) {
  unsigned next = 0;
  for (;;) {
    struct session *s = 0;
    for (unsigned k = 0; k < MAX_SESSIONS && !s; k++, next = (next + 1) % MAX_SESSIONS)
      if (sessions[next].used && sessions[next].busy)
        s = &sessions[next];
    if (!s) {
      sys_wait(worker_ntfn);
      continue;
    }
    int done;
    long err = next_frame(s, &worker_writer, &done);
    if (err || done) {
      u64 w0, w1, w2;
      run_result(s, err, &w0, &w1, &w2);
      sys_reply_to(s->reply, k_msg_info(0, 3, 0, 0), w0, w1, w2, 0); /* a caller that is gone: nothing to do */
      sys_cnode_delete(env.cnode, s->reply);
      __atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
      if (sys_cap_type(env.cnode, s->donated).val != K_OBJ_UNTYPED)
        forget_session(s);
    }
    sys_yield(); /* the other threads at the clients' priority, the bomber's sender among them */
  }
}

static void run(struct session *s, const struct msg_regs *m, struct server_answer *a) {
  u64 n = k_msg_words(m->info), total = 0;
  if (n == 0 || n > UNPACK_RUN_MAX_WORDS) {
    bad_requests++;
    a->err = K_ERR_RANGE;
    return;
  }
  if (s->frames) { /* the last run's output is not collected */
    bad_requests++;
    a->err = K_ERR_BAD_STATE;
    return;
  }
  struct job *j = &s->job;
  *j = (struct job){.n = n};
  for (u64 i = 0; i < n; i++) {
    j->words[i] = word(m, i);
    u64 c = j->words[i] >> 8;
    total = total + c < total ? ~0ull : total + c;
  }
  j->count = j->words[0] >> 8;
  if (s->spent) {
    a->err = K_ERR_NO_MEMORY;
    return;
  }
  if (total > INLINE_BYTES) { /* the worker's, the caller answered when it is done */
    long err = sys_reply_save(env.cnode, s->reply);
    if (err) {
      a->err = (u64)err;
      return;
    }
    __atomic_store_n(&s->busy, 1, __ATOMIC_RELEASE);
    sys_signal(worker_ntfn);
    a->saved = 1;
    return;
  }
  int done = 0;
  long err = K_ERR_OK;
  while (!err && !done)
    err = next_frame(s, &receiver_writer, &done);
  run_result(s, err, &a->err, &a->w1, &a->w2);
}

/* Gifts leave from unpackd's receive slots, which are empty between
 * requests: the frames move there and go with the answer. */
static void collect(struct session *s, struct server_answer *a) {
  u64 n = s->frames < UNPACK_COLLECT_MAX ? s->frames : UNPACK_COLLECT_MAX;
  u64 moved = 0;
  for (; moved < n; moved++)
    if (sys_cnode_move(env.cnode, SERVER_GIFT_SLOT + moved, s->out, moved + 1))
      break;
  for (u64 k = moved + 1; k <= s->frames; k++) /* the rest move down */
    sys_cnode_move(s->out, k - moved, s->out, k);
  s->frames -= moved;
  a->gifts = server_gift_slots(buf, SERVER_GIFT_SLOT, moved);
  a->w1 = moved;
}

static void stats(struct server_answer *a) {
  struct k_untyped_usage u;
  sys_untyped_usage(K_BI_SLOT_BOOT_UNTYPED, &u, K_USAGE_RECURSIVE);
  a->w1 = u.size - u.free;
  a->w2 = bad_requests;
  a->w3 = bombs;
}

static void handle(const struct msg_regs *m, struct server_answer *a) {
  u32 op = k_msg_label(m->info);
  if (m->badge == 0) {
    if (op == UNPACK_OPEN)
      a->err = (u64)open_session(m, a);
    else if (op == UNPACK_STATS)
      stats(a);
    else {
      bad_requests++;
      a->err = K_ERR_BAD_SYSCALL;
    }
    if (a->err && op == UNPACK_OPEN)
      bad_requests++;
    return;
  }
  struct session *s = session_of(m->badge);
  if (!s || s->busy) { /* gone, or its run is the worker's (another thread of the client asks) */
    bad_requests++;
    a->err = K_ERR_BAD_STATE;
    return;
  }
  switch (op) {
  case UNPACK_RUN:
    run(s, m, a);
    return;
  case UNPACK_COLLECT:
    collect(s, a);
    return;
  case UNPACK_STATS:
    stats(a);
    return;
  case UNPACK_CLOSE: {
    long err = sys_cnode_revoke(env.cnode, s->donated); /* its CNode and frames, wherever they went */
    if (!err)
      err = sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, s->donated);
    s->used = 0;
    s->frames = 0;
    a->err = (u64)err;
    if (!err) {
      buf->caps[0] = SERVER_DONATION_SLOT;
      a->caps = 1;
    }
    return;
  }
  default:
    bad_requests++;
    a->err = K_ERR_BAD_SYSCALL;
  }
}

static long make_writer(struct writer *w) {
  u64 va;
  long err = env_page(&env, &va, &w->page_frame);
  w->page = (u8 *)va;
  w->out_slot = env_slot(&env);
  return err;
}

int main(void) {
  env = env_of_program(SESSION_SLOTS + 3 * MAX_SESSIONS);
  cptr_t worker_tcb;
  struct k_ipc_buffer *worker_buf;
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = make_writer(&receiver_writer);
  if (!err)
    err = make_writer(&worker_writer);
  if (!err)
    err = env_retype(&env, K_OBJ_NOTIFICATION, 0, &worker_ntfn);
  if (!err)
    err = env_thread_ipc(&env, worker, &worker_tcb, &worker_buf);
  if (!err)
    err = sys_tcb_configure(worker_tcb, env.cnode, env.vspace, WORKER_PRIORITY);
  if (err) {
    printf("unpackd: cannot start: %s\n", err_name(err));
    return 1;
  }
  printf("unpackd: ready\n");
  static const struct server unpackd = {.ep = UNPACKD_PUBLIC_EP, .open_label = UNPACK_OPEN,
                                        .close_label = UNPACK_CLOSE, .recv_slots = UNPACK_COLLECT_MAX,
                                        .handle = handle};
  server_run(&unpackd, &env, buf);
}
