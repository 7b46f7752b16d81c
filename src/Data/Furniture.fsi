namespace Reconstruct.Data

/// One category prepared by `Furniture.prepare`.
type CategoryDataset =
    { Category: string
      /// Loaded models in id order, each with its split.
      Entries: DatasetEntry list
      Failures: DatasetFailure list
      /// The category's manifest.json (models, splits, attribution, failures).
      Manifest: string
      /// Models loaded now / taken from an earlier run with the same settings.
      Loaded: int
      Reused: int
      Seconds: float }

/// What `Furniture.prepare` did.
type DatasetReport =
    { CacheDir: string
      Seed: uint64
      /// The .sh3f files read.
      Libraries: string list
      Categories: CategoryDataset list
      /// Catalogue entries that could not be read at all (any category).
      CatalogueProblems: CatalogueProblem list
      /// Seconds to download and extract the package (0 when cached).
      FetchSeconds: float
      Seconds: float }

/// How `Furniture.prepareWith` prepares categories.
type PrepareOptions =
    { CacheDir: string
      /// Where the prepared categories go (OutputDir/<category>/...).
      OutputDir: string
      Rules: CategoryRule list
      Load: ObjLoadOptions
      /// Take models from an earlier manifest made with the same settings instead of loading
      /// them again.
      Reuse: bool
      /// Progress lines.
      Log: string -> unit }

    /// Where the prepared categories go by default: cacheDir/furniture.
    static member PreparedDir: cacheDir: string -> string

    /// Output in `PreparedDir cacheDir`, the shipped category rules, default load options,
    /// reuse on, no log.
    static member Defaults: cacheDir: string -> PrepareOptions

/// Real-model datasets from the Debian package `sweethome3d-furniture`: ~820 OBJ + MTL +
/// texture models in 5 libraries, Y up and front towards +z, CC0 or CC-BY 3.0.
///
/// `prepare` fetches the package (`DebianPackage.fetch`: `apt-get download`, `dpkg-deb -x`
/// into the cache, no system install), selects each category's entries with the rules of
/// data/categories.json, loads and places each model (`FurnitureModel`: one texture atlas,
/// oriented and sized as Sweet Home 3D places it, normalised into [-0.5, 0.5]^3), writes it as
/// OBJ + MTL + PNG with its licence files, splits the category 70/10/20 by instance
/// (`Splits.assign` with the seed), and writes manifest.json and ATTRIBUTION.txt per category
/// (`FurnitureManifest`). A model that cannot be loaded is listed with the reason. Every file
/// is written atomically.
module Furniture =

    /// "sweethome3d-furniture".
    val packageName: string

    /// The cache folder of `reconstruct data` and `reconstruct eval` unless told otherwise.
    val defaultCacheDir: string

    /// A category's manifest as `prepare` writes it with the default output folder.
    val manifestPath: cacheDir: string -> category: string -> string

    /// The library files (*.sh3f) in the cache, downloading and extracting the package first
    /// when they are not there. Returns the sorted absolute paths.
    val fetch: cacheDir: string -> log: (string -> unit) -> string list

    /// The normalised model of a prepared entry, as tensors (the caller disposes them).
    val load: entry: DatasetEntry -> TexturedMesh

    /// The selected entries of every library for a rule, in library then index order.
    val select: rule: CategoryRule -> catalogues: (FurnitureLibrary * CatalogueEntry list) list -> (FurnitureLibrary * CatalogueEntry) list

    /// `prepare` with explicit options (rules, load limits, output folder, reuse, log).
    /// `categories` empty means every rule; an unknown one is an ArgumentException naming the
    /// known ones.
    val prepareWith: options: PrepareOptions -> categories: string list -> seed: uint64 -> DatasetReport

    /// Downloads and extracts the package into `cacheDir` if needed, then prepares each
    /// category (all when empty) into cacheDir/furniture/<category>: normalised models,
    /// 70/10/20 splits drawn from `seed`, manifest.json, ATTRIBUTION.txt, failures with reasons.
    val prepare: cacheDir: string -> categories: string list -> seed: uint64 -> DatasetReport

    /// One line per category: counts per split, failures and time.
    val summary: report: DatasetReport -> string list
