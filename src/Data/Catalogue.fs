namespace Reconstruct.Data

open System
open System.Collections.Generic
open System.Globalization
open System.IO
open System.Text
open System.Text.Json
open System.Text.RegularExpressions

/// One model of a Sweet Home 3D furniture library (`PluginFurnitureCatalog.properties`,
/// keys `name#N`, `model#N`, ...).
type CatalogueEntry =
    { /// The library file it belongs to ("Scopia.sh3f").
      Library: string
      /// The library's own name ("Scopia catalog") and licence line.
      LibraryName: string
      Licence: string
      /// N in the keys `name#N`.
      Index: int
      Id: string
      Name: string
      Category: string
      Tags: string
      Creator: string
      /// The OBJ inside the library, '/'-separated without a leading slash.
      Model: string
      /// Size of the placed object in cm along x (width), z (depth) and y (height).
      WidthCm: float
      DepthCm: float
      HeightCm: float
      /// `modelRotation#N`: 3 × 3 row-major, applied as p' = M p before sizing; None = identity.
      ModelRotation: float[] option }

/// A catalogue entry that cannot be used at all (no model, bad numbers).
type CatalogueProblem = { Library: string; Index: int; Id: string; Name: string; Reason: string }

/// Which catalogue entries form a dataset category. An entry belongs when its English name
/// matches one of `Include`, none of `Exclude`, and, if `SourceCategories` is not empty, its
/// catalogue category is one of them (case-insensitive). Patterns are .NET regular
/// expressions, matched case-insensitively anywhere in the name.
type CategoryRule =
    { Name: string
      Include: string list
      Exclude: string list
      SourceCategories: string list }

/// Java `.properties` text (ISO-8859-1 with \uXXXX escapes, continuation lines ending in a
/// backslash, `key=value`, `key: value` or `key value`, comments starting with # or !).
module Properties =

    let private unescape (s: string) =
        let sb = StringBuilder(s.Length)
        let mutable i = 0
        while i < s.Length do
            let c = s.[i]
            if c = '\\' && i + 1 < s.Length then
                let n = s.[i + 1]
                i <- i + 2
                match n with
                | 't' -> sb.Append '\t' |> ignore
                | 'n' -> sb.Append '\n' |> ignore
                | 'r' -> sb.Append '\r' |> ignore
                | 'f' -> sb.Append '\f' |> ignore
                | 'u' when i + 4 <= s.Length ->
                    match Int32.TryParse(s.Substring(i, 4), NumberStyles.HexNumber, CultureInfo.InvariantCulture) with
                    | true, code ->
                        sb.Append(char code) |> ignore
                        i <- i + 4
                    | _ -> sb.Append 'u' |> ignore
                | n -> sb.Append n |> ignore
            else
                sb.Append c |> ignore
                i <- i + 1
        sb.ToString()

    /// Whether a line ends in an odd number of backslashes (it continues on the next line).
    let private continues (line: string) =
        let mutable n = 0
        let mutable k = line.Length - 1
        while k >= 0 && line.[k] = '\\' do
            n <- n + 1
            k <- k - 1
        n % 2 = 1

    /// Keys and values of properties text; a later key replaces an earlier one.
    let parse (text: string) : IReadOnlyDictionary<string, string> =
        let result = Dictionary<string, string>()
        let lines = text.Replace("\r\n", "\n").Replace('\r', '\n').Split('\n')
        let mutable k = 0
        while k < lines.Length do
            let mutable line = lines.[k].TrimStart([| ' '; '\t'; '\f' |])
            k <- k + 1
            if line.Length > 0 && line.[0] <> '#' && line.[0] <> '!' then
                while continues line && k < lines.Length do
                    line <- line.Substring(0, line.Length - 1) + lines.[k].TrimStart([| ' '; '\t'; '\f' |])
                    k <- k + 1
                // The key ends at the first unescaped separator.
                let mutable i = 0
                let mutable stop = false
                while not stop && i < line.Length do
                    match line.[i] with
                    | '\\' -> i <- i + 2
                    | '='
                    | ':'
                    | ' '
                    | '\t'
                    | '\f' -> stop <- true
                    | _ -> i <- i + 1
                let i = min i line.Length
                let key = line.Substring(0, i)
                let mutable j = i
                while j < line.Length && (line.[j] = ' ' || line.[j] = '\t' || line.[j] = '\f') do
                    j <- j + 1
                if j < line.Length && (line.[j] = '=' || line.[j] = ':') then j <- j + 1
                while j < line.Length && (line.[j] = ' ' || line.[j] = '\t' || line.[j] = '\f') do
                    j <- j + 1
                result.[unescape key] <- unescape (line.Substring j)
        result :> IReadOnlyDictionary<string, string>

    /// As `parse`, from the bytes of a file (ISO-8859-1, as Java reads properties).
    let parseBytes (bytes: byte[]) = parse (Encoding.Latin1.GetString bytes)

/// The entries of a furniture library and the rules that select dataset categories.
module Catalogue =

    let private numberOf (s: string) =
        match Double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture) with
        | true, v when Double.IsFinite v -> Some v
        | _ -> None

    /// The entries of a library's properties; `library` names the file. Entries that cannot be
    /// used are returned as problems with the reason.
    let entries (library: string) (props: IReadOnlyDictionary<string, string>) : CatalogueEntry list * CatalogueProblem list =
        let get (key: string) =
            match props.TryGetValue key with
            | true, v -> v.Trim()
            | _ -> ""
        let indices =
            props.Keys
            |> Seq.choose (fun key ->
                let h = key.LastIndexOf '#'
                if h > 0 && (key.StartsWith "id#" || key.StartsWith "name#" || key.StartsWith "model#") then
                    match Int32.TryParse(key.Substring(h + 1), NumberStyles.None, CultureInfo.InvariantCulture) with
                    | true, n -> Some n
                    | _ -> None
                else None)
            |> Seq.distinct
            |> Seq.sort
            |> List.ofSeq
        let good = List<CatalogueEntry>()
        let bad = List<CatalogueProblem>()
        for n in indices do
            let field (name: string) = get (sprintf "%s#%d" name n)
            let id = match field "id" with "" -> sprintf "%s#%d" library n | s -> s
            let name = field "name"
            let problem (reason: string) = bad.Add { Library = library; Index = n; Id = id; Name = name; Reason = reason }
            let model = field "model"
            let size (key: string) =
                match numberOf (field key) with
                | Some v when v > 0.0 -> Ok v
                | _ -> Error(sprintf "%s#%d is '%s', not a positive number" key n (field key))
            let rotation =
                match field "modelRotation" with
                | "" -> Ok None
                | s ->
                    let values = s.Split([| ' '; '\t'; ',' |], StringSplitOptions.RemoveEmptyEntries) |> Array.map numberOf
                    if values.Length = 9 && values |> Array.forall Option.isSome then Ok(Some(values |> Array.map Option.get))
                    else Error(sprintf "modelRotation#%d is '%s', not 9 numbers" n s)
            if model = "" then problem (sprintf "no model#%d" n)
            elif not (model.EndsWith(".obj", StringComparison.OrdinalIgnoreCase)) then
                problem (sprintf "model '%s' is not an OBJ file (only OBJ is read)" model)
            else
                match size "width", size "depth", size "height", rotation with
                | Ok w, Ok d, Ok h, Ok r ->
                    good.Add
                        { Library = library
                          LibraryName = get "name"
                          Licence = get "license"
                          Index = n
                          Id = id
                          Name = name
                          Category = field "category"
                          Tags = field "tags"
                          Creator = field "creator"
                          Model = Wavefront.normalisePath model
                          WidthCm = w
                          DepthCm = d
                          HeightCm = h
                          ModelRotation = r }
                | a, b, c, r ->
                    let errors = [ (match a with Error e -> e | _ -> ""); (match b with Error e -> e | _ -> ""); (match c with Error e -> e | _ -> ""); (match r with Error e -> e | _ -> "") ]
                    problem (String.Join("; ", errors |> List.filter ((<>) "")))
        List.ofSeq good, List.ofSeq bad

    // ------------------------------------------------------------------ categories

    let private strings (file: string) (category: string) (o: JsonElement) (key: string) =
        match o.TryGetProperty key with
        | true, v when v.ValueKind = JsonValueKind.Array ->
            [ for x in v.EnumerateArray() do
                  if x.ValueKind <> JsonValueKind.String then
                      invalidArg "json" (sprintf "%s: category '%s': '%s' must be a list of strings" file category key)
                  yield x.GetString() ]
        | true, _ -> invalidArg "json" (sprintf "%s: category '%s': '%s' must be a list of strings" file category key)
        | _ -> []

    /// Category rules from JSON text: an object whose keys are category names (keys starting
    /// with "_" are comments), each `{ "include": [...], "exclude": [...], "sourceCategories": [...] }`.
    /// Every pattern is compiled here, so a bad one fails with its category named.
    let parseRules (file: string) (json: string) : CategoryRule list =
        use doc =
            try JsonDocument.Parse(json, JsonDocumentOptions(CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true))
            with :? JsonException as e -> invalidArg "json" (sprintf "%s: not valid JSON: %s" file e.Message)
        if doc.RootElement.ValueKind <> JsonValueKind.Object then invalidArg "json" (sprintf "%s: expected an object of categories" file)
        [ for p in doc.RootElement.EnumerateObject() do
              if not (p.Name.StartsWith "_") then
                  if p.Value.ValueKind <> JsonValueKind.Object then invalidArg "json" (sprintf "%s: category '%s' must be an object" file p.Name)
                  let rule =
                      { Name = p.Name
                        Include = strings file p.Name p.Value "include"
                        Exclude = strings file p.Name p.Value "exclude"
                        SourceCategories = strings file p.Name p.Value "sourceCategories" }
                  if rule.Include.IsEmpty then invalidArg "json" (sprintf "%s: category '%s' has no include pattern" file p.Name)
                  for pattern in rule.Include @ rule.Exclude do
                      try Regex(pattern) |> ignore
                      with :? ArgumentException as e -> invalidArg "json" (sprintf "%s: category '%s': bad pattern '%s': %s" file p.Name pattern e.Message)
                  yield rule ]

    /// Rules from a JSON file.
    let loadRules (path: string) = parseRules path (File.ReadAllText path)

    /// The rules shipped with the library (data/categories.json, embedded at build time).
    let defaultRules () =
        let assembly = typeof<CategoryRule>.Assembly
        use stream = assembly.GetManifestResourceStream "categories.json"
        if isNull stream then failwith "Catalogue.defaultRules: the embedded categories.json is missing from the assembly"
        use reader = new StreamReader(stream)
        parseRules "categories.json (embedded)" (reader.ReadToEnd())

    /// Whether the entry belongs to the category (see `CategoryRule`).
    let matches (rule: CategoryRule) (entry: CatalogueEntry) =
        let test (pattern: string) = Regex.IsMatch(entry.Name, pattern, RegexOptions.IgnoreCase ||| RegexOptions.CultureInvariant)
        (rule.SourceCategories.IsEmpty
         || rule.SourceCategories |> List.exists (fun c -> String.Equals(c, entry.Category, StringComparison.OrdinalIgnoreCase)))
        && List.exists test rule.Include
        && not (List.exists test rule.Exclude)
