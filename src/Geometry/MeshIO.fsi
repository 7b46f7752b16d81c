namespace Reconstruct.Geometry

open Reconstruct.Torch

/// A mesh file could not be read: `Message` is one line, "file:line: what is wrong" (for
/// binary PLY data "file: byte N: ...").
type MeshFileException =
    inherit System.Exception
    new: file: string * line: int * detail: string -> MeshFileException
    member File: string
    /// 1-based line number, 0 when the error has no line (binary data, whole-file checks).
    member Line: int
    member Detail: string

/// What the OBJ parser refuses beyond syntax errors and indices out of range.
[<RequireQualifiedAccess>]
type ObjRules =
    /// A mesh file: every face has at least 3 corners and texture coordinates on all of its
    /// corners or on none, normals (vn) have 3 numbers and faces' normal indices are valid.
    | Strict
    /// Models from the wild: faces are kept as written (fewer than 3 corners, texture
    /// coordinates on some corners only) for the reader to drop or mend; normals are counted,
    /// not read.
    | Tolerant

/// A statement the OBJ parser does not read itself (usemtl, mtllib, o, g, s, l, p, ...).
type ObjStatement =
    { /// 1-based line where the statement starts.
      Line: int
      /// Its first token ("usemtl").
      Keyword: string
      /// The line as written: continuation lines joined, comment included (names may hold '#').
      Text: string
      /// How many polygons the file gives before this statement (the faces it applies to
      /// start there).
      PolygonsBefore: int }

/// An OBJ file's vertices, texture coordinates and polygons as written, every index 0-based
/// (negative, relative indices resolved) and checked against the counts of the whole file.
type ObjGeometry =
    { /// V·3 values, x y z per vertex.
      Positions: float[]
      /// T·2 values (u, v) as stored: v = 0 the BOTTOM row (OBJ convention).
      TexCoords: float[]
      /// P + 1 offsets into the corner arrays: polygon p has corners
      /// PolygonStart.[p] .. PolygonStart.[p + 1] - 1.
      PolygonStart: int[]
      /// P values: the 1-based line of each polygon.
      PolygonLine: int[]
      /// The vertex of each corner.
      CornerVertex: int[]
      /// The texture coordinate of each corner, -1 where the corner gives none.
      CornerTexCoord: int[]
      /// The other statements, in file order.
      Other: ObjStatement[] }

/// What a shape file holds: a surface, or points alone. Predictions come as either (the
/// point-cloud method writes clouds), and are scored by what they are.
[<RequireQualifiedAccess>]
type MeshOrCloud =
    /// A file with at least one face, exactly as `MeshIO.read` returns it.
    | Surface of Mesh
    /// A file with vertices and no faces (`MeshIO.writePointsPly` writes one; an OBJ of `v`
    /// lines or an OFF with 0 faces is one too): (N, 3) interleaved xyz float32, N >= 1, every
    /// coordinate finite. Colours and other per-vertex values are dropped.
    | Cloud of float32[]

/// The text of mesh files: tokens, numbers, quoting for error messages, and the one OBJ parser
/// (`MeshIO.parseObj` reads meshes with it, `Wavefront.parseObj` textured models).
module MeshText =

    /// Raises MeshFileException(file, line, detail); line 0 when there is none.
    val fail: file: string -> line: int -> detail: string -> 'a

    /// A short, one-line rendering of offending input for error messages: "'text'", cut
    /// after 57 characters.
    val quote: s: string -> string

    /// A finite number in invariant culture; None for anything else (NaN and infinities too).
    val tryNumber: s: string -> float option

    /// Whitespace-separated tokens (spaces, tabs, CR, form and vertical feeds).
    val tokens: s: string -> string[]

    /// Parses OBJ text (v, vt, vn, f with v, v/vt, v//vn, v/vt/vn and negative indices;
    /// lines continued with a trailing backslash; '#' starts a comment); `file` names it in
    /// errors "file:line: ...". Raises MeshFileException.
    val parseObj: rules: ObjRules -> file: string -> text: string -> ObjGeometry

/// Reading and writing OBJ (+ MTL + PNG), PLY (ASCII, binary little/big endian) and OFF.
///
/// Meshes read are a batch of one, vertices (1, V, 3) float32, faces (F, 3) int64; polygons
/// are split into fans (0, k, k+1). OBJ and PLY store texture v upwards (v = 0 the bottom row),
/// this framework downwards (v = 0 the top row, see UVMap), so v is flipped on the way in and
/// out. UVs are read when every face has them (OBJ `f v/vt`, PLY per-vertex u/v, s/t or
/// texture_u/texture_v, or MeshLab's per-face `texcoord` list) and are dropped otherwise.
/// Vertex normals (OBJ `vn`) are validated and ignored. Readers raise MeshFileException.
/// Writers take a batch-of-one mesh and write each file atomically (`Files.writeAtomically`:
/// a reader never sees half a file); they raise `Files.FileWriteError` when they cannot.
module MeshIO =

    /// Parses OBJ text (`MeshText.parseObj` with `ObjRules.Strict`); `file` names it in errors.
    /// -> vertices (1, V, 3) float32, faces (F, 3) int64, UVs when every face has them.
    val parseObj: file: string -> text: string -> Mesh

    /// Reads an OBJ file (v, vt, vn, f with v, v/vt, v//vn, v/vt/vn and negative indices).
    val readObj: path: string -> Mesh

    /// Parses OFF text (also COFF/NOFF/... headers: extra per-vertex values and face colours
    /// are ignored); `file` names it in errors. -> vertices (1, V, 3) float32, faces (F, 3) int64.
    val parseOff: file: string -> text: string -> Mesh

    /// Reads an OFF file.
    val readOff: path: string -> Mesh

    /// Parses PLY bytes (ASCII or binary); `file` names it in errors. -> vertices (1, V, 3)
    /// float32, faces (F, 3) int64, UVs when the file has them.
    val parsePly: file: string -> bytes: byte[] -> Mesh

    /// Reads a PLY file.
    val readPly: path: string -> Mesh

    /// Reads .obj, .off or .ply by extension (case-insensitive). A file without faces is
    /// refused ("N vertices but no faces"): callers that take clouds use `readMeshOrCloud`.
    val read: path: string -> Mesh

    /// Reads .obj, .off or .ply by extension: a mesh when the file has faces, else its vertices
    /// as a cloud. A file with no vertices (an empty cloud, a 0-byte file), non-finite ones or
    /// any error `read` raises is a MeshFileException naming the file.
    val readMeshOrCloud: path: string -> MeshOrCloud

    /// Writes a batch-of-one mesh (vertices (1, V, 3)) as OBJ (with vt when it has UVs).
    val writeObj: path: string -> mesh: Mesh -> unit

    /// Writes `path` (.obj), and beside it a .mtl and a .png with the same base name, the
    /// texture mapped through the mesh's UVs. texture: (3, Ht, Wt) float32 in [0, 1], row 0 at
    /// the top; `encodePng` turns it into PNG bytes (the image codec lives in the native
    /// library, so the caller passes it in). mesh: a batch of one with UVs.
    val writeObjTextured: path: string -> encodePng: (Tensor -> byte[]) -> texture: Tensor -> mesh: Mesh -> unit

    /// `writeObjTextured` with the texture image named `textureFile` (a plain file name beside
    /// the OBJ, e.g. "chair_texture.png") instead of the OBJ's base name + ".png".
    val writeObjTexturedAs: path: string -> textureFile: string -> encodePng: (Tensor -> byte[]) -> texture: Tensor -> mesh: Mesh -> unit

    /// Writes a batch-of-one mesh as OFF.
    val writeOff: path: string -> mesh: Mesh -> unit

    /// Writes a coloured point cloud as binary little-endian PLY: element vertex with float
    /// x y z and uchar red green blue (read by MeshLab, CloudCompare and three.js), no faces.
    /// points: (N, 3) interleaved, finite; colours: (N, 3) interleaved in [0, 1] (clamped,
    /// rounded to 0..255).
    val writePointsPly: path: string -> points: float32[] -> colours: float32[] -> unit

    /// Writes a batch-of-one mesh as PLY, ASCII or binary little endian: vertex x y z as
    /// float (double for a float64 mesh), face vertex_indices as a uchar/int list, and UVs as
    /// MeshLab's per-face texcoord float list (6 values, v upwards).
    val writePly: path: string -> binary: bool -> mesh: Mesh -> unit
