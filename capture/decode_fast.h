/* capture/ internal: dec_frame's two paths, apart, so that tests hold the
 * straight-line one to the general decoder (tests/unit_capture_decode_fast.c). */
#ifndef EK_CAPTURE_DECODE_FAST_H
#define EK_CAPTURE_DECODE_FAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decode.h"

/* Ethernet / IPv4 without options / TCP: true with *o as dec_frame_general
 * fills it for DEC_TCP; false (o undefined) for any other frame.  cut: the
 * bytes of the packet that were not captured. */
bool dec_fast_ether_ipv4_tcp(const uint8_t *frame, size_t caplen, size_t cut, struct dec_tcp *o);
/* dec_frame_frag without the straight-line path: every read through the cursor. */
enum dec_status dec_frame_general(int dlt, const uint8_t *frame, size_t caplen, size_t wirelen, struct dec_tcp *out,
				  struct dec_frag *frag);

#endif
