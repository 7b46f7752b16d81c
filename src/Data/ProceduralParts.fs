namespace Reconstruct.Data

open System
open System.Collections.Generic

[<RequireQualifiedAccess>]
type Pattern =
    | Solid
    | Stripes of count: int * alongU: bool
    | Checks of count: int
    | Gradient

type Part =
    { Name: string
      Positions: float[]
      Faces: int[]
      UVs: float[]
      Colour: float32 * float32 * float32
      Accent: float32 * float32 * float32
      Pattern: Pattern }

module ProceduralParts =

    let private emptyPart name =
        { Name = name
          Positions = [||]
          Faces = [||]
          UVs = [||]
          Colour = (0.5f, 0.5f, 0.5f)
          Accent = (0.5f, 0.5f, 0.5f)
          Pattern = Pattern.Solid }

    let signedVolume (positions: float[]) (faces: int[]) =
        let mutable v = 0.0
        for f in 0 .. faces.Length / 3 - 1 do
            let a, b, c = 3 * faces.[3 * f], 3 * faces.[3 * f + 1], 3 * faces.[3 * f + 2]
            let p = positions
            v <-
                v
                + p.[a] * (p.[b + 1] * p.[c + 2] - p.[b + 2] * p.[c + 1])
                - p.[a + 1] * (p.[b] * p.[c + 2] - p.[b + 2] * p.[c])
                + p.[a + 2] * (p.[b] * p.[c + 1] - p.[b + 1] * p.[c])
        v / 6.0

    // The same faces with the other winding (corners 1 and 2 swapped, UVs too).
    let private flipWinding (part: Part) =
        { part with
            Faces = Array.init part.Faces.Length (fun k -> part.Faces.[k - k % 3 + [| 0; 2; 1 |].[k % 3]])
            UVs = Array.init part.UVs.Length (fun k -> part.UVs.[k - k % 6 + [| 0; 1; 4; 5; 2; 3 |].[k % 6]]) }

    // Orients a closed part outwards (the builders are consistent; this fixes the sign).
    let private outward (part: Part) = if signedVolume part.Positions part.Faces < 0.0 then flipWinding part else part

    let hexahedron (name: string) (corners: float[][]) =
        if corners.Length <> 8 then invalidArg "corners" (sprintf "ProceduralParts.hexahedron: needs 8 corners, received %d" corners.Length)
        // Unit-cube coordinates (x, y, z) of the 8 corners.
        let cube = [| 0, 0, 0; 1, 0, 0; 1, 0, 1; 0, 0, 1; 0, 1, 0; 1, 1, 0; 1, 1, 1; 0, 1, 1 |]
        let sides =
            [| [| 0; 1; 2; 3 |], 1; [| 4; 7; 6; 5 |], 1; [| 3; 2; 6; 7 |], 2; [| 0; 4; 5; 1 |], 2; [| 0; 3; 7; 4 |], 0; [| 1; 5; 6; 2 |], 0 |]
        let faces = List<int>()
        let uvs = List<float>()
        for q, axis in sides do
            for tri in [| [| 0; 1; 2 |]; [| 0; 2; 3 |] |] do
                for c in tri do
                    let corner = q.[c]
                    faces.Add corner
                    let x, y, z = cube.[corner]
                    let u, v =
                        match axis with
                        | 0 -> z, 1 - y
                        | 1 -> x, z
                        | _ -> x, 1 - y
                    uvs.Add(float u)
                    uvs.Add(float v)
        outward { emptyPart name with Positions = Array.concat corners; Faces = faces.ToArray(); UVs = uvs.ToArray() }

    let box (name: string) (cx: float, cy: float, cz: float) (sx: float, sy: float, sz: float) =
        let x0, x1, y0, y1, z0, z1 = cx - sx / 2.0, cx + sx / 2.0, cy - sy / 2.0, cy + sy / 2.0, cz - sz / 2.0, cz + sz / 2.0
        hexahedron
            name
            [| [| x0; y0; z0 |]; [| x1; y0; z0 |]; [| x1; y0; z1 |]; [| x0; y0; z1 |]
               [| x0; y1; z0 |]; [| x1; y1; z0 |]; [| x1; y1; z1 |]; [| x0; y1; z1 |] |]

    let taperedBox (name: string) (cx: float, y0: float, cz: float) (bx: float, bz: float) (tx: float, tz: float) (height: float) =
        let y1 = y0 + height
        hexahedron
            name
            [| [| cx - bx / 2.0; y0; cz - bz / 2.0 |]; [| cx + bx / 2.0; y0; cz - bz / 2.0 |]
               [| cx + bx / 2.0; y0; cz + bz / 2.0 |]; [| cx - bx / 2.0; y0; cz + bz / 2.0 |]
               [| cx - tx / 2.0; y1; cz - tz / 2.0 |]; [| cx + tx / 2.0; y1; cz - tz / 2.0 |]
               [| cx + tx / 2.0; y1; cz + tz / 2.0 |]; [| cx - tx / 2.0; y1; cz + tz / 2.0 |] |]

    let revolve (name: string) (segments: int) (profile: (float * float)[]) =
        if segments < 3 then invalidArg "segments" (sprintf "ProceduralParts.revolve: needs at least 3 segments, received %d" segments)
        if profile.Length < 3 || fst profile.[0] <> 0.0 || fst profile.[profile.Length - 1] <> 0.0 then
            invalidArg "profile" "ProceduralParts.revolve: the profile needs at least 3 points and must start and end on the axis (radius 0)"
        let m = profile.Length
        let positions = List<float>()
        // Vertex of ring i, segment k: poles are one vertex.
        let index = Array2D.zeroCreate<int> m segments
        for i in 0 .. m - 1 do
            let r, h = profile.[i]
            if i = 0 || i = m - 1 then
                let v = positions.Count / 3
                positions.AddRange [ 0.0; h; 0.0 ]
                for k in 0 .. segments - 1 do
                    index.[i, k] <- v
            else
                for k in 0 .. segments - 1 do
                    let a = 2.0 * Math.PI * float k / float segments
                    index.[i, k] <- positions.Count / 3
                    positions.AddRange [ r * sin a; h; r * cos a ]
        // Arc-length v so stripes keep their width along the profile.
        let arc = Array.zeroCreate<float> m
        for i in 1 .. m - 1 do
            let (r0, h0), (r1, h1) = profile.[i - 1], profile.[i]
            arc.[i] <- arc.[i - 1] + sqrt ((r1 - r0) ** 2.0 + (h1 - h0) ** 2.0)
        let total = max arc.[m - 1] 1e-12
        let faces = List<int>()
        let uvs = List<float>()
        let corner (i: int) (k: int) =
            faces.Add index.[i, k % segments]
            uvs.Add(1.0 - abs (1.0 - 2.0 * float k / float segments))
            uvs.Add(arc.[i] / total)
        for i in 0 .. m - 2 do
            for k in 0 .. segments - 1 do
                // Quad (i,k) (i,k+1) (i+1,k+1) (i+1,k); the triangle collapsing on a pole is left out.
                if i > 0 then
                    corner i k
                    corner i (k + 1)
                    corner (i + 1) (k + 1)
                if i + 1 < m - 1 then
                    corner i k
                    corner (i + 1) (k + 1)
                    corner (i + 1) k
        outward { emptyPart name with Positions = positions.ToArray(); Faces = faces.ToArray(); UVs = uvs.ToArray() }

    let cylinder (name: string) (segments: int) (bottomRadius: float) (topRadius: float) (y0: float) (height: float) =
        revolve name segments [| 0.0, y0; bottomRadius, y0; topRadius, y0 + height; 0.0, y0 + height |]

    let torus (name: string) (majorSegments: int) (minorSegments: int) (major: float) (minor: float) =
        let positions = List<float>()
        for k in 0 .. majorSegments - 1 do
            let a = 2.0 * Math.PI * float k / float majorSegments
            for j in 0 .. minorSegments - 1 do
                let b = 2.0 * Math.PI * float j / float minorSegments
                let r = major + minor * cos b
                positions.AddRange [ r * sin a; minor * sin b; r * cos a ]
        let faces = List<int>()
        let uvs = List<float>()
        let corner (k: int) (j: int) =
            faces.Add((k % majorSegments) * minorSegments + j % minorSegments)
            uvs.Add(float k / float majorSegments)
            uvs.Add(float j / float minorSegments)
        for k in 0 .. majorSegments - 1 do
            for j in 0 .. minorSegments - 1 do
                corner k j
                corner (k + 1) j
                corner (k + 1) (j + 1)
                corner k j
                corner (k + 1) (j + 1)
                corner k (j + 1)
        outward { emptyPart name with Positions = positions.ToArray(); Faces = faces.ToArray(); UVs = uvs.ToArray() }

    // ------------------------------------------------------------------ transforms

    let mapPoints (f: float * float * float -> float * float * float) (part: Part) =
        let p = Array.copy part.Positions
        for i in 0 .. p.Length / 3 - 1 do
            let x, y, z = f (p.[3 * i], p.[3 * i + 1], p.[3 * i + 2])
            p.[3 * i] <- x
            p.[3 * i + 1] <- y
            p.[3 * i + 2] <- z
        { part with Positions = p }

    let translate (dx: float, dy: float, dz: float) = mapPoints (fun (x, y, z) -> x + dx, y + dy, z + dz)

    let scale (sx: float, sy: float, sz: float) = mapPoints (fun (x, y, z) -> x * sx, y * sy, z * sz)

    let rotateX (angle: float) =
        let c, s = cos angle, sin angle
        mapPoints (fun (x, y, z) -> x, c * y - s * z, s * y + c * z)

    let rotateZ (angle: float) =
        let c, s = cos angle, sin angle
        mapPoints (fun (x, y, z) -> c * x - s * y, s * x + c * y, z)

    let mirrorX (part: Part) = flipWinding (mapPoints (fun (x, y, z) -> -x, y, z) part)

    let mirroredPair (part: Part) =
        [ { part with Name = part.Name + " right" }; { mirrorX part with Name = part.Name + " left" } ]
