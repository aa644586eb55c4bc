/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * libpcap wrapper. Live captures run non-blocking and wait in poll() on the
 * pcap descriptor plus an eventfd, so that the caller regains control at
 * least every timeout_ms (duration limit, signals) and capture_break() wakes
 * a waiting capture immediately, even from another thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "capture.h"
#include "capture_file.h"
#include "error.h"
#include "escape.h"
#include "../parser/decode.h"

/* stdio buffer for a capture file (-r). */
#define CAPTURE_FILE_BUFFER (1u << 20)

#define LINKTYPES_HINT                                                                             \
        " (supported: Ethernet with 802.1Q/QinQ, Linux SLL and SLL2, raw IP, BSD loopback)"

struct Capture {
        pcap_t *pcap;
        bool live;
        int linktype;
        int fd;             /* pcap's selectable descriptor, live only */
        int break_fd;       /* eventfd written by capture_break() */
        atomic_bool broken; /* lock-free: safe in a signal handler and across threads */
        char *source;
        char *filter;
        CaptureFile *file; /* -r: the stream's state, owned by pcap's FILE */
        char *iobuf;       /* -r: stdio's buffer of that FILE (freed after it) */
        char warning[PCAP_ERRBUF_SIZE + 128];
        char error[PCAP_ERRBUF_SIZE + 512];
};

const char *capture_linktype_describe(int linktype, char *buf, size_t n)
{
        const char *name = pcap_datalink_val_to_name(linktype);
        const char *desc = pcap_datalink_val_to_description(linktype);

        if (!buf || n == 0)
                return buf;
        if (name && desc)
                snprintf(buf, n, "%d (%s, %s)", linktype, name, desc);
        else if (name)
                snprintf(buf, n, "%d (%s)", linktype, name);
        else
                snprintf(buf, n, "%d", linktype);
        return buf;
}

static Capture *capture_alloc(const char *source, const char *filter, char *err, size_t n)
{
        Capture *c = calloc(1, sizeof(*c));

        if (!c)
                goto oom;
        c->fd = -1;
        c->break_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
        if (c->break_fd < 0) {
                error_set(err, n, -errno, "eventfd: %s", strerror(errno));
                free(c);
                return NULL;
        }
        c->source = strdup(source);
        if (!c->source)
                goto oom;
        if (filter && *filter) {
                c->filter = strdup(filter);
                if (!c->filter)
                        goto oom;
        }
        return c;
oom:
        error_set(err, n, -ENOMEM, "out of memory");
        capture_close(c);
        return NULL;
}

Capture *capture_close(Capture *c)
{
        if (!c)
                return NULL;
        if (c->pcap)
                pcap_close(c->pcap); /* also closes a FILE given to pcap_fopen_offline() */
        free(c->iobuf);              /* after the FILE that used it */
        if (c->break_fd >= 0)
                close(c->break_fd);
        free(c->source);
        free(c->filter);
        free(c);
        return NULL;
}

/* The VLAN keyword exists only for link types that carry the tags in-line. */
static bool linktype_has_vlan(int linktype)
{
        return linktype == DLT_EN10MB;
}

/* Linux cooked captures ("any"): the protocol field is all there is. */
static bool linktype_is_cooked(int linktype)
{
        return linktype == DLT_LINUX_SLL || linktype == DLT_LINUX_SLL2;
}

/*
 * A VLAN tag shifts every later header by 4 bytes, and libpcap's "vlan"
 * keyword moves the offsets for the rest of the expression. The untagged
 * form therefore comes first, then one tag (802.1Q), then a second one:
 * the second "vlan" is compiled after the first and so tests the inner tag
 * (QinQ, 802.1ad). On Linux live captures the outer tag usually arrives out
 * of band (stripped by the kernel); libpcap's "vlan" handles that case, and
 * the untagged form matches such frames as well.
 *
 * Cooked captures (SLL, SLL2: the "any" device) have no "vlan" keyword, and
 * the kernel strips only the outer tag: a frame that still has a tag (QinQ)
 * shows the TPID as its protocol. Those are all kept and left to the decoder,
 * which counts what is not SIP.
 */
int capture_compile_filter(struct pcap *p, const char *filter, bool is_default,
                           struct bpf_program *prog, char *err, size_t n)
{
        char e[256];

        if (is_default &&
            (linktype_has_vlan(pcap_datalink(p)) || linktype_is_cooked(pcap_datalink(p)))) {
                size_t len = 3 * strlen(filter) + 64;
                char *expr = malloc(len);
                int r;

                if (!expr)
                        return error_set(err, n, -ENOMEM, "out of memory");
                if (linktype_has_vlan(pcap_datalink(p)))
                        snprintf(expr, len, "(%s) or (vlan and (%s)) or (vlan and (%s))", filter,
                                 filter, filter);
                else
                        snprintf(expr, len, "(%s) or ether proto 0x8100 or ether proto 0x88a8",
                                 filter);
                r = pcap_compile(p, prog, expr, 1, PCAP_NETMASK_UNKNOWN);
                free(expr);
                if (r == 0)
                        return 0;
                /* Fall back to the untagged form below. */
        }
        if (pcap_compile(p, prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
                escape_text(filter, e, sizeof(e));
                return error_set(err, n, -EINVAL, "invalid filter '%s': %s", e, pcap_geterr(p));
        }
        return 0;
}

static int apply_filter(Capture *c, const char *filter, bool is_default, char *err, size_t n)
{
        struct bpf_program prog;
        int r;

        r = capture_compile_filter(c->pcap, filter, is_default, &prog, err, n);
        if (r < 0)
                return r;
        r = pcap_setfilter(c->pcap, &prog);
        pcap_freecode(&prog);
        if (r < 0)
                return error_set(err, n, -EINVAL, "cannot set filter: %s", pcap_geterr(c->pcap));
        return 0;
}

int capture_open_file(Capture **out, const char *path, const char *filter, char *err, size_t n)
{
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        char name[256], lt[128];
        bool is_stdin = strcmp(path, "-") == 0;
        _cleanup_(capture_closep) Capture *c = NULL;
        FILE *f;
        int r;

        escape_text(is_stdin ? "stdin" : path, name, sizeof(name));
        c = capture_alloc(path, filter, err, n);
        if (!c)
                return -ENOMEM;

        /* Our own stream: O_CLOEXEC, the format told by its magic, gzip and zstd read. */
        r = capture_file_open(&f, path, name, &c->file, err, n);
        if (r < 0)
                return r;
        /* stdio's default buffer is one page (8 KiB for this stream): a
         * read() per few packets. A larger one cuts the system calls of a
         * big file ~128-fold, and the file is then read straight into it
         * (capture_file.c). It must be our own: glibc's setvbuf() ignores
         * the size when given no buffer. Without memory, the default. */
        c->iobuf = malloc(CAPTURE_FILE_BUFFER);
        if (c->iobuf)
                (void)setvbuf(f, c->iobuf, _IOFBF, CAPTURE_FILE_BUFFER);
        c->pcap = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
        if (!c->pcap) {
                /* The decompressor's word first: better than stdio's EIO. */
                if (capture_file_error(c->file)[0])
                        error_set(err, n, -EINVAL, "%s", capture_file_error(c->file));
                else
                        error_set(err, n, -EINVAL, "%s: %s", name,
                                  ebuf[0] ? ebuf : "cannot read capture file");
                c->file = NULL;
                fclose(f); /* frees the stream's state; stdin's descriptor stays open */
                return -EINVAL;
        }
        c->linktype = pcap_datalink(c->pcap);
        if (!decode_linktype_supported(c->linktype))
                return error_set(err, n, -EPROTONOSUPPORT, "%s: unsupported link type %s%s", name,
                                 capture_linktype_describe(c->linktype, lt, sizeof(lt)),
                                 LINKTYPES_HINT);
        if (c->filter) {
                r = apply_filter(c, c->filter, false, err, n);
                if (r < 0)
                        return r;
        }
        *out = TAKE_PTR(c);
        return 0;
}

/* Pick a link type the decoder knows when the interface offers several. */
static int choose_linktype(Capture *c)
{
        int *list = NULL, k;

        c->linktype = pcap_datalink(c->pcap);
        if (decode_linktype_supported(c->linktype))
                return 0;
        k = pcap_list_datalinks(c->pcap, &list);
        for (int i = 0; i < k; i++) {
                if (decode_linktype_supported(list[i]) &&
                    pcap_set_datalink(c->pcap, list[i]) == 0) {
                        c->linktype = list[i];
                        pcap_free_datalinks(list);
                        return 0;
                }
        }
        if (k >= 0)
                pcap_free_datalinks(list);
        return -EPROTONOSUPPORT;
}

static bool parse_port(const char **p, unsigned *out)
{
        unsigned v = 0;
        const char *s = *p;

        if (*s < '0' || *s > '9')
                return false;
        while (*s >= '0' && *s <= '9') {
                v = v * 10 + (unsigned)(*s - '0');
                if (v > 65535)
                        return false;
                s++;
        }
        if (v == 0)
                return false;
        *p = s;
        *out = v;
        return true;
}

/* "5060,5080,5100-5110" -> "port 5060 or port 5080 or portrange 5100-5110" at buf + *k. */
static int port_clause(const char *ports, char *buf, size_t n, size_t *k)
{
        const char *p = ports;
        int w;

        for (bool first = true;; first = false) {
                unsigned lo, hi;

                if (!parse_port(&p, &lo))
                        return -EINVAL;
                hi = lo;
                if (*p == '-') {
                        p++;
                        if (!parse_port(&p, &hi) || hi < lo)
                                return -EINVAL;
                }
                if (hi == lo)
                        w = snprintf(buf + *k, n - *k, "%sport %u", first ? "" : " or ", lo);
                else
                        w = snprintf(buf + *k, n - *k, "%sportrange %u-%u", first ? "" : " or ", lo,
                                     hi);
                if (w < 0 || (size_t)w >= n - *k)
                        return -ENOBUFS;
                *k += (size_t)w;
                if (*p == '\0')
                        return 0;
                if (*p++ != ',')
                        return -EINVAL;
        }
}

/*
 * "5060,5100-5110" and "8088" -> "((udp or tcp) and (port 5060 or portrange
 * 5100-5110)) or (tcp and (port 8088))" + the fragment clauses of
 * CAPTURE_DEFAULT_FILTER. NULL for either: the default's ports.
 */
int capture_default_filter(const char *sip_ports, const char *ws_ports, char *buf, size_t n)
{
        size_t k = 0;
        int w, r;

        w = snprintf(buf, n, "((udp or tcp) and (");
        if (w < 0 || (size_t)w >= n)
                return -ENOBUFS;
        k = (size_t)w;
        r = port_clause(sip_ports ? sip_ports : "5060,5080,5061", buf, n, &k);
        if (r < 0)
                return r;
        if (!ws_ports || *ws_ports) {
                w = snprintf(buf + k, n - k, ")) or (tcp and (");
                if (w < 0 || (size_t)w >= n - k)
                        return -ENOBUFS;
                k += (size_t)w;
                r = port_clause(ws_ports ? ws_ports : "80,8080,8088,5066", buf, n, &k);
                if (r < 0)
                        return r;
        }
        w = snprintf(buf + k, n - k, "))%s", CAPTURE_FRAGMENT_CLAUSES);
        if (w < 0 || (size_t)w >= n - k)
                return -ENOBUFS;
        return 0;
}

static int open_live(Capture **out, const char *iface, const char *filter, bool is_default,
                     char *err, size_t n);

int capture_open_live(Capture **out, const char *iface, const char *filter, char *err, size_t n)
{
        return open_live(out, iface, filter ? filter : CAPTURE_DEFAULT_FILTER, filter == NULL, err,
                         n);
}

int capture_open_live_ports(Capture **out, const char *iface, const char *sip_ports,
                            const char *ws_ports, char *err, size_t n)
{
        char filter[CAPTURE_FILTER_MAX], e[128], e2[128];
        int r;

        r = capture_default_filter(sip_ports, ws_ports, filter, sizeof(filter));
        if (r < 0) {
                escape_text(sip_ports ? sip_ports : "", e, sizeof(e));
                escape_text(ws_ports ? ws_ports : "", e2, sizeof(e2));
                return error_set(err, n, r,
                                 "invalid SIP port list '%s' or WebSocket port list '%s'", e, e2);
        }
        return open_live(out, iface, filter, true, err, n);
}

/* pcap_activate(): a failure into err, a warning into c->warning. */
static int activate(Capture *c, const char *name, char *err, size_t n)
{
        const char *detail;
        int r = pcap_activate(c->pcap);

        if (r == 0)
                return 0;
        detail = pcap_geterr(c->pcap);
        if (r < 0) {
                const char *hint =
                    r == PCAP_ERROR_PERM_DENIED ? " (needs root or CAP_NET_RAW)" : "";
                int e = r == PCAP_ERROR_PERM_DENIED      ? -EPERM
                        : r == PCAP_ERROR_NO_SUCH_DEVICE ? -ENODEV
                                                         : -EIO;

                if (r == PCAP_ERROR_NO_SUCH_DEVICE)
                        return error_set(err, n, e,
                                         "%s: no such network interface ('ip link' lists them; "
                                         "-i any captures on all)",
                                         name);
                if (r == PCAP_ERROR && detail && *detail)
                        return error_set(err, n, e, "%s: %s%s", name, detail, hint);
                if (detail && *detail)
                        return error_set(err, n, e, "%s: %s: %s%s", name, pcap_statustostr(r),
                                         detail, hint);
                return error_set(err, n, e, "%s: %s%s", name, pcap_statustostr(r), hint);
        }
        if (r == PCAP_WARNING && detail && *detail)
                snprintf(c->warning, sizeof(c->warning), "%s: %s", name, detail);
        else
                snprintf(c->warning, sizeof(c->warning), "%s: %s", name, pcap_statustostr(r));
        return 0;
}

static int open_live(Capture **out, const char *iface, const char *filter, bool is_default,
                     char *err, size_t n)
{
        _cleanup_(capture_closep) Capture *c = NULL;
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        char name[128], lt[128];
        bool any = strcmp(iface, "any") == 0;
        int r;

        escape_text(iface, name, sizeof(name));
        c = capture_alloc(iface, filter, err, n);
        if (!c)
                return -ENOMEM;
        c->live = true;

        c->pcap = pcap_create(iface, ebuf);
        if (!c->pcap)
                return error_set(err, n, -ENODEV, "%s: %s", name,
                                 ebuf[0] ? ebuf : "cannot open interface");
        /* SIP over UDP can be up to 64 KiB; the kernel buffer absorbs bursts.
         * Not immediate mode: libpcap then uses TPACKET_V3, packets packed
         * into blocks, handed over when full or after CAPTURE_BLOCK_MS
         * (capture.h). */
        pcap_set_snaplen(c->pcap, CAPTURE_SNAPLEN);
        pcap_set_immediate_mode(c->pcap, 0);
        pcap_set_buffer_size(c->pcap, CAPTURE_BUFFER_SIZE);
        pcap_set_timeout(c->pcap, CAPTURE_BLOCK_MS);
        pcap_set_tstamp_precision(c->pcap, PCAP_TSTAMP_PRECISION_MICRO);
        /* A mirror port delivers frames addressed to others: promiscuous mode
         * is needed there; the "any" pseudo-device cannot do it. */
        if (!any)
                pcap_set_promisc(c->pcap, 1);

        r = activate(c, name, err, n);
        if (r < 0)
                return r;
        if (choose_linktype(c) < 0)
                return error_set(err, n, -EPROTONOSUPPORT, "%s: unsupported link type %s%s", name,
                                 capture_linktype_describe(c->linktype, lt, sizeof(lt)),
                                 LINKTYPES_HINT);
        if (c->filter) {
                r = apply_filter(c, c->filter, is_default, err, n);
                if (r < 0)
                        return r;
        }
        if (pcap_setnonblock(c->pcap, 1, ebuf) < 0)
                return error_set(err, n, -EIO, "%s: %s", name, ebuf);
        c->fd = pcap_get_selectable_fd(c->pcap);
        if (c->fd < 0)
                return error_set(err, n, -EIO, "%s: no selectable descriptor", name);
        (void)fcntl(c->fd, F_SETFD, FD_CLOEXEC);
        *out = TAKE_PTR(c);
        return 0;
}

int capture_next(Capture *c, CapturePacket *pkt, int timeout_ms)
{
        struct pcap_pkthdr *hdr;
        const u_char *data;
        bool waited = false, sock_error = false;
        char name[256];
        int r;

        for (;;) {
                if (atomic_load(&c->broken))
                        return CAPTURE_END;
                r = pcap_next_ex(c->pcap, &hdr, &data);
                if (r == 1) {
                        *pkt = (CapturePacket){
                            .ts_us = (int64_t)hdr->ts.tv_sec * 1000000 + hdr->ts.tv_usec,
                            .data = data,
                            .caplen = hdr->caplen,
                            .len = hdr->len,
                        };
                        return CAPTURE_PACKET;
                }
                if (r == PCAP_ERROR_BREAK)
                        return CAPTURE_END;
                if (r < 0) {
                        if (c->file && capture_file_error(c->file)[0])
                                return error_set(c->error, sizeof(c->error), -EIO, "%s",
                                                 capture_file_error(c->file));
                        escape_text(strcmp(c->source, "-") == 0 ? "stdin" : c->source, name,
                                    sizeof(name));
                        return error_set(c->error, sizeof(c->error), -EIO, "%s: %s", name,
                                         pcap_geterr(c->pcap));
                }
                /* r == 0: nothing buffered right now (live only). */
                if (sock_error) {
                        /* libpcap keeps quiet about ENETDOWN while the device exists. */
                        escape_text(c->source, name, sizeof(name));
                        return error_set(
                            c->error, sizeof(c->error), -EIO,
                            "%s: the interface went down (error on the capture socket)", name);
                }
                if (!c->live || waited)
                        return CAPTURE_AGAIN;

                struct pollfd pfd[2] = {
                    {.fd = c->fd, .events = POLLIN},
                    {.fd = c->break_fd, .events = POLLIN},
                };
                r = poll(pfd, 2, timeout_ms);
                if (r < 0) {
                        if (errno == EINTR)
                                return CAPTURE_AGAIN; /* a signal: let the caller look */
                        return error_set(c->error, sizeof(c->error), -errno, "poll: %s",
                                         strerror(errno));
                }
                if (r == 0)
                        return CAPTURE_AGAIN;
                if (pfd[1].revents)
                        return CAPTURE_END;
                /* An error on the socket (the interface went down or was
                 * deleted): libpcap reads it and says which on the next call. */
                sock_error = (pfd[0].revents & (POLLERR | POLLNVAL)) != 0;
                waited = true;
        }
}

void capture_break(Capture *c)
{
        uint64_t one = 1;
        ssize_t w;

        /* Only async-signal-safe and thread-safe steps. */
        atomic_store(&c->broken, true);
        pcap_breakloop(c->pcap);
        w = write(c->break_fd, &one, sizeof(one));
        (void)w;
}

int capture_get_stats(Capture *c, CaptureStats *out)
{
        struct pcap_stat ps;

        if (!c->live)
                return -EOPNOTSUPP;
        if (pcap_stats(c->pcap, &ps) < 0)
                return error_set(c->error, sizeof(c->error), -EIO, "pcap_stats: %s",
                                 pcap_geterr(c->pcap));
        *out = (CaptureStats){
            .received = ps.ps_recv,
            .kernel_drops = ps.ps_drop,
            .if_drops = ps.ps_ifdrop,
        };
        return 0;
}

int capture_linktype(const Capture *c)
{
        return c->linktype;
}

bool capture_is_live(const Capture *c)
{
        return c->live;
}

const char *capture_filter(const Capture *c)
{
        return c->filter;
}

const char *capture_warning(const Capture *c)
{
        return c->warning[0] ? c->warning : NULL;
}

uint64_t capture_bytes_read(const Capture *c)
{
        return capture_file_consumed(c->file);
}

uint64_t capture_bytes_total(const Capture *c)
{
        return capture_file_size(c->file);
}

const char *capture_error(const Capture *c)
{
        return c->error;
}
