/// Template meshes the methods deform.
module Reconstruct.Geometry.Template

/// An icosphere of `level` scaled per axis by (sx, sy, sz), with seam-aware spherical UVs
/// computed on the scaled vertices (as UNICORN does). Batch of one, float32.
val ellipsoid: level: int -> sx: float * sy: float * sz: float -> Mesh

/// UNICORN's template: icosphere level 3 (642 vertices, 1280 faces) scaled by
/// `scale`·(1, 0.7, 0.7), an ellipsoid with its long axis along x. `scale` is 0.4 for
/// synthetic renders, 0.6 for real photographs.
val unicorn: scale: float -> Mesh
