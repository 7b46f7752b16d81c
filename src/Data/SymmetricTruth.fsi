/// The ground truth a symmetric-protocol render keeps beside each image (issue 15): its
/// view-space depth map and its light, read through the index row that names the image. For
/// evaluation only: no training batch carries any of it.
module Reconstruct.Data.SymmetricTruth

open Reconstruct.Torch

/// One image's light as rendered: k_a + k_d·max(0, n·ℓ).
type Light =
    { /// Unit vector towards the light, camera frame (x right, y down, z forward).
      Direction: float * float * float
      Ambient: float
      Diffuse: float }

/// The ground truth of samples of a split loaded by `SingleView.load` from a `symmetric<size>`
/// protocol folder: depth (N, H, W) float32, camera z of the visible surface (object units),
/// 0 on the background; mask (N, H, W) float32, 1 on the foreground; in the order of
/// `samples`. New tensors of the current disposal scope. A row without "depth", a depth map
/// missing, unreadable or of another size than the images: one exception naming the index
/// file and line, or the map.
val depth: set: SingleView.Set -> samples: int[] -> Tensor * Tensor

/// The light of each sample, as `depth` finds its row.
val lights: set: SingleView.Set -> samples: int[] -> Light[]
