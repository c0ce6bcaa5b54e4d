/* What every format file shares: the per-thread error, the pixel limit, format detection and
 * the plan of a full-resolution decode. Depends on nothing else here. */
#include <stdarg.h>
#include <stdio.h>
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
