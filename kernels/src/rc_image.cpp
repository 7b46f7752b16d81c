// Image codecs: stb_image and stb_image_write compiled in as static (file-local) functions, so
// no stbi_* symbol leaves this translation unit and nothing can clash with libtorch or with
// Debian's libstb.so loaded by someone else. Only the formats the framework reads are built.
#include <ATen/ATen.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

#include "rc_image.h"
#include "tensor_handle.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wunused-function"
#pragma GCC diagnostic ignored "-Wunused-parameter"
#pragma GCC diagnostic ignored "-Wsign-compare"
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#pragma GCC diagnostic ignored "-Wimplicit-fallthrough"
#define STB_IMAGE_STATIC
#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#define STBI_ONLY_JPEG
#define STBI_ONLY_BMP
#define STBI_ONLY_TGA
// Files are read by this code (to name them in errors and check sizes first); stb sees memory.
#define STBI_NO_STDIO
#include <stb/stb_image.h>
#define STB_IMAGE_WRITE_STATIC
#define STB_IMAGE_WRITE_IMPLEMENTATION
#define STBI_WRITE_NO_STDIO
#include <stb/stb_image_write.h>
#pragma GCC diagnostic pop

namespace {

[[noreturn]] void fail(const std::string& source, const std::string& msg) {
  throw std::runtime_error(source + ": " + msg);
}

std::string source_name(const char* name) {
  return (name == nullptr || *name == 0) ? std::string("<memory>") : std::string(name);
}

int64_t limit_of(int64_t max_pixels) {
  return max_pixels > 0 ? max_pixels : RC_IMAGE_DEFAULT_MAX_PIXELS;
}

uint32_t le16(const uint8_t* p) { return uint32_t(p[0]) | (uint32_t(p[1]) << 8); }
uint32_t le32(const uint8_t* p) { return le16(p) | (le16(p + 2) << 16); }

enum class Format { Png, Jpeg, Bmp, Other };

Format sniff(const uint8_t* d, size_t n) {
  static const uint8_t png[8] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
  if (n >= 8 && std::memcmp(d, png, 8) == 0) return Format::Png;
  if (n >= 3 && d[0] == 0xFF && d[1] == 0xD8 && d[2] == 0xFF) return Format::Jpeg;
  if (n >= 2 && d[0] == 'B' && d[1] == 'M') return Format::Bmp;
  return Format::Other;  // TGA has no signature: stb recognises it heuristically
}

const char* format_name(Format f) {
  switch (f) {
    case Format::Png: return "PNG";
    case Format::Jpeg: return "JPEG";
    case Format::Bmp: return "BMP";
    default: return "TGA";
  }
}

// Walks the marker segments of a JPEG (skipping APPn payloads such as EXIF thumbnails by their
// length, and entropy-coded scans up to the next real marker). stb rejects most cut JPEGs, but
// with reasons like "expected marker", or "bad png sig" when it falls through to the next
// format; this check names the problem.
bool jpeg_has_end_marker(const uint8_t* d, size_t n) {
  size_t i = 2;
  for (;;) {
    while (i < n && d[i] != 0xFF) ++i;
    while (i < n && d[i] == 0xFF) ++i;
    if (i >= n) return false;
    const uint8_t m = d[i++];
    if (m == 0xD9) return true;
    if (m == 0x00 || m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue;  // no length field
    if (i + 2 > n) return false;
    const size_t len = (size_t(d[i]) << 8) | d[i + 1];
    if (len < 2) return false;
    i += len;
    if (i > n) return false;
    if (m == 0xDA) {
      // Inside a scan 0xFF is followed by 0x00 (stuffing) or a restart marker.
      while (i + 1 < n && !(d[i] == 0xFF && d[i + 1] != 0x00 && (d[i + 1] < 0xD0 || d[i + 1] > 0xD7)))
        ++i;
    }
  }
}

// Where a run-length TGA's pixel data ends, or n + 1 when the file ends first.
uint64_t tga_rle_size(const uint8_t* d, size_t n, uint64_t start, uint64_t pixels, uint64_t bytes_per_pixel) {
  // Packets: a header byte, then one pixel repeated (high bit set) or (header & 0x7F) + 1 raw pixels.
  uint64_t i = start, done = 0;
  while (done < pixels) {
    if (i >= n) return n + 1;
    const uint8_t header = d[i++];
    const uint64_t count = uint64_t(header & 0x7F) + 1;
    i += (header & 0x80) ? bytes_per_pixel : count * bytes_per_pixel;
    done += count;
  }
  return i > n ? n + 1 : i;  // n + 1: "ran out", whatever the packet
}

// Bytes a BMP or TGA needs for its pixels, or 0 when it cannot be told (compressed BMP, unusual
// headers): stb reads missing pixels of these formats as zeros instead of failing.
uint64_t pixel_data_end(Format f, const uint8_t* d, size_t n) {
  if (f == Format::Bmp) {
    if (n < 34 || le32(d + 14) < 40) return 0;
    const uint32_t compression = le32(d + 30);
    if (compression != 0 && compression != 3) return 0;
    const int64_t w = int32_t(le32(d + 18)), h = int32_t(le32(d + 22));
    const uint64_t bpp = le16(d + 28);
    const uint64_t row = ((bpp * uint64_t(std::llabs(w)) + 31) / 32) * 4;
    return uint64_t(le32(d + 10)) + row * uint64_t(std::llabs(h));
  }
  if (n < 18) return 0;
  const uint8_t type = d[2];
  if (type != 1 && type != 2 && type != 3 && type != 9 && type != 10 && type != 11) return 0;
  const uint64_t colormap = d[1] ? uint64_t(le16(d + 5)) * ((d[7] + 7u) / 8u) : 0;
  const uint64_t start = 18 + uint64_t(d[0]) + colormap;
  const uint64_t pixels = uint64_t(le16(d + 12)) * le16(d + 14), bytes_per_pixel = (d[16] + 7u) / 8u;
  if (type >= 9) return tga_rle_size(d, n, start, pixels, bytes_per_pixel);
  return start + pixels * bytes_per_pixel;
}

std::string stb_reason() {
  const char* r = stbi_failure_reason();
  return (r == nullptr || *r == 0) ? std::string("unknown reason") : std::string(r);
}

at::Tensor decode(const uint8_t* data, size_t nbytes, const std::string& src, int64_t max_pixels,
                  bool keep_16bit) {
  if (nbytes == 0) fail(src, "the file is empty (0 bytes)");
  if (nbytes > size_t(INT32_MAX)) fail(src, std::to_string(nbytes) + " bytes is beyond the decoder's 2 GiB limit");
  const int len = int(nbytes);
  const Format format = sniff(data, nbytes);
  int w = 0, h = 0, c = 0;
  if (!stbi_info_from_memory(data, len, &w, &h, &c)) {
    if (format == Format::Other) {
      char head[64];
      std::snprintf(head, sizeof head, "%02x %02x %02x %02x", nbytes > 0 ? data[0] : 0,
                    nbytes > 1 ? data[1] : 0, nbytes > 2 ? data[2] : 0, nbytes > 3 ? data[3] : 0);
      fail(src, std::string("not a PNG, JPEG, BMP or TGA image (starts with ") + head + ")");
    }
    fail(src, std::string("corrupt ") + format_name(format) + " header (stb_image: " + stb_reason() + ")");
  }
  const int64_t pixels = int64_t(w) * int64_t(h), limit = limit_of(max_pixels);
  if (pixels > limit)
    fail(src, "image is " + std::to_string(w) + " x " + std::to_string(h) + " = " +
                  std::to_string(pixels) + " pixels, above the limit of " + std::to_string(limit) +
                  " pixels");
  if (c < 1 || c > 4) fail(src, "unsupported channel count " + std::to_string(c) + " (expected 1 to 4)");
  if (format == Format::Jpeg && !jpeg_has_end_marker(data, nbytes))
    fail(src, "truncated JPEG: the data ends before the end-of-image marker");
  if (format == Format::Bmp || format == Format::Other) {
    const uint64_t need = pixel_data_end(format, data, nbytes);
    if (format == Format::Other && data[2] >= 9 && need == uint64_t(nbytes) + 1)
      fail(src, "truncated TGA: the run-length pixel data ends early (the file has " +
                    std::to_string(nbytes) + " bytes)");
    if (need > nbytes)
      fail(src, std::string("truncated ") + format_name(format) + ": the header announces " +
                    std::to_string(need) + " bytes, the file has " + std::to_string(nbytes));
  }

  int x = 0, y = 0, channels = 0;
  if (stbi_is_16_bit_from_memory(data, len)) {
    stbi_us* pixels16 = stbi_load_16_from_memory(data, len, &x, &y, &channels, 0);
    if (pixels16 == nullptr)
      fail(src, std::string("corrupt or truncated ") + format_name(format) + " data (stb_image: " + stb_reason() + ")");
    const int64_t count = int64_t(x) * y * channels;
    at::Tensor out;
    try {
      if (keep_16bit) {
        out = at::empty({y, x, channels}, at::kFloat);
        float* dst = out.data_ptr<float>();
        for (int64_t k = 0; k < count; ++k) dst[k] = float(pixels16[k]) / 65535.0f;
      } else {
        out = at::empty({y, x, channels}, at::kByte);
        uint8_t* dst = out.data_ptr<uint8_t>();
        // Rounded v * 255 / 65535, so 0 and 65535 map to 0 and 255 exactly.
        for (int64_t k = 0; k < count; ++k) dst[k] = uint8_t((uint32_t(pixels16[k]) * 255u + 32767u) / 65535u);
      }
    } catch (...) {
      stbi_image_free(pixels16);
      throw;
    }
    stbi_image_free(pixels16);
    return out;
  }
  stbi_uc* pixels8 = stbi_load_from_memory(data, len, &x, &y, &channels, 0);
  if (pixels8 == nullptr)
    fail(src, std::string("corrupt or truncated ") + format_name(format) + " data (stb_image: " + stb_reason() + ")");
  // The tensor takes stb's buffer; its deleter hands it back to stb.
  return at::from_blob(pixels8, {y, x, channels}, [](void* p) { stbi_image_free(p); },
                       at::TensorOptions().dtype(at::kByte));
}

std::vector<uint8_t> read_file(const std::string& path) {
  FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) fail(path, std::string("cannot open: ") + std::strerror(errno));
  std::vector<uint8_t> bytes;
  uint8_t chunk[1 << 16];
  for (;;) {
    const size_t got = std::fread(chunk, 1, sizeof chunk, f);
    bytes.insert(bytes.end(), chunk, chunk + got);
    if (got < sizeof chunk) break;
  }
  const bool error = std::ferror(f) != 0;
  const int err = errno;
  std::fclose(f);
  if (error) fail(path, std::string("cannot read: ") + std::strerror(err));
  return bytes;
}

const char* format_code_name(int32_t format) {
  switch (format) {
    case RC_IMAGE_PNG: return "PNG";
    case RC_IMAGE_JPEG: return "JPEG";
    case RC_IMAGE_BMP: return "BMP";
    case RC_IMAGE_TGA: return "TGA";
    default: return nullptr;
  }
}

void append_bytes(void* context, void* data, int size) {
  auto* out = static_cast<std::vector<uint8_t>*>(context);
  const auto* p = static_cast<const uint8_t*>(data);
  out->insert(out->end(), p, p + size);
}

std::vector<uint8_t> encode(const at::Tensor& image_in, int32_t format, int32_t quality) {
  const char* fname = format_code_name(format);
  if (fname == nullptr)
    throw std::invalid_argument("format must be 0 (PNG), 1 (JPEG), 2 (BMP) or 3 (TGA), received " + std::to_string(format));
  if (image_in.device().type() != at::kCPU || image_in.scalar_type() != at::kByte || image_in.dim() != 3)
    throw std::invalid_argument("image must be a (H, W, C) uint8 CPU tensor, received " + rc::describe(image_in));
  const int64_t h = image_in.size(0), w = image_in.size(1), c = image_in.size(2);
  if (c < 1 || c > 4)
    throw std::invalid_argument("image must have 1 to 4 channels, received " + rc::describe(image_in));
  if (h < 1 || w < 1 || h > (1 << 24) || w > (1 << 24))
    throw std::invalid_argument("image height and width must be in [1, 16777216], received " + rc::describe(image_in));
  if (format == RC_IMAGE_JPEG && (quality < 1 || quality > 100))
    throw std::invalid_argument("JPEG quality must be in [1, 100], received " + std::to_string(quality));
  const at::Tensor image = image_in.contiguous();
  const uint8_t* px = image.data_ptr<uint8_t>();
  std::vector<uint8_t> out;
  int ok = 0;
  switch (format) {
    case RC_IMAGE_PNG:
      ok = stbi_write_png_to_func(append_bytes, &out, int(w), int(h), int(c), px, int(w * c));
      break;
    case RC_IMAGE_JPEG:
      ok = stbi_write_jpg_to_func(append_bytes, &out, int(w), int(h), int(c), px, quality);
      break;
    case RC_IMAGE_BMP:
      ok = stbi_write_bmp_to_func(append_bytes, &out, int(w), int(h), int(c), px);
      break;
    default:
      ok = stbi_write_tga_to_func(append_bytes, &out, int(w), int(h), int(c), px);
      break;
  }
  if (!ok || out.empty()) throw std::runtime_error(std::string("stb_image_write could not encode ") + rc::describe(image_in) + " as " + fname);
  return out;
}

at::Tensor bytes_tensor(const std::vector<uint8_t>& bytes) {
  at::Tensor t = at::empty({int64_t(bytes.size())}, at::kByte);
  std::memcpy(t.data_ptr<uint8_t>(), bytes.data(), bytes.size());
  return t;
}

}  // namespace

extern "C" {

RC_API rc_tensor* rc_image_read(const char* path, int64_t max_pixels, int32_t keep_16bit) {
  RC_GUARD("rc_image_read", nullptr, {
    if (path == nullptr || *path == 0) throw std::invalid_argument("path is empty");
    const std::string p(path);
    const std::vector<uint8_t> bytes = read_file(p);
    return rc::wrap(decode(bytes.data(), bytes.size(), p, max_pixels, keep_16bit != 0));
  })
}

RC_API rc_tensor* rc_image_decode(const void* data, int64_t nbytes, const char* name,
                                  int64_t max_pixels, int32_t keep_16bit) {
  RC_GUARD("rc_image_decode", nullptr, {
    const std::string src = source_name(name);
    if (nbytes < 0 || (data == nullptr && nbytes > 0))
      fail(src, "invalid buffer (" + std::to_string(nbytes) + " bytes)");
    return rc::wrap(decode(static_cast<const uint8_t*>(data), size_t(nbytes), src, max_pixels,
                           keep_16bit != 0));
  })
}

RC_API int32_t rc_image_info(const void* data, int64_t nbytes, const char* name, int64_t* width,
                             int64_t* height, int32_t* channels, int32_t* bits) {
  RC_GUARD("rc_image_info", RC_ERROR, {
    const std::string src = source_name(name);
    if (nbytes <= 0 || data == nullptr) fail(src, "the file is empty (0 bytes)");
    if (nbytes > INT32_MAX) fail(src, std::to_string(nbytes) + " bytes is beyond the decoder's 2 GiB limit");
    const auto* d = static_cast<const uint8_t*>(data);
    int w = 0, h = 0, c = 0;
    if (!stbi_info_from_memory(d, int(nbytes), &w, &h, &c))
      fail(src, std::string("not a readable image header (stb_image: ") + stb_reason() + ")");
    if (width) *width = w;
    if (height) *height = h;
    if (channels) *channels = c;
    if (bits) *bits = stbi_is_16_bit_from_memory(d, int(nbytes)) ? 16 : 8;
    return RC_OK;
  })
}

RC_API rc_tensor* rc_image_encode(const rc_tensor* image, int32_t format, int32_t quality) {
  RC_GUARD("rc_image_encode", nullptr, {
    return rc::wrap(bytes_tensor(encode(rc::unwrap(image, "image"), format, quality)));
  })
}
}
