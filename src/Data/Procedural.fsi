namespace Reconstruct.Data

/// A generated object: its parts, as sampled for (category, seed, index).
type ProceduralShape =
    { Category: string
      Seed: uint64
      Index: int
      /// The parameters drawn, for reports and tests ("legs" -> 4, "arms" -> 1, ...).
      Parameters: (string * float) list
      Parts: Part list }

/// Procedural benchmark categories: objects assembled from closed parametric parts
/// (`ProceduralParts`) with real intra-class variation — proportions, which parts exist, how
/// many — and mirror symmetry in x like man-made objects: every part is either symmetric about
/// the plane x = 0 itself or has a mirrored twin. Each part has its own colours and pattern
/// (`ProceduralAppearance`) on a swatch in the atlas. Textures mirror too (swatches symmetric
/// under u -> 1 - u, UVs that mirror with x), as symmetric-albedo methods such as Unsup3d
/// assume. Frame and normalisation as `TexturedMesh`: +y up, front +z, fit [-0.5, 0.5]^3.
/// Sizes are drawn in centimetres.
///
/// Parts overlap where they meet (no boolean union): the surface is a set of closed
/// components, each with every edge shared by exactly two faces. Same (category, seed,
/// index), same shape; shape k does not depend on how many are generated. An unknown category
/// is an ArgumentException naming the known ones.
module Procedural =

    /// The categories with a recipe: chair, table, car, airplane, vase.
    val categories: string list

    /// The revision of a category's recipe: 1 at first, raised whenever the recipe changes the
    /// shapes it draws (car is at 2: front and back made distinct), so that data rendered from
    /// an older recipe can be recognised and rendered again. An unknown category is an
    /// ArgumentException naming the known ones.
    val revision: category: string -> int

    /// What a cache folder of rendered `category` shapes appends to its name so that renders of
    /// an older recipe are not reused: "" at revision 1, "-<category>-r<revision>" after.
    val revisionTag: category: string -> string

    /// Shape `index` (>= 0) of the stream for (category, seed): the recipe draws from
    /// `SplitMix64.Derive(seed ^^^ salt of the category, index)`.
    val shape: category: string -> seed: uint64 -> index: int -> ProceduralShape

    /// The normalised host arrays of a shape: parts concatenated (no shared vertices), one
    /// swatch per part packed into the atlas, positions fitted to [-0.5, 0.5]^3.
    val toArrays: s: ProceduralShape -> MeshArrays

    /// The id of shape `index` of (category, seed), "procedural/<category>/<seed>/<index>",
    /// without generating it (the id `info` gives the shape).
    val id: category: string -> seed: uint64 -> index: int -> string

    /// The metadata of a shape; sizes are the generated object's extent in cm.
    val info: s: ProceduralShape -> ModelInfo

    /// Shape `index` of (category, seed) as a textured mesh (the caller disposes it).
    val mesh: category: string -> seed: uint64 -> index: int -> TexturedMesh

    /// `count` shapes of `category` from `seed` (shape k is the same whatever `count` is), as
    /// textured meshes (the caller disposes them).
    val generate: category: string -> seed: uint64 -> count: int -> TexturedMesh list
