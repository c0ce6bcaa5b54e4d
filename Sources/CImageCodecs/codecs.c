/* The public entry points: planning and decoding, dispatched to the format files. */
#include <string.h>

#include "internal.h"

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
