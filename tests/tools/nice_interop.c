/* nice_interop: a real full ICE agent (libnice) as the controlling peer of icegate's ICE-lite
 * agent, for the interop test driven by ice_interop_driver.
 *
 * libnice runs in RFC 5245 mode as the CONTROLLING agent (RFC 8445 §6.1.1: a full agent facing a
 * lite agent controls), UDP only, no STUN/TURN servers, no UPnP, bound to 127.0.0.1 only. It is
 * given icegate's credentials and one host candidate on the command line, gathers its own host
 * candidate, and talks to the driver over stdin/stdout, one line per message:
 *
 *   -> LOCAL <ufrag> <pwd>            our credentials, for the lite agent's set_remote()
 *   -> CANDIDATE <ip> <port>          our host candidate(s)
 *   -> GATHERED <count>               no more candidates
 *   <- START                          the driver has handed them to icegate: begin the checks
 *   -> STATE <name> <ms>              component state changes, ms since START
 *   -> SELECTED <local> <remote> <ms> libnice's selected pair
 *   -> RESULT pass|fail key=value...  last line
 *
 * Once the component is READY (libnice nominated a pair and the nominating check succeeded) it
 * sends --packets RTP packets (version 2, 12-byte header + 160 bytes payload = 172 bytes) every
 * --interval-ms with nice_agent_send(); the far side echoes them, and the echoes are counted in
 * the nice_agent_attach_recv() callback, byte for byte against what was sent.
 *
 * Exit status: 0 when READY was reached and at least --min-percent of the packets came back
 * intact and once each, 1 otherwise, 2 on bad usage or a setup failure. All waiting is the GLib
 * main loop with timeouts (or poll() for the START line); nothing here sleeps. */
#include <errno.h>
#include <glib.h>
#include <nice/agent.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { kRtpHeader = 12, kRtpPayload = 160, kRtpSize = kRtpHeader + kRtpPayload };
static const guint32 kSsrc = 0x4e494345u; /* "NICE" */

typedef struct {
  const char *remote_ufrag, *remote_pwd, *remote_ip;
  guint remote_port;
  int packets, interval_ms, timeout_ms, grace_ms, min_percent;
  gboolean regular_nomination;
} Options;

typedef struct {
  Options opt;
  GMainLoop* loop;
  NiceAgent* agent;
  guint stream;
  gboolean gathered;
  gint64 started_us; /* when START was read */
  NiceComponentState state;
  gboolean reached_connected, reached_ready, failed;
  gint64 connected_ms, ready_ms;
  int sent, send_errors, received, duplicates, foreign;
  guint8* seen; /* per sequence number: came back */
  guint send_timer, grace_timer;
  const char* why; /* set when the run ends early */
} Interop;

static void usage(const char* why) {
  fprintf(
      stderr,
      "nice_interop: %s\n"
      "usage: nice_interop --remote-ufrag U --remote-pwd P --remote-ip 127.0.0.1 --remote-port N\n"
      "       [--packets 100] [--interval-ms 10] [--timeout-ms 8000] [--grace-ms 1500]\n"
      "       [--min-percent 90] [--nomination regular|aggressive]\n",
      why);
  exit(2);
}

static int number(const char* key, const char* v, long lo, long hi) {
  char* end = NULL;
  errno = 0;
  const long n = strtol(v, &end, 10);
  if (errno != 0 || end == v || *end != '\0' || n < lo || n > hi) {
    fprintf(stderr, "nice_interop: bad value for %s: %s\n", key, v);
    usage("bad number");
  }
  return (int)n;
}

static Options parse_args(int argc, char** argv) {
  Options o = {NULL, NULL, NULL, 0, 100, 10, 8000, 1500, 90, TRUE};
  for (int i = 1; i < argc; ++i) {
    const char* k = argv[i];
    if (i + 1 >= argc) usage("missing value");
    const char* v = argv[++i];
    if (strcmp(k, "--remote-ufrag") == 0) {
      o.remote_ufrag = v;
    } else if (strcmp(k, "--remote-pwd") == 0) {
      o.remote_pwd = v;
    } else if (strcmp(k, "--remote-ip") == 0) {
      o.remote_ip = v;
    } else if (strcmp(k, "--remote-port") == 0) {
      o.remote_port = (guint)number(k, v, 1, 65535);
    } else if (strcmp(k, "--packets") == 0) {
      o.packets = number(k, v, 1, 65536);
    } else if (strcmp(k, "--interval-ms") == 0) {
      o.interval_ms = number(k, v, 1, 1000);
    } else if (strcmp(k, "--timeout-ms") == 0) {
      o.timeout_ms = number(k, v, 100, 600000);
    } else if (strcmp(k, "--grace-ms") == 0) {
      o.grace_ms = number(k, v, 0, 60000);
    } else if (strcmp(k, "--min-percent") == 0) {
      o.min_percent = number(k, v, 0, 100);
    } else if (strcmp(k, "--nomination") == 0) {
      if (strcmp(v, "regular") == 0) {
        o.regular_nomination = TRUE;
      } else if (strcmp(v, "aggressive") == 0) {
        o.regular_nomination = FALSE;
      } else {
        usage("--nomination is regular or aggressive");
      }
    } else {
      usage(k);
    }
  }
  if (!o.remote_ufrag || !o.remote_pwd || !o.remote_ip || o.remote_port == 0) {
    usage("--remote-ufrag, --remote-pwd, --remote-ip and --remote-port are required");
  }
  return o;
}

static gint64 ms_since_start(const Interop* x) {
  return x->started_us == 0 ? 0 : (g_get_monotonic_time() - x->started_us) / 1000;
}

static void fill_rtp(guint8* p, guint16 seq) {
  const guint32 ts = (guint32)seq * 160u;
  p[0] = 0x80; /* V=2, no padding, no extension, no CSRC */
  p[1] = 0;    /* PT 0 (PCMU), no marker */
  p[2] = (guint8)(seq >> 8);
  p[3] = (guint8)seq;
  p[4] = (guint8)(ts >> 24);
  p[5] = (guint8)(ts >> 16);
  p[6] = (guint8)(ts >> 8);
  p[7] = (guint8)ts;
  p[8] = (guint8)(kSsrc >> 24);
  p[9] = (guint8)(kSsrc >> 16);
  p[10] = (guint8)(kSsrc >> 8);
  p[11] = (guint8)kSsrc;
  for (int i = 0; i < kRtpPayload; ++i) p[kRtpHeader + i] = (guint8)(seq + i);
}

static void finish(Interop* x, const char* why) {
  if (why && !x->why) x->why = why;
  g_main_loop_quit(x->loop);
}

static gboolean on_grace_over(gpointer data) {
  Interop* x = data;
  x->grace_timer = 0;
  finish(x, NULL);
  return G_SOURCE_REMOVE;
}

static gboolean on_send_tick(gpointer data) {
  Interop* x = data;
  guint8 p[kRtpSize];
  fill_rtp(p, (guint16)x->sent);
  const gint n = nice_agent_send(x->agent, x->stream, 1, sizeof p, (const gchar*)p);
  if (n != (gint)sizeof p) ++x->send_errors;
  ++x->sent;
  if (x->sent < x->opt.packets) return G_SOURCE_CONTINUE;
  x->send_timer = 0;
  /* The echoes still on their way get a grace period; all back ends it at once. */
  if (x->received >= x->opt.packets) {
    finish(x, NULL);
  } else {
    x->grace_timer = g_timeout_add((guint)x->opt.grace_ms, on_grace_over, x);
  }
  return G_SOURCE_REMOVE;
}

static void on_recv(NiceAgent* agent, guint stream_id, guint component_id, guint len, gchar* buf,
                    gpointer data) {
  (void)agent;
  (void)stream_id;
  (void)component_id;
  Interop* x = data;
  const guint8* p = (const guint8*)buf;
  if (len != kRtpSize || (p[0] >> 6) != 2) {
    ++x->foreign;
    return;
  }
  const guint16 seq = (guint16)((p[2] << 8) | p[3]);
  guint8 want[kRtpSize];
  fill_rtp(want, seq);
  if ((int)seq >= x->sent || memcmp(p, want, kRtpSize) != 0) {
    ++x->foreign; /* not one of ours, or altered on the way */
    return;
  }
  if (x->seen[seq]) {
    ++x->duplicates;
    return;
  }
  x->seen[seq] = 1;
  ++x->received;
  if (x->received >= x->opt.packets && x->send_timer == 0) finish(x, NULL);
}

static void on_state(NiceAgent* agent, guint stream_id, guint component_id, guint state,
                     gpointer data) {
  (void)agent;
  Interop* x = data;
  if (stream_id != x->stream || component_id != 1) return;
  x->state = (NiceComponentState)state;
  printf("STATE %s %" G_GINT64_FORMAT "\n", nice_component_state_to_string(x->state),
         ms_since_start(x));
  if (state == NICE_COMPONENT_STATE_CONNECTED && !x->reached_connected) {
    x->reached_connected = TRUE;
    x->connected_ms = ms_since_start(x);
  }
  if (state == NICE_COMPONENT_STATE_READY && !x->reached_ready) {
    x->reached_ready = TRUE;
    x->ready_ms = ms_since_start(x);
    /* Media once a nominated pair is in use (RFC 8445 §8.1.2 for the controlling side). */
    x->send_timer = g_timeout_add((guint)x->opt.interval_ms, on_send_tick, x);
  }
  if (state == NICE_COMPONENT_STATE_FAILED) {
    x->failed = TRUE;
    finish(x, "component state failed");
  }
}

static void on_selected(NiceAgent* agent, guint stream_id, guint component_id, NiceCandidate* lcand,
                        NiceCandidate* rcand, gpointer data) {
  (void)agent;
  (void)stream_id;
  (void)component_id;
  Interop* x = data;
  char l[NICE_ADDRESS_STRING_LEN], r[NICE_ADDRESS_STRING_LEN];
  nice_address_to_string(&lcand->addr, l);
  nice_address_to_string(&rcand->addr, r);
  printf("SELECTED %s:%u %s:%u %" G_GINT64_FORMAT "\n", l, nice_address_get_port(&lcand->addr), r,
         nice_address_get_port(&rcand->addr), ms_since_start(x));
}

static void on_gathered(NiceAgent* agent, guint stream_id, gpointer data) {
  (void)agent;
  Interop* x = data;
  if (stream_id != x->stream) return;
  x->gathered = TRUE;
  g_main_loop_quit(x->loop);
}

static gboolean on_deadline(gpointer data) {
  finish(data, "deadline");
  return G_SOURCE_REMOVE;
}

static gboolean on_gather_deadline(gpointer data) {
  g_main_loop_quit(((Interop*)data)->loop);
  return G_SOURCE_REMOVE;
}

static void free_candidate(gpointer c) {
  nice_candidate_free(c);
}

/* Waits (poll, bounded) for the driver's "START" line on stdin. */
static gboolean wait_start(int timeout_ms) {
  char line[64];
  size_t have = 0;
  const gint64 deadline = g_get_monotonic_time() + (gint64)timeout_ms * 1000;
  for (;;) {
    const gint64 left_ms = (deadline - g_get_monotonic_time()) / 1000;
    if (left_ms <= 0) return FALSE;
    struct pollfd pfd = {STDIN_FILENO, POLLIN, 0};
    const int r = poll(&pfd, 1, (int)left_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return FALSE;
    const ssize_t n = read(STDIN_FILENO, line + have, sizeof line - 1 - have);
    if (n <= 0) return FALSE; /* the driver went away */
    have += (size_t)n;
    line[have] = '\0';
    if (strchr(line, '\n')) return strncmp(line, "START", 5) == 0;
    if (have == sizeof line - 1) return FALSE;
  }
}

static void set_property_if_known(NiceAgent* agent, const char* name, gboolean value) {
  if (g_object_class_find_property(G_OBJECT_GET_CLASS(agent), name)) {
    g_object_set(agent, name, value, NULL);
  }
}

int main(int argc, char** argv) {
  setvbuf(stdout, NULL, _IOLBF, 0); /* the driver reads line by line */
  Interop x;
  memset(&x, 0, sizeof x);
  x.opt = parse_args(argc, argv);
  x.seen = g_malloc0((gsize)x.opt.packets);
  x.loop = g_main_loop_new(NULL, FALSE);

  const NiceAgentOption flags =
      x.opt.regular_nomination ? NICE_AGENT_OPTION_REGULAR_NOMINATION : NICE_AGENT_OPTION_NONE;
  x.agent = nice_agent_new_full(g_main_loop_get_context(x.loop), NICE_COMPATIBILITY_RFC5245, flags);
  g_object_set(x.agent, "controlling-mode", TRUE, "ice-udp", TRUE, "ice-tcp", FALSE, NULL);
  /* Network rule of the test: loopback only. No UPnP discovery, no relay-only mode. */
  set_property_if_known(x.agent, "upnp", FALSE);
  set_property_if_known(x.agent, "force-relay", FALSE);

  /* An explicit local address turns off interface discovery: 127.0.0.1 is the only one. */
  NiceAddress local;
  nice_address_init(&local);
  if (!nice_address_set_from_string(&local, "127.0.0.1") ||
      !nice_agent_add_local_address(x.agent, &local)) {
    fprintf(stderr, "nice_interop: cannot add local address 127.0.0.1\n");
    return 2;
  }
  g_signal_connect(x.agent, "candidate-gathering-done", G_CALLBACK(on_gathered), &x);
  g_signal_connect(x.agent, "component-state-changed", G_CALLBACK(on_state), &x);
  g_signal_connect(x.agent, "new-selected-pair-full", G_CALLBACK(on_selected), &x);

  x.stream = nice_agent_add_stream(x.agent, 1);
  if (x.stream == 0) {
    fprintf(stderr, "nice_interop: nice_agent_add_stream failed\n");
    return 2;
  }
  nice_agent_set_stream_name(x.agent, x.stream, "audio");
  nice_agent_attach_recv(x.agent, x.stream, 1, g_main_loop_get_context(x.loop), on_recv, &x);
  if (!nice_agent_gather_candidates(x.agent, x.stream)) {
    fprintf(stderr, "nice_interop: nice_agent_gather_candidates failed\n");
    return 2;
  }
  /* Host candidates only: gathering may well be done (signal emitted) before the loop runs. */
  if (!x.gathered) {
    const guint gather_timer = g_timeout_add(5000, on_gather_deadline, &x);
    g_main_loop_run(x.loop);
    if (!x.gathered) {
      fprintf(stderr, "nice_interop: candidate gathering did not finish within 5 s\n");
      return 2;
    }
    g_source_remove(gather_timer);
  }

  gchar *ufrag = NULL, *pwd = NULL;
  nice_agent_get_local_credentials(x.agent, x.stream, &ufrag, &pwd);
  printf("LOCAL %s %s\n", ufrag, pwd);
  g_free(ufrag);
  g_free(pwd);
  GSList* cands = nice_agent_get_local_candidates(x.agent, x.stream, 1);
  int host = 0;
  for (GSList* i = cands; i; i = i->next) {
    const NiceCandidate* c = i->data;
    if (c->type != NICE_CANDIDATE_TYPE_HOST || c->transport != NICE_CANDIDATE_TRANSPORT_UDP)
      continue;
    char a[NICE_ADDRESS_STRING_LEN];
    nice_address_to_string(&c->addr, a);
    printf("CANDIDATE %s %u\n", a, nice_address_get_port(&c->addr));
    ++host;
  }
  g_slist_free_full(cands, free_candidate);
  if (host == 0) {
    fprintf(stderr, "nice_interop: no UDP host candidate gathered\n");
    return 2;
  }
  printf("GATHERED %d\n", host);

  if (!wait_start(10000)) {
    fprintf(stderr, "nice_interop: no START from the driver\n");
    return 2;
  }
  x.started_us = g_get_monotonic_time();

  /* icegate's answer: its credentials and its one host candidate. Setting them starts the
   * connectivity checks (libnice is controlling). */
  if (!nice_agent_set_remote_credentials(x.agent, x.stream, x.opt.remote_ufrag, x.opt.remote_pwd)) {
    fprintf(stderr, "nice_interop: remote credentials refused\n");
    return 2;
  }
  NiceCandidate* rc = nice_candidate_new(NICE_CANDIDATE_TYPE_HOST);
  rc->stream_id = x.stream;
  rc->component_id = 1;
  rc->transport = NICE_CANDIDATE_TRANSPORT_UDP;
  rc->priority = 2130706431u; /* RFC 8445 §5.1.2.1: host, local preference 65535, component 1 */
  g_strlcpy(rc->foundation, "icegate", sizeof rc->foundation);
  if (!nice_address_set_from_string(&rc->addr, x.opt.remote_ip)) usage("bad --remote-ip");
  nice_address_set_port(&rc->addr, x.opt.remote_port);
  GSList* remote = g_slist_append(NULL, rc);
  const int added = nice_agent_set_remote_candidates(x.agent, x.stream, 1, remote);
  g_slist_free_full(remote, free_candidate);
  if (added != 1) {
    fprintf(stderr, "nice_interop: remote candidate refused (%d)\n", added);
    return 2;
  }

  const guint deadline = g_timeout_add((guint)x.opt.timeout_ms, on_deadline, &x);
  g_main_loop_run(x.loop);
  if (!x.why || strcmp(x.why, "deadline") != 0) g_source_remove(deadline);
  if (x.send_timer) g_source_remove(x.send_timer);
  if (x.grace_timer) g_source_remove(x.grace_timer);

  const gboolean enough = (gint64)x.received * 100 >= (gint64)x.opt.packets * x.opt.min_percent;
  /* Altered or duplicated packets would be a relay bug even when enough came back. */
  const gboolean pass =
      x.reached_ready && !x.failed && enough && x.foreign == 0 && x.duplicates == 0;
  printf("RESULT %s state=%s reached_connected=%d connected_ms=%" G_GINT64_FORMAT
         " reached_ready=%d ready_ms=%" G_GINT64_FORMAT
         " sent=%d send_errors=%d received=%d duplicates=%d foreign=%d min_percent=%d why=%s\n",
         pass ? "pass" : "fail", nice_component_state_to_string(x.state), x.reached_connected,
         x.connected_ms, x.reached_ready, x.ready_ms, x.sent, x.send_errors, x.received,
         x.duplicates, x.foreign, x.opt.min_percent,
         x.why ? x.why : (enough ? "ok" : "too few echoes"));

  nice_agent_attach_recv(x.agent, x.stream, 1, g_main_loop_get_context(x.loop), NULL, NULL);
  g_object_unref(x.agent);
  g_main_loop_unref(x.loop);
  g_free(x.seen);
  return pass ? 0 : 1;
}
