/* pcapng block walker for Decryption Secrets Blocks (pcapng spec, section
 * "Decryption Secrets Block"):
 *
 *   block type 0x0000000A | block total length | secrets type | secrets
 *   length | secrets data, padded to 32 bits | options | block total length
 *
 * Every section starts with a Section Header Block (0x0A0D0D0A) whose
 * byte-order magic 0x1A2B3C4D gives the byte order of that section.  Block
 * headers are read into small buffers and parsed through the cursor. */
#include "pcapng_secrets.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/cursor.h"

#define BT_SHB 0x0A0D0D0Au
#define BT_DSB 0x0000000Au
#define BT_PB 0x00000002u  /* obsolete Packet Block */
#define BT_SPB 0x00000003u
#define BT_EPB 0x00000006u
#define SECRETS_TLSK 0x544c534bu
#define MAX_TEXT (64u * 1024u * 1024u)
#define MAX_BLOCK (256u * 1024u * 1024u)

static uint32_t get32(struct cur *c, bool le)
{
	return le ? cur_u32le(c) : cur_u32(c);
}

int cap_pcapng_tls_secrets(const char *path, char **text, size_t *len)
{
	*text = NULL;
	*len = 0;
	if (!path || strcmp(path, "-") == 0) return 0;
	/* a regular file only: reading a pipe or a device would take bytes
	 * away from the capture reader */
	struct stat sb;
	if (stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0;
	FILE *fp = fopen(path, "rb");
	if (!fp) return 0;
	char *out = NULL;
	size_t out_len = 0;
	int blocks = 0;
	bool le = true, in_section = false;
	uint8_t hdr[12];
	for (;;) {
		if (fread(hdr, 1, 8, fp) != 8) break;
		struct cur h = cur_make(hdr, 8);
		uint32_t type_be = cur_u32(&h);
		if (type_be == BT_SHB) {
			/* the byte-order magic follows the length */
			if (fread(hdr + 8, 1, 4, fp) != 4) break;
			struct cur m = cur_make(hdr, 12);
			cur_skip(&m, 8);
			uint32_t magic = cur_u32(&m);
			if (magic == 0x1A2B3C4Du) le = false;
			else if (magic == 0x4D3C2B1Au) le = true;
			else break;
			in_section = true;
			struct cur l = cur_make(hdr, 8);
			cur_skip(&l, 4);
			uint32_t blen = get32(&l, le);
			if (blen < 28 || blen % 4 || blen > MAX_BLOCK || fseek(fp, (long)blen - 12, SEEK_CUR) != 0) break;
			continue;
		}
		if (!in_section) break; /* not pcapng (or not at a block) */
		struct cur b = cur_make(hdr, 8);
		uint32_t type = get32(&b, le);
		uint32_t blen = get32(&b, le);
		if (blen < 12 || blen % 4 || blen > MAX_BLOCK) break;
		if (type == BT_EPB || type == BT_SPB || type == BT_PB) break; /* the packets start */
		if (type != BT_DSB) {
			if (fseek(fp, (long)blen - 8, SEEK_CUR) != 0) break;
			continue;
		}
		size_t body_len = blen - 12u; /* without the type, the length and the trailing length */
		uint8_t *body = malloc(body_len ? body_len : 1);
		if (!body) break;
		uint8_t trail[4];
		if (fread(body, 1, body_len, fp) != body_len || fread(trail, 1, 4, fp) != 4) {
			free(body);
			break;
		}
		struct cur t = cur_make(trail, 4);
		struct cur d = cur_make(body, body_len);
		uint32_t stype = get32(&d, le);
		uint32_t slen = get32(&d, le);
		const uint8_t *secrets = cur_ok(&d) ? cur_bytes(&d, slen) : NULL;
		bool ok = secrets && get32(&t, le) == blen;
		if (ok && stype == SECRETS_TLSK && slen && out_len + slen + 1 <= MAX_TEXT) {
			char *n = realloc(out, out_len + slen + 1);
			if (n) {
				out = n;
				memcpy(out + out_len, secrets, slen);
				out_len += slen;
				out[out_len++] = '\n';
				blocks++;
			}
		}
		free(body);
		if (!ok) break;
	}
	fclose(fp);
	*text = out;
	*len = out_len;
	return blocks;
}
