/* unpackd: run-length decompression for clients, in memory they donate
 * (see user/lib/include/unpack.h). Each session's output frames are made
 * from its donation and held in a CNode made from it too; unpackd's own
 * memory holds only its code, a scratch page-table path and the session
 * table. */
#include <ulib.h>
#include <env.h>
#include <server.h>
#include <unpack.h>
#include <abi/bootinfo.h>

#define MAX_SESSIONS 16
#define SESSION_SLOTS 256 /* per session: the donation, its CNode */
#define SCRATCH_SLOT 250  /* the output frame being written */
#define SCRATCH_VA 0x0000500000000000ull

struct session {
  int used;
  u8 generation;
  cptr_t donated, out; /* slots in unpackd's CNode */
  u64 frames;          /* output frames in `out`, slots 1.. */
  int spent;           /* a run ran out of memory: nothing more fits */
};

static struct session sessions[MAX_SESSIONS];
static struct env env;
static struct k_ipc_buffer *buf;
static u64 bad_requests, bombs;

static u64 word(const struct msg_regs *m, u64 i) { return i < K_IPC_REG_WORDS ? m->w[i] : buf->words[i]; }

/* A client that revoked its donation has closed its session. */
static struct session *session_of(u64 badge) {
  unsigned i = server_badge_index(badge);
  if (i >= MAX_SESSIONS || !sessions[i].used || sessions[i].generation != server_badge_generation(badge))
    return 0;
  struct session *s = &sessions[i];
  if (sys_cap_type(env.cnode, s->donated).val != K_OBJ_UNTYPED) {
    sys_cnode_revoke(env.cnode, s->donated);
    sys_cnode_delete(env.cnode, s->donated);
    s->used = 0;
    return 0;
  }
  return s;
}

static long open_session(const struct msg_regs *m, struct server_answer *a) {
  unsigned i = 0;
  while (i < MAX_SESSIONS && sessions[i].used && session_of(server_badge(i, sessions[i].generation)))
    i++;
  struct k_cap_info ci;
  if (k_msg_caps(m->info) != 1 || sys_cap_identify(env.cnode, SERVER_DONATION_SLOT, &ci) || ci.type != K_OBJ_UNTYPED)
    return K_ERR_WRONG_TYPE;
  if (ci.size < 1ull << UNPACK_DONATION_MIN_BITS || ci.size > 1ull << UNPACK_DONATION_MAX_BITS || i == MAX_SESSIONS)
    return K_ERR_RANGE;
  struct session *s = &sessions[i];
  cptr_t donated = SESSION_SLOTS + 2 * i, out = donated + 1;
  long err = sys_cnode_move(env.cnode, donated, env.cnode, SERVER_DONATION_SLOT);
  if (!err && (err = sys_retype(donated, K_OBJ_CNODE, 8, env.cnode, out, 1, 0)))
    sys_cnode_move(env.cnode, SERVER_DONATION_SLOT, env.cnode, donated); /* back to the client */
  if (err)
    return err;
  *s = (struct session){.used = 1, .generation = (u8)(s->generation + 1), .donated = donated, .out = out};
  err = sys_cnode_mint(env.cnode, SERVER_TEMP_SLOT, env.cnode, UNPACKD_PUBLIC_EP, K_RIGHTS_ALL,
                       server_badge(i, s->generation));
  if (!err) {
    buf->caps[0] = SERVER_TEMP_SLOT;
    a->caps = 1;
  }
  return err;
}

/* The frame at the scratch address joins the session's output. */
static long output_frame_done(struct session *s) {
  long err = sys_frame_unmap(SCRATCH_SLOT);
  if (!err)
    err = sys_cnode_move(s->out, s->frames + 1, env.cnode, SCRATCH_SLOT);
  if (!err)
    s->frames++;
  else
    sys_cnode_delete(env.cnode, SCRATCH_SLOT);
  return err;
}

/* A new output frame from the session's donation, mapped at the scratch
 * address. Running out of either the donation or the session's slots is
 * the client's memory running out. */
static long output_frame_new(struct session *s) {
  if (s->frames == UNPACK_SESSION_FRAMES)
    return K_ERR_NO_MEMORY;
  long err = sys_retype(s->donated, K_OBJ_FRAME_4K, 0, env.cnode, SCRATCH_SLOT, 1, 0);
  if (!err && (err = sys_frame_map(SCRATCH_SLOT, env.vspace, SCRATCH_VA, K_MAP_WRITE)))
    sys_cnode_delete(env.cnode, SCRATCH_SLOT);
  return err;
}

static void drop_output(struct session *s) {
  for (u64 k = 1; k <= s->frames; k++)
    sys_cnode_delete(s->out, k);
  s->frames = 0;
}

static void run(struct session *s, const struct msg_regs *m, struct server_answer *a) {
  u64 n = k_msg_words(m->info), written = 0, fill = K_PAGE_SIZE;
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
  long err = s->spent ? K_ERR_NO_MEMORY : K_ERR_OK;
  for (u64 i = 0; i < n && !err; i++) {
    u64 count = word(m, i) >> 8;
    u8 byte = (u8)word(m, i);
    while (count && !err) {
      if (fill == K_PAGE_SIZE) {
        if (written && (err = output_frame_done(s)))
          break;
        if ((err = output_frame_new(s)))
          break;
        fill = 0;
      }
      u64 chunk = count < K_PAGE_SIZE - fill ? count : K_PAGE_SIZE - fill;
      memset((u8 *)SCRATCH_VA + fill, byte, chunk);
      fill += chunk;
      count -= chunk;
      written += chunk;
    }
  }
  if (!err && written)
    err = output_frame_done(s);
  if (err) {
    if (sys_cap_type(env.cnode, SCRATCH_SLOT).val != K_OBJ_NULL)
      sys_cnode_delete(env.cnode, SCRATCH_SLOT);
    drop_output(s);
    s->spent = err == K_ERR_NO_MEMORY;
    bombs += s->spent;
  }
  a->err = (u64)err;
  a->w1 = written;
  a->w2 = s->frames;
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
  if (!s) {
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

int main(void) {
  env = env_of_program(SESSION_SLOTS + 2 * MAX_SESSIONS);
  long err = env_ipc_buffer(&env, K_BI_SLOT_TCB, &buf);
  if (!err)
    err = env_prepare_tables(&env, env.vspace, SCRATCH_VA, K_PAGE_SIZE);
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
