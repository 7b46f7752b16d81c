namespace Reconstruct.Data

open Reconstruct.Torch

/// How procedural parts look: a colour, an accent colour and a pattern per part, drawn from
/// the shape's stream, and the swatch (the part's cell in the atlas) they paint. Swatches are
/// symmetric under u -> 1 - u, so textures mirror with the parts.
module ProceduralAppearance =

    /// A colour, its accent and a pattern (RGB in [0, 1]); `patterned` is the chance of a
    /// non-solid pattern. Draws from `g`.
    val material: g: SplitMix64 -> patterned: float -> (float32 * float32 * float32) * (float32 * float32 * float32) * Pattern

    /// The part with the colour, accent and pattern of `material`.
    val paint: colour: (float32 * float32 * float32) * accent: (float32 * float32 * float32) * pattern: Pattern -> part: Part -> Part

    /// Side of a swatch in texels: a multiple of every stripe and check count, so bands have
    /// equal widths and the swatch is exactly symmetric under u -> 1 - u.
    val swatchSize: int

    /// The swatch image of a part: 3·s·s values (s = swatchSize), channel-major RGB in [0, 1].
    val swatch: part: Part -> float32[]
