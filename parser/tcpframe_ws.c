/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over WebSocket (RFC 7118) behind parser/tcpframer.h: the switch from
 * Content-Length framing to WebSocket framing, and the framer of
 * TCP_FRAMING_WS (parser/websocket.c does the frames).
 *
 *   SYN seen:     TCP_FRAMING_SIP --(GET ... Upgrade: websocket)--> WS, client role
 *                 TCP_FRAMING_SIP --(HTTP/1.1 101 ... websocket)--> WS, server role
 *   no SYN seen:  on a ws port (TcpStreamConfig.ws_ports) WS from the start,
 *                 resynchronising on the first frame that carries SIP; the
 *                 direction towards the port is the client's
 *
 * Each direction switches on its own HTTP head: the client's after its GET
 * (nothing but frames follows it, RFC 6455 §4.1), the server's after its
 * 101. The HTTP head is looked for where a SIP message would start; bytes
 * that may still become one (no empty line yet) are left to the stream to
 * buffer, within WEBSOCKET_HTTP_MAX_HEAD.
 */
#include "tcpframer.h"

/* Switch to WebSocket framing; false (f unchanged) when out of memory (counted). */
bool tcpframe_ws_start(TcpFramer *f, WebSocketRole role, bool synced)
{
        WebSocketDir *d = f->wsctx ? websocket_dir_new(f->wsctx, role, synced) : NULL;

        if (!d)
                return false;
        tcpframe_ws_release(f);
        f->kind = TCP_FRAMING_WS;
        f->u.ws.dir = d;
        return true;
}

/* Free the decoder; the framer is Content-Length framing, out of sync, after it. */
void tcpframe_ws_release(TcpFramer *f)
{
        if (f->kind != TCP_FRAMING_WS)
                return;
        websocket_dir_free(f->wsctx, f->u.ws.dir);
        f->kind = TCP_FRAMING_SIP;
        f->u.sip = (SipFramer){0};
}

size_t tcpframe_ws(TcpFramer *f, const uint8_t *p, size_t n, TcpFramed *out)
{
        *out = (TcpFramed){0};
        if (!f->u.ws.dir)
                return n;
        return websocket_frame(f->wsctx, f->u.ws.dir, p, n, &out->data, &out->len);
}

void tcpframe_ws_desync(TcpFramer *f)
{
        if (f->u.ws.dir)
                websocket_desync(f->wsctx, f->u.ws.dir);
}

/*
 * TCP_FRAMING_SIP with the HTTP/1.1 Upgrade watched for (RFC 6455 §4, RFC
 * 7118 §4) where a message starts: a GET or a response there is not SIP.
 */
size_t tcpframe_sip_watch(TcpFramer *f, const TcpStreamConfig *cfg, TcpStreamStats *st,
                          const uint8_t *p, size_t n, bool from_buf, TcpFramed *out)
{
        SipFramer *s = &f->u.sip;
        size_t off = 0, head = 0;

        *out = (TcpFramed){0};
        if (!f->wsctx || !s->synced || s->skip || s->need || s->scanned)
                return tcpframe_sip(s, cfg, st, p, n, from_buf, out);
        while (off < n && (p[off] == '\r' || p[off] == '\n'))
                off++;
        if (off == n || (p[off] != 'G' && p[off] != 'H'))
                return tcpframe_sip(s, cfg, st, p, n, from_buf, out);
        switch (websocket_http_parse(f->wsctx, p + off, n - off, &head)) {
        case WEBSOCKET_HTTP_MORE:
                return off; /* the stream keeps the rest and comes back with more */
        case WEBSOCKET_HTTP_NOT:
                break;
        case WEBSOCKET_HTTP_OTHER:
                /* Not a SIP WebSocket: what follows is framed as SIP (or skipped). */
                off += head;
                return off + tcpframe_sip(s, cfg, st, p + off, n - off, false, out);
        case WEBSOCKET_HTTP_UPGRADE:
        case WEBSOCKET_HTTP_SWITCHED: {
                WebSocketRole role = p[off] == 'G' ? WEBSOCKET_ROLE_CLIENT : WEBSOCKET_ROLE_SERVER;

                off += head;
                if (!tcpframe_ws_start(f, role, true)) {
                        st->nomem++;
                        return off + tcpframe_sip(s, cfg, st, p + off, n - off, false, out);
                }
                return off + tcpframe_ws(f, p + off, n - off, out);
        }
        }
        return tcpframe_sip(s, cfg, st, p, n, from_buf, out);
}

/*
 * A direction picked up mid-way (no SYN seen): on a ws port it is taken for
 * WebSocket and resynchronises on the first frame that carries SIP. The
 * direction towards the port is the client's (masked frames), the one from
 * it the server's; between two ws ports either.
 */
void tcpframe_ws_pickup(TcpFramer *f, const TcpStreamConfig *cfg, const Endpoint *src,
                        const Endpoint *dst)
{
        bool to_ws = websocket_ports_has(&cfg->ws_ports, dst->port);
        bool from_ws = websocket_ports_has(&cfg->ws_ports, src->port);

        if (!to_ws && !from_ws)
                return;
        (void)tcpframe_ws_start(f,
                                to_ws && from_ws ? WEBSOCKET_ROLE_UNKNOWN
                                : to_ws          ? WEBSOCKET_ROLE_CLIENT
                                                 : WEBSOCKET_ROLE_SERVER,
                                false);
}
