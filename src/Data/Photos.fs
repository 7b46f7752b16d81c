module Reconstruct.Data.Photos

open System
open System.IO
open System.Text
open System.Text.Json
open System.Threading
open Reconstruct.Torch

[<Literal>]
let MinimumSide = 16

let squareOver (background: float) (size: int) (path: string) : Tensor =
    if size < 1 then invalidArg "size" (sprintf "Photos.square: size must be positive, received %d" size)
    if not (background >= 0.0 && background <= 1.0) then invalidArg "background" (sprintf "Photos.squareOver: the grey level must be in [0, 1], received %g" background)
    let info = Image.info path
    if info.Width < MinimumSide || info.Height < MinimumSide then
        raise (ImageFileException(path, sprintf "the image is %d×%d pixels; at least %d×%d are needed" info.Width info.Height MinimumSide MinimumSide))
    use scope = DisposalScope.Open()
    let rgb = Image.loadWith { ImageOptions.Defaults with Alpha = Alpha.Over(background, background, background) } path
    let square = Image.centerCrop (1, 1) rgb
    scope.MoveOut((Image.resize (size, size) square).contiguous ())

let square (size: int) (path: string) : Tensor = squareOver 1.0 size path

type Summary =
    { Folder: string
      Train: int
      Val: int
      Failures: (string * string) list
      Seconds: float }

/// "a.jpg" -> "a_jpg": unique per source file, and a plain file name.
let private stemOf (path: string) = Path.GetFileName(path).Replace('.', '_')

/// Which of `n` photos (in name order) are val: a share of the seed's permutation.
let private valMask (seed: uint64) (n: int) =
    let validation = if n < 2 then 0 else max 1 (int (Math.Round(0.1 * float n)))
    let order = SplitMix64(seed).Permutation n
    let isVal = Array.zeroCreate<bool> n
    for k in 0 .. validation - 1 do isVal.[order.[k]] <- true
    isVal

let import (source: string) (out: string) (category: string) (size: int) (seed: uint64) (cancel: CancellationToken) (progress: int -> unit) : Summary =
    let clock = Diagnostics.Stopwatch.StartNew()
    if not (Directory.Exists source) then invalidArg "source" (sprintf "%s: no such folder of photographs" source)
    if String.IsNullOrWhiteSpace category then invalidArg "category" "Photos.import: the category name is empty"
    let out = Path.GetFullPath out
    if File.Exists out then invalidArg "out" (sprintf "%s: is a file, not a dataset folder" out)
    if Directory.Exists out && Directory.EnumerateFileSystemEntries(out).GetEnumerator().MoveNext() && not (File.Exists(Path.Combine(out, "index.jsonl"))) then
        invalidArg "out" (sprintf "%s: a non-empty folder that is not an imported dataset; refusing to replace it" out)
    let files = Loader.filesIn source
    let failures = Collections.Generic.List<string * string>()
    let summary =
        Files.replaceFolder out (fun staging ->
            let images = Directory.CreateDirectory(Path.Combine(staging, "images"))
            let kept = Collections.Generic.List<string>()
            for k, file in Array.indexed files do
                cancel.ThrowIfCancellationRequested()
                if not (Loader.isImageFile file) then
                    failures.Add(file, "not an image file (PNG, JPEG, BMP or TGA expected)")
                else
                    try
                        use _ = DisposalScope.Open()
                        Image.save (Path.Combine(images.FullName, stemOf file + ".png")) (square size file)
                        kept.Add file
                    with :? ImageFileException as e -> failures.Add(file, e.Reason)
                progress (k + 1)
            if kept.Count = 0 then
                invalidArg "source" (sprintf "%s: none of its %d files is a usable photograph%s" source files.Length (if failures.Count > 0 then sprintf " (the first, %s: %s)" (Path.GetFileName(fst failures.[0])) (snd failures.[0]) else ""))
            let isVal = valMask seed kept.Count
            let validation = isVal |> Array.filter id |> Array.length
            let rows =
                [ for k, file in Seq.indexed kept ->
                      JsonSerializer.Serialize(
                          dict [ "image", box ("images/" + stemOf file + ".png")
                                 "instance", box (Path.GetFileName file)
                                 "category", box category
                                 "split", box (if isVal.[k] then "val" else "train") ]) ]
            File.WriteAllLines(Path.Combine(staging, "index.jsonl"), rows, UTF8Encoding false)
            let report =
                [ yield sprintf "# Import of %s" source
                  yield ""
                  yield sprintf "%d photographs imported (%d train, %d val) at %d×%d; %d files left out." kept.Count (kept.Count - validation) validation size size failures.Count
                  if failures.Count > 0 then
                      yield ""
                      yield "| file | why |"
                      yield "|---|---|"
                      for file, why in failures -> sprintf "| %s | %s |" (Path.GetFileName file) (why.Replace("|", "\\|")) ]
            File.WriteAllLines(Path.Combine(staging, "failures.md"), report, UTF8Encoding false)
            { Folder = out; Train = kept.Count - validation; Val = validation; Failures = List.ofSeq failures; Seconds = 0.0 })
    { summary with Seconds = clock.Elapsed.TotalSeconds }
