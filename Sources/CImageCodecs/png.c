/* PNG through libpng 1.6, reading from memory.
 *
 * libpng reports errors by longjmp. Every function that calls setjmp keeps no state of its own
 * that changes afterwards: all of it lives in a himg_png_session (png_session.c) owned by its caller,
 * which frees it whether or not a jump happened. */
#include <png.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static int32_t orientation_of(himg_png_session *session) {
  png_uint_32 length = 0;
  png_bytep exif = NULL;
  if (png_get_eXIf_1(session->png, session->info, &length, &exif) == 0 || exif == NULL) return 1;
  return himg_exif_orientation(exif, length);
}

/* Sets libpng to hand out 8-bit RGB rows; the caller has set the jump buffer. */
static void expect_rgb_rows(himg_png_session *session) {
  png_structp png = session->png;
  png_infop info = session->info;
  // PIL's convert("RGB"): palette and tRNS expand to colours, alpha is discarded without compositing,
  // 16-bit samples keep their most significant byte, low-bit greys stretch to 0-255.
  png_set_expand(png);
  png_set_strip_16(png);
  png_set_strip_alpha(png);
  png_set_gray_to_rgb(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);

  const png_uint_32 width = png_get_image_width(png, info);
  if (png_get_channels(png, info) != 3 || png_get_bit_depth(png, info) != 8 ||
      png_get_rowbytes(png, info) != (size_t)width * 3) {
    session->status = himg_fail(HIMG_ERROR_CORRUPT, "PNG: unexpected layout after conversion to RGB");
    png_longjmp(png, 1);
  }
}

/* Decodes every row into `pixels` as 8-bit RGB; alpha and the low byte of 16-bit samples are dropped. */
static himg_status read_rgb(himg_png_session *session, uint8_t *pixels) {
  if (setjmp(png_jmpbuf(session->png))) return session->status;
  expect_rgb_rows(session);
  const png_uint_32 width = png_get_image_width(session->png, session->info);
  const png_uint_32 height = png_get_image_height(session->png, session->info);
  png_structp png = session->png;
  session->rows = malloc(sizeof(png_bytep) * height);
  if (session->rows == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %u row pointers", height);
  for (png_uint_32 y = 0; y < height; y++) session->rows[y] = pixels + (size_t)y * width * 3;
  png_read_image(png, session->rows);
  return HIMG_OK;
}

himg_status himg_png_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan) {
  himg_png_session session;
  himg_status status = himg_png_session_open(&session, data, size);
  if (status != HIMG_OK) return status;
  status = himg_png_read_info(&session);
  if (status == HIMG_OK) {
    const int64_t width = png_get_image_width(session.png, session.info);
    const int64_t height = png_get_image_height(session.png, session.info);
    status = himg_check_pixel_limit(width, height, options);
    if (status == HIMG_OK) {
      himg_plan_full_resolution(plan, HIMG_FORMAT_PNG, (int32_t)width, (int32_t)height,
                                options->ignore_orientation ? 1 : orientation_of(&session));
      himg_png_layout layout;
      const size_t file_size = options->file_size > size ? (size_t)options->file_size : size;
      if (himg_png_fast_layout(data, size, &layout)) plan->working_bytes = (int64_t)himg_png_fast_working_bytes(&layout, file_size);
    }
  }
  himg_png_session_close(&session);
  return status;
}

himg_status himg_png_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels) {
  uint8_t *target, *scratch;
  himg_status status = himg_decode_target(plan, pixels, &target, &scratch);
  if (status != HIMG_OK) return status;

  const himg_stored_region whole = {0, 0, (size_t)himg_stored_width(plan), (size_t)himg_stored_height(plan)};
  if (himg_png_fast_decode(data, size, &whole, target)) return himg_finish_orientation(plan, HIMG_OK, scratch, pixels);

  himg_png_session session;
  status = himg_png_session_open(&session, data, size);
  if (status == HIMG_OK) {
    status = himg_png_read_info(&session);
    if (status == HIMG_OK && ((int64_t)png_get_image_width(session.png, session.info) != himg_stored_width(plan) ||
                              (int64_t)png_get_image_height(session.png, session.info) != himg_stored_height(plan))) {
      status = himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "PNG dimensions differ from the plan's");
    }
    if (status == HIMG_OK) status = read_rgb(&session, target);
    himg_png_session_close(&session);
  }
  return himg_finish_orientation(plan, status, scratch, pixels);
}

/* Reads rows until the region's last and keeps the region's columns: the rows below are never inflated. The row
 * buffer lives in session->rows' allocation, so that himg_png_session_close frees it after a jump too. */
static himg_status read_region(himg_png_session *session, const himg_stored_region *region, uint8_t *pixels) {
  if (setjmp(png_jmpbuf(session->png))) return session->status;
  expect_rgb_rows(session);
  const size_t width = png_get_image_width(session->png, session->info);
  session->rows = malloc(sizeof(png_bytep) + width * 3);
  if (session->rows == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate a row of %zu pixels", width);
  png_bytep row = (png_bytep)(session->rows + 1);
  const size_t region_bytes = (region->right - region->left) * 3;
  for (size_t y = 0; y < region->bottom; y++) {
    png_read_row(session->png, row, NULL);
    if (y >= region->top) memcpy(pixels + (y - region->top) * region_bytes, row + region->left * 3, region_bytes);
  }
  return HIMG_OK;
}

int himg_png_reads_regions(const uint8_t *data, size_t size) {
  // A cut file lacks its final IEND chunk; Adam7 (IHDR's interlace byte, at offset 28) spreads every row over
  // seven passes, so that no row is final before the last.
  static const uint8_t iend[12] = {0, 0, 0, 0, 'I', 'E', 'N', 'D', 0xAE, 0x42, 0x60, 0x82};
  return size >= 33 && memcmp(data + size - 12, iend, 12) == 0 && data[28] == 0;
}

himg_status himg_png_decode_region(const uint8_t *data, size_t size, const himg_plan *plan,
                                   const himg_stored_region *region, uint8_t *pixels) {
  if (himg_png_fast_decode(data, size, region, pixels)) return HIMG_OK;
  himg_png_session session;
  himg_status status = himg_png_session_open(&session, data, size);
  if (status != HIMG_OK) return status;
  status = himg_png_read_info(&session);
  if (status == HIMG_OK && ((int64_t)png_get_image_width(session.png, session.info) != himg_stored_width(plan) ||
                            (int64_t)png_get_image_height(session.png, session.info) != himg_stored_height(plan) ||
                            png_get_interlace_type(session.png, session.info) != PNG_INTERLACE_NONE)) {
    status = himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "PNG dimensions or interlacing differ from the plan's");
  }
  if (status == HIMG_OK) status = read_region(&session, region, pixels);
  himg_png_session_close(&session);
  return status;
}

himg_status himg_encode_png(const uint8_t *pixels, int32_t width, int32_t height, int32_t fast, uint8_t **out,
                            size_t *size) {
  himg_clear_error();
  if (pixels == NULL || out == NULL || size == NULL || width <= 0 || height <= 0) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "himg_encode_png: invalid arguments");
  }
  png_image image;
  memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  image.width = (png_uint_32)width;
  image.height = (png_uint_32)height;
  image.format = PNG_FORMAT_RGB;
  image.flags = fast ? PNG_IMAGE_FLAG_FAST : 0;
  // libpng's bound on the encoded size: one allocation, one compression pass.
  png_alloc_size_t capacity = PNG_IMAGE_PNG_SIZE_MAX(image);
  uint8_t *buffer = malloc(capacity);
  if (buffer == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "himg_encode_png: cannot allocate %zu bytes", (size_t)capacity);
  if (!png_image_write_to_memory(&image, buffer, &capacity, 0, pixels, 0, NULL)) {
    himg_status status = himg_fail(HIMG_ERROR_CORRUPT, "himg_encode_png: %s", image.message);
    png_image_free(&image);
    free(buffer);
    return status;
  }
  *out = buffer;
  *size = (size_t)capacity;
  return HIMG_OK;
}
