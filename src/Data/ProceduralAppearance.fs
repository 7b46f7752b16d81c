namespace Reconstruct.Data

open Reconstruct.Torch

module ProceduralAppearance =

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

    let material (g: SplitMix64) (patterned: float) =
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

    let swatchSize = 30

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

    let paint (colour, accent, pattern) (part: Part) = { part with Colour = colour; Accent = accent; Pattern = pattern }
