namespace Reconstruct.Data

open System
open System.Collections.Generic
open System.Diagnostics
open System.IO
open Reconstruct.Torch

type CategoryDataset =
    { Category: string
      Entries: DatasetEntry list
      Failures: DatasetFailure list
      Manifest: string
      Loaded: int
      Reused: int
      Seconds: float }

type DatasetReport =
    { CacheDir: string
      Seed: uint64
      Libraries: string list
      Categories: CategoryDataset list
      CatalogueProblems: CatalogueProblem list
      FetchSeconds: float
      Seconds: float }

type PrepareOptions =
    { CacheDir: string
      OutputDir: string
      Rules: CategoryRule list
      Load: ObjLoadOptions
      Reuse: bool
      Log: string -> unit }

    static member PreparedDir(cacheDir: string) = Path.Combine(cacheDir, "furniture")

    static member Defaults(cacheDir: string) =
        { CacheDir = cacheDir
          OutputDir = PrepareOptions.PreparedDir cacheDir
          Rules = Catalogue.defaultRules ()
          Load = ObjLoadOptions.Defaults
          Reuse = true
          Log = ignore }

module Furniture =

    let packageName = "sweethome3d-furniture"

    let defaultCacheDir = Path.Combine(".cache", "data")

    let manifestPath (cacheDir: string) (category: string) =
        Path.Combine(PrepareOptions.PreparedDir cacheDir, category, "manifest.json")

    let fetch (cacheDir: string) (log: string -> unit) : string list =
        let furnitureDir (extracted: string) = Path.Combine(extracted, "usr", "share", "sweethome3d", "furniture")
        let libraries (extracted: string) =
            let dir = furnitureDir extracted
            if Directory.Exists dir then Directory.GetFiles(dir, "*.sh3f") |> Array.sort |> List.ofArray else []
        let extracted = DebianPackage.fetch packageName "about 120 MB" cacheDir (libraries >> List.isEmpty >> not) log
        match libraries extracted with
        | [] -> failwithf "Furniture.fetch: %s holds no .sh3f library in %s" packageName (furnitureDir extracted)
        | found -> found

    let load (entry: DatasetEntry) : TexturedMesh = TexturedMesh.readObj entry.Info entry.Obj

    // ------------------------------------------------------------------ prepare

    let select (rule: CategoryRule) (catalogues: (FurnitureLibrary * CatalogueEntry list) list) =
        [ for library, entries in catalogues do
              for e in entries do
                  if Catalogue.matches rule e then yield library, e ]

    let private prepareCategory (options: PrepareOptions) (seed: uint64) (catalogues: (FurnitureLibrary * CatalogueEntry list) list) (rule: CategoryRule) =
        let clock = Stopwatch.StartNew()
        let dir = Path.Combine(options.OutputDir, rule.Name)
        Directory.CreateDirectory dir |> ignore
        let manifest = Path.Combine(dir, "manifest.json")
        let fingerprint = (sprintf "%s %A %A" FurnitureManifest.formatVersion options.Load rule).Replace("\n", " ")
        let previous =
            if options.Reuse && File.Exists manifest then
                try
                    let entries, failures, fp = FurnitureManifest.read manifest
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
                        let arrays, info, warnings = FurnitureModel.loadArrays options.Load library rule.Name entry
                        let modelDir = Path.Combine(dir, FurnitureManifest.slug entry.Id)
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
                                    Files.writeBytesAtomically target bytes
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
                    // Files.FileWriteError: a write of the model's files failed, as IOException did before writes were atomic.
                    | :? ImageFileException
                    | :? IOException
                    | Files.FileWriteError _
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
        FurnitureManifest.write manifest packageName fingerprint seed rule entries failures
        FurnitureManifest.writeAttribution (Path.Combine(dir, "ATTRIBUTION.txt")) packageName rule.Name entries
        { Category = rule.Name
          Entries = entries
          Failures = failures
          Manifest = manifest
          Loaded = fresh
          Reused = reused
          Seconds = clock.Elapsed.TotalSeconds }

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

    let prepare (cacheDir: string) (categories: string list) (seed: uint64) : DatasetReport =
        prepareWith (PrepareOptions.Defaults cacheDir) categories seed

    let summary (report: DatasetReport) =
        [ for c in report.Categories do
              let count s = c.Entries |> List.filter (fun e -> e.Split = s) |> List.length
              yield
                  sprintf "%-8s %3d models (train %d, val %d, test %d), %d failed, %.1f s%s" c.Category c.Entries.Length (count Split.Train) (count Split.Val) (count Split.Test) c.Failures.Length c.Seconds
                      (if c.Reused > 0 then sprintf " (%d reused)" c.Reused else "") ]
