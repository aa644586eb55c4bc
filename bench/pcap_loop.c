/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The physical limit of offline analysis: a plain libpcap read loop over a
 * capture file, with nothing else. It opens the file with microsecond
 * timestamps, calls pcap_next_ex() for every packet and touches the first
 * and the last captured byte, so that each packet's data is really brought
 * into the cache as the analyser would have to.
 *
 *   pcap_loop FILE              stdio's default buffer, as pcap_open_offline()
 *                               has it: the plain loop, issue 18's basis
 *   pcap_loop --buffer N FILE   a buffer of N bytes of our own, as
 *                               sipauthmon -r has (1 MiB): the tuned loop
 *
 * (Until issue 18 this program called setvbuf(f, NULL, _IOFBF, 1 MiB) and
 * said it read through a 1 MiB buffer; glibc ignores the size when it is
 * given no buffer, so it read 4 KiB at a time: the plain loop.)
 *
 * prints one line: "packets N bytes B seconds S pps P" (the loop alone,
 * CLOCK_MONOTONIC; bench/run.sh times the whole process itself too).
 * Exit status 0, or 2 with a message on stderr.
 */
#include <errno.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
        char ebuf[PCAP_ERRBUF_SIZE] = "";
        struct pcap_pkthdr *hdr;
        const unsigned char *data;
        uint64_t packets = 0, bytes = 0;
        unsigned touch = 0;
        double t0, dt;
        pcap_t *p;
        FILE *f;
        int r;
        size_t bufsize = 0;
        char *iobuf = NULL;

        if (argc == 4 && strcmp(argv[1], "--buffer") == 0) {
                bufsize = strtoul(argv[2], NULL, 10);
                argv += 2;
                argc -= 2;
        }
        if (argc != 2 || (bufsize && !(iobuf = malloc(bufsize)))) {
                fprintf(stderr, "usage: pcap_loop [--buffer BYTES] FILE\n");
                return 2;
        }
        f = fopen(argv[1], "rbe");
        if (!f) {
                fprintf(stderr, "pcap_loop: %s: %s\n", argv[1], strerror(errno));
                return 2;
        }
        if (iobuf)
                (void)setvbuf(f, iobuf, _IOFBF, bufsize);
        p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_MICRO, ebuf);
        if (!p) {
                fclose(f);
                fprintf(stderr, "pcap_loop: %s: %s\n", argv[1], ebuf);
                return 2;
        }
        t0 = now_s();
        while ((r = pcap_next_ex(p, &hdr, &data)) == 1) {
                packets++;
                bytes += hdr->caplen;
                if (hdr->caplen > 0)
                        touch += data[0] ^ data[hdr->caplen - 1];
        }
        dt = now_s() - t0;
        if (r == PCAP_ERROR) {
                fprintf(stderr, "pcap_loop: %s: %s\n", argv[1], pcap_geterr(p));
                pcap_close(p);
                return 2;
        }
        pcap_close(p);
        free(iobuf); /* after the FILE that used it */
        /* The touched bytes feed the output, so the compiler cannot drop the reads. */
        printf("packets %" PRIu64 " bytes %" PRIu64 " seconds %.6f pps %.0f touch %u\n", packets,
               bytes, dt, dt > 0 ? (double)packets / dt : 0.0, touch & 0xffu);
        return 0;
}
