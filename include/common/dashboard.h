#ifndef MPSOCKS_DASHBOARD_H
#define MPSOCKS_DASHBOARD_H

/* The dashboard page, web/dashboard.html compiled in by make (a
 * generated C string): no CDN, no files to install, no build step at
 * run time. */

extern const char	dashboard_html[];

#endif
