/* SPDX-License-Identifier: GPL-3.0-or-later */
/*
 * The ladder a text record draws of its failing exchange (sipauthmon(8)
 * OUTPUT): the client and the server as two columns, one arrow per message
 * of the latest refused attempt with its time relative to the first, what
 * the challenge asked and what the retry answered, and the field that is
 * wrong marked "!!". Plain ASCII whatever the locale, under 100 columns.
 * Never a response or a cnonce: the Diagnosis carries neither.
 */
#pragma once

#include <stdbool.h>

#include "sink_internal.h"

/* Appends the ladder of d's exchange to the record; nothing when d has none
 * (DiagExchange.valid: an account scan, a compromise, resolved, rate-limited). */
void ladder_format(Sink *s, const Diagnosis *d, bool color);
