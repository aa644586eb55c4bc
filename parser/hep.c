/* SPDX-License-Identifier: GPL-3.0-or-later */
/* HEP v2/v3 decoding: being written (issue 5); until then nothing is HEP. */
#include "hep.h"

bool hep_looks_like(const uint8_t *data, size_t len)
{
        (void)data;
        (void)len;
        return false;
}

HepVerdict hep_decode(const uint8_t *data, size_t len, HepPacket *out)
{
        (void)data;
        (void)len;
        (void)out;
        return HEP_E_NOT_HEP;
}

const char *hep_verdict_name(HepVerdict v)
{
        static const char *const names[HEP__MAX] = {"ok", "not_hep", "truncated", "malformed",
                                                    "not_sip"};
        return (unsigned)v < HEP__MAX ? names[v] : "unknown";
}
