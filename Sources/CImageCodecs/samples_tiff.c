/* TIFF samples at full depth through libtiff 4.5: the first image, striped or tiled, contiguous or separate planes.
 *
 * Only the strips or tiles a region touches are decoded, each only down to the region's last row: libtiff's
 * TIFFReadEncodedStrip/Tile decode no further than the size they are given. Samples arrive in the machine's byte
 * order (libtiff swaps them) and become float32 band by band. YCbCr and old-style JPEG data are left to the RGB
 * path (tiff.c), whose RGBA interface converts them; so are integer samples of fewer than 8 bits, which the RGB
 * path stretches to 0-255 as PNG's grey is stretched here (a palette's indices, of any width, are expanded). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tiffio.h>

#include "internal.h"

/* What a codec holds beside the block buffer (zlib's window, LZW's table, zstd's context), roughly. */
enum { CODEC_STATE_BYTES = 256 * 1024 };

/* The first image's layout, as this reader decodes it. */
typedef struct tiff_layout {
  uint32_t width, height;
  uint16_t bits, samples, photometric;
  int separate;                /* one plane per sample */
  int tiled;
  uint32_t block_width;        /* a tile's size, or the image's width and the rows per strip */
  uint32_t block_height;
  uint64_t row_bytes;          /* one row of a block in one plane, as libtiff decodes it */
  himg_sample_type type;
  int bands, band_kind, alpha_band, is_photo;
  int flips;                   /* min-is-white integers: the grey band (band 0) is flipped */
  const uint16_t *colormap[3]; /* a palette's red, green and blue, owned by the handle */
  int colormap_shift;          /* 8 for 16-bit entries; 0 for a colormap of 8-bit values, as libtiff's RGBA reader takes it */
  char refusal[160];           /* why decoding is refused although the header reads: a photo for the RGB path */
} tiff_layout;

static himg_sample_type type_of(uint16_t format, uint16_t bits) {
  switch (format) {
  case SAMPLEFORMAT_UINT:
  case SAMPLEFORMAT_VOID: // untyped data: its bytes as unsigned integers
    return bits <= 8 ? HIMG_SAMPLE_UINT8 : bits == 16 ? HIMG_SAMPLE_UINT16 : bits == 32 ? HIMG_SAMPLE_UINT32 : 0;
  case SAMPLEFORMAT_INT:
    return bits == 8 ? HIMG_SAMPLE_INT8 : bits == 16 ? HIMG_SAMPLE_INT16 : bits == 32 ? HIMG_SAMPLE_INT32 : 0;
  case SAMPLEFORMAT_IEEEFP:
    return bits == 32 ? HIMG_SAMPLE_FLOAT32 : bits == 64 ? HIMG_SAMPLE_FLOAT64 : 0;
  default:
    return 0;
  }
}

static himg_status unsupported_type(uint16_t format, uint16_t bits) {
  switch (format) {
  case SAMPLEFORMAT_UINT:
  case SAMPLEFORMAT_VOID:
  case SAMPLEFORMAT_INT:
    if (bits == 64) return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: 64-bit integer samples");
    if (bits < 8 || format == SAMPLEFORMAT_INT) {
      return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: %u-bit %s samples", bits,
                       format == SAMPLEFORMAT_INT ? "signed" : "unsigned");
    }
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: %u-bit samples packed across bytes", bits);
  case SAMPLEFORMAT_IEEEFP:
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: %u-bit floating-point samples", bits);
  default:
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: sample format %u (complex numbers or unknown)", format);
  }
}

/* A palette of indices of `bits` bits: 3 bands of its 8-bit colours. */
static himg_status palette_layout_of(TIFF *tiff, uint16_t format, tiff_layout *layout) {
  const uint16_t bits = layout->bits;
  if ((format != SAMPLEFORMAT_UINT && format != SAMPLEFORMAT_VOID) || (bits != 1 && bits != 2 && bits != 4 && bits != 8 && bits != 16)) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: a palette of %u-bit indices", bits);
  }
  if (layout->samples != 1) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: a palette image with %u samples per pixel", layout->samples);
  }
  uint16_t *red = NULL, *green = NULL, *blue = NULL;
  if (!TIFFGetField(tiff, TIFFTAG_COLORMAP, &red, &green, &blue) || red == NULL || green == NULL || blue == NULL) {
    return himg_fail(HIMG_ERROR_CORRUPT, "TIFF: a palette image without a colormap");
  }
  // libtiff holds 2^bits entries per colour. Files whose entries all fit 8 bits meant them as 8-bit values.
  const size_t entries = (size_t)1 << bits;
  layout->colormap_shift = 0;
  for (size_t i = 0; i < entries && layout->colormap_shift == 0; i++) {
    if (red[i] > 255 || green[i] > 255 || blue[i] > 255) layout->colormap_shift = 8;
  }
  layout->colormap[0] = red;
  layout->colormap[1] = green;
  layout->colormap[2] = blue;
  layout->type = HIMG_SAMPLE_UINT8;
  layout->bands = 3;
  layout->band_kind = HIMG_BANDS_RGB;
  layout->is_photo = 1;
  return HIMG_OK;
}

/* Reads the first image's layout; fails as unsupported when neither this reader nor the RGB path can read it. */
static himg_status layout_of(TIFF *tiff, tiff_layout *layout) {
  memset(layout, 0, sizeof *layout);
  layout->alpha_band = -1;
  uint16_t planar = PLANARCONFIG_CONTIG, format = SAMPLEFORMAT_UINT, compression = COMPRESSION_NONE;
  layout->bits = 1;
  layout->samples = 1;
  TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &layout->width);
  TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &layout->height);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &layout->bits);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &layout->samples);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_PLANARCONFIG, &planar);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLEFORMAT, &format);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_COMPRESSION, &compression);
  const int has_photometric = TIFFGetField(tiff, TIFFTAG_PHOTOMETRIC, &layout->photometric);
  if (layout->samples == 0 || layout->bits == 0) {
    return himg_fail(HIMG_ERROR_CORRUPT, "TIFF: %u samples per pixel of %u bits", layout->samples, layout->bits);
  }
  layout->separate = planar == PLANARCONFIG_SEPARATE && layout->samples > 1;
  layout->tiled = TIFFIsTiled(tiff);
  if (layout->tiled) {
    TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &layout->block_width);
    TIFFGetField(tiff, TIFFTAG_TILELENGTH, &layout->block_height);
  } else {
    uint32_t rows_per_strip = UINT32_MAX;
    TIFFGetFieldDefaulted(tiff, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
    layout->block_width = layout->width;
    layout->block_height = rows_per_strip < layout->height ? rows_per_strip : layout->height;
  }
  if (layout->block_width == 0 || layout->block_height == 0) {
    return himg_fail(HIMG_ERROR_CORRUPT, "TIFF: %s of %ux%u pixels", layout->tiled ? "tiles" : "strips", layout->block_width,
                     layout->block_height);
  }
  // A tile may overhang a small image, but one past both the image and 65536 pixels is padding that a hostile file
  // would have us allocate (libtiff decodes whole tile rows).
  if (layout->tiled && ((layout->block_width > layout->width && layout->block_width > 65536) ||
                        (layout->block_height > layout->height && layout->block_height > 65536))) {
    return himg_fail(HIMG_ERROR_CORRUPT, "TIFF: tiles of %ux%u pixels in a %ux%u image", layout->block_width,
                     layout->block_height, layout->width, layout->height);
  }
  layout->row_bytes = layout->tiled ? TIFFTileRowSize64(tiff) : TIFFScanlineSize64(tiff);

  // YCbCr (JPEG-compressed or not) and old-style JPEG: photos, which the RGB path converts.
  if (compression == COMPRESSION_OJPEG || (has_photometric && layout->photometric == PHOTOMETRIC_YCBCR)) {
    const int grey = has_photometric && (layout->photometric == PHOTOMETRIC_MINISBLACK || layout->photometric == PHOTOMETRIC_MINISWHITE);
    layout->type = HIMG_SAMPLE_UINT8;
    layout->bits = 8;
    layout->bands = grey ? 1 : 3;
    layout->band_kind = grey ? HIMG_BANDS_GREY : HIMG_BANDS_RGB;
    layout->is_photo = 1;
    snprintf(layout->refusal, sizeof layout->refusal, "TIFF: %s: read through the RGB path",
             compression == COMPRESSION_OJPEG ? "old-style JPEG compression" : "YCbCr samples");
    return HIMG_OK;
  }
  if (!TIFFIsCODECConfigured(compression)) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: compression %u, which this libtiff does not decode", compression);
  }
  if (compression == COMPRESSION_SGILOG || compression == COMPRESSION_SGILOG24) {
    return himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "TIFF: LogLuv (SGILOG) compressed samples");
  }

  if (has_photometric && layout->photometric == PHOTOMETRIC_PALETTE) {
    const himg_status status = palette_layout_of(tiff, format, layout);
    if (status != HIMG_OK) return status;
  } else {
    layout->type = type_of(format, layout->bits);
    if (layout->type == 0) return unsupported_type(format, layout->bits);
    int colours = 0; // the bands that carry colour: 1 grey, 3 RGB; 0 when the photometric names neither
    if (has_photometric && (layout->photometric == PHOTOMETRIC_MINISBLACK || layout->photometric == PHOTOMETRIC_MINISWHITE)) {
      colours = 1;
      layout->band_kind = HIMG_BANDS_GREY;
    } else if (has_photometric && layout->photometric == PHOTOMETRIC_RGB) {
      if (layout->samples < 3) return himg_fail(HIMG_ERROR_CORRUPT, "TIFF: RGB with %u samples per pixel", layout->samples);
      colours = 3;
      layout->band_kind = HIMG_BANDS_RGB;
    } else {
      layout->band_kind = HIMG_BANDS_OTHER;
    }
    // Extra samples are the last ones; the first marked alpha (associated or not) is the alpha band. Unspecified
    // ones are data. An extra sample claimed over a colour band is ignored.
    uint16_t extra = 0;
    uint16_t *kinds = NULL;
    if (TIFFGetField(tiff, TIFFTAG_EXTRASAMPLES, &extra, &kinds) && kinds != NULL && extra <= layout->samples) {
      for (uint16_t i = 0; i < extra; i++) {
        const int band = layout->samples - extra + i;
        if ((kinds[i] == EXTRASAMPLE_ASSOCALPHA || kinds[i] == EXTRASAMPLE_UNASSALPHA) && band >= colours) {
          layout->alpha_band = band;
          break;
        }
      }
    }
    layout->bands = layout->samples;
    layout->is_photo = layout->type == HIMG_SAMPLE_UINT8 && colours > 0 &&
                       (layout->samples == colours || (layout->samples == colours + 1 && layout->alpha_band == colours));
    layout->flips = layout->photometric == PHOTOMETRIC_MINISWHITE && format != SAMPLEFORMAT_IEEEFP;
    if (layout->bits < 8) {
      if (!layout->is_photo) return unsupported_type(format, layout->bits);
      snprintf(layout->refusal, sizeof layout->refusal, "TIFF: %u-bit samples: read through the RGB path", layout->bits);
    }
  }
  // libtiff's row size must hold the samples indexed in it (bits <= 64, samples < 2^16: no overflow).
  const uint64_t row_bits = (uint64_t)layout->block_width * (layout->separate ? 1u : layout->samples) * layout->bits;
  if (layout->row_bytes == 0 || layout->row_bytes < (row_bits + 7) / 8) {
    return himg_fail(HIMG_ERROR_CORRUPT, "TIFF: rows of %llu bytes, too short for %llu samples of %u bits",
                     (unsigned long long)layout->row_bytes, (unsigned long long)row_bits / layout->bits, layout->bits);
  }
  return HIMG_OK;
}

himg_status himg_tiff_samples_info(const uint8_t *data, size_t size, const himg_options *options, himg_samples_info *info) {
  himg_tiff_source source;
  TIFF *tiff = himg_tiff_open(&source, data, size, 0);
  if (tiff == NULL) return himg_tiff_failure(&source, "header");
  uint32_t width = 0, height = 0;
  TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &height);
  himg_status status = himg_check_pixel_limit(width, height, options);
  if (status == HIMG_OK && (width > INT32_MAX || height > INT32_MAX)) {
    status = himg_fail(HIMG_ERROR_TOO_MANY_PIXELS, "TIFF: %ux%u is too large", width, height);
  }
  tiff_layout layout;
  if (status == HIMG_OK) status = layout_of(tiff, &layout);
  TIFFClose(tiff);
  if (status != HIMG_OK) return status;

  info->format = HIMG_FORMAT_TIFF;
  info->width = (int32_t)width;
  info->height = (int32_t)height;
  info->bands = layout.bands;
  info->sample_type = layout.type;
  info->bits_per_sample = layout.colormap[0] != NULL ? 8 : layout.bits;
  info->band_kind = layout.band_kind;
  info->alpha_band = layout.alpha_band;
  info->is_photo = layout.is_photo;
  info->tile_width = layout.block_width > INT32_MAX ? INT32_MAX : (int32_t)layout.block_width;
  info->tile_height = layout.block_height > INT32_MAX ? INT32_MAX : (int32_t)layout.block_height;
  // One block buffer, reused for every block and plane, of no more rows than the image has.
  const uint64_t rows = layout.block_height < height ? layout.block_height : height;
  const uint64_t limit = (uint64_t)INT64_MAX - CODEC_STATE_BYTES;
  info->working_bytes = layout.row_bytes > limit / rows ? INT64_MAX : (int64_t)(layout.row_bytes * rows + CODEC_STATE_BYTES);
  return HIMG_OK;
}

/* Samples first, first + step, ... (count of them) of a decoded row, as floats; flip: min-is-white, ~v. */
static void convert(himg_sample_type type, const uint8_t *row, size_t first, size_t step, size_t count, int flip, float *out) {
#define CONVERT(ctype, flipped)                                        \
  for (size_t i = 0; i < count; i++) {                                 \
    ctype v;                                                           \
    memcpy(&v, row + (first + i * step) * sizeof v, sizeof v);         \
    out[i] = (float)(flip ? (ctype)(flipped) : v);                     \
  }
  switch (type) {
  case HIMG_SAMPLE_UINT8: CONVERT(uint8_t, ~v) break;
  case HIMG_SAMPLE_INT8: CONVERT(int8_t, ~v) break;
  case HIMG_SAMPLE_UINT16: CONVERT(uint16_t, ~v) break;
  case HIMG_SAMPLE_INT16: CONVERT(int16_t, ~v) break;
  case HIMG_SAMPLE_UINT32: CONVERT(uint32_t, ~v) break;
  case HIMG_SAMPLE_INT32: CONVERT(int32_t, ~v) break;
  case HIMG_SAMPLE_FLOAT32: CONVERT(float, v) break;
  case HIMG_SAMPLE_FLOAT64: CONVERT(double, v) break;
  default: break;
  }
#undef CONVERT
}

/* Palette indices first, first + 1, ... of a decoded row, as their three colours. */
static void convert_palette(const tiff_layout *layout, const uint8_t *row, size_t first, size_t count, float *red,
                            float *green, float *blue) {
  const unsigned bits = layout->bits, shift = (unsigned)layout->colormap_shift;
  for (size_t i = 0; i < count; i++) {
    const size_t k = first + i;
    size_t index;
    if (bits == 16) {
      uint16_t v;
      memcpy(&v, row + k * 2, 2);
      index = v;
    } else {
      // Indices of 1, 2, 4 or 8 bits, the first in a byte's high bits.
      const size_t bit = k * bits;
      index = (size_t)(row[bit / 8] >> (8 - bits - bit % 8)) & ((1u << bits) - 1);
    }
    red[i] = (float)(layout->colormap[0][index] >> shift);
    green[i] = (float)(layout->colormap[1][index] >> shift);
    blue[i] = (float)(layout->colormap[2][index] >> shift);
  }
}

/* Decodes the region's blocks plane by plane into out (CHW). */
static himg_status read_region(TIFF *tiff, const himg_tiff_source *source, const tiff_layout *layout,
                               const himg_region *region, float *out) {
  const uint64_t left = (uint64_t)region->left, top = (uint64_t)region->top;
  const uint64_t right = left + (uint64_t)region->width, bottom = top + (uint64_t)region->height;
  const size_t region_width = (size_t)region->width;
  const size_t plane_floats = region_width * (size_t)region->height;
  const uint64_t bw = layout->block_width, bh = layout->block_height;
  const unsigned planes = layout->separate ? layout->samples : 1;
  const size_t pixel_samples = layout->separate ? 1 : layout->samples; // samples of a pixel in a block row
  const uint32_t blocks = layout->tiled ? TIFFNumberOfTiles(tiff) : TIFFNumberOfStrips(tiff);

  // The most rows a block read needs: down to the region's last row, never past the block.
  const uint64_t first_block_top = top / bh * bh;
  const uint64_t most_rows = bottom - first_block_top < bh ? bottom - first_block_top : bh;
  if (layout->row_bytes > (uint64_t)INT64_MAX / most_rows || layout->row_bytes * most_rows > SIZE_MAX) {
    return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "TIFF: %llu rows of %llu bytes do not fit in memory",
                     (unsigned long long)most_rows, (unsigned long long)layout->row_bytes);
  }
  uint8_t *buffer = malloc((size_t)(layout->row_bytes * most_rows));
  if (buffer == NULL) {
    return himg_fail(HIMG_ERROR_OUT_OF_MEMORY, "cannot allocate %llu rows of %llu bytes for a TIFF %s",
                     (unsigned long long)most_rows, (unsigned long long)layout->row_bytes, layout->tiled ? "tile" : "strip");
  }
  himg_status status = HIMG_OK;
  for (unsigned plane = 0; plane < planes && status == HIMG_OK; plane++) {
    for (uint64_t y0 = first_block_top; y0 < bottom && status == HIMG_OK; y0 += bh) {
      const uint64_t rows = (bottom - y0 < bh ? bottom - y0 : bh);
      const tmsize_t wanted = (tmsize_t)(rows * layout->row_bytes);
      for (uint64_t x0 = left / bw * bw; x0 < right && status == HIMG_OK; x0 += bw) {
        const uint32_t index = layout->tiled ? TIFFComputeTile(tiff, (uint32_t)x0, (uint32_t)y0, 0, (uint16_t)plane)
                                             : TIFFComputeStrip(tiff, (uint32_t)y0, (uint16_t)plane);
        if (index >= blocks) {
          status = himg_fail(HIMG_ERROR_CORRUPT, "TIFF decode: %s %u of %u", layout->tiled ? "tile" : "strip", index, blocks);
          break;
        }
        const tmsize_t got = layout->tiled ? TIFFReadEncodedTile(tiff, index, buffer, wanted)
                                           : TIFFReadEncodedStrip(tiff, index, buffer, wanted);
        if (got < 0) {
          status = himg_tiff_failure(source, "decode");
          break;
        }
        if (got < wanted) {
          status = himg_fail(HIMG_ERROR_CORRUPT, "TIFF decode: %s %u holds %lld bytes of the %lld needed",
                             layout->tiled ? "tile" : "strip", index, (long long)got, (long long)wanted);
          break;
        }
        // The block's part of the region: columns [xa, xb), rows [ya, y0 + rows).
        const uint64_t xa = x0 > left ? x0 : left, xb = x0 + bw < right ? x0 + bw : right;
        const uint64_t ya = y0 > top ? y0 : top;
        const size_t count = (size_t)(xb - xa);
        for (uint64_t y = ya; y < y0 + rows; y++) {
          const uint8_t *row = buffer + (size_t)((y - y0) * layout->row_bytes);
          float *to = out + (size_t)(y - top) * region_width + (size_t)(xa - left);
          const size_t first = (size_t)(xa - x0) * pixel_samples;
          if (layout->colormap[0] != NULL) {
            convert_palette(layout, row, first, count, to, to + plane_floats, to + 2 * plane_floats);
          } else if (layout->separate) {
            convert(layout->type, row, first, 1, count, layout->flips && plane == 0, to + plane * plane_floats);
          } else {
            for (size_t band = 0; band < pixel_samples; band++) {
              convert(layout->type, row, first + band, pixel_samples, count, layout->flips && band == 0, to + band * plane_floats);
            }
          }
        }
      }
    }
  }
  free(buffer);
  return status;
}

/* Whether libtiff, reading the directory unmapped, runs past the end of the data: a cut file whose strips are whole
 * but whose tag values (JPEG tables, a colormap) are not, which a mapped handle reads as corrupt. */
static int directory_cut(const uint8_t *data, size_t size) {
  himg_tiff_source source;
  TIFF *tiff = himg_tiff_open(&source, data, size, 0);
  if (tiff != NULL) TIFFClose(tiff);
  return source.ran_out_of_data;
}

himg_status himg_tiff_decode_samples(const uint8_t *data, size_t size, const himg_samples_info *info,
                                     const himg_region *region, float *out) {
  himg_tiff_source source;
  TIFF *tiff = himg_tiff_open(&source, data, size, 1);
  if (tiff == NULL) {
    // Opened again unmapped to tell a truncated header (a short read) from a corrupt one.
    TIFF *unmapped = himg_tiff_open(&source, data, size, 0);
    if (unmapped != NULL) TIFFClose(unmapped);
    return himg_tiff_failure(&source, "header");
  }
  tiff_layout layout;
  himg_status status = layout_of(tiff, &layout);
  if (status == HIMG_OK && ((int64_t)layout.width != info->width || (int64_t)layout.height != info->height ||
                            layout.bands != info->bands || layout.type != info->sample_type)) {
    status = himg_fail(HIMG_ERROR_INVALID_ARGUMENT, "the info does not describe this TIFF");
  }
  if (status == HIMG_OK && layout.refusal[0] != '\0') status = himg_fail(HIMG_ERROR_UNSUPPORTED_FORMAT, "%s", layout.refusal);
  // A cut file fails whichever region is asked for, as a whole decode would.
  if (status == HIMG_OK && himg_tiff_data_ends_early(tiff, size)) {
    status = himg_fail(HIMG_ERROR_TRUNCATED, "TIFF decode: the data ends before the image's last %s does",
                       layout.tiled ? "tile" : "strip");
  }
  if (status == HIMG_OK) status = read_region(tiff, &source, &layout, region, out);
  TIFFClose(tiff);
  if (status == HIMG_ERROR_CORRUPT && directory_cut(data, size)) {
    char message[400];
    const char *reason = himg_last_error();
    snprintf(message, sizeof message, "%s", strncmp(reason, "TIFF decode: ", 13) == 0 ? reason + 13 : reason);
    status = himg_fail(HIMG_ERROR_TRUNCATED, "TIFF decode: the data ends early (%s)", message);
  }
  return status;
}
