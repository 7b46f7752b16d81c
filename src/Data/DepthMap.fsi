/// Ground-truth view-space depth maps stored as 16-bit greyscale PNGs. A sample v in 1..65535
/// stands for the depth v·scale (camera z of the visible surface at the pixel centre, object
/// units); 0 marks background (no surface at the pixel centre). The scale is not in the file:
/// the index that names the file gives it.
module Reconstruct.Data.DepthMap

open Reconstruct.Torch

/// The largest depth a map of `scale` holds: 65535·scale.
val maxDepth: scale: float -> float

/// The samples of depth: (H, W) float32/float64, 0 (or less) for background: round(depth/scale)
/// row-major, raised to 1 where a foreground depth would round to 0 (so it stays foreground).
/// A depth above `maxDepth scale`, a NaN or an infinity is an ArgumentException.
val encode: scale: float -> depth: Tensor -> uint16[]

/// Writes depth: (H, W) as `encode scale depth` to a 16-bit grey PNG at `path`, atomically.
val save: path: string -> scale: float -> depth: Tensor -> unit

/// Reads a map written by `save`: depth (H, W) float32 (sample·scale, 0 for background) and
/// the mask (H, W) bool, true on the foreground. A file that is not 16-bit grey, or unreadable,
/// is an `ImageFileException` naming it.
val load: path: string -> scale: float -> Tensor * Tensor
