namespace Reconstruct.Data

open System
open System.Collections.Generic
open Reconstruct.Torch

/// What is painted on a part's swatch (its cell in the atlas).
[<RequireQualifiedAccess>]
type Pattern =
    | Solid
    /// Bands of the two colours across u (vertical bands) or across v (horizontal bands);
    /// counts across u are odd so the swatch mirrors onto itself.
    | Stripes of count: int * alongU: bool
    /// A count × count checkerboard, count odd.
    | Checks of count: int
    /// From the main colour at v = 0 to the accent colour at v = 1.
    | Gradient

/// One closed part of a procedural shape, in centimetres, before normalisation.
type Part =
    { Name: string
      /// V·3 values.
      Positions: float[]
      /// F·3 indices, counter-clockwise seen from outside; every edge is shared by exactly two
      /// faces of the part, in opposite directions (a closed, consistently oriented surface).
      Faces: int[]
      /// F·6 values, (u, v) in [0, 1] of the part's swatch per face corner.
      UVs: float[]
      Colour: float32 * float32 * float32
      Accent: float32 * float32 * float32
      Pattern: Pattern }

/// A generated object: its parts, as sampled for (category, seed, index).
type ProceduralShape =
    { Category: string
      Seed: uint64
      Index: int
      /// The parameters drawn, for reports and tests ("legs" -> 4, "arms" -> 1, ...).
      Parameters: (string * float) list
      Parts: Part list }

/// Procedural benchmark categories: objects assembled from closed parametric parts (boxes
/// and tapered boxes, surfaces of revolution, tori) with real intra-class variation —
/// proportions, which parts exist, how many — and mirror symmetry in x like man-made objects:
/// every part is either symmetric about the plane x = 0 itself or has a mirrored twin. Each
/// part has its own colours and pattern (solid, stripes, checks, gradient) on a swatch in the
/// atlas. Textures mirror too (swatches symmetric under u -> 1 - u, UVs that mirror with x),
/// as symmetric-albedo methods such as Unsup3d assume. Frame and normalisation as
/// `TexturedMesh`: +y up, front +z, fit [-0.5, 0.5]^3. Sizes are drawn in centimetres.
///
/// Parts overlap where they meet (no boolean union): the surface is a set of closed
/// components, each with every edge shared by exactly two faces. Same (category, seed,
/// index), same shape; shape k does not depend on how many are generated.
module Procedural =

    let categories = [ "chair"; "table"; "car"; "airplane"; "vase" ]

    // ------------------------------------------------------------------ part builders

    let private emptyPart name =
        { Name = name
          Positions = [||]
          Faces = [||]
          UVs = [||]
          Colour = (0.5f, 0.5f, 0.5f)
          Accent = (0.5f, 0.5f, 0.5f)
          Pattern = Pattern.Solid }

    /// Signed volume of a closed mesh (positive when its faces point outwards).
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

    /// The same faces with the other winding (corners 1 and 2 swapped, UVs too).
    let private flipWinding (part: Part) =
        { part with
            Faces = Array.init part.Faces.Length (fun k -> part.Faces.[k - k % 3 + [| 0; 2; 1 |].[k % 3]])
            UVs = Array.init part.UVs.Length (fun k -> part.UVs.[k - k % 6 + [| 0; 1; 4; 5; 2; 3 |].[k % 6]]) }

    /// Orients a closed part outwards (the builders are consistent; this fixes the sign).
    let private outward (part: Part) = if signedVolume part.Positions part.Faces < 0.0 then flipWinding part else part

    /// A hexahedron from 8 corners: bottom (y low) x0z0, x1z0, x1z1, x0z1, then the top in the
    /// same order. Boxes, tapered legs, sloped cabins and swept wings are all this.
    ///
    /// Each side shows the whole swatch, mapped from the corners' places in the unit cube so
    /// that mirroring in x mirrors the texture: sides facing ±x take (u, v) = (z, 1 - y), sides
    /// facing ±y (x, z), sides facing ±z (x, 1 - y). With a swatch symmetric under u -> 1 - u
    /// a part centred on x = 0 is then symmetric in texture as well as in shape.
    let hexahedron (name: string) (corners: float[][]) =
        if corners.Length <> 8 then invalidArg "corners" (sprintf "Procedural.hexahedron: needs 8 corners, received %d" corners.Length)
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

    /// An axis-aligned box from its centre and full sizes.
    let box (name: string) (cx: float, cy: float, cz: float) (sx: float, sy: float, sz: float) =
        let x0, x1, y0, y1, z0, z1 = cx - sx / 2.0, cx + sx / 2.0, cy - sy / 2.0, cy + sy / 2.0, cz - sz / 2.0, cz + sz / 2.0
        hexahedron
            name
            [| [| x0; y0; z0 |]; [| x1; y0; z0 |]; [| x1; y0; z1 |]; [| x0; y0; z1 |]
               [| x0; y1; z0 |]; [| x1; y1; z0 |]; [| x1; y1; z1 |]; [| x0; y1; z1 |] |]

    /// A box whose top is a scaled copy of its bottom (legs that thin out, tapered bodies).
    let taperedBox (name: string) (cx: float, y0: float, cz: float) (bx: float, bz: float) (tx: float, tz: float) (height: float) =
        let y1 = y0 + height
        hexahedron
            name
            [| [| cx - bx / 2.0; y0; cz - bz / 2.0 |]; [| cx + bx / 2.0; y0; cz - bz / 2.0 |]
               [| cx + bx / 2.0; y0; cz + bz / 2.0 |]; [| cx - bx / 2.0; y0; cz + bz / 2.0 |]
               [| cx - tx / 2.0; y1; cz - tz / 2.0 |]; [| cx + tx / 2.0; y1; cz - tz / 2.0 |]
               [| cx + tx / 2.0; y1; cz + tz / 2.0 |]; [| cx - tx / 2.0; y1; cz + tz / 2.0 |] |]

    /// A surface of revolution about the y axis: `profile` is (radius, height) from one pole
    /// (radius 0) to the other, `segments` points per ring at angles 2πk/n from +z (so the
    /// ring is symmetric in x). v runs along the profile; u runs from 0 at +z to 1 at -z and
    /// back (1 - |1 - 2k/n|), so the texture has no seam and mirrors with x.
    let revolve (name: string) (segments: int) (profile: (float * float)[]) =
        if segments < 3 then invalidArg "segments" (sprintf "Procedural.revolve: needs at least 3 segments, received %d" segments)
        if profile.Length < 3 || fst profile.[0] <> 0.0 || fst profile.[profile.Length - 1] <> 0.0 then
            invalidArg "profile" "Procedural.revolve: the profile needs at least 3 points and must start and end on the axis (radius 0)"
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

    /// A closed cylinder (a frustum when the radii differ) along y from y0 to y0 + height.
    let cylinder (name: string) (segments: int) (bottomRadius: float) (topRadius: float) (y0: float) (height: float) =
        revolve name segments [| 0.0, y0; bottomRadius, y0; topRadius, y0 + height; 0.0, y0 + height |]

    /// A torus about the y axis: `major` radius of the ring, `minor` of the tube.
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

    let private mapPoints (f: float * float * float -> float * float * float) (part: Part) =
        let p = Array.copy part.Positions
        for i in 0 .. p.Length / 3 - 1 do
            let x, y, z = f (p.[3 * i], p.[3 * i + 1], p.[3 * i + 2])
            p.[3 * i] <- x
            p.[3 * i + 1] <- y
            p.[3 * i + 2] <- z
        { part with Positions = p }

    let translate (dx: float, dy: float, dz: float) = mapPoints (fun (x, y, z) -> x + dx, y + dy, z + dz)

    /// Scales by positive factors (orientation kept).
    let scale (sx: float, sy: float, sz: float) = mapPoints (fun (x, y, z) -> x * sx, y * sy, z * sz)

    /// Rotation about x by `angle` radians (y towards z).
    let rotateX (angle: float) =
        let c, s = cos angle, sin angle
        mapPoints (fun (x, y, z) -> x, c * y - s * z, s * y + c * z)

    /// Rotation about z by `angle` radians (x towards y).
    let rotateZ (angle: float) =
        let c, s = cos angle, sin angle
        mapPoints (fun (x, y, z) -> c * x - s * y, s * x + c * y, z)

    /// The mirror image in the plane x = 0, faces rewound so they still point outwards.
    let mirrorX (part: Part) = flipWinding (mapPoints (fun (x, y, z) -> -x, y, z) part)

    /// The part and its mirror twin (names suffixed "left"/"right").
    let private pair (part: Part) =
        [ { part with Name = part.Name + " right" }; { mirrorX part with Name = part.Name + " left" } ]

    let private paint (colour, accent, pattern) (part: Part) = { part with Colour = colour; Accent = accent; Pattern = pattern }

    // ------------------------------------------------------------------ appearance

    let private hsv (h: float, s: float, v: float) =
        let h = (h % 1.0 + 1.0) % 1.0 * 6.0
        let c = v * s
        let x = c * (1.0 - abs (h % 2.0 - 1.0))
        let r, g, b =
            match int h with
            | 0 -> c, x, 0.0
            | 1 -> x, c, 0.0
            | 2 -> 0.0, c, x
            | 3 -> 0.0, x, c
            | 4 -> x, 0.0, c
            | _ -> c, 0.0, x
        let m = v - c
        float32 (r + m), float32 (g + m), float32 (b + m)

    /// A colour, its accent and a pattern; `patterned` is the chance of a non-solid pattern.
    let private material (g: SplitMix64) (patterned: float) =
        let h = g.Float()
        let colour = hsv (h, g.Uniform(0.25, 0.9), g.Uniform(0.35, 0.95))
        let accent = hsv (h + g.Uniform(0.3, 0.7), g.Uniform(0.2, 0.9), g.Uniform(0.2, 0.95))
        // Odd counts across u keep the swatch symmetric under u -> 1 - u (see `hexahedron`).
        let pattern =
            if not (g.Bool patterned) then Pattern.Solid
            else
                match g.Int(0, 2) with
                | 0 ->
                    let alongU = g.Bool 0.5
                    Pattern.Stripes((if alongU then g.Pick [| 3; 5 |] else g.Pick [| 2; 3; 5; 6 |]), alongU)
                | 1 -> Pattern.Checks(g.Pick [| 3; 5 |])
                | _ -> Pattern.Gradient
        colour, accent, pattern

    /// Side of a swatch in texels: a multiple of every stripe and check count, so bands have
    /// equal widths and the swatch is exactly symmetric under u -> 1 - u.
    let swatchSize = 30

    /// The swatch image (3·s·s) of a part.
    let swatch (part: Part) : float32[] =
        let s = swatchSize
        let (r0, g0, b0), (r1, g1, b1) = part.Colour, part.Accent
        let image = Array.zeroCreate<float32> (3 * s * s)
        for y in 0 .. s - 1 do
            for x in 0 .. s - 1 do
                let t =
                    match part.Pattern with
                    | Pattern.Solid -> 0.0f
                    | Pattern.Stripes (n, alongU) -> float32 (((if alongU then x else y) * n / s) % 2)
                    | Pattern.Checks n -> float32 ((x * n / s + y * n / s) % 2)
                    | Pattern.Gradient -> float32 y / float32 (s - 1)
                let mix (a: float32) (b: float32) = a + (b - a) * t
                image.[y * s + x] <- mix r0 r1
                image.[(s + y) * s + x] <- mix g0 g1
                image.[(2 * s + y) * s + x] <- mix b0 b1
        image

    // ------------------------------------------------------------------ categories

    let private chair (g: SplitMix64) =
        let width = g.Uniform(40.0, 60.0)
        let depth = g.Uniform(38.0, 55.0)
        let seatHeight = g.Uniform(40.0, 50.0)
        let seatThickness = g.Uniform(3.0, 8.0)
        let legSize = g.Uniform(2.5, 5.0)
        let frame = material g 0.1
        let cushion = material g 0.6
        let round = g.Bool 0.4
        let seatY = seatHeight - seatThickness
        let parts = List<Part>()
        parts.Add(box "seat" (0.0, seatHeight - seatThickness / 2.0, 0.0) (width, seatThickness, depth) |> paint cushion)
        // Base: four legs, or a pedestal with a star of feet.
        let pedestal = g.Bool 0.2
        let legs =
            if pedestal then
                let feet = g.Int(4, 5)
                let column = cylinder "column" 12 (legSize * 0.9) (legSize * 0.9) 5.0 (seatY - 5.0) |> paint frame
                parts.Add column
                let reach = 0.5 * max width depth
                for k in 0 .. feet - 1 do
                    // Foot k points at angle 2πk/n from +z: the star is symmetric in x.
                    let a = 2.0 * Math.PI * float k / float feet
                    let foot = box "foot" (0.0, 2.5, reach / 2.0) (legSize * 1.2, 5.0, reach)
                    let foot = mapPoints (fun (x, y, z) -> x * cos a + z * sin a, y, -x * sin a + z * cos a) foot
                    parts.Add({ foot with Name = sprintf "foot %d" k } |> paint frame)
                feet
            else
                let taper = g.Uniform(0.6, 1.0)
                let inset = g.Uniform(0.0, 4.0)
                for zSign in [ -1.0; 1.0 ] do
                    let x, z = width / 2.0 - inset - legSize / 2.0, zSign * (depth / 2.0 - inset - legSize / 2.0)
                    let leg =
                        if round then cylinder "leg" 10 (legSize / 2.0 * taper) (legSize / 2.0) 0.0 seatY |> translate (x, 0.0, z)
                        else taperedBox "leg" (x, 0.0, z) (legSize * taper, legSize * taper) (legSize, legSize) seatY
                    parts.AddRange(pair { leg with Name = (if zSign > 0.0 then "front leg" else "back leg") } |> List.map (paint frame))
                if g.Bool 0.4 then
                    // Stretchers: side rails (a mirrored pair) and a front rail.
                    let y = seatY * g.Uniform(0.2, 0.4)
                    let side = box "side stretcher" (width / 2.0 - inset - legSize / 2.0, y, 0.0) (legSize * 0.6, legSize * 0.6, depth - 2.0 * inset)
                    parts.AddRange(pair side |> List.map (paint frame))
                    parts.Add(box "front stretcher" (0.0, y, depth / 2.0 - inset - legSize / 2.0) (width - 2.0 * inset, legSize * 0.6, legSize * 0.6) |> paint frame)
                4
        // Back: a panel, vertical slats or horizontal rails between two posts, leaning back.
        let backHeight = g.Uniform(30.0, 55.0)
        let lean = g.Uniform(0.0, 0.25)
        let backZ = -depth / 2.0 + legSize / 2.0
        let style = g.Int(0, 2)
        let back = List<Part>()
        let slats =
            match style with
            | 0 ->
                back.Add(box "back panel" (0.0, seatHeight + backHeight / 2.0, backZ) (width, backHeight, g.Uniform(2.0, 6.0)) |> paint cushion)
                0
            | _ ->
                let post = box "back post" (width / 2.0 - legSize / 2.0, seatHeight + backHeight / 2.0, backZ) (legSize, backHeight, legSize)
                back.AddRange(pair post |> List.map (paint frame))
                let inner = width - 2.0 * legSize
                let n = g.Int(2, 5)
                if style = 1 then
                    let w = inner / float n * g.Uniform(0.3, 0.7)
                    for i in 0 .. n - 1 do
                        let x = -inner / 2.0 + (float i + 0.5) * inner / float n
                        back.Add({ box "slat" (x, seatHeight + backHeight / 2.0, backZ) (w, backHeight * 0.9, legSize * 0.5) with Name = sprintf "slat %d" i } |> paint cushion)
                else
                    let h = backHeight / float n * g.Uniform(0.3, 0.6)
                    for i in 0 .. n - 1 do
                        let y = seatHeight + (float i + 0.5) * backHeight / float n + 0.05 * backHeight
                        back.Add({ box "rail" (0.0, y, backZ) (inner + 0.5, h, legSize * 0.5) with Name = sprintf "rail %d" i } |> paint cushion)
                n
        // Lean the back about the seat's rear edge (a rotation about x keeps the x symmetry).
        for p in back do
            parts.Add(p |> translate (0.0, -seatHeight, -backZ) |> rotateX (-lean) |> translate (0.0, seatHeight, backZ))
        let arms = g.Bool 0.35
        if arms then
            let armHeight = g.Uniform(18.0, 26.0)
            let x = width / 2.0 - legSize / 2.0
            let rest = box "armrest" (x + legSize * 0.3, seatHeight + armHeight, 0.0) (legSize * 1.6, legSize, depth * 0.85)
            let support = box "arm support" (x, seatHeight + armHeight / 2.0, depth * 0.3) (legSize, armHeight, legSize)
            parts.AddRange(pair rest @ pair support |> List.map (paint frame))
        [ "width", width; "depth", depth; "seat height", seatHeight; "back height", backHeight
          "legs", float legs; "back style", float style; "slats", float slats; "arms", (if arms then 1.0 else 0.0) ],
        List.ofSeq parts

    let private table (g: SplitMix64) =
        let coffee = g.Bool 0.3
        let height = if coffee then g.Uniform(35.0, 50.0) else g.Uniform(68.0, 78.0)
        let width = g.Uniform(60.0, 180.0)
        let depth = min width (g.Uniform(50.0, 100.0))
        let thickness = g.Uniform(2.0, 6.0)
        let top = material g 0.5
        let frame = material g 0.1
        let parts = List<Part>()
        let roundTop = g.Bool 0.3
        let topY = height - thickness
        if roundTop then
            let r = 0.5 * depth
            parts.Add(cylinder "top" 32 r r topY thickness |> scale (width / depth, 1.0, 1.0) |> paint top)
        else parts.Add(box "top" (0.0, height - thickness / 2.0, 0.0) (width, thickness, depth) |> paint top)
        // Under a round (elliptic) top the legs stand at 60 % of each semi-axis, inside it.
        let insetX, insetZ =
            if roundTop then 0.2 * width, 0.2 * depth
            else
                let i = g.Uniform(2.0, 10.0)
                i, i
        let legSize = g.Uniform(3.0, 8.0)
        let baseKind = g.Int(0, 2)
        let legs =
            match baseKind with
            | 0 ->
                let x, z = width / 2.0 - insetX - legSize / 2.0, depth / 2.0 - insetZ - legSize / 2.0
                for zs in [ -1.0; 1.0 ] do
                    let leg =
                        if g.Bool 0.5 then cylinder "leg" 10 (legSize / 2.0) (legSize / 2.0) 0.0 topY |> translate (x, 0.0, zs * z)
                        else box "leg" (x, topY / 2.0, zs * z) (legSize, topY, legSize)
                    parts.AddRange(pair leg |> List.map (paint frame))
                4
            | 1 ->
                // Pedestal: column and a disc foot.
                let r = g.Uniform(3.0, 8.0)
                parts.Add(cylinder "column" 16 r r 2.0 (topY - 2.0) |> paint frame)
                parts.Add(cylinder "foot" 24 (0.35 * depth) (0.3 * depth) 0.0 2.5 |> paint frame)
                1
            | _ ->
                // Trestles: a panel at each end on a foot.
                let x = width / 2.0 - insetX - legSize / 2.0
                let panel = box "trestle" (x, topY / 2.0, 0.0) (legSize, topY, depth * 0.5)
                let foot = box "trestle foot" (x, 2.0, 0.0) (legSize * 1.5, 4.0, depth * 0.8)
                parts.AddRange(pair panel @ pair foot |> List.map (paint frame))
                parts.Add(box "stretcher" (0.0, topY * 0.4, 0.0) (2.0 * x, legSize, legSize) |> paint frame)
                2
        let apron = baseKind = 0 && not roundTop && g.Bool 0.5
        if apron then
            let h = g.Uniform(6.0, 12.0)
            let y = topY - h / 2.0
            let x, z = width / 2.0 - insetX - legSize / 2.0, depth / 2.0 - insetZ - legSize / 2.0
            parts.AddRange(pair (box "side apron" (x, y, 0.0) (legSize * 0.5, h, 2.0 * z)) |> List.map (paint frame))
            for zs in [ -1.0; 1.0 ] do
                parts.Add(box (if zs > 0.0 then "front apron" else "back apron") (0.0, y, zs * z) (2.0 * x, h, legSize * 0.5) |> paint frame)
        let shelf = baseKind = 0 && g.Bool 0.3
        if shelf then
            let x, z = width / 2.0 - insetX - legSize, depth / 2.0 - insetZ - legSize
            parts.Add(box "shelf" (0.0, topY * g.Uniform(0.2, 0.35), 0.0) (2.0 * x + legSize, 2.0, 2.0 * z + legSize) |> paint top)
        [ "width", width; "depth", depth; "height", height; "round", (if roundTop then 1.0 else 0.0); "base", float baseKind
          "legs", float legs; "apron", (if apron then 1.0 else 0.0); "shelf", (if shelf then 1.0 else 0.0) ],
        List.ofSeq parts

    let private car (g: SplitMix64) =
        let length = g.Uniform(350.0, 480.0)
        let width = g.Uniform(160.0, 195.0)
        let clearance = g.Uniform(12.0, 25.0)
        let bodyHeight = g.Uniform(40.0, 65.0)
        let wheelRadius = g.Uniform(28.0, 40.0)
        let wheelWidth = g.Uniform(18.0, 26.0)
        let paintwork = material g 0.25
        let glass = material g 0.5
        let rubber = ((0.08f, 0.08f, 0.09f), (0.3f, 0.3f, 0.32f), Pattern.Stripes(g.Pick [| 3; 5 |], true))
        let parts = List<Part>()
        let y0 = clearance
        let nose = g.Uniform(0.0, 0.45)
        // Body: the top front edge drops by `nose` of the height (a sloped bonnet).
        let x0, x1, z0, z1 = -width / 2.0, width / 2.0, -length / 2.0, length / 2.0
        let y1 = y0 + bodyHeight
        let yf = y1 - nose * bodyHeight
        parts.Add(
            hexahedron
                "body"
                [| [| x0; y0; z0 |]; [| x1; y0; z0 |]; [| x1; y0; z1 |]; [| x0; y0; z1 |]
                   [| x0; y1; z0 |]; [| x1; y1; z0 |]; [| x1; yf; z1 |]; [| x0; yf; z1 |] |]
            |> paint paintwork)
        // Cabin: a trapezoid in side view, narrower on top.
        let cabinLength = length * g.Uniform(0.35, 0.6)
        let cabinHeight = g.Uniform(35.0, 60.0)
        let cabinZ = length * g.Uniform(-0.15, 0.05)
        let slopeFront, slopeBack = cabinLength * g.Uniform(0.15, 0.35), cabinLength * g.Uniform(0.05, 0.3)
        let bw, tw = width * 0.92, width * g.Uniform(0.7, 0.85)
        let c0, c1 = cabinZ - cabinLength / 2.0, cabinZ + cabinLength / 2.0
        let cy0, cy1 = y1 - 1.0, y1 + cabinHeight
        parts.Add(
            hexahedron
                "cabin"
                [| [| -bw / 2.0; cy0; c0 |]; [| bw / 2.0; cy0; c0 |]; [| bw / 2.0; cy0; c1 |]; [| -bw / 2.0; cy0; c1 |]
                   [| -tw / 2.0; cy1; c0 + slopeBack |]; [| tw / 2.0; cy1; c0 + slopeBack |]
                   [| tw / 2.0; cy1; c1 - slopeFront |]; [| -tw / 2.0; cy1; c1 - slopeFront |] |]
            |> paint glass)
        // Wheels: 2 or 3 axles, mirrored pairs of cylinders along x.
        let axles = if g.Bool 0.15 then 3 else 2
        let wheelbase = length * g.Uniform(0.55, 0.7)
        for a in 0 .. axles - 1 do
            let z = -wheelbase / 2.0 + wheelbase * float a / float (axles - 1)
            let wheel =
                cylinder "wheel" 20 wheelRadius wheelRadius 0.0 wheelWidth
                |> rotateZ (-Math.PI / 2.0)
                |> translate (width / 2.0 - wheelWidth * 0.6, wheelRadius, z)
            parts.AddRange(pair { wheel with Name = sprintf "wheel %d" a } |> List.map (paint rubber))
        let lights = material g 0.0
        let lightSize = g.Uniform(15.0, 30.0)
        let head = box "headlight" (width / 2.0 - lightSize, yf - 12.0, length / 2.0) (lightSize, g.Uniform(6.0, 12.0), 4.0)
        let tail = box "taillight" (width / 2.0 - lightSize, y1 - 12.0, -length / 2.0) (lightSize, 8.0, 4.0)
        parts.AddRange(pair head |> List.map (paint lights))
        parts.AddRange(pair tail |> List.map (paint ((0.8f, 0.1f, 0.08f), (0.5f, 0.0f, 0.0f), Pattern.Solid)))
        let spoiler = g.Bool 0.3
        if spoiler then
            let wing = box "spoiler" (0.0, y1 + 18.0, -length / 2.0 + 15.0) (width * 0.9, 3.0, 25.0)
            let strut = box "spoiler strut" (width * 0.3, y1 + 9.0, -length / 2.0 + 15.0) (4.0, 18.0, 10.0)
            parts.Add(wing |> paint paintwork)
            parts.AddRange(pair strut |> List.map (paint paintwork))
        let mirrors = g.Bool 0.6
        if mirrors then
            parts.AddRange(pair (box "mirror" (width / 2.0 + 6.0, y1 + 8.0, c1 - slopeFront * 0.3) (12.0, 8.0, 5.0)) |> List.map (paint paintwork))
        [ "length", length; "width", width; "body height", bodyHeight; "cabin length", cabinLength; "axles", float axles
          "wheels", float (2 * axles); "spoiler", (if spoiler then 1.0 else 0.0); "mirrors", (if mirrors then 1.0 else 0.0) ],
        List.ofSeq parts

    let private airplane (g: SplitMix64) =
        let length = g.Uniform(1500.0, 6000.0)
        let radius = length * g.Uniform(0.04, 0.07)
        let skin = material g 0.3
        let trim = material g 0.3
        let parts = List<Part>()
        // Fuselage: revolved about y, then laid along z (nose at +z, the front).
        let noseLength, tailLength = length * g.Uniform(0.08, 0.15), length * g.Uniform(0.15, 0.3)
        let tailRadius = radius * g.Uniform(0.15, 0.4)
        let h0 = -length / 2.0
        let profile =
            [| 0.0, h0
               tailRadius, h0
               radius * 0.8, h0 + tailLength * 0.6
               radius, h0 + tailLength
               radius, length / 2.0 - noseLength
               radius * 0.8, length / 2.0 - noseLength * 0.4
               radius * 0.35, length / 2.0 - noseLength * 0.08
               0.0, length / 2.0 |]
        parts.Add(revolve "fuselage" 20 profile |> rotateX (Math.PI / 2.0) |> paint skin)
        // Wings: a swept, tapered slab at +x and its mirror.
        let span = length * g.Uniform(0.35, 0.55)
        let rootChord = length * g.Uniform(0.12, 0.22)
        let tipChord = rootChord * g.Uniform(0.25, 0.6)
        let sweep = g.Uniform(0.0, 0.6) * span / 2.0
        let wingZ = length * g.Uniform(-0.1, 0.15)
        let dihedral = g.Uniform(-0.02, 0.1) * span
        let wingY = radius * g.Uniform(-0.6, 0.3)
        let thickness = rootChord * 0.1
        let slab (name: string) (x0: float) (x1: float) (y0: float) (y1: float) (z0: float) (c0: float) (z1: float) (c1: float) (t0: float) (t1: float) =
            // Root at x0 (chord c0 centred on z0), tip at x1; bottom then top, ordered as `hexahedron` wants.
            hexahedron
                name
                [| [| x0; y0 - t0; z0 - c0 / 2.0 |]; [| x1; y1 - t1; z1 - c1 / 2.0 |]; [| x1; y1 - t1; z1 + c1 / 2.0 |]; [| x0; y0 - t0; z0 + c0 / 2.0 |]
                   [| x0; y0 + t0; z0 - c0 / 2.0 |]; [| x1; y1 + t1; z1 - c1 / 2.0 |]; [| x1; y1 + t1; z1 + c1 / 2.0 |]; [| x0; y0 + t0; z0 + c0 / 2.0 |] |]
        let wing = slab "wing" (radius * 0.5) (span / 2.0) wingY (wingY + dihedral) wingZ rootChord (wingZ - sweep) tipChord thickness (thickness * 0.5)
        parts.AddRange(pair wing |> List.map (paint trim))
        // Tail: stabilisers (a mirrored pair) and a fin on the plane of symmetry.
        let tailSpan = span * g.Uniform(0.25, 0.4)
        let tailZ = h0 + tailLength * 0.35
        let stab = slab "stabiliser" (tailRadius * 0.5) (tailSpan / 2.0) 0.0 (tailSpan * 0.05) tailZ (rootChord * 0.5) (tailZ - sweep * 0.3) (rootChord * 0.25) (thickness * 0.4) (thickness * 0.3)
        parts.AddRange(pair stab |> List.map (paint trim))
        let finHeight = radius * g.Uniform(1.5, 3.0)
        let finT = thickness * 0.4
        let fz0, fz1, fc0, fc1 = tailZ, tailZ - finHeight * g.Uniform(0.3, 0.9), rootChord * 0.5, rootChord * 0.25
        parts.Add(
            hexahedron
                "fin"
                [| [| -finT; radius * 0.5; fz0 - fc0 / 2.0 |]; [| finT; radius * 0.5; fz0 - fc0 / 2.0 |]; [| finT; radius * 0.5; fz0 + fc0 / 2.0 |]; [| -finT; radius * 0.5; fz0 + fc0 / 2.0 |]
                   [| -finT * 0.5; radius + finHeight; fz1 - fc1 / 2.0 |]; [| finT * 0.5; radius + finHeight; fz1 - fc1 / 2.0 |]
                   [| finT * 0.5; radius + finHeight; fz1 + fc1 / 2.0 |]; [| -finT * 0.5; radius + finHeight; fz1 + fc1 / 2.0 |] |]
            |> paint trim)
        // Engines: 0, 1 or 2 nacelles under each wing.
        let engines = g.Int(0, 2)
        let engineRadius = radius * g.Uniform(0.3, 0.5)
        for e in 0 .. engines - 1 do
            let t = if engines = 1 then 0.35 else 0.25 + 0.3 * float e
            let x = radius * 0.5 + t * (span / 2.0 - radius * 0.5)
            let z = wingZ - sweep * (x / (span / 2.0)) + rootChord * 0.3
            let nacelle =
                cylinder "engine" 14 engineRadius (engineRadius * 0.8) (-rootChord * 0.45) (rootChord * 0.9)
                |> rotateX (Math.PI / 2.0)
                |> translate (x, wingY + dihedral * (x / (span / 2.0)) - engineRadius * 1.1, z)
            parts.AddRange(pair { nacelle with Name = sprintf "engine %d" e } |> List.map (paint skin))
        let winglets = g.Bool 0.3
        if winglets then
            let w = box "winglet" (span / 2.0, wingY + dihedral + tipChord * 0.3, wingZ - sweep) (thickness * 0.5, tipChord * 0.6, tipChord * 0.6)
            parts.AddRange(pair w |> List.map (paint trim))
        [ "length", length; "span", span; "sweep", sweep; "engines", float (2 * engines); "winglets", (if winglets then 1.0 else 0.0) ],
        List.ofSeq parts

    let private vase (g: SplitMix64) =
        let height = g.Uniform(20.0, 60.0)
        let belly = height * g.Uniform(0.2, 0.45)
        let baseR = belly * g.Uniform(0.4, 0.9)
        let neck = belly * g.Uniform(0.25, 0.8)
        let lip = neck * g.Uniform(0.9, 1.6)
        let bellyAt = g.Uniform(0.25, 0.6)
        let neckAt = g.Uniform(bellyAt + 0.15, 0.92)
        let wall = max 0.4 (belly * 0.06)
        // Outer radius: a smooth curve through baseKind, belly, neck and lip.
        let knots = [| 0.0, baseR; bellyAt, belly; neckAt, neck; 1.0, lip |]
        let outer (t: float) =
            let k = knots |> Array.findIndexBack (fun (a, _) -> a <= t) |> min (knots.Length - 2)
            let (t0, r0), (t1, r1) = knots.[k], knots.[k + 1]
            let s = (t - t0) / (t1 - t0)
            r0 + (r1 - r0) * (3.0 * s * s - 2.0 * s * s * s)
        let rings = 16
        let outside = [| for i in 0 .. rings -> outer (float i / float rings), height * float i / float rings |]
        let inside = [| for i in rings .. -1 .. 1 -> max (wall * 0.5) (outer (float i / float rings) - wall), height * float i / float rings |]
        // Outer wall up, over the lip, inner wall down to the inner floor: one closed surface.
        let profile = Array.concat [ [| 0.0, 0.0 |]; outside; inside; [| 0.0, max wall (height / float rings) |] ]
        let body = material g 0.8
        let parts = List<Part>()
        parts.Add(revolve "body" 24 profile |> paint body)
        let foot = g.Bool 0.4
        if foot then parts.Add(cylinder "foot" 24 (baseR * 1.1) (baseR * 0.9) (-(height * 0.04)) (height * 0.05) |> paint (material g 0.0))
        let handles = g.Bool 0.45
        if handles then
            let y = height * (bellyAt + neckAt) / 2.0
            let r = outer (y / height)
            let major = height * g.Uniform(0.08, 0.15)
            let handle = torus "handle" 16 8 major (major * 0.18) |> rotateX (Math.PI / 2.0) |> translate (r, y, 0.0)
            parts.AddRange(pair handle |> List.map (paint body))
        [ "height", height; "belly", belly; "neck", neck; "lip", lip; "foot", (if foot then 1.0 else 0.0); "handles", (if handles then 2.0 else 0.0) ],
        List.ofSeq parts

    // ------------------------------------------------------------------ shapes and meshes

    let private checkCategory (fn: string) (category: string) =
        if not (List.contains category categories) then
            invalidArg "category" (sprintf "%s: unknown category '%s'; known: %s" fn category (String.Join(", ", categories)))

    /// Shape `index` of the stream for (category, seed).
    let shape (category: string) (seed: uint64) (index: int) : ProceduralShape =
        checkCategory "Procedural.shape" category
        if index < 0 then invalidArg "index" (sprintf "Procedural.shape: index must be >= 0, received %d" index)
        // Categories get their own streams: chair k and table k are unrelated.
        let salt = uint64 (List.findIndex ((=) category) categories + 1) * 0xD1B54A32D192ED03UL
        let g = SplitMix64.Derive(seed ^^^ salt, uint64 index)
        let parameters, parts =
            match category with
            | "chair" -> chair g
            | "table" -> table g
            | "car" -> car g
            | "airplane" -> airplane g
            | _ -> vase g
        { Category = category; Seed = seed; Index = index; Parameters = parameters; Parts = parts }

    /// The normalised host arrays of a shape: parts concatenated (no shared vertices), one
    /// swatch per part packed into the atlas, positions fitted to [-0.5, 0.5]^3.
    let toArrays (s: ProceduralShape) : MeshArrays =
        let parts = Array.ofList s.Parts
        let padding = 2
        let cells, ah, aw = Atlas.pack padding (parts |> Array.map (fun _ -> swatchSize, swatchSize))
        let atlas = Array.zeroCreate<float32> (3 * ah * aw)
        parts |> Array.iteri (fun k p -> Atlas.blit atlas (ah, aw) padding cells.[k] (swatch p))
        let positions = List<float32>()
        let faces = List<int>()
        let uvs = List<float32>()
        parts
        |> Array.iteri (fun k p ->
            let offset = positions.Count / 3
            for x in p.Positions do
                positions.Add(float32 x)
            for f in p.Faces do
                faces.Add(offset + f)
            for c in 0 .. p.UVs.Length / 2 - 1 do
                let u, v = Atlas.remap (ah, aw) cells.[k] (p.UVs.[2 * c], p.UVs.[2 * c + 1])
                uvs.Add(float32 u)
                uvs.Add(float32 v))
        TexturedMesh.normalise
            { Positions = positions.ToArray()
              Faces = faces.ToArray()
              FaceUVs = uvs.ToArray()
              Atlas = atlas
              AtlasHeight = ah
              AtlasWidth = aw }

    /// The metadata of a shape; sizes are the generated object's extent in cm.
    let info (s: ProceduralShape) : ModelInfo =
        let all = s.Parts |> List.map (fun p -> p.Positions) |> Array.concat |> Array.map float32
        let lo, hi = TexturedMesh.bounds all
        { Id = sprintf "procedural/%s/%d/%d" s.Category s.Seed s.Index
          Name = sprintf "procedural %s %d" s.Category s.Index
          Category = s.Category
          SourceCategory = "procedural"
          Creator = "Reconstruct procedural generator"
          Licence = "generated (no rights reserved)"
          Library = "procedural"
          WidthCm = float (hi.[0] - lo.[0])
          HeightCm = float (hi.[1] - lo.[1])
          DepthCm = float (hi.[2] - lo.[2])
          Source = sprintf "Procedural.shape %s %d %d" s.Category s.Seed s.Index
          LicenceFiles = [] }

    /// `count` shapes of `category` from `seed` (shape k is the same whatever `count` is), as
    /// textured meshes.
    let generate (category: string) (seed: uint64) (count: int) : TexturedMesh list =
        checkCategory "Procedural.generate" category
        if count < 0 then invalidArg "count" (sprintf "Procedural.generate: count must be >= 0, received %d" count)
        [ for k in 0 .. count - 1 do
              let s = shape category seed k
              yield TexturedMesh.ofArrays (info s) (toArrays s) ]
