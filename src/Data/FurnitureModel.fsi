/// One model of a furniture library as Sweet Home 3D places it: loaded into one texture atlas
/// (Wavefront), turned by the catalogue's modelRotation, stretched to the catalogue's width,
/// height and depth in cm, and normalised into [-0.5, 0.5]^3.
module Reconstruct.Data.FurnitureModel

/// Applies the catalogue placement to loaded arrays: rotation (p' = M p, winding reversed
/// when det M < 0), then per-axis scale to the catalogue's width/height/depth, then the
/// normalisation into [-0.5, 0.5]^3. Returns the arrays and a note when the model's own
/// proportions differed from the catalogue's by more than 5 %.
val place: entry: CatalogueEntry -> m: MeshArrays -> MeshArrays * string option

/// The metadata of an entry selected for `category`.
val info: category: string -> library: FurnitureLibrary -> entry: CatalogueEntry -> ModelInfo

/// Loads, places and normalises one entry: host arrays, metadata and warnings. Raises
/// ModelLoadException when the model cannot be used.
val loadArrays: options: ObjLoadOptions -> library: FurnitureLibrary -> category: string -> entry: CatalogueEntry -> MeshArrays * ModelInfo * string list

/// As `loadArrays`, as tensors (the caller disposes them).
val loadModel: options: ObjLoadOptions -> library: FurnitureLibrary -> category: string -> entry: CatalogueEntry -> TexturedMesh
