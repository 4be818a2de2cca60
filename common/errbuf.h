/* The one error convention: a function that can fail says why in a
 * caller's buffer of EK_ERRBUF_SIZE bytes, one line, no "ekuscope:"
 * prefix (the caller adds it where it prints). */
#ifndef EK_ERRBUF_H
#define EK_ERRBUF_H

#define EK_ERRBUF_SIZE 512

#endif
