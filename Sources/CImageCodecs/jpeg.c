/* JPEG through the TurboJPEG 2.x API (tjDecompressHeader3 / tjDecompress2), which Debian 12's
 * libjpeg-turbo 2.1.5 provides; the tj3 API arrived only in 3.0. */
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "internal.h"

/* What a walk over the marker segments before the first scan finds. */
typedef struct jpeg_markers {
  int32_t orientation;   /* from the first APP1 Exif segment, 1 when none */
  int reaches_scan;      /* the data holds every segment up to the SOS marker */
  size_t scan_offset;    /* where the first SOS marker starts */
} jpeg_markers;

/* Entropy-coded data stuffs every 0xFF with 0x00, so FF D9 after the first scan can only be the real EOI;
 * thumbnails, which carry their own EOI, sit in APP segments before it. */
static int has_end_marker(const uint8_t *data, size_t size, size_t from) {
  while (from + 1 < size) {
    const uint8_t *ff = memchr(data + from, 0xFF, size - from - 1);
    if (ff == NULL) return 0;
    if (ff[1] == 0xD9) return 1;
    from = (size_t)(ff - data) + 1;
  }
  return 0;
}

/* Walks the segments after SOI up to SOS; TurboJPEG exposes neither APP1 nor where the data ran out. */
static jpeg_markers scan_markers(const uint8_t *data, size_t size) {
  jpeg_markers found = {.orientation = 1, .reaches_scan = 0, .scan_offset = 0};
  int has_exif = 0;
  size_t pos = 2;
  while (pos + 1 < size) {
    if (data[pos] != 0xFF) {  // stray bytes between segments: libjpeg skips them with a warning, so do we
      pos++;
      continue;
    }
    uint8_t marker = data[pos + 1];
    if (marker == 0xFF) {  // fill byte before a marker
      pos++;
      continue;
    }
    if (marker == 0xDA) {
      found.reaches_scan = 1;
      found.scan_offset = pos;
      return found;
    }
    if (marker == 0xD9) return found;
    if (marker == 0x01 || (marker >= 0xD0 && marker <= 0xD8)) {  // segments without a length
      pos += 2;
      continue;
    }
    if (pos + 4 > size) return found;
    size_t length = (size_t)data[pos + 2] << 8 | data[pos + 3];
    if (length < 2 || pos + 2 + length > size) return found;
    const uint8_t *payload = data + pos + 4;
    size_t payload_size = length - 2;
    if (marker == 0xE1 && !has_exif && payload_size >= 6 && memcmp(payload, "Exif\0\0", 6) == 0) {
      has_exif = 1;  // PIL keeps the first Exif segment, so do we
      found.orientation = himg_exif_orientation(payload + 6, payload_size - 6);
    }
    pos += 2 + length;
  }
  return found;
}

int himg_jpeg_is_complete(const uint8_t *data, size_t size) {
  const jpeg_markers markers = scan_markers(data, size);
  return markers.reaches_scan && has_end_marker(data, size, markers.scan_offset + 2);
}

int32_t himg_jpeg_orientation(const uint8_t *data, size_t size) {
  if (himg_detect_format(data, size) != HIMG_FORMAT_JPEG) return 1;
  return scan_markers(data, size).orientation;
}

static int32_t scaled(int32_t dimension, tjscalingfactor factor) { return TJSCALED(dimension, factor); }

/* libjpeg-turbo's IDCTs for 1/1, 1/2, 1/4 and 1/8 are SIMD; the others (3/8, 5/8, ...) are plain C and cost
 * more than the pixels they save: on a 2048x1536 JPEG, 3/8 decoded in 10.6 ms, 1/2 in 9.7 ms, and resizing
 * 1024x768 rather than 768x576 to 512 px cost 0.2 ms more. These are also the only scales PIL's draft() uses. */
static int has_simd_idct(tjscalingfactor factor) {
  return factor.num == 1 && (factor.denom == 1 || factor.denom == 2 || factor.denom == 4 || factor.denom == 8);
}

himg_status himg_jpeg_choose_scale(int32_t width, int32_t height, int32_t orientation, const himg_options *options,
                                   int32_t *numerator, int32_t *denominator) {
  if (options == NULL || numerator == NULL || denominator == NULL || width <= 0 || height <= 0) {
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "invalid arguments to himg_jpeg_choose_scale");
  }
  tjscalingfactor best = {1, 1};
  if (options->min_shorter_side <= 0 && options->min_width <= 0 && options->min_height <= 0) {
    *numerator = *denominator = 1;  // no minimum: full resolution
    return HIMG_OK;
  }
  int count = 0;
  tjscalingfactor *factors = tjGetScalingFactors(&count);
  // Minimums are stated for the oriented output, so compare against oriented dimensions.
  const int transposes = himg_orientation_transposes(orientation);
  for (int i = 0; factors != NULL && i < count; i++) {
    tjscalingfactor factor = factors[i];
    if (factor.num > factor.denom) continue;  // never upscale in the IDCT
    if (!has_simd_idct(factor)) continue;
    int32_t w = scaled(transposes ? height : width, factor);
    int32_t h = scaled(transposes ? width : height, factor);
    int32_t shorter = w < h ? w : h;
    int meets = shorter >= options->min_shorter_side && w >= options->min_width && h >= options->min_height;
    if (meets && (int64_t)factor.num * best.denom < (int64_t)best.num * factor.denom) best = factor;
  }
  *numerator = best.num;
  *denominator = best.denom;
  return HIMG_OK;
}

static int32_t colorspace_from_turbojpeg(int colorspace) {
  switch (colorspace) {
  case TJCS_RGB: return HIMG_COLORSPACE_RGB;
  case TJCS_GRAY: return HIMG_COLORSPACE_GRAY;
  case TJCS_CMYK: return HIMG_COLORSPACE_CMYK;
  case TJCS_YCCK: return HIMG_COLORSPACE_YCCK;
  default: return HIMG_COLORSPACE_YCBCR;
  }
}

/* Classifies a TurboJPEG failure: data that stops before the header or the EOI marker is truncated. */
static himg_status jpeg_failure(tjhandle handle, const char *stage, int truncated) {
  const char *message = tjGetErrorStr2(handle);
  if (message == NULL) message = "unknown TurboJPEG error";
  himg_status status = HIMG_ERROR_CORRUPT;
  if (truncated || strstr(message, "Premature end") != NULL) {
    status = HIMG_ERROR_TRUNCATED;
  } else if (strstr(message, "Insufficient memory") != NULL) {
    status = HIMG_ERROR_OUT_OF_MEMORY;
  }
  return himg_fail(status, "JPEG %s: %s", stage, message);
}

himg_status himg_jpeg_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan) {
  tjhandle handle = tjInitDecompress();
  if (handle == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "tjInitDecompress: %s", tjGetErrorStr2(NULL));
  jpeg_markers markers = scan_markers(data, size);
  int width = 0, height = 0, subsampling = 0, colorspace = 0;
  if (tjDecompressHeader3(handle, data, (unsigned long)size, &width, &height, &subsampling, &colorspace) != 0) {
    himg_status status = jpeg_failure(handle, "header", !markers.reaches_scan);
    tjDestroy(handle);
    return status;
  }
  tjDestroy(handle);
  // TurboJPEG accepts a tables-only stream and reports 0x0; a cut before the frame header looks the same.
  if ((width <= 0 || height <= 0) && !markers.reaches_scan) {
    return himg_fail(HIMG_ERROR_TRUNCATED, "JPEG header: the data ends before the first scan");
  }

  himg_status status = himg_check_pixel_limit(width, height, options);
  if (status != HIMG_OK) return status;

  plan->format = HIMG_FORMAT_JPEG;
  plan->source_width = width;
  plan->source_height = height;
  plan->colorspace = colorspace_from_turbojpeg(colorspace);
  plan->subsampling = subsampling;
  plan->orientation = options->ignore_orientation ? 1 : markers.orientation;
  status = himg_jpeg_choose_scale(width, height, plan->orientation, options, &plan->scale_numerator,
                                  &plan->scale_denominator);
  if (status != HIMG_OK) return status;
  tjscalingfactor factor = {plan->scale_numerator, plan->scale_denominator};
  int32_t decoded_width = scaled(width, factor), decoded_height = scaled(height, factor);
  const int transposes = himg_orientation_transposes(plan->orientation);
  plan->width = transposes ? decoded_height : decoded_width;
  plan->height = transposes ? decoded_width : decoded_height;
  return HIMG_OK;
}

/* PIL reads every CMYK JPEG as Adobe-inverted ("CMYK;I") and converts with
 * r = (255 - k) - (c * (255 - k)) / 255, rounded as its MULDIV255; stored values s = 255 - c give this form. */
static void inverted_cmyk_to_rgb(const uint8_t *cmyk, size_t pixel_count, uint8_t *rgb) {
  for (size_t i = 0; i < pixel_count; i++) {
    const uint8_t *in = cmyk + i * 4;
    const uint32_t not_black = in[3];  // 255 - k, since the stored value is inverted
    for (int channel = 0; channel < 3; channel++) {
      uint32_t product = (255u - in[channel]) * not_black + 128u;
      uint32_t ink = ((product >> 8) + product) >> 8;
      rgb[i * 3 + channel] = (uint8_t)(not_black - ink);
    }
  }
}

himg_status himg_jpeg_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels) {
  const int transposes = himg_orientation_transposes(plan->orientation);
  const int32_t width = transposes ? plan->height : plan->width;  // as decoded, before orientation
  const int32_t height = transposes ? plan->width : plan->height;
  const size_t pixel_count = (size_t)width * (size_t)height;
  const int is_cmyk = plan->colorspace == HIMG_COLORSPACE_CMYK || plan->colorspace == HIMG_COLORSPACE_YCCK;
  const int needs_orientation = plan->orientation != 1;

  // Decode straight into the caller's buffer unless a conversion step needs the raw pixels first.
  uint8_t *decoded = pixels;
  uint8_t *scratch = NULL;
  if (is_cmyk || needs_orientation) {
    scratch = malloc(pixel_count * (is_cmyk ? 4 : 3));
    if (scratch == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %zu pixels", pixel_count);
    decoded = scratch;
  }

  tjhandle handle = tjInitDecompress();
  if (handle == NULL) {
    free(scratch);
    return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "tjInitDecompress: %s", tjGetErrorStr2(NULL));
  }
  // TurboJPEG picks the scaling factor that yields exactly these dimensions.
  himg_status status = HIMG_OK;
  if (tjDecompress2(handle, data, (unsigned long)size, decoded, width, 0, height, is_cmyk ? TJPF_CMYK : TJPF_RGB,
                    0) != 0) {
    // libjpeg recovers from most damage with a warning and PIL accepts such images, but not truncated ones,
    // whose missing part libjpeg would silently fill with grey.
    const int truncated = !himg_jpeg_is_complete(data, size);
    if (tjGetErrorCode(handle) == TJERR_FATAL || truncated) {
      status = jpeg_failure(handle, "decode", truncated);
    }
  }
  tjDestroy(handle);

  if (status == HIMG_OK && is_cmyk) {
    uint8_t *rgb = needs_orientation ? scratch : pixels;  // converting in place is safe: 3 bytes out per 4 in
    inverted_cmyk_to_rgb(scratch, pixel_count, rgb);
  }
  if (status == HIMG_OK && needs_orientation) {
    status = himg_orient_rgb(scratch, width, height, plan->orientation, pixels);
  }
  free(scratch);
  return status;
}

himg_status himg_encode_jpeg(const uint8_t *pixels, int32_t width, int32_t height, int32_t quality, uint8_t **out,
                             size_t *size) {
  if (pixels == NULL || out == NULL || size == NULL || width <= 0 || height <= 0 || quality < 1 || quality > 100)
    return himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "himg_encode_jpeg: invalid arguments");
  tjhandle handle = tjInitCompress();
  if (handle == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "tjInitCompress: %s", tjGetErrorStr2(NULL));
  unsigned char *buffer = NULL;
  unsigned long length = 0;
  int status = tjCompress2(handle, pixels, width, 0, height, TJPF_RGB, &buffer, &length, TJSAMP_420, quality, 0);
  if (status != 0) {
    himg_status failure = himg_fail(HIMG_ERROR_CORRUPT, "tjCompress2: %s", tjGetErrorStr2(handle));
    tjFree(buffer);
    tjDestroy(handle);
    return failure;
  }
  tjDestroy(handle);
  /* Hand back plain malloc'd memory so that one free function serves every allocation. */
  *out = (uint8_t *)malloc(length);
  if (*out == NULL) {
    tjFree(buffer);
    return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "himg_encode_jpeg: out of memory");
  }
  memcpy(*out, buffer, length);
  tjFree(buffer);
  *size = (size_t)length;
  return HIMG_OK;
}

void himg_free(void *memory) { free(memory); }
