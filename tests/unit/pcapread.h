/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * Reading a capture file in the unit tests, defined once: every frame of a
 * pcap or pcapng file through libpcap, to a callback.
 */
#pragma once

#include <pcap/pcap.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef void (*PcapFrameFn)(int linktype, const uint8_t *data, size_t caplen, void *ud);

/*
 * Calls fn for each frame of path. Returns the number of frames, or -1 when
 * the file cannot be opened or a read fails part-way (err says why; frames
 * read before the failure were handed on). *linktype gets the file's link type.
 */
static inline long pcap_each(const char *path, PcapFrameFn fn, void *ud, int *linktype, char *err,
                             size_t errlen)
{
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        pcap_t *p = pcap_open_offline(path, ebuf);
        struct pcap_pkthdr *h;
        const u_char *d;
        long n = 0;
        int r;

        if (!p) {
                snprintf(err, errlen, "%s", ebuf);
                return -1;
        }
        *linktype = pcap_datalink(p);
        while ((r = pcap_next_ex(p, &h, &d)) == 1) {
                fn(*linktype, d, h->caplen, ud);
                n++;
        }
        if (r != PCAP_ERROR_BREAK) {
                snprintf(err, errlen, "%s", pcap_geterr(p));
                n = -1;
        }
        pcap_close(p);
        return n;
}
