namespace Reconstruct.Data

/// One prepared model: its metadata, its split and its normalised ground truth on disk.
type DatasetEntry =
    { Info: ModelInfo
      Split: Split
      /// The normalised model (OBJ + MTL + PNG atlas), absolute path.
      Obj: string
      Vertices: int
      Faces: int
      AtlasHeight: int
      AtlasWidth: int
      /// Licence files copied beside the OBJ, absolute paths.
      LicenceCopies: string list
      Warnings: string list }

/// A model that is not in the dataset, and why.
type DatasetFailure = { Id: string; Name: string; Category: string; Source: string; Reason: string }

/// A prepared furniture category on disk: manifest.json (models with their splits, metadata,
/// attribution, failures; paths relative to the manifest's folder) and ATTRIBUTION.txt. Both
/// are written atomically (`Files.writeAtomically`).
module FurnitureManifest =

    /// The "format" of the manifests written here; part of `Furniture.prepare`'s fingerprint.
    val formatVersion: string

    /// A folder name from an id: letters, digits, '-' and '_' ("Scopia#bed1" -> "Scopia-bed1").
    val slug: id: string -> string

    /// Writes the manifest of `rule`'s category at `path`: the Debian package the models come
    /// from, the fingerprint of the settings that made it, the split seed, the rule, counts per
    /// split, the entries (in the given order) and the failures.
    val write:
        path: string ->
        packageName: string ->
        fingerprint: string ->
        seed: uint64 ->
        rule: CategoryRule ->
        entries: DatasetEntry list ->
        failures: DatasetFailure list ->
            unit

    /// Writes ATTRIBUTION.txt at `path`: one line per model (name, id, creator, library,
    /// licence) below a header naming the category and the package.
    val writeAttribution: path: string -> packageName: string -> category: string -> entries: DatasetEntry list -> unit

    /// Reads a manifest written by `write`: its entries (with splits and absolute paths),
    /// failures and fingerprint ("" when it has none). A file that is not such a manifest
    /// (truncated JSON, a field missing or of the wrong kind) is an InvalidDataException of one
    /// line, "<path>: not a valid manifest (<what is wrong>)".
    val read: path: string -> DatasetEntry list * DatasetFailure list * string
