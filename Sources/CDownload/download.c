// Downloads through libcurl's easy interface: one synchronous transfer on the caller's thread.
// FoundationNetworking's URLSession, used before, tears its libcurl multi handle down on
// dispatch queues racing the session's release, a documented use-after-free on Linux
// (swift-corelibs-foundation #4791, #5469) that corrupted the long-lived test process's heap.
#include "CDownload.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

typedef struct {
  CURL *curl;
  hr_download_sink sink;
  void *context;
  hr_download_result *result;
  int stopped_by_sink;
} transfer;

static pthread_once_t global_init_once = PTHREAD_ONCE_INIT;
static CURLcode global_init_code = CURLE_OK;

// curl_global_init is not thread-safe in every libcurl; run it once.
static void global_init(void) { global_init_code = curl_global_init(CURL_GLOBAL_DEFAULT); }

static size_t on_body(char *bytes, size_t size, size_t count, void *userdata) {
  transfer *t = userdata;
  size_t length = size * count;
  long status = 0;
  curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
  t->result->http_status = status;
  if (status != 200) return 0;  // an error page is not the file: stop (CURLE_WRITE_ERROR)
  curl_off_t announced = -1;
  curl_easy_getinfo(t->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &announced);
  if (t->sink(t->context, (const uint8_t *)bytes, length, (int64_t)announced) != 0) {
    t->stopped_by_sink = 1;
    return 0;
  }
  return length;
}

int hr_download(const char *url, long connect_timeout_seconds, long stall_seconds, hr_download_sink sink, void *context,
                hr_download_result *result) {
  memset(result, 0, sizeof *result);
  pthread_once(&global_init_once, global_init);
  if (global_init_code != CURLE_OK) {
    snprintf(result->error, sizeof result->error, "libcurl could not start: %s", curl_easy_strerror(global_init_code));
    return -1;
  }
  CURL *curl = curl_easy_init();
  if (curl == NULL) {
    snprintf(result->error, sizeof result->error, "libcurl could not start a transfer");
    return -1;
  }
  char detail[CURL_ERROR_SIZE] = {0};
  transfer t = {curl, sink, context, result, 0};
  curl_easy_setopt(curl, CURLOPT_URL, url);
  curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for timeouts: other threads run
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, connect_timeout_seconds);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_seconds);
  curl_easy_setopt(curl, CURLOPT_USERAGENT, "headroom");
  curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, detail);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &t);
  CURLcode code = curl_easy_perform(curl);
  long status = 0;
  if (curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK) result->http_status = status;
  curl_easy_cleanup(curl);
  if (code == CURLE_OK && result->http_status != 200) {
    // An empty answer never reaches on_body.
    snprintf(result->error, sizeof result->error, "the server answered HTTP %ld", result->http_status);
    return -1;
  }
  if (code == CURLE_OK) return 0;
  if (t.stopped_by_sink) {
    snprintf(result->error, sizeof result->error, "the download was stopped");
  } else if (result->http_status != 0 && result->http_status != 200) {
    snprintf(result->error, sizeof result->error, "the server answered HTTP %ld", result->http_status);
  } else {
    snprintf(result->error, sizeof result->error, "%s", detail[0] ? detail : curl_easy_strerror(code));
  }
  return -1;
}
