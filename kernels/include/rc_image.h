/* Image decoding and encoding (stb_image / stb_image_write compiled into this library).
 *
 * Decoding reads PNG (8 and 16 bit), JPEG (baseline and progressive), BMP and TGA, and
 * returns a (H, W, C) tensor with the file's own channel count: 1 grey, 2 grey + alpha,
 * 3 RGB, 4 RGBA. Rows go top to bottom. The element type depends on the bit depth:
 *   - 8-bit files give uint8;
 *   - 16-bit PNGs give float32 in [0, 1] (value / 65535) when `keep_16bit` is non-zero,
 *     so no precision is lost; otherwise uint8 rounded from v * 255 / 65535.
 *
 * Checks before anything is allocated for pixels, each failure a message naming the source
 * (the path, or the `name` given for a memory buffer): empty input, an unrecognised format,
 * an image larger than `max_pixels` (width * height; <= 0 means RC_IMAGE_DEFAULT_MAX_PIXELS)
 * with its size in the message, then stb's own reason for corrupt or truncated data. JPEG
 * data that ends before its end-of-image marker, and BMP (uncompressed) and TGA (raw or
 * run-length) files shorter than their header implies, are reported as truncated (stb would
 * load such BMP and TGA files with the missing pixels black).
 *
 * Encoding takes a contiguous or non-contiguous (H, W, C) uint8 CPU tensor, C in 1..4, and
 * encodes PNG, JPEG (quality 1..100; alpha dropped), BMP or TGA to bytes; the caller writes
 * them (the F# side through Files.writeBytesAtomically, so a reader never sees half a file).
 *
 * Every function returns a new handle (NULL on failure) or RC_OK / RC_ERROR; the message is
 * in rc_error_message(). */
#ifndef RC_IMAGE_H
#define RC_IMAGE_H

#include "rc_common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 8192 x 8192. */
#define RC_IMAGE_DEFAULT_MAX_PIXELS 67108864LL

#define RC_IMAGE_PNG 0
#define RC_IMAGE_JPEG 1
#define RC_IMAGE_BMP 2
#define RC_IMAGE_TGA 3

/* Decodes the image file at `path` (UTF-8). Returns (H, W, C) uint8, or float32 (see above). */
RC_API rc_tensor* rc_image_read(const char* path, int64_t max_pixels, int32_t keep_16bit);

/* Decodes `nbytes` of encoded image data; `name` (may be NULL) names it in messages. */
RC_API rc_tensor* rc_image_decode(const void* data, int64_t nbytes, const char* name,
                                  int64_t max_pixels, int32_t keep_16bit);

/* Width, height, channel count and bit depth (8 or 16) from the header alone. */
RC_API int32_t rc_image_info(const void* data, int64_t nbytes, const char* name,
                             int64_t* width, int64_t* height, int32_t* channels, int32_t* bits);

/* Encodes (H, W, C) uint8 as `format` (RC_IMAGE_*); returns the file's bytes as a 1-D uint8
 * tensor. `quality` is used by JPEG only. */
RC_API rc_tensor* rc_image_encode(const rc_tensor* image, int32_t format, int32_t quality);

#ifdef __cplusplus
}
#endif
#endif
