/* Key logs: the files of Wireshark decryption records (esp_sa,
 * ikev2_decryption_table) the daemons export on request. A key log keeps
 * every record added since it was opened, not only the live SAs', so one
 * file decrypts a capture that spans rekeys and deletions; the records of
 * a run replace those of the previous run when the log is opened. */
#ifndef MIPSEC_CORE_KEYLOG_H
#define MIPSEC_CORE_KEYLOG_H

struct keylog;

/* Truncates or creates the file, mode 0600 either way (the records hold
 * keys), and writes header (a "# ..." line, may be NULL). NULL with errno
 * on failure. */
struct keylog *keylog_open(const char *path, const char *header);
/* Appends one record (no newline) unless this log already holds it.
 * 1 appended, 0 already there, -1 write error (errno). */
int keylog_add(struct keylog *kl, const char *record);
const char *keylog_path(const struct keylog *kl);
void keylog_close(struct keylog *kl);

/* Keeps *klp open on path: opens it the first time and when the path
 * changed (configuration reload). -1 with errno when it cannot. */
int keylog_use(struct keylog **klp, const char *path, const char *header);

#endif
