/* CImageCodecs: JPEG (libjpeg-turbo), PNG (libpng), WebP (libwebp), TIFF (libtiff) and BMP (our own reader)
 * decoding to packed RGB, behind a plain C ABI.
 *
 * Decoding is two calls: himg_plan() reads only the header and says how large the output will be,
 * the caller allocates width * height * 3 bytes, and himg_decode() fills them. Every function
 * returns a himg_status; on failure, himg_last_error() holds a message for the calling thread.
 * Nothing here aborts, prints or keeps global state beyond that thread-local message. */
#ifndef CIMAGECODECS_H
#define CIMAGECODECS_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: every entry point returns one. */
typedef int32_t himg_status;
enum {
  HIMG_OK = 0,
  HIMG_ERROR_INVALID_ARGUMENT = 1, /* a null pointer, a short buffer, a negative size */
  HIMG_ERROR_UNSUPPORTED_FORMAT = 2, /* no format we read, by magic bytes, or a variant we do not (RLE BMP, animated WebP) */
  HIMG_ERROR_TRUNCATED = 3,        /* the data ends before the image does */
  HIMG_ERROR_CORRUPT = 4,          /* the codec rejected the data */
  HIMG_ERROR_TOO_MANY_PIXELS = 5,  /* header width * height exceeds the caller's limit */
  HIMG_ERROR_OUT_OF_MEMORY = 6,    /* a codec-internal allocation failed */
};

/* File formats recognised by their leading bytes. */
typedef int32_t himg_format;
enum {
  HIMG_FORMAT_UNKNOWN = 0,
  HIMG_FORMAT_JPEG = 1,
  HIMG_FORMAT_PNG = 2,
  HIMG_FORMAT_WEBP = 3,
  HIMG_FORMAT_TIFF = 4,
  HIMG_FORMAT_BMP = 5,
};

/* JPEG colour spaces as stored in the file (every other format reports HIMG_COLORSPACE_RGB). */
enum {
  HIMG_COLORSPACE_RGB = 0,
  HIMG_COLORSPACE_YCBCR = 1,
  HIMG_COLORSPACE_GRAY = 2,
  HIMG_COLORSPACE_CMYK = 3,
  HIMG_COLORSPACE_YCCK = 4,
};

/* What the caller needs; zero fields mean "no requirement", and no requirement at all means full resolution. */
typedef struct himg_options {
  int32_t min_shorter_side; /* JPEG DCT scaling keeps the output's shorter side at least this long */
  int32_t min_width;        /* ...and the output (after EXIF orientation) at least this wide */
  int32_t min_height;       /* ...and at least this tall */
  uint64_t max_pixels;      /* reject headers with width * height above this; 0 disables the check */
  int32_t ignore_orientation; /* non-zero: do not apply the EXIF orientation tag */
  uint64_t file_size;       /* the whole file's size when data holds only its start (a plan from the
                               header alone); 0: data is the whole file */
} himg_options;

/* The outcome of reading a header: everything himg_decode() needs, plus facts for the caller. */
typedef struct himg_plan {
  himg_format format;      /* HIMG_FORMAT_JPEG, _PNG, _WEBP, _TIFF or _BMP */
  int32_t source_width;    /* as stored in the file */
  int32_t source_height;   /* as stored in the file */
  int32_t colorspace;      /* HIMG_COLORSPACE_* of the stored data */
  int32_t subsampling;     /* JPEG chroma subsampling (TurboJPEG TJSAMP_* value); -1 for other formats */
  int32_t orientation;     /* EXIF orientation 1-8 that will be applied; 1 when absent or ignored */
  int32_t scale_numerator; /* DCT scaling factor chosen for JPEG; 1/1 for other formats */
  int32_t scale_denominator;
  int32_t width;           /* output width after scaling and orientation */
  int32_t height;          /* output height after scaling and orientation */
  int64_t working_bytes;   /* what decoding holds at most besides the file and the output pixels */
} himg_plan;

/* The message of the last failure on this thread (never NULL; empty when none). */
const char *himg_last_error(void);

/* Recognises JPEG (FF D8 FF), PNG (89 'PNG' 0D 0A 1A 0A), WebP ('RIFF' size 'WEBP'), TIFF ('II*\0', 'MM\0*',
 * BigTIFF 'II+\0', 'MM\0+') and BMP ('BM') by their leading bytes. */
himg_format himg_detect_format(const uint8_t *data, size_t size);

/* Reads the header of an image in memory, applies the pixel limit and fills *plan; allocates nothing per pixel. */
himg_status himg_plan_decode(const uint8_t *data, size_t size, const himg_options *options, himg_plan *plan);

/* Decodes into pixels (plan->width * plan->height * 3 bytes, packed HWC RGB) per a plan from himg_plan_decode. */
himg_status himg_decode(const uint8_t *data, size_t size, const himg_plan *plan, uint8_t *pixels, size_t capacity);

/* A rectangle of a plan's output (after scaling and orientation), in pixels. */
typedef struct himg_region {
  int32_t left;
  int32_t top;
  int32_t width;
  int32_t height;
} himg_region;

/* Decodes only `region` of the plan's output into pixels (region->width * region->height * 3 bytes, packed HWC
 * RGB): the same pixels as himg_decode() followed by cropping. A JPEG decodes only the iMCU rows and columns the
 * region needs (libjpeg's jpeg_crop_scanline and jpeg_skip_scanlines) and stops after its last row; other formats
 * decode whole and copy the region. */
himg_status himg_decode_region(const uint8_t *data, size_t size, const himg_plan *plan, const himg_region *region,
                               uint8_t *pixels, size_t capacity);

/* Encodes packed HWC RGB as a baseline JPEG of `quality` (1-100); *out is malloc'd, free it with himg_free. */
himg_status himg_encode_jpeg(const uint8_t *pixels, int32_t width, int32_t height, int32_t quality, uint8_t **out,
                             size_t *size);

/* Encodes packed HWC RGB as an 8-bit RGB PNG; `fast` non-zero trades size for speed. *out is malloc'd, free it with
 * himg_free. */
himg_status himg_encode_png(const uint8_t *pixels, int32_t width, int32_t height, int32_t fast, uint8_t **out,
                            size_t *size);

/* Encodes packed HWC RGB as a WebP: lossless when `lossless` is non-zero, otherwise lossy at `quality` (1-100).
 * *out is malloc'd, free it with himg_free. */
himg_status himg_encode_webp(const uint8_t *pixels, int32_t width, int32_t height, int32_t quality, int32_t lossless,
                             uint8_t **out, size_t *size);

/* ---- Tiled TIFF pages read a region at a time (whole-slide levels) ----
 *
 * A page's region is read from only the tiles it touches, and of a JPEG tile only the part it needs; several
 * threads may read one file at once. Pixels outside the page, and tiles the file leaves out (no bytes), are the
 * background. Pages read: tiled, 8-bit RGB (or YCbCr JPEG), contiguous; JPEG (with or without JPEGTables) or any
 * lossless compression libtiff decodes. */
typedef struct himg_tiled_tiff himg_tiled_tiff;

/* Opens the file (kept open for pread, never mapped) and describes its pages (the main IFD chain); NULL with
 * himg_last_error when it cannot. */
himg_tiled_tiff *himg_tiled_tiff_open(const char *path);
void himg_tiled_tiff_close(himg_tiled_tiff *file);

/* The index of the first page of width x height when it is one this reader reads; -1 when there is none or it is not. */
int32_t himg_tiled_tiff_find_page(const himg_tiled_tiff *file, int64_t width, int64_t height);

/* The region at (x, y) (the page's pixels; it may reach outside the page) into rgb, width * height * 3 bytes, HWC. */
himg_status himg_tiled_tiff_read(himg_tiled_tiff *file, int32_t page, int64_t x, int64_t y, int64_t width, int64_t height,
                                 const uint8_t background[3], uint8_t *rgb);

/* Frees memory returned by this library. */
void himg_free(void *memory);

/* Reads the EXIF orientation (1-8) of a JPEG's first APP1 Exif segment; 1 when absent or malformed. */
int32_t himg_jpeg_orientation(const uint8_t *data, size_t size);

/* Reads the orientation tag from a bare TIFF-structured EXIF block ("II*\0" or "MM\0*"); 1 when absent. */
int32_t himg_exif_orientation(const uint8_t *tiff, size_t size);

/* Copies packed RGB src (width x height) into dst with EXIF orientation 1-8 undone, as PIL's exif_transpose. */
himg_status himg_orient_rgb(const uint8_t *src, int32_t width, int32_t height, int32_t orientation, uint8_t *dst);

/* Picks the smallest of the scaling factors 1/8, 1/4, 1/2 and 1 (those with SIMD IDCTs, and PIL's draft() scales) whose
 * output meets the options; writes numerator and denominator. */
himg_status himg_jpeg_choose_scale(int32_t width, int32_t height, int32_t orientation, const himg_options *options,
                                   int32_t *numerator, int32_t *denominator);

/* ---- Full-depth samples: every band at the precision stored, for scans and multispectral tiles ----
 *
 * The RGB path above reads photos as PIL's convert("RGB") does. This one reads TIFF (striped or tiled, BigTIFF,
 * contiguous or separate planes, any number of samples per pixel) and PNG (1-16 bits, grey, grey + alpha, RGB,
 * RGBA, palette) keeping every sample: uint8, uint16, int16 (and int8, uint32, int32, float32, float64) values
 * become float32 unchanged (32- and 64-bit values rounded to float32), band after band. Nothing is inverted,
 * composited or dropped, except that min-is-white integer samples are flipped (max - v) so that larger means
 * brighter, a palette is expanded to its colours, and PNG's sub-8-bit grey is expanded to 8 bits as libpng does.
 * The orientation tag is not applied on this path. */
typedef int32_t himg_sample_type;
enum {
  HIMG_SAMPLE_UINT8 = 1,
  HIMG_SAMPLE_UINT16 = 2,
  HIMG_SAMPLE_INT16 = 3,
  HIMG_SAMPLE_FLOAT32 = 4,
  HIMG_SAMPLE_INT8 = 5,
  HIMG_SAMPLE_UINT32 = 6,
  HIMG_SAMPLE_INT32 = 7,
  HIMG_SAMPLE_FLOAT64 = 8,
};

/* What the bands are, as the file says. */
enum {
  HIMG_BANDS_GREY = 1,      /* one band (and perhaps alpha or unspecified extra bands) */
  HIMG_BANDS_RGB = 2,       /* red, green, blue (and perhaps more) */
  HIMG_BANDS_OTHER = 3,     /* anything else: multispectral, CMYK as data, an unknown photometric */
};

typedef struct himg_samples_info {
  himg_format format;        /* HIMG_FORMAT_TIFF or _PNG (others: himg_read_samples_info fails as unsupported) */
  int32_t width;             /* as stored */
  int32_t height;
  int32_t bands;             /* samples per pixel as decoded: extra samples included; a palette gives 3 */
  himg_sample_type sample_type;
  int32_t bits_per_sample;   /* significant bits: 1-16 for integers as stored, 32 or 64 for floats and 32-bit ints */
  int32_t band_kind;         /* HIMG_BANDS_* */
  int32_t alpha_band;        /* index of a band the file marks as alpha, or -1 */
  int32_t is_photo;          /* 1: what the RGB path reads without loss of meaning: 8-bit (or fewer) unsigned
                                grey, grey + alpha, palette, RGB or RGBA (alpha marked as alpha), or a
                                YCbCr/JPEG-compressed TIFF; 0 for anything deeper, signed, float, or with bands
                                beyond colour and alpha */
  int32_t tile_width;        /* TIFF: tile width, or the image width for strips; PNG: the width */
  int32_t tile_height;       /* TIFF: tile height, or rows per strip; PNG: 1 */
  int64_t working_bytes;     /* what decoding a region holds at most besides the file and the output */
} himg_samples_info;

/* Reads the header of a TIFF or PNG in memory (the pixel limit of `options` applies to width * height; its other
 * fields are ignored) and fills *info. An image this path cannot read fails with HIMG_ERROR_UNSUPPORTED_FORMAT and
 * a message naming what (e.g. "TIFF: 12-bit samples packed across bytes"). */
himg_status himg_read_samples_info(const uint8_t *data, size_t size, const himg_options *options, himg_samples_info *info);

/* Decodes `region` (in stored pixels, inside the image) into `out`: float32, bands * region->height * region->width
 * values, band-major (CHW). Only the strips or tiles the region touches are decoded (a PNG's rows above and
 * through the region; the rows below are not). `capacity` counts floats. */
himg_status himg_decode_samples(const uint8_t *data, size_t size, const himg_samples_info *info, const himg_region *region,
                                float *out, size_t capacity);

/* The HSV saturation (OpenCV's 8-bit scale, 0-255) of `pixels` RGB pixels into `saturation`,
 * each counted in `histogram` (256 entries, added to). */
void himg_hsv_saturation(const uint8_t *rgb, size_t pixels, uint8_t *saturation, uint64_t *histogram);
/* Writes the indices of the values above `threshold` (room for `count`), in order; returns how many. */
size_t himg_indices_above(const uint8_t *values, size_t count, uint8_t threshold, int32_t *indices);

#ifdef __cplusplus
}
#endif

#endif /* CIMAGECODECS_H */
