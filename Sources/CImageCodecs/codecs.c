/* Entry points that do not belong to one format: errors, format detection, dispatch. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

/* Loader threads decode concurrently, so each keeps its own message. */
static _Thread_local char last_error[512];

const char *himg_last_error(void) { return last_error; }

void himg_clear_error(void) { last_error[0] = '\0'; }

himg_status himg_fail(himg_status status, const char *format, ...) {
  va_list arguments;
  va_start(arguments, format);
  vsnprintf(last_error, sizeof last_error, format, arguments);
  va_end(arguments);
  return status;
}

himg_status himg_check_pixel_limit(int64_t width, int64_t height, const himg_options *options) {
  if (width <= 0 || height <= 0) {
    return himg_fail(HIMG_ERROR_CORRUPT, "invalid image dimensions %lldx%lld", (long long)width, (long long)height);
  }
  uint64_t pixels = (uint64_t)width * (uint64_t)height;
  if (options->max_pixels != 0 && pixels > options->max_pixels) {
    return himg_fail(HIMG_ERROR_TOO_MANY_PIXELS, "%lldx%lld is %llu pixels, over the limit of %llu",
                     (long long)width, (long long)height, (unsigned long long)pixels,
                     (unsigned long long)options->max_pixels);
  }
  return HIMG_OK;
}

himg_format himg_detect_format(const uint8_t *data, size_t size) {
  static const uint8_t png_signature[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (data == NULL) return HIMG_FORMAT_UNKNOWN;
  if (size >= 3 && data[0] == 0xFF && data[1] == 0xD8 && data[2] == 0xFF) return HIMG_FORMAT_JPEG;
  if (size >= 8 && memcmp(data, png_signature, 8) == 0) return HIMG_FORMAT_PNG;
  if (size >= 12 && memcmp(data, "RIFF", 4) == 0 && memcmp(data + 8, "WEBP", 4) == 0) return HIMG_FORMAT_WEBP;
  if (size >= 4 && (memcmp(data, "II*\0", 4) == 0 || memcmp(data, "MM\0*", 4) == 0 || memcmp(data, "II+\0", 4) == 0 ||
                    memcmp(data, "MM\0+", 4) == 0))
    return HIMG_FORMAT_TIFF;
  if (size >= 2 && data[0] == 'B' && data[1] == 'M') return HIMG_FORMAT_BMP;
  return HIMG_FORMAT_UNKNOWN;
}

void himg_plan_full_resolution(himg_plan *plan, himg_format format, int32_t width, int32_t height, int32_t orientation) {
  plan->format = format;
  plan->source_width = width;
  plan->source_height = height;
  plan->colorspace = HIMG_COLORSPACE_RGB;
  plan->subsampling = -1;
  plan->orientation = orientation;
  plan->scale_numerator = 1;
  plan->scale_denominator = 1;
  const int transposes = himg_orientation_transposes(orientation);
  plan->width = transposes ? height : width;
  plan->height = transposes ? width : height;
}

himg_status himg_decode_target(const himg_plan *plan, uint8_t *pixels, uint8_t **target, uint8_t **scratch) {
  *scratch = NULL;
  *target = pixels;
  if (plan->orientation == 1) return HIMG_OK;
  const size_t count = (size_t)plan->width * (size_t)plan->height;
  *scratch = malloc(count * 3);
  if (*scratch == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %zu pixels", count);
  *target = *scratch;
  return HIMG_OK;
}

himg_status himg_finish_orientation(const himg_plan *plan, himg_status status, uint8_t *scratch, uint8_t *pixels) {
  if (status == HIMG_OK && scratch != NULL) {
    status = himg_orient_rgb(scratch, himg_stored_width(plan), himg_stored_height(plan), plan->orientation, pixels);
  }
  free(scratch);
  return status;
}

himg_status himg_plan_decode(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan) {
  himg_clear_error();
  if (data == NULL || options == NULL || plan == NULL) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "null argument to himg_plan_decode");
  }
  if (options->min_shorter_side < 0 || options->min_width < 0 || options->min_height < 0) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "negative minimum size");
  }
  memset(plan, 0, sizeof *plan);
  switch (himg_detect_format(data, size)) {
  case HIMG_FORMAT_JPEG:
    return himg_jpeg_plan(data, size, options, plan);
  case HIMG_FORMAT_PNG:
    return himg_png_plan(data, size, options, plan);
  case HIMG_FORMAT_WEBP:
    return himg_webp_plan(data, size, options, plan);
  case HIMG_FORMAT_TIFF:
    return himg_tiff_plan(data, size, options, plan);
  case HIMG_FORMAT_BMP:
    return himg_bmp_plan(data, size, options, plan);
  default:
    if (size == 0) return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "empty file");
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT,
                     "not a JPEG, PNG, WebP, TIFF or BMP file (unrecognised leading bytes)");
  }
}

himg_status himg_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels, size_t capacity) {
  himg_clear_error();
  if (data == NULL || plan == NULL || pixels == NULL) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "null argument to himg_decode");
  }
  if (plan->width <= 0 || plan->height <= 0 || capacity / 3 / (size_t)plan->width < (size_t)plan->height) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "output buffer of %zu bytes is too small for %dx%d RGB", capacity,
                     plan->width, plan->height);
  }
  if (himg_detect_format(data, size) != plan->format) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "data does not match the plan's format");
  }
  switch (plan->format) {
  case HIMG_FORMAT_JPEG:
    return himg_jpeg_decode(data, size, plan, pixels);
  case HIMG_FORMAT_PNG:
    return himg_png_decode(data, size, plan, pixels);
  case HIMG_FORMAT_WEBP:
    return himg_webp_decode(data, size, plan, pixels);
  case HIMG_FORMAT_TIFF:
    return himg_tiff_decode(data, size, plan, pixels);
  case HIMG_FORMAT_BMP:
    return himg_bmp_decode(data, size, plan, pixels);
  default:
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "plan has no known format");
  }
}
