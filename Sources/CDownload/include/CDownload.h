#ifndef CDOWNLOAD_H
#define CDOWNLOAD_H

#include <stddef.h>
#include <stdint.h>

/// Receives the body as it arrives, with the length the server announced (-1 when it did not);
/// returns nonzero to stop the transfer.
typedef int (*hr_download_sink)(void *context, const uint8_t *bytes, size_t count, int64_t announced_length);

typedef struct {
  /// The final response's status (after redirects), 0 when none arrived.
  long http_status;
  /// Why the transfer failed; empty when it did not.
  char error[256];
} hr_download_result;

/// Fetches `url` on the calling thread, following redirects, and hands the body of a 200 answer
/// to `sink`. Gives up when connecting takes longer than `connect_timeout_seconds` or no byte
/// arrives for `stall_seconds`. Returns 0 when the whole announced body arrived, -1 otherwise
/// (`result->error` says why).
int hr_download(const char *url, long connect_timeout_seconds, long stall_seconds, hr_download_sink sink, void *context,
                hr_download_result *result);

#endif
