// Placeholder until the GDCM reader lands: every call says it is not there.
#include "CDicom.h"

extern "C" {
const char *hdcm_last_error(void) { return "DICOM is not read yet"; }
int32_t hdcm_is_dicom(const uint8_t *data, size_t size) {
  return data != nullptr && size >= 132 && data[128] == 'D' && data[129] == 'I' && data[130] == 'C' && data[131] == 'M';
}
hdcm_status hdcm_read_info(const uint8_t *, size_t, uint64_t, hdcm_info *) { return HDCM_ERROR_UNSUPPORTED; }
hdcm_status hdcm_decode(const uint8_t *, size_t, int32_t, float *, size_t) { return HDCM_ERROR_UNSUPPORTED; }
}
