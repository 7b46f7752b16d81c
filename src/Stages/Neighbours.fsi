/// UNICORN's neighbour reconstruction memory: a FIFO of the last `capacity` samples (codes,
/// scale, selected pose, input image; detached) and the choice, for each sample of a batch, of
/// a neighbour seen from another viewpoint: a random viewpoint bin b in {0..4}, the entries
/// whose geodesic rotation angle to the sample lies in [20 + 32b, 20 + 32(b + 1)) degrees, and
/// among them the nearest in shape-code space and the nearest in texture-code space.
///
/// The memory is preallocated tensors (`buffers`) written in place, so a checkpoint of the
/// buffers (with the generator `select` draws from) resumes it exactly. `select` does not
/// exclude the sample's own entry: UNICORN selects before pushing the batch, and an older entry
/// of the same image has a rotation close to the sample's, below the first bin's 20°.
module Reconstruct.Stages.Neighbours

open Reconstruct.Torch

/// Viewpoint bins: bin b holds angles in [BinStartDegrees + b·BinWidthDegrees, + BinWidthDegrees).
[<Literal>]
val BinCount: int = 5

[<Literal>]
val BinStartDegrees: float = 20.0

[<Literal>]
val BinWidthDegrees: float = 32.0

/// Samples going into or coming out of the memory, float32 (B = the number of samples).
type Entries =
    { /// (B, dsh) shape codes (as the pipeline masks them)
      ShapeCodes: Tensor
      /// (B, dtx) texture codes
      TextureCodes: Tensor
      /// (B, 3) anisotropic object scale
      Scales: Tensor
      /// (B, 3, 3) selected object-to-camera rotation
      Rotations: Tensor
      /// (B, 3) selected translation
      Translations: Tensor
      /// (B, 3, H, W) input images in [0, 1]; stored as uint8 (x·255 rounded), so 8-bit images
      /// come back exactly
      Images: Tensor }

/// The neighbours chosen for a batch of B samples: memory slots (B) int64, −1 where no entry
/// was valid in the sample's bin.
type Choice =
    { /// (B) int64 the viewpoint bin drawn for each sample, in 0 .. BinCount − 1
      Bins: Tensor
      /// (B) int64 slot of the valid entry nearest in shape-code space (squared Euclidean)
      Shape: Tensor
      /// (B) int64 slot of the valid entry nearest in texture-code space
      Texture: Tensor }

/// The preallocated memory; dispose it to free its tensors.
[<Sealed>]
type Memory =
    interface System.IDisposable

/// An empty memory of `capacity` entries of `shapeCode`- and `textureCode`-dimensional codes
/// and 3 × `imageSize`² images. Its tensors belong to the current disposal scope if one is
/// open (like the model's parameters), else to the memory.
val create: capacity: int -> shapeCode: int -> textureCode: int -> imageSize: int -> Memory

/// The memory's tensors, for checkpoints (restored in place, then the memory continues
/// exactly): "neighbours.shape_codes" (C, dsh), "neighbours.texture_codes" (C, dtx),
/// "neighbours.scales" (C, 3), "neighbours.rotations" (C, 3, 3), "neighbours.translations"
/// (C, 3) float32, "neighbours.images" (C, 3, H, W) uint8, "neighbours.state" (2) int64 =
/// (next slot to write, entries filled).
val buffers: memory: Memory -> Layers.Named

/// C, the number of entries the memory holds when full.
val capacity: memory: Memory -> int

/// The number of entries filled, at most C.
val count: memory: Memory -> int

/// Appends the entries (detached copies) in order, overwriting the oldest once full; of more
/// than C entries only the last C stay.
val push: memory: Memory -> entries: Entries -> unit

/// Draws a bin per sample from `generator` (B draws, also when the memory is empty, so the
/// stream does not depend on the memory) and picks the neighbours; no gradient.
/// rotations: (B, 3, 3); shapeCodes: (B, dsh); textureCodes: (B, dtx).
val select: memory: Memory -> generator: Generator -> rotations: Tensor -> shapeCodes: Tensor -> textureCodes: Tensor -> Choice

/// The entries at `indices` (B) int64 slots (each in 0 .. count − 1), images as float32 in [0, 1].
val gather: memory: Memory -> indices: Tensor -> Entries
