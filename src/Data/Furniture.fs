namespace Reconstruct.Data

open System
open System.Collections.Generic
open System.Diagnostics
open System.IO
open System.IO.Compression
open System.Text
open System.Text.Json
open Reconstruct.Torch

/// Which part of a dataset a model is in.
[<RequireQualifiedAccess>]
type Split =
    | Train
    | Val
    | Test

    member s.Name =
        match s with
        | Train -> "train"
        | Val -> "val"
        | Test -> "test"

    static member Parse(s: string) =
        match s with
        | "train" -> Train
        | "val" -> Val
        | "test" -> Test
        | _ -> invalidArg "split" (sprintf "Split.Parse: expected train, val or test, received '%s'" s)

/// Instance-level splits: each model is in exactly one part.
module Splits =

    /// Numbers of train, val and test items for n items: 70 % and 10 % rounded, the rest test.
    let counts (n: int) =
        let train = int (Math.Round(0.7 * float n, MidpointRounding.AwayFromZero))
        let valid = min (n - train) (int (Math.Round(0.1 * float n, MidpointRounding.AwayFromZero)))
        train, valid, n - train - valid

    /// Assigns ids to splits 70/10/20: the ids are sorted (so the order they come in does not
    /// matter), shuffled by `seed`, and cut. Returns (id, split) in sorted id order. Ids must
    /// be distinct.
    let assign (seed: uint64) (ids: string seq) : (string * Split)[] =
        let sorted = ids |> Seq.toArray |> Array.sortWith (fun a b -> String.CompareOrdinal(a, b))
        for k in 1 .. sorted.Length - 1 do
            if sorted.[k] = sorted.[k - 1] then invalidArg "ids" (sprintf "Splits.assign: id '%s' appears more than once" sorted.[k])
        let n = sorted.Length
        let train, valid, _ = counts n
        let order = SplitMix64(seed).Permutation n
        let split = Array.zeroCreate<Split> n
        order
        |> Array.iteri (fun rank i ->
            split.[i] <- if rank < train then Split.Train elif rank < train + valid then Split.Val else Split.Test)
        Array.init n (fun i -> sorted.[i], split.[i])

/// A Sweet Home 3D furniture library (`.sh3f`, a ZIP archive) opened for reading. Paths are
/// matched case-insensitively after resolving "." and "..", as authors' MTL files often
/// name textures with another case than the archive. Not thread-safe.
type FurnitureLibrary(path: string) =
    let archive =
        try ZipFile.OpenRead path
        with :? IOException | :? InvalidDataException | :? UnauthorizedAccessException as e ->
            raise (ModelLoadException(path, "cannot open the library: " + e.Message))
    let entries = Dictionary<string, ZipArchiveEntry>(StringComparer.OrdinalIgnoreCase)
    do
        for e in archive.Entries do
            if e.Name <> "" then entries.TryAdd(Wavefront.normalisePath e.FullName, e) |> ignore

    member _.Path = path
    member _.FileName = Path.GetFileName path

    /// The bytes of a file in the archive, None when there is none.
    member _.Read(file: string) : byte[] option =
        match entries.TryGetValue(Wavefront.normalisePath file) with
        | true, e ->
            use s = e.Open()
            use ms = new MemoryStream(int e.Length)
            s.CopyTo ms
            Some(ms.ToArray())
        | _ -> None

    /// Every file in the archive.
    member _.Files = entries.Keys |> Seq.sort |> List.ofSeq

    /// The entries of `PluginFurnitureCatalog.properties` and the problems with the others.
    member this.Catalogue() =
        match this.Read "PluginFurnitureCatalog.properties" with
        | Some bytes -> Catalogue.entries this.FileName (Properties.parseBytes bytes)
        | None -> raise (ModelLoadException(path, "no PluginFurnitureCatalog.properties in the library"))

    /// Licence and attribution files in the folder of `model` (names containing "licen").
    member this.LicenceFiles(model: string) =
        let p = Wavefront.normalisePath model
        let dir = if p.Contains "/" then p.Substring(0, p.LastIndexOf '/' + 1) else ""
        this.Files
        |> List.filter (fun f ->
            f.StartsWith(dir, StringComparison.OrdinalIgnoreCase)
            && not (f.Substring(dir.Length).Contains "/")
            && f.Substring(dir.Length).Contains("licen", StringComparison.OrdinalIgnoreCase))

    interface IDisposable with
        member _.Dispose() = archive.Dispose()

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
    static member PreparedDir(cacheDir: string) = Path.Combine(cacheDir, "furniture")

    /// Output in `PreparedDir cacheDir`, the shipped category rules, default load options,
    /// reuse on, no log.
    static member Defaults(cacheDir: string) =
        { CacheDir = cacheDir
          OutputDir = PrepareOptions.PreparedDir cacheDir
          Rules = Catalogue.defaultRules ()
          Load = ObjLoadOptions.Defaults
          Reuse = true
          Log = ignore }

/// Real-model datasets from the Debian package `sweethome3d-furniture`: ~820 OBJ + MTL +
/// texture models in 5 libraries, Y up and front towards +z, CC0 or CC-BY 3.0.
///
/// `prepare` fetches the package (`apt-get download`, `dpkg-deb -x` into the cache, no
/// system install), selects each category's entries with the rules of data/categories.json,
/// loads each model into one texture atlas (Wavefront), orients and sizes it as Sweet Home 3D
/// places it (modelRotation, then the catalogue's width/height/depth in cm), normalises it
/// into [-0.5, 0.5]^3, writes it as OBJ + MTL + PNG with its licence files, splits the
/// category 70/10/20 by instance, and writes manifest.json and ATTRIBUTION.txt per category.
/// A model that cannot be loaded is listed with the reason.
module Furniture =

    let packageName = "sweethome3d-furniture"

    /// The cache folder of `reconstruct data` and `reconstruct eval` unless told otherwise.
    let defaultCacheDir = Path.Combine(".cache", "data")

    /// A category's manifest as `prepare` writes it with the default output folder.
    let manifestPath (cacheDir: string) (category: string) =
        Path.Combine(PrepareOptions.PreparedDir cacheDir, category, "manifest.json")
    let private formatVersion = "furniture-v1"

    // ------------------------------------------------------------------ fetching

    let private run (file: string) (args: string list) (cwd: string) =
        let psi = ProcessStartInfo(file, WorkingDirectory = cwd, UseShellExecute = false, RedirectStandardOutput = true, RedirectStandardError = true)
        for a in args do
            psi.ArgumentList.Add a
        use p =
            try Process.Start psi
            with :? ComponentModel.Win32Exception as e -> failwithf "Furniture.fetch: cannot run %s: %s" file e.Message
        let err = p.StandardError.ReadToEndAsync()
        p.StandardOutput.ReadToEnd() |> ignore
        p.WaitForExit()
        if p.ExitCode <> 0 then
            let message = err.Result.Trim().Replace('\n', ' ')
            failwithf "Furniture.fetch: `%s %s` failed with exit code %d: %s" file (String.Join(" ", args)) p.ExitCode message

    /// The library files (*.sh3f) in the cache, downloading and extracting the package first
    /// when they are not there. Returns the sorted paths.
    let fetch (cacheDir: string) (log: string -> unit) : string list =
        // Absolute, because the tools below run with their own working directory: a relative
        // cache (the default `.cache/data`) would name a different folder for them.
        let cacheDir = Path.GetFullPath cacheDir
        let extracted = Path.Combine(cacheDir, packageName)
        let furnitureDir = Path.Combine(extracted, "usr", "share", "sweethome3d", "furniture")
        let libraries () =
            if Directory.Exists furnitureDir then Directory.GetFiles(furnitureDir, "*.sh3f") |> Array.sort |> List.ofArray else []
        match libraries () with
        | _ :: _ as found -> found
        | [] ->
            let debs = Path.Combine(cacheDir, "debs")
            Directory.CreateDirectory debs |> ignore
            let findDeb () = Directory.GetFiles(debs, packageName + "_*.deb") |> Array.sort |> Array.tryLast
            let deb =
                match findDeb () with
                | Some d -> d
                | None ->
                    log (sprintf "downloading %s (about 120 MB) with apt-get download into %s" packageName debs)
                    run "apt-get" [ "download"; packageName ] debs
                    match findDeb () with
                    | Some d -> d
                    | None -> failwithf "Furniture.fetch: apt-get download left no %s_*.deb in %s" packageName debs
            log (sprintf "extracting %s" (Path.GetFileName deb))
            // Into a temporary folder renamed at the end, so an interrupted run leaves no half tree.
            let temp = extracted + ".partial"
            if Directory.Exists temp then Directory.Delete(temp, true)
            run "dpkg-deb" [ "-x"; deb; temp ] cacheDir
            if Directory.Exists extracted then Directory.Delete(extracted, true)
            Directory.Move(temp, extracted)
            match libraries () with
            | [] -> failwithf "Furniture.fetch: %s holds no .sh3f library in %s" (Path.GetFileName deb) furnitureDir
            | found -> found

    // ------------------------------------------------------------------ one model

    /// Applies the catalogue placement to loaded arrays: rotation (p' = M p, winding reversed
    /// when det M < 0), then per-axis scale to the catalogue's width/height/depth, then the
    /// normalisation into [-0.5, 0.5]^3. Returns the arrays and a note when the model's own
    /// proportions differed from the catalogue's by more than 5 %.
    let place (entry: CatalogueEntry) (m: MeshArrays) : MeshArrays * string option =
        let p = Array.copy m.Positions
        let mutable faces, uvs = m.Faces, m.FaceUVs
        match entry.ModelRotation with
        | Some r ->
            for i in 0 .. p.Length / 3 - 1 do
                let x, y, z = float p.[3 * i], float p.[3 * i + 1], float p.[3 * i + 2]
                for a in 0 .. 2 do
                    p.[3 * i + a] <- float32 (r.[3 * a] * x + r.[3 * a + 1] * y + r.[3 * a + 2] * z)
            let det =
                r.[0] * (r.[4] * r.[8] - r.[5] * r.[7]) - r.[1] * (r.[3] * r.[8] - r.[5] * r.[6]) + r.[2] * (r.[3] * r.[7] - r.[4] * r.[6])
            if det < 0.0 then
                faces <- Array.init faces.Length (fun k -> faces.[k - k % 3 + [| 0; 2; 1 |].[k % 3]])
                uvs <- Array.init uvs.Length (fun k -> uvs.[k - k % 6 + [| 0; 1; 4; 5; 2; 3 |].[k % 6]])
        | None -> ()
        let lo, hi = TexturedMesh.bounds p
        let extent = Array.init 3 (fun a -> float hi.[a] - float lo.[a])
        let target = [| entry.WidthCm; entry.HeightCm; entry.DepthCm |]
        let longest = Array.max extent
        // An axis with no extent (a flat model) keeps its zero thickness.
        let scale = Array.init 3 (fun a -> if extent.[a] > 1e-9 * longest then target.[a] / extent.[a] else 0.0)
        let used = scale |> Array.filter (fun s -> s > 0.0)
        for k in 0 .. p.Length - 1 do
            if scale.[k % 3] > 0.0 then p.[k] <- float32 (float p.[k] * scale.[k % 3])
        let note =
            if used.Length > 1 && Array.max used / Array.min used > 1.05 then
                Some(sprintf "model proportions differ from the catalogue size by %.0f %%; stretched to %.1f x %.1f x %.1f cm" (100.0 * (Array.max used / Array.min used - 1.0)) entry.WidthCm entry.HeightCm entry.DepthCm)
            else None
        TexturedMesh.normalise { m with Positions = p; Faces = faces; FaceUVs = uvs }, note

    /// The metadata of an entry selected for `category`.
    let info (category: string) (library: FurnitureLibrary) (entry: CatalogueEntry) : ModelInfo =
        { Id = entry.Id
          Name = entry.Name
          Category = category
          SourceCategory = entry.Category
          Creator = entry.Creator
          Licence = entry.Licence
          Library = entry.LibraryName
          WidthCm = entry.WidthCm
          HeightCm = entry.HeightCm
          DepthCm = entry.DepthCm
          Source = entry.Library + ":/" + entry.Model
          LicenceFiles = library.LicenceFiles entry.Model }

    /// Loads, places and normalises one entry: host arrays, metadata and warnings. Raises
    /// ModelLoadException when the model cannot be used.
    let loadArrays (options: ObjLoadOptions) (library: FurnitureLibrary) (category: string) (entry: CatalogueEntry) =
        let r = Wavefront.load options library.Read entry.Model
        let arrays, note = place entry r.Arrays
        arrays, info category library entry, r.Warnings @ Option.toList note

    /// As `loadArrays`, as tensors.
    let loadModel (options: ObjLoadOptions) (library: FurnitureLibrary) (category: string) (entry: CatalogueEntry) : TexturedMesh =
        let arrays, info, _ = loadArrays options library category entry
        TexturedMesh.ofArrays info arrays

    // ------------------------------------------------------------------ manifests

    /// A folder name from an id: letters, digits, '-' and '_' ("Scopia#bed1" -> "Scopia-bed1").
    let slug (id: string) =
        let s = String(id |> Seq.map (fun c -> if Char.IsAsciiLetterOrDigit c || c = '-' || c = '_' then c else '-') |> Array.ofSeq)
        s.Trim('-')

    let private writeJson (path: string) (write: Utf8JsonWriter -> unit) =
        let temp = path + ".tmp"
        do
            use stream = File.Create temp
            // Relaxed escaping keeps names, quotes and '+' readable in the file.
            use w = new Utf8JsonWriter(stream, JsonWriterOptions(Indented = true, Encoder = Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
            write w
        File.Move(temp, path, true)

    let private strings (w: Utf8JsonWriter) (name: string) (values: string seq) =
        w.WriteStartArray name
        for v in values do
            w.WriteStringValue v
        w.WriteEndArray()

    let private relative (dir: string) (path: string) = Path.GetRelativePath(dir, path).Replace('\\', '/')

    let private writeManifest (path: string) (fingerprint: string) (seed: uint64) (rule: CategoryRule) (entries: DatasetEntry list) (failures: DatasetFailure list) =
        let dir = Path.GetDirectoryName path
        writeJson path (fun w ->
            w.WriteStartObject()
            w.WriteString("category", rule.Name)
            w.WriteString("format", formatVersion)
            w.WriteString("fingerprint", fingerprint)
            w.WriteNumber("seed", seed)
            w.WriteString("source", "Debian package " + packageName)
            w.WriteString("frame", "normalised: +y up, front +z, bounding box centred, longest side 1 (fits [-0.5, 0.5]^3)")
            w.WriteStartObject "rule"
            strings w "include" rule.Include
            strings w "exclude" rule.Exclude
            strings w "sourceCategories" rule.SourceCategories
            w.WriteEndObject()
            w.WriteStartObject "counts"
            for s in [ Split.Train; Split.Val; Split.Test ] do
                w.WriteNumber(s.Name, entries |> List.filter (fun e -> e.Split = s) |> List.length)
            w.WriteNumber("failures", failures.Length)
            w.WriteEndObject()
            w.WriteStartArray "models"
            for e in entries do
                w.WriteStartObject()
                w.WriteString("id", e.Info.Id)
                w.WriteString("name", e.Info.Name)
                w.WriteString("split", e.Split.Name)
                w.WriteString("obj", relative dir e.Obj)
                w.WriteString("creator", e.Info.Creator)
                w.WriteString("licence", e.Info.Licence)
                w.WriteString("library", e.Info.Library)
                w.WriteString("sourceCategory", e.Info.SourceCategory)
                w.WriteString("source", e.Info.Source)
                w.WriteStartArray "sizeCm"
                for v in [ e.Info.WidthCm; e.Info.HeightCm; e.Info.DepthCm ] do
                    w.WriteNumberValue v
                w.WriteEndArray()
                strings w "licenceFiles" e.Info.LicenceFiles
                strings w "licenceCopies" (e.LicenceCopies |> List.map (relative dir))
                w.WriteNumber("vertices", e.Vertices)
                w.WriteNumber("faces", e.Faces)
                w.WriteStartArray "atlas"
                w.WriteNumberValue e.AtlasHeight
                w.WriteNumberValue e.AtlasWidth
                w.WriteEndArray()
                strings w "warnings" e.Warnings
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteStartArray "failures"
            for f in failures do
                w.WriteStartObject()
                w.WriteString("id", f.Id)
                w.WriteString("name", f.Name)
                w.WriteString("source", f.Source)
                w.WriteString("reason", f.Reason)
                w.WriteEndObject()
            w.WriteEndArray()
            w.WriteEndObject())

    let private writeAttribution (path: string) (category: string) (entries: DatasetEntry list) =
        let sb = StringBuilder()
        sb.AppendFormat("3D models of the '{0}' dataset, from the Debian package {1} (Sweet Home 3D furniture libraries).\n", category, packageName) |> ignore
        sb.Append("Models were rotated, scaled and re-textured (one texture atlas per model) for this dataset.\n\n") |> ignore
        for e in entries do
            sb.AppendFormat("{0} ({1}) by {2}, {3}; licence: {4}\n", e.Info.Name, e.Info.Id, e.Info.Creator, e.Info.Library, e.Info.Licence) |> ignore
        File.WriteAllText(path, sb.ToString())

    /// Reads a category manifest written by `prepare`: its entries (with splits and absolute
    /// paths) and failures.
    let readManifest (path: string) : DatasetEntry list * DatasetFailure list * string =
        let dir = Path.GetDirectoryName(Path.GetFullPath path)
        use doc = JsonDocument.Parse(File.ReadAllText path)
        let root = doc.RootElement
        let str (e: JsonElement) (name: string) =
            match e.TryGetProperty name with
            | true, v when v.ValueKind = JsonValueKind.String -> v.GetString()
            | _ -> raise (InvalidDataException(sprintf "%s: '%s' missing or not a string" path name))
        let list (e: JsonElement) (name: string) = [ for v in e.GetProperty(name).EnumerateArray() -> v.GetString() ]
        let category = str root "category"
        let entries =
            [ for m in root.GetProperty("models").EnumerateArray() do
                  let size = [| for v in m.GetProperty("sizeCm").EnumerateArray() -> v.GetDouble() |]
                  let atlas = [| for v in m.GetProperty("atlas").EnumerateArray() -> v.GetInt32() |]
                  yield
                      { Info =
                          { Id = str m "id"
                            Name = str m "name"
                            Category = category
                            SourceCategory = str m "sourceCategory"
                            Creator = str m "creator"
                            Licence = str m "licence"
                            Library = str m "library"
                            WidthCm = size.[0]
                            HeightCm = size.[1]
                            DepthCm = size.[2]
                            Source = str m "source"
                            LicenceFiles = list m "licenceFiles" }
                        Split = Split.Parse(str m "split")
                        Obj = Path.GetFullPath(Path.Combine(dir, str m "obj"))
                        Vertices = m.GetProperty("vertices").GetInt32()
                        Faces = m.GetProperty("faces").GetInt32()
                        AtlasHeight = atlas.[0]
                        AtlasWidth = atlas.[1]
                        LicenceCopies = list m "licenceCopies" |> List.map (fun p -> Path.GetFullPath(Path.Combine(dir, p)))
                        Warnings = list m "warnings" } ]
        let failures =
            [ for f in root.GetProperty("failures").EnumerateArray() ->
                  { Id = str f "id"; Name = str f "name"; Category = category; Source = str f "source"; Reason = str f "reason" } ]
        let fingerprint =
            match root.TryGetProperty "fingerprint" with
            | true, v -> v.GetString()
            | _ -> ""
        entries, failures, fingerprint

    /// The normalised model of a prepared entry, as tensors.
    let load (entry: DatasetEntry) : TexturedMesh = TexturedMesh.readObj entry.Info entry.Obj

    // ------------------------------------------------------------------ prepare

    /// The selected entries of every library for a rule, in library then index order.
    let select (rule: CategoryRule) (catalogues: (FurnitureLibrary * CatalogueEntry list) list) =
        [ for library, entries in catalogues do
              for e in entries do
                  if Catalogue.matches rule e then yield library, e ]

    let private prepareCategory (options: PrepareOptions) (seed: uint64) (catalogues: (FurnitureLibrary * CatalogueEntry list) list) (rule: CategoryRule) =
        let clock = Stopwatch.StartNew()
        let dir = Path.Combine(options.OutputDir, rule.Name)
        Directory.CreateDirectory dir |> ignore
        let manifest = Path.Combine(dir, "manifest.json")
        let fingerprint = (sprintf "%s %A %A" formatVersion options.Load rule).Replace("\n", " ")
        let previous =
            if options.Reuse && File.Exists manifest then
                try
                    let entries, failures, fp = readManifest manifest
                    if fp = fingerprint then
                        Some(entries |> List.map (fun e -> e.Info.Id, e) |> dict, failures |> List.map (fun f -> f.Id, f) |> dict)
                    else None
                with _ -> None
            else None
        let selected = select rule catalogues
        let loaded = List<DatasetEntry>()
        let failures = List<DatasetFailure>()
        let mutable fresh, reused = 0, 0
        let seen = HashSet<string>()
        for library, entry in selected do
            let source = entry.Library + ":/" + entry.Model
            let failure (reason: string) = failures.Add { Id = entry.Id; Name = entry.Name; Category = rule.Name; Source = source; Reason = reason }
            if not (seen.Add entry.Id) then failure "another entry has the same id"
            else
                let old =
                    match previous with
                    | Some (entries, fails) ->
                        match entries.TryGetValue entry.Id with
                        | true, e when e.Info.Source = source && File.Exists e.Obj -> Some(Ok e)
                        | _ ->
                            match fails.TryGetValue entry.Id with
                            | true, f when f.Source = source -> Some(Error f.Reason)
                            | _ -> None
                    | None -> None
                match old with
                | Some (Ok e) ->
                    loaded.Add e
                    reused <- reused + 1
                | Some (Error reason) ->
                    failure reason
                    reused <- reused + 1
                | None ->
                    fresh <- fresh + 1
                    try
                        let arrays, info, warnings = loadArrays options.Load library rule.Name entry
                        let modelDir = Path.Combine(dir, slug entry.Id)
                        Directory.CreateDirectory modelDir |> ignore
                        let obj = Path.Combine(modelDir, "model.obj")
                        do
                            use scope = DisposalScope.Open()
                            TexturedMesh.writeObj obj (TexturedMesh.ofArrays info arrays)
                        let copies =
                            info.LicenceFiles
                            |> List.choose (fun f ->
                                library.Read f
                                |> Option.map (fun bytes ->
                                    let target = Path.Combine(modelDir, Path.GetFileName f)
                                    File.WriteAllBytes(target, bytes)
                                    target))
                        loaded.Add
                            { Info = info
                              Split = Split.Train
                              Obj = obj
                              Vertices = arrays.VertexCount
                              Faces = arrays.FaceCount
                              AtlasHeight = arrays.AtlasHeight
                              AtlasWidth = arrays.AtlasWidth
                              LicenceCopies = copies
                              Warnings = warnings }
                        options.Log (sprintf "%s: %s (%s): %d faces, atlas %d x %d%s" rule.Name entry.Id entry.Name arrays.FaceCount arrays.AtlasHeight arrays.AtlasWidth (if warnings.IsEmpty then "" else sprintf ", %d warning(s)" warnings.Length))
                    with
                    | :? ModelLoadException as e ->
                        failure e.Reason
                        options.Log (sprintf "%s: %s (%s) failed: %s" rule.Name entry.Id entry.Name e.Reason)
                    | :? ImageFileException
                    | :? IOException
                    | :? ArgumentException as e ->
                        failure e.Message
                        options.Log (sprintf "%s: %s (%s) failed: %s" rule.Name entry.Id entry.Name e.Message)
        let splits = Splits.assign seed (loaded |> Seq.map (fun e -> e.Info.Id)) |> dict
        let entries =
            loaded
            |> Seq.map (fun e -> { e with Split = splits.[e.Info.Id] })
            |> Seq.sortWith (fun a b -> String.CompareOrdinal(a.Info.Id, b.Info.Id))
            |> List.ofSeq
        let failures = List.ofSeq failures
        writeManifest manifest fingerprint seed rule entries failures
        writeAttribution (Path.Combine(dir, "ATTRIBUTION.txt")) rule.Name entries
        { Category = rule.Name
          Entries = entries
          Failures = failures
          Manifest = manifest
          Loaded = fresh
          Reused = reused
          Seconds = clock.Elapsed.TotalSeconds }

    /// `prepare` with explicit options (rules, load limits, output folder, reuse, log).
    /// `categories` empty means every rule.
    let prepareWith (options: PrepareOptions) (categories: string list) (seed: uint64) : DatasetReport =
        let clock = Stopwatch.StartNew()
        let rules =
            match categories with
            | [] -> options.Rules
            | names ->
                names
                |> List.map (fun n ->
                    match options.Rules |> List.tryFind (fun r -> String.Equals(r.Name, n, StringComparison.OrdinalIgnoreCase)) with
                    | Some r -> r
                    | None ->
                        invalidArg "categories" (sprintf "Furniture.prepare: unknown category '%s'; known: %s" n (String.Join(", ", options.Rules |> List.map (fun r -> r.Name)))))
        Directory.CreateDirectory options.CacheDir |> ignore
        let fetchClock = Stopwatch.StartNew()
        let paths = fetch options.CacheDir options.Log
        let fetchSeconds = fetchClock.Elapsed.TotalSeconds
        let libraries = paths |> List.map (fun p -> new FurnitureLibrary(p))
        try
            let catalogues = libraries |> List.map (fun l -> l, l.Catalogue())
            let problems = catalogues |> List.collect (fun (_, (_, p)) -> p)
            let catalogues = catalogues |> List.map (fun (l, (entries, _)) -> l, entries)
            let results = rules |> List.map (prepareCategory options seed catalogues)
            { CacheDir = options.CacheDir
              Seed = seed
              Libraries = paths
              Categories = results
              CatalogueProblems = problems
              FetchSeconds = fetchSeconds
              Seconds = clock.Elapsed.TotalSeconds }
        finally
            for l in libraries do
                (l :> IDisposable).Dispose()

    /// Downloads and extracts the package into `cacheDir` if needed, then prepares each
    /// category (all when empty) into cacheDir/furniture/<category>: normalised models,
    /// 70/10/20 splits drawn from `seed`, manifest.json, ATTRIBUTION.txt, failures with reasons.
    let prepare (cacheDir: string) (categories: string list) (seed: uint64) : DatasetReport =
        prepareWith (PrepareOptions.Defaults cacheDir) categories seed

    /// One line per category: counts per split, failures and time.
    let summary (report: DatasetReport) =
        [ for c in report.Categories do
              let count s = c.Entries |> List.filter (fun e -> e.Split = s) |> List.length
              yield
                  sprintf "%-8s %3d models (train %d, val %d, test %d), %d failed, %.1f s%s" c.Category c.Entries.Length (count Split.Train) (count Split.Val) (count Split.Test) c.Failures.Length c.Seconds
                      (if c.Reused > 0 then sprintf " (%d reused)" c.Reused else "") ]
