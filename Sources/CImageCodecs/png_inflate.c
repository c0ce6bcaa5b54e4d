/* PNG's common case, inflated by libdeflate in one call.
 *
 * zlib's streaming inflate, which libpng drives, is 87% of the time spent decoding bench/loader.py's 2048×1536
 * PNGs (perf); libdeflate inflates a whole buffer in about half the time. This reader takes what writers almost
 * always produce (8-bit grey, grey + alpha, RGB, RGBA or palette, not interlaced) and hands everything else, and
 * every file it finds wrong (a bad checksum, too little or too much image data, an unknown critical chunk, a bad
 * filter byte), back to libpng, which decodes it or reports what is wrong exactly as before. The pixels are
 * libpng's: PNG's own unfiltering, then PIL's convert("RGB") (alpha dropped, palette expanded, an index past the
 * palette black as libpng makes it). */
#include <libdeflate.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"

static uint32_t be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The samples per pixel of a colour type this reader takes at 8 bits, or 0. */
static int channels_of(uint8_t color_type) {
  switch (color_type) {
  case 0: return 1;  // grey
  case 2: return 3;  // RGB
  case 3: return 1;  // palette index
  case 4: return 2;  // grey + alpha
  case 6: return 4;  // RGBA
  default: return 0;
  }
}

/* The layout of a file this reader takes: 8-bit, and with `sixteen` also 16-bit samples (not a palette). */
static int read_layout(const uint8_t *data, size_t size, int sixteen, himg_png_layout *layout) {
  // Signature, then IHDR: length 13, width, height, depth, colour type, compression, filter, interlace.
  static const uint8_t signature[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
  if (size < 33 || memcmp(data, signature, 8) != 0 || be32(data + 8) != 13 || memcmp(data + 12, "IHDR", 4) != 0) return 0;
  const uint8_t *ihdr = data + 16;
  const int channels = channels_of(ihdr[9]);
  const int depth_taken = ihdr[8] == 8 || (sixteen && ihdr[8] == 16 && ihdr[9] != 3);
  if (!depth_taken || channels == 0 || ihdr[10] != 0 || ihdr[11] != 0 || ihdr[12] != 0) return 0;
  layout->sample_bytes = ihdr[8] / 8;
  layout->width = be32(ihdr);
  layout->height = be32(ihdr + 4);
  layout->channels = channels;
  layout->palette = ihdr[9] == 3;
  if (layout->width == 0 || layout->height == 0 || layout->width > 0x7fffffff || layout->height > 0x7fffffff) return 0;
  return 1;
}

int himg_png_fast_layout(const uint8_t *data, size_t size, himg_png_layout *layout) {
  return read_layout(data, size, 0, layout);
}

size_t himg_png_fast_working_bytes(const himg_png_layout *layout, size_t file_size) {
  // The inflated rows (a filter byte each) and, when the image data spans several chunks, their joined copy.
  return ((size_t)layout->width * (size_t)layout->channels * (size_t)layout->sample_bytes + 1) * layout->height + file_size;
}

/* Where the compressed image data and the palette lie; 0 when libpng should look at the file instead. */
typedef struct png_chunks {
  const uint8_t *first_data; /* the first IDAT's payload */
  size_t data_size;          /* all IDAT payloads together */
  size_t data_chunks;
  uint8_t palette[256 * 3];  /* zero past the file's entries, as libpng leaves it */
} png_chunks;

static int find_chunks(const uint8_t *data, size_t size, const himg_png_layout *layout, png_chunks *chunks) {
  memset(chunks, 0, sizeof *chunks);
  int seen_palette = 0, data_ended = 0;
  for (size_t position = 8; position + 12 <= size;) {
    const size_t length = be32(data + position);
    if (length > 0x7fffffff || length > size - position - 12) return 0;
    const uint8_t *type = data + position + 4;
    const uint8_t *payload = type + 4;
    const int critical = (type[0] & 0x20) == 0;
    if (critical && libdeflate_crc32(0, type, length + 4) != be32(payload + length)) return 0;
    if (memcmp(type, "IDAT", 4) == 0) {
      if (data_ended || (layout->palette && !seen_palette)) return 0;
      if (chunks->data_chunks++ == 0) chunks->first_data = payload;
      chunks->data_size += length;
    } else {
      if (chunks->data_chunks > 0) data_ended = 1;
      if (memcmp(type, "IEND", 4) == 0) return chunks->data_chunks > 0;
      if (memcmp(type, "PLTE", 4) == 0) {
        if (seen_palette || length % 3 != 0 || length > sizeof chunks->palette || chunks->data_chunks > 0) return 0;
        memcpy(chunks->palette, payload, length);
        seen_palette = 1;
      } else if (critical && (position != 8 || memcmp(type, "IHDR", 4) != 0)) {
        return 0;  // an unknown critical chunk, or a second IHDR
      }
    }
    position += 12 + length;
  }
  return 0;  // no IEND: a cut file, for libpng to judge
}

/* Joins the IDAT payloads (which lie in order between other chunks' headers and checksums) into one buffer. */
static uint8_t *join_data(const uint8_t *data, size_t size, const png_chunks *chunks) {
  uint8_t *joined = malloc(chunks->data_size);
  if (joined == NULL) return NULL;
  size_t filled = 0;
  for (size_t position = (size_t)(chunks->first_data - data) - 8; filled < chunks->data_size && position + 12 <= size;) {
    const size_t length = be32(data + position);
    if (memcmp(data + position + 4, "IDAT", 4) == 0) {
      memcpy(joined + filled, data + position + 8, length);
      filled += length;
    }
    position += 12 + length;
  }
  return joined;
}

static uint8_t paeth(uint8_t a, uint8_t b, uint8_t c) {
  const int p = a + b - c;
  const int pa = abs(p - a), pb = abs(p - b), pc = abs(p - c);
  return pa <= pb && pa <= pc ? a : (pb <= pc ? b : c);
}

/* Undoes a row's filter in place, given the previous row's unfiltered bytes (zeros above the first). */
static int unfilter(uint8_t filter, uint8_t *row, const uint8_t *previous, size_t bytes, size_t bpp) {
  switch (filter) {
  case 0: break;
  case 1:
    for (size_t i = bpp; i < bytes; i++) row[i] = (uint8_t)(row[i] + row[i - bpp]);
    break;
  case 2:
    for (size_t i = 0; i < bytes; i++) row[i] = (uint8_t)(row[i] + previous[i]);
    break;
  case 3:
    for (size_t i = 0; i < bpp; i++) row[i] = (uint8_t)(row[i] + (previous[i] >> 1));
    for (size_t i = bpp; i < bytes; i++) row[i] = (uint8_t)(row[i] + ((row[i - bpp] + previous[i]) >> 1));
    break;
  case 4:
    for (size_t i = 0; i < bpp; i++) row[i] = (uint8_t)(row[i] + previous[i]);
    for (size_t i = bpp; i < bytes; i++) row[i] = (uint8_t)(row[i] + paeth(row[i - bpp], previous[i], previous[i - bpp]));
    break;
  default: return 0;
  }
  return 1;
}

/* Columns [left, right) of an unfiltered row as RGB. */
static void row_to_rgb(const uint8_t *row, const himg_png_layout *layout, const uint8_t *palette, size_t left,
                       size_t right, uint8_t *out) {
  const size_t channels = (size_t)layout->channels;
  const uint8_t *in = row + left * channels;
  const size_t count = right - left;
  if (layout->palette) {
    for (size_t x = 0; x < count; x++) memcpy(out + 3 * x, palette + 3 * (size_t)in[x], 3);
  } else if (channels == 3) {
    memcpy(out, in, count * 3);
  } else if (channels == 4) {
    for (size_t x = 0; x < count; x++) memcpy(out + 3 * x, in + 4 * x, 3);
  } else {  // grey, with or without alpha
    for (size_t x = 0; x < count; x++) memset(out + 3 * x, in[channels * x], 3);
  }
}

/* Receives row `y` of the image, unfiltered (and the file's palette). */
typedef void (*row_sink)(const uint8_t *row, size_t y, const uint8_t *palette, void *context);

/* Inflates the image data in one call and unfilters rows [0, bottom), handing rows [top, bottom) to `sink`;
 * 0 when libpng should decode the file instead. */
static int inflate_rows(const uint8_t *data, size_t size, const himg_png_layout *layout, size_t top, size_t bottom,
                        row_sink sink, void *context) {
  png_chunks *chunks = malloc(sizeof *chunks);
  if (chunks == NULL || !find_chunks(data, size, layout, chunks)) {
    free(chunks);
    return 0;
  }
  const size_t bpp = (size_t)layout->channels * (size_t)layout->sample_bytes;
  const size_t row_bytes = (size_t)layout->width * bpp;
  const size_t expected = (row_bytes + 1) * layout->height;
  uint8_t *joined = chunks->data_chunks > 1 ? join_data(data, size, chunks) : NULL;
  const uint8_t *compressed = chunks->data_chunks > 1 ? joined : chunks->first_data;
  uint8_t *rows = malloc(expected);
  uint8_t *zeros = calloc(row_bytes, 1);
  struct libdeflate_decompressor *inflater = libdeflate_alloc_decompressor();
  int decoded = 0;
  size_t produced = 0;
  if (compressed != NULL && rows != NULL && zeros != NULL && inflater != NULL &&
      libdeflate_zlib_decompress(inflater, compressed, chunks->data_size, rows, expected, &produced) == LIBDEFLATE_SUCCESS &&
      produced == expected) {
    decoded = 1;
    const uint8_t *previous = zeros;
    for (size_t y = 0; y < bottom && decoded; y++) {
      uint8_t *row = rows + y * (row_bytes + 1);
      decoded = unfilter(row[0], row + 1, previous, row_bytes, bpp);
      if (decoded && y >= top) sink(row + 1, y, chunks->palette, context);
      previous = row + 1;
    }
  }
  if (inflater != NULL) libdeflate_free_decompressor(inflater);
  free(zeros);
  free(rows);
  free(joined);
  free(chunks);
  return decoded;
}

typedef struct rgb_target {
  const himg_png_layout *layout;
  const himg_stored_region *region;
  uint8_t *pixels;
} rgb_target;

static void emit_rgb(const uint8_t *row, size_t y, const uint8_t *palette, void *context) {
  const rgb_target *target = context;
  const himg_stored_region *region = target->region;
  const size_t out_bytes = (region->right - region->left) * 3;
  row_to_rgb(row, target->layout, palette, region->left, region->right, target->pixels + (y - region->top) * out_bytes);
}

int himg_png_fast_decode(const uint8_t *data, size_t size, const himg_stored_region *region, uint8_t *pixels) {
  himg_png_layout layout;
  if (!himg_png_fast_layout(data, size, &layout) || region->right > layout.width || region->bottom > layout.height ||
      region->left >= region->right || region->top >= region->bottom) {
    return 0;
  }
  rgb_target target = {&layout, region, pixels};
  return inflate_rows(data, size, &layout, region->top, region->bottom, emit_rgb, &target);
}

typedef struct samples_target {
  const himg_png_layout *layout;
  const himg_region *region;
  float *out;
} samples_target;

/* The region's columns of a row into every band's plane (CHW); 16-bit samples are big-endian in the file. */
static void emit_samples(const uint8_t *row, size_t y, const uint8_t *palette, void *context) {
  (void)palette;
  const samples_target *target = context;
  const size_t channels = (size_t)target->layout->channels, width = (size_t)target->region->width;
  const size_t plane = width * (size_t)target->region->height, line = y - (size_t)target->region->top;
  for (size_t band = 0; band < channels; band++) {
    float *to = target->out + band * plane + line * width;
    const size_t first = (size_t)target->region->left * channels + band;
    if (target->layout->sample_bytes == 2) {
      for (size_t x = 0; x < width; x++) {
        const uint8_t *sample = row + (first + x * channels) * 2;
        to[x] = (float)((uint32_t)sample[0] << 8 | sample[1]);
      }
    } else {
      for (size_t x = 0; x < width; x++) to[x] = (float)row[first + x * channels];
    }
  }
}

int himg_png_fast_decode_samples(const uint8_t *data, size_t size, const himg_samples_info *info, const himg_region *region,
                                 float *out) {
  himg_png_layout layout;
  const int sample_bytes = info->sample_type == HIMG_SAMPLE_UINT16 ? 2 : 1;
  if (!read_layout(data, size, 1, &layout) || layout.palette || layout.channels != info->bands ||
      layout.sample_bytes != sample_bytes || (int64_t)layout.width != info->width || (int64_t)layout.height != info->height ||
      region->left < 0 ||
      region->top < 0 || region->width <= 0 || region->height <= 0 ||
      (uint64_t)region->left + (uint64_t)region->width > layout.width ||
      (uint64_t)region->top + (uint64_t)region->height > layout.height) {
    return 0;
  }
  samples_target target = {&layout, region, out};
  return inflate_rows(data, size, &layout, (size_t)region->top, (size_t)region->top + (size_t)region->height, emit_samples,
                      &target);
}
