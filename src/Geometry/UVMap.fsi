/// Spherical texture coordinates, UNICORN's UV parametrisation of its template:
///   r = ‖p‖, θ = acos(y / r), φ = atan2(x, z), u = (φ + π) / 2π, v = θ / π.
/// φ = ±π is a seam on the -z side (x = 0, z < 0), where u jumps from 1 to 0; v = 0 is the
/// north pole (+y) at the top row of the texture image.
///
/// Seam treatment (`spherical`): the geometry keeps its vertices (one closed surface, so
/// normals, Laplacian and voxels are unaffected); only texture coordinates are duplicated.
///   * A face whose corners' u span more than 1/2 crosses the seam; its corners with u < 1/2
///     get a duplicate coordinate u + 1, so the face interpolates u continuously from just
///     below 1 to just above it instead of across the whole texture. Such u exceed 1 by at most
///     one face's width: the texture is periodic in u, so a renderer samples at u mod 1 (taking
///     the remainder per pixel after interpolation is exact; clamping at the border is a
///     one-texel approximation).
///   * A vertex on the polar axis (x = z = 0) has no azimuth; each face around it gets its own
///     coordinate with u = the mean of the face's other corners, so pole faces are not
///     twisted across the texture.
/// Unchanged corners keep coordinate index = vertex index, so Coords starts with the V
/// per-vertex values and the duplicates follow.
[<CompilationRepresentation(CompilationRepresentationFlags.ModuleSuffix)>]
module Reconstruct.Geometry.UVMap

open Reconstruct.Torch

/// UNICORN's per-vertex spherical UV, seam untreated: vertices (..., V, 3) -> (..., V, 2).
/// Differentiable away from the poles.
val sphericalPerVertex: vertices: Tensor -> Tensor

/// Seam- and pole-aware spherical UVs of host arrays (see the module comment).
val sphericalOfArrays: vertices: float[][] -> faces: int[][] -> UVMap

/// Seam- and pole-aware spherical UVs of a mesh given as vertices (V, 3) or (1, V, 3) and
/// faces (F, 3) int64: Coords (T, 2) float32 with T ≥ V, Faces (F, 3) int64.
val spherical: vertices: Tensor -> faces: Tensor -> UVMap

/// Per-vertex UVs (V, 2) as a UVMap whose faces are the mesh faces.
val ofPerVertex: uv: Tensor -> faces: Tensor -> UVMap

/// The (u, v) of every face corner: (F, 3, 2), ready for barycentric interpolation.
val faceCoords: uvs: UVMap -> Tensor
