/* Declarations shared by the codec files; not part of the public header. */
#ifndef CIMAGECODECS_INTERNAL_H
#define CIMAGECODECS_INTERNAL_H

#include "CImageCodecs.h"

/* Formats the thread-local message and returns status, so failures read `return himg_fail(...)`. */
himg_status himg_fail(himg_status status, const char *format, ...) __attribute__((format(printf, 2, 3)));

/* Clears the thread-local message at the start of a call. */
void himg_clear_error(void);

/* Applies the pixel limit to header dimensions before anything is allocated. */
himg_status himg_check_pixel_limit(int64_t width, int64_t height, const himg_options *options);

himg_status himg_jpeg_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_jpeg_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);
/* A rectangle of the image as stored (scaled, not yet oriented): columns [left, right), rows [top, bottom). */
typedef struct himg_stored_region {
  size_t left, top, right, bottom;
} himg_stored_region;

/* Decoders of a stored rectangle into `pixels` ((right - left) * (bottom - top) * 3 bytes), each decoding as
 * little of the rest as its format allows. */
himg_status himg_jpeg_decode_region(const uint8_t *data, size_t size, const himg_plan *plan,
                                    const himg_stored_region *region, uint8_t *pixels);
/* What himg_jpeg_decode_window decodes, and where to. */
typedef struct himg_jpeg_window {
  const uint8_t *tables; /* a TIFF page's JPEGTables (the stream is abbreviated), or NULL */
  size_t tables_size;
  int stored_color_space; /* libjpeg's J_COLOR_SPACE of the data when the container says it (TIFF's photometric), or 0 */
  unsigned scale_numerator, scale_denominator; /* 0/0 for libjpeg's default, 1/1 */
  size_t expected_width, expected_height;      /* the output size the caller planned, or 0: any that holds the window */
  size_t left, top, right, bottom;             /* columns [left, right), rows [top, bottom) of the output */
  uint8_t *pixels;                             /* (bottom - top) rows of (right - left) RGB pixels ... */
  size_t row_bytes;                            /* ... this many bytes apart */
} himg_jpeg_window;
/* Decodes the window only (iMCU columns it needs, rows above skipped, stopping after its last): the same pixels as
 * a whole decode cropped. */
himg_status himg_jpeg_decode_window(const uint8_t *data, size_t size, const himg_jpeg_window *window);
/* Whether a PNG (complete, not interlaced) or a WebP (complete) can be decoded a region at a time. */
int himg_png_reads_regions(const uint8_t *data, size_t size);
int himg_webp_reads_regions(const uint8_t *data, size_t size);
himg_status himg_png_decode_region(const uint8_t *data, size_t size, const himg_plan *plan,
                                   const himg_stored_region *region, uint8_t *pixels);
himg_status himg_webp_decode_region(const uint8_t *data, size_t size, const himg_plan *plan,
                                    const himg_stored_region *region, uint8_t *pixels);
/* PNG's common case (8-bit, not interlaced, no unusual chunks), read with libdeflate instead of libpng (png_inflate.c). */
typedef struct himg_png_layout {
  uint32_t width, height;
  int channels; /* samples per pixel: 1 grey or palette index, 2 grey + alpha, 3 RGB, 4 RGBA */
  int palette;
  int sample_bytes; /* 1, or 2 for 16-bit samples */
} himg_png_layout;
/* 1 when the header is one the fast reader takes, with its layout. */
int himg_png_fast_layout(const uint8_t *data, size_t size, himg_png_layout *layout);
/* What the fast reader holds besides the file and the output pixels. */
size_t himg_png_fast_working_bytes(const himg_png_layout *layout, size_t file_size);
/* 1 when the fast reader decoded the stored region into `pixels`; 0 when libpng must (nothing is reported). */
int himg_png_fast_decode(const uint8_t *data, size_t size, const himg_stored_region *region, uint8_t *pixels);
/* The same for full-depth samples: 8- or 16-bit grey, grey + alpha, RGB or RGBA as `info` describes the file, the
 * region's values as float32 CHW; 0 when libpng must. */
int himg_png_fast_decode_samples(const uint8_t *data, size_t size, const himg_samples_info *info, const himg_region *region,
                                 float *out);
/* Whether the entropy-coded data of a JPEG reaches its end marker (a cut file does not). */
int himg_jpeg_is_complete(const uint8_t *data, size_t size);
himg_status himg_png_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_png_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);
himg_status himg_webp_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_webp_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);
himg_status himg_tiff_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_tiff_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);
himg_status himg_bmp_plan(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);
himg_status himg_bmp_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels);

/* libtiff reading from memory (tiff_source.c), for tiff.c and samples_tiff.c: the file, the read position, and
 * what went wrong. */
typedef struct himg_tiff_source {
  const uint8_t *data;
  size_t size;
  size_t offset;
  int ran_out_of_data;
  char message[256]; /* libtiff's first error on this handle */
} himg_tiff_source;
struct tiff; /* libtiff's TIFF, kept out of every file that includes this one */
/* Opens the first image; NULL on failure, with the reason in *source. mapped: strips and tiles are read in place
 * (tiff_source.c says why decoding needs that); unmapped: a short read tells a truncated header from a corrupt one. */
struct tiff *himg_tiff_open(himg_tiff_source *source, const uint8_t *data, size_t size, int mapped);
/* Opens the file at `path` (read, not mapped) with the same silent handlers; NULL on failure, the reason in *source. */
struct tiff *himg_tiff_open_file(himg_tiff_source *source, const char *path);
/* Whether a strip or tile the directory lists lies past the end of the data (a mapped handle's reads fail there
 * without a short read). */
int himg_tiff_data_ends_early(struct tiff *tiff, size_t size);
/* The status of a libtiff failure: truncated when a read came back short. */
himg_status himg_tiff_failure(const himg_tiff_source *source, const char *stage);

/* libpng reading from memory (png_session.c), for png.c and samples_png.c. A reader that calls setjmp keeps its
 * buffers here, so that himg_png_session_close frees them whether or not libpng jumped. */
typedef struct himg_png_session {
  struct png_struct_def *png; /* libpng's png_structp and png_infop */
  struct png_info_def *info;
  const uint8_t *data;
  size_t size;
  size_t offset;
  int ran_out_of_data;
  unsigned char **rows; /* freed by himg_png_session_close */
  himg_status status;   /* set by the error handler before it jumps */
} himg_png_session;
himg_status himg_png_session_open(himg_png_session *session, const uint8_t *data, size_t size);
void himg_png_session_close(himg_png_session *session);
/* Reads the chunks before the first IDAT. */
himg_status himg_png_read_info(himg_png_session *session);

/* The full-depth readers (samples_tiff.c, samples_png.c). *info arrives zeroed with alpha_band -1; decoding comes
 * after samples.c has checked the region against *info and the output's capacity. */
himg_status himg_tiff_samples_info(const uint8_t *data, size_t size, const himg_options *options, himg_samples_info *info);
himg_status himg_tiff_decode_samples(const uint8_t *data, size_t size, const himg_samples_info *info,
                                     const himg_region *region, float *out);
himg_status himg_png_samples_info(const uint8_t *data, size_t size, const himg_options *options, himg_samples_info *info);
himg_status himg_png_decode_samples(const uint8_t *data, size_t size, const himg_samples_info *info,
                                    const himg_region *region, float *out);

/* Fills the plan of a format decoded at full resolution (all but JPEG) from its stored size and orientation. */
void himg_plan_full_resolution(himg_plan *plan, himg_format format, int32_t width, int32_t height, int32_t orientation);

/* Where a full-resolution decoder writes: `pixels` itself, or a scratch buffer (set in *scratch) when an
 * orientation must be undone afterwards by himg_finish_orientation. */
himg_status himg_decode_target(const himg_plan *plan, uint8_t *pixels, uint8_t **target, uint8_t **scratch);

/* Undoes the plan's orientation from scratch into pixels when the decode succeeded, and frees scratch. */
himg_status himg_finish_orientation(const himg_plan *plan, himg_status status, uint8_t *scratch, uint8_t *pixels);

/* True for orientations 5-8, which swap width and height. */
static inline int himg_orientation_transposes(int32_t orientation) { return orientation >= 5 && orientation <= 8; }

/* The stored pixel (of a w x h image as stored) that PIL's exif_transpose places at output pixel (x, y):
 * 2 mirror, 3 rotate 180, 4 flip, 5 transpose, 6 rotate 90 clockwise, 7 transverse, 8 rotate 90 anticlockwise. */
static inline void himg_oriented_source(int32_t orientation, size_t w, size_t h, size_t x, size_t y, size_t *sx,
                                        size_t *sy) {
  switch (orientation) {
  case 2: *sx = w - 1 - x; *sy = y; break;
  case 3: *sx = w - 1 - x; *sy = h - 1 - y; break;
  case 4: *sx = x; *sy = h - 1 - y; break;
  case 5: *sx = y; *sy = x; break;
  case 6: *sx = y; *sy = h - 1 - x; break;
  case 7: *sx = w - 1 - y; *sy = h - 1 - x; break;
  case 8: *sx = w - 1 - y; *sy = x; break;
  default: *sx = x; *sy = y; break;
  }
}

/* The plan's width and height as stored in the file, before the orientation is undone. */
static inline int32_t himg_stored_width(const himg_plan *plan) {
  return himg_orientation_transposes(plan->orientation) ? plan->height : plan->width;
}
static inline int32_t himg_stored_height(const himg_plan *plan) {
  return himg_orientation_transposes(plan->orientation) ? plan->width : plan->height;
}

/* Little-endian reads, for the RIFF and BMP headers. */
static inline uint32_t himg_le16(const uint8_t *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static inline uint32_t himg_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

#endif
