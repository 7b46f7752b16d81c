namespace Reconstruct.Data

open System
open System.IO
open System.Text
open System.Text.Json
open Reconstruct.Torch

type DatasetEntry =
    { Info: ModelInfo
      Split: Split
      Obj: string
      Vertices: int
      Faces: int
      AtlasHeight: int
      AtlasWidth: int
      LicenceCopies: string list
      Warnings: string list }

type DatasetFailure = { Id: string; Name: string; Category: string; Source: string; Reason: string }

module FurnitureManifest =

    let formatVersion = "furniture-v1"

    let slug (id: string) =
        let s = String(id |> Seq.map (fun c -> if Char.IsAsciiLetterOrDigit c || c = '-' || c = '_' then c else '-') |> Array.ofSeq)
        s.Trim('-')

    let private writeJson (path: string) (write: Utf8JsonWriter -> unit) =
        Files.writeAtomically path (fun stream ->
            // Relaxed escaping keeps names, quotes and '+' readable in the file.
            use w = new Utf8JsonWriter(stream, JsonWriterOptions(Indented = true, Encoder = Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping))
            write w)

    let private strings (w: Utf8JsonWriter) (name: string) (values: string seq) =
        w.WriteStartArray name
        for v in values do
            w.WriteStringValue v
        w.WriteEndArray()

    let private relative (dir: string) (path: string) = Path.GetRelativePath(dir, path).Replace('\\', '/')

    let write (path: string) (packageName: string) (fingerprint: string) (seed: uint64) (rule: CategoryRule) (entries: DatasetEntry list) (failures: DatasetFailure list) =
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

    let writeAttribution (path: string) (packageName: string) (category: string) (entries: DatasetEntry list) =
        let sb = StringBuilder()
        sb.AppendFormat("3D models of the '{0}' dataset, from the Debian package {1} (Sweet Home 3D furniture libraries).\n", category, packageName) |> ignore
        sb.Append("Models were rotated, scaled and re-textured (one texture atlas per model) for this dataset.\n\n") |> ignore
        for e in entries do
            sb.AppendFormat("{0} ({1}) by {2}, {3}; licence: {4}\n", e.Info.Name, e.Info.Id, e.Info.Creator, e.Info.Library, e.Info.Licence) |> ignore
        Files.writeTextAtomically path (sb.ToString())

    let read (path: string) : DatasetEntry list * DatasetFailure list * string =
        let dir = Path.GetDirectoryName(Path.GetFullPath path)
        // Everything wrong inside the file is one line naming it: a truncated file, a field
        // missing or of the wrong kind. Reading the file itself (not found, no access) names it already.
        let invalid (reason: string) = InvalidDataException(sprintf "%s: not a valid manifest (%s)" path (reason.Split('\n').[0].TrimEnd()))
        let text = File.ReadAllText path
        let field (e: JsonElement) (where: string) (name: string) (kind: JsonValueKind) =
            match e.TryGetProperty name with
            | true, v when v.ValueKind = kind -> v
            | _ -> raise (invalid (sprintf "%s'%s' missing or not %s" where name (match kind with JsonValueKind.String -> "a string" | JsonValueKind.Array -> "an array" | JsonValueKind.Number -> "a number" | _ -> "an object")))
        let str (e: JsonElement) (where: string) (name: string) = (field e where name JsonValueKind.String).GetString()
        let array (e: JsonElement) (where: string) (name: string) = [ for v in (field e where name JsonValueKind.Array).EnumerateArray() -> v ]
        let strings (e: JsonElement) (where: string) (name: string) = array e where name |> List.map (fun v -> v.GetString())
        let numbers (e: JsonElement) (where: string) (name: string) (count: int) (get: JsonElement -> 'T) =
            let values = array e where name
            if values.Length <> count then raise (invalid (sprintf "%s'%s' has %d values, expected %d" where name values.Length count))
            values |> List.map get |> Array.ofList
        let number (e: JsonElement) (where: string) (name: string) = (field e where name JsonValueKind.Number).GetInt32()
        try
            use doc = JsonDocument.Parse text
            let root = doc.RootElement
            if root.ValueKind <> JsonValueKind.Object then raise (invalid "not a JSON object")
            let category = str root "" "category"
            let entries =
                [ for k, m in List.indexed (array root "" "models") do
                      let at = sprintf "models[%d]: " k
                      let size = numbers m at "sizeCm" 3 (fun v -> v.GetDouble())
                      let atlas = numbers m at "atlas" 2 (fun v -> v.GetInt32())
                      let split = str m at "split"
                      yield
                          { Info =
                              { Id = str m at "id"
                                Name = str m at "name"
                                Category = category
                                SourceCategory = str m at "sourceCategory"
                                Creator = str m at "creator"
                                Licence = str m at "licence"
                                Library = str m at "library"
                                WidthCm = size.[0]
                                HeightCm = size.[1]
                                DepthCm = size.[2]
                                Source = str m at "source"
                                LicenceFiles = strings m at "licenceFiles" }
                            Split = (try Split.Parse split with _ -> raise (invalid (sprintf "%s'split' is '%s', not train, val or test" at split)))
                            Obj = Path.GetFullPath(Path.Combine(dir, str m at "obj"))
                            Vertices = number m at "vertices"
                            Faces = number m at "faces"
                            AtlasHeight = atlas.[0]
                            AtlasWidth = atlas.[1]
                            LicenceCopies = strings m at "licenceCopies" |> List.map (fun p -> Path.GetFullPath(Path.Combine(dir, p)))
                            Warnings = strings m at "warnings" } ]
            let failures =
                [ for k, f in List.indexed (array root "" "failures") ->
                      let at = sprintf "failures[%d]: " k
                      { Id = str f at "id"; Name = str f at "name"; Category = category; Source = str f at "source"; Reason = str f at "reason" } ]
            let fingerprint =
                match root.TryGetProperty "fingerprint" with
                | true, v when v.ValueKind = JsonValueKind.String -> v.GetString()
                | true, _ -> raise (invalid "'fingerprint' not a string")
                | _ -> ""
            entries, failures, fingerprint
        with
        | :? InvalidDataException -> reraise ()
        // Broken JSON, a number of the wrong kind or size, a string where an array element
        // should be a number, a path with invalid characters.
        | :? JsonException | :? InvalidOperationException | :? FormatException | :? ArgumentException as e -> raise (invalid e.Message)
