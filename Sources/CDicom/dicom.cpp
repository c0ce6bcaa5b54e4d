// CDicom: DICOM pixel data through GDCM 3.0 (Debian's libgdcm-dev) behind the C ABI of CDicom.h.
//
// Debian builds GDCM without NDEBUG, so its many assert()s are live and abort the process on odd input, and
// some of its codec wrappers trust the codestream over the DICOM attributes (a JPEG 2000 frame larger than
// Rows x Columns overflows a heap buffer). So GDCM only ever sees input that was checked here first:
//   1. StructureCheck walks the element tree of the file (inflating a deflated data set) before gdcm::Reader
//      parses it: every header and value fits, VRs are real, sequences and items nest and end properly.
//   2. The image attributes are read and checked here, not through GDCM's Attribute<> templates.
//   3. The decoder is handed a clean data set holding only those attributes (rewritten) and the pixel data of
//      the wanted frame, whose codestream header (JPEG, JPEG-LS, JPEG 2000, RLE) must match the attributes.
// Two GDCM 3.0 decoding bugs are worked around: 32-bit big-endian samples and RLE colour above 8 bits.
#include "CDicom.h"

#include <gdcmDataSet.h>
#include <gdcmFile.h>
#include <gdcmImage.h>
#include <gdcmImageReader.h>
#include <gdcmJPEG2000Codec.h>
#include <gdcmJPEGCodec.h>
#include <gdcmJPEGLSCodec.h>
#include <gdcmMediaStorage.h>
#include <gdcmRAWCodec.h>
#include <gdcmRLECodec.h>
#include <gdcmReader.h>
#include <gdcmSequenceOfFragments.h>
#include <gdcmSequenceOfItems.h>
#include <gdcmTrace.h>
#include <gdcmTransferSyntax.h>

#include <dlfcn.h>
#if __has_include(<zlib.h>)
#include <zlib.h>  // types only: the functions are looked up at run time, see inflate_raw()
#define CDICOM_HAVE_ZLIB_H 1
#endif

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <istream>
#include <mutex>
#include <new>
#include <string>
#include <vector>

namespace {

thread_local char last_error[512];

hdcm_status fail(hdcm_status status, const std::string &message) {
  std::snprintf(last_error, sizeof last_error, "%s", message.c_str());
  return status;
}

// gdcm::Trace's switches are process-wide statics: set them once.
void quiet_gdcm() {
  static std::once_flag once;
  std::call_once(once, [] {
    gdcm::Trace::SetDebug(false);
    gdcm::Trace::SetWarning(false);
    gdcm::Trace::SetError(false);
  });
}

// A read-only istream over the caller's bytes, without copying them; GDCM seeks, so seeking is supported.
class MemoryBuffer : public std::streambuf {
public:
  MemoryBuffer(const uint8_t *data, size_t size) {
    char *p = const_cast<char *>(reinterpret_cast<const char *>(data));
    setg(p, p, p + size);
  }

protected:
  pos_type seekoff(off_type off, std::ios_base::seekdir dir, std::ios_base::openmode which) override {
    if (!(which & std::ios_base::in)) return pos_type(off_type(-1));
    off_type base = dir == std::ios_base::beg ? 0 : dir == std::ios_base::cur ? gptr() - eback() : egptr() - eback();
    off_type target = base + off;
    if (target < 0 || target > egptr() - eback()) return pos_type(off_type(-1));
    setg(eback(), eback() + target, egptr());
    return pos_type(target);
  }
  pos_type seekpos(pos_type pos, std::ios_base::openmode which) override {
    return seekoff(off_type(pos), std::ios_base::beg, which);
  }
};

// ---- Reading attribute values without GDCM's asserting Attribute<> templates ----

const gdcm::ByteValue *bytes_of(const gdcm::DataSet &ds, uint16_t group, uint16_t element) {
  const gdcm::Tag tag(group, element);
  if (!ds.FindDataElement(tag)) return nullptr;
  const gdcm::DataElement &de = ds.GetDataElement(tag);
  if (de.IsEmpty()) return nullptr;
  return de.GetByteValue();
}

// US values: GDCM keeps them in host byte order (it swaps big-endian data as it reads).
bool read_us(const gdcm::DataSet &ds, uint16_t group, uint16_t element, unsigned &out) {
  const gdcm::ByteValue *bv = bytes_of(ds, group, element);
  if (!bv || bv->GetLength() < 2) return false;
  uint16_t v;
  std::memcpy(&v, bv->GetPointer(), 2);
  out = v;
  return true;
}

std::string trimmed(std::string s) {
  size_t end = s.find_last_not_of(std::string(" \0", 2));
  s.erase(end == std::string::npos ? 0 : end + 1);
  size_t begin = s.find_first_not_of(' ');
  return begin == std::string::npos ? std::string() : s.substr(begin);
}

std::string read_string(const gdcm::DataSet &ds, uint16_t group, uint16_t element) {
  const gdcm::ByteValue *bv = bytes_of(ds, group, element);
  if (!bv || !bv->GetPointer()) return std::string();
  return trimmed(std::string(bv->GetPointer(), bv->GetLength()));
}

// The first value of a DS / IS string; false when absent or empty, `bad` when present but not a number.
bool read_number(const gdcm::DataSet &ds, uint16_t group, uint16_t element, double &out, bool &bad) {
  bad = false;
  std::string s = read_string(ds, group, element);
  s = trimmed(s.substr(0, s.find('\\')));
  if (s.empty()) return false;
  char *end = nullptr;
  double v = std::strtod(s.c_str(), &end);
  if (end == s.c_str() || *end != '\0' || !std::isfinite(v)) {
    bad = true;
    return false;
  }
  out = v;
  return true;
}

void copy_field(char *dst, size_t capacity, const std::string &src) {
  std::snprintf(dst, capacity, "%s", src.c_str());
}

// Enhanced (multi-frame) objects keep Rescale Slope / Intercept in the Shared Functional Groups Sequence
// (5200,9229) > Pixel Value Transformation Sequence (0028,9145); only already-parsed sequences are looked at.
const gdcm::DataSet *first_item(const gdcm::DataSet &ds, uint16_t group, uint16_t element) {
  const gdcm::Tag tag(group, element);
  if (!ds.FindDataElement(tag)) return nullptr;
  const gdcm::DataElement &de = ds.GetDataElement(tag);
  if (de.IsEmpty()) return nullptr;  // GetValue() would assert on a missing value
  const gdcm::SequenceOfItems *sq = dynamic_cast<const gdcm::SequenceOfItems *>(&de.GetValue());
  if (!sq || sq->GetNumberOfItems() < 1) return nullptr;
  return &sq->GetItem(1).GetNestedDataSet();
}

// Is this transfer syntax decoded by one of GDCM's codecs?
bool gdcm_decodes(const gdcm::TransferSyntax &ts) {
  if (ts == gdcm::TransferSyntax::TS_END) return false;
  if (gdcm::RAWCodec().CanDecode(ts) || gdcm::RLECodec().CanDecode(ts)) return true;
  if (gdcm::JPEGCodec().CanDecode(ts) || gdcm::JPEGLSCodec().CanDecode(ts)) return true;
  return gdcm::JPEG2000Codec().CanDecode(ts);
}

// Names of the transfer syntaxes (PS3.6 Table A-1). A table here because gdcm::UIDs lives in gdcmDICT, which
// the package does not link.
std::string ts_name(const std::string &uid) {
  static const char *const names[][2] = {
      {"1.2.840.10008.1.2", "Implicit VR Little Endian"},
      {"1.2.840.10008.1.2.1", "Explicit VR Little Endian"},
      {"1.2.840.10008.1.2.1.98", "Encapsulated Uncompressed Explicit VR Little Endian"},
      {"1.2.840.10008.1.2.1.99", "Deflated Explicit VR Little Endian"},
      {"1.2.840.10008.1.2.2", "Explicit VR Big Endian"},
      {"1.2.840.10008.1.2.4.50", "JPEG Baseline (Process 1)"},
      {"1.2.840.10008.1.2.4.51", "JPEG Extended (Process 2 & 4)"},
      {"1.2.840.10008.1.2.4.52", "JPEG Extended (Process 3 & 5)"},
      {"1.2.840.10008.1.2.4.53", "JPEG Spectral Selection, Non-Hierarchical (Process 6 & 8)"},
      {"1.2.840.10008.1.2.4.55", "JPEG Full Progression, Non-Hierarchical (Process 10 & 12)"},
      {"1.2.840.10008.1.2.4.57", "JPEG Lossless, Non-Hierarchical (Process 14)"},
      {"1.2.840.10008.1.2.4.70", "JPEG Lossless, Non-Hierarchical, First-Order Prediction (SV1)"},
      {"1.2.840.10008.1.2.4.80", "JPEG-LS Lossless Image Compression"},
      {"1.2.840.10008.1.2.4.81", "JPEG-LS Lossy (Near-Lossless) Image Compression"},
      {"1.2.840.10008.1.2.4.90", "JPEG 2000 Image Compression (Lossless Only)"},
      {"1.2.840.10008.1.2.4.91", "JPEG 2000 Image Compression"},
      {"1.2.840.10008.1.2.4.92", "JPEG 2000 Part 2 Multi-component Image Compression (Lossless Only)"},
      {"1.2.840.10008.1.2.4.93", "JPEG 2000 Part 2 Multi-component Image Compression"},
      {"1.2.840.10008.1.2.4.94", "JPIP Referenced"},
      {"1.2.840.10008.1.2.4.95", "JPIP Referenced Deflate"},
      {"1.2.840.10008.1.2.4.100", "MPEG2 Main Profile / Main Level"},
      {"1.2.840.10008.1.2.4.101", "MPEG2 Main Profile / High Level"},
      {"1.2.840.10008.1.2.4.102", "MPEG-4 AVC/H.264 High Profile / Level 4.1"},
      {"1.2.840.10008.1.2.4.103", "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1"},
      {"1.2.840.10008.1.2.4.104", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 2D Video"},
      {"1.2.840.10008.1.2.4.105", "MPEG-4 AVC/H.264 High Profile / Level 4.2 For 3D Video"},
      {"1.2.840.10008.1.2.4.106", "MPEG-4 AVC/H.264 Stereo High Profile / Level 4.2"},
      {"1.2.840.10008.1.2.4.107", "HEVC/H.265 Main Profile / Level 5.1"},
      {"1.2.840.10008.1.2.4.108", "HEVC/H.265 Main 10 Profile / Level 5.1"},
      {"1.2.840.10008.1.2.4.201", "High-Throughput JPEG 2000 Image Compression (Lossless Only)"},
      {"1.2.840.10008.1.2.4.202", "High-Throughput JPEG 2000 with RPCL Options Image Compression (Lossless Only)"},
      {"1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000 Image Compression"},
      {"1.2.840.10008.1.2.5", "RLE Lossless"},
  };
  for (const auto &entry : names)
    if (uid == entry[0]) return entry[1];
  return std::string();
}

// ---- A structural check of the file before GDCM parses it ----
//
// GDCM's parser asserts (aborts) on some malformed input, e.g. a file cut inside the meta header. So the
// element structure is walked here first: every header and value must fit in its container, VRs must be
// real, sequences and items must nest and end properly. GDCM then only sees well-formed element trees.
// A deflated data set is inflated first (with the zlib that GDCM itself loads) and then walked.
// Inflates raw deflate data (RFC 1951, as Deflated Explicit VR Little Endian uses). zlib is not linked by the
// package, but libgdcmDSED depends on it, so it is in the process: look its functions up there.
// Returns 0 on success, 1 when the stream ends early, 2 when it is corrupt, 3 when zlib is not found, 4 when
// it inflates beyond `limit` bytes.
int inflate_raw(const uint8_t *data, size_t size, size_t limit, std::vector<uint8_t> &out) {
#ifndef CDICOM_HAVE_ZLIB_H
  (void)data, (void)size, (void)limit, (void)out;
  return 3;  // built without zlib.h: deflated files are refused
#else
  using Init = int (*)(z_streamp, int, const char *, int);
  using Step = int (*)(z_streamp, int);
  using End = int (*)(z_streamp);
  static Init init = reinterpret_cast<Init>(dlsym(RTLD_DEFAULT, "inflateInit2_"));
  static Step step = reinterpret_cast<Step>(dlsym(RTLD_DEFAULT, "inflate"));
  static End end = reinterpret_cast<End>(dlsym(RTLD_DEFAULT, "inflateEnd"));
  if (!init || !step || !end) return 3;
  z_stream z{};
  if (init(&z, -15, ZLIB_VERSION, int(sizeof(z_stream))) != Z_OK) return 3;
  z.next_in = const_cast<Bytef *>(data);
  z.avail_in = uInt(std::min<size_t>(size, 0x7fffffff));
  out.resize(std::min<size_t>(limit, std::max<size_t>(size * 4, 4096)));
  int result;
  do {
    if (z.total_out == out.size()) {
      if (out.size() >= limit) { end(&z); return 4; }
      out.resize(std::min(limit, out.size() * 2));
    }
    z.next_out = out.data() + z.total_out;
    z.avail_out = uInt(std::min<size_t>(out.size() - z.total_out, 0x7fffffff));
    result = step(&z, Z_NO_FLUSH);
  } while (result == Z_OK);
  out.resize(z.total_out);
  end(&z);
  return result == Z_STREAM_END ? 0 : result == Z_BUF_ERROR ? 1 : 2;
#endif
}

class StructureCheck {
public:
  StructureCheck(const uint8_t *data, size_t size) : data_(data), size_(size) {}

  // Returns HDCM_OK, HDCM_ERROR_TRUNCATED or HDCM_ERROR_CORRUPT; `why` says what was wrong.
  hdcm_status run(std::string &ts_uid, std::string &why) {
    size_t pos = 132;
    // File meta information: group 0002, always explicit VR little endian.
    explicit_ = true, big_ = false;
    while (pos + 8 <= size_ && u16(pos) == 0x0002) {
      Element e;
      if (!header(pos, size_, e)) return done(why);
      if (e.length == kUndefined) return corrupt(why, "undefined length in the file meta information");
      if (e.element == 0x0010) ts_uid = trimmed(std::string(reinterpret_cast<const char *>(data_ + e.value), e.length));
      pos = e.value + e.length;
    }
    // GDCM asserts when the file ends right after the meta information, so a data set must follow.
    if (pos + 8 > size_) return truncated(why, "the file ends before its data set");
    if (ts_uid == "1.2.840.10008.1.2.1.99") {  // deflated: walk the inflated data set instead
      switch (inflate_raw(data_ + pos, size_ - pos, size_t(1) << 31, inflated_)) {
        case 0: break;
        case 1: return truncated(why, "the deflated data set ends early");
        case 3: return fail_with(HDCM_ERROR_UNSUPPORTED, "zlib was not found to inflate the data set"), done(why);
        case 4: return fail_with(HDCM_ERROR_UNSUPPORTED, "the deflated data set inflates beyond 2 GiB"), done(why);
        default: return corrupt(why, "the deflated data set is corrupt");
      }
      data_ = inflated_.data(), size_ = inflated_.size(), pos = 0;
      if (size_ < 8) return truncated(why, "the deflated data set is empty");
    }
    explicit_ = ts_uid != "1.2.840.10008.1.2";
    big_ = ts_uid == "1.2.840.10008.1.2.2";
    // Some writers put an implicit VR data set behind an explicit VR transfer syntax; GDCM and pydicom both
    // read those, so follow the first element's lead as they do.
    if (explicit_ && pos + 6 <= size_) {
      const char vr[2] = {char(data_[pos + 4]), char(data_[pos + 5])};
      if (!known_vr(vr)) explicit_ = false;
    }
    size_t end = pos;
    if (!dataset(pos, size_, false, 0, end)) return done(why);
    return HDCM_OK;
  }

private:
  static constexpr uint64_t kUndefined = 0xffffffffu;
  struct Element {
    uint16_t group, element;
    char vr[2];
    uint64_t length;
    size_t value;  // offset of the value
  };
  const uint8_t *data_;
  size_t size_;
  std::vector<uint8_t> inflated_;
  bool explicit_ = true, big_ = false;
  hdcm_status status_ = HDCM_OK;
  std::string message_;

  uint16_t u16(size_t at) const {
    return big_ ? uint16_t(data_[at] << 8 | data_[at + 1]) : uint16_t(data_[at + 1] << 8 | data_[at]);
  }
  uint32_t u32(size_t at) const {
    return big_ ? uint32_t(data_[at]) << 24 | data_[at + 1] << 16 | data_[at + 2] << 8 | data_[at + 3]
                : uint32_t(data_[at + 3]) << 24 | data_[at + 2] << 16 | data_[at + 1] << 8 | data_[at];
  }
  bool fail_with(hdcm_status status, const std::string &message) {
    if (status_ == HDCM_OK) status_ = status, message_ = message;
    return false;
  }
  hdcm_status done(std::string &why) {
    why = message_;
    return status_;
  }
  hdcm_status corrupt(std::string &why, const std::string &m) { return fail_with(HDCM_ERROR_CORRUPT, m), done(why); }
  hdcm_status truncated(std::string &why, const std::string &m) { return fail_with(HDCM_ERROR_TRUNCATED, m), done(why); }

  static bool long_form(const char *vr) {  // VRs with 2 reserved bytes and a 4-byte length
    static const char *const vrs[] = {"OB", "OD", "OF", "OL", "OV", "OW", "SQ", "SV", "UC", "UN", "UR", "UT", "UV"};
    for (const char *v : vrs)
      if (vr[0] == v[0] && vr[1] == v[1]) return true;
    return false;
  }
  static bool known_vr(const char *vr) {
    static const char *const vrs[] = {"AE", "AS", "AT", "CS", "DA", "DS", "DT", "FL", "FD", "IS", "LO", "LT", "PN",
                                      "SH", "SL", "SS", "ST", "TM", "UI", "UL", "US"};
    for (const char *v : vrs)
      if (vr[0] == v[0] && vr[1] == v[1]) return true;
    return long_form(vr);
  }

  // Reads an element header at `pos` inside [.., end); the value must fit unless its length is undefined.
  bool header(size_t pos, size_t end, Element &e) {
    if (pos + 8 > end) return fail_with(end == size_ ? HDCM_ERROR_TRUNCATED : HDCM_ERROR_CORRUPT, "an element header runs past its end");
    e.group = u16(pos);
    e.element = u16(pos + 2);
    e.vr[0] = e.vr[1] = 0;
    if (e.group == 0xfffe || !explicit_) {  // items and delimiters never carry a VR
      e.length = u32(pos + 4);
      e.value = pos + 8;
    } else {
      e.vr[0] = char(data_[pos + 4]), e.vr[1] = char(data_[pos + 5]);
      if (!known_vr(e.vr)) return fail_with(HDCM_ERROR_CORRUPT, "an element has an invalid VR");
      if (long_form(e.vr)) {
        if (pos + 12 > end) return fail_with(end == size_ ? HDCM_ERROR_TRUNCATED : HDCM_ERROR_CORRUPT, "an element header runs past its end");
        e.length = u32(pos + 8);
        e.value = pos + 12;
      } else {
        e.length = u16(pos + 6);
        e.value = pos + 8;
      }
    }
    if (e.length != kUndefined && e.value + e.length > end)
      return fail_with(end == size_ ? HDCM_ERROR_TRUNCATED : HDCM_ERROR_CORRUPT,
                       "an element's value (" + std::to_string(e.length) + " bytes) runs past " +
                           (end == size_ ? "the end of the file" : "the end of its item"));
    return true;
  }

  // Elements from `pos` to `end`; `in_item`: an undefined-length item, which an item delimiter ends.
  bool dataset(size_t pos, size_t end, bool in_item, int depth, size_t &after) {
    if (depth > 16) return fail_with(HDCM_ERROR_CORRUPT, "sequences nest too deeply");
    while (pos < end) {
      Element e;
      if (!header(pos, end, e)) return false;
      if (e.group == 0xfffe) {
        if (in_item && e.element == 0xe00d && e.length == 0) return after = e.value, true;
        return fail_with(HDCM_ERROR_CORRUPT, "an item or delimiter stands outside a sequence");
      }
      const bool pixel_data = e.group == 0x7fe0 && e.element == 0x0010;  // also icons' pixel data, in items
      if (pixel_data && explicit_ && !((e.vr[0] == 'O' && (e.vr[1] == 'B' || e.vr[1] == 'W')) || (e.vr[0] == 'U' && e.vr[1] == 'N')))
        return fail_with(HDCM_ERROR_CORRUPT, "Pixel Data has a VR other than OB, OW or UN");
      const bool sequence = (e.vr[0] == 'S' && e.vr[1] == 'Q') || (e.vr[0] == 'U' && e.vr[1] == 'N') || !explicit_;
      if (e.length == kUndefined) {
        if (pixel_data) {
          if (!fragments(e.value, end, pos)) return false;
        } else if (sequence) {
          // An undefined-length UN is a sequence in implicit VR little endian.
          const bool saved_explicit = explicit_, saved_big = big_;
          if (e.vr[0] == 'U' && e.vr[1] == 'N') explicit_ = false, big_ = false;
          bool ok = items(e.value, end, true, depth, pos);
          explicit_ = saved_explicit, big_ = saved_big;
          if (!ok) return false;
        } else {
          return fail_with(HDCM_ERROR_CORRUPT, "an element other than a sequence has an undefined length");
        }
        continue;
      }
      // A defined-length sequence: explicit SQ, or an implicit value that starts like an item.
      if (!pixel_data && e.length >= 8 &&
          ((e.vr[0] == 'S' && e.vr[1] == 'Q') || (!explicit_ && u16(e.value) == 0xfffe && u16(e.value + 2) == 0xe000))) {
        size_t ignored;
        if (!items(e.value, e.value + e.length, false, depth, ignored)) return false;
      }
      pos = e.value + e.length;
    }
    if (in_item) return fail_with(end == size_ ? HDCM_ERROR_TRUNCATED : HDCM_ERROR_CORRUPT, "an item lacks its delimiter");
    after = pos;
    return true;
  }

  // Items of a sequence from `pos`; undefined length: up to the sequence delimiter, else up to `end`.
  bool items(size_t pos, size_t end, bool undefined, int depth, size_t &after) {
    while (pos < end) {
      Element e;
      if (!header(pos, end, e)) return false;
      if (e.group != 0xfffe) return fail_with(HDCM_ERROR_CORRUPT, "a sequence holds something other than items");
      if (e.element == 0xe0dd && undefined && e.length == 0) return after = e.value, true;
      if (e.element != 0xe000) return fail_with(HDCM_ERROR_CORRUPT, "a sequence holds a stray delimiter");
      if (e.length == kUndefined) {
        if (!dataset(e.value, end, true, depth + 1, pos)) return false;
      } else {
        size_t ignored;
        if (!dataset(e.value, e.value + e.length, false, depth + 1, ignored)) return false;
        pos = e.value + e.length;
      }
    }
    if (undefined) return fail_with(end == size_ ? HDCM_ERROR_TRUNCATED : HDCM_ERROR_CORRUPT, "a sequence lacks its delimiter");
    after = pos;
    return true;
  }

  // Encapsulated pixel data: the basic offset table and the fragments, each a defined-length item.
  bool fragments(size_t pos, size_t end, size_t &after) {
    const bool saved = explicit_;
    explicit_ = false;  // item headers: tag and 4-byte length
    bool ok = false;
    while (true) {
      Element e;
      if (!header(pos, end, e)) break;
      if (e.group == 0xfffe && e.element == 0xe0dd && e.length == 0) { after = e.value, ok = true; break; }
      if (e.group != 0xfffe || e.element != 0xe000 || e.length == kUndefined) {
        fail_with(HDCM_ERROR_CORRUPT, "encapsulated Pixel Data holds something other than fragments");
        break;
      }
      pos = e.value + e.length;
    }
    explicit_ = saved;
    return ok;
  }
};

// ---- The parsed and checked header ----

enum class Colour { Mono, Palette, RGB, YBR };

struct Header {
  gdcm::Reader reader;  // owns the parsed data set
  MemoryBuffer buffer;
  std::istream stream;
  hdcm_info info{};
  gdcm::TransferSyntax ts;
  unsigned planar = 0;
  unsigned high_bit = 0;
  Colour colour = Colour::Mono;
  bool monochrome1 = false;
  bool ybr422_native = false;  // uncompressed YBR_FULL_422: two samples of luma per chroma pair
  uint64_t frame_bytes = 0;    // bytes of one frame as stored, uncompressed syntaxes only
  Header(const uint8_t *data, size_t size) : buffer(data, size), stream(&buffer) {}
};

hdcm_status parse(const uint8_t *data, size_t size, uint64_t max_pixels, Header &h) {
  if (!hdcm_is_dicom(data, size))
    return fail(HDCM_ERROR_UNSUPPORTED, "not a DICOM Part 10 file (no 'DICM' after the 128-byte preamble)");
  std::string checked_uid, why;
  hdcm_status structure = StructureCheck(data, size).run(checked_uid, why);
  copy_field(h.info.transfer_syntax, sizeof h.info.transfer_syntax, checked_uid);
  copy_field(h.info.transfer_syntax_name, sizeof h.info.transfer_syntax_name, ts_name(checked_uid));
  if (structure == HDCM_ERROR_TRUNCATED) return fail(structure, "DICOM file is truncated: " + why);
  if (structure != HDCM_OK) return fail(structure, "DICOM file is corrupt: " + why);
  if (checked_uid.empty()) return fail(HDCM_ERROR_CORRUPT, "DICOM file meta information lacks the Transfer Syntax UID (0002,0010)");

  h.reader.SetStream(h.stream);
  const bool parsed = h.reader.Read();
  const gdcm::File &file = h.reader.GetFile();
  const std::string uid = read_string(file.GetHeader(), 0x0002, 0x0010);
  copy_field(h.info.transfer_syntax, sizeof h.info.transfer_syntax, uid);
  copy_field(h.info.transfer_syntax_name, sizeof h.info.transfer_syntax_name, ts_name(uid));
  if (!uid.empty() && gdcm::TransferSyntax::GetTSType(uid.c_str()) == gdcm::TransferSyntax::TS_END) {
    const std::string name = ts_name(uid);
    return fail(HDCM_ERROR_UNSUPPORTED, "DICOM transfer syntax " + uid + (name.empty() ? "" : " (" + name + ")") +
                                            " is not known to GDCM");
  }
  if (!parsed)
    return fail(HDCM_ERROR_CORRUPT, "GDCM could not parse the DICOM data set (truncated or corrupt file)");

  const gdcm::DataSet &ds = file.GetDataSet();
  h.ts = file.GetHeader().GetDataSetTransferSyntax();
  hdcm_info &info = h.info;
  copy_field(info.modality, sizeof info.modality, read_string(ds, 0x0008, 0x0060));
  if (uid.empty()) {  // no (0002,0010): report what GDCM settled on
    copy_field(info.transfer_syntax, sizeof info.transfer_syntax, trimmed(h.ts.GetString() ? h.ts.GetString() : ""));
    copy_field(info.transfer_syntax_name, sizeof info.transfer_syntax_name, ts_name(info.transfer_syntax));
  }

  if (!ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0010))) {
    if (ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0008)) || ds.FindDataElement(gdcm::Tag(0x7fe0, 0x0009)))
      return fail(HDCM_ERROR_UNSUPPORTED, "DICOM file has Float / Double Float Pixel Data, which is not read");
    return fail(HDCM_ERROR_UNSUPPORTED, "DICOM file has no Pixel Data (7FE0,0010): not an image");
  }

  // A Modality LUT replaces the rescale; rather than return values on another scale, refuse.
  if (ds.FindDataElement(gdcm::Tag(0x0028, 0x3000)))
    return fail(HDCM_ERROR_UNSUPPORTED, "DICOM Modality LUT Sequence (0028,3000) is not applied");

  unsigned rows = 0, columns = 0, samples = 1, allocated = 0, stored = 0, representation = 0;
  if (!read_us(ds, 0x0028, 0x0010, rows) || !read_us(ds, 0x0028, 0x0011, columns) || rows == 0 || columns == 0)
    return fail(HDCM_ERROR_CORRUPT, "DICOM image lacks Rows / Columns (0028,0010/0011)");
  read_us(ds, 0x0028, 0x0002, samples);
  if (!read_us(ds, 0x0028, 0x0100, allocated))
    return fail(HDCM_ERROR_CORRUPT, "DICOM image lacks Bits Allocated (0028,0100)");
  if (!read_us(ds, 0x0028, 0x0101, stored)) stored = allocated;
  read_us(ds, 0x0028, 0x0103, representation);
  h.high_bit = stored - 1;  // High Bit is ignored, as pydicom does: the stored bits are the low ones
  read_us(ds, 0x0028, 0x0006, h.planar);

  double frames = 1;
  bool bad = false;
  if (!read_number(ds, 0x0028, 0x0008, frames, bad) && bad)
    return fail(HDCM_ERROR_CORRUPT, "Number of Frames (0028,0008) is not an integer");
  if (frames != std::floor(frames) || frames < 0 || frames > 2147483647.0)
    return fail(HDCM_ERROR_CORRUPT, "Number of Frames (0028,0008) is out of range");
  if (frames < 1) frames = 1;  // 0 is seen in the wild and means one frame

  info.width = int32_t(columns);
  info.height = int32_t(rows);
  info.bands = int32_t(samples);
  info.frames = int32_t(frames);
  info.bits_allocated = int32_t(allocated);
  info.bits_stored = int32_t(stored);
  info.pixel_representation = int32_t(representation);

  std::string pi = read_string(ds, 0x0028, 0x0004);
  if (pi.empty()) pi = samples == 3 ? "RGB" : "MONOCHROME2";  // GDCM's defaults
  copy_field(info.photometric, sizeof info.photometric, pi);

  if (samples != 1 && samples != 3)
    return fail(HDCM_ERROR_UNSUPPORTED, "DICOM Samples per Pixel " + std::to_string(samples) + " is not read (only 1 or 3)");
  if (samples == 1) {
    if (pi == "MONOCHROME1" || pi == "MONOCHROME2") h.colour = Colour::Mono;
    else if (pi == "PALETTE COLOR") h.colour = Colour::Palette;  // the indices are returned, not the colours
    else return fail(HDCM_ERROR_UNSUPPORTED, "DICOM Photometric Interpretation " + pi + " with one sample is not read");
    h.monochrome1 = pi == "MONOCHROME1";
  } else {
    // YBR_RCT / YBR_ICT: the JPEG 2000 decoder undoes the component transform, so the samples arrive as RGB.
    if (pi == "RGB" || pi == "YBR_RCT" || pi == "YBR_ICT") h.colour = Colour::RGB;
    else if (pi == "YBR_FULL" || pi == "YBR_FULL_422") h.colour = Colour::YBR;
    else return fail(HDCM_ERROR_UNSUPPORTED, "DICOM Photometric Interpretation " + pi + " is not read");
  }
  if (allocated != 1 && allocated != 8 && allocated != 16 && allocated != 32)
    return fail(HDCM_ERROR_UNSUPPORTED, "DICOM Bits Allocated " + std::to_string(allocated) + " is not read (1, 8, 16 or 32)");
  if (stored == 0 || stored > allocated) return fail(HDCM_ERROR_CORRUPT, "DICOM Bits Stored does not fit Bits Allocated");
  if (representation > 1) return fail(HDCM_ERROR_CORRUPT, "DICOM Pixel Representation is neither 0 nor 1");
  if (allocated == 1 && samples != 1) return fail(HDCM_ERROR_UNSUPPORTED, "DICOM 1-bit colour images are not read");
  if (allocated == 1 && representation != 0) return fail(HDCM_ERROR_CORRUPT, "DICOM 1-bit pixel data cannot be signed");
  if (h.colour == Colour::YBR && allocated != 8)
    return fail(HDCM_ERROR_UNSUPPORTED, "DICOM " + pi + " colour is converted to RGB only with 8 bits per sample");
  if (samples == 1 || h.planar > 1) h.planar = 0;

  // Rescale: the image's own attributes, else the shared functional groups of enhanced objects.
  info.rescale_slope = 1;
  info.rescale_intercept = 0;
  const gdcm::DataSet *rescale = &ds;
  if (!ds.FindDataElement(gdcm::Tag(0x0028, 0x1053)) && !ds.FindDataElement(gdcm::Tag(0x0028, 0x1052))) {
    if (const gdcm::DataSet *shared = first_item(ds, 0x5200, 0x9229))
      if (const gdcm::DataSet *transform = first_item(*shared, 0x0028, 0x9145)) rescale = transform;
  }
  double value;
  if (read_number(*rescale, 0x0028, 0x1053, value, bad)) info.rescale_slope = value;
  if (bad) return fail(HDCM_ERROR_CORRUPT, "Rescale Slope (0028,1053) is not a number");
  if (read_number(*rescale, 0x0028, 0x1052, value, bad)) info.rescale_intercept = value;
  if (bad) return fail(HDCM_ERROR_CORRUPT, "Rescale Intercept (0028,1052) is not a number");

  const double lo = representation ? -std::ldexp(1.0, int(stored) - 1) : 0.0;
  const double hi = representation ? std::ldexp(1.0, int(stored) - 1) - 1 : std::ldexp(1.0, int(stored)) - 1;
  const double a = lo * info.rescale_slope + info.rescale_intercept, b = hi * info.rescale_slope + info.rescale_intercept;
  info.value_min = a < b ? a : b;
  info.value_max = a < b ? b : a;

  const uint64_t pixels = uint64_t(columns) * rows;
  if (max_pixels != 0 && pixels * uint64_t(frames) > max_pixels)
    return fail(HDCM_ERROR_TOO_MANY_PIXELS, "DICOM image has " + std::to_string(pixels * uint64_t(frames)) +
                                                " pixels (width * height * frames), more than the limit of " +
                                                std::to_string(max_pixels));

  if (!gdcm_decodes(h.ts)) {
    std::string name = info.transfer_syntax_name[0] ? std::string(" (") + info.transfer_syntax_name + ")" : "";
    return fail(HDCM_ERROR_UNSUPPORTED, std::string("DICOM transfer syntax ") + info.transfer_syntax + name +
                                            " is not decoded by GDCM");
  }

  // Check the pixel data's extent now, so that GDCM's codecs never see a short buffer.
  const gdcm::DataElement &pixel = ds.GetDataElement(gdcm::Tag(0x7fe0, 0x0010));
  if (const gdcm::SequenceOfFragments *fragments = pixel.GetSequenceOfFragments()) {
    if (fragments->GetNumberOfFragments() < size_t(frames))
      return fail(HDCM_ERROR_TRUNCATED, "DICOM encapsulated Pixel Data has " +
                                            std::to_string(fragments->GetNumberOfFragments()) + " fragments for " +
                                            std::to_string(info.frames) + " frames");
  } else {
    const gdcm::ByteValue *bv = pixel.GetByteValue();
    h.ybr422_native = pi == "YBR_FULL_422" && !h.ts.IsEncapsulated();
    if (h.ybr422_native && columns % 2 != 0)
      return fail(HDCM_ERROR_CORRUPT, "uncompressed YBR_FULL_422 needs an even number of columns");
    if (allocated == 1) h.frame_bytes = 0;  // frames of bits need not start on a byte
    else h.frame_bytes = h.ybr422_native ? pixels * 2 : pixels * samples * (allocated / 8);
    const uint64_t needed = allocated == 1 ? (pixels * uint64_t(frames) + 7) / 8 : h.frame_bytes * uint64_t(frames);
    const uint64_t have = bv && bv->GetPointer() ? uint64_t(bv->GetLength()) : 0;
    if (h.ts.IsEncapsulated()) {
      return fail(HDCM_ERROR_CORRUPT, "DICOM Pixel Data is not encapsulated although the transfer syntax says so");
    } else if (have < needed) {
      return fail(HDCM_ERROR_TRUNCATED, "DICOM Pixel Data holds " + std::to_string(have) + " bytes, " +
                                            std::to_string(needed) + " expected");
    }
  }
  return HDCM_OK;
}

// ---- Codestream headers ----
//
// GDCM sizes its output by the DICOM attributes but decodes by the codestream's own header; where the two
// disagree it overflows a heap buffer (JPEG 2000) or asserts (JPEG-LS, JPEG 2000). So each frame's codestream
// header must describe exactly the image the attributes do before GDCM decodes it.

unsigned be16(const uint8_t *p) { return unsigned(p[0]) << 8 | p[1]; }
uint32_t be32(const uint8_t *p) { return uint32_t(p[0]) << 24 | uint32_t(p[1]) << 16 | uint32_t(p[2]) << 8 | p[3]; }

// The container size GDCM decodes a sample of `precision` bits into.
unsigned container_bits(unsigned precision) { return precision <= 8 ? 8 : precision <= 16 ? 16 : 32; }

// JPEG 2000: the SIZ segment after SOC, in a raw codestream or in the 'jp2c' box of a JP2 file.
std::string check_j2k(const uint8_t *p, size_t n, const hdcm_info &info) {
  size_t at = 0;
  if (n >= 12 && be32(p) == 12 && std::memcmp(p + 4, "jP  ", 4) == 0) {  // JP2: walk the boxes
    at = n;
    for (size_t box = 0; box + 8 <= n;) {
      uint64_t length = be32(p + box), header = 8;
      if (length == 1 && box + 16 <= n) length = uint64_t(be32(p + box + 8)) << 32 | be32(p + box + 12), header = 16;
      else if (length == 0) length = n - box;
      if (length < header || length > n - box) break;
      if (std::memcmp(p + box + 4, "jp2c", 4) == 0) { at = box + header; break; }
      box += length;
    }
  }
  if (at + 42 > n || be16(p + at) != 0xff4f || be16(p + at + 2) != 0xff51) return "no JPEG 2000 SIZ header";
  const uint8_t *siz = p + at + 4;  // Lsiz; then Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, tiles (4 x 4), Csiz, components
  const uint64_t width = uint64_t(be32(siz + 4)) - be32(siz + 12), height = uint64_t(be32(siz + 8)) - be32(siz + 16);
  const unsigned components = be16(siz + 36);
  if (be32(siz + 4) < be32(siz + 12) || be32(siz + 8) < be32(siz + 16) || width != uint64_t(info.width) ||
      height != uint64_t(info.height))
    return "the JPEG 2000 image size differs from Rows / Columns";
  if (components != unsigned(info.bands) || at + 42 + 3 * size_t(components) > n)
    return "the JPEG 2000 component count differs from Samples per Pixel";
  for (unsigned c = 0; c < components; ++c) {
    const uint8_t *comp = siz + 38 + 3 * c;
    if (comp[1] != 1 || comp[2] != 1) return "subsampled JPEG 2000 components are not read";
    if (container_bits((comp[0] & 0x7f) + 1u) != unsigned(info.bits_allocated))
      return "the JPEG 2000 sample precision does not fit Bits Allocated";
  }
  return std::string();
}

// JPEG and JPEG-LS: the marker segments from SOI to the first SOS. GDCM asserts when libjpeg warns while
// reading them (stray bytes between markers, a JFIF version other than 1.x), so they must be clean, and the
// frame header (SOF0..SOF15, or SOF55 for JPEG-LS) must match the attributes.
std::string check_jpeg(const uint8_t *p, size_t n, const hdcm_info &info, bool jpeg_ls) {
  if (n < 4 || be16(p) != 0xffd8) return "no JPEG start-of-image marker";
  bool frame = false;
  for (size_t at = 2; at + 2 <= n;) {
    if (p[at] != 0xff) return "stray bytes between JPEG markers";
    const unsigned marker = p[at + 1];
    if (marker == 0xff) { ++at; continue; }  // fill byte
    if (marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) { at += 2; continue; }  // no length
    if (marker == 0xda) return frame ? std::string() : "a JPEG scan comes before its frame header";
    if (marker == 0xd9 || marker == 0xd8 || marker == 0x00) return "a JPEG stream ends before its first scan";
    if (at + 4 > n) break;
    const size_t length = be16(p + at + 2);
    if (length < 2 || at + 2 + length > n) return "a JPEG marker segment is cut short";
    const uint8_t *f = p + at + 4;
    if (marker == 0xe0 && length >= 16 && std::memcmp(f, "JFIF\0", 5) == 0 && f[5] != 1) return "an unknown JFIF version";
    const bool sof = jpeg_ls ? marker == 0xf7 : (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc);
    if (sof) {
      if (frame) return "two JPEG frame headers";
      if (length < 8) return "a JPEG frame header is cut short";
      if (be16(f + 3) != unsigned(info.width) || be16(f + 1) != unsigned(info.height))
        return "the JPEG image size differs from Rows / Columns";
      if (f[5] != unsigned(info.bands)) return "the JPEG component count differs from Samples per Pixel";
      if (f[0] < 2 || f[0] > unsigned(info.bits_allocated)) return "the JPEG sample precision does not fit Bits Allocated";
      frame = true;
    }
    at += 2 + length;
  }
  return "a JPEG stream ends before its first scan";
}

// RLE: the 64-byte header; its segment count and offsets must fit the image and the fragment.
std::string check_rle(const uint8_t *p, size_t n, const hdcm_info &info) {
  if (n < 64) return "an RLE fragment is shorter than its header";
  auto u32le = [&](size_t at) { return uint32_t(p[at]) | uint32_t(p[at + 1]) << 8 | uint32_t(p[at + 2]) << 16 | uint32_t(p[at + 3]) << 24; };
  const uint32_t segments = u32le(0);
  if (segments != uint32_t(info.bands) * uint32_t(info.bits_allocated / 8))
    return "the RLE segment count does not fit Samples per Pixel and Bits Allocated";
  uint32_t previous = 63;
  for (uint32_t i = 0; i < segments; ++i) {
    const uint32_t offset = u32le(4 + 4 * i);
    if (offset <= previous || offset >= n) return "an RLE segment offset is out of place";
    previous = offset;
  }
  return std::string();
}

// Checks the codestream header of the fragment that starts a frame.
std::string check_codestream(const gdcm::Fragment &fragment, const gdcm::TransferSyntax &ts, const hdcm_info &info) {
  const gdcm::ByteValue *bv = fragment.GetByteValue();
  if (!bv || !bv->GetPointer() || bv->GetLength() == 0) return "an empty fragment";
  const uint8_t *p = reinterpret_cast<const uint8_t *>(bv->GetPointer());
  const size_t n = bv->GetLength();
  if (gdcm::JPEG2000Codec().CanDecode(ts)) return check_j2k(p, n, info);
  if (gdcm::JPEGLSCodec().CanDecode(ts)) return check_jpeg(p, n, info, true);
  if (gdcm::JPEGCodec().CanDecode(ts)) return check_jpeg(p, n, info, false);
  if (ts == gdcm::TransferSyntax::RLELossless) return check_rle(p, n, info);
  return "a transfer syntax without a header check";
}

// ---- Decoding through a clean data set ----

// ImageReader::ReadImage is protected: this runs it on a File we built instead of one it parsed.
class CleanImageReader : public gdcm::ImageReader {
public:
  bool ReadClean(gdcm::File &file, const gdcm::TransferSyntax &ts) {
    SetFile(file);
    GetImage().SetTransferSyntax(ts);
    return ReadImage(gdcm::MediaStorage(gdcm::MediaStorage::SecondaryCaptureImageStorage));
  }
};

gdcm::DataElement element(uint16_t group, uint16_t elem, gdcm::VR vr, const std::string &bytes) {
  gdcm::DataElement de(gdcm::Tag(group, elem));
  de.SetVR(vr);
  de.SetByteValue(bytes.data(), uint32_t(bytes.size()));
  return de;
}

gdcm::DataElement us_element(uint16_t group, uint16_t elem, unsigned value) {
  const uint16_t v = uint16_t(value);
  return element(group, elem, gdcm::VR::US, std::string(reinterpret_cast<const char *>(&v), 2));
}

gdcm::DataElement text_element(uint16_t group, uint16_t elem, gdcm::VR vr, std::string text, char pad) {
  if (text.size() % 2) text += pad;
  return element(group, elem, vr, text);
}

// pydicom's convert_color_space (YBR_FULL -> RGB, ITU T.871), in float32 like its NumPy code:
// subtract 128 from the chroma, multiply by the matrix, add 0.5, floor, clip to 0..255.
void ybr_to_rgb(float &y, float &cb, float &cr) {
  static const float kGb = float(-0.114 * 1.772 / 0.587), kGr = float(-0.299 * 1.402 / 0.587);
  const float b = cb - 128.0f, r = cr - 128.0f;
  float rgb[3] = {y + r * 1.402f, y + b * kGb + r * kGr, y + b * 1.772f};
  for (float &v : rgb) v = std::fmin(std::fmax(std::floor(v + 0.5f), 0.0f), 255.0f);
  y = rgb[0];
  cb = rgb[1];
  cr = rgb[2];
}

hdcm_status decode(Header &h, int32_t frame, float *out) {
  const gdcm::DataSet &source = h.reader.GetFile().GetDataSet();
  const hdcm_info &info = h.info;
  const gdcm::DataElement &pixel = source.GetDataElement(gdcm::Tag(0x7fe0, 0x0010));

  // The pixel data handed to GDCM: just the wanted frame where it can be cut out, else all of it.
  bool single = info.frames == 1;
  gdcm::DataElement pixels = pixel;
  if (info.frames > 1) {
    if (const gdcm::SequenceOfFragments *fragments = pixel.GetSequenceOfFragments()) {
      if (fragments->GetNumberOfFragments() == size_t(info.frames)) {  // one fragment per frame
        gdcm::SmartPointer<gdcm::SequenceOfFragments> one = new gdcm::SequenceOfFragments;
        one->AddFragment(fragments->GetFragment(unsigned(frame)));
        pixels.SetValue(*one);
        pixels.SetVL(gdcm::VL(0xFFFFFFFF));  // undefined length; SetVLToUndefined() asserts on OB
        single = true;
      }
    } else if (h.frame_bytes != 0 && !h.ts.IsEncapsulated()) {
      const gdcm::ByteValue *bv = pixel.GetByteValue();
      pixels.SetByteValue(bv->GetPointer() + h.frame_bytes * uint64_t(frame), uint32_t(h.frame_bytes));
      single = true;
    }
  }

  if (h.ts.IsEncapsulated()) {
    const gdcm::SequenceOfFragments *fragments = pixels.GetSequenceOfFragments();
    if (!single || !fragments || fragments->GetNumberOfFragments() == 0)
      return fail(HDCM_ERROR_UNSUPPORTED, "DICOM frames split over several fragments are not read");
    const std::string problem = check_codestream(fragments->GetFragment(0), h.ts, info);
    if (!problem.empty()) return fail(HDCM_ERROR_CORRUPT, "DICOM compressed frame does not match the image attributes: " + problem);
  }

  const uint64_t plane = uint64_t(info.width) * uint64_t(info.height);
  const unsigned decoded_frames = single ? 1u : unsigned(info.frames);
  const unsigned bits = unsigned(info.bits_allocated), sample_bytes = bits / 8;
  const uint64_t decoded_bytes = bits == 1 ? (plane * decoded_frames + 7) / 8 : plane * info.bands * sample_bytes * decoded_frames;
  std::vector<char> buffer(decoded_bytes + 8);  // slack: the 1-bit reader below may look one byte ahead
  bool planar = h.planar == 1;
  bool ybr = h.colour == Colour::YBR;

  // GDCM 3.0 mixes up the bytes of 32-bit big-endian samples; it has swapped each 16-bit word of an OW value
  // as it read it (OB values are left as they were), so finish the job here.
  if (h.ts == gdcm::TransferSyntax::ExplicitVRBigEndian && bits == 32) {
    const gdcm::ByteValue *bv = pixels.GetByteValue();
    const bool words_swapped = pixels.GetVR() == gdcm::VR::OW;
    const unsigned char *in = reinterpret_cast<const unsigned char *>(bv->GetPointer());
    unsigned char *o = reinterpret_cast<unsigned char *>(buffer.data());
    for (uint64_t i = 0; i < decoded_bytes; i += 4) {
      if (words_swapped) o[i] = in[i + 2], o[i + 1] = in[i + 3], o[i + 2] = in[i], o[i + 3] = in[i + 1];
      else o[i] = in[i + 3], o[i + 1] = in[i + 2], o[i + 2] = in[i + 1], o[i + 3] = in[i];
    }
  } else {
    // GDCM 3.0 also scrambles RLE colour with more than 8 bits (it regroups the byte segments across the
    // whole frame, not per sample). Told that the frame is an 8-bit grey image of (samples * bytes) times the
    // height, it returns the segments one after the other, and they are put together below.
    const bool rle_segments = h.ts == gdcm::TransferSyntax::RLELossless && info.bands == 3 && bits > 8;
    const unsigned segments = rle_segments ? unsigned(info.bands) * sample_bytes : 1;
    if (rle_segments && !single) return fail(HDCM_ERROR_CORRUPT, "DICOM RLE Pixel Data needs one fragment per frame");
    gdcm::SmartPointer<gdcm::File> file = new gdcm::File;
    file->GetHeader().SetDataSetTransferSyntax(h.ts);
    gdcm::DataSet &ds = file->GetDataSet();
    ds.Insert(text_element(0x0008, 0x0016, gdcm::VR::UI, "1.2.840.10008.5.1.4.1.1.7", '\0'));
    ds.Insert(us_element(0x0028, 0x0002, rle_segments ? 1u : unsigned(info.bands)));
    // Palette indices decode like grey levels (GDCM would otherwise insist on reading the palette).
    const bool grey = h.colour == Colour::Palette || rle_segments;
    ds.Insert(text_element(0x0028, 0x0004, gdcm::VR::CS, grey ? "MONOCHROME2" : info.photometric, ' '));
    if (info.bands == 3 && !rle_segments) ds.Insert(us_element(0x0028, 0x0006, h.planar));
    ds.Insert(text_element(0x0028, 0x0008, gdcm::VR::IS, std::to_string(decoded_frames), ' '));
    ds.Insert(us_element(0x0028, 0x0010, unsigned(info.height) * segments));
    ds.Insert(us_element(0x0028, 0x0011, unsigned(info.width)));
    ds.Insert(us_element(0x0028, 0x0100, rle_segments ? 8u : bits));
    ds.Insert(us_element(0x0028, 0x0101, rle_segments ? 8u : unsigned(info.bits_stored)));
    ds.Insert(us_element(0x0028, 0x0102, rle_segments ? 7u : h.high_bit));
    ds.Insert(us_element(0x0028, 0x0103, rle_segments ? 0u : unsigned(info.pixel_representation)));
    ds.Insert(pixels);

    CleanImageReader reader;
    if (!reader.ReadClean(*file, h.ts))
      return fail(HDCM_ERROR_CORRUPT, "GDCM did not accept the DICOM image attributes");
    const gdcm::Image &image = reader.GetImage();
    if (image.GetColumns() != unsigned(info.width) || image.GetRows() != unsigned(info.height) * segments ||
        image.GetPixelFormat().GetSamplesPerPixel() != (rle_segments ? 1u : unsigned(info.bands)) ||
        image.GetPixelFormat().GetBitsAllocated() != (rle_segments ? 8u : bits) || image.GetBufferLength() != decoded_bytes)
      return fail(HDCM_ERROR_CORRUPT, "GDCM's view of the DICOM image does not match its attributes");
    if (!image.GetBuffer(buffer.data())) {
      std::string what = h.ts.IsEncapsulated() ? "compressed" : "uncompressed";
      return fail(HDCM_ERROR_CORRUPT, "GDCM could not decode the " + what + " DICOM pixel data (" +
                                          std::string(info.transfer_syntax_name[0] ? info.transfer_syntax_name : info.transfer_syntax) +
                                          "): corrupt or truncated");
    }
    if (rle_segments) {  // segment s holds byte (s % bytes) of sample (s / bytes), most significant first
      std::vector<char> samples(buffer.size());
      for (unsigned c = 0; c < unsigned(info.bands); ++c)
        for (unsigned k = 0; k < sample_bytes; ++k) {
          const char *segment = buffer.data() + (c * sample_bytes + k) * plane;
          char *to = samples.data() + c * plane * sample_bytes + (sample_bytes - 1 - k);  // little endian
          for (uint64_t p = 0; p < plane; ++p) to[p * sample_bytes] = segment[p];
        }
      buffer.swap(samples);
      planar = true;
    } else {
      // A decoder may change the layout (planar configuration) or the colour space it reports.
      planar = info.bands == 3 && image.GetPlanarConfiguration() == 1;
      const gdcm::PhotometricInterpretation::PIType decoded_pi = image.GetPhotometricInterpretation();
      ybr = ybr && (decoded_pi == gdcm::PhotometricInterpretation::YBR_FULL ||
                    decoded_pi == gdcm::PhotometricInterpretation::YBR_FULL_422);
    }
  }

  const uint64_t first = single ? 0 : uint64_t(frame) * plane * info.bands;  // the frame's first sample
  const unsigned stored = unsigned(info.bits_stored);
  const uint32_t mask = stored >= 32 ? 0xffffffffu : (1u << stored) - 1u;
  const bool is_signed = info.pixel_representation == 1;
  const unsigned char *bytes = reinterpret_cast<const unsigned char *>(buffer.data());
  // The stored value of sample `i` (counted from the start of the decoded buffer).
  auto stored_value = [&](uint64_t i) -> double {
    uint32_t v;
    if (bits == 1) return double((bytes[i / 8] >> (i % 8)) & 1u);  // bits are packed least significant first
    if (bits == 8) v = bytes[i];
    else if (bits == 16) { uint16_t s; std::memcpy(&s, bytes + 2 * i, 2); v = s; }
    else std::memcpy(&v, bytes + 4 * i, 4);
    v &= mask;  // bits above Bits Stored may hold overlays or garbage
    if (is_signed && (v >> (stored - 1)) & 1u) return double(int64_t(v) - (int64_t(1) << stored));
    return double(v);
  };

  const double slope = info.rescale_slope, intercept = info.rescale_intercept;
  const double flip = info.value_min + info.value_max;
  for (uint64_t p = 0; p < plane; ++p) {
    double v[3];
    for (int c = 0; c < info.bands; ++c)
      v[c] = stored_value(first + (planar ? uint64_t(c) * plane + p : p * info.bands + c));
    if (ybr) {
      float y = float(v[0]), cb = float(v[1]), cr = float(v[2]);
      ybr_to_rgb(y, cb, cr);
      v[0] = y, v[1] = cb, v[2] = cr;
    }
    for (int c = 0; c < info.bands; ++c) {
      double m = v[c] * slope + intercept;
      if (h.monochrome1) m = flip - m;  // larger means brighter, as for MONOCHROME2
      out[uint64_t(c) * plane + p] = float(m);
    }
  }
  return HDCM_OK;
}

}  // namespace

extern "C" {

const char *hdcm_last_error(void) { return last_error; }

int32_t hdcm_is_dicom(const uint8_t *data, size_t size) {
  return data != nullptr && size >= 132 && data[128] == 'D' && data[129] == 'I' && data[130] == 'C' && data[131] == 'M';
}

hdcm_status hdcm_read_info(const uint8_t *data, size_t size, uint64_t max_pixels, hdcm_info *info) {
  last_error[0] = '\0';
  if (!data || !info) return fail(HDCM_ERROR_INVALID_ARGUMENT, "hdcm_read_info: null data or info");
  try {
    quiet_gdcm();
    Header h(data, size);
    hdcm_status status = parse(data, size, max_pixels, h);
    *info = h.info;  // filled as far as it was read, also on failure
    return status;
  } catch (const std::bad_alloc &) {
    return fail(HDCM_ERROR_OUT_OF_MEMORY, "out of memory reading the DICOM header");
  } catch (const std::exception &e) {
    return fail(HDCM_ERROR_CORRUPT, std::string("DICOM header could not be read: ") + e.what());
  } catch (...) {
    return fail(HDCM_ERROR_CORRUPT, "DICOM header could not be read");
  }
}

hdcm_status hdcm_decode(const uint8_t *data, size_t size, int32_t frame, float *out, size_t capacity) {
  last_error[0] = '\0';
  if (!data || !out) return fail(HDCM_ERROR_INVALID_ARGUMENT, "hdcm_decode: null data or output");
  try {
    quiet_gdcm();
    Header h(data, size);
    hdcm_status status = parse(data, size, 0, h);
    if (status != HDCM_OK) return status;
    const hdcm_info &info = h.info;
    if (frame < 0 || frame >= info.frames)
      return fail(HDCM_ERROR_INVALID_ARGUMENT, "hdcm_decode: frame " + std::to_string(frame) + " is outside 0..." +
                                                   std::to_string(info.frames - 1));
    const uint64_t needed = uint64_t(info.bands) * uint64_t(info.height) * uint64_t(info.width);
    if (capacity < needed)
      return fail(HDCM_ERROR_INVALID_ARGUMENT, "hdcm_decode: output holds " + std::to_string(capacity) +
                                                   " floats, " + std::to_string(needed) + " needed");
    return decode(h, frame, out);
  } catch (const std::bad_alloc &) {
    return fail(HDCM_ERROR_OUT_OF_MEMORY, "out of memory decoding the DICOM image");
  } catch (const std::exception &e) {
    return fail(HDCM_ERROR_CORRUPT, std::string("DICOM image could not be decoded: ") + e.what());
  } catch (...) {
    return fail(HDCM_ERROR_CORRUPT, "DICOM image could not be decoded");
  }
}

}  // extern "C"
