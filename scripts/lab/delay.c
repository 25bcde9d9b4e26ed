/*
 * The WAN lab's delay line: this kernel has no sch_netem, so packets that an
 * nftables rule sends to NFQUEUE are held here in userspace and released,
 * in arrival order, DELAY_US after they arrived.
 *
 *   delay <queue-number> <delay-microseconds>
 *
 * Built by scripts/wan-lab.ts (cc -O2 delay.c -lnetfilter_queue -lnfnetlink) and run in
 * the lab's router namespace. Prints "ready" on stdout once bound, counters on
 * SIGTERM.
 *
 * Why it is built this way:
 * - Only packet metadata is copied to userspace (NFQNL_COPY_META): the payload
 *   stays in the kernel, so the cost per packet is two small netlink messages.
 * - The delay is the same for every packet, so release order is arrival
 *   order and packet ids increase: one batch verdict (nfq_set_verdict_batch,
 *   "accept every id up to N") releases everything that is due at once.
 * - The kernel queue holds up to QUEUE_MAXLEN packets, far above what a
 *   1 Gbit/s path keeps in flight over 200 ms (about 17,000 full-size
 *   packets); the netlink socket gets a large buffer and NETLINK_NO_ENOBUFS
 *   so a burst costs latency, not lost verdicts.
 * - GSO packets are queued whole (NFQA_CFG_F_GSO), as a router would forward
 *   them; tbf after the delay line splits them for rate limiting.
 */
#define _GNU_SOURCE /* ppoll */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
/* After the libc headers: the kernel's netfilter headers redefine in_addr otherwise. */
#include <libnetfilter_queue/libnetfilter_queue.h>
#include <linux/netfilter.h>
#include <linux/netlink.h>

#define QUEUE_MAXLEN 262144
#define RING (1u << 19) /* > QUEUE_MAXLEN, a power of two */
#define SOCKET_BUFFER (64 * 1024 * 1024)

struct held {
  uint32_t id;
  uint64_t due_ns;
};

static struct held ring[RING];
static uint32_t head, tail; /* ring[head..tail) are held, oldest first */
static uint64_t delay_ns;
static uint64_t packets, overflows;
static volatile sig_atomic_t stopping;

static uint64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int on_packet(struct nfq_q_handle *qh, struct nfgenmsg *msg, struct nfq_data *nfa, void *data) {
  (void)msg;
  (void)data;
  struct nfqnl_msg_packet_hdr *ph = nfq_get_msg_packet_hdr(nfa);
  if (ph == NULL) return 0;
  uint32_t id = ntohl(ph->packet_id);
  packets++;
  if (tail - head >= RING) {
    /* Cannot happen below QUEUE_MAXLEN; drop rather than reorder. */
    overflows++;
    nfq_set_verdict(qh, id, NF_DROP, 0, NULL);
    return 0;
  }
  ring[tail % RING] = (struct held){id, now_ns() + delay_ns};
  tail++;
  return 0;
}

static void release_due(struct nfq_q_handle *qh, uint64_t now) {
  uint32_t last = head;
  while (last != tail && ring[last % RING].due_ns <= now) last++;
  if (last == head) return;
  nfq_set_verdict_batch(qh, ring[(last - 1) % RING].id, NF_ACCEPT);
  head = last;
}

static void on_term(int sig) {
  (void)sig;
  stopping = 1;
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: delay <queue-number> <delay-microseconds>\n");
    return 2;
  }
  uint16_t queue = (uint16_t)atoi(argv[1]);
  delay_ns = (uint64_t)strtoull(argv[2], NULL, 10) * 1000u;

  struct nfq_handle *h = nfq_open();
  if (h == NULL) {
    perror("nfq_open");
    return 1;
  }
  struct nfq_q_handle *qh = nfq_create_queue(h, queue, &on_packet, NULL);
  if (qh == NULL) {
    perror("nfq_create_queue");
    return 1;
  }
  if (nfq_set_mode(qh, NFQNL_COPY_META, 0) < 0 || nfq_set_queue_maxlen(qh, QUEUE_MAXLEN) < 0) {
    perror("nfq_set_mode");
    return 1;
  }
  nfq_set_queue_flags(qh, NFQA_CFG_F_GSO, NFQA_CFG_F_GSO);
  nfnl_rcvbufsiz(nfq_nfnlh(h), SOCKET_BUFFER);
  int fd = nfq_fd(h);
  int one = 1;
  setsockopt(fd, SOL_NETLINK, NETLINK_NO_ENOBUFS, &one, sizeof one);

  struct sigaction sa = {0};
  sa.sa_handler = on_term;
  sigaction(SIGTERM, &sa, NULL);
  sigaction(SIGINT, &sa, NULL);
  printf("ready\n");
  fflush(stdout);

  static char buf[65536];
  while (!stopping) {
    uint64_t now = now_ns();
    release_due(qh, now);
    struct timespec wait = {0, 100 * 1000 * 1000}; /* idle: wake up now and then for SIGTERM */
    if (head != tail) {
      uint64_t left = ring[head % RING].due_ns - now;
      wait.tv_sec = (time_t)(left / 1000000000u);
      wait.tv_nsec = (long)(left % 1000000000u);
    }
    struct pollfd p = {fd, POLLIN, 0};
    int n = ppoll(&p, 1, &wait, NULL);
    if (n < 0 && errno != EINTR) {
      perror("ppoll");
      return 1;
    }
    if (n > 0) {
      /* Bounded, so a flood of arrivals cannot hold back what is due. */
      for (int i = 0; i < 256; i++) {
        ssize_t len = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
        if (len <= 0) break;
        nfq_handle_packet(h, buf, (int)len);
      }
    }
  }
  /* Let whatever is still held go, so nothing stalls in the queue. */
  if (head != tail) nfq_set_verdict_batch(qh, ring[(tail - 1) % RING].id, NF_ACCEPT);
  printf("{\"packets\":%llu,\"overflows\":%llu}\n", (unsigned long long)packets, (unsigned long long)overflows);
  nfq_destroy_queue(qh);
  nfq_close(h);
  return 0;
}
