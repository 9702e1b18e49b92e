/* LD_PRELOAD shim that lets OpenDKIM's opendkim-testmsg verify without DNS.
 *
 * opendkim-testmsg has no option for a local key: in verify mode libopendkim
 * always asks the resolver (res_nquery) for SELECTOR._domainkey.DOMAIN TXT.
 * Preloaded, this file's res_nquery answers those queries from a key table
 * instead, so the tests stay off the network:
 *
 *   SEALMAIL_DKIM_KEYTABLE=/path/keytable  (lines: "NAME TXT-VALUE")
 *
 * A name that is not in the table gets NXDOMAIN. Only TXT/IN queries are
 * answered; anything else fails as "no data". Test-only code.
 */
#define _GNU_SOURCE
#include <arpa/nameser.h>
#include <netdb.h>
#include <resolv.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int same_name(const char* a, const char* b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 0 && a[la - 1] == '.') --la;
  if (lb > 0 && b[lb - 1] == '.') --lb;
  return la == lb && strncasecmp(a, b, la) == 0;
}

/* Finds name in the table; copies its value into out. */
static int lookup(const char* name, char* out, size_t outlen) {
  const char* path = getenv("SEALMAIL_DKIM_KEYTABLE");
  if (path == NULL) return 0;
  FILE* f = fopen(path, "r");
  if (f == NULL) return 0;
  char line[8192];
  int found = 0;
  while (!found && fgets(line, sizeof line, f) != NULL) {
    line[strcspn(line, "\r\n")] = '\0';
    char* sp = strpbrk(line, " \t");
    if (sp == NULL) continue;
    *sp = '\0';
    char* value = sp + 1;
    while (*value == ' ' || *value == '\t') ++value;
    if (same_name(line, name) && strlen(value) < outlen) {
      strcpy(out, value);
      found = 1;
    }
  }
  fclose(f);
  return found;
}

static int put16(unsigned char* p, int v) {
  p[0] = (unsigned char)(v >> 8);
  p[1] = (unsigned char)v;
  return 2;
}

int res_nquery(res_state statp, const char* dname, int class, int type, unsigned char* answer,
               int anslen) {
  char value[8192];
  unsigned char buf[16384];
  size_t n = 0;
  int found = class == ns_c_in && type == ns_t_txt && lookup(dname, value, sizeof value);

  /* Header: id 0, QR AA RD RA, NOERROR or NXDOMAIN, one question. */
  n += put16(buf + n, 0);
  n += put16(buf + n, 0x8580 | (found ? 0 : 3));
  n += put16(buf + n, 1);
  n += put16(buf + n, found ? 1 : 0);
  n += put16(buf + n, 0);
  n += put16(buf + n, 0);
  /* Question. */
  const char* p = dname;
  while (*p != '\0') {
    const char* dot = strchr(p, '.');
    size_t len = dot ? (size_t)(dot - p) : strlen(p);
    if (len == 0 || len > 63 || n + len + 2 > 512) return -1;
    buf[n++] = (unsigned char)len;
    memcpy(buf + n, p, len);
    n += len;
    p += len + (dot ? 1 : 0);
  }
  buf[n++] = 0;
  n += put16(buf + n, type);
  n += put16(buf + n, class);
  if (found) {
    size_t vlen = strlen(value);
    size_t rdlen = vlen + (vlen + 254) / 255;
    if (vlen == 0) rdlen = 1;
    n += put16(buf + n, 0xC00C); /* pointer to the question's name */
    n += put16(buf + n, ns_t_txt);
    n += put16(buf + n, ns_c_in);
    n += put16(buf + n, 0);
    n += put16(buf + n, 300);
    n += put16(buf + n, (int)rdlen);
    size_t off = 0;
    do {
      size_t chunk = vlen - off > 255 ? 255 : vlen - off;
      buf[n++] = (unsigned char)chunk;
      memcpy(buf + n, value + off, chunk);
      n += chunk;
      off += chunk;
    } while (off < vlen);
  }
  if ((int)n > anslen) return -1;
  memcpy(answer, buf, n);
  if (!found) {
    if (statp != NULL) statp->res_h_errno = HOST_NOT_FOUND;
    h_errno = HOST_NOT_FOUND;
    return -1;
  }
  return (int)n;
}
