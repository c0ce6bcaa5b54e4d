/* TIFF through libtiff 4.5 (Debian 12), reading the first image of the file from memory.
 *
 * 8- and 16-bit greyscale and RGB images in one plane, with or without extra samples — what cameras,
 * scanners and Pillow write — are read row by row straight into the output, as PIL's convert("RGB") reads
 * them: extra samples (alpha) dropped without compositing, 16-bit samples keeping their high byte,
 * min-is-white inverted. Everything else libtiff can read (palettes, 1-4 bit, YCbCr, CMYK, tiles, separate
 * planes) goes through its RGBA interface, whose colours for associated alpha stay premultiplied.
 * The handle reads from memory and reports through tiff_source.c. */
#include <stdlib.h>
#include <tiffio.h>

#include "internal.h"

himg_status himg_tiff_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan) {
  himg_tiff_source source;
  TIFF *tiff = himg_tiff_open(&source, data, size, 0);
  if (tiff == NULL) return himg_tiff_failure(&source, "header");
  uint32_t width = 0, height = 0;
  uint16_t orientation = ORIENTATION_TOPLEFT;
  TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &height);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_ORIENTATION, &orientation);
  TIFFClose(tiff);
  himg_status status = himg_check_pixel_limit(width, height, options);
  if (status != HIMG_OK) return status;
  if (width > INT32_MAX || height > INT32_MAX) {
    return himg_fail(HIMG_ERROR_TOO_MANY_PIXELS, "TIFF: %ux%u is too large", width, height);
  }
  // TIFF's orientation values are EXIF's (both come from TIFF 6.0).
  const int32_t oriented = options->ignore_orientation || orientation < 1 || orientation > 8 ? 1 : orientation;
  himg_plan_full_resolution(plan, HIMG_FORMAT_TIFF, (int32_t)width, (int32_t)height, oriented);
  return HIMG_OK;
}

/* The layout the row reader handles, or 0 when the RGBA interface must. */
typedef struct row_layout {
  int samples_per_pixel;
  int bytes_per_sample;
  int colour_samples; /* 1 (grey) or 3 (RGB) */
  int inverted;       /* min-is-white */
} row_layout;

static int row_layout_of(TIFF *tiff, row_layout *layout) {
  uint16_t bits = 1, samples = 1, photometric = 0, planar = PLANARCONFIG_CONTIG, format = SAMPLEFORMAT_UINT;
  TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLEFORMAT, &format);
  if (!TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &photometric)) return 0;
  if (TIFFIsTiled(tiff) || (bits != 8 && bits != 16) || format != SAMPLEFORMAT_UINT) return 0;
  if (samples > 1 && planar != PLANARCONFIG_CONTIG) return 0;
  switch (photometric) {
  case PHOTOMETRIC_MINISBLACK:
  case PHOTOMETRIC_MINISWHITE:
    layout->colour_samples = 1;
    break;
  case PHOTOMETRIC_RGB:
    layout->colour_samples = 3;
    break;
  default:
    return 0;
  }
  if (samples < layout->colour_samples) return 0;
  layout->samples_per_pixel = samples;
  layout->bytes_per_sample = bits / 8;
  layout->inverted = photometric == PHOTOMETRIC_MINISWHITE;
  return 1;
}

static himg_status read_rows(TIFF *tiff, const himg_tiff_source *source, const row_layout *layout, uint32_t width,
                             uint32_t height, uint8_t *out) {
  const tmsize_t row_size = TIFFScanlineSize(tiff);
  const size_t needed = (size_t)width * (size_t)layout->samples_per_pixel * (size_t)layout->bytes_per_sample;
  if (row_size <= 0 || (size_t)row_size < needed) return himg_tiff_failure(source, "decode");
  uint8_t *row = malloc((size_t)row_size);
  if (row == NULL) return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate a TIFF row of %lld bytes", (long long)row_size);
  // 16-bit samples arrive in the machine's byte order; the high byte is the one at the high address here.
  const int high = layout->bytes_per_sample == 2 ? (*(const uint8_t *)&(uint16_t){1} == 1 ? 1 : 0) : 0;
  const uint8_t flip = layout->inverted ? 0xFF : 0x00;
  himg_status status = HIMG_OK;
  for (uint32_t y = 0; y < height && status == HIMG_OK; y++) {
    if (TIFFReadScanline(tiff, row, y, 0) < 0) {
      status = himg_tiff_failure(source, "decode");
      break;
    }
    uint8_t *to = out + (size_t)y * width * 3;
    const size_t pixel_stride = (size_t)layout->samples_per_pixel * (size_t)layout->bytes_per_sample;
    for (uint32_t x = 0; x < width; x++) {
      const uint8_t *from = row + x * pixel_stride + high;
      for (int channel = 0; channel < 3; channel++) {
        const int sample = layout->colour_samples == 1 ? 0 : channel;
        to[x * 3 + channel] = from[sample * layout->bytes_per_sample] ^ flip;
      }
    }
  }
  free(row);
  return status;
}

static himg_status read_rgba(TIFF *tiff, const himg_tiff_source *source, uint32_t width, uint32_t height, uint8_t *out) {
  char message[1024] = "";
  TIFFRGBAImage image;
  if (!TIFFRGBAImageOK(tiff, message) || !TIFFRGBAImageBegin(&image, tiff, 1, message)) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: %s", message[0] != '\0' ? message : "unsupported layout");
  }
  // Rows as stored, top first: the orientation is undone afterwards, for every format alike.
  image.orientation = ORIENTATION_TOPLEFT;
  image.req_orientation = ORIENTATION_TOPLEFT;
  const size_t count = (size_t)width * (size_t)height;
  uint32_t *raster = malloc(count * sizeof *raster);
  if (raster == NULL) {
    TIFFRGBAImageEnd(&image);
    return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %zu RGBA pixels", count);
  }
  himg_status status = HIMG_OK;
  if (!TIFFRGBAImageGet(&image, raster, width, height)) {
    status = himg_tiff_failure(source, "decode");
  } else {
    for (size_t i = 0; i < count; i++) {
      out[i * 3] = (uint8_t)TIFFGetR(raster[i]);
      out[i * 3 + 1] = (uint8_t)TIFFGetG(raster[i]);
      out[i * 3 + 2] = (uint8_t)TIFFGetB(raster[i]);
    }
  }
  TIFFRGBAImageEnd(&image);
  free(raster);
  return status;
}

himg_status himg_tiff_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels) {
  uint8_t *target, *scratch;
  himg_status status = himg_decode_target(plan, pixels, &target, &scratch);
  if (status != HIMG_OK) return status;

  himg_tiff_source source;
  TIFF *tiff = himg_tiff_open(&source, data, size, 1);
  if (tiff == NULL) {
    // Opened again unmapped to tell a truncated header (a short read) from a corrupt one.
    TIFF *unmapped = himg_tiff_open(&source, data, size, 0);
    if (unmapped != NULL) TIFFClose(unmapped);
    return himg_finish_orientation(plan, himg_tiff_failure(&source, "header"), scratch, pixels);
  }
  uint32_t width = 0, height = 0;
  TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &height);
  if ((int64_t)width != himg_stored_width(plan) || (int64_t)height != himg_stored_height(plan)) {
    status = himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "TIFF dimensions differ from the plan's");
  } else {
    row_layout layout;
    status = row_layout_of(tiff, &layout) ? read_rows(tiff, &source, &layout, width, height, target)
                                          : read_rgba(tiff, &source, width, height, target);
    if (status != HIMG_OK && himg_tiff_data_ends_early(tiff, size)) {
      source.ran_out_of_data = 1;
      status = himg_tiff_failure(&source, "decode");
    }
  }
  TIFFClose(tiff);
  return himg_finish_orientation(plan, status, scratch, pixels);
}
