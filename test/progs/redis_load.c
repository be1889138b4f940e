/* SPDX-License-Identifier: MIT */
/*
 * redis_load: open-loop GET/SET load against one redis-server, with
 * BGSAVEs fired at intervals, for scripts/bench-redis (inside the VM).
 *
 *   redis_load --port P --keys N [--rate OPS] [--set-percent S]
 *              [--value-size B] [--bgsaves K] [--warmup-ms W] [--gap-ms G]
 *              [--poll-ms I] [--prefix PFX]
 *
 * Load thread: one connection; requests are GET or SET (S percent SETs, of
 * a B-byte value) on random keys PFX:0 .. PFX:N-1 (the names DEBUG
 * POPULATE N PFX gives).  Request i is due at start + i / OPS; it is sent
 * as soon as the thread sees it due, pipelined behind whatever is still
 * unanswered, and its latency is measured from that intended send time to
 * the arrival of its reply (open loop: a server stall delays every request
 * due during it, and all of them are counted).
 *
 * Control thread: a second connection.  After W ms it sends BGSAVE (retried
 * while another save runs), polls INFO persistence every I ms until
 * rdb_bgsave_in_progress is 0, reads latest_fork_usec from INFO stats and
 * checks rdb_last_bgsave_status:ok, waits G ms, and repeats K times; then
 * the load runs G ms more and stops.  A snapshot window runs from just
 * before BGSAVE is sent to the poll that sees the save finished.
 *
 * A request is "in" a window when its life (intended send time to reply)
 * overlaps one, otherwise "out".  Prints CSV lines
 *   window,in|out|all,requests,p50_us,p99_us,p999_us,max_us
 *   bgsave,INDEX,start_ms,end_ms,latest_fork_usec
 *   stall,due_ms,requests,max_us
 *   totals,requests_sent,replies,errors,late_sends
 * (times in ms since the load started; percentiles nearest-rank).  A
 * stall is a run of consecutive requests each slower than STALL_US; its
 * due_ms is when the first of them was due, which places it against the
 * bgsave lines (at the fork, later in the window, at its end).  The
 * first MAX_STALLS are printed, then their total count if larger.
 * late_sends counts requests sent more than 1 ms after they were due: when
 * large, the client could not keep the rate itself.  Exits 1 on a
 * connection or protocol error, an error reply, a failed BGSAVE or missing
 * replies; 2 on usage errors.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

struct sample {
	double due;  /* intended send time, us since start */
	double done; /* reply arrival, us since start */
};

struct window {
	double start, end;
	long fork_usec;
};

static int port = 6379;
static long keys;
static double rate = 1000;
static int set_percent = 50;
static int value_size = 1000;
static int bgsaves = 3;
static long warmup_ms = 3000, gap_ms = 3000, poll_ms = 10;
static const char *prefix = "key";

static double t0;
static atomic_int stop_load;
static atomic_int control_failed;
static struct window *windows;
static int windows_done;

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3 - t0;
}

static void sleep_until(double t_us)
{
	double d = t_us - now_us();

	if (d <= 0)
		return;
	struct timespec ts = {
		.tv_sec = (time_t)(d / 1e6),
		.tv_nsec = (long)((d - (double)(long)(d / 1e6) * 1e6) * 1e3)};
	nanosleep(&ts, NULL);
}

static int connect_redis(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("redis_load: connect");
		if (fd >= 0)
			close(fd);
		return -1;
	}
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

/*
 * Length of the first complete RESP reply in buf[0..len), 0 when it is
 * not complete yet, -1 on a reply this client never expects.  *error is
 * set for an error reply.
 */
static long reply_length(const char *buf, size_t len, int *error)
{
	const char *eol = memchr(buf, '\n', len);

	if (!eol)
		return 0;
	long head = eol - buf + 1;
	*error = buf[0] == '-';
	switch (buf[0]) {
	case '+':
	case '-':
	case ':':
		return head;
	case '$': {
		long n = strtol(buf + 1, NULL, 10);
		if (n < 0)
			return head;
		return (size_t)head + (size_t)n + 2 <= len ? head + n + 2 : 0;
	}
	default:
		return -1;
	}
}

/* Sends the whole command on a blocking socket, reads one reply. */
static int command(int fd, const char *cmd, char *reply, size_t size)
{
	size_t len = strlen(cmd), off = 0, got = 0;

	while (off < len) {
		ssize_t n = write(fd, cmd + off, len - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		off += (size_t)n;
	}
	for (;;) {
		int error;
		long r = got ? reply_length(reply, got, &error) : 0;
		if (r > 0) {
			reply[r < (long)size ? r : (long)size - 1] = 0;
			return 0;
		}
		if (r < 0 || got + 1 >= size)
			return -1;
		ssize_t n = read(fd, reply + got, size - 1 - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
}

/* Value of "field:" in an INFO reply, or -1. */
static long info_field(const char *info, const char *field)
{
	const char *p = strstr(info, field);

	return p ? strtol(p + strlen(field), NULL, 10) : -1;
}

static void *control(void *arg)
{
	static char reply[1 << 16];
	int fd = connect_redis();

	(void)arg;
	if (fd < 0)
		goto fail;
	sleep_until((double)warmup_ms * 1e3);
	for (int i = 0; i < bgsaves; i++) {
		double start;
		for (int tries = 0;; tries++) {
			start = now_us();
			if (command(fd, "BGSAVE\r\n", reply, sizeof(reply)))
				goto fail;
			if (reply[0] == '+')
				break;
			if (tries > 600) {
				fprintf(stderr, "redis_load: BGSAVE: %s",
					reply);
				goto fail;
			}
			sleep_until(now_us() + 100e3);
		}
		for (;;) {
			sleep_until(now_us() + (double)poll_ms * 1e3);
			if (command(fd, "INFO persistence\r\n", reply,
				    sizeof(reply)))
				goto fail;
			if (info_field(reply, "rdb_bgsave_in_progress:") == 0)
				break;
		}
		double end = now_us();
		if (!strstr(reply, "rdb_last_bgsave_status:ok")) {
			fprintf(stderr, "redis_load: BGSAVE %d failed\n", i);
			goto fail;
		}
		if (command(fd, "INFO stats\r\n", reply, sizeof(reply)))
			goto fail;
		windows[i] = (struct window){
			start, end, info_field(reply, "latest_fork_usec:")};
		windows_done = i + 1;
		sleep_until(end + (double)gap_ms * 1e3);
	}
	close(fd);
	atomic_store(&stop_load, 1);
	return NULL;
fail:
	fprintf(stderr, "redis_load: control connection failed\n");
	atomic_store(&control_failed, 1);
	atomic_store(&stop_load, 1);
	return NULL;
}

static int compare(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static void report(const char *name, double *lat, long n)
{
	if (!n) {
		printf("window,%s,0,,,,\n", name);
		return;
	}
	qsort(lat, (size_t)n, sizeof(*lat), compare);
	long r50 = (n * 50 + 99) / 100, r99 = (n * 99 + 99) / 100,
	     r999 = (n * 999 + 999) / 1000;
	printf("window,%s,%ld,%.0f,%.0f,%.0f,%.0f\n", name, n, lat[r50 - 1],
	       lat[r99 - 1], lat[r999 - 1], lat[n - 1]);
}

#define STALL_US   20000.0
#define MAX_STALLS 40

static void report_stalls(const struct sample *s, long n)
{
	long stalls = 0;

	for (long i = 0; i < n;) {
		if (s[i].done - s[i].due <= STALL_US) {
			i++;
			continue;
		}
		long first = i;
		double max = 0;
		for (; i < n && s[i].done - s[i].due > STALL_US; i++)
			if (s[i].done - s[i].due > max)
				max = s[i].done - s[i].due;
		if (++stalls <= MAX_STALLS)
			printf("stall,%.1f,%ld,%.0f\n", s[first].due / 1e3,
			       i - first, max);
	}
	if (stalls > MAX_STALLS)
		printf("stall,more,%ld,\n", stalls - MAX_STALLS);
}

static int in_window(const struct sample *s)
{
	for (int w = 0; w < windows_done; w++)
		if (s->due <= windows[w].end && s->done >= windows[w].start)
			return 1;
	return 0;
}

static long parse_long(const char *s, long min)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (*s == 0 || *end || v < min) {
		fprintf(stderr, "redis_load: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

static void parse_args(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		const char *o = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v) {
			fprintf(stderr, "redis_load: %s needs a value\n", o);
			exit(2);
		}
		i++;
		if (!strcmp(o, "--port"))
			port = (int)parse_long(v, 1);
		else if (!strcmp(o, "--keys"))
			keys = parse_long(v, 1);
		else if (!strcmp(o, "--rate"))
			rate = (double)parse_long(v, 1);
		else if (!strcmp(o, "--set-percent"))
			set_percent = (int)parse_long(v, 0);
		else if (!strcmp(o, "--value-size"))
			value_size = (int)parse_long(v, 1);
		else if (!strcmp(o, "--bgsaves"))
			bgsaves = (int)parse_long(v, 0);
		else if (!strcmp(o, "--warmup-ms"))
			warmup_ms = parse_long(v, 0);
		else if (!strcmp(o, "--gap-ms"))
			gap_ms = parse_long(v, 0);
		else if (!strcmp(o, "--poll-ms"))
			poll_ms = parse_long(v, 1);
		else if (!strcmp(o, "--prefix"))
			prefix = v;
		else {
			fprintf(stderr, "redis_load: unknown option %s\n", o);
			exit(2);
		}
	}
	if (!keys || set_percent > 100) {
		fprintf(stderr, "usage: redis_load --port P --keys N [--rate "
				"OPS] [--set-percent S] [--value-size B] "
				"[--bgsaves K] [--warmup-ms W] [--gap-ms G] "
				"[--poll-ms I] [--prefix PFX]\n");
		exit(2);
	}
}

int main(int argc, char **argv)
{
	parse_args(argc, argv);
	windows = calloc((size_t)bgsaves + 1, sizeof(*windows));
	char *value = malloc((size_t)value_size + 1);
	size_t out_cap = (size_t)value_size + 256, in_cap = 1 << 20;
	char *out = malloc(out_cap), *in = malloc(in_cap);
	long cap = 1 << 16, sent = 0, replied = 0, errors = 0, late = 0;
	struct sample *s = malloc((size_t)cap * sizeof(*s));
	size_t out_len = 0, out_off = 0, in_len = 0;
	int fail = 0;

	if (!windows || !value || !out || !in || !s)
		return 1;
	memset(value, 'x', (size_t)value_size);
	value[value_size] = 0;
	int fd = connect_redis();
	if (fd < 0)
		return 1;
	srandom(12345);
	t0 = 0;
	t0 = now_us();
	pthread_t ctl;
	if (pthread_create(&ctl, NULL, control, NULL)) {
		perror("redis_load: pthread_create");
		return 1;
	}

	double interval = 1e6 / rate, drain_deadline = -1;
	for (;;) {
		double now = now_us();
		if (atomic_load(&stop_load) && drain_deadline < 0)
			drain_deadline = now + 10e6;
		/* Queue every request due by now (one at a time: the buffer
		 * holds one request; the loop comes back at once). */
		if (drain_deadline < 0 && out_off == out_len &&
		    (double)sent * interval <= now) {
			if (sent == cap) {
				cap *= 2;
				s = realloc(s, (size_t)cap * sizeof(*s));
				if (!s)
					return 1;
			}
			double due = (double)sent * interval;
			if (now - due > 1000)
				late++;
			s[sent].due = due;
			s[sent].done = -1;
			long k = random() % keys;
			char key[64];
			int kl =
				snprintf(key, sizeof(key), "%s:%ld", prefix, k);
			if (random() % 100 < set_percent)
				out_len = (size_t)snprintf(
					out, out_cap,
					"*3\r\n$3\r\nSET\r\n$%d\r\n%s\r\n$%"
					"d\r\n"
					"%s\r\n",
					kl, key, value_size, value);
			else
				out_len = (size_t)snprintf(
					out, out_cap,
					"*2\r\n$3\r\nGET\r\n$%d\r\n%s\r\n", kl,
					key);
			out_off = 0;
			sent++;
		}
		if (out_off < out_len) {
			ssize_t n = send(fd, out + out_off, out_len - out_off,
					 MSG_DONTWAIT);
			if (n > 0)
				out_off += (size_t)n;
			else if (n < 0 && errno != EAGAIN && errno != EINTR) {
				perror("redis_load: send");
				return 1;
			}
			if (out_off == out_len &&
			    (double)sent * interval <= now_us())
				continue; /* more due: queue it at once */
		}
		if (drain_deadline >= 0 &&
		    (replied == sent || now > drain_deadline))
			break;
		/* Wait for replies, room to send, or the next due time. */
		double next = drain_deadline >= 0 ? now + 50e3
			      : out_off < out_len ? now + 50e3
						  : (double)sent * interval;
		double wait = next - now_us();
		struct timespec ts = {0, 0};
		if (wait > 0) {
			ts.tv_sec = (time_t)(wait / 1e6);
			ts.tv_nsec =
				(long)((wait - (double)ts.tv_sec * 1e6) * 1e3);
		}
		struct pollfd p = {
			fd, POLLIN | (out_off < out_len ? POLLOUT : 0), 0};
		if (ppoll(&p, 1, &ts, NULL) < 0 && errno != EINTR) {
			perror("redis_load: poll");
			return 1;
		}
		if (!(p.revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		ssize_t n =
			recv(fd, in + in_len, in_cap - in_len, MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			fprintf(stderr, "redis_load: connection lost\n");
			return 1;
		}
		if (n < 0)
			continue;
		in_len += (size_t)n;
		double arrival = now_us();
		size_t off = 0;
		for (;;) {
			int error = 0;
			long r = reply_length(in + off, in_len - off, &error);
			if (r < 0) {
				fprintf(stderr, "redis_load: bad reply\n");
				return 1;
			}
			if (r == 0)
				break;
			if (replied >= sent) {
				fprintf(stderr,
					"redis_load: unexpected reply\n");
				return 1;
			}
			if (error) {
				errors++;
				fprintf(stderr, "redis_load: error reply: %.*s",
					(int)r, in + off);
			}
			s[replied++].done = arrival;
			off += (size_t)r;
		}
		memmove(in, in + off, in_len - off);
		in_len -= off;
		if (in_len == in_cap) {
			in_cap *= 2;
			in = realloc(in, in_cap);
			if (!in)
				return 1;
		}
	}
	pthread_join(ctl, NULL);
	close(fd);

	double *lat_in = malloc((size_t)replied * sizeof(double) + 1),
	       *lat_out = malloc((size_t)replied * sizeof(double) + 1),
	       *lat_all = malloc((size_t)replied * sizeof(double) + 1);
	long n_in = 0, n_out = 0;
	if (!lat_in || !lat_out || !lat_all)
		return 1;
	for (long i = 0; i < replied; i++) {
		double l = s[i].done - s[i].due;
		lat_all[i] = l;
		if (in_window(&s[i]))
			lat_in[n_in++] = l;
		else
			lat_out[n_out++] = l;
	}
	report("in", lat_in, n_in);
	report("out", lat_out, n_out);
	report("all", lat_all, replied);
	report_stalls(s, replied);
	for (int w = 0; w < windows_done; w++)
		printf("bgsave,%d,%.1f,%.1f,%ld\n", w, windows[w].start / 1e3,
		       windows[w].end / 1e3, windows[w].fork_usec);
	printf("totals,%ld,%ld,%ld,%ld\n", sent, replied, errors, late);
	if (atomic_load(&control_failed) || windows_done != bgsaves) {
		fprintf(stderr, "redis_load: %d of %d BGSAVEs done\n",
			windows_done, bgsaves);
		fail = 1;
	}
	if (replied != sent || errors) {
		fprintf(stderr,
			"redis_load: %ld requests, %ld replies, %ld "
			"errors\n",
			sent, replied, errors);
		fail = 1;
	}
	return fail;
}
