/*
 * bench:nanny's real servers: one process, one epoll set, serving every 198.19.x.y address (AnyIP) on
 * three ports with the same canned bytes the Node listeners used to send:
 *   80  "HTTP/1.1 200 OK", 83 "HTTP/1.1 503 Service Unavailable" (Content-Length: 2, body "ok"): a request
 *       that says keep-alive gets the keep-alive reply on a connection kept open, any other gets the close
 *       reply and an orderly close (FIN);
 *   82  accepts and never answers (read and discarded until the prober resets).
 * Why C: the lab's server side must not be what fails. The Node listeners it replaces (net.Socket and its
 * stream machinery per connection) needed most of one of the two cores for the ~6,600 accepted
 * connections a second of bench:nanny's mix; once they fell behind, the accept queue held more than a
 * probe timeout's worth of connections, so every connection accepted had already been given up by the
 * prober: a collapse that never recovers while probes arrive at a fixed rate (docs/nanny.md, "A lab that
 * failed"). This loop's cost is nearly all the kernel's TCP work.
 *
 *   gcc -O2 -o /tmp/lab-server bench/lab-server.c && /tmp/lab-server BACKLOG
 * Prints "ready" once listening. Needs nothing but libc.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define REPLY(status, conn) \
  "HTTP/1.1 " status "\r\nContent-Length: 2\r\nConnection: " conn "\r\n\r\nok"

static const char *const OK_CLOSE = REPLY("200 OK", "close");
static const char *const OK_KEEP = REPLY("200 OK", "keep-alive");
static const char *const E503_CLOSE = REPLY("503 Service Unavailable", "close");
static const char *const E503_KEEP = REPLY("503 Service Unavailable", "keep-alive");

enum kind { OK = 0, E503 = 1, HANG = 2 };

static int listener(int port, int backlog) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(port)};
  if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) || listen(fd, backlog)) {
    perror("listen");
    exit(1);
  }
  return fd;
}

int main(int argc, char **argv) {
  int backlog = argc > 1 ? atoi(argv[1]) : 4096;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int ports[3] = {80, 83, 82};
  int lfd[3];
  for (int k = 0; k < 3; k++) {
    lfd[k] = listener(ports[k], backlog);
    /* data: listener k is tagged -1 - k; a connection is tagged (fd << 2) | kind */
    struct epoll_event ev = {.events = EPOLLIN, .data.u64 = (uint64_t)(-1 - k)};
    epoll_ctl(ep, EPOLL_CTL_ADD, lfd[k], &ev);
  }
  printf("ready\n");
  fflush(stdout);
  struct epoll_event evs[256];
  char buf[4096];
  for (;;) {
    int n = epoll_wait(ep, evs, 256, -1);
    if (n < 0 && errno != EINTR) {
      perror("epoll_wait");
      return 1;
    }
    for (int i = 0; i < n; i++) {
      int64_t tag = (int64_t)evs[i].data.u64;
      if (tag < 0) {
        int k = (int)(-1 - tag);
        for (;;) {
          int c = accept4(lfd[k], NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
          if (c < 0) break; /* EAGAIN, or a connection already gone */
          struct epoll_event ev = {.events = EPOLLIN | EPOLLRDHUP, .data.u64 = ((uint64_t)c << 2) | k};
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev);
        }
        continue;
      }
      int c = (int)(tag >> 2);
      int k = (int)(tag & 3);
      ssize_t r = read(c, buf, sizeof buf - 1);
      if (r <= 0) {
        if (r < 0 && errno == EAGAIN) continue;
        close(c); /* end of stream or reset: also leaves the epoll set */
        continue;
      }
      if (k == HANG) continue;
      buf[r] = 0;
      int keep = strstr(buf, "keep-alive") != NULL;
      const char *reply = k == OK ? (keep ? OK_KEEP : OK_CLOSE) : (keep ? E503_KEEP : E503_CLOSE);
      if (send(c, reply, strlen(reply), MSG_NOSIGNAL | MSG_DONTWAIT) < 0)
        close(c); /* the prober reset it already */
      else if (!keep)
        shutdown(c, SHUT_WR); /* the orderly close (FIN); the prober's reset or FIN ends it */
    }
  }
}
