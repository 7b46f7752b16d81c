namespace Reconstruct.Data

/// A Sweet Home 3D furniture library (`.sh3f`, a ZIP archive) opened for reading. Paths are
/// matched case-insensitively after resolving "." and "..", as authors' MTL files often
/// name textures with another case than the archive. Not thread-safe. Opening a file that is
/// no ZIP archive raises ModelLoadException.
type FurnitureLibrary =
    new: path: string -> FurnitureLibrary
    interface System.IDisposable

    /// The .sh3f file, as given.
    member Path: string

    /// Its file name ("Scopia.sh3f").
    member FileName: string

    /// The bytes of a file in the archive, None when there is none.
    member Read: file: string -> byte[] option

    /// Every file in the archive, normalised paths in ordinal order.
    member Files: string list

    /// The entries of `PluginFurnitureCatalog.properties` and the problems with the others.
    member Catalogue: unit -> CatalogueEntry list * CatalogueProblem list

    /// Licence and attribution files in the folder of `model` (names containing "licen").
    member LicenceFiles: model: string -> string list
