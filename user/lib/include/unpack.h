/* unpackd's protocol: run-length decompression in memory the client
 * donates (issue 16, attack 7: the seed's exec-server bomb, memory half).
 *
 * A stream is a list of runs, one message word each: count << 8 | byte.
 * A few words can ask for gigabytes. unpackd writes the output into 4 KiB
 * frames it makes from the session's donation, one after another, so a
 * stream that expands past the donation stops with NO_MEMORY, in the
 * client's memory, and unpackd's own memory never grows. A run of more
 * than 4 KiB of output is done by unpackd's worker thread at the clients'
 * priority, a frame at a time, round robin with the other sessions' runs
 * (the CPU half of the bomb): until it is answered, the session's other
 * requests get BAD_STATE. A session whose memory is revoked mid-run gets
 * the error the next frame met (EMPTY_SLOT). */
#ifndef USER_UNPACK_H
#define USER_UNPACK_H

#include <sys.h>

enum unpack_op {
  UNPACK_OPEN = 1,  /* public endpoint; caps[0]: a donation of 2^16..2^24 bytes -> caps[0]: the session's endpoint */
  UNPACK_RUN,       /* words: the stream -> w1: bytes written, w2: frames holding them (NO_MEMORY: the
                     * donation ran out; what was written is dropped and the session is spent) */
  UNPACK_COLLECT,   /* -> the output frames, in order, as gifts (at most UNPACK_COLLECT_MAX); w1: how many */
  UNPACK_CLOSE,     /* -> caps[0]: the donation back */
  UNPACK_STATS,     /* public or session -> w1: unpackd's own memory in use (bytes), w2: bad requests, w3: runs
                     * stopped by NO_MEMORY */
};

#define UNPACKD_PUBLIC_EP K_BI_SLOT_FIRST_FREE_FIXED /* in unpackd's CNode; init hands its clients a copy */
#define UNPACK_RUN_MAX_WORDS 60
#define UNPACK_COLLECT_MAX 64
#define UNPACK_DONATION_MIN_BITS 16
#define UNPACK_DONATION_MAX_BITS 24
#define UNPACK_SESSION_FRAMES 255 /* a session's CNode: 2^8 slots, slot 0 the kernel's */

static inline u64 unpack_run(u64 count, u8 byte) { return count << 8 | byte; }

#endif
