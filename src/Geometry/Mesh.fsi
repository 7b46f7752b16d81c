namespace Reconstruct.Geometry

open Reconstruct.Torch

/// Texture coordinates indexed per face corner, as OBJ's `vt` are: the geometry stays one
/// closed surface while a corner on a texture seam can carry a different (u, v) in each face.
/// (u, v) samples a texture image (C, Ht, Wt) at grid_sample coordinates (2u - 1, 2v - 1):
/// u = 0 is the left edge, v = 0 the TOP row (OBJ files store 1 - v; MeshIO converts).
type UVMap =
    { /// (T, 2) float32 (u, v).
      Coords: Tensor
      /// (F, 3) int64: corner k of face f uses Coords[Faces[f, k]]; rows match the mesh faces.
      Faces: Tensor }

/// A batch of meshes sharing one connectivity.
type Mesh =
    { /// (B, V, 3) float32 (or float64), object frame.
      Vertices: Tensor
      /// (F, 3) int64, counter-clockwise seen from outside.
      Faces: Tensor
      /// Texture coordinates, shared by the batch.
      UVs: UVMap option }

/// The connectivity of a triangle mesh, computed once on the host from the faces.
type Topology =
    { VertexCount: int
      FaceCount: int
      /// (F, 3) int64, the faces this topology was built from.
      Faces: Tensor
      /// (E, 2) int64, each undirected edge once, smaller vertex index first.
      Edges: Tensor
      /// (E, 2) int64: the faces on either side of each edge; column 1 is -1 on a boundary edge.
      EdgeFaces: Tensor
      /// (E, 2) int64: in each of those faces, the vertex opposite the edge (-1 on a boundary).
      EdgeOpposite: Tensor
      /// (I,) int64: indices into Edges of the interior edges (two faces).
      Interior: Tensor
      /// (V,) int64: number of edges at each vertex.
      Degree: Tensor }

/// Mesh construction, icospheres and differentiable per-face and per-vertex quantities.
module Mesh =

    /// Fails (ArgumentException, one line naming `fn` and the argument) unless the vertices
    /// are (B, V, 3) and all finite and the faces (F, 3) int64 index vertices 0 .. V-1: what a
    /// mesh must be before normals, regularisers or the rasterizer see it (a NaN vertex makes
    /// them NaN silently; an out-of-range face makes the rasterizer drop it).
    val validate: fn: string -> mesh: Mesh -> unit

    /// A mesh without UVs, validated (`validate`). vertices: (B, V, 3) float32/float64;
    /// faces: (F, 3) int64.
    val create: vertices: Tensor -> faces: Tensor -> Mesh

    /// The mesh with texture coordinates `uvs`.
    val withUVs: uvs: UVMap -> mesh: Mesh -> Mesh

    /// B, the number of meshes in the batch.
    val batchSize: mesh: Mesh -> int

    /// V, the number of vertices of each mesh.
    val vertexCount: mesh: Mesh -> int

    /// F, the number of faces.
    val faceCount: mesh: Mesh -> int

    /// Mesh k of the batch, as a batch of one (vertices (1, V, 3)).
    val item: k: int -> mesh: Mesh -> Mesh

    /// The same mesh repeated to a batch of `b` (vertices must be a batch of one).
    val expandBatch: b: int -> mesh: Mesh -> Mesh

    /// Vertices and faces as host arrays (the mesh must be a batch of one).
    val toArrays: mesh: Mesh -> float[][] * int[][]

    /// A batch-of-one float32 mesh from host arrays, validated (`validate`).
    val ofArrays: vertices: float[][] -> faces: int[][] -> Mesh

    /// Vertices on the unit sphere and CCW-outward faces of the icosphere of `level`
    /// subdivisions: 10·4^level + 2 vertices, 20·4^level faces.
    val icosphereArrays: level: int -> float[][] * int[][]

    /// The unit icosphere as a batch-of-one float32 mesh. Level 3: 642 vertices, 1280 faces;
    /// level 4: 2562, 5120.
    val icosphere: level: int -> Mesh

    /// vertices (B, V, 3) scaled per axis by (sx, sy, sz).
    val scaleAxes: sx: float * sy: float * sz: float -> vertices: Tensor -> Tensor

    /// The corners of every face. vertices: (B, V, 3); faces: (F, 3) int64 -> (B, F, 3, 3)
    /// with [b, f, k] the position of corner k of face f.
    val faceVertices: vertices: Tensor -> faces: Tensor -> Tensor

    /// (v1 - v0) × (v2 - v0) per face, twice the area along the normal: (B, F, 3).
    val faceCross: vertices: Tensor -> faces: Tensor -> Tensor

    /// Unit outward normals (B, F, 3); a degenerate face gets a zero vector.
    val faceNormals: vertices: Tensor -> faces: Tensor -> Tensor

    /// Face areas (B, F).
    val faceAreas: vertices: Tensor -> faces: Tensor -> Tensor

    /// Unit vertex normals (B, V, 3): the area-weighted mean of the adjacent face normals.
    val vertexNormals: vertices: Tensor -> faces: Tensor -> Tensor

    /// Edges, edge–face adjacency and degrees of a triangle mesh with `vertexCount` vertices.
    /// Fails on an edge shared by more than two faces (the regularisers need a manifold).
    val topologyOfArrays: vertexCount: int -> faces: int[][] -> Topology

    /// Topology of faces (F, 3) int64 over `vertexCount` vertices.
    val topology: vertexCount: int -> faces: Tensor -> Topology

    /// Unique undirected edges (E, 2) int64 of faces (F, 3), smaller index first.
    val edges: vertexCount: int -> faces: Tensor -> Tensor

    /// The uniform Laplacian applied to vertices: L x_i = x_i - mean of x over the neighbours
    /// of i (L = I - D⁻¹A). vertices: (B, V, 3) -> (B, V, 3); 0 at an isolated vertex.
    val uniformLaplacian: topology: Topology -> vertices: Tensor -> Tensor

    /// The dense uniform Laplacian matrix I - D⁻¹A, (V, V) float64 (a reference for tests;
    /// use `uniformLaplacian` in losses).
    val laplacianMatrix: topology: Topology -> Tensor
