/*
 * Experiment for issue 6's next lever: what a half-open TCP check costs the router's kernel with a fresh
 * socket per probe (socket, TCP_QUICKACK off, connect, epoll, SO_LINGER 0 + close) against one socket
 * per real server reused between probes (connect(AF_UNSPEC) resets it; TCP_QUICKACK off again, connect,
 * epoll re-armed). No JavaScript: it isolates the kernel's share. Runs N targets at RATE probes/s for
 * SECONDS, then prints its own user and system CPU.
 *
 *   gcc -O2 -o /tmp/socket-reuse bench/experiments/socket-reuse.c
 *   ip netns exec ROUTER /tmp/socket-reuse fresh|reuse 198.19.0.0 PORT N RATE SECONDS
 *
 * Targets: N addresses from the base, last octet 40..239 (bench:nanny's healthy 198.19.x.y servers); a
 * probe still in flight when its turn comes again is skipped (counted). Needs bench:nanny's lab running,
 * e.g. `npm run bench:nanny -- --kinds none --duration 120` and this in its router namespace meanwhile.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec + t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s fresh|reuse BASE PORT N RATE SECONDS\n", argv[0]);
    return 2;
  }
  int reuse = strcmp(argv[1], "reuse") == 0;
  uint32_t base = ntohl(inet_addr(argv[2]));
  int port = atoi(argv[3]), n = atoi(argv[4]);
  double rate = atof(argv[5]), secs = atof(argv[6]);
  int *fds = calloc(n, sizeof(int));
  char *busy = calloc(n, 1), *reg = calloc(n, 1); /* in flight; registered with epoll */
  for (int i = 0; i < n; i++) fds[i] = -1;
  int ep = epoll_create1(EPOLL_CLOEXEC);
  int zero = 0;
  struct linger lg = {1, 0};
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
  struct sockaddr un = {.sa_family = AF_UNSPEC};
  long done = 0, ok = 0, skipped = 0;
  double t0 = now(), next = t0;
  int cur = 0;
  struct epoll_event evs[256];
  while (now() - t0 < secs) {
    double t = now();
    while (next <= t) { /* start the probes that are due */
      next += 1.0 / rate;
      int i = cur;
      cur = (cur + 1) % n;
      if (busy[i]) { skipped++; continue; }
      if (!reuse || fds[i] < 0) {
        fds[i] = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (reuse) setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
      }
      setsockopt(fds[i], IPPROTO_TCP, TCP_QUICKACK, &zero, sizeof zero);
      sa.sin_addr.s_addr = htonl(base + (i / 200) * 256 + 40 + i % 200); /* last octet 40..239: healthy */
      int r = connect(fds[i], (struct sockaddr *)&sa, sizeof sa);
      if (r < 0 && errno != EINPROGRESS) {
        done++;
        if (!reuse) {
          close(fds[i]);
          fds[i] = -1;
          reg[i] = 0;
        }
        continue;
      }
      struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.u32 = (uint32_t)i};
      epoll_ctl(ep, reg[i] ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fds[i], &ev);
      reg[i] = 1;
      busy[i] = 1;
    }
    int k = epoll_wait(ep, evs, 256, 1);
    for (int j = 0; j < k; j++) {
      int i = (int)evs[j].data.u32;
      int err = 0;
      socklen_t l = sizeof err;
      getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &l);
      if (!err) ok++;
      done++;
      busy[i] = 0;
      if (reuse) connect(fds[i], &un, sizeof un); /* reset: RST, socket ready to connect again */
      else {
        setsockopt(fds[i], SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
        close(fds[i]); /* also leaves the epoll set */
        fds[i] = -1;
        reg[i] = 0;
      }
    }
  }
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  double el = now() - t0;
  double u = ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6, s = ru.ru_stime.tv_sec + ru.ru_stime.tv_usec / 1e6;
  printf("%s: %ld probes (%ld connected, %ld skipped while in flight) in %.1f s = %.0f/s; CPU %.1f %% of a core (user %.1f + sys %.1f); %.1f us per probe\n",
         argv[1], done, ok, skipped, el, done / el, 100 * (u + s) / el, 100 * u / el, 100 * s / el, 1e6 * (u + s) / done);
  return 0;
}
