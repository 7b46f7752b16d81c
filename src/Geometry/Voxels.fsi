/// Occupancy grids of closed meshes (for 3D IoU).
///
/// The grid covers the cube [lo, hi]³ with n voxels per axis; voxel [i, j, k] has its centre at
/// (c_i, c_j, c_k), c_i = lo + (i + 0.5)(hi - lo)/n, and is occupied when its centre is inside.
///
/// Method: for one axis, a ray runs through every column of voxel centres; a centre is inside
/// when the ray crosses the surface an odd number of times before reaching it (parity, so the
/// face orientation does not matter). Exactness on edges and vertices: a column passing
/// exactly through an edge or vertex of the projected mesh must be counted once per surface
/// sheet. Each edge's line function is evaluated with its endpoints in a canonical order
/// (lexicographic by projected position), so the two faces sharing an edge see bitwise the
/// same value, and a point exactly on an edge belongs to a face only if the edge's inward
/// normal points to +x (or to +y when vertical) — a "top-left" rule: of two faces on opposite
/// sides of the edge exactly one claims the point; two faces folding over a silhouette both
/// claim it or neither does, keeping the parity right. Faces seen edge-on are skipped.
/// `voxelize` runs this along all three axes and takes the majority, which also absorbs a
/// small hole or self-intersection that spoils one direction.
module Reconstruct.Geometry.Voxels

open Reconstruct.Torch

/// The n voxel-centre coordinates along one axis of [lo, hi].
val centres: n: int -> lo: float -> hi: float -> float[]

/// Occupancy by ray parity along `axis` (0 = x, 1 = y, 2 = z) only. Host arrays in, a flat
/// bool array out, index i·n² + j·n + k for voxel [i, j, k].
val occupancyAlong: axis: int -> n: int -> lo: float -> hi: float -> vertices: float[][] -> faces: int[][] -> bool[]

/// Majority of the three axis-wise parity grids (see the module comment). Host arrays.
val occupancy: n: int -> lo: float -> hi: float -> vertices: float[][] -> faces: int[][] -> bool[]

/// Occupancy (n, n, n) bool of a closed mesh, vertices (V, 3) or (1, V, 3), faces (F, 3)
/// int64, over the cube [lo, hi]³; [i, j, k] is the voxel at (c_i, c_j, c_k) (x, y, z).
val voxelize: resolution: int -> lo: float -> hi: float -> vertices: Tensor -> faces: Tensor -> Tensor

/// As `voxelize` with rays along one axis only (0 = x, 1 = y, 2 = z), no majority vote.
val voxelizeAlong: axis: int -> resolution: int -> lo: float -> hi: float -> vertices: Tensor -> faces: Tensor -> Tensor
