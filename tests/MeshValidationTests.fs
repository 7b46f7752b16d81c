/// Meshes are checked where they are made: non-finite vertices and faces out of range fail at
/// construction with one line, and a mesh file that holds no surface fails naming the file
/// (rather than as an empty cloud much later).
module Reconstruct.Tests.MeshValidationTests

open System
open System.IO
open Expecto
open Reconstruct.Torch
open Reconstruct.Geometry
open Reconstruct.Tests.TestHelpers

/// A unit tetrahedron as a batch of `b`, with vertex `k` of mesh `item` set to `value`.
let private tetrahedron (b: int) (item: int) (k: int) (value: float) =
    let v = Array.init b (fun _ -> [| 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0; 0.0; 0.0; 0.0; 1.0 |])
    v.[item].[3 * k + 1] <- value
    Tensor.ofArray (Array.concat v, [ b; 4; 3 ]), Tensor.ofArray ([| 0L; 2L; 1L; 0L; 1L; 3L; 0L; 3L; 2L; 1L; 2L; 3L |], [ 4; 3 ])

/// The message of the ArgumentException `f` raises, checked to be one line.
let private argumentError (f: unit -> unit) =
    let e = Expect.throwsC f id
    Expect.isTrue (e :? ArgumentException) (sprintf "expected an ArgumentException, got %s: %s" (e.GetType().Name) e.Message)
    Expect.isFalse (e.Message.Contains "\n") "the message is one line"
    e.Message

/// The MeshFileException `read` raises on a file `name` holding `contents`, checked to be one
/// line naming the file.
let private fileErrorOf (read: string -> unit) (name: string) (contents: byte[]) =
    use dir = new TempDir()
    let path = dir.File name
    File.WriteAllBytes(path, contents)
    let e = Expect.throwsC (fun () -> read path) id
    Expect.isTrue (e :? MeshFileException) (sprintf "expected a MeshFileException, got %s: %s" (e.GetType().Name) e.Message)
    Expect.stringContains e.Message path "the message names the file"
    Expect.isFalse (e.Message.Contains "\n") "the message is one line"
    e.Message

let private fileError = fileErrorOf (MeshIO.read >> ignore)

/// The bytes `MeshIO.writePointsPly` writes for `points` (interleaved xyz), all grey.
let private pointsPly (points: float32[]) =
    use dir = new TempDir()
    MeshIO.writePointsPly (dir.File "cloud.ply") points (Array.create points.Length 0.5f)
    File.ReadAllBytes(dir.File "cloud.ply")

let private cloudOf (path: string) =
    match MeshIO.readMeshOrCloud path with
    | MeshOrCloud.Cloud points -> points
    | MeshOrCloud.Surface m -> failtestf "%s read as a mesh of %d faces, not a cloud" path (m.Faces.Size 0)

[<Tests>]
let tests =
    testList "MeshValidation" [
        test "a NaN or infinite vertex fails at construction naming the vertex and the mesh" {
            use _ = DisposalScope.Open()
            for value in [ nan; infinity; -infinity ] do
                let v, f = tetrahedron 3 2 1 value
                let message = argumentError (fun () -> Mesh.create v f |> ignore)
                Expect.stringStarts message "Mesh.create: 1 coordinates are NaN or infinite, the first in vertex 1 of mesh 2" "message"
            let finite, f = tetrahedron 3 2 1 0.5
            Expect.equal (Mesh.batchSize (Mesh.create finite f)) 3 "a finite mesh is accepted"
        }

        test "faces out of range fail at construction naming the range" {
            use _ = DisposalScope.Open()
            let v, _ = tetrahedron 1 0 0 0.0
            for bad in [ 4L; -1L ] do
                let f = Tensor.ofArray ([| 0L; 1L; 2L; 0L; bad; 3L |], [ 2; 3 ])
                let message = argumentError (fun () -> Mesh.create v f |> ignore)
                Expect.stringStarts message "Mesh.create: faces index vertices" "message"
                Expect.stringContains message "but the mesh has 4 vertices (0 to 3)" "message"
            let e = argumentError (fun () -> Mesh.ofArrays [| [| 0.0; 0.0; 0.0 |] |] [| [| 0; 0; 1 |] |] |> ignore)
            Expect.stringStarts e "Mesh.ofArrays: faces index vertices 0 to 1, but the mesh has 1 vertices" "host arrays are checked too"
        }

        test "a mesh file without a surface fails naming the file" {
            Expect.stringContains (fileError "empty.obj" [||]) "no vertices" "0-byte OBJ"
            let noise = Array.init 4096 (fun i -> byte ((i * 7919 + 13) % 251))
            Expect.stringContains (fileError "noise.obj" noise) "no vertices" "random-bytes OBJ"
            Expect.stringContains (fileError "cloud.obj" (Text.Encoding.ASCII.GetBytes "v 0 0 0\nv 1 0 0\nv 0 1 0\n")) "3 vertices but no faces" "a point cloud"
            Expect.stringContains (fileError "empty.off" (Text.Encoding.ASCII.GetBytes "OFF\n0 0 0\n")) "no vertices" "empty OFF"
            // Text formats refuse "nan" as a number; binary PLY stores one as it is.
            let header = "ply\nformat binary_little_endian 1.0\nelement vertex 3\nproperty float x\nproperty float y\nproperty float z\nelement face 1\nproperty list uchar int vertex_indices\nend_header\n"
            let floats = [| 0.0f; 0.0f; 0.0f; 1.0f; nanf; 0.0f; 0.0f; 1.0f; 0.0f |] |> Array.collect BitConverter.GetBytes
            let face = Array.append [| 3uy |] ([| 0; 1; 2 |] |> Array.collect BitConverter.GetBytes)
            let ply = Array.concat [ Text.Encoding.ASCII.GetBytes header; floats; face ]
            Expect.stringContains (fileError "nan.ply" ply) "vertex 2 is not finite" "a NaN vertex"
        }

        test "readMeshOrCloud: a points-only PLY (writePointsPly), an OBJ of v lines and an OFF without faces are clouds; a mesh PLY is a mesh; read still refuses a cloud" {
            use _ = DisposalScope.Open()
            use dir = new TempDir()
            let points = [| 0.5f; -1.0f; 2.0f; 0.0f; 0.25f; -0.125f; 1.0f; 1.0f; 1.0f |]
            File.WriteAllBytes(dir.File "cloud.ply", pointsPly points)
            Expect.equal (cloudOf (dir.File "cloud.ply")) points "the PLY's points, as written"
            Expect.stringContains (fileError "cloud.ply" (pointsPly points)) "3 vertices but no faces" "read wants a mesh"
            File.WriteAllText(dir.File "cloud.obj", "v 0 0 0\nv 1 0 0\nv 0 1 0\n")
            Expect.equal (cloudOf (dir.File "cloud.obj")) [| 0.0f; 0.0f; 0.0f; 1.0f; 0.0f; 0.0f; 0.0f; 1.0f; 0.0f |] "an OBJ of v lines"
            File.WriteAllText(dir.File "cloud.off", "OFF\n2 0 0\n0 0 0\n1 2 3\n")
            Expect.equal (cloudOf (dir.File "cloud.off")) [| 0.0f; 0.0f; 0.0f; 1.0f; 2.0f; 3.0f |] "an OFF with 0 faces"
            let v, f = tetrahedron 1 0 0 0.0
            for binary in [ true; false ] do
                MeshIO.writePly (dir.File "mesh.ply") binary (Mesh.create v f)
                match MeshIO.readMeshOrCloud (dir.File "mesh.ply") with
                | MeshOrCloud.Surface m ->
                    Expect.equal m.Vertices.Shape [| 1; 4; 3 |] "the mesh's vertices"
                    Expect.equal (m.Faces.ToInt64s()) (f.ToInt64s()) "and faces"
                | MeshOrCloud.Cloud _ -> failtestf "a mesh PLY (binary %b) read as a cloud" binary
        }

        test "readMeshOrCloud: an empty cloud, a truncated or unreadable PLY fails with one line naming the file" {
            let read = fileErrorOf (MeshIO.readMeshOrCloud >> ignore)
            Expect.stringContains (read "empty.ply" (pointsPly [||])) "no vertices" "a cloud of 0 points"
            let whole = pointsPly [| 0.0f; 0.0f; 0.0f; 1.0f; 1.0f; 1.0f |]
            Expect.stringContains (read "truncated.ply" whole.[.. whole.Length - 8]) "data ends inside vertex 1" "a truncated cloud"
            Expect.stringContains (read "noise.ply" (Array.init 512 (fun i -> byte ((i * 7919 + 13) % 251)))) "not a PLY file" "random bytes"
            Expect.stringContains (read "empty.obj" [||]) "no vertices" "a 0-byte OBJ"
            let header = "ply\nformat binary_little_endian 1.0\nelement vertex 1\nproperty double x\nproperty double y\nproperty double z\nend_header\n"
            let huge = Array.append (Text.Encoding.ASCII.GetBytes header) ([| 1e300; 0.0; 0.0 |] |> Array.collect BitConverter.GetBytes)
            Expect.stringContains (read "huge.ply" huge) "vertex 1 is out of float32 range" "a coordinate no float32 holds"
        }
    ]
