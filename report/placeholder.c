/* placeholder so the library has a source until report/ lands */
int ek_report_placeholder_(void);
int ek_report_placeholder_(void) { return 0; }
