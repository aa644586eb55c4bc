/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * SIP over WebSocket (RFC 7118): the RFC 6455 frame decoder and the
 * HTTP/1.1 Upgrade handshake that starts it.
 *
 * One WebSocketDir per direction of a connection is fed the in-order bytes
 * of that direction (any chunking: several frames in one call, one frame
 * over many calls). Frames are unmasked, fragmented messages (continuation
 * frames) joined, control frames (ping, pong, close, also inside a
 * fragmented message) counted and skipped; each complete text or binary
 * message goes to the callback as one SIP message (RFC 7118 §5.2: one SIP
 * message per WebSocket message).
 *
 * A direction seen from the handshake is in sync from its first byte. One
 * picked up mid-connection (a capture that starts after the handshake, on a
 * configured ws port) or after a bad frame resynchronises: it looks for the
 * next plausible frame header (no reserved bits, text or binary opcode, the
 * masking its role requires, a minimally encoded length within the message
 * limit) whose first payload bytes, unmasked, are a SIP start line.
 *
 * Nothing is fatal: a bad frame (an unmasked client frame, a masked server
 * frame, reserved bits, an unknown opcode, a fragmented or oversized control
 * frame, a continuation without a start, a new message inside a fragmented
 * one, a 64-bit length with its top bit set) is counted, the message in
 * progress dropped and the direction resynchronised. Bounded: message size,
 * bytes per direction and bytes overall (one WebSockets context shared by
 * all directions), each refusal counted. No I/O, no globals, no clock.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct WebSockets WebSockets;
typedef struct WebSocketDir WebSocketDir;

typedef struct {
        uint32_t max_message;      /* reassembled message (all its frames); 0 = 128 KiB */
        uint64_t max_stream_bytes; /* buffered per direction; 0 = max_message */
        uint64_t max_bytes;        /* buffered over all directions; 0 = 64 MiB */
} WebSocketConfig;

typedef struct {
        uint64_t
            handshakes_requested;     /* HTTP GET with Upgrade: websocket (SIP or no subprotocol) */
        uint64_t handshakes_switched; /* HTTP 101 Switching Protocols to websocket */
        uint64_t handshakes_other;    /* HTTP heads that are not a SIP WebSocket upgrade */
        uint64_t frames;              /* frames decoded whole, control frames included */
        uint64_t messages;            /* complete messages delivered */
        uint64_t text;                /* ... of them text (opcode 1) */
        uint64_t binary;              /* ... of them binary (opcode 2) */
        uint64_t fragmented;          /* ... of them over more than one frame */
        uint64_t continuations;       /* continuation frames (opcode 0) */
        uint64_t empty;               /* complete messages without a byte: not delivered */
        uint64_t pings;
        uint64_t pongs;
        uint64_t closes;
        uint64_t resyncs;          /* times a frame start was searched for */
        uint64_t skipped_bytes;    /* bytes discarded while searching */
        uint64_t bad_frames;       /* all the bad_* below */
        uint64_t bad_unmasked;     /* client frame without a mask (RFC 6455 §5.1) */
        uint64_t bad_masked;       /* server frame with a mask */
        uint64_t bad_rsv;          /* RSV1-3 set without an extension (§5.2) */
        uint64_t bad_opcode;       /* reserved opcode 3-7, 11-15 */
        uint64_t bad_control;      /* control frame fragmented or over 125 bytes (§5.5) */
        uint64_t bad_continuation; /* continuation without a start, or a new message inside one */
        uint64_t bad_length;       /* 64-bit length with the top bit set */
        uint64_t message_too_big;  /* message above max_message: skipped */
        uint64_t stream_cap;       /* message not buffered for the per-direction cap */
        uint64_t global_cap;       /* message not buffered for the overall cap */
        uint64_t nomem;
        /* gauges */
        uint64_t active; /* directions decoded now */
        uint64_t bytes;  /* bytes buffered now */
} WebSocketStats;

typedef enum {
        WEBSOCKET_ROLE_UNKNOWN = 0, /* masked or not: mid-connection, no port to tell */
        WEBSOCKET_ROLE_CLIENT,      /* client to server: every frame masked */
        WEBSOCKET_ROLE_SERVER,      /* server to client: no frame masked */
} WebSocketRole;

/* One complete message; data is valid during the call only. */
typedef void (*WebSocketMessageFn)(const uint8_t *data, size_t len, void *userdata);

WebSockets *websocket_new(const WebSocketConfig *cfg);
WebSockets *websocket_free(WebSockets *w);

/*
 * A new direction. in_sync: its first byte is the first byte of a frame
 * (right after the handshake); otherwise it resynchronises first.
 * NULL when out of memory (counted).
 */
WebSocketDir *websocket_dir_new(WebSockets *w, WebSocketRole role, bool in_sync);
/* Releases what the direction buffers (a message in progress is lost). */
WebSocketDir *websocket_dir_free(WebSockets *w, WebSocketDir *d);

/*
 * The next in-order bytes p[0..n) of the direction (the tcpframer.h seam):
 * consumes them up to the end of at most one complete message and returns
 * the bytes consumed. With a message, *msg / *msg_len point to it (memory of
 * the direction, valid until the next call on it); otherwise *msg is NULL
 * and all of p was taken (what may still start a frame is kept inside).
 * Call again after a message, with n = 0 if need be: kept bytes may hold
 * more messages.
 */
size_t websocket_frame(WebSockets *w, WebSocketDir *d, const uint8_t *p, size_t n,
                       const uint8_t **msg, size_t *msg_len);

/* The same, with every complete message handed to fn. */
void websocket_feed(WebSockets *w, WebSocketDir *d, const uint8_t *data, size_t len,
                    WebSocketMessageFn fn, void *userdata);

/* The bytes still to come lost (a hole in the stream): resynchronise. */
void websocket_desync(WebSockets *w, WebSocketDir *d);

void websocket_get_stats(const WebSockets *w, WebSocketStats *out);

/* The ports where a connection picked up mid-way is taken for WebSocket. */
#define WEBSOCKET_PORTS_MAX 64
typedef struct {
        bool none; /* no port at all (ws_ports empty) */
        uint8_t n; /* ranges; 0 and !none: WEBSOCKET_DEFAULT_PORTS */
        struct {
                uint16_t lo, hi;
        } r[WEBSOCKET_PORTS_MAX];
} WebSocketPorts;

#define WEBSOCKET_DEFAULT_PORTS "80,8080,8088,5066"

/* "80,8080-8090" (blanks around items allowed), "" = none; false when malformed. */
bool websocket_ports_parse(const char *s, WebSocketPorts *out);
bool websocket_ports_has(const WebSocketPorts *p, uint16_t port);

typedef enum {
        WEBSOCKET_HTTP_MORE = 0, /* an HTTP start so far, its head not complete yet */
        WEBSOCKET_HTTP_NOT,      /* not the start of an HTTP/1.1 message, or its head too big */
        WEBSOCKET_HTTP_OTHER,    /* an HTTP head, but not a SIP WebSocket upgrade */
        WEBSOCKET_HTTP_UPGRADE,  /* GET with Upgrade: websocket, subprotocol sip or none */
        WEBSOCKET_HTTP_SWITCHED, /* 101 Switching Protocols, Upgrade: websocket, sip or none */
} WebSocketHttp;

#define WEBSOCKET_HTTP_MAX_HEAD 8192

/*
 * RFC 6455 §4.1/§4.2.2, RFC 7118 §4: classify the HTTP head at the start of
 * data[0..len). *head_len is set to the head's length (through its empty
 * line) for OTHER, UPGRADE and SWITCHED, and is untouched otherwise. The
 * verdict is counted in w when w is not NULL (MORE and NOT are not).
 */
WebSocketHttp websocket_http_parse(WebSockets *w, const uint8_t *data, size_t len,
                                   size_t *head_len);

const char *websocket_http_name(WebSocketHttp v);
