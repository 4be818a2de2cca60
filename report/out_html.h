/* --html FILE: one self-contained case report (inline CSS, SVG and a
 * little inline JS under a Content-Security-Policy that allows nothing
 * else): summary, findings by severity with explanation and remedy, SVG
 * ladders of failed handshakes, the endpoint inventory with badges, and a
 * sortable, filterable connection table.  Capture content is escaped
 * everywhere (html_buf.h). */
#ifndef EK_OUT_HTML_H
#define EK_OUT_HTML_H

#include <stdio.h>

#include "totals.h"
#include "conn_table.h"
#include "findings.h"
#include "inventory.h"

#define HTML_MAX_LADDERS 200       /* ladders drawn, largest groups first */
#define HTML_MAX_GROUPS 20000      /* distinct failed handshakes tracked */
#define HTML_MAX_CONN_ROWS 5000    /* rows of the connection table */
#define HTML_MAX_MESSAGES 100      /* distinct messages listed per finding code */

struct html_report;

struct html_report *html_report_new(void);
void html_report_free(struct html_report *h);
void html_report_conn(struct html_report *h, const struct conn_info *ci);
void html_report_finding(struct html_report *h, const struct finding_rec *f);
/* The whole page to fp; -1 when it could not be built. */
int html_report_write(struct html_report *h, FILE *fp, const struct analysis_totals *t, const struct inventory *inv);

#endif
