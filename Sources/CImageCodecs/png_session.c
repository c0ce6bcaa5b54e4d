/* libpng reading from memory, shared by the RGB reader (png.c) and the full-depth one (samples_png.c):
 * errors become a status and a message before libpng's longjmp, warnings are dropped. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static void on_error(png_structp png, png_const_charp message) {
  himg_png_session *session = png_get_error_ptr(png);
  himg_status status = HIMG_ERROR_CORRUPT;
  if (session->ran_out_of_data) {
    status = HIMG_ERROR_TRUNCATED;
  } else if (strstr(message, "memory") != NULL) {
    status = HIMG_ERROR_OUT_OF_MEMORY;
  }
  session->status = himg_fail(status, "PNG: %s", message);
  png_longjmp(png, 1);
}

/* libpng's default prints warnings to stderr; a library must stay silent. */
static void on_warning(png_structp png, png_const_charp message) {
  (void)png;
  (void)message;
}

static void read_bytes(png_structp png, png_bytep out, size_t length) {
  himg_png_session *session = png_get_io_ptr(png);
  if (length > session->size - session->offset) {
    session->ran_out_of_data = 1;
    png_error(png, "the data ends before the image does");
  }
  memcpy(out, session->data + session->offset, length);
  session->offset += length;
}

himg_status himg_png_session_open(himg_png_session *session, const uint8_t *data, size_t size) {
  memset(session, 0, sizeof *session);
  session->data = data;
  session->size = size;
  session->png = png_create_read_struct(PNG_LIBPNG_VER_STRING, session, on_error, on_warning);
  if (session->png == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "png_create_read_struct failed");
  session->info = png_create_info_struct(session->png);
  if (session->info == NULL) {
    png_destroy_read_struct(&session->png, NULL, NULL);
    return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "png_create_info_struct failed");
  }
  return HIMG_OK;
}

void himg_png_session_close(himg_png_session *session) {
  free(session->rows);
  session->rows = NULL;
  png_destroy_read_struct(&session->png, &session->info, NULL);
}

himg_status himg_png_read_info(himg_png_session *session) {
  if (setjmp(png_jmpbuf(session->png))) return session->status;
  png_set_read_fn(session->png, session, read_bytes);
  // Our own pixel limit governs size; libpng's default of 1,000,000 px per side would preempt it.
  png_set_user_limits(session->png, 0x7fffffff, 0x7fffffff);
  png_read_info(session->png, session->info);
  return HIMG_OK;
}

