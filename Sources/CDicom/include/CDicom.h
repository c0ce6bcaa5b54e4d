/* CDicom: single-frame DICOM images through GDCM (Debian's libgdcm-dev), behind a plain C ABI.
 *
 * Values come out as the modality defines them: stored value * RescaleSlope + RescaleIntercept (Hounsfield units
 * for CT), as float32, band-major. MONOCHROME1 is inverted so that larger means brighter: v -> lo + hi - v, where
 * lo and hi are the modality values of the smallest and largest storable values (BitsStored, PixelRepresentation);
 * YBR_* colour is converted to RGB (as pydicom's convert_color_space does). Every transfer syntax GDCM decodes is
 * read: implicit and explicit little endian, explicit big endian, deflate, RLE, JPEG baseline / extended /
 * lossless, JPEG-LS, JPEG 2000. Nothing here aborts, prints or throws across the ABI. */
#ifndef CDICOM_H
#define CDICOM_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Status codes: the same values as CImageCodecs' himg_status. */
typedef int32_t hdcm_status;
enum {
  HDCM_OK = 0,
  HDCM_ERROR_INVALID_ARGUMENT = 1,
  HDCM_ERROR_UNSUPPORTED = 2,   /* not DICOM, no pixel data, a transfer syntax or layout GDCM cannot decode */
  HDCM_ERROR_TRUNCATED = 3,
  HDCM_ERROR_CORRUPT = 4,
  HDCM_ERROR_TOO_MANY_PIXELS = 5,
  HDCM_ERROR_OUT_OF_MEMORY = 6,
};

typedef struct hdcm_info {
  int32_t width;                 /* Columns */
  int32_t height;                /* Rows */
  int32_t bands;                 /* SamplesPerPixel: 1 or 3 */
  int32_t frames;                /* NumberOfFrames (1 when absent) */
  int32_t bits_allocated;
  int32_t bits_stored;
  int32_t pixel_representation;  /* 0 unsigned, 1 signed */
  double rescale_slope;          /* 1 when absent */
  double rescale_intercept;      /* 0 when absent */
  double value_min;              /* the modality values of the smallest and largest storable values */
  double value_max;
  char photometric[32];          /* e.g. "MONOCHROME2", "YBR_FULL_422" */
  char transfer_syntax[80];      /* the UID, e.g. "1.2.840.10008.1.2.4.50" */
  char transfer_syntax_name[80]; /* e.g. "JPEG Baseline (Process 1)" */
  char modality[16];             /* e.g. "CT"; empty when absent */
} hdcm_info;

/* The message of the last failure on this thread (never NULL; empty when none). */
const char *hdcm_last_error(void);

/* 1 when the bytes start as a DICOM Part 10 file ("DICM" after the 128-byte preamble). */
int32_t hdcm_is_dicom(const uint8_t *data, size_t size);

/* Reads the header of a DICOM file in memory; max_pixels (0: none) limits width * height * frames. */
hdcm_status hdcm_read_info(const uint8_t *data, size_t size, uint64_t max_pixels, hdcm_info *info);

/* Decodes frame `frame` (0-based) into `out`: bands * height * width float32 modality values, band-major (CHW);
 * `capacity` counts floats. */
hdcm_status hdcm_decode(const uint8_t *data, size_t size, int32_t frame, float *out, size_t capacity);

#ifdef __cplusplus
}
#endif

#endif /* CDICOM_H */
