/// Occupancy grids of meshes (for 3D IoU), by two methods: ray parity for closed meshes, and
/// surface voxelisation + flood fill (`solid`), the SoftRas/SSR protocol, which also takes the
/// open and not quite closed meshes of real models.
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
///
/// Flood-fill method (`surface`, `solid`): the surface voxels are those a crossing of the
/// rasterisation above falls in, along each of the three axes (so every face is rasterised
/// along its most normal axis too, giving a layer without 6-connected gaps), plus the voxels
/// of the face corners. Voxel k along an axis is the cell [lo + k h, lo + (k + 1) h), h =
/// (hi − lo)/n, the last one closed at hi. Crossings and corners beyond the grid are dropped,
/// but a column that leaves the grid inside the mesh (an odd number of crossings beyond that
/// end) marks its border voxel there: a mesh that overshoots the grid is cut by it and the cut
/// closed, so its inside is not flooded from the border. The empty
/// voxels 6-connected to the grid's border are outside; everything else — surface and
/// enclosed voxels — is solid. A crack or hole narrower than about a voxel is sealed by the
/// surface voxels, so nearly closed meshes come out solid; a larger opening lets the fill in:
/// a box without its lid gives its walls only (no volume), as it has no inside.
///
/// SoftRas/SSR map a vertex v to (v·31/32 + 0.5)·32 = 31 v + 16 voxel units, i.e. the cube
/// [−0.5, 0.5] onto [0.5, 31.5]: their 32 voxels have pitch 1/31 and the outer voxel centres
/// lie on the cube's faces (the grid spans [−0.5 − 1/62, 0.5 + 1/62]). Our IoU grid is the
/// cube [−0.5, 0.5]³ itself at 32³ (pitch 1/32, centres at −0.5 + (i + 0.5)/32): the same
/// count of voxels, 3% finer, shifted by half a voxel; IoUs compare, they are not identical.
/// (SoftRas then transposes and flips its grid to match ShapeNet's voxel files; here both the
/// prediction's and the truth's grids come from `solid`, so they need no reorientation.)
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

/// The surface voxels of a mesh (open or closed) over [lo, hi]³ at n³: host arrays in, flat
/// bool array out, index i·n² + j·n + k (see the module comment).
val surface: n: int -> lo: float -> hi: float -> vertices: float[][] -> faces: int[][] -> bool[]

/// Flat n³ grid of `walls` -> solid: every voxel not reachable from the grid's border through
/// 6-connected empty voxels (walls included).
val fillFromBorder: n: int -> walls: bool[] -> bool[]

/// `surface` then `fillFromBorder`: the SoftRas/SSR solid of a mesh, open or closed.
val solid: n: int -> lo: float -> hi: float -> vertices: float[][] -> faces: int[][] -> bool[]

/// `solid` on tensors: vertices (V, 3) or (1, V, 3), faces (F, 3) int64 -> (n, n, n) bool,
/// [i, j, k] the voxel at (c_i, c_j, c_k) (x, y, z).
val voxelizeSolid: resolution: int -> lo: float -> hi: float -> vertices: Tensor -> faces: Tensor -> Tensor
