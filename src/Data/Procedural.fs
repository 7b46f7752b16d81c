namespace Reconstruct.Data

open System
open System.Collections.Generic
open Reconstruct.Torch

type ProceduralShape =
    { Category: string
      Seed: uint64
      Index: int
      Parameters: (string * float) list
      Parts: Part list }

module Procedural =

    open ProceduralParts
    open ProceduralAppearance

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
                    parts.AddRange(mirroredPair { leg with Name = (if zSign > 0.0 then "front leg" else "back leg") } |> List.map (paint frame))
                if g.Bool 0.4 then
                    // Stretchers: side rails (a mirrored pair) and a front rail.
                    let y = seatY * g.Uniform(0.2, 0.4)
                    let side = box "side stretcher" (width / 2.0 - inset - legSize / 2.0, y, 0.0) (legSize * 0.6, legSize * 0.6, depth - 2.0 * inset)
                    parts.AddRange(mirroredPair side |> List.map (paint frame))
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
                back.AddRange(mirroredPair post |> List.map (paint frame))
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
            parts.AddRange(mirroredPair rest @ mirroredPair support |> List.map (paint frame))
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
                    parts.AddRange(mirroredPair leg |> List.map (paint frame))
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
                parts.AddRange(mirroredPair panel @ mirroredPair foot |> List.map (paint frame))
                parts.Add(box "stretcher" (0.0, topY * 0.4, 0.0) (2.0 * x, legSize, legSize) |> paint frame)
                2
        let apron = baseKind = 0 && not roundTop && g.Bool 0.5
        if apron then
            let h = g.Uniform(6.0, 12.0)
            let y = topY - h / 2.0
            let x, z = width / 2.0 - insetX - legSize / 2.0, depth / 2.0 - insetZ - legSize / 2.0
            parts.AddRange(mirroredPair (box "side apron" (x, y, 0.0) (legSize * 0.5, h, 2.0 * z)) |> List.map (paint frame))
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
        // A car's front and back must differ as a real car's do, or its pose is only defined up to
        // 180 degrees: a bonnet that always slopes, a cabin set back with a raked windscreen, and
        // large pale headlights over a dark grille against red tail lights. (Revision 1 let the
        // nose be flat and the cabin centred, and a 64-pixel image could not tell front from back.)
        let nose = g.Uniform(0.2, 0.5)
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
        let cabinZ = length * g.Uniform(-0.2, -0.06)
        let slopeFront, slopeBack = cabinLength * g.Uniform(0.3, 0.45), cabinLength * g.Uniform(0.05, 0.2)
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
            parts.AddRange(mirroredPair { wheel with Name = sprintf "wheel %d" a } |> List.map (paint rubber))
        let lightSize = g.Uniform(28.0, 42.0)
        let lightHeight = g.Uniform(12.0, 18.0)
        let headY = y0 + (yf - y0) * 0.6
        let head = box "headlight" (width / 2.0 - lightSize * 0.7, headY, length / 2.0) (lightSize, lightHeight, 6.0)
        let grille = box "grille" (0.0, headY - 2.0, length / 2.0) (width * 0.4, lightHeight + 4.0, 4.0)
        let tail = box "taillight" (width / 2.0 - lightSize * 0.6, y1 - 12.0, -length / 2.0) (lightSize * 1.2, 14.0, 6.0)
        parts.AddRange(mirroredPair head |> List.map (paint ((0.98f, 0.96f, 0.82f), (1.0f, 1.0f, 0.9f), Pattern.Solid)))
        parts.Add(grille |> paint ((0.1f, 0.1f, 0.12f), (0.25f, 0.25f, 0.28f), Pattern.Stripes(5, false)))
        parts.AddRange(mirroredPair tail |> List.map (paint ((0.85f, 0.08f, 0.06f), (0.5f, 0.0f, 0.0f), Pattern.Solid)))
        let spoiler = g.Bool 0.3
        if spoiler then
            let wing = box "spoiler" (0.0, y1 + 18.0, -length / 2.0 + 15.0) (width * 0.9, 3.0, 25.0)
            let strut = box "spoiler strut" (width * 0.3, y1 + 9.0, -length / 2.0 + 15.0) (4.0, 18.0, 10.0)
            parts.Add(wing |> paint paintwork)
            parts.AddRange(mirroredPair strut |> List.map (paint paintwork))
        let mirrors = g.Bool 0.6
        if mirrors then
            parts.AddRange(mirroredPair (box "mirror" (width / 2.0 + 6.0, y1 + 8.0, c1 - slopeFront * 0.3) (12.0, 8.0, 5.0)) |> List.map (paint paintwork))
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
        parts.AddRange(mirroredPair wing |> List.map (paint trim))
        // Tail: stabilisers (a mirrored pair) and a fin on the plane of symmetry.
        let tailSpan = span * g.Uniform(0.25, 0.4)
        let tailZ = h0 + tailLength * 0.35
        let stab = slab "stabiliser" (tailRadius * 0.5) (tailSpan / 2.0) 0.0 (tailSpan * 0.05) tailZ (rootChord * 0.5) (tailZ - sweep * 0.3) (rootChord * 0.25) (thickness * 0.4) (thickness * 0.3)
        parts.AddRange(mirroredPair stab |> List.map (paint trim))
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
            parts.AddRange(mirroredPair { nacelle with Name = sprintf "engine %d" e } |> List.map (paint skin))
        let winglets = g.Bool 0.3
        if winglets then
            let w = box "winglet" (span / 2.0, wingY + dihedral + tipChord * 0.3, wingZ - sweep) (thickness * 0.5, tipChord * 0.6, tipChord * 0.6)
            parts.AddRange(mirroredPair w |> List.map (paint trim))
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
            parts.AddRange(mirroredPair handle |> List.map (paint body))
        [ "height", height; "belly", belly; "neck", neck; "lip", lip; "foot", (if foot then 1.0 else 0.0); "handles", (if handles then 2.0 else 0.0) ],
        List.ofSeq parts

    // ------------------------------------------------------------------ shapes and meshes

    // The recipes in stream order: a category's salt is its place here, so appending keeps
    // every existing category's shapes.
    let private recipes: (string * (SplitMix64 -> (string * float) list * Part list)) list =
        [ "chair", chair; "table", table; "car", car; "airplane", airplane; "vase", vase ]

    let categories = recipes |> List.map fst


    let private recipe (fn: string) (category: string) =
        match recipes |> List.tryFindIndex (fun (name, _) -> name = category) with
        | Some k -> k, snd recipes.[k]
        | None -> invalidArg "category" (sprintf "%s: unknown category '%s'; known: %s" fn category (String.Join(", ", categories)))

    // Bumped when a recipe changes what it draws; renders cached under the old number are stale.
    let private revisions = Map.ofList [ "car", 2 ]

    let revision (category: string) =
        recipe "Procedural.revision" category |> ignore
        revisions.TryFind category |> Option.defaultValue 1

    let revisionTag (category: string) =
        match revision category with
        | 1 -> ""
        | r -> sprintf "-%s-r%d" category r

    let shape (category: string) (seed: uint64) (index: int) : ProceduralShape =
        let k, build = recipe "Procedural.shape" category
        if index < 0 then invalidArg "index" (sprintf "Procedural.shape: index must be >= 0, received %d" index)
        // Categories get their own streams: chair k and table k are unrelated.
        let salt = uint64 (k + 1) * 0xD1B54A32D192ED03UL
        let parameters, parts = build (SplitMix64.Derive(seed ^^^ salt, uint64 index))
        { Category = category; Seed = seed; Index = index; Parameters = parameters; Parts = parts }

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

    let id (category: string) (seed: uint64) (index: int) =
        recipe "Procedural.id" category |> ignore
        sprintf "procedural/%s/%d/%d" category seed index

    let info (s: ProceduralShape) : ModelInfo =
        let all = s.Parts |> List.map (fun p -> p.Positions) |> Array.concat |> Array.map float32
        let lo, hi = TexturedMesh.bounds all
        { Id = id s.Category s.Seed s.Index
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

    let mesh (category: string) (seed: uint64) (index: int) : TexturedMesh =
        let s = shape category seed index
        TexturedMesh.ofArrays (info s) (toArrays s)

    let generate (category: string) (seed: uint64) (count: int) : TexturedMesh list =
        recipe "Procedural.generate" category |> ignore
        if count < 0 then invalidArg "count" (sprintf "Procedural.generate: count must be >= 0, received %d" count)
        List.init count (mesh category seed)
