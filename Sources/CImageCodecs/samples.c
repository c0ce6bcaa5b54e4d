/* The full-depth entry points: argument checks, then the TIFF (samples_tiff.c) or PNG (samples_png.c) reader. */
#include <string.h>

#include "internal.h"

/* What the RGB path reads and this one does not, by name. */
static const char *format_name(himg_format format) {
  switch (format) {
  case HIMG_FORMAT_JPEG: return "JPEG";
  case HIMG_FORMAT_WEBP: return "WebP";
  case HIMG_FORMAT_BMP: return "BMP";
  default: return NULL;
  }
}

himg_status himg_read_samples_info(const uint8_t *data, size_t size, const himg_options *options, himg_samples_info *info) {
  himg_clear_error();
  if (data == NULL || options == NULL || info == NULL) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "null argument to himg_read_samples_info");
  }
  memset(info, 0, sizeof *info);
  info->alpha_band = -1;
  const himg_format format = himg_detect_format(data, size);
  switch (format) {
  case HIMG_FORMAT_TIFF: return himg_tiff_samples_info(data, size, options, info);
  case HIMG_FORMAT_PNG: return himg_png_samples_info(data, size, options, info);
  default: break;
  }
  if (format_name(format) != NULL) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "%s: read through the RGB path (full-depth samples are TIFF and PNG)",
                     format_name(format));
  }
  if (size == 0) return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "empty file");
  return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "not a TIFF or PNG file (unrecognised leading bytes)");
}

himg_status himg_decode_samples(const uint8_t *data, size_t size, const himg_samples_info *info, const himg_region *region,
                                float *out, size_t capacity) {
  himg_clear_error();
  if (data == NULL || info == NULL || region == NULL || out == NULL) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "null argument to himg_decode_samples");
  }
  if (info->width <= 0 || info->height <= 0 || info->bands <= 0) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "the info is not one himg_read_samples_info filled");
  }
  if (region->width <= 0 || region->height <= 0 || region->left < 0 || region->top < 0 ||
      region->left > info->width - region->width || region->top > info->height - region->height) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "region %dx%d at (%d, %d) is not inside the %dx%d image", region->width,
                     region->height, region->left, region->top, info->width, info->height);
  }
  // bands, width and height are positive int32s: their product fits 64 bits, and is compared without overflow.
  const uint64_t needed = (uint64_t)info->bands * (uint64_t)region->width * (uint64_t)region->height;
  if (needed > (uint64_t)capacity) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "output of %zu floats is too small for %d bands of %dx%d", capacity,
                     info->bands, region->width, region->height);
  }
  if (himg_detect_format(data, size) != info->format) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "data does not match the info's format");
  }
  switch (info->format) {
  case HIMG_FORMAT_TIFF: return himg_tiff_decode_samples(data, size, info, region, out);
  case HIMG_FORMAT_PNG: return himg_png_decode_samples(data, size, info, region, out);
  default: return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "the info's format is not TIFF or PNG");
  }
}
